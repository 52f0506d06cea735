"""The real pipeline (nats-server + ingest + detection + action processes) and a
Slack stand-in, shared by the end-to-end tests of one module."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import nats
import pytest

from piiguard.jetstream import STREAM_EVENTS
from piiguard.testing import slack_events
from piiguard.testing.pipeline import Pipeline
from piiguard.testing.slack_standin import Call, SlackStandIn

T = TypeVar("T")

EXCLUDED_CHANNEL = "CEXCLUDED"


@dataclass
class Answer:
    status: int
    body: dict[str, Any]


class Harness:
    """What an end-to-end test drives: POSTs to ingest, reads what Slack received."""

    def __init__(self, pipeline: Pipeline, slack: SlackStandIn) -> None:
        self.pipeline = pipeline
        self.slack = slack

    def post(self, payload: Any = None, *, raw: bytes | None = None, timestamp: int | None = None,
             secret: str | None = None, retry_num: int | None = None,
             headers: dict[str, str] | None = None) -> Answer:
        body, signed_headers = slack_events.signed(
            secret or self.pipeline.signing_secret, payload, timestamp=timestamp, raw=raw,
            retry_num=retry_num,
        )
        request = urllib.request.Request(
            self.pipeline.events_url, data=body, method="POST",
            headers={**signed_headers, **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Answer(response.status, json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as error:
            raw_body = error.read()
            try:
                parsed = json.loads(raw_body or b"{}")
            except ValueError:
                parsed = {"raw": raw_body.decode(errors="replace")}
            return Answer(error.code, parsed)

    def deletes_of(self, ts: str) -> list[Call]:
        return [c for c in self.slack.calls("chat.delete") if c.args.get("ts") == ts]

    def dms_about(self, ts: str) -> list[Call]:
        return [
            c for c in self.slack.calls("chat.postMessage")
            if (c.args.get("metadata") or {}).get("event_payload", {}).get("ts") == ts
        ]

    def stream_messages(self, stream: str = STREAM_EVENTS) -> int:
        async def count() -> int:
            nc = await nats.connect(self.pipeline.nats.url)
            try:
                info = await nc.jetstream().stream_info(stream)
                return int(info.state.messages)
            finally:
                await nc.close()

        return asyncio.run(count())


def wait_for(probe: Callable[[], T], timeout: float = 30.0, interval: float = 0.1) -> T:
    """Poll until ``probe()`` is truthy; return it, or fail with the last value."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = probe()
    assert value, f"condition not met within {timeout}s (last value: {value!r})"
    return value


def settle(probe: Callable[[], Any], duration: float = 3.0) -> Any:
    """Wait ``duration`` and return ``probe()``: for asserting that nothing happens."""
    time.sleep(duration)
    return probe()


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@contextmanager
def running_pipeline(workdir: Path, slack: SlackStandIn, policy_yaml: str) -> Iterator[Harness]:
    """The real pipeline under a policy (YAML), talking to ``slack``."""
    policy = workdir / "policy.yaml"
    policy.write_text(policy_yaml)
    pipeline = Pipeline(workdir, slack_api_url=slack.api_url, policy_path=policy)
    pipeline.start()
    try:
        yield Harness(pipeline, slack)
    finally:
        pipeline.stop()


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, slack: SlackStandIn) -> Iterator[Harness]:
    policy = f"channels:\n  exclude: [{EXCLUDED_CHANNEL}]\n"
    with running_pipeline(tmp_path_factory.mktemp("pipeline"), slack, policy) as harness:
        yield harness
