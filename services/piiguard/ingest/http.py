"""The Slack Events API endpoint: ``POST /slack/events``, and ``GET /healthz``.

Order matters: verify the signature (slack_sdk's ``SignatureVerifier``, which
also refuses timestamps older than five minutes) with the signing secret of
the workspace the event is for, parse, then publish to
JetStream *before* answering 200. If JetStream does not take the event we
answer 503 and Slack retries; its retries are collapsed by de-duplication on
``event_id``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from aiohttp import web
from opentelemetry import trace
from slack_sdk.signature import SignatureVerifier

from piiguard import telemetry
from piiguard.credentials import CredentialSource
from piiguard.ingest.handler import IngestHandler
from piiguard.ingest.slack_events import (
    Ignored,
    MalformedEvent,
    event_from_callback,
    own_bot_ids,
    parse_envelope,
)
from piiguard.jetstream import subject_token
from piiguard.v1 import ingest_pb2

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # Slack's event payloads are a few KB


async def signed_for(credentials: CredentialSource, body: bytes, timestamp: str,
                     signature: str) -> tuple[set[str], set[str]]:
    """(the workspaces whose signing secret signed this request — ``""`` for the
    secret shared by workspaces without their own —, the workspaces that have their
    own). No signer: unsigned, wrongly signed, or stale."""
    secrets = await credentials.signing_secrets()
    signers = {
        workspace for workspace, secret in secrets.items()
        if SignatureVerifier(secret).is_valid(body=body, timestamp=timestamp, signature=signature)
    }
    return signers, set(secrets) - {""}


def create_app(
    handler: IngestHandler,
    credentials: CredentialSource,
    configured_bot_ids: Callable[[], frozenset[str]] = frozenset,
    is_healthy: Callable[[], bool] = lambda: True,
) -> web.Application:
    tracer = telemetry.tracer("piiguard.ingest")

    async def slack_events(request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        signers, own_secrets = await signed_for(credentials, body, timestamp, signature)
        if not signers:
            log.warning("refused a request with an invalid or stale Slack signature")
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            envelope = parse_envelope(json.loads(body))
        except (ValueError, MalformedEvent):
            return web.json_response({"error": "body is not an Events API JSON payload"}, status=400)

        kind = envelope["type"]
        team = subject_token(str(envelope.get("team_id") or ""))
        if kind == "event_callback" and team not in signers and (team in own_secrets or "" not in signers):
            # Signed with another workspace's secret: never handled with the wrong secrets.
            log.warning("refused an event for workspace %s signed by another workspace's secret", team[:32])
            return web.json_response({"error": "signature does not belong to this workspace"}, status=401)
        if kind == "url_verification":
            return web.json_response({"challenge": envelope.get("challenge", "")})
        if kind != "event_callback":
            return web.json_response({"ok": True, "ignored": f"payload type {kind[:40]}"})

        with tracer.start_as_current_span(
            "ingest slack event",
            kind=trace.SpanKind.SERVER,
            attributes={
                "piiguard.correlation_id": str(envelope.get("event_id", ""))[:64],
                "piiguard.workspace": str(envelope.get("team_id", ""))[:32],
                "slack.retry_num": request.headers.get("X-Slack-Retry-Num", "0")[:4],
            },
        ):
            try:
                event = event_from_callback(envelope, own_bot_ids(envelope, configured_bot_ids()))
            except MalformedEvent as exc:
                return web.json_response({"error": str(exc)}, status=400)
            if isinstance(event, Ignored):
                log.debug("ignored %s: %s", envelope.get("event_id"), event.reason)
                return web.json_response({"ok": True, "ignored": event.reason})
            try:
                response = await handler.submit(event)
            except Exception as exc:
                log.error("could not accept %s: %s; answering 503 so Slack retries",
                          event.event_id, type(exc).__name__)
                return web.json_response({"error": "temporarily unavailable"}, status=503)
        return web.json_response({
            "ok": True,
            "status": ingest_pb2.SubmitStatus.Name(response.status),
            "reason": response.reason,
        })

    async def healthz(_: web.Request) -> web.Response:
        if is_healthy():
            return web.json_response({"status": "ok"})
        return web.json_response({"status": "unavailable"}, status=503)

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    return app
