"""Which Socket Mode connections ingest holds, and what it refuses to start without.
(The connections themselves, end to end: tests/e2e/test_socket_mode.py.)"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Mapping

import pytest

from piiguard.ingest.socket_mode import SocketModeSource
from piiguard.policy import Policy, policy_from_mapping
from piiguard.settings import Settings
from piiguard.slack_credentials import SlackCredentials

OWN_TOKEN = "xapp-1-own-token-of-T0002"
ENV_TOKEN = "xapp-1-environment-token"


class Credentials:
    async def for_workspace(self, workspace_id: str) -> SlackCredentials | None:
        return SlackCredentials("s", "b", "a", app_token=OWN_TOKEN if workspace_id == "T0002" else "")

    async def signing_secrets(self) -> Mapping[str, str]:
        return {}


def policy(mode: str | None, *, own_token: bool = False) -> Policy:
    spec: dict[str, object] = {"slack": {"mode": mode} if mode else {}}
    if own_token:
        ref = {"name": "slack", "key": "k"}
        spec["secrets"] = {"signingSecret": ref, "botToken": ref, "adminToken": ref, "appToken": ref}
    return policy_from_mapping(spec)


def wanted(config: Settings, policies: dict[str, Policy]) -> dict[str, frozenset[str] | None]:
    source = SocketModeSource(None, Credentials(), config, lambda: policies)  # type: ignore[arg-type]
    return asyncio.run(source.wanted())


def test_http_mode_holds_no_connection() -> None:
    assert wanted(Settings(slack_app_token=ENV_TOKEN), {"T0001": policy(None)}) == {}


def test_the_environments_token_serves_any_workspace_in_socket_mode() -> None:
    config = Settings(slack_app_token=ENV_TOKEN, slack_mode="socket")
    assert wanted(config, {"T0001": policy(None)}) == {ENV_TOKEN: None}


def test_a_workspace_with_its_own_token_gets_its_own_connection_for_itself_only() -> None:
    config = Settings(slack_app_token=ENV_TOKEN)  # http by default: only policies ask
    policies = {"T0001": policy("http"), "T0002": policy("socket", own_token=True)}
    assert wanted(config, policies) == {OWN_TOKEN: frozenset({"T0002"})}
    policies["T0003"] = policy("both")  # no token of its own: the environment's, for any
    assert wanted(config, policies) == {OWN_TOKEN: frozenset({"T0002"}), ENV_TOKEN: None}


def test_a_policy_can_turn_socket_mode_off_for_its_workspace() -> None:
    config = Settings(slack_app_token=ENV_TOKEN, slack_mode="socket")
    policies = {"T0002": policy("http", own_token=True)}
    assert OWN_TOKEN not in wanted(config, policies)


@pytest.mark.parametrize("mode", ["socket", "both"])
def test_socket_mode_without_an_app_token_refuses_to_start(mode: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PIIGUARD_", "NATS_"))}
    env.update(SLACK_SIGNING_SECRET="test-signing-secret", PIIGUARD_SLACK_MODE=mode)
    result = subprocess.run([sys.executable, "-m", "piiguard.ingest"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert f"SLACK_APP_TOKEN is not set: PIIGUARD_SLACK_MODE={mode}" in result.stderr
