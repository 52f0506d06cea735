"""A sweep: read channels' history from Slack and submit every message into the
pipeline's bulk lane — the one function the ``piiguard sweep`` command and the
scheduled reconciliation sweep both run (:func:`run_sweep`).

* Reading: :mod:`piiguard.sweep.history` (``conversations.history``, then
  ``conversations.replies`` for each thread, paged by cursor), paced to
  ``PIIGUARD_SWEEP_SLACK_RPM`` calls a minute per method (Tier 3), with a 429's
  ``Retry-After`` waited out by slack_sdk's rate-limit retry handler.
* Submitting: through ingest's one handler (``IngestHandler.submit``), each
  message an ``Event`` of ``PRIORITY_BULK`` — so the bulk lane
  (``piiguard.events.<ws>.bulk``), which detection serves only while the live
  lane is idle, at a bounded rate. A message version the live path (or an
  earlier sweep) already submitted is skipped there (``DUPLICATE``, "already
  scanned"): never acted on twice; an edited one (``edited.ts`` moved) is
  scanned again. The sweep pauses reading while more than
  ``PIIGUARD_SWEEP_BACKLOG`` swept messages wait in the lane.
* Progress: per job, workspace and channel in the ``piiguard-sweep`` bucket
  (``<job>.<ws>.<channel>``: the window, the ts reached, counts; no text). History
  comes newest first, so the ts reached is the resume point: after a restart an
  unfinished sweep of that channel continues below it instead of starting over.
* Outcomes: what detection and action did with the swept messages, from their
  audit records (``scanned``, ``acted_on``: deleted or author told).

Nothing here logs or prints text; the summary holds ids and counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from google.protobuf.timestamp_pb2 import Timestamp
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import KeyNotFoundError, NotFoundError
from nats.js.kv import KeyValue
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from piiguard.jetstream import (
    BUCKET_SWEEP,
    BULK_CONSUMER,
    STREAM_AUDIT,
    STREAM_EVENTS,
    subject_token,
)
from piiguard.policy import Policy
from piiguard.settings import Settings
from piiguard.sweep.history import (
    HistoryMessage,
    Pacer,
    channel_messages,
    history_client,
    member_channels,
)
from piiguard.v1 import audit_pb2, detection_pb2, event_pb2, ingest_pb2

log = logging.getLogger(__name__)

SCANNED_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}  # what a person wrote
BATCH = 64  # messages submitted between progress checkpoints (at least)
BACKLOG_POLL_SECONDS = 0.5
_CHANNEL_TYPES = {"C": event_pb2.CHANNEL_TYPE_PUBLIC, "G": event_pb2.CHANNEL_TYPE_PRIVATE,
                  "D": event_pb2.CHANNEL_TYPE_IM}

Submit = Callable[[event_pb2.Event], Awaitable[ingest_pb2.SubmitEventResponse]]


@dataclass
class ChannelTally:
    """One channel's sweep, in counts: ``read`` from Slack, ``submitted`` into the
    pipeline (accepted), ``skipped`` as already scanned, ``ignored`` by policy,
    ``scanned`` by detection, ``acted_on`` (deleted, or the author told)."""

    read: int = 0
    submitted: int = 0
    skipped: int = 0
    ignored: int = 0
    scanned: int = 0
    acted_on: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    resumed: bool = False
    error: str = ""  # a Slack error code (not_in_channel, ...): the channel could not be read

    def line(self) -> dict[str, Any]:
        line: dict[str, Any] = {
            "read": self.read, "submitted": self.submitted, "skipped": self.skipped,
            "ignored": self.ignored, "scanned": self.scanned, "acted_on": self.acted_on,
            "kinds": dict(sorted(self.kinds.items()))}
        if self.resumed:
            line["resumed"] = True
        if self.error:
            line["error"] = self.error
        return line


@dataclass
class SweepSummary:
    """What a sweep did, per channel and in total. ``pending``: submitted messages
    whose scan had not been recorded when the sweep stopped waiting."""

    workspace: str
    oldest: str
    channels: dict[str, ChannelTally] = field(default_factory=dict)
    pending: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> ChannelTally:
        total = ChannelTally()
        for tally in self.channels.values():
            for name in ("read", "submitted", "skipped", "ignored", "scanned", "acted_on"):
                setattr(total, name, getattr(total, name) + getattr(tally, name))
            total.kinds.update(tally.kinds)
        return total

    @property
    def unreadable(self) -> dict[str, str]:
        """Channels the bot could not read, with Slack's error code."""
        return {c: t.error for c, t in self.channels.items() if t.error}

    def line(self) -> dict[str, Any]:
        return {"summary": self.total.line(), "workspace": self.workspace,
                "channels": len(self.channels), "pending": self.pending,
                "seconds": round(self.seconds, 1)}


