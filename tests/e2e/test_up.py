"""``piiguard up`` as a user runs it: its own nats-server, three service
processes, the flow served, a clean stop on SIGTERM; a clear error without secrets."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from piiguard.natsserver import free_port
from tests.support import slack_events
from tests.support.slack_standin import SlackStandIn

from .conftest import wait_for

pytestmark = pytest.mark.e2e

SECRET = "up-signing-secret"


def up_env(http_port: int, api_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NATS_URL", "PIIGUARD_"))}
    env.update(SLACK_SIGNING_SECRET=SECRET, SLACK_BOT_TOKEN="xoxb-up", SLACK_ADMIN_TOKEN="xoxp-up",
               SLACK_API_URL=api_url, PIIGUARD_HTTP_PORT=str(http_port), PYTHONUNBUFFERED="1")
    return env


def test_up_serves_the_flow_and_stops_cleanly(tmp_path: Path) -> None:
    http_port = free_port()
    log = tmp_path / "up.log"
    with SlackStandIn() as slack, open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "piiguard", "up", "--data-dir", str(tmp_path / "nats")],
            env=up_env(http_port, slack.api_url), stdout=output, stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: "PII Guard is up" in log.read_text(), timeout=120, interval=0.5)
            printed = log.read_text()
            assert "nats-server: nats://127.0.0.1:" in printed
            assert f"http://127.0.0.1:{http_port}/slack/events" in printed
            for name in ("ingest", "detection", "action"):
                assert f"{name}: gRPC on 127.0.0.1:" in printed

            payload = slack_events.message_event("card 4539 1488 0343 6467 thanks")
            body, headers = slack_events.signed(SECRET, payload)
            request = urllib.request.Request(f"http://127.0.0.1:{http_port}/slack/events", data=body,
                                             headers=headers, method="POST")

            def accepted() -> bool:
                try:
                    with urllib.request.urlopen(request, timeout=5) as response:
                        return response.status == 200
                except OSError:
                    return False

            wait_for(accepted, timeout=60, interval=0.5)
            wait_for(lambda: slack.notices(), timeout=60)
            assert ("C0001", payload["event"]["ts"]) in slack.deleted_messages()
            # One line per component: where its metrics are served (a contract), and they are.
            lines = re.findall(r"^(\w+): metrics on (http://127\.0\.0\.1:(\d+)/metrics)$",
                               log.read_text(), re.MULTILINE)
            assert sorted(name for name, _, _ in lines) == ["action", "detection", "ingest"]
            assert len({port for _, _, port in lines}) == 3
            family = {"ingest": "piiguard_events_received_total", "detection": "piiguard_detection_seconds",
                      "action": "piiguard_actions_total"}
            for name, url, _ in lines:
                with urllib.request.urlopen(url, timeout=5) as page:
                    assert family[name] in page.read().decode(), name
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(60)
    assert code == 0, log.read_text()[-2000:]
    assert "PII Guard stopped." in log.read_text()
    assert "4539 1488 0343 6467" not in log.read_text()


def test_up_without_secrets_names_the_missing_variable(tmp_path: Path) -> None:
    env = up_env(free_port(), "http://127.0.0.1:9/api/")
    del env["SLACK_ADMIN_TOKEN"]
    result = subprocess.run([sys.executable, "-m", "piiguard", "up", "--data-dir", str(tmp_path)],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("piiguard up: error: SLACK_ADMIN_TOKEN is not set "
                                     "(export SLACK_ADMIN_TOKEN=...; see README)")
    assert "Traceback" not in result.stderr


def test_a_service_alone_without_its_secret_is_one_clear_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    result = subprocess.run([sys.executable, "-m", "piiguard", "ingest"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET is not set" in result.stderr
    assert "Traceback" not in result.stderr
