r"""The JetStream topology every stage shares, and how a stage publishes to it.

Streams (file storage), one per hand-off plus two side streams. The two work
streams hold message text, so they are *work queues*: a message is removed as
soon as its stage acks it (or dead-letters it), and ``max_age`` only bounds a
backlog nobody handles. The side streams keep what they hold for a set time:

=====================  ==========================  ==============================
stream                 subjects                    carries
=====================  ==========================  ==============================
``PIIGUARD_EVENTS``    ``piiguard.events.<ws>``    ``Event``: awaiting detection (live lane)
\                      ``piiguard.events.<ws>.bulk``  ``Event``: swept history (bulk lane)
\                      ``piiguard.events.<ws>.later``  ``Event``: held until its ``not_before``
``PIIGUARD_VERDICTS``  ``piiguard.verdicts.<ws>``  ``ActionRequest``: awaiting action
``PIIGUARD_DLQ``       ``piiguard.dlq.<stage>.<ws>``  the original bytes + reason headers
``PIIGUARD_AUDIT``     ``piiguard.audit.<id>``     ``AuditRecord``: an event's life (no text)
``PIIGUARD_SCHEDULES`` ``piiguard.schedules.<ws>.<job>``  a job's message schedule (docs/schedules.md)
\                      ``piiguard.jobs.<job>.<ws>``  a job to run now, fired by the schedule
=====================  ==========================  ==============================

``<ws>`` is the workspace (Slack team id), so each workspace can have consumers
of its own and cannot starve another. Messages carry protobuf bytes; the
correlation id travels as ``Nats-Msg-Id`` (de-duplication) and ``Piiguard-Id``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.api import RawStreamMsg
from nats.js.errors import APIError, BadRequestError, NotFoundError

if TYPE_CHECKING:
    from piiguard.policy import Policy
    from piiguard.security.natsauth import NatsAuth
    from piiguard.settings import Settings

log = logging.getLogger(__name__)

STREAM_EVENTS = "PIIGUARD_EVENTS"
STREAM_VERDICTS = "PIIGUARD_VERDICTS"
STREAM_DLQ = "PIIGUARD_DLQ"
STREAM_AUDIT = "PIIGUARD_AUDIT"
STREAM_SCHEDULES = "PIIGUARD_SCHEDULES"

BUCKET_ACTIONS = "piiguard-actions"  # completed deletes / DMs, for exactly-once effect
BUCKET_POLICIES = "piiguard-policies"  # per-workspace policy published by the operator
BUCKET_NOTION = "piiguard-notion"  # the Notion poller's cursors and page versions seen
BUCKET_SEEN = "piiguard-seen"  # Slack message versions already scanned (live or swept)
BUCKET_SWEEP = "piiguard-sweep"  # each sweep's durable progress per workspace and channel
BUCKET_JOBS = "piiguard-jobs"  # scheduled jobs' last results (token health, unreadable channels)

HEADER_ID = "Piiguard-Id"
HEADER_MSG_ID = "Nats-Msg-Id"

# Filter subjects that match every workspace (one consumer for all, in local runs).
ALL_EVENTS = "piiguard.events.*"
ALL_VERDICTS = "piiguard.verdicts.*"
# The bulk lane (swept history): its own subjects in the same stream, so one
# de-duplication window covers a message whether the live path or a sweep sent it.
ALL_BULK = "piiguard.events.*.bulk"
# Events held until their not_before (ingest releases each onto its lane then).
ALL_LATER = "piiguard.events.*.later"
LATER_CONSUMER = "ingest-later"
BULK_CONSUMER = "detection-bulk"

# Deliveries beyond a stage's maxAttempts that a consumer still allows, so a worker
# killed during the last attempt sees the message once more and dead-letters it,
# instead of JetStream giving up on it silently.
DELIVERY_HEADROOM = 2

# Slack retries an event after ~0 s, 1 min and 5 min: the de-duplication window
# must outlast all three.
DUPLICATE_WINDOW_SECONDS = 15 * 60.0


@dataclass(frozen=True)
class Retention:
    """How long each stream keeps messages (seconds). The values are owned by
    :class:`piiguard.settings.Settings` (their defaults and reasons are there);
    this is the shape :func:`stream_configs` needs."""

    events: float
    verdicts: float
    dead_letters: float
    audit: float
    actions_ttl: float
    work_stream_bytes: int  # per work stream; full means back-pressure
    replicas: int = 1
    seen_ttl: float = 30 * 86400.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        return cls(
            events=settings.events_max_age,
            verdicts=settings.verdicts_max_age,
            dead_letters=settings.dlq_max_age,
            audit=settings.audit_max_age,
            actions_ttl=settings.actions_ttl,
            work_stream_bytes=settings.stream_max_bytes,
            replicas=settings.stream_replicas,
            seen_ttl=settings.seen_ttl,
        )

    @classmethod
    def default(cls) -> Retention:
        from piiguard.settings import Settings

        return cls.from_settings(Settings.model_construct())

    def for_policies(self, policies: Iterable[Policy]) -> Retention:
        """This retention, with each work stream lengthened to the longest ``maxAge``
        a policy asks for explicitly: streams are shared by every workspace, so none
        loses a backlog earlier than its policy promises. The one rule, applied by
        the stages (``piiguard up``) and the operator (a cluster) alike."""
        events, verdicts = self.events, self.verdicts
        for policy in policies:
            events = max(events, policy.queues.detection.max_age or 0.0)
            verdicts = max(verdicts, policy.queues.action.max_age or 0.0)
        return replace(self, events=events, verdicts=verdicts)

    def max_age_of(self, stream: str) -> float:
        return {STREAM_EVENTS: self.events, STREAM_VERDICTS: self.verdicts,
                STREAM_DLQ: self.dead_letters, STREAM_AUDIT: self.audit,
                STREAM_SCHEDULES: 0.0}[stream]


# Room left in a stream message for its headers (ids, trace context).
HEADER_ROOM_BYTES = 4096
DEFAULT_MAX_PAYLOAD = 1024 * 1024  # nats-server's default max_payload


def max_message_bytes(js: JetStreamContext) -> int:
    """The largest payload one stream message may carry: the server's ``max_payload``
    (told at connect), less room for headers."""
    connection = getattr(js, "_nc", None)
    limit = getattr(connection, "max_payload", 0) or DEFAULT_MAX_PAYLOAD
    return int(limit) - HEADER_ROOM_BYTES


_TOKEN_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def subject_token(value: str) -> str:
    """A value made safe as one NATS subject token (no dots, spaces or wildcards)."""
    return _TOKEN_UNSAFE.sub("_", value) or "_"


def events_subject(workspace: str) -> str:
    return f"piiguard.events.{subject_token(workspace)}"


def bulk_subject(workspace: str) -> str:
    return f"{events_subject(workspace)}.bulk"


def lane_subject(workspace: str, priority: int) -> str:
    """Where an event of this priority waits for detection: ``PRIORITY_BULK`` (3, a
    sweep) in the bulk lane, everything else in the live lane."""
    return bulk_subject(workspace) if priority == BULK_PRIORITY else events_subject(workspace)


BULK_PRIORITY = 3  # event_pb2.PRIORITY_BULK (this module does not import the contracts)


def later_subject(workspace: str) -> str:
    """Where events wait for their ``not_before``."""
    return f"{events_subject(workspace)}.later"


def seen_key(workspace: str, channel: str, ts: str) -> str:
    """``<ws>.<channel>.<ts>`` in ``piiguard-seen`` (the ts's dot as ``_``)."""
    return f"{subject_token(workspace)}.{subject_token(channel)}.{subject_token(ts)}"


def verdicts_subject(workspace: str) -> str:
    return f"piiguard.verdicts.{subject_token(workspace)}"


DLQ_PREFIX = "piiguard.dlq"
DLQ_SUBJECTS = f"{DLQ_PREFIX}.*.*"  # exactly <stage>.<ws>: nothing else is stored


def dead_letter_subject(stage: str, workspace: str) -> str:
    """``piiguard.dlq.<stage>.<ws>``: the one layout of dead-letter subjects."""
    return f"{DLQ_PREFIX}.{subject_token(stage)}.{subject_token(workspace)}"


def dead_letter_filter(stage: str | None = None, workspace: str | None = None) -> str:
    """The dead letters of a stage and/or a workspace (every one when neither is given)."""
    if stage is None and workspace is None:
        return DLQ_SUBJECTS
    if workspace is None:
        return f"{DLQ_PREFIX}.{subject_token(stage or '')}.*"
    return f"{DLQ_PREFIX}.{subject_token(stage) if stage else '*'}.{subject_token(workspace)}"


def audit_subject(correlation_id: str) -> str:
    return f"piiguard.audit.{subject_token(correlation_id)}"


SCHEDULE_PREFIX = "piiguard.schedules"
JOB_PREFIX = "piiguard.jobs"
# Scheduled jobs, the consumer that runs each, and the component it belongs to
# (docs/schedules.md): ingest sweeps (it submits into the pipeline), action
# digests and checks tokens (it holds the tokens and posts as the bot).
JOB_RUNNERS: dict[str, str] = {"sweep": "ingest", "digest": "action", "tokencheck": "action"}


def schedule_subject(workspace: str, job: str) -> str:
    """``piiguard.schedules.<ws>.<job>``: where a job's message schedule is stored
    (one schedule per subject; writing it again replaces it)."""
    return f"{SCHEDULE_PREFIX}.{subject_token(workspace)}.{subject_token(job)}"


def job_subject(job: str, workspace: str) -> str:
    """``piiguard.jobs.<job>.<ws>``: where the schedule puts a job to run."""
    return f"{JOB_PREFIX}.{subject_token(job)}.{subject_token(workspace)}"


def job_consumer(job: str) -> str:
    return f"jobs-{subject_token(job)}"


def job_consumer_config(job: str) -> js_api.ConsumerConfig:
    """The one durable consumer of a job, over every workspace: whichever replica
    of its component fetches a fired job runs it, so it runs once. A job that
    takes long is kept alive by the worker's ``in_progress`` heartbeats."""
    return js_api.ConsumerConfig(
        durable_name=job_consumer(job),
        filter_subject=f"{JOB_PREFIX}.{subject_token(job)}.*",
        ack_policy=js_api.AckPolicy.EXPLICIT,
        deliver_policy=js_api.DeliverPolicy.ALL,
        ack_wait=JOB_ACK_WAIT_SECONDS,
        max_deliver=JOB_MAX_ATTEMPTS + DELIVERY_HEADROOM,
        max_ack_pending=8,
        max_waiting=64,
    )


JOB_ACK_WAIT_SECONDS = 60.0
JOB_MAX_ATTEMPTS = 3


def schedules_stream_config(retention: Retention) -> js_api.StreamConfig:
    """``PIIGUARD_SCHEDULES``: the schedules (``allow_msg_schedules``) and the jobs
    they fire, in one stream (a schedule's target must be in its own stream). A
    work queue: a job run (acked) leaves at once; the schedules themselves are
    never consumed and stay. One message per subject: a schedule replaces the
    previous one of its subject, and a job that fires again before anyone ran it
    replaces the waiting one (missed runs collapse into one)."""
    return js_api.StreamConfig(
        name=STREAM_SCHEDULES,
        subjects=[f"{SCHEDULE_PREFIX}.*.*", f"{JOB_PREFIX}.*.*"],
        storage=js_api.StorageType.FILE,
        retention=js_api.RetentionPolicy.WORK_QUEUE,
        max_msgs_per_subject=1,
        discard=js_api.DiscardPolicy.OLD,
        duplicate_window=120.0,
        num_replicas=retention.replicas,
        allow_msg_schedules=True,
    )


def stream_configs(retention: Retention) -> list[js_api.StreamConfig]:
    """Stream settings. Each stream takes exactly the subjects its readers own (one
    token per workspace, stage or id: ``piiguard.events.<ws>``, never
    ``piiguard.events.<ws>.extra``), so a message on any other subject is refused
    at publish (no stream answers) instead of sitting unread until it expires.
    The work streams refuse new messages when full (``discard
    new``) rather than dropping old ones: ingest then answers 503 and Slack
    retries later — back-pressure instead of loss. They are work queues: a handled
    message leaves at once (de-duplication still remembers its id for the whole
    window). The audit stream drops its oldest records instead, so auditing can
    never stop the pipeline."""

    def stream(name: str, subjects: str | list[str], max_age: float, *, max_bytes: int = -1,
               discard: js_api.DiscardPolicy = js_api.DiscardPolicy.NEW,
               window: float = 120.0,
               policy: js_api.RetentionPolicy = js_api.RetentionPolicy.LIMITS) -> js_api.StreamConfig:
        return js_api.StreamConfig(
            name=name,
            subjects=[subjects] if isinstance(subjects, str) else subjects,
            storage=js_api.StorageType.FILE,
            retention=policy,
            max_age=max_age,
            max_bytes=max_bytes,
            duplicate_window=min(window, max_age),
            discard=discard,
            num_replicas=retention.replicas,
        )

    work_queue = js_api.RetentionPolicy.WORK_QUEUE
    return [
        stream(STREAM_EVENTS, [ALL_EVENTS, ALL_BULK, ALL_LATER], retention.events,
               policy=work_queue, max_bytes=retention.work_stream_bytes,
               window=DUPLICATE_WINDOW_SECONDS),
        stream(STREAM_VERDICTS, ALL_VERDICTS, retention.verdicts, policy=work_queue,
               max_bytes=retention.work_stream_bytes, window=DUPLICATE_WINDOW_SECONDS),
        stream(STREAM_DLQ, DLQ_SUBJECTS, retention.dead_letters,
               max_bytes=retention.work_stream_bytes),
        stream(STREAM_AUDIT, "piiguard.audit.*", retention.audit,
               discard=js_api.DiscardPolicy.OLD, window=DUPLICATE_WINDOW_SECONDS),
        schedules_stream_config(retention),
    ]


async def ensure_topology(js: JetStreamContext, retention: Retention | None = None, *,
                          update_existing: bool = True) -> None:
    """Create the streams and buckets, or (``update_existing``) bring their settings up
    to date. Idempotent; every stage calls it on start so no start order is required.
    In a cluster the operator owns retention, so the stages only create what is missing."""
    retention = retention or Retention.default()
    for config in stream_configs(retention):
        try:
            await js.add_stream(config)
        except BadRequestError:
            # Exists with other settings: take ours (retention is configurable).
            if update_existing:
                await _update_stream(js, config)
    await ensure_bucket(js, BUCKET_ACTIONS, ttl=retention.actions_ttl,
                        replicas=retention.replicas if update_existing else None)
    # No TTL: a cursor must outlive any pause of the poller (ids and hashes only).
    await ensure_bucket(js, BUCKET_NOTION, replicas=retention.replicas if update_existing else None)
    await ensure_bucket(js, BUCKET_SEEN, ttl=retention.seen_ttl,
                        replicas=retention.replicas if update_existing else None)
    # No TTL: a paused backfill resumes however long it waited (ids and ts only).
    await ensure_bucket(js, BUCKET_SWEEP, replicas=retention.replicas if update_existing else None)
    # Ids, codes and times only; a result older than a week is stale anyway.
    await ensure_bucket(js, BUCKET_JOBS, ttl=7 * 86400.0,
                        replicas=retention.replicas if update_existing else None)
    for job in JOB_RUNNERS:  # fixed, not per workspace: the components only bind to them
        await js.add_consumer(STREAM_SCHEDULES, job_consumer_config(job))


async def _update_stream(js: JetStreamContext, config: js_api.StreamConfig) -> None:
    """Bring a stream's settings up to date. A stream made by an older version with
    limits retention cannot become a work queue in place (JetStream refuses to
    change the retention policy): an empty one is recreated; one still holding
    messages keeps its policy, with a warning, so nothing queued is lost."""
    try:
        await js.update_stream(config)
        return
    except APIError:  # 10052: "can not change retention policy to/from workqueue"
        current = await js.stream_info(config.name or "")
        if current.config.retention == config.retention:
            raise
    if current.state.messages == 0:
        log.warning("stream %s recreated as a %s stream", config.name,
                    getattr(config.retention, "value", config.retention))
        await js.delete_stream(config.name or "")
        await js.add_stream(config)
        return
    log.warning("stream %s holds %d message(s) and keeps its %s retention until it is empty; "
                "restart a stage then to make it a work queue", config.name, current.state.messages,
                getattr(current.config.retention, "value", current.config.retention))
    await js.update_stream(replace(config, retention=current.config.retention))


async def ensure_bucket(js: JetStreamContext, bucket: str, ttl: float | None = None,
                        replicas: int | None = None) -> None:
    """Create the bucket; ``replicas`` given: also bring an existing bucket's replica
    count to it (PIIGUARD_STREAM_REPLICAS changed: JetStream moves the data itself)."""
    try:
        await js.key_value(bucket)
    except (NotFoundError, nats.js.errors.BucketNotFoundError):
        try:
            await js.create_key_value(
                js_api.KeyValueConfig(bucket=bucket, ttl=ttl, storage=js_api.StorageType.FILE,
                                      replicas=replicas or 1)
            )
        except BadRequestError:
            pass  # created concurrently by another stage
        return
    if replicas is not None:
        info = await js.stream_info(f"KV_{bucket}")
        if info.config.num_replicas != replicas:
            log.info("bucket %s: %s -> %d replicas", bucket, info.config.num_replicas, replicas)
            await js.update_stream(replace(info.config, num_replicas=replicas))


async def connect(servers: str | list[str], *, name: str, auth: NatsAuth | None = None) -> NATS:
    """A NATS connection that reconnects forever: a restarted nats-server must not
    end a stage. Connection trouble is logged as one line, not a traceback.
    ``auth``: the component's credentials, TLS and inbox prefix (docs/security.md)."""

    async def on_error(exc: Exception) -> None:
        log.warning("nats: %s", type(exc).__name__)

    async def on_disconnected() -> None:
        log.info("nats: disconnected")

    async def on_reconnected() -> None:
        log.info("nats: reconnected")

    if isinstance(servers, str):  # NATS_URL may list several servers
        servers = [url.strip() for url in servers.split(",") if url.strip()]
    return await nats.connect(
        servers,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=3,
        allow_reconnect=True,
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
        **(auth.connect_options() if auth is not None else {}),
    )


async def wait_for_streams(js: JetStreamContext, streams: list[str], *, interval: float = 1.0) -> None:
    """Wait until ``streams`` exist. A component with its own NATS user may not create
    streams (docs/security.md): the operator, or ``piiguard up``, provisions them."""
    waiting = False
    for stream in streams:
        while True:
            try:
                await js.stream_info(stream)
                break
            except NotFoundError:
                if not waiting:
                    log.info("waiting for stream %s (provisioned by the operator or piiguard up)",
                             stream)
                    waiting = True
                await asyncio.sleep(interval)


async def read_subject(js: JetStreamContext, stream: str, subject: str,
                       limit: int | None = None, *, start: int = 1) -> AsyncIterator[RawStreamMsg]:
    """Every stored message of ``subject`` (wildcards allowed), oldest first (from
    sequence ``start``), by direct gets: reading consumes nothing and creates no consumer."""
    seq, count = start, 0
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


async def first_sequence_since(js: JetStreamContext, stream: str, since: float) -> int | None:
    """The sequence of the first message stored at or after ``since`` (epoch
    seconds), found by bisecting the stream by message time; None: none is."""
    try:
        state = (await js.stream_info(stream)).state
    except NotFoundError:
        return None
    low, high = state.first_seq or 1, state.last_seq or 0
    if high < low:
        return None

    async def stored_at(seq: int) -> tuple[int, float] | None:
        try:
            raw = await js.get_msg(stream, seq=seq, next=True, subject=">")
        except NotFoundError:
            return None
        moment = raw.time
        return (raw.seq or seq, moment.timestamp() if moment is not None else 0.0)

    last = await stored_at(high)
    if last is None or last[1] < since:
        return None
    while low < high:
        middle = (low + high) // 2
        found = await stored_at(middle)
        if found is None or found[1] >= since:
            high = middle
        else:
            low = found[0] + 1
    return low