class SweepProgress(Protocol):
    """Who is told as a sweep goes (the terminal's progress bar)."""

    def channel_started(self, channel: str, tally: ChannelTally) -> None: ...

    def update(self, channel: str, tally: ChannelTally) -> None: ...

    def channel_done(self, channel: str, tally: ChannelTally) -> None: ...


# ---- durable progress --------------------------------------------------------------------


@dataclass
class Checkpoint:
    """A channel's progress in ``piiguard-sweep``: the window (``oldest`` ..
    ``latest``, fixed when the sweep of it began), the ts reached (``reached``:
    everything from ``latest`` down to it is submitted), and counts."""

    oldest: str
    latest: str
    reached: str = ""
    done: bool = False
    read: int = 0
    submitted: int = 0
    skipped: int = 0
    ignored: int = 0

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def decode(cls, data: bytes) -> Checkpoint | None:
        try:
            raw = json.loads(data)
            return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})
        except (ValueError, TypeError, KeyError):
            return None


def progress_key(job: str, workspace: str, channel: str) -> str:
    return f"{subject_token(job)}.{subject_token(workspace)}.{subject_token(channel)}"


class ProgressStore:
    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self._kv: KeyValue | None = None

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await self.js.key_value(BUCKET_SWEEP)
        return self._kv

    async def load(self, key: str) -> Checkpoint | None:
        try:
            entry = await (await self._bucket()).get(key)
        except KeyNotFoundError:
            return None
        return Checkpoint.decode(entry.value or b"")

    async def save(self, key: str, checkpoint: Checkpoint) -> None:
        await (await self._bucket()).put(key, checkpoint.encode())

    async def forget(self, key: str) -> None:
        with contextlib.suppress(KeyNotFoundError):
            await (await self._bucket()).delete(key)


def resume_point(saved: Checkpoint | None, oldest: str, now: str) -> Checkpoint:
    """Where a channel's sweep starts: an unfinished one continues below the ts it
    reached (its window end kept, the oldest asked for now); otherwise afresh."""
    if saved is not None and not saved.done:
        saved.oldest = oldest
        return saved
    return Checkpoint(oldest=oldest, latest=now)


# ---- messages to events -------------------------------------------------------------------


def scannable(message: HistoryMessage) -> bool:
    raw = message.raw
    return (raw.get("subtype") in SCANNED_SUBTYPES and not raw.get("bot_id")
            and bool(raw.get("user")) and not raw.get("hidden")
            and (bool(message.text.strip()) or bool(raw.get("files"))))


