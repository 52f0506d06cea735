"""Where a stage's work comes from: one consumer for everything (local runs), or
one consumer per workspace (a cluster, where the operator creates them).

Local: ``--policy`` file (or the built-in default), one durable consumer
(``detection`` / ``action``) over every workspace's subject.

Cluster (``PIIGUARD_POLICY_SOURCE=kv``): policies come from the
``piiguard-policies`` bucket the ``PiiPolicy`` operator writes, and each
workspace has its own durable consumers ``<stage>-<ws>`` with its own
concurrency, retries and pause state, so one workspace cannot starve another.
:class:`WorkspaceWorkers` runs one worker per published policy and follows the
bucket: a new policy starts a worker, a changed one updates its settings (the
engine is rebuilt for new messages), a removed one stops it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from nats.js import JetStreamContext

from piiguard import config
from piiguard.audit import AuditTrail
from piiguard.credentials import (
    CredentialSource,
    EnvCredentials,
    KubernetesSecrets,
    PolicyCredentials,
)
from piiguard.grpcserver import GrpcServer
from piiguard.policy import Policy, QueueSettings
from piiguard.policy_store import (
    KvPolicyStore,
    PolicyStore,
    Stage,
    StaticPolicyStore,
    consumer_name,
    stream_for,
    subject_for,
)
from piiguard.v1 import event_pb2
from piiguard.worker import ConsumerSpec, StreamWorker, ensure_consumer

log = logging.getLogger(__name__)

POLICY_SOURCE_ENV = "PIIGUARD_POLICY_SOURCE"

WorkerFactory = Callable[[ConsumerSpec], StreamWorker[Any]]


def cluster_mode() -> bool:
    """Policies from the operator's bucket (``kv``) rather than a file (``file``, the default)."""
    source = os.environ.get(POLICY_SOURCE_ENV, "file").strip().lower() or "file"
    if source not in ("file", "kv"):
        raise config.ConfigError(f"{POLICY_SOURCE_ENV} must be 'file' or 'kv', got {source!r}")
    return source == "kv"


async def open_policy_store(js: JetStreamContext, local_policy: Policy) -> PolicyStore:
    if cluster_mode():
        store = KvPolicyStore()
        await store.start(js)
        log.info("policies from the operator's bucket: %d workspace(s)", len(store.policies))
        return store
    return StaticPolicyStore(local_policy)


def credential_source(store: PolicyStore) -> CredentialSource:
    """Slack credentials: the environment's, or in a cluster the Secrets each
    workspace's PiiPolicy references (the environment's when it references none)."""
    if isinstance(store, KvPolicyStore):
        return PolicyCredentials(store, KubernetesSecrets(), EnvCredentials())
    return EnvCredentials()


def queue_settings(policy: Policy, stage: Stage) -> QueueSettings:
    return policy.queues.detection if stage == "detection" else policy.queues.action


class LocalWorkers:
    """One durable consumer over every workspace, created by the stage itself."""

    def __init__(self, js: JetStreamContext, stage: Stage, policy: Policy, make: WorkerFactory,
                 durable: str, filter_subject: str) -> None:
        self.spec = ConsumerSpec(stream_for(stage), durable, filter_subject, queue_settings(policy, stage))
        self.js = js
        self.worker = make(self.spec)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await ensure_consumer(self.js, self.spec)
        self._task = asyncio.create_task(self.worker.run())

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

    async def start(self) -> None:
        self.store.add_listener(lambda _key, _policy: self.sync())
        await self.sync()

    async def sync(self) -> None:
        async with self._lock:
            policies = self.store.policies
            for key, policy in policies.items():
                spec = ConsumerSpec(stream_for(self.stage), consumer_name(self.stage, key),
                                    subject_for(self.stage, key), queue_settings(policy, self.stage))
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

    async def stop(self) -> None:
        async with self._lock:
            for worker, task in self._workers.values():
                await worker.stop()
                await task
            self._workers.clear()


async def start_workers(js: JetStreamContext, stage: Stage, store: PolicyStore, local_policy: Policy,
                        make: WorkerFactory, durable: str,
                        filter_subject: str) -> LocalWorkers | WorkspaceWorkers:
    workers: LocalWorkers | WorkspaceWorkers
    if isinstance(store, KvPolicyStore):
        workers = WorkspaceWorkers(stage, store, make)
    else:
        workers = LocalWorkers(js, stage, local_policy, make, durable, filter_subject)
    await workers.start()
    return workers


async def consume_until_stopped(
    stop: asyncio.Event, *, stage: Stage, js: JetStreamContext, grpc_server: GrpcServer,
    store: PolicyStore, local_policy: Policy, decode: Callable[[bytes], Any],
    event_of: Callable[[Any], event_pb2.Event], handle: Callable[[Any], Awaitable[object]],
    durable: str, filter_subject: str,
) -> None:
    """A consuming stage's life after set-up: serve gRPC, run the stream workers
    until ``stop``, then stop taking work and let in-flight messages finish."""
    await grpc_server.start()
    audit = AuditTrail(js, stage)

    def make_worker(spec: ConsumerSpec) -> StreamWorker[Any]:
        return StreamWorker(js=js, stage=stage, spec=spec, decode=decode, event_of=event_of,
                            handle=handle, audit=audit)

    workers = await start_workers(js, stage, store, local_policy, make_worker, durable, filter_subject)
    log.info("%s ready: grpc=:%d", stage, grpc_server.port)
    print(f"{stage}: consuming {stream_for(stage)}, gRPC on :{grpc_server.port}", flush=True)
    await stop.wait()
    await workers.stop()
    await grpc_server.stop()
