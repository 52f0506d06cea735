"""``piiguard up`` supervises its children: each of them — nats-server included — is
SIGKILLed, repeatedly, while events are being posted; every killed process is
reaped (no zombie), restarted on the same ports and data, and every event Slack
got a 200 for is acted on exactly once, while ``piiguard up`` keeps running.
A configuration error (a child exiting with code 2) is the one thing that stops
it, and it says which child."""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from piiguard.natsserver import free_port
from piiguard.security.local import local_admin
from tests.support import slack_events
from tests.support.pipeline import consumers_drained
from tests.support.slack_standin import SlackStandIn

from .conftest import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

SECRET = "supervised-signing-secret"
CHILDREN = ("nats-server", "ingest", "detection", "action")
KILLS_PER_CHILD = 2
POLICY = """
queues:
  detection: {maxAttempts: 20, backoff: ["200ms", "500ms", "1s"], ackWait: 8s}
  action: {maxAttempts: 20, backoff: ["200ms", "500ms", "1s"], ackWait: 8s}
"""


def up_env(http_port: int, api_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NATS_URL", "PIIGUARD_"))}
    env.update(SLACK_SIGNING_SECRET=SECRET, SLACK_BOT_TOKEN="xoxb-up", SLACK_ADMIN_TOKEN="xoxp-up",
               SLACK_API_URL=api_url, PIIGUARD_HTTP_PORT=str(http_port), PYTHONUNBUFFERED="1")
    return env


def children_of(pid: int) -> dict[str, int]:
    """The live processes ``pid`` started, by child name (from their command lines)."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) != pid:  # fields[1]: the parent's pid
            continue
        words = [w.decode(errors="replace") for w in cmdline if w]
        if words and words[0].endswith("nats-server"):
            found["nats-server"] = int(entry.name)
        for name in CHILDREN[1:]:
            if f"piiguard.{name}" in words:
                found[name] = int(entry.name)
    return found


def state_of(pid: int) -> str | None:
    """The kernel's state letter of ``pid`` (``Z`` for a zombie), ``None`` once reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()[0]


@dataclass
class Up:
    process: subprocess.Popen[bytes]
    log: Path
    http_port: int
    slack: SlackStandIn
    policy: Path
    data_dir: Path

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/slack/events"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def nats_url(self) -> str:
        line = next(x for x in self.output().splitlines() if x.startswith("nats-server: nats://"))
        return line.split()[1]


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    workdir = tmp_path_factory.mktemp("up-supervised")
    policy = workdir / "policy.yaml"
    policy.write_text(POLICY)
    http_port = free_port()
    log = workdir / "up.log"
    with SlackStandIn() as slack, open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "piiguard", "up", "--policy", str(policy),
             "--data-dir", str(workdir / "nats")],
            env=up_env(http_port, slack.api_url), stdout=output, stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: "PII Guard is up" in log.read_text() or process.poll() is not None,
                     timeout=180, interval=0.5)
            assert process.poll() is None, log.read_text()[-3000:]
            yield Up(process, log, http_port, slack, policy, workdir / "nats")
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(90)


def kill_and_replace(up: Up, victim: str) -> int:
    """SIGKILL the child ``victim``; wait until it is reaped (no zombie) and a new one runs."""

    def current() -> int | None:
        return children_of(up.process.pid).get(victim)

    old = wait_for(current, timeout=120, interval=0.2)
    assert old is not None
    os.kill(old, signal.SIGKILL)

    def reaped() -> bool:
        return state_of(old) is None

    def replaced() -> int | None:
        pid = current()
        return pid if pid is not None and pid != old else None

    wait_for(reaped, timeout=10, interval=0.1)
    wait_for(replaced, timeout=120, interval=0.2)
    return old


