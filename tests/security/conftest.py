"""What the security tests share: one real pipeline with mutual TLS on, an
Ingest API token file, and a policy that names its workspace and its Ingest API
callers; and, for the input-handling tests, starting only the processes a test
needs and reading what a process logged since a mark."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from piiguard.security.local import provision
from tests.e2e.conftest import Harness, running_pipeline
from tests.support.pipeline import Pipeline
from tests.support.slack_standin import SlackStandIn

WORKSPACE = "T0001"
LISTED_CALLER = "billing-exporter"  # listed in the policy; authenticates with a token
UNLISTED_CALLER = "intruder-app"  # has a valid token, listed by no policy
CERT_CALLER = "crm-sync"  # listed; authenticates with a client certificate (CN)
TOKENS = {LISTED_CALLER: "tok-billing-0123456789abcdef", UNLISTED_CALLER: "tok-intruder-0123456789abcdef"}


@pytest.fixture(scope="package")
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture(scope="package")
def secured(tmp_path_factory: pytest.TempPathFactory, slack: SlackStandIn) -> Iterator[Harness]:
    workdir = tmp_path_factory.mktemp("secured")
    tokens = workdir / "ingest-api-tokens"
    tokens.write_text("# caller token\n" + "".join(f"{n} {t}\n" for n, t in TOKENS.items()))
    policy = (f"workspace:\n  teamId: {WORKSPACE}\n"
              f"ingestApi:\n  callers: [{LISTED_CALLER}, {CERT_CALLER}]\n")
    with running_pipeline(workdir, slack, policy,
                          extra_env={"PIIGUARD_INGEST_API_TOKENS_FILE": str(tokens)}) as harness:
        yield harness


SECRET = "test-signing-secret"


@dataclass
class Answer:
    status: int
    body: Any


class LogMark:
    """Where a process's log ended; what it logged since."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def lines(self) -> list[str]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            return handle.read().decode(errors="replace").splitlines()

    def wait_for_lines(self, predicate: Any, count: int = 1, timeout: float = 10.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.lines() if predicate(line)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


def sign(body: bytes, timestamp: str | None = None, secret: str = SECRET) -> dict[str, str]:
    """Slack's v0 signature over any bytes (slack_sdk's helper needs UTF-8)."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": f"v0={digest}"}


def post(pipeline: Pipeline, body: bytes, headers: dict[str, str], timeout: float = 15.0) -> Answer:
    request = urllib.request.Request(pipeline.events_url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raw = error.read()
        status = error.code
    try:
        parsed = json.loads(raw or b"{}")
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Answer(status, parsed)


def start_services(workdir: Path, names: tuple[str, ...], *, slack_api_url: str = "http://127.0.0.1:9/api/",
                   policy_yaml: str | None = None, extra_env: dict[str, str] | None = None) -> Pipeline:
    """nats-server and only the named services (the others are not needed to test
    how these refuse bad input; detection's model load is the slow part)."""
    workdir.mkdir(parents=True, exist_ok=True)
    policy = None
    if policy_yaml is not None:
        policy = workdir / "policy.yaml"
        policy.write_text(policy_yaml)
    pipeline = Pipeline(workdir, slack_api_url=slack_api_url, signing_secret=SECRET,
                        policy_path=policy, extra_env=extra_env)
    pipeline.nats.start(log_file=pipeline.log_path("nats-server"))
    provision(pipeline.nats.url, pipeline.nats_auth("operator"))  # streams, as piiguard up
    for name in names:
        pipeline.start_service(name)
    pipeline.wait_ready(names=names)
    return pipeline


def stop_services(pipeline: Pipeline) -> None:
    for name in list(pipeline.processes):
        pipeline.terminate(name)
    pipeline.nats.stop()
