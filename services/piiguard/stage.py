"""A stage's life, the same for every stage: start, read its policies, run its
consumers per workspace, serve gRPC and health, stop.

A stage (ingest, detection, action; a new source such as Notion or Slack's
Socket Mode next) is a :class:`StageDefinition`: its name, its gRPC port, the
secrets it needs, and a ``build`` function that turns a :class:`StageContext`
(settings, JetStream, policies, credentials) into :class:`StageParts` — its gRPC
servicers, the stream it consumes (if any) and its handler, and what it must
start and stop of its own (ingest's HTTP site, action's Slack sessions). This
module does the rest, in this order::

    settings ─► logging, tracing, CPU priority ─► local policy ─► NATS + topology
      ─► policy store (file, or the operator's bucket) ─► credentials ─► build
      ─► gRPC + health ─► consumers (one, or one per workspace) ─► own start
      ─► "<stage>: ..." ready line ─► … SIGTERM …
      ─► own stop (stop taking work) ─► consumers drain ─► gRPC ─► own close
      ─► policy store ─► NATS

Where policies come from: locally (``PIIGUARD_POLICY_SOURCE=file``, the default)
the ``--policy`` file or the built-in policy, and one durable consumer
(``detection`` / ``action``) over every workspace's subject. In a cluster
(``kv``) the ``piiguard-policies`` bucket the ``PiiPolicy`` operator writes, and
one durable consumer ``<stage>-<ws>`` per workspace (created by the operator)
with its own concurrency, retries and pause state, so one workspace cannot
starve another: :class:`WorkspaceWorkers` runs one worker per published policy
and follows the bucket (a new policy starts a worker, a changed one updates its
settings, a removed one stops it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from piiguard import logs, metrics, settings, telemetry
from piiguard.audit import AuditTrail
from piiguard.errors import ConfigError, PolicyError
from piiguard.grpcserver import GrpcServer, Registration
from piiguard.jetstream import (
    ALL_BULK,
    ALL_EVENTS,
    ALL_VERDICTS,
    BUCKET_JOBS,
    BUCKET_NOTION,
    BUCKET_POLICIES,
    BUCKET_SEEN,
    BULK_CONSUMER,
    JOB_ACK_WAIT_SECONDS,
    JOB_MAX_ATTEMPTS,
    STREAM_AUDIT,
    STREAM_DLQ,
    STREAM_EVENTS,
    STREAM_SCHEDULES,
    STREAM_VERDICTS,
    Retention,
    connect,
    ensure_topology,
    job_consumer,
    wait_for_streams,
)
from piiguard.kube import SecretsApi
from piiguard.policy import Policy, QueueSettings, load_policy
from piiguard.policy_store import (
    KvPolicyStore,
    PolicyStore,
    Stage,
    StaticPolicyStore,
    consumer_name,
    stream_for,
    subject_for,
)
from piiguard.schedules import Job
from piiguard.security.natsauth import auth_from_settings
from piiguard.security.tls import TlsSettings
from piiguard.settings import Settings
from piiguard.slack_credentials import (
    CredentialSource,
    EnvCredentials,
    KubernetesSecrets,
    PolicyCredentials,
    ProjectedCredentials,
    own_namespace,
)
from piiguard.stream_worker import ConsumerSpec, LiveFirst, StreamWorker, ensure_consumer
from piiguard.tasks import cancel_and_wait, gather_all
from piiguard.v1 import event_pb2

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Consumes:
    """The stream a stage consumes, and what it does with each message."""

    stage: Stage  # "detection" consumes PIIGUARD_EVENTS, "action" PIIGUARD_VERDICTS
    decode: Callable[[bytes], Any]
    event_of: Callable[[Any], event_pb2.Event]
    handle: Callable[[Any], Awaitable[object]]


@dataclass(frozen=True)
class RunsJob:
    """A scheduled job the stage runs (docs/schedules.md): each fired
    ``piiguard.jobs.<job>.<ws>`` is handed to ``handle`` through the same worker,
    retries and dead letters as the stage's stream."""

    job: str  # "sweep", "digest", "tokencheck"
    handle: Callable[[Job], Awaitable[object]]


