"""The Slack Events API endpoint: ``POST /slack/events``, and ``GET /healthz``.

Order matters: check the signature headers' shape, read the body under a
deadline, verify the signature (slack_sdk's ``SignatureVerifier``, which also
refuses timestamps older than five minutes) with the signing secret of the
workspace the event is for, check the payload's shape (``slack_schema``), then
publish to JetStream *before* answering 200. If JetStream does not take the
event we answer 503 and Slack retries; its retries are collapsed by
de-duplication on ``event_id``.

Every refusal is a 4xx with a one-line reason and one WARNING log line, never a
500 or a traceback: a 5xx would make Slack retry a request that can never
succeed, and a traceback per request is a cheap way to flood the logs.
"""

from __future__ import annotations

import asyncio
import logging
import re
import traceback
from collections.abc import Awaitable, Callable

from aiohttp import web
from opentelemetry import trace
from slack_sdk.signature import SignatureVerifier

from piiguard import telemetry
from piiguard.contracts import InvalidPayload, check_event
from piiguard.ingest.handler import EventTooLarge, IngestHandler, count_ignored
from piiguard.ingest.listener import HttpLimits
from piiguard.ingest.slack_events import (
    Ignored,
    MalformedEvent,
    event_from_callback,
    own_bot_ids,
    parse_envelope,
)
from piiguard.ingest.slack_schema import load_payload
from piiguard.jetstream import subject_token
from piiguard.slack_credentials import CredentialSource
from piiguard.v1 import ingest_pb2

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # Slack's event payloads are a few KB
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def refuse(status: int, reason: str, *, close: bool = False) -> web.Response:
    """A 4xx answer with its reason, logged as one WARNING line (the reason is ours:
    a field name or a kind of problem, never a value from the request)."""
    log.warning("refused a Slack events request (HTTP %d): %s", status, reason)
    response = web.json_response({"error": reason}, status=status)
    if close:
        response.force_close()
    return response


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
    limits: HttpLimits | None = None,
    events_endpoint: bool = True,
    socket_only: Callable[[str], bool] = lambda workspace: False,
) -> web.Application:
    """``events_endpoint`` False (``PIIGUARD_SLACK_MODE=socket``): events arrive over
    Socket Mode only, and ``POST /slack/events`` answers 404; ``/healthz`` stays.
    ``socket_only(workspace)``: that workspace's policy says ``slack.mode: socket``, so
    its events over HTTP are refused (403), signed or not."""
    tracer = telemetry.tracer("piiguard.ingest")
    read_timeout = (limits or HttpLimits()).read_timeout

    async def slack_events(request: web.Request) -> web.Response:
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not timestamp or not signature:
            return refuse(401, "missing Slack signature headers")
        if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
            return refuse(401, "malformed Slack signature headers")
        if (request.content_length or 0) > MAX_BODY_BYTES:  # declared too large: not read at all
            return refuse(413, f"body larger than {MAX_BODY_BYTES} bytes", close=True)
        try:
            async with asyncio.timeout(read_timeout):
                body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return refuse(413, f"body larger than {MAX_BODY_BYTES} bytes")
        except TimeoutError:
            return refuse(408, f"body not received within {read_timeout:g}s", close=True)
        try:
            body.decode("utf-8")  # the verifier decodes it: refuse what Slack never sends first
        except UnicodeDecodeError:
            return refuse(400, "body is not UTF-8")
        signers, own_secrets = await signed_for(credentials, body, timestamp, signature)
        if not signers:
            return refuse(401, "invalid or stale Slack signature")
        try:
            envelope = parse_envelope(load_payload(body))
        except MalformedEvent as exc:
            return refuse(400, f"not an Events API payload: {exc}")

        kind = envelope["type"]
        team = subject_token(str(envelope.get("team_id") or ""))
        if kind == "event_callback" and team not in signers and (team in own_secrets or "" not in signers):
            # Signed with another workspace's secret: never handled with the wrong secrets.
            return refuse(401, f"event for workspace {team[:32]} signed by another workspace's secret")
        if kind == "event_callback" and socket_only(team):
            return refuse(403, f"workspace {team[:32]} receives events over Socket Mode only "
                               "(policy slack.mode: socket); the HTTP Events endpoint is closed to it")
        if kind == "url_verification":
            return web.json_response({"challenge": envelope.get("challenge", "")})
        if kind != "event_callback":
            return web.json_response({"ok": True, "ignored": f"payload type {subject_token(kind[:40])}"})

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
                return refuse(400, f"not an Events API payload: {exc}")
            if not isinstance(event, Ignored):
                try:
                    check_event(event)
                except InvalidPayload as exc:
                    return refuse(400, f"not an Events API payload: {exc}")
            if isinstance(event, Ignored):
                log.debug("ignored %s: %s", subject_token(str(envelope.get("event_id"))[:64]),
                          event.reason)
                count_ignored()
                return web.json_response({"ok": True, "ignored": event.reason})
            try:
                response = await handler.submit(event)
            except EventTooLarge as exc:
                return refuse(413, str(exc))
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

    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[_no_tracebacks])
    async def socket_mode_only(_: web.Request) -> web.Response:
        return refuse(404, "this ingest receives Slack events over Socket Mode only")

    app.router.add_post("/slack/events", slack_events if events_endpoint else socket_mode_only)
    app.router.add_get("/healthz", healthz)
    return app


@web.middleware
async def _no_tracebacks(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A bug must not print a request's data: one ERROR line with the exception's
    kind and where it was raised, and a plain 500."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1:] or None
        where = f"{frame[0].filename}:{frame[0].lineno}" if frame else "?"
        log.error("request failed: %s at %s", type(exc).__name__, where)
        return web.json_response({"error": "internal error"}, status=500)
