"""Slack events over Socket Mode: ingest dials out to Slack, so no public endpoint
is needed.

One slack_sdk Socket Mode client (aiohttp flavour) per app-level token: the
environment's ``SLACK_APP_TOKEN`` (any workspace, as the environment's signing
secret), and in a cluster each workspace's own ``appToken`` from ingest's
projected Secret, for every workspace whose ``slack.mode`` (else
``PIIGUARD_SLACK_MODE``) is ``socket`` or ``both``. The set is re-read every
:data:`REFRESH_SECONDS`, so a new or rotated token is picked up.

The promise is the HTTP endpoint's: an envelope is acknowledged (by its
``envelope_id``) only once :meth:`IngestHandler.submit` has the event in
JetStream, published with ``Nats-Msg-Id`` = ``event_id``. An envelope that is
not acknowledged — JetStream unavailable, the socket dropped, a ``disconnect``
or URL rotation mid-flight — is delivered again by Slack (``retry_attempt``
counts up), and its duplicates, on this socket, another replica's, or the HTTP
endpoint, collapse on ``event_id``. What can never succeed (a malformed
payload, an event too large, another workspace's event on a workspace's own
token) is acknowledged and dropped with a WARNING, as HTTP answers it 4xx.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from piiguard.contracts import InvalidPayload, check_event
from piiguard.errors import ConfigError
from piiguard.ingest.handler import EventTooLarge, IngestHandler, count_ignored
from piiguard.ingest.slack_events import (
    Ignored,
    MalformedEvent,
    event_from_callback,
    own_bot_ids,
    parse_envelope,
)
from piiguard.ingest.slack_schema import load_payload
from piiguard.jetstream import subject_token
from piiguard.policy import Policy
from piiguard.settings import Settings
from piiguard.slack_credentials import CredentialSource
from piiguard.tasks import cancel_and_wait

log = logging.getLogger(__name__)

REFRESH_SECONDS = 30.0  # how soon a new workspace's (or a rotated) app token is used
ANY_WORKSPACE: frozenset[str] | None = None  # the environment's token serves every workspace

# slack_sdk logs whole frames (message text) at DEBUG and tracebacks of listener
# failures: its Socket Mode logger stays at WARNING whatever the process's level.
_SDK_LOG = logging.getLogger("piiguard.ingest.socket_mode.sdk")
_SDK_LOG.setLevel(logging.WARNING)


class Outcome:
    """What became of one envelope: acknowledged or left for Slack to deliver again."""

    ACK = True
    RETRY = False


def socket_mode_wanted(config: Settings, policies: Mapping[str, Policy]) -> bool:
    """Whether any Socket Mode connection is wanted at all (the process's setting or a policy's)."""
    return config.slack_mode in ("socket", "both") or any(
        p.slack.socket_mode(config.slack_mode) for p in policies.values())


def check_settings(config: Settings) -> None:
    """A local run that asks for Socket Mode must have an app token, and one that
    takes HTTP events a signing secret: refuse to start otherwise (in a cluster each
    policy may reference its own). Socket Mode only needs no signing secret."""
    if not config.cluster_mode and config.slack_mode != "socket":
        config.require("SLACK_SIGNING_SECRET")
    if (not config.cluster_mode and config.slack_mode in ("socket", "both")
            and not config.slack_app_token.get_secret_value().strip()):
        raise ConfigError("SLACK_APP_TOKEN is not set: PIIGUARD_SLACK_MODE="
                          f"{config.slack_mode} needs an app-level token (xapp-...)")


class SocketModeSource:
    """Holds the Socket Mode connections and hands each envelope to the handler.

    ``policies``: the known workspace policies by workspace (the policy store's);
    ``bot_ids``: the bot's own ids (auth.test), as for the HTTP endpoint."""

    def __init__(self, handler: IngestHandler, credentials: CredentialSource, config: Settings,
                 policies: Callable[[], Mapping[str, Policy]],
                 bot_ids: Callable[[], frozenset[str]] = frozenset) -> None:
        self.handler = handler
        self.credentials = credentials
        self.config = config
        self.policies = policies
        self.bot_ids = bot_ids
        self._clients: dict[str, SocketModeClient] = {}  # by app token
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()

    @property
    def connections(self) -> int:
        return len(self._clients)

    async def wanted(self) -> dict[str, frozenset[str] | None]:
        """Each app token to hold a connection with, and the workspaces it may deliver
        events for (``None``: any — the environment's token)."""
        tokens: dict[str, frozenset[str] | None] = {}
        env_token = self.config.slack_app_token.get_secret_value().strip()
        policies = self.policies()
        own: dict[str, set[str]] = {}
        for workspace, policy in policies.items():
            if not policy.slack.socket_mode(self.config.slack_mode):
                continue
            if policy.secrets is None or policy.secrets.app_token is None:
                continue  # the environment's token, if any, serves it
            credentials = await self.credentials.for_workspace(workspace)
            if credentials is not None and credentials.app_token:
                own.setdefault(credentials.app_token, set()).add(subject_token(workspace))
        shared = [p for p in policies.values() if p.secrets is None or p.secrets.app_token is None]
        if env_token and (self.config.slack_mode in ("socket", "both")
                          or any(p.slack.socket_mode(self.config.slack_mode) for p in shared)):
            tokens[env_token] = ANY_WORKSPACE
        for token, workspaces in own.items():
            if token not in tokens:
                tokens[token] = frozenset(workspaces)
        return tokens

    async def start(self) -> None:
        await self.sync()
        self._task = asyncio.create_task(self._refresh(), name="socket mode refresh")

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await self.sync()
            except Exception as exc:  # never stop refreshing; the connections we hold stay
                log.warning("Socket Mode refresh failed: %s", type(exc).__name__)

    async def sync(self) -> None:
        wanted = await self.wanted()
        for token in [t for t in self._clients if t not in wanted]:
            await self._clients.pop(token).close()  # type: ignore[no-untyped-call]
            log.info("Socket Mode: closed a connection no policy asks for any more")
        for token, workspaces in wanted.items():
            if token in self._clients:
                continue
            client = SocketModeClient(
                app_token=token, logger=_SDK_LOG,
                web_client=AsyncWebClient(base_url=self.config.slack_api_url, timeout=10, logger=_SDK_LOG),
                auto_reconnect_enabled=True,
            )
            client.socket_mode_request_listeners.append(self._listener(workspaces))
            try:
                await client.connect()  # type: ignore[no-untyped-call]
            except Exception as exc:  # Slack unreachable or a bad token: retried at the next refresh
                log.warning("Socket Mode: could not connect (%s); retrying in %gs",
                            type(exc).__name__, REFRESH_SECONDS)
                await client.close()  # type: ignore[no-untyped-call]
                continue
            self._clients[token] = client
            log.info("Socket Mode: connected (%s)",
                     "any workspace" if workspaces is None else f"{len(workspaces)} workspace(s)")

    def _listener(self, workspaces: frozenset[str] | None) -> Any:
        async def on_request(client: SocketModeClient, request: SocketModeRequest) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._inflight.add(task)
            try:
                if await self.receive(request, workspaces):
                    ack = SocketModeResponse(envelope_id=request.envelope_id)
                    await client.send_socket_mode_response(ack)
            except Exception as exc:  # not acknowledged: Slack delivers the envelope again
                log.warning("Socket Mode: envelope not acknowledged (%s)", type(exc).__name__)
            finally:
                if task is not None:
                    self._inflight.discard(task)

        return on_request

    async def receive(self, request: SocketModeRequest, workspaces: frozenset[str] | None) -> bool:
        """Handle one envelope; True when it may be acknowledged."""
        if request.type != "events_api":
            # Slash commands, interactivity: not ours. Acknowledged so Slack does not retry.
            log.debug("Socket Mode: ignored an envelope of type %s", subject_token(str(request.type)[:40]))
            return Outcome.ACK
        try:
            envelope = parse_envelope(load_payload(_as_bytes(request.payload)))
        except MalformedEvent as exc:
            log.warning("Socket Mode: refused an envelope: not an Events API payload: %s", exc)
            return Outcome.ACK
        if envelope["type"] != "event_callback":
            return Outcome.ACK
        team = subject_token(str(envelope.get("team_id") or ""))
        if workspaces is not None and team not in workspaces:
            log.warning("Socket Mode: refused an event for workspace %s on another workspace's "
                        "app token", team[:32])
            return Outcome.ACK
        try:
            event = event_from_callback(envelope, own_bot_ids(envelope, self.bot_ids()))
            if not isinstance(event, Ignored):
                check_event(event)
        except (MalformedEvent, InvalidPayload) as exc:
            log.warning("Socket Mode: refused an envelope: not an Events API payload: %s", exc)
            return Outcome.ACK
        if isinstance(event, Ignored):
            count_ignored()
            return Outcome.ACK
        try:
            await self.handler.submit(event)
        except EventTooLarge as exc:
            log.warning("Socket Mode: refused %s: %s", event.event_id, exc)
            return Outcome.ACK
        except Exception as exc:
            log.error("could not accept %s: %s; not acknowledged, so Slack delivers it again "
                      "(retry %d)", event.event_id, type(exc).__name__, request.retry_attempt or 0)
            return Outcome.RETRY
        return Outcome.ACK

    async def stop(self) -> None:
        """Close every connection; an envelope in flight is not acknowledged unless it
        was made durable first (Slack delivers the rest again)."""
        if self._task is not None:
            await cancel_and_wait(self._task)
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=5)
        for client in self._clients.values():
            await client.close()  # type: ignore[no-untyped-call]
        self._clients.clear()


def _as_bytes(payload: Any) -> bytes:
    """The envelope's payload as the JSON bytes ``slack_schema`` checks."""
    return json.dumps(payload).encode()
