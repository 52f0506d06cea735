"""Files, end to end: a message sharing a screenshot, a photo, a PDF or a
``.env`` with PII disappears with its files, and the author's DM names each file
and what was in it. Clean look-alikes are untouched; hostile files (corrupt,
zip bomb, decompression bomb, 200 pages, over the size limit) each get their
documented outcome: an ``UNSCANNABLE_FILE`` notice, nothing deleted, the
detection worker alive.

Real pipeline, real Tesseract; the Slack stand-in serves the files.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from piiguard.v1 import audit_pb2, audit_pb2_grpc, detection_pb2
from tests.files import samples
from tests.support import slack_events
from tests.support.slack_standin import SlackStandIn

from .conftest import Harness, running_pipeline, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

MAX_BYTES = 1024 * 1024  # this module's policy: files up to 1 MiB
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, slack: SlackStandIn) -> Iterator[Harness]:
    policy = f"detection:\n  files:\n    maxBytes: {MAX_BYTES}\n    maxPages: 30\n"
    with running_pipeline(tmp_path_factory.mktemp("files-pipeline"), slack, policy) as harness:
        yield harness


def share(harness: Harness, files: list[tuple[str, bytes, str]], *, text: str = "",
          user: str = "UFILES", declared_size: int | None = None, relative: bool = False,
          thread_ts: str | None = None) -> tuple[dict, list[str]]:
    """Post a ``file_share`` message with ``files`` (name, bytes, mimetype) served by
    the stand-in; returns the payload and the file ids."""
    refs = []
    for name, data, mimetype in files:
        file_id = f"F{next(_ids):06d}"
        url = harness.slack.serve_file(f"{file_id}/{name}", data, mimetype)
        if relative:
            url = url.removeprefix(harness.slack.base_url)
        refs.append({"id": file_id, "name": name, "mimetype": mimetype,
                     "size": len(data) if declared_size is None else declared_size,
                     "url_private_download": url, "url_private": url})
    payload = slack_events.message_event(text, user=user, subtype="file_share", thread_ts=thread_ts,
                                         extra={"files": refs, "upload": True})
    answer = harness.post(payload)
    assert answer.status == 200 and answer.body.get("status") == "SUBMIT_STATUS_ACCEPTED", answer.body
    return payload, [r["id"] for r in refs]


def deleted_files(harness: Harness) -> set[str]:
    return {str(c.args.get("file")) for c in harness.slack.calls("files.delete")}


def dm_text(harness: Harness, ts: str) -> str:
    dm = harness.dms_about(ts)
    assert dm, "no DM"
    return "\n".join(
        block["text"]["text"] for block in dm[0].args["blocks"] if block.get("type") == "section"
    )


def history(harness: Harness, correlation_id: str) -> list[audit_pb2.AuditRecord]:
    with harness.pipeline.channel("ingest", "admin") as channel:
        answer = audit_pb2_grpc.AuditStub(channel).GetEventHistory(
            audit_pb2.GetEventHistoryRequest(correlation_id=correlation_id), timeout=10)
    return list(answer.records)


def test_ssn_screenshot_vanishes_with_its_file_and_the_dm_names_it(harness: Harness) -> None:
    text = "here is the form for HR"
    payload, (file_id,) = share(harness, [("ssn.jpg", samples.ssn_photo_jpeg(), "image/jpeg")],
                                text=text, user="USSN")
    ts = payload["event"]["ts"]

    delete = wait_for(lambda: harness.deletes_of(ts), timeout=60)
    assert delete[0].token == "xoxp-test-admin-token"
    wait_for(lambda: file_id in deleted_files(harness))
    file_deletes = [c for c in harness.slack.calls("files.delete") if c.args.get("file") == file_id]
    assert file_deletes[0].token == "xoxp-test-admin-token"
    downloads = [c for c in harness.slack.calls("files.download") if c.args["path"].startswith(file_id)]
    assert downloads and downloads[0].token == "xoxb-test-bot-token"  # Authorization: Bearer <bot>

    wait_for(lambda: harness.dms_about(ts))
    said = dm_text(harness, ts)
    assert "ssn.jpg: US social security number" in said
    dm = harness.dms_about(ts)[0]
    quotes = [e["text"] for b in dm.args["blocks"] if b["type"] == "rich_text"
              for q in b["elements"] for e in q["elements"]]
    assert quotes == [text]
    assert "ssn.jpg" not in dm.args["text"]  # push-notification text: kinds only
    assert not harness.slack.calls("files.upload") and not harness.slack.calls("files.uploadV2")

    records = wait_for(lambda: [r for r in history(harness, payload["event_id"])
                                if r.step == audit_pb2.LIFECYCLE_STEP_SCANNED])
    (scan,) = records[0].files
    assert (scan.file_id, scan.detected_type, scan.method, scan.pages, scan.scanned) == \
        (file_id, "jpeg", "ocr", 1, True)
    assert scan.size == len(samples.ssn_photo_jpeg())
    assert {(k.entity_type, k.count) for k in scan.kinds} == {("US_SSN", 1)}
    finding = next(f for f in records[0].findings if f.file_id == file_id)
    assert (finding.file_name, finding.page) == ("", 1)  # ids and pages, never the file's name
    assert scan.name == ""


def test_pii_files_go_and_clean_look_alikes_stay(harness: Harness) -> None:
    posted = {}
    event_ids: dict[str, str] = {}
    for i, sample in enumerate(samples.pii_and_clean("high")):
        if sample.name == "ssn-photo.jpg":
            continue  # the test above
        payload, (file_id,) = share(harness, [(sample.name, sample.data, sample.mimetype)],
                                    user=f"U{i:04d}", relative=i % 2 == 0,
                                    thread_ts="1700000000.000200" if i % 3 == 0 else None)
        posted[sample.name] = (sample, payload["event"]["ts"], file_id)
        event_ids[sample.name] = payload["event_id"]

    for name, (sample, ts, file_id) in posted.items():
        if not sample.kinds:
            continue
        wait_for(lambda ts=ts: harness.deletes_of(ts), timeout=90)
        wait_for(lambda file_id=file_id: file_id in deleted_files(harness))
        wait_for(lambda ts=ts: harness.dms_about(ts))
        said = dm_text(harness, ts)
        from piiguard.kinds import describe
        for kind in sample.kinds:
            assert describe(kind) in said, (name, said)
        assert f"{name}:" in said

    def untouched() -> list[str]:
        return [name for name, (sample, ts, file_id) in posted.items()
                if not sample.kinds and not harness.deletes_of(ts) and not harness.dms_about(ts)
                and file_id not in deleted_files(harness)]

    clean = [name for name, (sample, _, _) in posted.items() if not sample.kinds]
    # Detection's verdict on each clean one (recorded after any hand-off to action): allow.
    for name in clean:
        assert harness.scanned(event_ids[name], timeout=90).verdict == detection_pb2.VERDICT_ALLOW, name
    assert sorted(untouched()) == sorted(clean)


def test_message_with_several_files_lists_each(harness: Harness) -> None:
    payload, (env_id, receipt_id) = share(harness, [
        ("prod.env", samples.env_file(), "text/plain"),
        ("receipt.png", samples.receipt_png("low"), "image/png"),
    ], text="config and the receipt", user="UMULTI")
    ts = payload["event"]["ts"]
    wait_for(lambda: harness.deletes_of(ts), timeout=60)
    wait_for(lambda: {env_id, receipt_id} <= deleted_files(harness))  # the message's files go with it
    wait_for(lambda: harness.dms_about(ts))
    said = dm_text(harness, ts)
    assert "prod.env: AWS access key and AWS secret key" in said
    assert "receipt.png: nothing found" in said


HOSTILE = {
    "corrupt.png": (samples.corrupt_png, "image/png", "unreadable png"),
    "bomb.png": (samples.zip_bomb, "image/png", "archive (zip) not scanned"),
    "huge.png": (samples.png_bomb, "image/png", "image too large (decompression bomb)"),
    "catalogue.pdf": (samples.long_pdf, "application/pdf", "pages beyond 30 not scanned (200 pages)"),
}


def test_hostile_and_oversized_files_are_unscannable_notices(harness: Harness) -> None:
    posted = {}
    for name, (make, mimetype, _) in HOSTILE.items():
        payload, (file_id,) = share(harness, [(name, make(), mimetype)], user="UHOSTILE")
        posted[name] = (payload, file_id)
    big = b"A" * (MAX_BYTES + 1)
    payload, (big_id,) = share(harness, [("big.log", big, "text/plain")], user="UHOSTILE")
    posted["big.log"] = (payload, big_id)
    # A file whose declared size lies: the limit holds while streaming.
    payload, (liar_id,) = share(harness, [("liar.log", big, "text/plain")], user="UHOSTILE", declared_size=10)
    posted["liar.log"] = (payload, liar_id)
    reasons = {name: r for name, (_, _, r) in HOSTILE.items()}
    reasons["big.log"] = reasons["liar.log"] = f"larger than the {MAX_BYTES}-byte limit"

    for name, (payload, _file_id) in posted.items():
        ts = payload["event"]["ts"]
        wait_for(lambda ts=ts: harness.dms_about(ts), timeout=90)
        said = dm_text(harness, ts)
        assert f"{name}: could not be scanned ({reasons[name]}" in said, said
    assert not any(harness.deletes_of(p["event"]["ts"]) for p, _ in posted.values())  # notify only
    assert not {f for _, f in posted.values()} & deleted_files(harness)
    assert not [c for c in harness.slack.calls("files.download") if c.args["path"].startswith(big_id)]
    records = wait_for(lambda: [r for r in history(harness, posted["big.log"][0]["event_id"])
                                if r.step == audit_pb2.LIFECYCLE_STEP_SCANNED])
    assert records[0].files[0].scanned is False
    assert [f.entity_type for f in records[0].findings] == ["UNSCANNABLE_FILE"]
    assert harness.pipeline.processes["detection"].poll() is None  # the worker lives on

    # ... and still works.
    payload, (file_id,) = share(harness, [("card.png", samples.screenshot_png("low"), "image/png")])
    wait_for(lambda: harness.deletes_of(payload["event"]["ts"]), timeout=60)


def test_no_file_content_reaches_any_log(harness: Harness) -> None:
    output = harness.pipeline.output()
    leaked = [s for s in samples.PLANTED if s in output]
    assert not leaked
    assert "Dana Whitfield" not in output and "ESTHER MORALES" not in output