@dataclass(frozen=True)
class StageParts:
    """What a stage brings of its own; everything else is this module's."""

    registrations: Sequence[Registration]
    consumes: Consumes | None = None
    jobs: Sequence[RunsJob] = ()
    start: Hook = _nothing  # after gRPC and consumers are up (e.g. open the HTTP site)
    stop_taking_work: Hook = _nothing  # first on shutdown (e.g. close the HTTP site)
    close: Hook = _nothing  # after consumers drained (e.g. close Slack sessions)
    ready_line: Callable[[int], str] | None = None  # printed with the gRPC port once up


@dataclass
class StageContext:
    """What a stage's ``build`` is given."""

    name: str
    config: Settings
    local_policy: Policy
    nc: NATS
    store: PolicyStore
    credentials: CredentialSource
    tls: TlsSettings = field(default_factory=lambda: TlsSettings(plaintext=True))
    _grpc: GrpcServer | None = field(default=None, repr=False)

    @property
    def js(self) -> JetStreamContext:
        return self.nc.jetstream()

    def set_serving(self, serving: bool) -> None:
        """Report the stage (un)healthy on gRPC health, e.g. when Slack refuses a token."""
        if self._grpc is not None:
            asyncio.get_running_loop().create_task(self._grpc.set_serving(serving))


@dataclass(frozen=True)
class StageDefinition:
    name: str
    default_grpc_port: int
    build: Callable[[StageContext], Awaitable[StageParts]]
    # Secrets the stage cannot work without, checked at start in local runs (in a
    # cluster each workspace's PiiPolicy names its own).
    required_secrets: tuple[str, ...] = ()
    # Further checks of the settings before anything starts (raise ConfigError: exit 2),
    # e.g. ingest in Socket Mode needs an app-level token.
    check: Callable[[Settings], None] | None = None
    # Work before taking any (e.g. load the detection model) — given the local policy.
    prepare: Callable[[Policy], Awaitable[None]] | None = None
    description: str = ""


# ---- policies and credentials --------------------------------------------------------


async def open_policy_store(js: JetStreamContext, local_policy: Policy, config: Settings) -> PolicyStore:
    if config.cluster_mode:
        store = KvPolicyStore()
        await store.start(js)
        log.info("policies from the operator's bucket: %d workspace(s)", len(store.policies))
        return store
    return StaticPolicyStore(local_policy)


def credential_source(store: PolicyStore, config: Settings) -> CredentialSource:
    """Slack credentials: the environment's, or in a cluster the Secrets each
    workspace's PiiPolicy references (the environment's when it references none)."""
    if config.cluster_mode and isinstance(store, KvPolicyStore):
        if config.credentials_secret:  # least privilege: only this stage's projected Secret
            return ProjectedCredentials(store, KubernetesSecrets(SecretsApi(config)),
                                        own_namespace(config), config.credentials_secret,
                                        EnvCredentials(config))
        return PolicyCredentials(store, KubernetesSecrets(SecretsApi(config)), EnvCredentials(config))
    return EnvCredentials(config)


def queue_settings(policy: Policy, stage: Stage) -> QueueSettings:
    return policy.queues.detection if stage == "detection" else policy.queues.action


# ---- consumers -------------------------------------------------------------------------

WorkerFactory = Callable[[ConsumerSpec], StreamWorker[Any]]
_EVERY_WORKSPACE: dict[Stage, str] = {"detection": ALL_EVENTS, "action": ALL_VERDICTS}


