"""No PII in the places documented as PII-free, proven on one end-to-end run.

The run plants PII in message text, in file names, in file contents and on the
failure paths (a file that cannot be downloaded, a delete Slack refuses for
good so the event is dead-lettered, a malformed request, garbage on gRPC, a
message too long for one DM). Then it sweeps every audit record on the stream,
every line every process logged (nats-server included), every span the
services exported (console exporter: into their logs), the dead-letter listing
and detail, the CLI's and the Audit gRPC's answers and every process's
``/metrics`` — and finds none of the
planted values, in any of the ways they could be written.

The Slack stand-in is not swept: the author's own DM quoting their message is
the product working (and the DM limits have their own tests)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import grpc
import nats
import pytest

from piiguard.jetstream import STREAM_AUDIT, read_subject
from piiguard.v1 import audit_pb2, audit_pb2_grpc, ingest_pb2
from tests.e2e.conftest import Harness, running_pipeline, wait_for
from tests.support import slack_events
from tests.support.slack_standin import Fault, SlackStandIn

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

CARDS = ["4539 1488 0343 6467", "5555 5555 5555 4444", "4012 8888 8888 1881", "3782 822463 10005"]
SSNS = ["536-22-1234", "219-09-9999", "321-54-9876"]
NAME_CARD, NAME_SSN = CARDS[1], SSNS[1]
FILE_NAMES = [f"statement {NAME_CARD}.txt", f"ssn {NAME_SSN} form.txt", f"refund {CARDS[3]}.txt"]
CONTENT = f"Employee SSN: {SSNS[2]}\nCorporate card: {CARDS[2]}\n".encode()
GONE_CHANNEL = "CSWEEPGONE"
POLICY = """
queues:
  detection: {maxAttempts: 2, backoff: ["200ms"], ackWait: 10s}
  action: {maxAttempts: 2, backoff: ["200ms"], ackWait: 10s}
