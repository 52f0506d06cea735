"""A verdict too large for one stream message is trimmed, never refused: the
message is still acted on, every kind is still named, the DM's quote still
redacts what it shows."""

from __future__ import annotations

from piiguard.action.notice import compose
from piiguard.contracts import check_action_request
from piiguard.detection.handoff import HANDOFF_TEXT_CHARS, fit_for_action
from piiguard.policy import MessageSettings, QuoteMode
from piiguard.v1 import action_pb2, detection_pb2, event_pb2

CARD = "4539 1488 0343 6467"
LIMIT = 1024 * 1024 - 4096


def packed_request() -> action_pb2.ActionRequest:
    """~1 MB of text that is nothing but card numbers, and one SSN at the very end."""
    unit = CARD + " "
    text = unit * (1_000_000 // len(unit)) + "ssn 536-22-1234"
    findings = [detection_pb2.Finding(entity_type="CREDIT_CARD", start=i, end=i + len(CARD), score=1.0,
                                      action=detection_pb2.ENTITY_ACTION_DELETE)
                for i in range(0, len(text) - 20, len(unit))]
    end = len(text)
    findings.append(detection_pb2.Finding(entity_type="US_SSN", start=end - 11, end=end, score=0.9,
                                          action=detection_pb2.ENTITY_ACTION_DELETE))
    findings.append(detection_pb2.Finding(entity_type="UNSCANNABLE_FILE", file_id="F1", score=1.0))
    event = event_pb2.Event(event_id="EvBIG", workspace_id="T1", channel_id="C1", user_id="U1",
                            ts="1700000000.000100", text=text,
                            files=[event_pb2.FileRef(id="F1", name="a.txt")])
    return action_pb2.ActionRequest(event=event, result=detection_pb2.DetectionResult(
        event_id="EvBIG", verdict=detection_pb2.VERDICT_DELETE, findings=findings,
        files=[detection_pb2.FileScan(file_id="F1", name="a.txt", reason="download failed (HTTP 503)")]))


def test_a_verdict_that_fits_is_handed_on_as_it_is() -> None:
    request = packed_request()
    request.event.text = request.event.text[:100]
    del request.result.findings[5:]
    assert fit_for_action(request, LIMIT) is request


def test_a_verdict_too_large_is_trimmed_to_fit_and_keeps_what_action_needs() -> None:
    request = packed_request()
    assert request.ByteSize() > LIMIT  # as published today, the verdicts stream would refuse it
    trimmed = fit_for_action(request, LIMIT)
    assert trimmed.ByteSize() <= LIMIT
    assert trimmed.result.verdict == detection_pb2.VERDICT_DELETE
    assert len(trimmed.event.text) == HANDOFF_TEXT_CHARS
    assert {f.entity_type for f in trimmed.result.findings} == {"CREDIT_CARD", "US_SSN", "UNSCANNABLE_FILE"}
    assert [s.file_id for s in trimmed.result.files] == ["F1"]
    check_action_request(trimmed)  # action takes it: every offset inside the handed-on text
    _, blocks, _ = compose(trimmed.event, trimmed.result, MessageSettings(quote=QuoteMode.REDACTED))
    quoted = "".join(e["text"] for b in blocks if b["type"] == "rich_text"
                     for q in b["elements"] for e in q["elements"])
    assert quoted and CARD not in quoted and "[CREDIT_CARD]" in quoted