def post_until_accepted(up: Up, payload: dict[str, Any], accepted: set[str], lock: threading.Lock,
                        deadline: float) -> None:
    """What Slack does: re-send (X-Slack-Retry-Num) until it gets a 200."""
    attempt = 0
    while time.monotonic() < deadline:
        body, headers = slack_events.signed(SECRET, payload, retry_num=attempt or None)
        request = urllib.request.Request(up.events_url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    with lock:
                        accepted.add(payload["event_id"])
                    return
        except (urllib.error.URLError, OSError, TimeoutError):
            pass
        attempt += 1
        time.sleep(0.25)
    raise AssertionError(f"event {payload['event_id']} never accepted")


def test_every_child_killed_under_load_is_restarted_and_nothing_is_lost_or_doubled(up: Up) -> None:
    rng = random.Random(11)
    before = children_of(up.process.pid)
    assert set(before) == set(CHILDREN), before

    # Load: PII and clean messages posted all through the kills.
    planned: list[tuple[dict[str, Any], bool]] = []
    for i in range(120):
        pii = i % 3 == 0
        text = (f"card 4539 1488 0343 6467, ticket {i}" if pii else f"standup notes, item {i}")
        planned.append((slack_events.message_event(text, channel=f"C{i % 4:03d}",
                                                   ts=f"{1_810_000_000 + i}.000100"), pii))
    accepted: set[str] = set()
    lock = threading.Lock()
    stop_sending = threading.Event()
    deadline = time.monotonic() + 400

    def sender(share: list[tuple[dict[str, Any], bool]]) -> None:
        for payload, _ in share:
            if stop_sending.is_set():
                return
            post_until_accepted(up, payload, accepted, lock, deadline)
            time.sleep(rng.uniform(0.05, 0.3))

    senders = [threading.Thread(target=sender, args=(planned[k::3],), daemon=True) for k in range(3)]
    for thread in senders:
        thread.start()

    # Kill each child, in turn, KILLS_PER_CHILD times; each time it must be reaped and come back.
    kills: collections.Counter[str] = collections.Counter()
    for victim in [name for _ in range(KILLS_PER_CHILD) for name in CHILDREN]:
        old = kill_and_replace(up, victim)
        kills[victim] += 1
        assert old is not None
        assert up.process.poll() is None, up.output()[-3000:]
        time.sleep(rng.uniform(0.5, 2.0))  # the load runs on between kills

    for thread in senders:
        thread.join(deadline - time.monotonic())
    assert accepted == {payload["event_id"] for payload, _ in planned}

    # Every PII message deleted and DM'd exactly once; no clean one touched.
    expected = {(p["event"]["channel"], p["event"]["ts"]) for p, pii in planned if pii}
    wait_for(lambda: expected <= up.slack.deleted_messages(), timeout=240, interval=0.5)
    wait_for(lambda: len(up.slack.notices()) >= len(expected), timeout=120, interval=0.5)
    # Positive proof that nothing more is coming: every stage's consumer has nothing
    # pending and nothing awaiting an ack (no redelivery can still act twice).
    operator = local_admin(up.data_dir, "operator")  # consumer figures: the operator's account
    assert operator is not None
    wait_for(lambda: consumers_drained(up.nats_url(), operator[1]), timeout=120, interval=0.5)

    assert up.slack.deleted_messages() == expected
    notices = collections.Counter((n["channel"], n["ts"]) for n in up.slack.notices())
    assert {k: v for k, v in notices.items() if v != 1} == {}
    assert set(notices) == expected
    # chat.delete itself may be called again for a message already gone: action killed
    # between Slack's answer and its ledger write retries, and Slack answers
    # message_not_found (a no-op). It is only ever aimed at the PII messages.
    deleted_ts = {str(c.args.get("ts")) for c in up.slack.calls("chat.delete")}
    assert deleted_ts == {ts for _, ts in expected}, deleted_ts

    # Still running, every child alive; each restart announced with its backoff.
    assert up.process.poll() is None
    assert set(children_of(up.process.pid)) == set(CHILDREN)
    printed = up.output()
    for name in CHILDREN:
        assert printed.count(f"piiguard up: {name} exited (killed by SIGKILL); restarting in ") \
            == KILLS_PER_CHILD, printed[-3000:]
    assert "4539 1488 0343 6467" not in printed


def test_a_configuration_error_stops_up_and_names_the_child(up: Up) -> None:
    # The policy file turns invalid; a restart of action cannot help, so up stops and says so.
    up.policy.write_text("queues: {action: {maxAttempts: not-a-number}}\n")
    children = children_of(up.process.pid)
    os.kill(children["action"], signal.SIGKILL)
    code = up.process.wait(120)
    printed = up.output()
    assert code == 2, printed[-3000:]
    assert "piiguard up: action refused its configuration (exit 2); stopping" in printed
    assert "PII Guard stopped." in printed
    assert {name: state_of(pid) for name, pid in children.items()} == dict.fromkeys(children)
