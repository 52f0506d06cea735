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
from piiguard.v1 import audit_pb2, audit_pb2_grpc
from tests.support import slack_events
from tests.support.pipeline import Pipeline
from tests.support.slack_standin import Call, SlackStandIn

T = TypeVar("T")

EXCLUDED_CHANNEL = "CEXCLUDED"
# An external Ingest API caller that the harness's policy lists (certificate CN).
SUBMITTER = "e2e-submitter"


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

    def history(self, correlation_id: str) -> list[audit_pb2.AuditRecord]:
        """The event's audit trail (``Audit/GetEventHistory`` on ingest), oldest first."""
        with self.pipeline.channel("ingest", "admin") as channel:
            answer = audit_pb2_grpc.AuditStub(channel).GetEventHistory(
                audit_pb2.GetEventHistoryRequest(correlation_id=correlation_id), timeout=10)
        return list(answer.records)

    def steps(self, correlation_id: str) -> list[str]:
        return [audit_pb2.LifecycleStep.Name(r.step)[len("LIFECYCLE_STEP_"):]
                for r in self.history(correlation_id)]

    def scanned(self, correlation_id: str, timeout: float = 60.0) -> audit_pb2.AuditRecord:
        """Wait for detection's verdict on the event (its SCANNED record) and return it.

        Detection hands a delete/notify verdict to action *before* recording SCANNED, so
        a SCANNED record with VERDICT_ALLOW proves positively that nothing will be done."""
        def scanned() -> audit_pb2.AuditRecord | None:
            return next((r for r in self.history(correlation_id)
                         if r.step == audit_pb2.LIFECYCLE_STEP_SCANNED), None)

        record = wait_for(scanned, timeout=timeout)
        assert record is not None
        return record

    def quiet(self, timeout: float = 60.0) -> None:
        """Wait until no stage holds work: every accepted event consumed and acknowledged."""
        wait_for(self.pipeline.drained, timeout=timeout, interval=0.2)

    def never_published(self, correlation_id: str) -> bool:
        """Ingest records RECEIVED right after publishing and before answering: without it,
        the event never reached a stream, so nothing can ever act on it."""
        return "RECEIVED" not in self.steps(correlation_id)

    def stream_messages(self, stream: str = STREAM_EVENTS) -> int:
        """How many messages the stream has ever stored (its last sequence): the work
        streams remove handled messages, so what they hold now says nothing about
        what was published."""
        async def count() -> int:
            nc = await nats.connect(self.pipeline.nats.url,
                                    **self.pipeline.nats_auth().connect_options())
            try:
                info = await nc.jetstream().stream_info(stream)
                return int(info.state.last_seq)
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


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@contextmanager
def running_pipeline(workdir: Path, slack: SlackStandIn, policy_yaml: str,
                     extra_env: dict[str, str] | None = None) -> Iterator[Harness]:
    """The real pipeline under a policy (YAML), talking to ``slack``."""
    policy = workdir / "policy.yaml"
    policy.write_text(policy_yaml)
    pipeline = Pipeline(workdir, slack_api_url=slack.api_url, policy_path=policy,
                        extra_env=extra_env)
    pipeline.start()
    try:
        yield Harness(pipeline, slack)
    finally:
        pipeline.stop()


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, slack: SlackStandIn) -> Iterator[Harness]:
    policy = (f"workspace:\n  teamId: T0001\ningestApi:\n  callers: [{SUBMITTER}]\n"
              f"channels:\n  exclude: [{EXCLUDED_CHANNEL}]\n")
    with running_pipeline(tmp_path_factory.mktemp("pipeline"), slack, policy) as harness:
        yield harness
