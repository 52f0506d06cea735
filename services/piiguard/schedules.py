"""Scheduled jobs, kept in JetStream itself (docs/schedules.md).

Each workspace's policy names three jobs (``schedules.sweep``, ``.digest``,
``.tokenCheck``). Each enabled one is a *message schedule* in
``PIIGUARD_SCHEDULES`` (nats-server's scheduler, ADR-51): a message on
``piiguard.schedules.<ws>.<job>`` with the headers ``Nats-Schedule`` (the
expression), ``Nats-Schedule-Target`` (``piiguard.jobs.<job>.<ws>``) and, for cron
schedules, ``Nats-Schedule-Time-Zone``; its body is the :class:`Job` to run. The
server puts the body on the target at each time, and the job's one durable
consumer (``jobs-<job>``) hands it to one replica of the component that runs it,
through the same worker, retries and dead letters as every stage. So schedules
survive restarts (they are stored messages), fire once however many replicas run
(one server-side scheduler, one consumer), and need no timer of our own.

:func:`reconcile` writes, replaces or removes a workspace's schedules to match
its policy — the operator calls it when a ``PiiPolicy`` changes, ``piiguard up``
for the local policy. A schedule is rewritten only when it changed, so an
``@every`` interval is not restarted by a reconcile that changes nothing.
:func:`read_schedules` lists them with their next run (``piiguard schedules``).
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

from nats.js import JetStreamContext
from nats.js.api import Header
from nats.js.errors import NotFoundError

from piiguard import schedule_expr
from piiguard.errors import InvalidPayload
from piiguard.jetstream import (
    JOB_RUNNERS,
    SCHEDULE_PREFIX,
    STREAM_SCHEDULES,
    job_subject,
    schedule_subject,
    subject_token,
)
from piiguard.policy import Policy
from piiguard.tasks import gather_all
from piiguard.v1 import event_pb2

log = logging.getLogger(__name__)

# The policy's field of each job (camelCase, as in YAML and the CRD).
POLICY_FIELDS = {"sweep": "sweep", "digest": "digest", "tokencheck": "tokenCheck"}
JOBS = tuple(JOB_RUNNERS)


@dataclass(frozen=True)
class Job:
    """What a fired schedule asks for: ``job`` for ``workspace`` (a subject token;
    ``_``: the local policy's workspace, whichever the tokens belong to);
    ``window``: seconds of history the sweep reads. ``firing``: which firing of
    the schedule this is (the job message's sequence in ``PIIGUARD_SCHEDULES``:
    the same on every redelivery, new at each time the schedule fires; 0 when
    not delivered through the stream); not part of the message."""

    job: str
    workspace: str
    window: float = 0.0
    firing: int = 0

    def encode(self) -> bytes:
        body = asdict(self)
        del body["firing"]
        return json.dumps(body, sort_keys=True).encode()

    def fired_as(self, sequence: int) -> Job:
        """This job as the stream delivered it: ``sequence`` is the job message's
        stream sequence, which names the firing."""
        return replace(self, firing=sequence)

    @classmethod
    def decode(cls, data: bytes) -> Job:
        try:
            raw = json.loads(data)
            job = cls(job=str(raw["job"]), workspace=str(raw["workspace"]),
                      window=float(raw.get("window") or 0.0))
        except (ValueError, TypeError, KeyError, AttributeError):
            raise InvalidPayload("not a scheduled job") from None
        if job.job not in JOB_RUNNERS:
            raise InvalidPayload("not a scheduled job")
        return job

    def event(self) -> event_pb2.Event:
        """The job as the worker's audit and dead letters see it (no text)."""
        return event_pb2.Event(event_id=f"job-{self.job}-{subject_token(self.workspace)}",
                               workspace_id=self.workspace)

    @property
    def team_id(self) -> str:
        """The Slack team id, or "" for the local policy's (whatever its tokens say)."""
        return "" if self.workspace == "_" else self.workspace


@dataclass(frozen=True)
class Definition:
    """One schedule as JetStream holds it."""

    workspace: str
    job: str
    schedule: str  # the Nats-Schedule header
    time_zone: str  # "" for @every
    body: bytes

    @property
    def subject(self) -> str:
        return schedule_subject(self.workspace, self.job)

    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = {Header.SCHEDULE: self.schedule,
                                   Header.SCHEDULE_TARGET: job_subject(self.job, self.workspace)}
        if self.time_zone:
            headers[Header.SCHEDULE_TIME_ZONE] = self.time_zone
        return headers


def workspace_of(policy: Policy) -> str:
    """The subject token a policy's schedules live under (``_`` for a local policy
    that names no workspace)."""
    return subject_token(policy.workspace.team_id)


def desired(policy: Policy, workspace: str | None = None) -> dict[str, Definition]:
    """The schedules a policy asks for, by job (a job that is off is absent), under
    ``workspace`` (default: the policy's own)."""
    workspace = subject_token(workspace) if workspace is not None else workspace_of(policy)
    settings = policy.schedules
    wanted: dict[str, Definition] = {}
    for job, field_name in POLICY_FIELDS.items():
        expression = schedule_expr.parse(settings.expressions()[field_name], f"schedules.{field_name}")
        if expression is None:
            continue
        window = settings.sweep_window if job == "sweep" else 0.0
        wanted[job] = Definition(
            workspace=workspace, job=job, schedule=expression.header,
            time_zone=settings.time_zone if expression.uses_time_zone else "",
            body=Job(job, workspace, window).encode(),
        )
    return wanted


async def current(js: JetStreamContext, workspace: str, job: str) -> Definition | None:
    try:
        raw = await js.get_last_msg(STREAM_SCHEDULES, schedule_subject(workspace, job))
    except NotFoundError:
        return None
    headers = raw.headers or {}
    schedule = headers.get(Header.SCHEDULE)
    if not schedule:
        return None
    return Definition(workspace=workspace, job=job, schedule=schedule,
                      time_zone=headers.get(Header.SCHEDULE_TIME_ZONE, ""), body=raw.data or b"")


async def reconcile(js: JetStreamContext, workspace: str, policy: Policy | None) -> list[str]:
    """Make ``workspace``'s schedules those of ``policy`` (None: the workspace is
    gone, remove them all). Returns what changed, as ``<job> written|removed``.
    The jobs are compared and written concurrently (one round trip or two)."""
    workspace = subject_token(workspace)
    wanted = desired(policy, workspace) if policy is not None else {}

    async def one(job: str) -> str | None:
        want = wanted.get(job)
        have = await current(js, workspace, job)
        if want == have:
            return None
        if want is None:
            try:
                await js.purge_stream(STREAM_SCHEDULES, subject=schedule_subject(workspace, job))
            except NotFoundError:
                pass
            return f"{job} removed"
        await js.publish(want.subject, want.body, stream=STREAM_SCHEDULES, headers=want.headers())
        return f"{job} written"

    changes = [change for change in await gather_all(*(one(job) for job in JOBS)) if change]
    if changes:
        log.info("schedules of %s: %s", workspace, ", ".join(changes))
    return changes


async def stored_workspaces(js: JetStreamContext) -> set[str]:
    """The workspaces that have schedules in JetStream."""
    try:
        info = await js.stream_info(STREAM_SCHEDULES, subjects_filter=f"{SCHEDULE_PREFIX}.*.*")
    except NotFoundError:
        return set()
    return {subject.split(".")[2] for subject in (info.state.subjects or {})}


async def reconcile_only(js: JetStreamContext, policies: Mapping[str, Policy]) -> list[str]:
    """Make the schedules exactly those of ``policies`` (by workspace): the
    workspaces' own, and none of any other (``piiguard up``, one local policy)."""
    changes = []
    wanted = {subject_token(workspace): policy for workspace, policy in policies.items()}
    for workspace in sorted(await stored_workspaces(js) | set(wanted)):
        changes += [f"{workspace} {change}" for change in
                    await reconcile(js, workspace, wanted.get(workspace))]
    return changes


@dataclass(frozen=True)
class Scheduled:
    """A schedule as ``piiguard schedules`` shows it."""

    workspace: str
    job: str
    schedule: str
    time_zone: str
    runs_in: str  # the component that runs it
    written: datetime.datetime | None
    next_run: datetime.datetime | None

    def as_json(self) -> dict[str, object]:
        return {"workspace": self.workspace, "job": self.job, "schedule": self.schedule,
                "timeZone": self.time_zone or None, "runsIn": self.runs_in,
                "written": _iso(self.written), "nextRun": _iso(self.next_run)}


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


async def read_schedules(js: JetStreamContext, *, now: datetime.datetime | None = None) -> list[Scheduled]:
    """Every schedule stored, by workspace and job, with its next run."""
    now = now or datetime.datetime.now(datetime.UTC)
    try:
        info = await js.stream_info(STREAM_SCHEDULES, subjects_filter=f"{SCHEDULE_PREFIX}.*.*")
    except NotFoundError:
        return []
    found = []
    for subject in sorted((info.state.subjects or {}).keys()):
        _, _, workspace, job = subject.split(".", 3)
        try:
            raw = await js.get_last_msg(STREAM_SCHEDULES, subject)
        except NotFoundError:
            continue
        headers = raw.headers or {}
        header = headers.get(Header.SCHEDULE, "")
        zone = headers.get(Header.SCHEDULE_TIME_ZONE, "")
        written = raw.time if isinstance(raw.time, datetime.datetime) else None
        try:
            expression = schedule_expr.parse(header)
            upcoming = (schedule_expr.next_run(expression, zone=zone or "UTC", now=now, since=written)
                        if expression is not None else None)
        except Exception:  # a schedule written by hand that we cannot read
            upcoming = None
        found.append(Scheduled(workspace, job, header, zone, JOB_RUNNERS.get(job, "?"), written,
                               upcoming))
    return found
