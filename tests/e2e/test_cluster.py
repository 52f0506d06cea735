"""Replicated JetStream, proven on a real cluster: three nats-servers clustered on
loopback (routes, JetStream on each, every stream and bucket with three replicas),
the real pipeline connected through a comma-separated NATS_URL, and under load a
member SIGKILLed — the leader of the events stream, a member that leads nothing
of it, and one whose data directory is wiped before it rejoins (then it must hold
its share: the leader is killed next). Every accepted event is acted on exactly
once, nothing clean is touched, and the pipeline recovers on its own.

The event-to-delete latency (first POST to the Slack stand-in's chat.delete) is
printed for the events posted around the failover and for those before it:

    python -m pytest tests/e2e/test_cluster.py -s -q
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import random
import statistics
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import nats
import nats.js.errors
import pytest

from piiguard import jetstream
from piiguard.jetstream import (
    BUCKET_ACTIONS,
    BUCKET_POLICIES,
    STREAM_AUDIT,
    STREAM_DLQ,
    STREAM_EVENTS,
    STREAM_VERDICTS,
    Retention,
    events_subject,
)
from piiguard.natsserver import NatsCluster
from piiguard_operator import reconcile
from tests.support import slack_events
from tests.support.pipeline import Pipeline
from tests.support.slack_standin import SlackStandIn

from .conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

EVENTS = 150  # per scenario: a few hundred in all
SEND_SECONDS = 12.0
SENDERS = 4
POLICY = """
queues:
  detection: {concurrency: 8, maxAttempts: 12, backoff: ["200ms", "500ms", "1s", "2s"], ackWait: 5s}
  action: {concurrency: 8, maxAttempts: 12, backoff: ["200ms", "500ms", "1s", "2s"], ackWait: 5s}
"""
STREAMS = (STREAM_EVENTS, STREAM_VERDICTS, STREAM_DLQ, STREAM_AUDIT, f"KV_{BUCKET_ACTIONS}")
_batch = itertools.count(1)


def card(rng: random.Random) -> str:
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = sum((d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 == 0 else d
                for i, d in enumerate(reversed(digits)))
    digits.append((10 - total % 10) % 10)
    raw = "".join(map(str, digits))
    return " ".join(raw[i:i + 4] for i in range(0, 16, 4))


@dataclass
class Load:
    """One scenario's events and what happened to them."""

    channel: str
    events: list[tuple[dict[str, Any], bool]]  # (payload, has PII)
    first_post: dict[str, float] = field(default_factory=dict)  # ts -> time.time()
    accepted: set[str] = field(default_factory=set)
    refused: int = 0
    disrupted_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def pii(self) -> set[tuple[str, str]]:
        return {(self.channel, p["event"]["ts"]) for p, has in self.events if has}


def plan(channel: str, count: int, seed: int) -> Load:
    rng = random.Random(seed)
    events = []
    for i in range(count):
        pii = i % 3 != 2
        text = f"my card is {card(rng)} exp 04/29" if pii else f"standup moved to 10:{i % 60:02d}, same room"
        events.append((slack_events.message_event(text, channel=channel, user=f"U{i % 40:03d}"), pii))
    return Load(channel, events)


def send_until_accepted(pipeline: Pipeline, payload: dict[str, Any], load: Load, deadline: float) -> None:
    """What Slack does: retry (X-Slack-Retry-Num) until a 2xx."""
    attempt = 0
    ts = payload["event"]["ts"]
    while time.monotonic() < deadline:
        body, headers = slack_events.signed(pipeline.signing_secret, payload, retry_num=attempt or None)
        request = urllib.request.Request(pipeline.events_url, data=body, headers=headers, method="POST")
        with load.lock:
            load.first_post.setdefault(ts, time.time())
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    with load.lock:
                        load.accepted.add(payload["event_id"])
                    return
        except (urllib.error.URLError, OSError, TimeoutError):
            pass
        with load.lock:
            load.refused += 1
        attempt += 1
        time.sleep(0.2)
    raise AssertionError(f"event {payload['event_id']} never accepted")


def run_load(pipeline: Pipeline, load: Load, disrupt: Callable[[], None], at: float = 0.3) -> None:
    """Send ``load`` paced over SEND_SECONDS; call ``disrupt`` once ``at`` of it is sent."""
    work = [payload for payload, _ in load.events]
    interval = SEND_SECONDS / len(work)
    start = time.monotonic()
    deadline = start + 240
    slots = iter(range(len(work)))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            while True:
                with lock:
                    index = next(slots, None)
                if index is None:
                    return
                time.sleep(max(0.0, start + index * interval - time.monotonic()))
                send_until_accepted(pipeline, work[index], load, deadline)
        except BaseException as exc:
            errors.append(exc)

    def disruptor() -> None:
        time.sleep(SEND_SECONDS * at)
        load.disrupted_at = time.time()
        disrupt()

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
    chaos = threading.Thread(target=disruptor, daemon=True)
    for thread in [*threads, chaos]:
        thread.start()
    for thread in [*threads, chaos]:
        thread.join()
    assert not errors, errors


