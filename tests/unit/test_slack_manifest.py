"""The Slack app manifests ship exactly the scopes and bot events the README's
"Slack app setup" lists — no more (a manifest is what a workspace admin approves),
no fewer (PII Guard would fail at its first delete or DM) — and differ only in
how events arrive: HTTP with a request URL, or Socket Mode without one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = {"http": ROOT / "slack" / "manifest.yaml", "socket": ROOT / "slack" / "manifest.socket.yaml"}
_SCOPE = re.compile(r"`([a-z]+:[a-z.]+)`")
_EVENT = re.compile(r"`(message\.[a-z]+)`")


def readme_step(title: str) -> str:
    """The text of one numbered step of the README's "Slack app setup"."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Slack app setup", 1)[1].split("\n## ", 1)[0]
    steps = re.split(r"\n(?=\d+\. )", section)
    found = [step for step in steps if re.match(rf"\d+\. \*\*{re.escape(title)}", step)]
    assert len(found) == 1, f"README's Slack app setup has no step {title!r}"
    return found[0]


def manifest(mode: str) -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFESTS[mode].read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("mode", sorted(MANIFESTS))
def test_the_manifest_asks_for_exactly_the_scopes_the_readme_lists(mode: str) -> None:
    scopes = manifest(mode)["oauth_config"]["scopes"]
    bot = set(_SCOPE.findall(readme_step("Bot token scopes")))
    user = set(_SCOPE.findall(readme_step("User token scopes")))
    assert bot and user
    assert sorted(scopes["bot"]) == sorted(bot), "bot scopes differ from the README's"
    assert sorted(scopes["user"]) == sorted(user), "user scopes differ from the README's"
    assert len(scopes["bot"]) == len(set(scopes["bot"])) and len(scopes["user"]) == len(set(scopes["user"]))


@pytest.mark.parametrize("mode", sorted(MANIFESTS))
def test_the_manifest_subscribes_to_the_readmes_bot_events(mode: str) -> None:
    events = manifest(mode)["settings"]["event_subscriptions"]["bot_events"]
    listed = _EVENT.findall(readme_step("Events"))
    # message.im only with channels.directMessages: true — the README says to add it then.
    assert sorted(events) == sorted(e for e in listed if e != "message.im")
    assert "message.im" in listed and "message.im" not in events


def test_http_and_socket_mode_variants_differ_only_in_how_events_arrive() -> None:
    http, socket = manifest("http"), manifest("socket")
    assert http["settings"]["socket_mode_enabled"] is False
    assert http["settings"]["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in socket["settings"]["event_subscriptions"]
    for variant in (http, socket):
        variant["settings"].pop("socket_mode_enabled")
        variant["settings"]["event_subscriptions"].pop("request_url", None)
    assert http == socket
    # The app-level token cannot be made by a manifest: the README says where to get it.
    assert "connections:write" in readme_step("App-level token")
