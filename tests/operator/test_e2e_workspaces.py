"""End to end: the operator plus the three real services, two workspaces with
different policies, each message handled by its own workspace's policy.

Written against the documented conventions (per-workspace consumers from
``piiguard.policy_store``, policies from the ``piiguard-policies`` bucket through
``KvPolicyStore``), as the chart runs them: ``PIIGUARD_POLICY_SOURCE=kv``.
"""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from piiguard.natsserver import NatsServer
from piiguard_operator.crd import REPO_ROOT
from tests.support import slack_events
from tests.support.pipeline import Pipeline
from tests.support.slack_standin import SlackStandIn

from .conftest import (
    ADMIN_TOKEN,
    BOT_TOKEN,
    PROJECTED,
    RELEASE_NS,
    SIGNING_SECRET,
    ApiServer,
    Cluster,
    FakeVerifier,
    OperatorProcess,
    eventually,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(180),
]

HEALTH, ENGINEERING = "T0HEALTH01", "T0ENGINEER"
SHARED_SIGNING_SECRET = "e2e-shared-signing-secret"  # the services' env: workspaces without Secrets
AWS_KEY = "AKIA" + "Z7Q4J2XW5N3VKD6P"  # not AWS's documented example (the engineering allow-list)


def example_spec(name: str) -> dict[str, Any]:
    spec = yaml.safe_load((REPO_ROOT / "docs" / "examples" / f"{name}.yaml").read_text())["spec"]
    ref = {"name": "slack-creds"}
    spec["secrets"] = {
        "signingSecret": {**ref, "key": "signing-secret"},
        "botToken": {**ref, "key": "bot-token"},
        "adminToken": {**ref, "key": "admin-token"},
    }
    return spec


async def apost(pipeline: Pipeline, *args: Any, **kwargs: Any) -> int:
    """POST from a thread: the mock API server the services read Secrets from runs
    in this test's event loop, which must stay free to answer them."""
    return await asyncio.to_thread(post, pipeline, *args, **kwargs)


def post(pipeline: Pipeline, team: str, text: str, ts: str, channel: str = "C0GENERAL",
         secret: str = SIGNING_SECRET) -> int:
    payload = slack_events.message_event(text, ts=ts, channel=channel, team=team)
    body, headers = slack_events.signed(secret, payload)
    request = urllib.request.Request(pipeline.events_url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


async def refused(pipeline: Pipeline, team: str) -> bool:
    return await apost(pipeline, team, "probe: is the policy here?", ts="999.1",
                       secret=SHARED_SIGNING_SECRET) == 401


async def test_two_workspaces_each_follow_their_own_policy(apiserver: ApiServer, tmp_path: Path) -> None:
    with SlackStandIn() as slack, Pipeline(
        tmp_path, slack_api_url=slack.api_url, signing_secret=SHARED_SIGNING_SECRET,
        bot_token="xoxb-env-token-not-for-these-workspaces",
        extra_env={"PIIGUARD_POLICY_SOURCE": "kv", "PIIGUARD_KUBERNETES_API_URL": str(apiserver.url)},
        # As the chart runs them: each stage reads only its own projected Secret.
        service_env={stage: {"PIIGUARD_CREDENTIALS_SECRET": name, "POD_NAMESPACE": RELEASE_NS}
                     for stage, name in PROJECTED.items()},
    ) as pipeline:
        assert isinstance(pipeline.nats, NatsServer)  # one server, not a cluster
        cluster = Cluster(api=apiserver, nats=pipeline.nats, verifier=FakeVerifier())
        cluster.operator = OperatorProcess(cluster)
        await cluster.operator.start()
        try:
            cluster.add_secret()
            await cluster.create("st-marys-clinic", example_spec("healthcare"))
            await cluster.create("acme-engineering", example_spec("engineering"))
            await cluster.wait_condition("st-marys-clinic", "Ready", "True")
            await cluster.wait_condition("acme-engineering", "Ready", "True")
            # Ingest has each workspace's policy once it verifies that workspace's events
            # with the signing secret its PiiPolicy references (until then it uses the
            # environment's, and drops the event: no policy). A probe is clean either way.
            for team in (HEALTH, ENGINEERING):
                await eventually(lambda team=team: refused(pipeline, team), timeout=60,
                                 what=f"ingest following {team}'s policy")

            # Each workspace's events are verified with the signing secret its PiiPolicy
            # references (projected by the operator into ingest's own Secret, read by
            # ingest through the Kubernetes API).
            assert await apost(pipeline, HEALTH, "Patient MRN-12345678 was admitted with diabetes",
                               ts="100.1") == 200
            assert await apost(pipeline, HEALTH, "Reach me at jane.doe@example.org", ts="100.2") == 200
            assert await apost(pipeline, ENGINEERING, f"prod key {AWS_KEY}", ts="200.1") == 200
            assert await apost(pipeline, ENGINEERING, "Reach me at jane.doe@example.org", ts="200.2") == 200
            assert await apost(pipeline, ENGINEERING, f"fixture {AWS_KEY}", ts="200.3",
                               channel="C0STAGING1") == 200
            # Signed with another secret: refused, never handled with the wrong secrets.
            assert await apost(pipeline, HEALTH, f"prod key {AWS_KEY}", ts="100.9",
                        secret=SHARED_SIGNING_SECRET) == 401
            # A workspace with no PiiPolicy is recorded and dropped, never handled.
            assert await apost(pipeline, "T0STRANGER", f"prod key {AWS_KEY}", ts="300.1",
                        secret=SHARED_SIGNING_SECRET) == 200

            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (
                len(slack.deleted_messages()) < 2 or len(slack.notices()) < 3
            ):
                await asyncio.sleep(0.5)
            deleted = {ts for _, ts in slack.deleted_messages()}
            assert deleted == {"100.1", "200.1"}  # PHI in healthcare, the key in engineering
            notified = {n["ts"] for n in slack.notices()}
            assert {"100.1", "100.2", "200.1"} <= notified  # healthcare notifies on email
            assert "200.2" not in notified
            # Engineering ignores emails; its staging channel is not scanned at all.
            assert "200.2" not in deleted and "200.3" not in deleted and "300.1" not in deleted
            # The workspace's own tokens (from its Secret) did the work, not the environment's.
            assert {c.token for c in slack.calls("chat.delete")} == {ADMIN_TOKEN}
            assert {c.token for c in slack.calls("chat.postMessage")} == {BOT_TOKEN}
        finally:
            await cluster.operator.stop()