def sweep_event(workspace: str, message: HistoryMessage) -> event_pb2.Event:
    """A swept message as the pipeline's ``Event``, in the bulk lane."""
    raw = message.raw
    files = [event_pb2.FileRef(id=str(f.get("id", "")), name=str(f.get("name") or ""),
                               mimetype=str(f.get("mimetype") or ""),
                               size=int(f.get("size") or 0) if str(f.get("size") or "0").isdigit() else 0,
                               url_private_download=str(f.get("url_private_download") or ""))
             for f in raw.get("files") or [] if isinstance(f, dict) and f.get("id")]
    kind = event_pb2.EVENT_KIND_MESSAGE
    if message.edited_ts:
        kind = event_pb2.EVENT_KIND_MESSAGE_CHANGED
    elif raw.get("subtype") == "thread_broadcast":
        kind = event_pb2.EVENT_KIND_THREAD_BROADCAST
    elif files:
        kind = event_pb2.EVENT_KIND_FILE_SHARE
    thread_ts = str(raw.get("thread_ts") or "")
    event = event_pb2.Event(
        event_id=f"sweep-{subject_token(message.channel)}-{subject_token(message.ts)}-"
                 f"{subject_token(message.edited_ts or '0')}",
        source=event_pb2.SOURCE_PLATFORM_SLACK,
        workspace_id=workspace,
        channel_id=message.channel,
        channel_type=_CHANNEL_TYPES.get(message.channel[:1], event_pb2.CHANNEL_TYPE_UNSPECIFIED),
        user_id=str(raw.get("user") or ""),
        ts=message.ts,
        thread_ts=thread_ts if thread_ts != message.ts else "",
        text=message.text,
        kind=kind,
        files=files,
        priority=event_pb2.PRIORITY_BULK,
        edited_ts=message.edited_ts,
    )
    with contextlib.suppress(ValueError):
        event.event_time.CopyFrom(Timestamp(seconds=int(float(message.ts))))
    received = Timestamp()
    received.GetCurrentTime()
    event.received_time.CopyFrom(received)
    return event


# ---- outcomes, from the audit trail -----------------------------------------------------------


class Outcomes:
    """Follows the audit trail for the sweep's own correlation ids: scanned, acted on."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self.channel_of: dict[str, str] = {}
        self.scanned: set[str] = set()
        self.flagged: set[str] = set()  # a delete/notify verdict: action will follow
        self.acted: set[str] = set()
        self.settled: set[str] = set()  # dead-lettered or ignored: nothing more follows
        self.kinds: dict[str, Counter[str]] = {}
        self.scanned_in: Counter[str] = Counter()
        self.acted_in: Counter[str] = Counter()
        self.changed = asyncio.Event()
        self._subscription: Any = None

    async def start(self) -> None:
        try:
            self._subscription = await self.js.subscribe(
                "piiguard.audit.*", ordered_consumer=True, cb=self._on_record,
                deliver_policy=js_api.DeliverPolicy.NEW, stream=STREAM_AUDIT)
        except Exception as exc:  # no right to follow the trail: counts stay at submitted
            log.warning("sweep: outcomes not followed (%s)", type(exc).__name__)

    def expect(self, correlation_id: str, channel: str) -> None:
        self.channel_of[correlation_id] = channel

    def forget(self, correlation_id: str) -> None:
        """Not submitted after all (a duplicate, ignored, or the submit failed):
        nothing of it is counted or waited for."""
        channel = self.channel_of.pop(correlation_id, None)
        if channel is None:
            return
        if correlation_id in self.scanned:  # a record of an earlier submission of it
            self.scanned.discard(correlation_id)
            self.scanned_in[channel] -= 1
        if correlation_id in self.acted:
            self.acted.discard(correlation_id)
            self.acted_in[channel] -= 1
        self.flagged.discard(correlation_id)
        self.settled.discard(correlation_id)

    async def _on_record(self, message: Any) -> None:
        record = audit_pb2.AuditRecord()
        try:
            record.ParseFromString(message.data)
        except Exception:
            return
        cid = record.correlation_id
        channel = self.channel_of.get(cid)
        if channel is None:
            return
        if record.step == audit_pb2.LIFECYCLE_STEP_SCANNED and cid not in self.scanned:
            self.scanned.add(cid)
            self.scanned_in[channel] += 1
            counts = self.kinds.setdefault(channel, Counter())
            counts.update(e.entity_type for e in record.findings)
            if record.verdict in (detection_pb2.VERDICT_DELETE, detection_pb2.VERDICT_NOTIFY):
                self.flagged.add(cid)
        elif record.step in (audit_pb2.LIFECYCLE_STEP_DELETED, audit_pb2.LIFECYCLE_STEP_NOTIFIED):
            if cid not in self.acted:
                self.acted.add(cid)
                self.acted_in[channel] += 1
        elif record.step in (audit_pb2.LIFECYCLE_STEP_DEAD_LETTERED, audit_pb2.LIFECYCLE_STEP_IGNORED):
            self.settled.add(cid)  # nothing more to wait for
        self.changed.set()

    @property
    def following(self) -> bool:
        return self._subscription is not None

    def pending(self) -> int:
        """Submitted messages still on their way: not scanned yet, or flagged and
        not yet acted on (nor given up)."""
        waiting = (set(self.channel_of) - self.scanned) | (self.flagged - self.acted)
        return len(waiting - self.settled)

    def fill_channel(self, channel: str, tally: ChannelTally) -> None:
        tally.scanned = self.scanned_in[channel]
        tally.acted_on = self.acted_in[channel]
        tally.kinds = Counter(self.kinds.get(channel, {}))

    def fill(self, summary: SweepSummary) -> None:
        for channel, tally in summary.channels.items():
            self.fill_channel(channel, tally)

    async def wait(self, timeout: float, on_change: Callable[[], None] | None = None) -> None:
        deadline = time.monotonic() + timeout
        while self.pending() and self.following:
            if on_change is not None:
                on_change()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(remaining, 1.0))

    async def stop(self) -> None:
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()


# ---- the sweep ---------------------------------------------------------------------------


async def wait_for_room(js: JetStreamContext, limit: int) -> None:
    """Pause while more than ``limit`` swept messages wait for detection."""
    while True:
        try:
            info = await js.consumer_info(STREAM_EVENTS, BULK_CONSUMER)
        except (NotFoundError, Exception):  # detection not started yet: its consumer will come
            return
        if (info.num_pending or 0) + (info.num_ack_pending or 0) <= limit:
            return
        await asyncio.sleep(BACKLOG_POLL_SECONDS)


def handler_submit(js: JetStreamContext, policy: Policy, max_delay: float) -> Submit:
    """Ingest's own handler, for a sweep run outside the ingest stage (the CLI)."""
    from piiguard.ingest.handler import IngestHandler

    handler = IngestHandler(js, lambda _workspace: policy, max_delay=max_delay)

    async def submit(event: event_pb2.Event) -> ingest_pb2.SubmitEventResponse:
        return await handler.submit(event, "sweep", source="sweep")

    return submit


