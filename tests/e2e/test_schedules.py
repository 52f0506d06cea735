"""Scheduled jobs end to end: real nats-server firing real message schedules
(``@every`` a few seconds), the real ingest and action processes running them,
slack_sdk against the Slack stand-in.

* the reconciliation sweep finds a message the Events API never delivered and
  deletes it exactly once, however many sweeps see it;
* a message the live path already deleted is gone from history: later sweeps do
  nothing more with it;
* the digest reaches the admin channel with counts by kind and channel — no
  text, no values, no authors;
* the token check records a token Slack refuses;
* ``piiguard schedules`` lists the jobs with their next run.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from piiguard.jetstream import BUCKET_JOBS, connect
from piiguard.natsserver import NatsServer, free_port
from piiguard.policy import load_policy
from piiguard.schedules import read_schedules, reconcile_only, workspace_of
from tests.support import slack_events
from tests.support.slack_standin import Call, SlackStandIn

from .conftest import Harness, running_pipeline, wait_for

pytestmark = pytest.mark.e2e

ADMIN_CHANNEL = "C0ADMIN"
CARD = "refund to 4539 1488 0343 6467 please"
SSN = "for the payroll form, my SSN is 536-22-8471"
POLICY = f"""\
actions:
  adminChannel: {ADMIN_CHANNEL}
schedules:
  sweep: "@every 2s"
  sweepWindow: 1h
  digest: "@every 3s"
  tokenCheck: "@every 2s"
