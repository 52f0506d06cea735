"""The service side of the policy hand-off: the KV-backed store follows the bucket
live, the static store serves a local file, and the consumer conventions hold."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from piiguard.jetstream import (
    BUCKET_POLICIES,
    DELIVERY_HEADROOM,
    STREAM_EVENTS,
    STREAM_VERDICTS,
    ensure_topology,
)
from piiguard.policy import Policy, QueueSettings, WorkspaceRef
from piiguard.policy_store import (
    PAUSED_UNTIL,
    KvPolicyStore,
    StaticPolicyStore,
    consumer_config,
    consumer_name,
    decode_entry,
    encode_policy,
    policy_key,
    redelivery_schedule,
)
from piiguard.security.natsauth import HARNESS
from piiguard_operator import reconcile

pytestmark = pytest.mark.timeout(30)


def policy(team: str, concurrency: int = 4) -> Policy:
    return Policy.model_validate({
        "workspace": {"teamId": team},
        "secrets": {k: {"name": "s", "key": k} for k in ("signingSecret", "botToken", "adminToken")},
        "queues": {"action": {"concurrency": concurrency}},
    })


def test_consumer_names_and_config_follow_the_queue_settings() -> None:
    queue = QueueSettings(concurrency=5, paused=True, max_attempts=4, backoff=("1s", "10s"), ack_wait="30s")
    config = consumer_config("detection", "T1.x", queue)
    assert consumer_name("action", "T1.x") == "action-T1_x" == policy_key("T1.x").join(("action-", ""))
    assert config.durable_name == config.name == "detection-T1_x"
    assert config.filter_subject == "piiguard.events.T1_x"
    assert (config.max_ack_pending, config.max_deliver, config.ack_wait) == (5, 4 + DELIVERY_HEADROOM, 30.0)
    assert config.backoff == [31.0, 40.0, 40.0]
    assert config.pause_until == PAUSED_UNTIL
    assert consumer_config("action", "T1", QueueSettings()).filter_subject == "piiguard.verdicts.T1"


def test_a_single_attempt_needs_no_redelivery_schedule() -> None:
    assert redelivery_schedule(QueueSettings(max_attempts=1)) == []
    assert redelivery_schedule(QueueSettings(backoff=())) == []
    assert len(redelivery_schedule(QueueSettings(max_attempts=100))) == 99


def test_the_static_store_serves_its_workspace_or_all() -> None:
    anywhere = StaticPolicyStore(Policy())
    assert anywhere.policy_for("T1") is anywhere.policy
    scoped = StaticPolicyStore(Policy(workspace=WorkspaceRef(team_id="T1")))
    assert scoped.policy_for("T1") is scoped.policy
    assert scoped.policy_for("T2") is None


def test_the_bucket_value_says_where_the_policy_lives() -> None:
    encoded = encode_policy(policy("T1"), namespace="slack-acme", name="acme")
    decoded, namespace = decode_entry(encoded)
    assert decoded == policy("T1") and namespace == "slack-acme"


async def test_the_kv_store_loads_then_follows_changes(shared_nats_server: Any) -> None:
    from piiguard.jetstream import connect

    nc = await connect(shared_nats_server.url, name="store-test", auth=shared_nats_server.auth(HARNESS))
    js = nc.jetstream()
    await ensure_topology(js)
    await reconcile.apply_policy(js, policy("TSTORE1", concurrency=3))

    changes: list[tuple[str, Policy | None]] = []
    store = KvPolicyStore(on_change=lambda ws, p: changes.append((ws, p)))
    await store.start(js)
    try:
        loaded = store.policy_for("TSTORE1")
        assert loaded is not None and loaded.queues.action.concurrency == 3
        assert store.policy_for("TNOBODY") is None

        await reconcile.apply_policy(js, policy("TSTORE1", concurrency=7))
        assert await store.wait_for(
            lambda s: (p := s.policy_for("TSTORE1")) is not None and p.queues.action.concurrency == 7, 5)

        kv = await js.key_value(BUCKET_POLICIES)
        await kv.put("TBROKEN", b"{not json")  # ignored; nothing else disturbed
        await reconcile.apply_policy(js, policy("TSTORE2"))
        assert await store.wait_for(lambda s: s.policy_for("TSTORE2") is not None, 5)
        assert store.policy_for("TBROKEN") is None

        await reconcile.remove_workspace(js, "TSTORE1")
        assert await store.wait_for(lambda s: s.policy_for("TSTORE1") is None, 5)
        assert store.policy_for("TSTORE2") is not None
        assert [ws for ws, _ in changes][-1] == "TSTORE1" and changes[-1][1] is None
    finally:
        await store.stop()
        await nc.close()


async def test_retention_follows_the_longest_policy(shared_nats_server: Any) -> None:
    from piiguard.jetstream import connect

    nc = await connect(shared_nats_server.url, name="retention-test", auth=shared_nats_server.auth(HARNESS))
    js = nc.jetstream()
    await ensure_topology(js)
    try:
        await reconcile.apply_retention(js, {"detection": 7200.0, "action": 3 * 86400.0})
        assert (await js.stream_info(STREAM_EVENTS)).config.max_age == 7200.0
        assert (await js.stream_info(STREAM_VERDICTS)).config.max_age == 3 * 86400.0
    finally:
        await ensure_topology(js)  # back to the defaults for other tests
        await nc.close()


async def test_a_paused_consumer_created_paused_delivers_nothing(shared_nats_server: Any) -> None:
    import nats.errors

    from piiguard.jetstream import connect, verdicts_subject

    nc = await connect(shared_nats_server.url, name="pause-test", auth=shared_nats_server.auth(HARNESS))
    js = nc.jetstream()
    await ensure_topology(js)
    try:
        paused = policy("TPAUSE").model_copy(update={"queues": policy("TPAUSE").queues.model_copy(
            update={"action": QueueSettings(paused=True)})})
        await reconcile.apply_policy(js, paused)
        await js.publish(verdicts_subject("TPAUSE"), b"held")
        sub = await js.pull_subscribe_bind(consumer_name("action", "TPAUSE"), stream=STREAM_VERDICTS)
        with pytest.raises(nats.errors.TimeoutError):
            await sub.fetch(1, timeout=0.5)
        await reconcile.apply_policy(js, policy("TPAUSE"))
        msgs = await sub.fetch(1, timeout=2)
        assert msgs[0].data == b"held"
        await msgs[0].ack()
        await asyncio.sleep(0)
    finally:
        await reconcile.remove_workspace(js, "TPAUSE")
        await nc.close()
