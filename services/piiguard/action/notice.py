"""The DM an author receives: what was found (in plain words) and their text as a
quote block, so they can post it again without the sensitive part.

The fallback ``text`` (what push notifications show) never holds the original:
only the blocks do, and only in the author's own DM. When the message shared
files, the DM lists each by name with the kinds found in it
("passport.jpg: passport number"); the files themselves are never re-uploaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from piiguard.kinds import describe_all
from piiguard.policy import MessageSettings, QuoteMode
from piiguard.v1 import detection_pb2, event_pb2

NOTICE_EVENT_TYPE = "piiguard_notice"
UNSCANNABLE_FILE = "UNSCANNABLE_FILE"
QUOTE_CHUNK = 2900  # Slack caps a text element around 3,000 characters


def redact(text: str, findings: Sequence[detection_pb2.Finding]) -> str:
    """The text with each finding replaced by its kind, e.g. ``[CREDIT_CARD]``."""
    out: list[str] = []
    cursor = 0
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        if finding.file_id or finding.start < cursor:
            continue
        out.append(text[cursor:finding.start])
        out.append(f"[{finding.entity_type}]")
        cursor = finding.end
    out.append(text[cursor:])
    return "".join(out)


def compose(
    event: event_pb2.Event,
    result: detection_pb2.DetectionResult,
    settings: MessageSettings,
) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """``(fallback text, blocks, metadata)`` for ``chat.postMessage``."""
    kinds = describe_all(f.entity_type for f in result.findings)
    deleted = result.verdict == detection_pb2.VERDICT_DELETE
    template = settings.intro if deleted else settings.notify_intro
    intro = template.replace("{channel}", event.channel_id).replace("{kinds}", kinds)
    fallback = (
        f"PII Guard removed your message in <#{event.channel_id}>: it contained {kinds}."
        if deleted
        else f"PII Guard: your message in <#{event.channel_id}> seems to contain {kinds}."
    )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": intro}},
    ]
    quoted = ""
    if settings.quote is QuoteMode.ORIGINAL:
        quoted = event.text
    elif settings.quote is QuoteMode.REDACTED:
        quoted = redact(event.text, result.findings)
    if quoted:
        blocks.append({
            "type": "rich_text",
            "elements": [
                {"type": "rich_text_quote", "elements": [{"type": "text", "text": chunk}]}
                for chunk in _chunks(quoted, QUOTE_CHUNK)
            ],
        })
    file_lines = files_summary(event, result)
    if file_lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(file_lines)}})
    found = sorted({f.entity_type for f in result.findings})
    blocks.append({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"Found: {kinds}. Reference: {event.event_id}"}],
    })
    metadata = {
        "event_type": NOTICE_EVENT_TYPE,
        "event_payload": {
            "correlation_id": event.event_id,
            "channel": event.channel_id,
            "ts": event.ts,
            "kinds": ",".join(found),
        },
    }
    return fallback, blocks, metadata


def files_summary(event: event_pb2.Event, result: detection_pb2.DetectionResult) -> list[str]:
    """One line per shared file: ``• passport.jpg: passport number`` — or why it
    could not be scanned, or that nothing was found. Empty without files."""
    if not event.files:
        return []
    scans = {scan.file_id: scan for scan in result.files}
    lines = ["*Files:*" if len(event.files) > 1 else "*File:*"]
    for ref in event.files:
        kinds = [f.entity_type for f in result.findings if f.file_id == ref.id]
        found = [k for k in kinds if k != UNSCANNABLE_FILE]
        parts = []
        if found:
            parts.append(describe_all(found))
        if UNSCANNABLE_FILE in kinds:
            scan = scans.get(ref.id)
            reason = f" ({scan.reason})" if scan is not None and scan.reason else ""
            parts.append(f"could not be scanned{reason}")
        name = _escape(ref.name or ref.id or "file")
        lines.append(f"• {name}: {'; '.join(parts) if parts else 'nothing found'}")
    return lines


def _escape(text: str) -> str:
    """Slack mrkdwn control characters, escaped as Slack documents."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _chunks(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]
