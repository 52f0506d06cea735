"""Fail safe: what is known is acted on at once, what could not be read is
retried or reported on its own, and a scan that failed never passes as clean.
Real pipeline processes; the Slack stand-in fails file downloads on request, and
a probe module (loaded by detection at start, like any site customisation)
makes the engine fail on one marker text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from piiguard.v1 import audit_pb2, audit_pb2_grpc
from tests.e2e.conftest import Harness, wait_for
from tests.support import slack_events
from tests.support.pipeline import Pipeline
from tests.support.slack_standin import Fault, SlackStandIn

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

MAX_FILES = 8
POLICY = f"""
detection:
  files:
    maxFiles: {MAX_FILES}
queues:
  detection: {{maxAttempts: 3, backoff: ["300ms", "600ms"], ackWait: 10s}}
  action: {{maxAttempts: 3, backoff: ["200ms", "500ms"], ackWait: 10s}}
"""
PROBE = "FAILCLOSED-PROBE"
CARD = "4539 1488 0343 6467"
SSN_FILE = b"Employee: J. Doe\nSSN: 536-22-1234\n"
CLEAN_FILE = b"Agenda: quarterly planning, budget review.\n"

# Loaded by every process through PYTHONPATH; only detection scans text. A bug
# in the engine, on one marker text: the exception's message quotes a card
# number, which must reach no log line or dead-letter reason.
SITECUSTOMIZE = textwrap.dedent(f'''
    from piiguard.detection import engine as _engine

    _original = _engine.DetectionEngine._analyze_chunk

    def _failing(self, text, *args, **kwargs):
        if "{PROBE}" in text:
            raise RuntimeError("broken near {CARD}")
        return _original(self, text, *args, **kwargs)

    _engine.DetectionEngine._analyze_chunk = _failing
''')


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, slack: SlackStandIn) -> Iterator[Harness]:
    workdir = tmp_path_factory.mktemp("fail-safe")
    probe = workdir / "probe"
    probe.mkdir()
    (probe / "sitecustomize.py").write_text(SITECUSTOMIZE)
    (workdir / "policy.yaml").write_text(POLICY)
    path = os.pathsep.join([str(probe), os.environ.get("PYTHONPATH", "")])
    pipeline = Pipeline(workdir, slack_api_url=slack.api_url, policy_path=workdir / "policy.yaml",
                        extra_env={"PYTHONPATH": path})
    pipeline.start()
    try:
        yield Harness(pipeline, slack)
    finally:
        pipeline.stop()


_counter = iter(range(1, 10_000))


def share(harness: Harness, text: str, files: list[tuple[str, bytes]], user: str,
          prepare: Callable[[list[str]], None] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Post a message sharing ``files``; ``prepare(file ids)`` runs before it is posted."""
    refs = []
    for name, data in files:
        file_id = f"FSAFE{next(_counter):05d}"
        url = harness.slack.serve_file(f"{file_id}/{name}", data, "text/plain")
        refs.append({"id": file_id, "name": name, "mimetype": "text/plain", "size": len(data),
                     "url_private_download": url})
    payload = slack_events.message_event(text, user=user, subtype="file_share" if refs else None,
                                         extra={"files": refs} if refs else None)
    if prepare is not None:
        prepare([r["id"] for r in refs])
    answer = harness.post(payload)
    assert answer.status == 200, answer
    return payload, [r["id"] for r in refs]


def fail_downloads(harness: Harness, file_id: str, count: int, status: int = 503) -> None:
    harness.slack.inject(Fault("files.download", count=count, status=status,
                               when=lambda args: str(args.get("path", "")).startswith(file_id)))


def history(harness: Harness, correlation_id: str) -> list[audit_pb2.AuditRecord]:
    with harness.pipeline.channel("ingest") as channel:
        return list(audit_pb2_grpc.AuditStub(channel).GetEventHistory(
            audit_pb2.GetEventHistoryRequest(correlation_id=correlation_id), timeout=10).records)


def steps(harness: Harness, correlation_id: str, stage: str = "detection") -> list[str]:
    records = history(harness, correlation_id)
    return [audit_pb2.LifecycleStep.Name(r.step) for r in records if r.stage == stage]


