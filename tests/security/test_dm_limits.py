"""The author's DM fits Slack's limits whatever the message (a 1 MB text, five
hundred files with long names), says when its quote is cut, and follows the
quote mode for file names too: no name under ``none``, names with what was found
replaced under ``redacted``. Checked on the blocks ``compose`` builds and with
slack_sdk's own Block Kit models."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from piiguard.action.notice import MAX_BLOCKS, MAX_SECTION_CHARS, MAX_TEXT_CHARS, compose
from piiguard.policy import MessageSettings, QuoteMode
from piiguard.v1 import detection_pb2, event_pb2

CARD = "4539 1488 0343 6467"
# Slack refuses a message whose blocks hold more than about 13,000 characters in
# all (msg_blocks_too_long), though no single documented limit is exceeded.
BLOCKS_BUDGET = 12_500


def event(text: str, files: list[event_pb2.FileRef] = ()) -> event_pb2.Event:  # type: ignore[assignment]
    return event_pb2.Event(event_id="EvDM1", workspace_id="T1", channel_id="C1", user_id="U1",
                           ts="1700000000.000100", text=text, files=files)


def result(text: str, files: list[event_pb2.FileRef] = (), *,  # type: ignore[assignment]
           verdict: int = detection_pb2.VERDICT_DELETE) -> detection_pb2.DetectionResult:
    findings = []
    start = text.find(CARD)
    while start != -1:
        findings.append(detection_pb2.Finding(entity_type="CREDIT_CARD", start=start, end=start + len(CARD)))
        start = text.find(CARD, start + 1)
    scans = []
    for ref in files:
        at = ref.name.find(CARD)
        if at != -1:
            findings.append(detection_pb2.Finding(entity_type="CREDIT_CARD", start=at, end=at + len(CARD),
                                                  file_id=ref.id, file_name=ref.name, in_file_name=True))
        scans.append(detection_pb2.FileScan(file_id=ref.id, name=ref.name, detected_type="pdf", scanned=True))
    return detection_pb2.DetectionResult(event_id="EvDM1", verdict=verdict,  # type: ignore[arg-type]
                                         findings=findings, files=scans)


def files(count: int, name_chars: int = 40) -> list[event_pb2.FileRef]:
    return [event_pb2.FileRef(id=f"F{i:05d}", name=(f"card {CARD} " + "x" * name_chars)[:name_chars] + ".pdf")
            for i in range(count)]


def block_texts(blocks: list[dict[str, Any]]) -> list[str]:
    texts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                if key == "text" and isinstance(child, str):
                    texts.append(child)
                else:
                    walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(blocks)
    return texts


def assert_within_slack_limits(text: str, blocks: list[dict[str, Any]]) -> None:
    assert len(text) <= MAX_TEXT_CHARS
    assert 1 <= len(blocks) <= MAX_BLOCKS
    for block in blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]  # slack_sdk's own limits
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_CHARS
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(len(e["text"]) <= MAX_SECTION_CHARS for e in block["elements"])
    assert sum(len(t) for t in block_texts(blocks)) <= BLOCKS_BUDGET
    assert len(json.dumps(blocks)) < 3 * BLOCKS_BUDGET


SIZES = [0, 12, 2_899, 3_001, 9_999, 10_001, 40_000, 1_000_000]


@pytest.mark.parametrize("mode", list(QuoteMode))
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("file_count", [0, 3, 500])
def test_every_dm_fits_slacks_limits(mode: QuoteMode, size: int, file_count: int) -> None:
    text = (f"card {CARD} " + "lorem ipsum " * (size // 12 + 1))[:size]
    refs = files(file_count, name_chars=200)
    fallback, blocks, _ = compose(event(text, refs), result(text, refs), MessageSettings(quote=mode))
    assert_within_slack_limits(fallback, blocks)
    if file_count > 10:
        said = "\n".join(block_texts(blocks))
        assert "more files" in said  # the list says how many it left out


@pytest.mark.parametrize("mode", [QuoteMode.ORIGINAL, QuoteMode.REDACTED])
def test_a_cut_quote_says_so(mode: QuoteMode) -> None:
    text = "a" * 50_000
    _, blocks, _ = compose(event(text), result(text), MessageSettings(quote=mode))
    said = "\n".join(block_texts(blocks))
    assert "Your message was longer" in said and "50,000" in said
    short = "a" * 100
    _, blocks, _ = compose(event(short), result(short), MessageSettings(quote=mode))
    assert "Your message was longer" not in "\n".join(block_texts(blocks))


def test_without_a_quote_the_dm_does_not_offer_one() -> None:
    text = f"card {CARD} for the hotel"
    _, blocks, _ = compose(event(text), result(text), MessageSettings(quote=QuoteMode.NONE))
    said = "\n".join(block_texts(blocks))
    assert "Here is what you wrote" not in said and "what you wrote" not in said.lower()
    assert "hotel" not in said
    _, blocks, _ = compose(event(text), result(text), MessageSettings(quote=QuoteMode.ORIGINAL))
    assert "Here is what you wrote" in "\n".join(block_texts(blocks))


def test_file_names_follow_the_quote_mode() -> None:
    text = "the receipts"
    refs = [event_pb2.FileRef(id="F1", name=f"card {CARD}.pdf"),
            event_pb2.FileRef(id="F2", name="minutes.pdf")]
    digits = CARD.replace(" ", "")

    def said(mode: QuoteMode) -> str:
        _, blocks, _ = compose(event(text, refs), result(text, refs), MessageSettings(quote=mode))
        return "\n".join(block_texts(blocks))

    none = said(QuoteMode.NONE)
    assert CARD not in none and digits not in none and "minutes" not in none
    assert "file 1 (pdf)" in none and "file 2 (pdf)" in none
    redacted = said(QuoteMode.REDACTED)
    assert CARD not in redacted and "card [CREDIT_CARD].pdf" in redacted and "minutes.pdf" in redacted
    assert f"card {CARD}.pdf" in said(QuoteMode.ORIGINAL)  # the author's own DM, as posted


def test_the_fallback_text_never_holds_a_file_name_or_the_text() -> None:
    text = f"card {CARD}"
    refs = files(2)
    fallback, _, _ = compose(event(text, refs), result(text, refs), MessageSettings())
    assert CARD not in fallback and ".pdf" not in fallback
