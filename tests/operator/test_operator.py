"""The operator end to end against KMock and a real nats-server: a policy's life
from creation to deletion, as a cluster admin would drive it with kubectl."""

from __future__ import annotations

from typing import Any

import nats.errors
import pytest
from nats.js.errors import KeyNotFoundError, NotFoundError

from piiguard.jetstream import (
    BUCKET_POLICIES,
    DELIVERY_HEADROOM,
    STREAM_EVENTS,
    STREAM_VERDICTS,
    verdicts_subject,
)
from piiguard.policy import policy_from_mapping
from piiguard.policy_store import encode_policy, policy_key

from .conftest import BOT_TOKEN, NS, Cluster, eventually, spec_for

pytestmark = pytest.mark.timeout(60)


async def consumer(js: Any, stream: str, name: str) -> Any:
    return await js.consumer_info(stream, name)


async def test_a_new_policy_gets_consumers_a_bucket_entry_and_ready(cluster: Cluster, js: Any, team: str):
    cluster.add_secret()
    spec = spec_for(team)
    await cluster.create("acme", spec)

    ready = await cluster.wait_condition("acme", "Ready", "True", "Reconciled")
    assert ready["observedGeneration"] == 1

    ws = policy_key(team)
    detection = await consumer(js, STREAM_EVENTS, f"detection-{ws}")
    assert detection.config.filter_subject == f"piiguard.events.{ws}"
    assert detection.config.max_ack_pending == 3
    assert detection.config.max_deliver == 5 + DELIVERY_HEADROOM
    # ackWait + backoff per retry (JetStream's backoff covers ack timeouts only).
    assert detection.config.backoff == [11.0, 12.0, 12.0, 12.0]
    assert not detection.paused
    action = await consumer(js, STREAM_VERDICTS, f"action-{ws}")
    assert action.config.filter_subject == f"piiguard.verdicts.{ws}"
    assert (action.config.max_ack_pending, action.config.max_deliver) == (6, 4 + DELIVERY_HEADROOM)
    assert action.config.backoff == [22.0, 22.0, 22.0]

    kv = await js.key_value(BUCKET_POLICIES)
    entry = await kv.get(ws)
    assert entry.value == encode_policy(policy_from_mapping(spec), namespace=NS, name="acme")
    assert b"xoxb" not in entry.value  # references to Secrets only, never a value

    obj = await cluster.get("acme")
    assert obj is not None
    status = obj["status"]
    assert status["workspace"] == ws
    assert status["appliedGeneration"] == 1
    assert status["paused"] == "none"
    assert status["pending"] == 0 and status["deadLettered"] == 0
    degraded = await cluster.condition("acme", "Degraded")
    assert degraded["status"] == "False"
    assert "cleanup" in " ".join(obj["metadata"].get("finalizers", []))


async def test_patching_concurrency_and_pause_holds_deliveries_until_resumed(
    cluster: Cluster, js: Any, team: str
):
    cluster.add_secret()
    await cluster.create("acme", spec_for(team))
    await cluster.wait_condition("acme", "Ready", "True")
    ws = policy_key(team)

    # kubectl patch piipolicy acme --type merge -p '{"spec":{"queues":{"action":{...}}}}'
    await cluster.patch_spec("acme", {"queues": {
        "detection": {"concurrency": 3, "maxAttempts": 5, "backoff": ["1s", "2s"], "ackWait": "10s"},
        "action": {"concurrency": 2, "paused": True, "maxAttempts": 4, "backoff": [2], "ackWait": 20},
    }})

    async def paused() -> bool:
        info = await consumer(js, STREAM_VERDICTS, f"action-{ws}")
        return bool(info.paused) and info.config.max_ack_pending == 2

    await eventually(paused, 15, "the action consumer to be paused with concurrency 2")

    for n in range(3):
        await js.publish(verdicts_subject(team), f"verdict {n}".encode())
    worker = await js.pull_subscribe_bind(f"action-{ws}", stream=STREAM_VERDICTS)
    with pytest.raises(nats.errors.TimeoutError):
        await worker.fetch(1, timeout=1.5)  # paused: nothing is delivered

    async def reported() -> bool:
        status = ((await cluster.get("acme")) or {}).get("status", {})
        return status.get("paused") == "action" and status.get("pending") == 3

    await eventually(reported, 10, "status to show the paused stage and 3 pending")

    await cluster.patch_spec("acme", {"queues": {"action": {"concurrency": 2, "paused": False}}})
    received: list[bytes] = []

    async def drained() -> bool:
        try:
            msgs = await worker.fetch(3, timeout=0.5)
        except nats.errors.TimeoutError:
            return False
        for msg in msgs:
            received.append(msg.data)
            await msg.ack()
        return len(received) == 3

    await eventually(drained, 15, "all queued verdicts to be delivered after resume")
    assert sorted(received) == [b"verdict 0", b"verdict 1", b"verdict 2"]