def dead_letters(harness: Harness) -> list[dict[str, Any]]:
    env = harness.pipeline.cli_env()  # as the operators' admin identity
    result = subprocess.run([sys.executable, "-m", "piiguard", "dlq", "list", "--json"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def dm_sections(harness: Harness, ts: str) -> str:
    dm = wait_for(lambda: harness.dms_about(ts), timeout=60)[0]
    return "\n".join(b["text"]["text"] for b in dm.args["blocks"] if b.get("type") == "section")


def test_text_pii_is_deleted_at_once_when_its_file_cannot_be_downloaded(harness: Harness) -> None:
    payload, _ = share(harness, f"card {CARD} for the hotel", [("receipt.txt", CLEAN_FILE)],
                       user="USAFE1", prepare=lambda ids: fail_downloads(harness, ids[0], count=1000))
    ts = payload["event"]["ts"]
    wait_for(lambda: harness.deletes_of(ts), timeout=30)
    said = dm_sections(harness, ts)
    assert "receipt.txt: could not be scanned (download failed (HTTP 503" in said, said
    scanned = wait_for(lambda: steps(harness, payload["event_id"]).count("LIFECYCLE_STEP_SCANNED"))
    assert scanned == 1
    assert "LIFECYCLE_STEP_RETRIED" not in steps(harness, payload["event_id"])  # acted on the first try
    assert "LIFECYCLE_STEP_DEAD_LETTERED" not in steps(harness, payload["event_id"])
    record = next(r for r in history(harness, payload["event_id"])
                  if r.step == audit_pb2.LIFECYCLE_STEP_SCANNED)
    assert {f.entity_type for f in record.findings} == {"CREDIT_CARD", "UNSCANNABLE_FILE"}
    assert [s.scanned for s in record.files] == [False]


def test_a_pii_file_is_acted_on_when_its_sibling_cannot_be_downloaded(harness: Harness) -> None:
    payload, _ = share(harness, "two forms", [("form.txt", SSN_FILE), ("other.txt", CLEAN_FILE)],
                       user="USAFE2", prepare=lambda ids: fail_downloads(harness, ids[1], 1000, status=500))
    ts = payload["event"]["ts"]
    wait_for(lambda: harness.deletes_of(ts), timeout=30)
    said = dm_sections(harness, ts)
    assert "form.txt: US social security number" in said, said
    assert "other.txt: could not be scanned (download failed (HTTP 500" in said, said
    assert "LIFECYCLE_STEP_RETRIED" not in steps(harness, payload["event_id"])


def test_a_clean_message_is_retried_until_its_file_is_read(harness: Harness) -> None:
    # The first two attempts fail, the third reads it.
    payload, _ = share(harness, "see the attached form", [("form.txt", SSN_FILE)], user="USAFE3",
                       prepare=lambda ids: fail_downloads(harness, ids[0], count=2))
    ts = payload["event"]["ts"]
    wait_for(lambda: harness.deletes_of(ts), timeout=60)
    assert steps(harness, payload["event_id"]).count("LIFECYCLE_STEP_RETRIED") == 2
    assert "form.txt: US social security number" in dm_sections(harness, ts)


def test_an_unreadable_file_is_reported_on_its_own_never_dead_lettered(harness: Harness) -> None:
    payload, _ = share(harness, "see the attached agenda", [("agenda.txt", CLEAN_FILE)],
                       user="USAFE4", prepare=lambda ids: fail_downloads(harness, ids[0], count=1000))
    ts = payload["event"]["ts"]
    said = dm_sections(harness, ts)  # UNSCANNABLE_FILE notifies (the default policy)
    assert "agenda.txt: could not be scanned (download failed (HTTP 503))" in said, said
    assert not harness.deletes_of(ts)
    history_steps = steps(harness, payload["event_id"])
    assert history_steps.count("LIFECYCLE_STEP_RETRIED") == 2
    assert "LIFECYCLE_STEP_DEAD_LETTERED" not in history_steps
    assert not [d for d in dead_letters(harness) if d["correlation_id"] == payload["event_id"]]


def test_files_beyond_the_cap_are_reported_and_downloads_are_bounded(harness: Harness) -> None:
    count = MAX_FILES + 6
    files = [(f"notes-{i}.txt", CLEAN_FILE) for i in range(count)]
    harness.slack.reset()

    def slow(ids: list[str]) -> None:  # each download stays in flight a while: concurrency shows
        for file_id in ids:
            harness.slack.inject(Fault("files.download", count=1, delay=1.0,
                                       when=lambda args, f=file_id: str(args["path"]).startswith(f)))

    payload, ids = share(harness, "meeting notes", files, user="USAFE5", prepare=slow)
    ts = payload["event"]["ts"]
    said = dm_sections(harness, ts)
    downloads = {c.args["path"].split("/")[0] for c in harness.slack.calls("files.download")}
    assert downloads == set(ids[:MAX_FILES])  # the rest are never fetched ...
    for i in range(MAX_FILES, count):  # ... and never silently skipped
        assert f"notes-{i}.txt: could not be scanned (beyond the {MAX_FILES}-file limit of one message)" \
            in said, said
    assert 1 <= harness.slack.most_concurrent_downloads() <= 4
    record = next(r for r in history(harness, payload["event_id"])
                  if r.step == audit_pb2.LIFECYCLE_STEP_SCANNED)
    assert len(record.files) == count
    assert sum(not s.scanned for s in record.files) == count - MAX_FILES


def test_an_engine_failure_is_retried_then_dead_lettered_never_clean(harness: Harness) -> None:
    payload = slack_events.message_event(f"{PROBE} nothing to find here", user="USAFE6")
    assert harness.post(payload).status == 200
    letter = wait_for(lambda: next((d for d in dead_letters(harness)
                                    if d["correlation_id"] == payload["event_id"]), None), timeout=60)
    assert letter is not None
    assert letter["stage"] == "detection" and letter["attempts"] == 3
    assert "detection failed on the message text: RuntimeError at" in letter["reason"], letter
    history_steps = steps(harness, payload["event_id"])
    assert "LIFECYCLE_STEP_SCANNED" not in history_steps  # never recorded as scanned clean
    assert history_steps.count("LIFECYCLE_STEP_RETRIED") == 2
    output = harness.pipeline.output()
    assert CARD not in output and CARD not in json.dumps(dead_letters(harness))


def test_an_engine_failure_on_the_text_does_not_hold_back_a_pii_file(harness: Harness) -> None:
    payload, _ = share(harness, f"{PROBE} the form", [("form.txt", SSN_FILE)], user="USAFE7")
    wait_for(lambda: harness.deletes_of(payload["event"]["ts"]), timeout=30)  # deleted: the text is moot


def test_workers_lived_through_it(harness: Harness) -> None:
    for name, process in harness.pipeline.processes.items():
        assert process.poll() is None, name
    assert "Traceback" not in harness.pipeline.output()
