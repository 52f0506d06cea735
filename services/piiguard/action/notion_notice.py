"""The DM telling a Notion page's author why the page is in the trash, and the
admin channel's notice when the author cannot be told.

Findings carry offsets into ``Event.text``, which is the page's texts
(``NotionPage.texts``) joined with the ingest's separator: the offsets say which
text (a property by name, or the page body) each finding is in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from piiguard.action.notice import (
    MAX_NAME_CHARS,
    NOTICE_EVENT_TYPE,
    QUOTE_CHUNK,
    QUOTE_MAX_CHARS,
    _context,
    _escape,
    _section,
    redact,
)
from piiguard.kinds import UNSCANNABLE_FILE, describe_all
from piiguard.policy import MessageSettings, QuoteMode
from piiguard.v1 import detection_pb2, event_pb2

SEPARATOR = "\n\n\n"  # as ingest joins a page's texts (piiguard.ingest.notion.content)
BODY_LABEL = "the page body"


def location_label(text: event_pb2.NotionText) -> str:
    return BODY_LABEL if text.location == "body" else f"the property “{text.name}”"


def segments(event: event_pb2.Event) -> list[tuple[int, int, event_pb2.NotionText]]:
    """``(start, end, text)`` of each of the page's texts within ``Event.text``."""
    out, at = [], 0
    for text in event.notion.texts:
        out.append((at, at + len(text.text), text))
        at += len(text.text) + len(SEPARATOR)
    return out


def file_label(ref: event_pb2.FileRef, findings: Sequence[detection_pb2.Finding],
               quote: QuoteMode = QuoteMode.ORIGINAL) -> str:
    """How a page's file is named: "the file “payslip.pdf”" (its name follows the
    quote mode: redacted, or not shown under ``none``), "an image in the page body"."""
    if ref.name and quote is not QuoteMode.NONE:
        name = ref.name
        if quote is QuoteMode.REDACTED:
            name = redact(name, [f for f in findings if f.file_id == ref.id and f.in_file_name])
        if len(name) > MAX_NAME_CHARS:
            name = name[:MAX_NAME_CHARS - 1] + "…"
        return f"the file “{name}”"
    if ref.notion.block_id:
        return "an image in the page body" if ref.notion.block_type == "image" else "a file in the page body"
    return "a file in the page's properties"


def locations(event: event_pb2.Event, findings: Sequence[detection_pb2.Finding],
              quote: QuoteMode = QuoteMode.ORIGINAL) -> list[str]:
    """Where the findings are, in page order: "the property “Card”", "the page body",
    then the files: "the file “scan.pdf”", "an image in the page body"."""
    found: list[str] = []
    for start, end, text in segments(event):
        if any(not f.file_id and f.start < end and f.end > start for f in findings):
            label = location_label(text)
            if label not in found:
                found.append(label)
    for ref in event.files:
        if any(f.file_id == ref.id for f in findings):
            label = file_label(ref, findings, quote)
            if label not in found:
                found.append(label)
    return found


def file_lines(event: event_pb2.Event, result: detection_pb2.DetectionResult,
               findings: Sequence[detection_pb2.Finding], quote: QuoteMode) -> list[str]:
    """One line per file something was found in: its label and kinds, or why it
    could not be scanned. Never its content."""
    scans = {scan.file_id: scan for scan in result.files}
    lines = []
    for ref in event.files:
        kinds = [f.entity_type for f in findings if f.file_id == ref.id]
        if not kinds:
            continue
        parts = []
        found = [k for k in kinds if k != UNSCANNABLE_FILE]
        if found:
            parts.append(describe_all(found))
        if UNSCANNABLE_FILE in kinds:
            scan = scans.get(ref.id)
            parts.append("could not be scanned" + (f" ({scan.reason})" if scan and scan.reason else ""))
        label = file_label(ref, findings, quote)
        lines.append(f"• {_escape(label[0].upper() + label[1:])}: {'; '.join(parts)}")
    return lines[:20]


def _link(event: event_pb2.Event) -> str:
    title = _escape(event.notion.title or "Untitled")
    return f"<{event.notion.url}|{title}>" if event.notion.url.startswith("https://") else f"“{title}”"


def compose_dm(event: event_pb2.Event, result: detection_pb2.DetectionResult,
               settings: MessageSettings) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """``(fallback text, blocks, metadata)``: title and link, where and what kinds, and
    the texts that held them, quoted as the policy's ``quote`` setting says."""
    findings = [f for f in result.findings if f.entity_type]
    kinds = describe_all(f.entity_type for f in findings)
    where = locations(event, findings, settings.quote)
    deleted = result.verdict == detection_pb2.VERDICT_DELETE
    what = "moved your Notion page" if deleted else "found something in your Notion page"
    intro = (f"I {what} {_link(event)} to the trash because {', '.join(where) or 'it'} contained {kinds}. "
             "A Notion admin can restore it; you can recreate it without them."
             if deleted else
             f"Your Notion page {_link(event)} seems to contain {kinds} in {', '.join(where) or 'it'}. "
             "Please consider editing it.")
    blocks: list[dict[str, Any]] = [_section(intro)]
    if settings.quote is not QuoteMode.NONE:
        room = QUOTE_MAX_CHARS
        for start, end, text in segments(event):
            inside = [detection_pb2.Finding(entity_type=f.entity_type, start=f.start - start,
                                            end=f.end - start)
                      for f in findings if not f.file_id and f.start < end and f.end > start]
            if not inside or room <= 0:
                continue
            shown = text.text if settings.quote is QuoteMode.ORIGINAL else redact(text.text, inside)
            shown = shown[:min(room, QUOTE_CHUNK)]
            room -= len(shown)
            blocks.append(_context(f"In {location_label(text)}:"))
            blocks.append({"type": "rich_text", "elements": [
                {"type": "rich_text_quote", "elements": [{"type": "text", "text": shown}]}]})
    lines = file_lines(event, result, findings, settings.quote)
    if lines:
        blocks.append(_section("\n".join(lines)[:2900]))
    blocks.append(_context(f"Found: {kinds}. Reference: {event.event_id}"))
    fallback = f"PII Guard {what} “{event.notion.title or 'Untitled'}”: it contained {kinds}."
    metadata = {"event_type": NOTICE_EVENT_TYPE, "event_payload": {
        "correlation_id": event.event_id, "notion_page": event.notion.page_id,
        "version": event.notion.content_hash[:16],
        "kinds": ",".join(sorted({f.entity_type for f in findings}))}}
    return fallback, blocks, metadata


def compose_admin_notice(event: event_pb2.Event, result: detection_pb2.DetectionResult,
                         why: str) -> tuple[str, list[dict[str, Any]]]:
    """For ``actions.adminChannel``: the page, the kinds, and why its author was not told.
    Never a value, never a quote."""
    kinds = describe_all(f.entity_type for f in result.findings if f.entity_type)
    verb = "moved to the trash" if result.verdict == detection_pb2.VERDICT_DELETE else "flagged"
    text = (f"PII Guard {verb} the Notion page {_link(event)} ({kinds}), but could not tell its "
            f"author: {why}. Reference: {event.event_id}")
    return text[:3000], [_section(text)]
