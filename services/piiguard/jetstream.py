"""The JetStream topology every stage shares, and how a stage publishes to it.

Streams (file storage, limits retention), one per hand-off plus two side streams:

=====================  ==========================  ==============================
stream                 subjects                    carries
=====================  ==========================  ==============================
``PIIGUARD_EVENTS``    ``piiguard.events.<ws>``    ``Event``: awaiting detection
``PIIGUARD_VERDICTS``  ``piiguard.verdicts.<ws>``  ``ActionRequest``: awaiting action
``PIIGUARD_DLQ``       ``piiguard.dlq.<stage>.<ws>``  the original bytes + reason headers
``PIIGUARD_AUDIT``     ``piiguard.audit.<id>``     ``AuditRecord``: an event's life (no text)
=====================  ==========================  ==============================

``<ws>`` is the workspace (Slack team id), so each workspace can have consumers
of its own and cannot starve another. Messages carry protobuf bytes; the
correlation id travels as ``Nats-Msg-Id`` (de-duplication) and ``Piiguard-Id``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.api import RawStreamMsg
from nats.js.errors import BadRequestError, NotFoundError

log = logging.getLogger(__name__)

STREAM_EVENTS = "PIIGUARD_EVENTS"
STREAM_VERDICTS = "PIIGUARD_VERDICTS"
STREAM_DLQ = "PIIGUARD_DLQ"
STREAM_AUDIT = "PIIGUARD_AUDIT"

BUCKET_ACTIONS = "piiguard-actions"  # completed deletes / DMs, for exactly-once effect
BUCKET_POLICIES = "piiguard-policies"  # per-workspace policy published by the operator

HEADER_ID = "Piiguard-Id"
HEADER_MSG_ID = "Nats-Msg-Id"

# Filter subjects that match every workspace (one consumer for all, in local runs).
ALL_EVENTS = "piiguard.events.*"
ALL_VERDICTS = "piiguard.verdicts.*"

# Deliveries beyond a stage's maxAttempts that a consumer still allows, so a worker
# killed during the last attempt sees the message once more and dead-letters it,
# instead of JetStream giving up on it silently.
DELIVERY_HEADROOM = 2

# Slack retries an event after ~0 s, 1 min and 5 min: the de-duplication window
# must outlast all three.
DUPLICATE_WINDOW_SECONDS = 15 * 60.0


@dataclass(frozen=True)
class Retention:
    """How long each stream keeps messages (seconds). Text-carrying streams hold
    PII, so their defaults are short; see docs/reliability.md."""

    events: float = 6 * 3600.0
    verdicts: float = 6 * 3600.0
    dead_letters: float = 3 * 86400.0
    audit: float = 30 * 86400.0
    actions_ttl: float = 7 * 86400.0
    work_stream_bytes: int = 1024**3  # per work stream; full means back-pressure


    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Retention:
        from piiguard.policy import parse_duration

        defaults = cls()
        def pick(name: str, default: float) -> float:
            raw = env.get(name)
            return parse_duration(raw) if raw else default

        return cls(
            events=pick("PIIGUARD_EVENTS_MAX_AGE", defaults.events),
            verdicts=pick("PIIGUARD_VERDICTS_MAX_AGE", defaults.verdicts),
            dead_letters=pick("PIIGUARD_DLQ_MAX_AGE", defaults.dead_letters),
            audit=pick("PIIGUARD_AUDIT_MAX_AGE", defaults.audit),
            actions_ttl=pick("PIIGUARD_ACTIONS_TTL", defaults.actions_ttl),
            work_stream_bytes=int(env.get("PIIGUARD_STREAM_MAX_BYTES") or defaults.work_stream_bytes),
        )


_TOKEN_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def subject_token(value: str) -> str:
    """A value made safe as one NATS subject token (no dots, spaces or wildcards)."""
    return _TOKEN_UNSAFE.sub("_", value) or "_"


def events_subject(workspace: str) -> str:
    return f"piiguard.events.{subject_token(workspace)}"


def verdicts_subject(workspace: str) -> str:
    return f"piiguard.verdicts.{subject_token(workspace)}"


def dead_letter_subject(stage: str, workspace: str) -> str:
    return f"piiguard.dlq.{subject_token(stage)}.{subject_token(workspace)}"


def audit_subject(correlation_id: str) -> str:
    return f"piiguard.audit.{subject_token(correlation_id)}"


def stream_configs(retention: Retention) -> list[js_api.StreamConfig]:
    """Stream settings. The work streams refuse new messages when full (``discard
    new``) rather than dropping old ones: ingest then answers 503 and Slack
    retries later — back-pressure instead of loss. The audit stream drops its
    oldest records instead, so auditing can never stop the pipeline."""

    def stream(name: str, subjects: str, max_age: float, *, max_bytes: int = -1,
               discard: js_api.DiscardPolicy = js_api.DiscardPolicy.NEW,
               window: float = 120.0) -> js_api.StreamConfig:
        return js_api.StreamConfig(
            name=name,
            subjects=[subjects],
            storage=js_api.StorageType.FILE,
            retention=js_api.RetentionPolicy.LIMITS,
            max_age=max_age,
            max_bytes=max_bytes,
            duplicate_window=min(window, max_age),
            discard=discard,
        )

    return [
        stream(STREAM_EVENTS, "piiguard.events.>", retention.events,
               max_bytes=retention.work_stream_bytes, window=DUPLICATE_WINDOW_SECONDS),
        stream(STREAM_VERDICTS, "piiguard.verdicts.>", retention.verdicts,
               max_bytes=retention.work_stream_bytes, window=DUPLICATE_WINDOW_SECONDS),
        stream(STREAM_DLQ, "piiguard.dlq.>", retention.dead_letters,
               max_bytes=retention.work_stream_bytes),
        stream(STREAM_AUDIT, "piiguard.audit.>", retention.audit,
               discard=js_api.DiscardPolicy.OLD, window=DUPLICATE_WINDOW_SECONDS),
    ]


async def ensure_topology(js: JetStreamContext, retention: Retention | None = None, *,
                          update_existing: bool = True) -> None:
    """Create the streams and buckets, or (``update_existing``) bring their settings up
    to date. Idempotent; every stage calls it on start so no start order is required.
    In a cluster the operator owns retention, so the stages only create what is missing."""
    retention = retention or Retention()
    for config in stream_configs(retention):
        try:
            await js.add_stream(config)
        except BadRequestError:
            # Exists with other settings: take ours (retention is configurable).
            if update_existing:
                await js.update_stream(config)
    await ensure_bucket(js, BUCKET_ACTIONS, ttl=retention.actions_ttl)


async def ensure_bucket(js: JetStreamContext, bucket: str, ttl: float | None = None) -> None:
    try:
        await js.key_value(bucket)
    except (NotFoundError, nats.js.errors.BucketNotFoundError):
        try:
            await js.create_key_value(
                js_api.KeyValueConfig(bucket=bucket, ttl=ttl, storage=js_api.StorageType.FILE)
            )
        except BadRequestError:
            pass  # created concurrently by another stage


async def connect(url: str, *, name: str) -> NATS:
    """A NATS connection that reconnects forever: a restarted nats-server must not
    end a stage. Connection trouble is logged as one line, not a traceback."""

    async def on_error(exc: Exception) -> None:
        log.warning("nats: %s", type(exc).__name__)

    async def on_disconnected() -> None:
        log.info("nats: disconnected")

    async def on_reconnected() -> None:
        log.info("nats: reconnected")

    return await nats.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=3,
        allow_reconnect=True,
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
    )


async def read_subject(js: JetStreamContext, stream: str, subject: str,
                       limit: int | None = None) -> AsyncIterator[RawStreamMsg]:
    """Every stored message of ``subject`` (wildcards allowed), oldest first, by direct
    gets: reading consumes nothing and creates no consumer."""
    seq, count = 1, 0
    while limit is None or count < limit:
        try:
            raw = await js.get_msg(stream, seq=seq, subject=subject, next=True)
        except NotFoundError:
            return
        if raw.seq is None:
            return
        yield raw
        count += 1
        seq = raw.seq + 1
