"""The operator reports, per watched Notion database, whether the integration can
reach it: the token from ``notion.tokenSecretRef`` (read like the Slack Secrets),
``GET /v1/databases/{id}`` through the real notion-client against the Notion
stand-in. A database not shared (404 object_not_found) is a False condition with
a clear message; the policy keeps running, nothing crash-loops."""

from __future__ import annotations

from typing import Any

from piiguard.jetstream import STREAM_EVENTS
from piiguard.policy_store import policy_key
from tests.operator.conftest import NOTION_TOKEN, Cluster, eventually, spec_for
from tests.operator.test_operator import consumer


def notion_spec(team: str, *databases: str) -> dict[str, Any]:
    return spec_for(team, notion={"databases": list(databases), "pollInterval": "30s",
                                  "tokenSecretRef": {"name": "notion", "key": "token"}})


async def test_an_unshared_database_is_a_condition_not_a_crash_loop(cluster: Cluster, js: Any, team: str):
    assert cluster.notion is not None
    shared, _ = cluster.notion.add_database()
    hidden, _ = cluster.notion.add_database(shared=False)
    cluster.add_secret()
    cluster.add_secret("notion", {"token": NOTION_TOKEN})
    await cluster.create("acme", notion_spec(team, shared, hidden))

    condition = await cluster.wait_condition("acme", "NotionReachable", "False", "DatabaseNotShared")
    assert hidden in condition["message"] and "object_not_found" in condition["message"]
    assert "Connections" in condition["message"] and shared not in condition["message"]
    status = (await cluster.get("acme") or {})["status"]
    assert status["notion"]["databases"] == [
        {"id": shared, "state": "Reachable"},
        {"id": hidden, "state": "NotShared", "reason": "object_not_found"}]
    # The policy runs all the same (the poller skips the unshared database).
    await cluster.wait_condition("acme", "Ready", "True", "Reconciled")
    await consumer(js, STREAM_EVENTS, f"detection-{policy_key(team)}")
    # Asked with the integration's token from the Secret, and not at every refresh.
    asked = cluster.notion.calls("GET", "/v1/databases/")
    assert asked and all(call.token == NOTION_TOKEN for call in asked)
    assert len(cluster.notion.calls("GET", f"/v1/databases/{hidden}")) == 1

    # Shared later, and the policy is changed: the condition clears.
    await cluster.patch_spec("acme", {"notion": {"databases": [shared]}})
    await cluster.wait_condition("acme", "NotionReachable", "True", "DatabasesReachable")


async def test_a_missing_notion_secret_says_so(cluster: Cluster, team: str):
    assert cluster.notion is not None
    database, _ = cluster.notion.add_database()
    cluster.add_secret()
    await cluster.create("acme", notion_spec(team, database))
    condition = await cluster.wait_condition("acme", "NotionReachable", "False", "NotionTokenMissing")
    assert "slack/notion" in condition["message"]
    cluster.add_secret("notion", {"token": NOTION_TOKEN})

    async def reachable() -> bool:
        return (await cluster.condition("acme", "NotionReachable")).get("status") == "True"

    await eventually(reachable, 15, "NotionReachable=True once the Secret exists")