class LocalWorkers:
    """One durable consumer over every workspace, created by the stage itself."""

    def __init__(self, js: JetStreamContext, stage: Stage, policy: Policy, make: WorkerFactory) -> None:
        # Durable "detection" / "action" over every workspace's subject.
        self.spec = ConsumerSpec(stream_for(stage), stage, _EVERY_WORKSPACE[stage],
                                 queue_settings(policy, stage))
        self.js = js
        self.worker = make(self.spec)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await ensure_consumer(self.js, self.spec)
        self._task = asyncio.create_task(self.worker.run())

    @property
    def busy(self) -> bool:
        return self.worker.busy

    async def stop(self) -> None:
        await self.worker.stop()
        if self._task:
            await self._task


class WorkspaceWorkers:
    """One worker per workspace policy in the bucket, bound to the operator's consumers."""

    def __init__(self, stage: Stage, store: KvPolicyStore, make: WorkerFactory) -> None:
        self.stage = stage
        self.store = store
        self.make = make
        self._workers: dict[str, tuple[StreamWorker[Any], asyncio.Task[None]]] = {}
        self._lock = asyncio.Lock()

    @property
    def workspaces(self) -> list[str]:
        return sorted(self._workers)

    async def start(self) -> None:
        self.store.add_listener(lambda _key, _policy: self.sync())
        await self.sync()

    async def sync(self) -> None:
        async with self._lock:
            policies = self.store.policies
            for key, policy in policies.items():
                spec = ConsumerSpec(stream_for(self.stage), consumer_name(self.stage, key),
                                    subject_for(self.stage, key), queue_settings(policy, self.stage),
                                    workspace=key)
                running = self._workers.get(key)
                if running is None:
                    worker = self.make(spec)
                    self._workers[key] = (worker, asyncio.create_task(worker.run()))
                    log.info("%s: serving workspace %s", self.stage, key)
                elif running[0].spec != spec:
                    running[0].spec = spec  # new settings apply to the next fetch
            for key in set(self._workers) - set(policies):
                worker, task = self._workers.pop(key)
                await worker.stop()
                await task
                log.info("%s: workspace %s removed", self.stage, key)

    @property
    def busy(self) -> bool:
        return any(worker.busy for worker, _ in self._workers.values())

    async def stop(self) -> None:
        async with self._lock:
            for worker, task in self._workers.values():
                await worker.stop()
                await task
            self._workers.clear()


class BulkLane:
    """Detection's second consumer: ``detection-bulk`` over every workspace's bulk
    lane (``piiguard.events.*.bulk``, swept history), one message at a time, served
    only while the live consumers are idle and at most ``PIIGUARD_SWEEP_RATE`` a
    second (:class:`LiveFirst`). Created by detection itself, locally and in a
    cluster alike (its filter never overlaps a live consumer's)."""

    def __init__(self, js: JetStreamContext, policy: Policy, make: WorkerFactory,
                 live: LocalWorkers | WorkspaceWorkers, rate: float) -> None:
        settings = queue_settings(policy, "detection").model_copy(update={"concurrency": 1})
        self.spec = ConsumerSpec(STREAM_EVENTS, BULK_CONSUMER, ALL_BULK, settings, workspace="bulk")
        self.js = js
        self.worker = make(self.spec)
        self.worker.gate = LiveFirst(rate, lambda: live.busy)
        self._task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return self.worker.busy

    async def start(self) -> None:
        await ensure_consumer(self.js, self.spec)
        self._task = asyncio.create_task(self.worker.run())

    async def stop(self) -> None:
        await self.worker.stop()
        if self._task:
            await self._task


class Lanes:
    """A stage's live consumers and, for detection, the bulk lane behind them."""

    def __init__(self, live: LocalWorkers | WorkspaceWorkers, bulk: BulkLane | None) -> None:
        self.live = live
        self.bulk = bulk

    async def stop(self) -> None:
        if self.bulk is not None:
            await self.bulk.stop()
        await self.live.stop()


