"""`piiguard up` is secure by default on one machine: mutual TLS with a fresh CA,
NATS accounts, each service holding only its own Slack credentials, and the CLI
using the run's admin identity by itself."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import nats
import pytest

from piiguard.natsserver import free_port
from piiguard.v1 import audit_pb2, audit_pb2_grpc
from tests.e2e.conftest import wait_for
from tests.support import slack_events
from tests.support.slack_standin import SlackStandIn

pytestmark = pytest.mark.e2e

SECRET, BOT, ADMIN = "up-secure-signing-secret", "xoxb-up-secure-bot", "xoxp-up-secure-admin"


@dataclass
class Up:
    process: subprocess.Popen[bytes]
    log: Path
    data_dir: Path
    http_port: int
    slack: SlackStandIn
    env: dict[str, str]

    def grpc_port(self, service: str) -> int:
        line = next(x for x in self.log.read_text().splitlines() if x.startswith(f"{service}: gRPC on "))
        return int(line.split("gRPC on ")[1].split(",")[0].rsplit(":", 1)[1])

    def nats_url(self) -> str:
        line = next(x for x in self.log.read_text().splitlines() if x.startswith("nats-server: nats://"))
        return line.split()[1]


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    workdir = tmp_path_factory.mktemp("up-secure")
    http_port = free_port()
    log = workdir / "up.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NATS_", "PIIGUARD_"))}
    with SlackStandIn() as slack, open(log, "wb") as output:
        env.update(SLACK_SIGNING_SECRET=SECRET, SLACK_BOT_TOKEN=BOT, SLACK_ADMIN_TOKEN=ADMIN,
                   SLACK_API_URL=slack.api_url, PIIGUARD_HTTP_PORT=str(http_port), PYTHONUNBUFFERED="1")
        process = subprocess.Popen([sys.executable, "-m", "piiguard", "up", "--data-dir",
                                    str(workdir / "data")], env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: "PII Guard is up" in log.read_text() or process.poll() is not None,
                     timeout=180, interval=0.5)
            assert process.poll() is None, log.read_text()[-3000:]
            yield Up(process, log, workdir / "data", http_port, slack, env)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)


def children(parent: int) -> dict[str, dict[str, str]]:
    """The environment of each service process `piiguard up` started, by service."""
    found: dict[str, dict[str, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if ppid != parent:
            continue
        for service in ("ingest", "detection", "action"):
            if f"piiguard.{service}".encode() in cmdline:
                found[service] = dict(e.decode(errors="replace").split("=", 1) for e in environ if b"=" in e)
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_each_service_holds_only_its_own_credentials(up: Up) -> None:
    envs = wait_for(lambda: (c := children(up.process.pid)) and len(c) == 3 and c, timeout=30)
    assert envs
    slack = {name: {k for k in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SLACK_ADMIN_TOKEN")
                    if envs[name].get(k)} for name in envs}
    # ingest reads channel history with the bot token (the scheduled sweep); never the admin token
    assert slack == {"ingest": {"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN"}, "detection": {"SLACK_BOT_TOKEN"},
                     "action": {"SLACK_BOT_TOKEN", "SLACK_ADMIN_TOKEN"}}
    for name, env in envs.items():
        assert env["NATS_USER"] == name
        assert Path(env["PIIGUARD_TLS_CERT"]).name == f"{name}.pem"
        assert "PIIGUARD_INSECURE_PLAINTEXT" not in env


def test_grpc_needs_the_runs_certificates(up: Up) -> None:
    with (grpc.insecure_channel(f"127.0.0.1:{up.grpc_port('ingest')}") as channel,
          pytest.raises(grpc.RpcError) as refused):
        audit_pb2_grpc.AuditStub(channel).GetEventHistory(
            audit_pb2.GetEventHistoryRequest(correlation_id="EvX"), timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    tls = up.data_dir / "tls"
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(tls / "ca.pem").read_bytes(), private_key=(tls / "admin-key.pem").read_bytes(),
        certificate_chain=(tls / "admin.pem").read_bytes())
    with grpc.secure_channel(f"127.0.0.1:{up.grpc_port('ingest')}", credentials) as channel:
        answer = audit_pb2_grpc.AuditStub(channel).GetEventHistory(
            audit_pb2.GetEventHistoryRequest(correlation_id="EvNOTHING"), timeout=10)
    assert list(answer.records) == []


def test_nats_refuses_a_connection_without_an_account(up: Up) -> None:
    async def anonymous() -> None:
        nc = await nats.connect(up.nats_url(), allow_reconnect=False, max_reconnect_attempts=0,
                                connect_timeout=5)
        await nc.close()

    with pytest.raises(Exception):  # noqa: B017 (plaintext and no credentials: refused)
        asyncio.run(anonymous())


def test_the_cli_uses_the_runs_admin_identity_by_itself(up: Up) -> None:
    payload = slack_events.message_event("card 4539 1488 0343 6467 thanks")
    body, headers = slack_events.signed(SECRET, payload)
    request = urllib.request.Request(f"http://127.0.0.1:{up.http_port}/slack/events", data=body,
                                     headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    wait_for(lambda: up.slack.notices(), timeout=60)

    def history() -> list[dict[str, object]]:
        result = subprocess.run([sys.executable, "-m", "piiguard", "events", payload["event_id"],
                                 "--json", "--data-dir", str(up.data_dir)],
                                env=up.env, capture_output=True, text=True, timeout=60)
        return list(json.loads(result.stdout)) if result.returncode == 0 else []

    steps = {str(r["step"]) for r in wait_for(history, timeout=30)}
    assert "LIFECYCLE_STEP_RECEIVED" in steps