"""


def message(ts: float, text: str, user: str = "UALICE") -> dict[str, Any]:
    return {"type": "message", "user": user, "text": text, "ts": f"{ts:.6f}"}


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, slack: SlackStandIn) -> Iterator[Harness]:
    workdir = tmp_path_factory.mktemp("schedules")
    with running_pipeline(workdir, slack, POLICY) as harness:
        yield harness


def write_schedules(harness: Harness) -> None:
    """What ``piiguard up`` does with the local policy, as the operator identity."""
    assert harness.pipeline.policy_path is not None
    policy = load_policy(harness.pipeline.policy_path)

    async def write() -> list[str]:
        nc = await connect(harness.pipeline.nats.url, name="test-schedules",
                           auth=harness.pipeline.nats_auth("operator"))
        try:
            return await reconcile_only(nc.jetstream(), {workspace_of(policy): policy})
        finally:
            await nc.close()

    assert asyncio.run(write())


def job_result(harness: Harness, key: str) -> dict[str, Any] | None:
    async def read() -> dict[str, Any] | None:
        nc = await connect(harness.pipeline.nats.url, name="test-jobs", auth=harness.pipeline.nats_auth())
        try:
            kv = await nc.jetstream().key_value(BUCKET_JOBS)
            try:
                entry = await kv.get(key)
            except Exception:
                return None
            return dict(json.loads(entry.value or b"{}"))
        finally:
            await nc.close()

    return asyncio.run(read())


def sweeps(slack: SlackStandIn) -> int:
    """Scheduled sweeps begun so far (each lists the bot's channels once)."""
    return len(slack.calls("users.conversations"))


def digests(slack: SlackStandIn) -> list[Call]:
    return [c for c in slack.calls("chat.postMessage") if c.args.get("channel") == ADMIN_CHANNEL]


def test_the_jobs_run_on_their_schedules(harness: Harness, slack: SlackStandIn) -> None:
    now = time.time()
    missed = message(now - 600, CARD)  # posted while the Events API dropped deliveries
    clean = message(now - 500, "standup at ten, ticket 4539 is closed")
    old = message(now - 3 * 3600, SSN)  # outside the 1h window
    live = slack_events.message_event(SSN, user="UBOB", channel="C0002")
    live_ts = live["event"]["ts"]
    slack.add_history("C0001", [missed, clean, old])
    slack.add_history("C0002", [message(float(live_ts), SSN, user="UBOB")])

    # Delivered live and deleted before any schedule exists.
    assert harness.post(live).status == 200
    wait_for(lambda: harness.deletes_of(live_ts), timeout=60)

    write_schedules(harness)

    # The sweep finds the message the Events API never delivered, and deletes it.
    delete = wait_for(lambda: harness.deletes_of(missed["ts"]), timeout=90)
    assert delete[0].args["channel"] == "C0001"
    assert delete[0].token == "xoxp-test-admin-token"
    # More sweeps over the same window: nothing more happens to either message.
    seen = sweeps(slack)
    wait_for(lambda: sweeps(slack) >= seen + 3, timeout=60)
    harness.quiet()
    assert len(harness.deletes_of(missed["ts"])) == 1
    assert len(harness.deletes_of(live_ts)) == 1
    assert harness.deletes_of(old["ts"]) == [] and harness.deletes_of(clean["ts"]) == []
    result = job_result(harness, "_.sweep")
    assert result is not None and result["unreadable"] == {}

    # The digest: counts by kind and channel, nothing anyone wrote.
    def counted_both() -> list[Call]:
        return [c for c in digests(slack) if "Messages deleted: 2" in str(c.args.get("text"))]

    digest = wait_for(counted_both, timeout=60)[-1]
    text = str(digest.args["text"])
    assert digest.token == "xoxb-test-bot-token"
    assert "CREDIT_CARD 1" in text and "US_SSN 1" in text
    assert "<#C0001> 1" in text and "<#C0002> 1" in text
    assert "Dead letters waiting: 0" in text
    blocks = json.dumps(digest.args.get("blocks"))
    for leaked in ("4539 1488", "0343 6467", "536-22-8471", "refund", "payroll", "UALICE", "UBOB"):
        assert leaked not in text and leaked not in blocks

    # The token check: healthy, then the admin token is revoked.
    wait_for(lambda: (job_result(harness, "_.tokens") or {}).get("ok") is True, timeout=30)
    slack.revoke("xoxp-test-admin-token")
    def refused() -> dict[str, Any] | None:
        result = job_result(harness, "_.tokens")
        return result if result is not None and not result["ok"] else None

    failed = wait_for(refused, timeout=30)
    assert failed is not None and failed["tokens"] == {"bot": "ok", "admin": "invalid_auth"}

    # piiguard schedules lists them, with their next run.
    listed = subprocess.run([sys.executable, "-m", "piiguard", "schedules", "--json"],
                            env=harness.pipeline.cli_env(), capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr[-2000:]
    rows = {row["job"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == {"sweep", "digest", "tokencheck"}
    assert rows["sweep"]["schedule"] == "@every 2s" and rows["sweep"]["runsIn"] == "ingest"
    assert rows["digest"]["runsIn"] == "action" and rows["sweep"]["workspace"] == "_"
    assert all(row["nextRun"] for row in rows.values())
    table = subprocess.run([sys.executable, "-m", "piiguard", "schedules"],
                           env=harness.pipeline.cli_env(), capture_output=True, text=True, timeout=60)
    assert table.returncode == 0 and "tokencheck" in table.stdout and "NEXT RUN" in table.stdout

    # No PII in any process's output.
    for name in harness.pipeline.instances:
        output = harness.pipeline.log_path(name).read_text(errors="replace")
        for leaked in ("4539 1488 0343 6467", "536-22-8471"):
            assert leaked not in output, f"{name} logged PII"


def test_up_writes_the_local_policys_schedules_on_the_nats_server_it_is_given(tmp_path: Path) -> None:
    """``piiguard up`` with NATS_URL (no server of its own) still writes the schedules."""
    policy = tmp_path / "policy.yaml"
    policy.write_text('schedules:\n  sweep: "@every 1h"\n  digest: ""\n  timeZone: Europe/Berlin\n')
    log = tmp_path / "up.log"
    with NatsServer(tmp_path / "nats") as server, SlackStandIn() as slack, open(log, "wb") as output:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NATS_", "PIIGUARD_"))}
        env.update(SLACK_SIGNING_SECRET="s", SLACK_BOT_TOKEN="xoxb-up", SLACK_ADMIN_TOKEN="xoxp-up",
                   SLACK_API_URL=slack.api_url, NATS_URL=server.url, PIIGUARD_HTTP_PORT=str(free_port()),
                   PYTHONUNBUFFERED="1")
        process = subprocess.Popen([sys.executable, "-m", "piiguard", "up", "--policy", str(policy),
                                    "--data-dir", str(tmp_path / "data")],
                                   env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: "PII Guard is up" in log.read_text(), timeout=120, interval=0.5)
            # Every stage up, so the stop below is a clean one.
            wait_for(lambda: "detection: consuming" in log.read_text(), timeout=120, interval=0.5)

            async def listed() -> dict[str, Any]:
                nc = await connect(server.url, name="test-up-schedules")
                try:
                    return {s.job: s for s in await read_schedules(nc.jetstream())}
                finally:
                    await nc.close()

            found = asyncio.run(listed())
            assert set(found) == {"sweep", "tokencheck"}
            assert found["sweep"].schedule == "@every 3600s"
            assert found["tokencheck"].time_zone == "Europe/Berlin"
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(60)
    assert code == 0, log.read_text()[-2000:]