async def start_consumers(ctx: StageContext, consumes: Consumes,
                          make: WorkerFactory | None = None) -> Lanes:
    """The stage's consumers: one locally, one per workspace in a cluster; for
    detection also the bulk lane (:class:`BulkLane`)."""
    audit = AuditTrail(ctx.js, consumes.stage)

    def make_worker(spec: ConsumerSpec) -> StreamWorker[Any]:
        return StreamWorker(js=ctx.js, stage=consumes.stage, spec=spec, decode=consumes.decode,
                            event_of=consumes.event_of, handle=consumes.handle, audit=audit)

    workers: LocalWorkers | WorkspaceWorkers
    if ctx.config.cluster_mode and isinstance(ctx.store, KvPolicyStore):
        workers = WorkspaceWorkers(consumes.stage, ctx.store, make or make_worker)
    else:
        workers = LocalWorkers(ctx.js, consumes.stage, ctx.local_policy, make or make_worker)
    await workers.start()
    bulk = None
    if consumes.stage == "detection":
        bulk = BulkLane(ctx.js, ctx.local_policy, make or make_worker, workers, ctx.config.sweep_rate)
        await bulk.start()
    return Lanes(workers, bulk)


class JobWorkers:
    """One worker per job the stage runs, bound to the job's durable consumer
    (created with the topology, one for every workspace): whichever replica fetches
    a fired job runs it, once."""

    def __init__(self, ctx: StageContext, jobs: Sequence[RunsJob]) -> None:
        audit = AuditTrail(ctx.js, ctx.name)
        settings = QueueSettings(concurrency=1, max_attempts=JOB_MAX_ATTEMPTS, backoff=(30.0, 120.0),
                                 ack_wait=JOB_ACK_WAIT_SECONDS)
        self._workers: list[StreamWorker[Job]] = [
            StreamWorker(js=ctx.js, stage=ctx.name,
                         spec=ConsumerSpec(STREAM_SCHEDULES, job_consumer(runs.job),
                                           f"piiguard.jobs.{runs.job}.*", settings,
                                           workspace=job_consumer(runs.job)),
                         decode=Job.decode, event_of=Job.event, handle=runs.handle, audit=audit,
                         stamp=lambda job, delivery: job.fired_as(delivery.sequence))
            for runs in jobs
        ]
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(worker.run()) for worker in self._workers]

    async def stop(self) -> None:
        for worker in self._workers:
            await worker.stop()
        for task in self._tasks:
            await task


# ---- the life ----------------------------------------------------------------------------


# The streams a stage reads or writes, which must exist before it starts work.
STREAMS_OF: dict[str, list[str]] = {
    "ingest": [STREAM_EVENTS, STREAM_AUDIT, f"KV_{BUCKET_NOTION}", f"KV_{BUCKET_SEEN}", STREAM_SCHEDULES,
               f"KV_{BUCKET_JOBS}"],
    "detection": [STREAM_EVENTS, STREAM_VERDICTS, STREAM_DLQ, STREAM_AUDIT],
    "action": [STREAM_VERDICTS, STREAM_DLQ, STREAM_AUDIT, STREAM_SCHEDULES, f"KV_{BUCKET_JOBS}"],
}


async def connect_jetstream(name: str, config: Settings, local_policy: Policy | None = None) -> NATS:
    """Connect to NATS_URL with this component's own NATS account and make sure the
    shared topology exists, with the retention the settings and the local policy
    give (the operator applies the same rule in a cluster: :meth:`Retention.for_policies`).

    With its own account a stage may not manage streams (docs/security.md): the
    operator, or ``piiguard up`` acting as it, provisions them; the stage waits for them."""
    auth = auth_from_settings(config, name)
    nc = await connect(config.nats_servers, name=f"piiguard-{name}", auth=auth)
    if auth.authenticated:
        streams = STREAMS_OF.get(name, [])
        if config.cluster_mode:  # the operator's policies bucket, created at its start
            streams = [*streams, f"KV_{BUCKET_POLICIES}"]
        await wait_for_streams(nc.jetstream(), streams)
        return nc
    retention = Retention.from_settings(config).for_policies([local_policy] if local_policy else [])
    # In a cluster the operator owns stream retention: create what is missing only.
    await ensure_topology(nc.jetstream(), retention, update_existing=not config.cluster_mode)
    return nc