async def workspace_of(client: AsyncWebClient, policy: Policy, workspace: str) -> str:
    if workspace:
        return workspace
    if policy.workspace.team_id:
        return policy.workspace.team_id
    answer = await client.auth_test()
    return str(answer.get("team_id") or "")


async def run_sweep(
    settings: Settings,
    policy: Policy,
    channels: Sequence[str],
    oldest: str,
    *,
    js: JetStreamContext,
    workspace: str = "",
    job: str = "backfill",
    slack: AsyncWebClient | None = None,
    submit: Submit | None = None,
    progress: SweepProgress | None = None,
    wait: float = 0.0,
) -> SweepSummary:
    """Sweep ``channels`` (empty: every channel the bot is a member of) from now
    back to ``oldest`` (a Slack ts), submitting each message into the bulk lane.

    ``job``: the name its durable progress is kept under (``backfill`` for the
    command, e.g. ``reconcile`` for the scheduled sweep): an unfinished sweep of the
    same job and channel resumes where it stopped. ``workspace``: the team id
    (default: the policy's, else ``auth.test``'s). ``slack``: a client (default: the
    bot token's, ``SLACK_API_URL``). ``submit``: how an event enters the pipeline
    (default: ingest's handler on ``js``; the ingest stage passes its own).
    ``wait``: seconds to wait, at the end, for detection to record the scans
    (``scanned``/``acted_on`` in the summary; 0: do not wait)."""
    started = time.monotonic()
    client = slack or history_client(settings.slack_bot_token.get_secret_value().strip(),
                                     settings.slack_api_url)
    team = await workspace_of(client, policy, workspace)
    summary = SweepSummary(workspace=team, oldest=oldest)
    submit = submit or handler_submit(js, policy, settings.events_max_age)
    store = ProgressStore(js)
    pacer = Pacer(settings.sweep_slack_rpm)
    outcomes = Outcomes(js)
    if wait > 0 or progress is not None:  # only then are scans and actions counted
        await outcomes.start()
    try:
        names = list(dict.fromkeys(channels)) or await member_channels(client)
        for channel in names:
            if not policy.watches(channel):
                continue
            tally = ChannelTally()
            summary.channels[channel] = tally
            await _sweep_channel(client, js, store, pacer, outcomes, submit, settings, team,
                                 job, channel, oldest, tally, progress)

        def refresh() -> None:
            outcomes.fill(summary)
            if progress is not None:
                for name, tally in summary.channels.items():
                    progress.update(name, tally)

        await outcomes.wait(wait, refresh)
        outcomes.fill(summary)
        summary.pending = outcomes.pending() if outcomes.following else 0
    finally:
        await outcomes.stop()
    summary.seconds = time.monotonic() - started
    log.info("sweep %s of %s: %s", job, team, json.dumps(summary.line()))
    return summary


