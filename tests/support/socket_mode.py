"""Slack's Socket Mode, on loopback, for the real slack_sdk Socket Mode client.

Part of the Slack stand-in: ``apps.connections.open`` (with an app-level token,
``xapp-``) answers a fresh ``ws://`` URL of this hub; a client that connects is
greeted with ``hello``. Tests then send event envelopes (``events_api``, with
``retry_attempt``), ask for a ``disconnect`` (Slack's URL rotation) or drop
every socket, and read which envelopes were acknowledged — as Slack does, an
envelope that is not acknowledged can be delivered again (``redeliver_unacked``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web


@dataclass
class Envelope:
    envelope_id: str
    payload: dict[str, Any]
    retry_attempt: int = 0
    deliveries: list[float] = field(default_factory=list)  # when it was sent, each time


class SocketModeHub:
    """The websocket side of the stand-in. Its methods are called from test threads;
    the sockets live on the stand-in's event loop (``attach``)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._base_ws_url = ""
        self._lock = threading.Lock()
        self._sockets: list[web.WebSocketResponse] = []
        self._transports: dict[int, asyncio.BaseTransport] = {}
        self._envelopes: dict[str, Envelope] = {}
        self._acks: list[tuple[str, float]] = []
        self._opened = 0  # websocket connections ever accepted
        self._tickets = itertools.count(1)
        self._ids = itertools.count(1)
        self._next = itertools.count()

    # -- wiring (the stand-in) -------------------------------------------------------------
    def attach(self, app: web.Application, base_ws_url: str) -> None:
        app.router.add_get("/socket-mode/{ticket}", self._websocket)
        self._base_ws_url = base_ws_url

    def started(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def open_connection(self, token: str) -> dict[str, Any]:
        """The answer to ``apps.connections.open``."""
        if not token.startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": f"{self._base_ws_url}/socket-mode/{next(self._tickets)}"}

    async def close_all(self) -> None:
        for ws in list(self._sockets):
            await ws.close()

    # -- what tests do ---------------------------------------------------------------------
    def connections(self) -> int:
        with self._lock:
            return len(self._sockets)

    def connections_opened(self) -> int:
        with self._lock:
            return self._opened

    def send_event(self, payload: dict[str, Any], *, envelope_id: str | None = None,
                   retry_attempt: int = 0) -> str:
        """Deliver an Events API payload in an ``events_api`` envelope; its id."""
        envelope_id = envelope_id or f"env-{next(self._ids):06d}-{int(time.time())}"
        with self._lock:
            envelope = self._envelopes.setdefault(envelope_id, Envelope(envelope_id, payload))
            envelope.retry_attempt = retry_attempt
        self._deliver(envelope)
        return envelope_id

    def redeliver(self, envelope_id: str) -> None:
        """Deliver an envelope again, as Slack does when it was not acknowledged in time."""
        with self._lock:
            envelope = self._envelopes[envelope_id]
            envelope.retry_attempt += 1
        self._deliver(envelope)

    def redeliver_unacked(self) -> list[str]:
        with self._lock:
            acked = {envelope_id for envelope_id, _ in self._acks}
            waiting = [e for e in self._envelopes if e not in acked]
        for envelope_id in waiting:
            self.redeliver(envelope_id)
        return waiting

    def disconnect(self, reason: str = "refresh_requested") -> int:
        """Send every socket a ``disconnect`` envelope (the client should open a new
        connection); how many sockets were told."""
        message = {"type": "disconnect", "reason": reason,
                   "debug_info": {"host": "applink-standin"}}
        return self._run(self._broadcast(message))

    def drop(self) -> int:
        """Close every socket without warning (a dropped connection)."""
        async def drop_all() -> int:
            sockets = list(self._sockets)
            for ws in sockets:
                transport = self._transports.get(id(ws))
                if transport is not None:
                    transport.close()  # no close frame: the TCP connection just ends
                else:
                    await ws.close()
            return len(sockets)

        return self._run(drop_all())

    def acked(self, envelope_id: str) -> bool:
        with self._lock:
            return any(e == envelope_id for e, _ in self._acks)

    def acks(self, envelope_id: str | None = None) -> list[str]:
        with self._lock:
            return [e for e, _ in self._acks if envelope_id is None or e == envelope_id]

    def envelope(self, envelope_id: str) -> Envelope:
        with self._lock:
            return self._envelopes[envelope_id]

    # -- the server ------------------------------------------------------------------------
    def _run(self, coroutine: Any) -> Any:
        assert self._loop is not None, "the Slack stand-in is not running"
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def _deliver(self, envelope: Envelope) -> None:
        message = {"envelope_id": envelope.envelope_id, "type": "events_api",
                   "payload": envelope.payload, "accepts_response_payload": False,
                   "retry_attempt": envelope.retry_attempt,
                   "retry_reason": "timeout" if envelope.retry_attempt else ""}
        sent = self._run(self._send_one(message))
        if not sent:
            raise RuntimeError("no Socket Mode connection to deliver the envelope on")
        with self._lock:
            envelope.deliveries.append(time.time())

    async def _send_one(self, message: dict[str, Any]) -> bool:
        """On one open socket, round robin (Slack spreads envelopes across connections)."""
        sockets = [ws for ws in self._sockets if not ws.closed]
        if not sockets:
            return False
        ws = sockets[next(self._next) % len(sockets)]
        await ws.send_str(json.dumps(message))
        return True

    async def _broadcast(self, message: dict[str, Any]) -> int:
        sockets = [ws for ws in self._sockets if not ws.closed]
        for ws in sockets:
            await ws.send_str(json.dumps(message))
        return len(sockets)

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        with self._lock:
            self._sockets.append(ws)
            if request.transport is not None:
                self._transports[id(ws)] = request.transport
            self._opened += 1
            count = len(self._sockets)
        await ws.send_str(json.dumps({
            "type": "hello", "num_connections": count,
            "debug_info": {"host": "applink-standin", "approximate_connection_time": 18060},
            "connection_info": {"app_id": "A0001"}}))
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    body = json.loads(message.data)
                except ValueError:
                    continue
                if isinstance(body, dict) and body.get("envelope_id"):
                    with self._lock:
                        self._acks.append((str(body["envelope_id"]), time.time()))
        finally:
            with self._lock:
                if ws in self._sockets:
                    self._sockets.remove(ws)
                self._transports.pop(id(ws), None)
        return ws