def settle_and_check(pipeline: Pipeline, slack: SlackStandIn, load: Load, label: str) -> None:
    """Every PII event deleted and its author DM'd exactly once; nothing clean touched;
    every stage's consumer drained. Prints the event-to-delete latency."""
    assert load.accepted == {p["event_id"] for p, _ in load.events}
    mine = lambda: {k for k in slack.deleted_messages() if k[0] == load.channel}  # noqa: E731
    wait_for(lambda: load.pii <= mine(), timeout=180, interval=0.5)
    wait_for(lambda: len([n for n in slack.notices() if n.get("channel") == load.channel]) >= len(load.pii),
             timeout=120, interval=0.5)
    wait_for(pipeline.drained, timeout=120, interval=0.5)  # nothing left that could still act
    assert mine() == load.pii  # nothing clean deleted, nothing missed
    notices = collections.Counter((n["channel"], n["ts"]) for n in slack.notices()
                                  if n.get("channel") == load.channel)
    assert set(notices) == load.pii
    assert {k: v for k, v in notices.items() if v != 1} == {}  # each DM exactly once
    report_latency(slack, load, label)


def report_latency(slack: SlackStandIn, load: Load, label: str) -> None:
    deleted_at: dict[str, float] = {}
    for call in slack.calls("chat.delete"):
        if call.args.get("channel") == load.channel:
            deleted_at.setdefault(str(call.args.get("ts")), call.at)
    latencies = {ts: deleted_at[ts] - load.first_post[ts] for _, ts in load.pii}
    window = [v for ts, v in latencies.items()
              if load.disrupted_at - 1.0 <= load.first_post[ts] <= load.disrupted_at + 10.0]
    before = [v for ts, v in latencies.items() if load.first_post[ts] < load.disrupted_at - 1.0]

    def stats(values: list[float]) -> str:
        if not values:
            return "none"
        ordered = sorted(values)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        return (f"n={len(values)} p50={statistics.median(values):.2f}s p99={p99:.2f}s "
                f"max={ordered[-1]:.2f}s")

    print(f"\ncluster {label}: event-to-delete latency — before the kill: {stats(before)}; "
          f"posted within [-1s, +10s] of the kill: {stats(window)}; "
          f"{load.refused} refused/failed posts retried")


# ---- the cluster ------------------------------------------------------------------


async def _stream_clusters(pipeline: Pipeline) -> dict[str, Any]:
    nc = await nats.connect(pipeline.nats.url.split(","), connect_timeout=2, max_reconnect_attempts=2,
                            **pipeline.nats_auth().connect_options())
    try:
        js = nc.jetstream()
        return {stream: (await js.stream_info(stream)).cluster for stream in STREAMS}
    finally:
        await nc.close()


def stream_clusters(pipeline: Pipeline) -> dict[str, Any]:
    return asyncio.run(_stream_clusters(pipeline))


def leader_of(pipeline: Pipeline, stream: str = STREAM_EVENTS) -> int:
    cluster = pipeline.nats
    assert isinstance(cluster, NatsCluster)
    return cluster.member(stream_clusters(pipeline)[stream].leader)


def all_replicated(pipeline: Pipeline) -> bool:
    """Every stream and bucket has a leader and two current followers."""
    try:
        clusters = stream_clusters(pipeline)
    except Exception:
        return False
    return all(c is not None and c.leader and len(c.replicas or []) == 2
               and all(r.current for r in c.replicas) for c in clusters.values())


@pytest.fixture(scope="module")
def cluster_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pipeline, SlackStandIn]]:
    workdir = tmp_path_factory.mktemp("cluster")
    policy = workdir / "policy.yaml"
    policy.write_text(POLICY)
    with SlackStandIn() as slack:
        pipeline = Pipeline(workdir / "pipeline", slack_api_url=slack.api_url, policy_path=policy,
                            nats_cluster=3)
        pipeline.start(timeout=180)
        try:
            wait_for(lambda: all_replicated(pipeline), timeout=60, interval=0.5)
            yield pipeline, slack
        finally:
            pipeline.stop()


def members(pipeline: Pipeline) -> NatsCluster:
    assert isinstance(pipeline.nats, NatsCluster)
    return pipeline.nats


def restore(pipeline: Pipeline, index: int) -> None:
    """Bring a killed member back and wait until every stream is replicated again."""
    members(pipeline).start_member(index)
    wait_for(lambda: all_replicated(pipeline), timeout=120, interval=0.5)