"""


def renderings(value: str) -> set[str]:
    """The ways a value can be written: as planted, bare digits, other separators."""
    digits = re.sub(r"\D", "", value)
    groups = re.split(r"[ -]", value)
    return {value, digits, "-".join(groups), " ".join(groups), ".".join(groups)}


PLANTED = sorted({r for v in CARDS + SSNS for r in renderings(v)} | set(FILE_NAMES), key=len)


def leaks(text: str) -> list[str]:
    return [value for value in PLANTED if value in text]


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, slack: SlackStandIn) -> Iterator[tuple[Harness, list[str]]]:
    """The whole run; yields the harness and the correlation ids it produced."""
    spans = {"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "200"}
    with running_pipeline(tmp_path_factory.mktemp("sweep"), slack, POLICY, extra_env=spans) as harness:
        ids = list(_plant(harness))
        yield harness, ids


def _share(harness: Harness, text: str, names: list[str], *, user: str, channel: str = "C0001",
           broken: tuple[int, ...] = ()) -> dict[str, Any]:
    refs = []
    for i, name in enumerate(names):
        file_id = f"FSWEEP{user[-2:]}{i}"
        url = harness.slack.serve_file(f"{file_id}/x.txt", CONTENT, "text/plain")
        if i in broken:
            harness.slack.inject(Fault("files.download", count=1000, status=503,
                                       when=lambda args, f=file_id: str(args["path"]).startswith(f)))
        refs.append({"id": file_id, "name": name, "mimetype": "text/plain", "size": len(CONTENT),
                     "url_private_download": url})
    extra = {"files": refs} if refs else None
    payload = slack_events.message_event(text, user=user, channel=channel,
                                         subtype="file_share" if refs else None, extra=extra)
    assert harness.post(payload).status == 200
    return payload


def _plant(harness: Harness) -> Iterator[str]:
    slack = harness.slack
    slack.fail_permanently("chat.delete", "channel", GONE_CHANNEL, "cant_delete_message")
    posted = [
        # PII in the text only.
        _share(harness, f"card {CARDS[0]} and ssn {SSNS[0]}", [], user="USWEEP01"),
        # PII in file names and contents; one file cannot be downloaded at all.
        _share(harness, "the forms", FILE_NAMES, user="USWEEP02", broken=(2,)),
        # A clean text whose only file (PII in its name) cannot be downloaded.
        _share(harness, "see attached", [FILE_NAMES[0]], user="USWEEP03", broken=(0,)),
        # Slack refuses the delete for good: dead-lettered with the text inside.
        _share(harness, f"card {CARDS[0]} here", [FILE_NAMES[1]], user="USWEEP04", channel=GONE_CHANNEL),
        # Far longer than one DM.
        _share(harness, f"ssn {SSNS[0]} " + "filler text " * 5_000, [], user="USWEEP05"),
    ]
    # Malformed requests carrying PII: refused, and not echoed into a log line.
    bad = slack_events.message_event(f"card {CARDS[0]}", user="USWEEP06")
    bad["event"]["user"] = [CARDS[0], SSNS[0]]
    body = json.dumps(bad).encode()
    assert harness.post(raw=body).status == 400
    assert harness.post(raw=f"not json {CARDS[0]} {SSNS[0]}".encode()).status == 400
    with harness.pipeline.channel("ingest") as channel:
        stub = channel.unary_unary("/piiguard.v1.Ingest/SubmitEvent")
        with pytest.raises(grpc.RpcError) as refused:
            stub(f"\xff\x01{CARDS[0]}".encode(), timeout=10)
        assert refused.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED)
        request = ingest_pb2.SubmitEventRequest()
        request.event.event_id = "EvSweepBad"
        request.event.text = f"card {CARDS[0]}"
        with pytest.raises(grpc.RpcError):
            channel.unary_unary("/piiguard.v1.Ingest/SubmitEvent")(request.SerializeToString(), timeout=10)

    # Wait until every posted event has reached its end.
    for payload in posted[:3] + posted[4:]:
        ts = payload["event"]["ts"]
        wait_for(lambda ts=ts: harness.dms_about(ts), timeout=90)
    wait_for(lambda: any(d["correlation_id"] == posted[3]["event_id"] for d in _dlq(harness)), timeout=90)
    for payload in posted:
        yield str(payload["event_id"])


def _cli(harness: Harness, *args: str) -> str:
    env = harness.pipeline.cli_env()  # as the operators' admin identity
    result = subprocess.run([sys.executable, "-m", "piiguard", *args], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, (args, result.stderr)
    assert not leaks(result.stderr), (args, result.stderr)
    return result.stdout


def _dlq(harness: Harness) -> list[dict[str, Any]]:
    return list(json.loads(_cli(harness, "dlq", "list", "--json")))


def _audit_records(harness: Harness) -> list[bytes]:
    async def read() -> list[bytes]:
        nc = await nats.connect(harness.pipeline.nats.url,
                                **harness.pipeline.nats_auth().connect_options())
        try:
            return [raw.data or b"" async for raw in read_subject(nc.jetstream(), STREAM_AUDIT,
                                                                  "piiguard.audit.>")]
        finally:
            await nc.close()

    return asyncio.run(read())


def test_every_audit_record_is_free_of_pii(run: tuple[Harness, list[str]]) -> None:
    harness, ids = run
    records = _audit_records(harness)
    assert len(records) >= 3 * len(ids)  # received, scanned, deleted or dead-lettered, notified
    for data in records:
        record = audit_pb2.AuditRecord.FromString(data)
        assert not leaks(str(record)) and not leaks(data.decode(errors="replace")), record
    scanned = [audit_pb2.AuditRecord.FromString(d) for d in records]
    files = [f for r in scanned for f in r.files]
    assert files and all(not f.name for f in files)  # ids, types, sizes — no names
    assert any(f.in_file_name for r in scanned for f in r.findings)  # the names were scanned


def test_the_cli_and_the_audit_grpc_print_no_pii(run: tuple[Harness, list[str]]) -> None:
    harness, ids = run
    for correlation_id in ids:
        for args in (("events", correlation_id, "--json"), ("events", correlation_id)):
            out = _cli(harness, *args)
            assert out.strip() and not leaks(out), (args, leaks(out))
        with harness.pipeline.channel("ingest") as channel:
            answer = audit_pb2_grpc.AuditStub(channel).GetEventHistory(
                audit_pb2.GetEventHistoryRequest(correlation_id=correlation_id), timeout=10)
        assert answer.records and not leaks(str(answer))


def test_the_dead_letter_listing_shows_no_pii(run: tuple[Harness, list[str]]) -> None:
    harness, _ = run
    listing = _cli(harness, "dlq", "list", "--json")
    assert not leaks(listing) and not leaks(_cli(harness, "dlq", "list"))
    letters = json.loads(listing)
    assert letters  # the refused delete is there ...
    for letter in letters:
        shown = _cli(harness, "dlq", "show", str(letter["seq"]))
        assert not leaks(shown), shown


def test_no_metric_of_any_process_holds_pii(run: tuple[Harness, list[str]]) -> None:
    harness, _ = run
    for name, port in harness.pipeline.metrics_ports.items():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            exposition = response.read().decode(errors="replace")
        assert "piiguard" in exposition, name
        assert not leaks(exposition), (name, leaks(exposition))


def test_no_log_line_or_span_of_any_process_holds_pii(run: tuple[Harness, list[str]]) -> None:
    harness, _ = run
    for name in ("ingest", "detection", "action"):
        harness.pipeline.terminate(name)  # flush what is left of their spans
    output = harness.pipeline.output()
    output += harness.pipeline.log_path("nats-server").read_text(errors="replace")
    assert '"name": "detection process"' in output  # the spans are in there, and swept
    assert not leaks(output), leaks(output)
    assert "Traceback" not in output


def test_the_long_message_got_a_dm_within_slacks_limits(run: tuple[Harness, list[str]]) -> None:
    harness, _ = run
    dms = [c for c in harness.slack.calls("chat.postMessage")
           if (c.args.get("metadata") or {}).get("event_payload", {}).get("kinds") == "US_SSN"]
    long_dm = max(dms, key=lambda c: len(json.dumps(c.args.get("blocks"))))
    blocks = long_dm.args["blocks"]
    assert len(blocks) <= 50 and len(json.dumps(blocks)) < 20_000
    assert "Your message was longer" in json.dumps(blocks)
