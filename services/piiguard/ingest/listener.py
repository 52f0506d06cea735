"""The public HTTP listener, hardened against slow and crowded clients.

aiohttp waits for a request's headers and body as long as the client likes. On
the internet-facing port that is a denial of service for the price of a socket
(slowloris), so the listener bounds every phase of a connection:

* a connection must finish sending a request's headers within
  ``read_timeout`` of opening (or of its previous response): aiohttp's
  keep-alive timer closes it otherwise — a half-sent header does not keep it;
* the body must arrive within ``read_timeout`` as a whole (the handler reads it
  under a deadline, so one byte every two seconds does not extend it);
* at most ``max_connections`` are open at once; one more is answered ``503``
  and closed before any of its bytes are parsed.

Protocol errors aiohttp answers itself (a malformed request line or header) are
logged as one WARNING line, without the traceback aiohttp would print.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web

from piiguard.settings import Settings

log = logging.getLogger(__name__)

_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
         b"Content-Length: 5\r\nConnection: close\r\n\r\nbusy\n")


@dataclass(frozen=True)
class HttpLimits:
    """Bounds of the public HTTP listener (see module docs); from
    ``PIIGUARD_HTTP_READ_TIMEOUT`` and ``PIIGUARD_HTTP_MAX_CONNECTIONS``."""

    # Seconds a client has to send a request's headers (from connect or its last
    # response), and, separately, its whole body. Slack sends a few KB at once.
    read_timeout: float = 10.0
    # Connections open at once; beyond, a new one is answered 503 and closed.
    max_connections: int = 256

    @classmethod
    def from_settings(cls, config: Settings) -> HttpLimits:
        return cls(read_timeout=config.http_read_timeout, max_connections=config.http_max_connections)


class _ProtocolErrors(logging.LoggerAdapter[logging.Logger]):
    """What aiohttp logs about requests it could not parse: one WARNING line with
    the error's kind, never a traceback (a cheap way to flood the logs otherwise)."""

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        kind = type(exc_info).__name__ if isinstance(exc_info, BaseException) else "error"
        self.logger.warning("refused a malformed HTTP request: %s", kind)

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        kwargs.pop("exc_info", None)
        self.logger.debug(msg, *args, **kwargs)


class _Busy(asyncio.Protocol):
    """Answers one connection over the cap with 503, then closes it."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast(asyncio.Transport, transport).write(_BUSY)
        transport.close()


class LimitedSite(web.BaseSite):
    """A TCP site whose connections are capped; otherwise aiohttp's ``TCPSite``."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, limits: HttpLimits) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port
        self._limits = limits
        self._last_busy_log = 0.0
        self._busy_since_log = 0

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        limits = self._limits

        def protocol() -> asyncio.BaseProtocol:
            if len(server.connections) >= limits.max_connections:
                self._note_busy()
                return _Busy()
            return server()

        loop = asyncio.get_running_loop()
        # Never SO_REUSEPORT: a second process must not share (and take over) the port.
        self._server = await loop.create_server(protocol, self._host, self._port, backlog=128,
                                                reuse_port=False)

    def _note_busy(self) -> None:
        """One WARNING line per ten seconds at most, however many are turned away."""
        self._busy_since_log += 1
        now = time.monotonic()
        if now - self._last_busy_log >= 10.0:
            log.warning("HTTP connection limit (%d) reached: refused %d connection(s) with 503",
                        self._limits.max_connections, self._busy_since_log)
            self._last_busy_log = now
            self._busy_since_log = 0


def make_runner(app: web.Application, limits: HttpLimits) -> web.AppRunner:
    """An ``AppRunner`` whose connections must send their headers within the limit."""
    return web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=limits.read_timeout,
        logger=cast(logging.Logger, _ProtocolErrors(logging.getLogger("piiguard.ingest.http"), {})),
        max_line_size=8190,
        max_field_size=8190,
        max_headers=64,
    )
