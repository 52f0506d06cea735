"""A scheduled job's delivery, end to end (real nats-server, the real action
process, slack_sdk against the Slack stand-in):

* the digest is posted once per firing: action SIGKILLed after Slack accepted the
  post and before the job was acknowledged, the redelivery (to the restarted
  action) finds the claim in the ``piiguard-actions`` ledger, sees the digest in
  the admin channel and posts nothing more;
* a digest job that failed is dead-lettered, and ``piiguard dlq replay`` (as the
  ``admin`` NATS user) re-publishes the job, which then runs.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from piiguard.jetstream import BUCKET_ACTIONS, STREAM_SCHEDULES, connect, job_consumer, job_subject
from piiguard.schedules import Job
from tests.support.slack_standin import Call, Fault, SlackStandIn

from .conftest import Harness, running_pipeline, wait_for

pytestmark = pytest.mark.e2e

ADMIN_CHANNEL = "C0ADMIN"
POLICY = f"""\
actions:
  adminChannel: {ADMIN_CHANNEL}
schedules:
  sweep: ""
  digest: ""
  tokenCheck: ""
"""


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, slack: SlackStandIn) -> Iterator[Harness]:
    workdir: Path = tmp_path_factory.mktemp("schedule-jobs")
    with running_pipeline(workdir, slack, POLICY) as harness:
        yield harness


def cli(harness: Harness, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "piiguard", *args], env=harness.pipeline.cli_env(),
                          capture_output=True, text=True, timeout=60)


def dead_letters(harness: Harness) -> list[dict[str, Any]]:
    listed = cli(harness, "dlq", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return list(json.loads(listed.stdout))


def digests(slack: SlackStandIn) -> list[Call]:
    return [c for c in slack.calls("chat.postMessage") if c.args.get("channel") == ADMIN_CHANNEL]


def fire(harness: Harness, job: Job) -> None:
    """What nats-server's scheduler does at a digest's time: publish the job."""
    async def publish() -> None:
        nc = await connect(harness.pipeline.nats.url, name="test-fire", auth=harness.pipeline.nats_auth())
        try:
            await nc.jetstream().publish(job_subject(job.job, job.workspace), job.encode())
        finally:
            await nc.close()

    asyncio.run(publish())


def digest_ledger(harness: Harness) -> tuple[set[str], int]:
    """The digests the ledger says were posted, and the digest jobs not yet acknowledged."""
    async def read() -> tuple[set[str], int]:
        nc = await connect(harness.pipeline.nats.url, name="test-ledger", auth=harness.pipeline.nats_auth())
        try:
            js = nc.jetstream()
            kv = await js.key_value(BUCKET_ACTIONS)
            try:
                keys = await kv.keys()
            except Exception:  # no keys yet
                keys = []
            info = await js.consumer_info(STREAM_SCHEDULES, job_consumer("digest"))
            return ({k for k in keys if ".digest." in k and k.endswith(".posted")},
                    info.num_pending + info.num_ack_pending)
        finally:
            await nc.close()

    return asyncio.run(read())


def test_a_digest_is_posted_once_though_action_dies_between_the_post_and_the_ack(
        harness: Harness, slack: SlackStandIn) -> None:
    posted_before, _ = digest_ledger(harness)
    calls_before, in_channel_before = len(digests(slack)), len(slack.messages_in(ADMIN_CHANNEL))
    # Slack takes its time over this post: action is killed while it waits for the answer.
    slack.inject(Fault("chat.postMessage", delay=3.0, when=lambda a: a.get("channel") == ADMIN_CHANNEL))
    fire(harness, Job("digest", "_"))
    wait_for(lambda: len(digests(slack)) > calls_before, timeout=60)
    harness.pipeline.kill("action")
    # Slack posted it all the same; the job was never acknowledged.
    wait_for(lambda: len(slack.messages_in(ADMIN_CHANNEL)) > in_channel_before, timeout=30)
    harness.pipeline.restart("action", kill=True, wait=True)

    # The job comes back after its ack wait; the restarted action finishes it.
    def finished() -> set[str] | None:
        posted, unacknowledged = digest_ledger(harness)
        return posted - posted_before if posted - posted_before and unacknowledged == 0 else None

    new = wait_for(finished, timeout=240, interval=1.0)
    assert new is not None and len(new) == 1
    assert len(digests(slack)) == calls_before + 1  # the one post: no second chat.postMessage
    assert len(slack.messages_in(ADMIN_CHANNEL)) == in_channel_before + 1
    assert "was posted before a crash" in harness.pipeline.log_path("action").read_text(errors="replace")


def test_a_dead_lettered_job_is_replayed_by_admin_and_runs(harness: Harness, slack: SlackStandIn) -> None:
    before = len(digests(slack))
    slack.fail_permanently("chat.postMessage", "channel", ADMIN_CHANNEL, "channel_not_found")
    fire(harness, Job("digest", "_"))
    letter = wait_for(lambda: next((d for d in dead_letters(harness) if d["stage"] == "action"), None),
                      timeout=60)
    assert letter is not None and "channel_not_found" in letter["reason"]
    assert len(digests(slack)) == before + 1  # tried once, refused

    slack.clear_failures()  # the channel is back
    replay = cli(harness, "dlq", "replay", str(letter["seq"]))
    assert replay.returncode == 0, replay.stderr
    posted = wait_for(lambda: digests(slack)[before + 1:], timeout=60)
    assert "PII Guard: the last 24 hours" in str(posted[0].args["text"])
    assert all(d["seq"] != letter["seq"] for d in dead_letters(harness))