async def close_nats(nc: NATS, timeout: float = 5.0) -> None:
    """Flush what was published and close. (Every publish is already awaited for
    its ack, so nothing is lost; ``drain`` can wedge on a cancelled pull fetch.)"""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(nc.flush(), timeout)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(nc.close(), timeout)


async def close_store(store: object) -> None:
    stop = getattr(store, "stop", None)
    if stop is not None:
        with contextlib.suppress(Exception):
            await stop()


async def serve(definition: StageDefinition, stop: asyncio.Event, config: Settings | None = None,
                policy_path: str | None = None) -> None:
    """Run one stage until ``stop`` is set, then shut it down in order, so
    in-flight work finishes or goes back to the stream."""
    config = config or settings.load()
    if not config.cluster_mode:
        config.require(*definition.required_secrets)
    if definition.check is not None:
        definition.check(config)
    grpc_port = config.grpc_port if config.grpc_port is not None else definition.default_grpc_port
    policy = load_policy(policy_path if policy_path is not None else config.policy_path)
    tls = TlsSettings.from_settings(config)  # before the slow start: a bad setting fails fast
    # First: a stage that is slow to start (detection loads its model) is still scraped.
    metrics.initialise(definition.name)
    metrics.serve(config.metrics_port, config.bind_host)
    if definition.prepare is not None:
        await definition.prepare(policy)

    nc = await connect_jetstream(definition.name, config, policy)
    store = await open_policy_store(nc.jetstream(), policy, config)
    ctx = StageContext(definition.name, config, policy, nc, store, credential_source(store, config),
                       tls=tls)
    try:
        parts = await definition.build(ctx)
    except BaseException:
        await close_store(store)
        await close_nats(nc)
        raise
    consumers: Lanes | None = None
    jobs = JobWorkers(ctx, parts.jobs)
    grpc_server: GrpcServer | None = None
    try:
        grpc_server = GrpcServer(grpc_port, parts.registrations, config.bind_host,
                                 component=definition.name, tls=tls)
        ctx._grpc = grpc_server
        await grpc_server.start()
        consumers = await start_consumers(ctx, parts.consumes) if parts.consumes else None
        await jobs.start()
        await parts.start()
    except BaseException:
        # Could not start (a port taken, ...): undo what started, then say why.
        await jobs.stop()
        if consumers is not None:
            await consumers.stop()
        if grpc_server is not None:
            await grpc_server.stop(0)
        await parts.close()
        await close_store(store)
        await close_nats(nc)
        raise
    log.info("%s ready: grpc=%s:%d", definition.name, config.bind_host, grpc_server.port)
    if parts.ready_line is not None:
        print(parts.ready_line(grpc_server.port), flush=True)
    elif parts.consumes is not None:
        print(f"{definition.name}: consuming {stream_for(parts.consumes.stage)}, "
              f"gRPC on :{grpc_server.port}", flush=True)

    await stop.wait()
    shutdown = Shutdown(definition.name, SHUTDOWN_BUDGET_SECONDS)
    await shutdown.step("taking work", parts.stop_taking_work())
    # The job and stream consumers each give in-flight work the same grace, at once.
    await shutdown.step("consumers", gather_all(
        jobs.stop(), consumers.stop() if consumers is not None else asyncio.sleep(0)))
    await shutdown.step("gRPC", grpc_server.stop())
    await shutdown.step("closing", parts.close())
    await shutdown.step("policy store", close_store(store))
    await close_nats(nc)


# Below Kubernetes' default 30-second termination grace and `piiguard up`'s 20: a
# stage that cannot finish a step in time goes on without it (what is unacknowledged
# is redelivered) rather than be killed.
SHUTDOWN_BUDGET_SECONDS = 15.0