async def test_an_invalid_regex_is_rejected_and_the_last_good_policy_keeps_running(
    cluster: Cluster, js: Any, team: str
):
    cluster.add_secret()
    spec = spec_for(team)
    await cluster.create("acme", spec)
    await cluster.wait_condition("acme", "Ready", "True")
    ws = policy_key(team)
    kv = await js.key_value(BUCKET_POLICIES)
    before = (await kv.get(ws)).value

    await cluster.patch_spec("acme", {
        "detection": {"customRecognizers": [{
            "name": "ticket", "entityType": "TICKET_ID", "patterns": [{"regex": "TCK-(\\d+"}],
        }]},
        "queues": {"detection": {"concurrency": 9}, "action": {"concurrency": 9}},
    })

    rejected = await cluster.wait_condition("acme", "Ready", "False", "InvalidPolicy", generation=2)
    assert "regex does not compile" in rejected["message"]
    assert "customRecognizers" in rejected["message"]
    assert "generation 1 keeps running" in rejected["message"]
    assert rejected["observedGeneration"] == 2

    # A later timer tick (it stamps refreshedAt) judges the spec again: still nothing applied.
    rejected_at = ((await cluster.get("acme")) or {})["status"].get("refreshedAt")

    async def ticked() -> str | None:
        now = (((await cluster.get("acme")) or {}).get("status") or {}).get("refreshedAt")
        return now if now and now != rejected_at else None

    await eventually(ticked, timeout=30, what="a timer tick after the rejection")
    assert (await kv.get(ws)).value == before
    assert (await consumer(js, STREAM_EVENTS, f"detection-{ws}")).config.max_ack_pending == 3
    status = (await cluster.get("acme") or {})["status"]
    assert status["appliedGeneration"] == 1 and status["observedGeneration"] == 2
    assert (await cluster.condition("acme", "Ready"))["reason"] == "InvalidPolicy"


async def test_a_missing_secret_degrades_until_it_appears(cluster: Cluster, js: Any, team: str):
    await cluster.create("acme", spec_for(team))

    degraded = await cluster.wait_condition("acme", "Degraded", "True", "SecretMissing")
    assert "slack/slack-creds" in degraded["message"]
    ready = await cluster.condition("acme", "Ready")
    assert ready["status"] == "False" and ready["reason"] == "SecretsUnavailable"
    # The policy still runs, so events queue durably while the Secret is fixed.
    await consumer(js, STREAM_EVENTS, f"detection-{policy_key(team)}")

    cluster.add_secret()
    await cluster.wait_condition("acme", "Degraded", "False", "Healthy")
    await cluster.wait_condition("acme", "Ready", "True", "Reconciled")


async def test_a_revoked_token_degrades_without_revealing_it(cluster: Cluster, team: str):
    cluster.verifier.revoked.add(BOT_TOKEN)
    cluster.add_secret()
    await cluster.create("acme", spec_for(team))

    degraded = await cluster.wait_condition("acme", "Degraded", "True", "TokenRevoked")
    assert "bot token" in degraded["message"] and "token_revoked" in degraded["message"]
    assert BOT_TOKEN not in degraded["message"]  # the fixture checks every object, too


async def test_a_second_policy_for_the_same_workspace_is_refused(cluster: Cluster, js: Any, team: str):
    cluster.add_secret()
    await cluster.create("first", spec_for(team))
    await cluster.wait_condition("first", "Ready", "True")
    await cluster.create("second", spec_for(team, queues={"action": {"concurrency": 99}}))

    conflict = await cluster.wait_condition("second", "Ready", "False", "WorkspaceConflict")
    assert "slack/first" in conflict["message"]
    info = await consumer(js, STREAM_VERDICTS, f"action-{policy_key(team)}")
    assert info.config.max_ack_pending == 6

    # Deleting the shadowed policy leaves the workspace running.
    await cluster.delete("second")
    await eventually(lambda: _gone(cluster, "second"), 15, "the second policy to be deleted")
    await consumer(js, STREAM_VERDICTS, f"action-{policy_key(team)}")


async def test_deleting_a_policy_removes_its_consumers_and_entry_only(
    cluster: Cluster, js: Any, team: str
):
    cluster.add_secret()
    other = team + "B"
    await cluster.create("acme", spec_for(team))
    await cluster.create("globex", spec_for(other))
    await cluster.wait_condition("acme", "Ready", "True")
    await cluster.wait_condition("globex", "Ready", "True")

    await cluster.delete("acme")
    await eventually(lambda: _gone(cluster, "acme"), 15, "acme to be deleted")

    kv = await js.key_value(BUCKET_POLICIES)
    for stream, stage in ((STREAM_EVENTS, "detection"), (STREAM_VERDICTS, "action")):
        with pytest.raises(NotFoundError):
            await consumer(js, stream, f"{stage}-{policy_key(team)}")
        await consumer(js, stream, f"{stage}-{policy_key(other)}")  # untouched
    with pytest.raises(KeyNotFoundError):
        await kv.get(policy_key(team))
    assert (await kv.get(policy_key(other))).value


async def test_a_restarted_operator_resumes_and_catches_up(cluster: Cluster, js: Any, team: str):
    cluster.add_secret()
    await cluster.create("acme", spec_for(team))
    await cluster.wait_condition("acme", "Ready", "True")
    assert cluster.operator is not None
    await cluster.operator.stop()

    # Changed while no operator runs, and a consumer lost (e.g. NATS restored from backup).
    await cluster.patch_spec("acme", {"queues": {"detection": {"concurrency": 7}}})
    await js.delete_consumer(STREAM_VERDICTS, f"action-{policy_key(team)}")

    await cluster.operator.start()

    async def caught_up() -> bool:
        detection = await consumer(js, STREAM_EVENTS, f"detection-{policy_key(team)}")
        await consumer(js, STREAM_VERDICTS, f"action-{policy_key(team)}")
        return detection.config.max_ack_pending == 7

    await eventually(caught_up, 15, "the restarted operator to apply generation 2")
    await cluster.wait_condition("acme", "Ready", "True", generation=2)


async def _gone(cluster: Cluster, name: str) -> bool:
    return await cluster.get(name) is None