def test_the_replica_count_is_reconciled_on_existing_streams_and_buckets(tmp_path: Path) -> None:
    """Streams and buckets made with one replica are brought to three when the setting
    says so (the operator applies the topology at start), without losing a message."""
    async def scenario(url: str) -> dict[str, int]:
        nc = await jetstream.connect(url, name="replicas-test")
        try:
            js = nc.jetstream()
            await jetstream.ensure_topology(js, replace(Retention.default(), replicas=1))
            await jetstream.ensure_bucket(js, BUCKET_POLICIES, replicas=1)
            # A stream just placed on a cluster may not have elected its leader yet:
            # the publish is retried until one answers, as ingest's caller would.
            for _ in range(50):
                try:
                    await js.publish(events_subject("T0001"), b"kept", stream=STREAM_EVENTS)
                    break
                except nats.js.errors.NoStreamResponseError:
                    await asyncio.sleep(0.2)
            else:
                raise AssertionError("the new events stream never answered a publish")
            await jetstream.ensure_topology(js, replace(Retention.default(), replicas=3))
            await jetstream.ensure_bucket(js, BUCKET_POLICIES, replicas=3)
            found = {name: int((await js.stream_info(name)).config.num_replicas or 0)
                     for name in (*STREAMS, f"KV_{BUCKET_POLICIES}")}
            found["events kept"] = int((await js.stream_info(STREAM_EVENTS)).state.messages)
            return found
        finally:
            await nc.close()

    async def changed_by_hand(url: str) -> tuple[list[str], int]:
        nc = await jetstream.connect(url, name="replicas-test")
        try:
            js = nc.jetstream()
            info = await js.stream_info(STREAM_VERDICTS)
            await js.update_stream(info.config.evolve(num_replicas=1))
            changed = await reconcile.apply_replicas(js, 3)  # the operator's refresh, every tick
            return changed, int((await js.stream_info(STREAM_VERDICTS)).config.num_replicas or 0)
        finally:
            await nc.close()

    with NatsCluster(tmp_path / "nats", 3) as cluster:
        found = asyncio.run(scenario(cluster.url))
        changed, verdict_replicas = asyncio.run(changed_by_hand(cluster.url))
    assert found.pop("events kept") == 1
    assert set(found.values()) == {3}, found
    assert changed == [STREAM_VERDICTS] and verdict_replicas == 3


def test_streams_and_buckets_have_three_replicas(cluster_pipeline: tuple[Pipeline, SlackStandIn]) -> None:
    pipeline, _ = cluster_pipeline
    clusters = stream_clusters(pipeline)
    for stream, info in clusters.items():
        names = {info.leader, *(r.name for r in info.replicas)}
        assert names == {s.server_name for s in members(pipeline).servers}, stream


def test_the_stream_leader_killed_under_load(cluster_pipeline: tuple[Pipeline, SlackStandIn]) -> None:
    pipeline, slack = cluster_pipeline
    leader = leader_of(pipeline)
    load = plan(f"CLEADER{next(_batch)}", EVENTS, seed=1)
    run_load(pipeline, load, lambda: members(pipeline).kill_member(leader))
    settle_and_check(pipeline, slack, load, "stream leader SIGKILLed")
    assert leader_of(pipeline) != leader  # a new leader took over, with no help
    restore(pipeline, leader)


def test_a_non_leader_killed_under_load(cluster_pipeline: tuple[Pipeline, SlackStandIn]) -> None:
    pipeline, slack = cluster_pipeline
    leaders = {leader_of(pipeline, STREAM_EVENTS), leader_of(pipeline, STREAM_VERDICTS)}
    follower = next((i for i in range(3) if i not in leaders),
                    next(i for i in range(3) if i != leader_of(pipeline)))
    load = plan(f"CFOLLOWER{next(_batch)}", EVENTS, seed=2)
    run_load(pipeline, load, lambda: members(pipeline).kill_member(follower))
    settle_and_check(pipeline, slack, load, "non-leader SIGKILLed")
    restore(pipeline, follower)


def test_a_member_with_its_data_wiped_rejoins_and_holds_its_share(
        cluster_pipeline: tuple[Pipeline, SlackStandIn]) -> None:
    pipeline, slack = cluster_pipeline
    cluster = members(pipeline)
    lost = next(i for i in range(3) if i != leader_of(pipeline))

    def lose_the_disk() -> None:
        cluster.kill_member(lost)
        cluster.wipe_member(lost)
        time.sleep(1.0)  # the member is away a moment (a pod rescheduled onto an empty volume)
        cluster.start_member(lost, wait=False)

    load = plan(f"CWIPED{next(_batch)}", EVENTS, seed=3)
    run_load(pipeline, load, lose_the_disk)
    settle_and_check(pipeline, slack, load, "member wiped and rejoined")
    wait_for(lambda: all_replicated(pipeline), timeout=120, interval=0.5)  # it caught up
    # Now it must hold its share: kill another member (the leader if that is not the wiped
    # one), so the wiped member is needed for the quorum.
    leader = leader_of(pipeline)
    victim = leader if leader != lost else next(i for i in range(3) if i != lost)
    load = plan(f"CAFTERWIPE{next(_batch)}", EVENTS // 2, seed=4)
    run_load(pipeline, load, lambda: cluster.kill_member(victim))
    settle_and_check(pipeline, slack, load, "another member SIGKILLed after the wiped one rejoined")
    restore(pipeline, victim)
