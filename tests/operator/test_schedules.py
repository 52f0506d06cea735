"""The operator keeps each workspace's scheduled jobs in JetStream and shows the
scheduled token check in the policy's status: against KMock, a real nats-server,
and the action stage's real token check talking to the Slack stand-in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from piiguard.action.jobs import TokenCheck
from piiguard.policy_store import policy_key
from piiguard.schedules import Job, read_schedules
from piiguard.slack_credentials import SlackCredentials
from tests.support.slack_standin import SlackStandIn

from .conftest import ADMIN_TOKEN, BOT_TOKEN, Cluster, eventually, spec_for

pytestmark = pytest.mark.timeout(60)


class Tokens:
    async def for_workspace(self, workspace_id: str) -> SlackCredentials | None:
        return SlackCredentials(signing_secret="", bot_token=BOT_TOKEN, admin_token=ADMIN_TOKEN)

    async def signing_secrets(self) -> Mapping[str, str]:
        return {}


async def schedules_of(js: Any, workspace: str) -> dict[str, Any]:
    return {s.job: s for s in await read_schedules(js) if s.workspace == policy_key(workspace)}


async def test_a_policys_schedules_follow_it_and_a_refused_token_shows_in_status(
        cluster: Cluster, js: Any, team: str) -> None:
    cluster.add_secret()
    await cluster.create("acme", spec_for(team))
    await cluster.wait_condition("acme", "Ready", "True", "Reconciled")

    async def written() -> bool:
        return {job: s.schedule for job, s in (await schedules_of(js, team)).items()} == {
            "sweep": "@every 900s", "digest": "0 0 9 * * *", "tokencheck": "@hourly"}

    await eventually(written, 15, "the policy's schedules to be written")

    await cluster.patch_spec("acme", {"schedules": {"digest": "", "tokenCheck": "*/30 * * * *",
                                                    "timeZone": "Europe/Berlin"}})

    async def changed() -> bool:
        now = await schedules_of(js, team)
        return set(now) == {"sweep", "tokencheck"} and now["tokencheck"].time_zone == "Europe/Berlin"

    await eventually(changed, 15, "the schedules to follow the patched policy")

    with SlackStandIn() as slack:
        check = TokenCheck(js, Tokens(), slack.api_url)
        await check.handle(Job("tokencheck", policy_key(team)))
        valid = await cluster.wait_condition("acme", "TokensValid", "True", "TokenCheckPassed")
        assert "accepted the admin and bot tokens" in valid["message"]
        slack.revoke(BOT_TOKEN)
        await check.handle(Job("tokencheck", policy_key(team)))
    failed = await cluster.wait_condition("acme", "TokensValid", "False", "TokenCheckFailed")
    assert "bot token (invalid_auth)" in failed["message"] and BOT_TOKEN not in failed["message"]
    degraded = await cluster.wait_condition("acme", "Degraded", "True", "TokenCheckFailed")
    assert "invalid_auth" in degraded["message"]
    assert (await cluster.condition("acme", "Ready"))["status"] == "False"

    await cluster.delete("acme")

    async def removed() -> bool:
        return not await schedules_of(js, team)

    await eventually(removed, 15, "the schedules to be removed with the policy")
