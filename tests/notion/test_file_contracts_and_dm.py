"""Notion files in the contracts (only Notion events carry them) and in the DM
(named by file name, "an image in the page body", or not named under quote: none)."""

from __future__ import annotations

import pytest

from piiguard.action.notion_notice import compose_dm
from piiguard.contracts import check_event
from piiguard.errors import InvalidPayload
from piiguard.policy import MessageSettings, QuoteMode
from piiguard.v1 import detection_pb2, event_pb2

PAGE = "0f3c2a1b-9d8e-4c7b-a6f5-e4d3c2b1a098"


def notion_event(*files: event_pb2.FileRef) -> event_pb2.Event:
    return event_pb2.Event(
        event_id="notion-0f3c2a1b9d8e4c7ba6f5e4d3c2b1a098-0123456789abcdef", workspace_id="T0001",
        source=event_pb2.SOURCE_PLATFORM_NOTION, kind=event_pb2.EVENT_KIND_NOTION_PAGE, text="HR case",
        notion=event_pb2.NotionPage(page_id=PAGE, database_id="d" * 32, data_source_id="s" * 32,
                                    last_edited_time="2026-12-02T06:00:00.000Z", title="HR case",
                                    url=f"https://www.notion.so/HR-{PAGE.replace('-', '')}",
                                    texts=[event_pb2.NotionText(location="property", name="Name",
                                                                text="HR case")],
                                    content_hash="0123456789abcdef" * 4, responsible=["u1"]),
        files=list(files))


def image(name: str = "") -> event_pb2.FileRef:
    return event_pb2.FileRef(id="notion-0f3c-1", name=name, url_private_download="https://s3.example/x",
                             notion=event_pb2.NotionFile(block_id="b" * 32, block_type="image",
                                                         page_id=PAGE, hosting="file"))


def attachment(name: str) -> event_pb2.FileRef:
    return event_pb2.FileRef(id="notion-0f3c-2", name=name, url_private_download="https://s3.example/y",
                             notion=event_pb2.NotionFile(page_id=PAGE, property_id="a%3Bb", index=0,
                                                         hosting="file"))


def test_only_notion_events_carry_notion_files() -> None:
    check_event(notion_event(image(), attachment("payslip.pdf")))
    slack = event_pb2.Event(event_id="Ev1", workspace_id="T0001", channel_id="C1", user_id="U1", ts="1.2",
                            source=event_pb2.SOURCE_PLATFORM_SLACK, files=[image()])
    with pytest.raises(InvalidPayload, match="only Notion events carry Notion files"):
        check_event(slack)
    bad = image()
    bad.notion.hosting = "ftp"
    with pytest.raises(InvalidPayload, match="hosting"):
        check_event(notion_event(bad))
    with pytest.raises(InvalidPayload, match="hosting"):
        check_event(notion_event(event_pb2.FileRef(id="f1", url_private_download="https://x/y")))


def dm(quote: QuoteMode, card_name: str = "card 4539 1488 0343 6467.pdf") -> str:
    event = notion_event(image(), attachment(card_name))
    result = detection_pb2.DetectionResult(verdict=detection_pb2.VERDICT_DELETE, findings=[
        detection_pb2.Finding(entity_type="US_SSN", start=0, end=11, file_id="notion-0f3c-1", page=1),
        detection_pb2.Finding(entity_type="CREDIT_CARD", start=5, end=24, file_id="notion-0f3c-2",
                              in_file_name=True)])
    text, blocks, _ = compose_dm(event, result, MessageSettings(quote=quote))
    return repr(blocks) + text


def test_the_dm_names_each_file_as_the_quote_mode_allows() -> None:
    original = dm(QuoteMode.ORIGINAL)
    assert "an image in the page body" in original and "social security" in original.lower()
    assert "the file “card 4539 1488 0343 6467.pdf”" in original
    redacted = dm(QuoteMode.REDACTED)
    assert "the file “card [CREDIT_CARD].pdf”" in redacted and "4539" not in redacted
    hidden = dm(QuoteMode.NONE)
    assert "card" not in hidden.replace("credit card", "") and "a file in the page's properties" in hidden
    assert "an image in the page body" in hidden
    assert "s3.example" not in original + redacted + hidden  # a file URL is never shown
