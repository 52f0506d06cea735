"""The stage lifecycle (``piiguard.stage``) with a stage of the test's own: it starts in
order, consumes, follows the operator's bucket per workspace, and stops in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest_asyncio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.js import JetStreamContext

from piiguard import settings, stage
from piiguard.contracts import decode_event
from piiguard.jetstream import HEADER_MSG_ID, STREAM_EVENTS, connect, ensure_topology, events_subject
from piiguard.natsserver import NatsServer
from piiguard.policy import DEFAULT_POLICY, Policy, WorkspaceRef
from piiguard.policy_store import KvPolicyStore
from piiguard.v1 import event_pb2
from piiguard_operator import reconcile


@pytest_asyncio.fixture
async def server(tmp_path: Path) -> AsyncIterator[NatsServer]:
    with NatsServer(tmp_path / "nats") as nats_server:
        yield nats_server


def event(n: int, workspace: str = "T1") -> event_pb2.Event:
    return event_pb2.Event(event_id=f"Ev{n}", workspace_id=workspace, channel_id="C1", ts=f"{n}.0",
                           text="hello")


async def publish(js: JetStreamContext, e: event_pb2.Event) -> None:
    await js.publish(events_subject(e.workspace_id), e.SerializeToString(), stream=STREAM_EVENTS,
                     headers={HEADER_MSG_ID: e.event_id})


class Recorder:
    """A stage of the test's own: records what it is asked to do, in order."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.handled: list[str] = []
        self.grpc_port = 0
        self.ready = asyncio.Event()
        self.seen = asyncio.Event()

    async def handle(self, e: event_pb2.Event) -> None:
        self.handled.append(e.event_id)
        self.seen.set()

    async def build(self, ctx: stage.StageContext) -> stage.StageParts:
        self.steps.append(f"build:{'kv' if ctx.config.cluster_mode else 'file'}")

        async def start() -> None:
            self.steps.append("start")

        async def stop_taking_work() -> None:
            self.steps.append("stop taking work")

        async def close() -> None:
            self.steps.append("close")

        def ready(port: int) -> str:
            self.grpc_port = port
            self.ready.set()
            return f"recorder: gRPC on :{port}"

        return stage.StageParts(registrations=[], start=start, stop_taking_work=stop_taking_work,
                                close=close, ready_line=ready,
                                consumes=stage.Consumes("detection", decode_event, lambda e: e,
                                                        self.handle))

    def definition(self) -> stage.StageDefinition:
        async def prepare(_: Policy) -> None:
            self.steps.append("prepare")

        return stage.StageDefinition("recorder", 0, self.build, prepare=prepare)


async def health(port: int) -> int:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        answer = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
        return int(answer.status)


async def test_a_stage_starts_serves_consumes_and_stops_in_order(server: NatsServer) -> None:
    recorder = Recorder()
    config = settings.load({"NATS_URL": server.url, "PIIGUARD_GRPC_PORT": "0",
                            "PIIGUARD_INSECURE_PLAINTEXT": "true"})
    stop = asyncio.Event()
    task = asyncio.create_task(stage.serve(recorder.definition(), stop, config))
    await asyncio.wait_for(recorder.ready.wait(), 30)
    assert await health(recorder.grpc_port) == health_pb2.HealthCheckResponse.SERVING
    nc = await connect(server.url, name="stage-test")
    try:
        await publish(nc.jetstream(), event(1))
        await asyncio.wait_for(recorder.seen.wait(), 10)
        stop.set()
        await asyncio.wait_for(task, 30)
        assert recorder.handled == ["Ev1"]
        assert recorder.steps == ["prepare", "build:file", "start", "stop taking work", "close"]
        info = await nc.jetstream().consumer_info(STREAM_EVENTS, "detection")
        assert info.num_ack_pending == 0 and info.num_pending == 0
    finally:
        await nc.close()


async def test_in_a_cluster_a_stage_follows_the_workspaces_the_operator_publishes(server: NatsServer) -> None:
    nc = await connect(server.url, name="stage-kv-test")
    js = nc.jetstream()
    await ensure_topology(js)
    t1 = DEFAULT_POLICY.model_copy(update={"workspace": WorkspaceRef(team_id="T1")})
    t2 = DEFAULT_POLICY.model_copy(update={"workspace": WorkspaceRef(team_id="T2")})
    await reconcile.apply_policy(js, t1)
    recorder = Recorder()
    config = settings.load({"NATS_URL": server.url, "PIIGUARD_POLICY_SOURCE": "kv"})
    store = KvPolicyStore()
    await store.start(js)
    ctx = stage.StageContext("recorder", config, DEFAULT_POLICY, nc, store,
                             stage.credential_source(store, config))
    parts = await recorder.build(ctx)
    assert parts.consumes is not None
    lanes = await stage.start_consumers(ctx, parts.consumes)
    workers = lanes.live
    try:
        assert isinstance(workers, stage.WorkspaceWorkers) and workers.workspaces == ["T1"]
        await reconcile.apply_policy(js, t2)
        assert await store.wait_for(lambda s: s.policy_for("T2") is not None, 10)
        await _eventually(lambda: workers.workspaces == ["T1", "T2"])
        await publish(js, event(2, "T2"))
        await asyncio.wait_for(recorder.seen.wait(), 10)
        assert recorder.handled == ["Ev2"]
        await reconcile.remove_workspace(js, "T1")
        await _eventually(lambda: workers.workspaces == ["T2"])
    finally:
        await lanes.stop()
        await store.stop()
        await nc.close()


async def _eventually(probe: object, timeout: float = 10.0) -> None:
    assert callable(probe)
    deadline = asyncio.get_running_loop().time() + timeout
    while not probe():
        assert asyncio.get_running_loop().time() < deadline, "condition not met"
        await asyncio.sleep(0.02)