class Shutdown:
    """A stage's stop, in order, within one time budget: a step still running when
    the budget is spent is named in one warning (with where it waits), cancelled,
    and the next runs."""

    CANCEL_GRACE = 1.0  # seconds a cancelled step gets to unwind

    def __init__(self, name: str, budget: float) -> None:
        self.name = name
        self.deadline = asyncio.get_running_loop().time() + budget

    async def step(self, what: str, work: Awaitable[object]) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=max(0.5, self.deadline - started))
        if not done:
            # Named before the cancel unwinds it: where the step is stuck.
            log.warning("%s: stopping %s took longer than its budget; going on (waiting in: %s)",
                        self.name, what, waiting_in() or "nothing")
            # A task that ignores its cancel must not hold up the rest of the stop.
            await cancel_and_wait(task, self.CANCEL_GRACE)
            return
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:  # stopping anyway: the rest must still run
            log.warning("%s: stopping %s failed (%s); going on", self.name, what, type(exc).__name__)
        else:
            log.debug("%s: stopped %s in %.1fs", self.name, what, loop.time() - started)


def waiting_in(limit: int = 12) -> str:
    """Where this loop's other tasks are suspended, each as ``outer → inner@file:line``
    (the task's coroutine and the innermost one it awaits): code locations only,
    never values, so safe to log."""
    current = asyncio.current_task()
    places: dict[str, int] = {}
    for task in asyncio.all_tasks():
        if task is current or task.done():
            continue
        outer = inner = None
        awaited: Any = task.get_coro()
        while awaited is not None:  # follow the await chain down to where it waits
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
            if frame is not None:
                outer = outer or frame
                inner = frame
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
        if outer is None or inner is None:
            continue
        place = (f"{outer.f_code.co_qualname} → {inner.f_code.co_qualname}"
                 f"@{os.path.basename(inner.f_code.co_filename)}:{inner.f_lineno}")
        places[place] = places.get(place, 0) + 1
    ranked = sorted(places.items(), key=lambda item: -item[1])[:limit]
    return ", ".join(f"{place} x{count}" if count > 1 else place for place, count in ranked)


def _lower_priority_if_asked(config: Settings) -> None:
    """``PIIGUARD_NICE=n``: run this process at a lower CPU priority. On one host
    (``piiguard up``) detection and action yield to ingest, whose answer races
    Slack's 3-second deadline; in a cluster each has its own pod and CPU request."""
    if config.nice:
        try:
            os.nice(config.nice)
        except OSError as exc:
            log.warning("PIIGUARD_NICE=%d not applied: %s", config.nice, type(exc).__name__)


def run(name: str, main: Callable[[asyncio.Event, Settings], Awaitable[None]]) -> int:
    """Read the settings, then run ``main(stop, settings)`` until SIGTERM/SIGINT sets
    ``stop``; exit 2 on a configuration error, with one line naming the variable."""
    try:
        config = settings.load()
    except ConfigError as exc:
        print(f"piiguard {name}: error: {exc}", file=sys.stderr)
        return 2
    logs.configure(name, config.log_level, config.log_format)
    telemetry.setup_tracing(name, config)
    _lower_priority_if_asked(config)

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await main(stop, config)

    try:
        asyncio.run(runner())
    except (ConfigError, PolicyError) as exc:
        print(f"piiguard {name}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        with contextlib.suppress(Exception):
            telemetry.shutdown_tracing()
    log.info("%s stopped", name)
    return 0


def main(definition: StageDefinition, argv: list[str] | None = None) -> int:
    """``piiguard <stage> [--policy FILE]``: the process of one stage."""
    parser = argparse.ArgumentParser(prog=f"piiguard {definition.name}",
                                     description=definition.description)
    parser.add_argument("--policy", help="policy YAML file (default: built-in policy)")
    args = parser.parse_args(argv)
    return run(definition.name, lambda stop, config: serve(definition, stop, config, args.policy))
