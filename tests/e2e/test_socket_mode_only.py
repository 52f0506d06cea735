"""Socket Mode only: ``piiguard up`` starts without a signing secret (the app token
and the bot/admin tokens are all it needs) and acts on events from the socket; a
workspace whose policy says ``slack.mode: socket`` has the HTTP Events endpoint
closed to it — a signed event for it over HTTP is refused with 403 and acted on by
nobody, while Socket Mode serves it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from piiguard.natsserver import free_port
from tests.support import slack_events
from tests.support.slack_standin import SlackStandIn

from .conftest import Harness, running_pipeline, wait_for

pytestmark = pytest.mark.e2e

APP_TOKEN = "xapp-1-A0001-1-standin-app-token"
CARD = "card 4539 1488 0343 6467 thanks"


def test_up_in_socket_mode_needs_no_signing_secret(tmp_path: Path) -> None:
    http_port = free_port()
    log = tmp_path / "up.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NATS_URL", "PIIGUARD_"))}
    policy = tmp_path / "policy.yaml"
    policy.write_text("slack:\n  mode: socket\nschedules:\n  sweep: ''\n  digest: ''\n  tokenCheck: ''\n")
    with SlackStandIn() as slack, open(log, "wb") as output:
        env.update(SLACK_APP_TOKEN=APP_TOKEN, SLACK_BOT_TOKEN="xoxb-up", SLACK_ADMIN_TOKEN="xoxp-up",
                   SLACK_API_URL=slack.api_url, PIIGUARD_HTTP_PORT=str(http_port), PYTHONUNBUFFERED="1")
        process = subprocess.Popen(
            [sys.executable, "-m", "piiguard", "up", "--policy", str(policy),
             "--data-dir", str(tmp_path / "nats")],
            env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: "PII Guard is up" in log.read_text(), timeout=120, interval=0.5)
            wait_for(lambda: slack.socket_mode.connections() >= 1, timeout=60)
            payload = slack_events.message_event(CARD)
            envelope = slack.socket_mode.send_event(payload)
            wait_for(lambda: slack.socket_mode.acked(envelope), timeout=30)
            wait_for(lambda: ("C0001", payload["event"]["ts"]) in slack.deleted_messages(), timeout=60)
            # No HTTP Events endpoint at all in this process.
            body, headers = slack_events.signed("any-secret", slack_events.message_event(CARD))
            request = urllib.request.Request(f"http://127.0.0.1:{http_port}/slack/events", data=body,
                                             headers=headers, method="POST")
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=5)
            assert refused.value.code == 404
            refused.value.close()
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(60)
    assert code == 0, log.read_text()[-2000:]
    assert "4539 1488 0343 6467" not in log.read_text()


def test_up_in_socket_mode_without_an_app_token_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NATS_URL", "PIIGUARD_"))}
    env.update(SLACK_BOT_TOKEN="xoxb-up", SLACK_ADMIN_TOKEN="xoxp-up", PIIGUARD_SLACK_MODE="socket")
    result = subprocess.run([sys.executable, "-m", "piiguard", "up", "--data-dir", str(tmp_path / "n")],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN is not set" in result.stderr
    assert "SLACK_SIGNING_SECRET" not in result.stderr


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, slack: SlackStandIn) -> Iterator[Harness]:
    # The process takes both (HTTP for other workspaces); this workspace's policy says socket.
    policy = "workspace:\n  teamId: T0001\nslack:\n  mode: socket\n"
    env = {"PIIGUARD_SLACK_MODE": "both", "SLACK_APP_TOKEN": APP_TOKEN}
    with running_pipeline(Path(tmp_path_factory.mktemp("socket-only")), slack, policy, env) as harness:
        wait_for(lambda: slack.socket_mode.connections() >= 1, timeout=30)
        yield harness


def test_a_socket_mode_workspace_is_refused_over_http(harness: Harness, slack: SlackStandIn) -> None:
    over_http = slack_events.message_event(CARD)
    answer = harness.post(over_http)
    assert answer.status == 403
    assert "Socket Mode only" in answer.body["error"] and "T0001" in answer.body["error"]

    over_socket = slack_events.message_event(CARD)
    slack.socket_mode.send_event(over_socket)
    wait_for(lambda: harness.deletes_of(over_socket["event"]["ts"]), timeout=60)
    harness.quiet()
    assert harness.deletes_of(over_http["event"]["ts"]) == []
