"""``piiguard sweep --dry-run`` against the Slack stand-in with the real slack_sdk:
it pages through history and threads by cursor, waits out a 429's Retry-After,
reports each message it would act on (channel, ts, kinds — never text) and acts
on nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.slack_standin import Fault, SlackStandIn

CARD = "refund to 4539 1488 0343 6467 please"
SSN = "my SSN is 536-22-8471 for the form"
GITHUB_TOKEN = "ghp_" + "R8x2Lq7VmN4pK9sT3wY6zA1cD5fG0hJ2kE7u"
CLEAN = ["standup at ten", "ticket 4539 is closed", "build 4.2.1 is green"]
DAY = 86_400.0


def message(ts: float, text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "user": "UALICE", "text": text, "ts": f"{ts:.6f}", **extra}


@pytest.fixture()
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


def run_sweep(slack: SlackStandIn, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PIIGUARD_"))}
    env.update(SLACK_BOT_TOKEN="xoxb-test-bot-token", SLACK_API_URL=slack.api_url)
    return subprocess.run([sys.executable, "-m", "piiguard", "sweep", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_dry_run_reports_what_history_holds_across_pages_and_threads(slack: SlackStandIn) -> None:
    now = time.time()
    history = [message(now - DAY - i, CLEAN[i % 3]) for i in range(450)]  # three pages of 200
    card = message(now - 2 * DAY, CARD)
    parent = message(now - 3 * DAY, "payroll thread", reply_count=1, thread_ts=f"{now - 3 * DAY:.6f}")
    reply = message(now - 3 * DAY + 5, SSN, thread_ts=parent["ts"])
    old = message(now - 90 * DAY, GITHUB_TOKEN)  # outside --since 30d
    bot = message(now - DAY + 0.5, GITHUB_TOKEN, bot_id="BOTHER", subtype="bot_message")
    slack.add_history("C0001", [*history, card, parent, old, bot], replies={parent["ts"]: [reply]})
    slack.add_history("C0002", [message(now - 4 * DAY, GITHUB_TOKEN)])
    slack.inject(Fault("conversations.history", status=429, retry_after=1))

    result = run_sweep(slack, "--channel", "C0001", "--since", "30d", "--dry-run")

    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    flagged = {(r["channel"], r["ts"]): r for r in lines if "ts" in r}
    assert set(flagged) == {("C0001", card["ts"]), ("C0001", reply["ts"])}
    assert flagged["C0001", card["ts"]]["kinds"] == {"CREDIT_CARD": 1}
    assert flagged["C0001", reply["ts"]]["kinds"] == {"US_SSN": 1}
    assert flagged["C0001", reply["ts"]]["thread_ts"] == parent["ts"]
    total = lines[-1]
    assert total["dry_run"] is True and total["channels"] == 1
    # Read: the 450, the card, the thread's parent, its reply and the other bot's post;
    # scanned: all but that bot's post (and never the 90-day-old message).
    assert total["summary"]["read"] == 450 + 4 and total["summary"]["scanned"] == 450 + 3
    assert total["summary"]["would_act_on"] == 2
    # Paged by cursor, the 429 waited out and asked again, the thread read; nothing done.
    pages = slack.calls("conversations.history")
    assert len(pages) == 1 + 3 and sum(1 for c in pages if c.args.get("cursor")) == 2
    assert pages[1].at - pages[0].at >= 0.9, "Retry-After not honoured"
    assert [c.args["ts"] for c in slack.calls("conversations.replies")] == [parent["ts"]]
    assert not slack.calls("chat.delete") and not slack.calls("chat.postMessage")
    for secret in ("4539 1488", "536-22-8471", GITHUB_TOKEN, CARD, SSN):
        assert secret not in result.stdout + result.stderr


def test_every_channel_the_bot_is_in_when_none_is_named(slack: SlackStandIn) -> None:
    now = time.time()
    slack.add_history("C0001", [message(now - DAY, CLEAN[0])])
    slack.add_history("C0002", [message(now - DAY, CARD)])
    result = run_sweep(slack, "--dry-run")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["channel"], r["kinds"]) for r in lines if "ts" in r] == [("C0002", {"CREDIT_CARD": 1})]
    assert lines[-1]["channels"] == 2 and slack.calls("users.conversations")


@pytest.mark.parametrize("args, reason", [
    (("--wait", "soon"), "--wait"),
    (("--dry-run", "--since", "soon"), "--since"),
    (("--dry-run", "--oldest", "yesterday"), "--oldest"),
])
def test_refusals_are_one_line_and_exit_2(slack: SlackStandIn, args: tuple[str, ...], reason: str) -> None:
    result = run_sweep(slack, *args)
    assert result.returncode == 2
    assert reason in result.stderr and "Traceback" not in result.stderr
    assert not slack.calls("conversations.history")