async def _sweep_channel(
    client: AsyncWebClient, js: JetStreamContext, store: ProgressStore, pacer: Pacer,
    outcomes: Outcomes, submit: Submit, settings: Settings, team: str, job: str, channel: str,
    oldest: str, tally: ChannelTally, progress: SweepProgress | None,
) -> None:
    key = progress_key(job, team, channel)
    saved = await store.load(key)
    point = resume_point(saved, oldest, f"{time.time():.6f}")
    tally.resumed = saved is not None and not saved.done and bool(saved.reached)
    tally.read, tally.submitted = point.read, point.submitted
    tally.skipped, tally.ignored = point.skipped, point.ignored
    if progress is not None:
        progress.channel_started(channel, tally)
    batch: list[HistoryMessage] = []
    reached = ""  # the last top-level message whose whole thread is in `batch` or before

    async def flush(upto: str) -> None:
        await wait_for_room(js, settings.sweep_backlog)
        for message in batch:
            event = sweep_event(team, message)
            # Expected before it is submitted: detection may record its scan before
            # the submit returns, and a record for an unknown id is not counted.
            outcomes.expect(event.event_id, channel)
            try:
                response = await submit(event)
            except BaseException:
                outcomes.forget(event.event_id)
                raise
            if response.status != ingest_pb2.SUBMIT_STATUS_ACCEPTED:
                outcomes.forget(event.event_id)
            if response.status == ingest_pb2.SUBMIT_STATUS_ACCEPTED:
                tally.submitted += 1
            elif response.status == ingest_pb2.SUBMIT_STATUS_DUPLICATE:
                tally.skipped += 1
            else:
                tally.ignored += 1
        batch.clear()
        if upto:
            point.reached = upto
        point.read, point.submitted = tally.read, tally.submitted
        point.skipped, point.ignored = tally.skipped, tally.ignored
        await store.save(key, point)
        if progress is not None:
            outcomes.fill_channel(channel, tally)
            progress.update(channel, tally)

    try:
        async for message in channel_messages(client, channel, oldest=point.oldest,
                                              latest=point.reached or point.latest, pace=pacer):
            top_level = not message.is_reply
            if top_level:
                if len(batch) >= BATCH:
                    await flush(reached)
                reached = message.ts
            tally.read += 1
            if scannable(message):
                batch.append(message)
        await flush(reached)
    except SlackApiError as exc:
        tally.error = str(exc.response.get("error") or "slack_error")[:64]
        log.warning("sweep: channel %s not read: %s", channel, tally.error)
        if batch:
            await flush("")
        if progress is not None:
            progress.channel_done(channel, tally)
        return
    point.done = True
    await store.save(key, point)
    if progress is not None:
        progress.channel_done(channel, tally)
