"""The DM an author receives: what was found (in plain words) and their text as a
quote block, so they can post it again without the sensitive part.

The fallback ``text`` (what push notifications show) never holds the original:
only the blocks do, and only in the author's own DM. When the message shared
files, the DM lists each with the kinds found in it ("passport.jpg: passport
number"); the files themselves are never re-uploaded. A file's name is text its
author wrote, so it follows the quote mode: as shared under ``original``, with
what was found in it replaced by its kind under ``redacted``, and not at all
under ``none`` ("file 1 (pdf)").

Every DM fits Slack's limits whatever the message: the fallback text within
40,000 characters, at most 50 blocks, a section's text within 3,000, and the
blocks in total well under the size Slack refuses (``msg_blocks_too_long``,
about 13,000 characters): the quote is cut at :data:`QUOTE_MAX_CHARS` (less
when the rest of the DM is long) and says so, the file list stops at what one
section holds and says how many more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from piiguard.kinds import UNSCANNABLE_FILE, describe_all
from piiguard.policy import MessageSettings, QuoteMode
from piiguard.v1 import detection_pb2, event_pb2

NOTICE_EVENT_TYPE = "piiguard_notice"
# Slack's limits (chat.postMessage, Block Kit), and our margins under them.
MAX_TEXT_CHARS = 40_000  # Slack truncates a message's text beyond this
MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3_000  # a section block's text
QUOTE_CHUNK = 2_900  # one rich-text element of the quote
QUOTE_MAX_CHARS = 10_000  # the whole quote, at most
BLOCKS_MAX_CHARS = 12_000  # every block's text together: beyond ~13k, msg_blocks_too_long
NOTE_ROOM = 200  # kept free for the "your message was longer" note
MAX_NAME_CHARS = 80  # one file's name in the list


def redact(text: str, findings: Sequence[detection_pb2.Finding]) -> str:
    """The text with each finding replaced by its kind, e.g. ``[CREDIT_CARD]``."""
    out: list[str] = []
    cursor = 0
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        if finding.start < cursor or not 0 <= finding.start <= finding.end <= len(text):
            continue
        out.append(text[cursor:finding.start])
        out.append(f"[{finding.entity_type}]")
        cursor = finding.end
    out.append(text[cursor:])
    return "".join(out)


def _text_findings(result: detection_pb2.DetectionResult) -> list[detection_pb2.Finding]:
    return [f for f in result.findings if not f.file_id]


def compose(
    event: event_pb2.Event,
    result: detection_pb2.DetectionResult,
    settings: MessageSettings,
) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """``(fallback text, blocks, metadata)`` for ``chat.postMessage``."""
    kinds = describe_all(f.entity_type for f in result.findings)
    deleted = result.verdict == detection_pb2.VERDICT_DELETE
    quoted = ""
    if settings.quote is QuoteMode.ORIGINAL:
        quoted = event.text
    elif settings.quote is QuoteMode.REDACTED:
        quoted = redact(event.text, _text_findings(result))
    template = settings.intro if deleted else settings.notify_intro
    if deleted and quoted:
        template = f"{template} {settings.quote_intro}".strip()
    intro = template.replace("{channel}", event.channel_id).replace("{kinds}", kinds)
    fallback = (
        f"PII Guard removed your message in <#{event.channel_id}>: it contained {kinds}."
        if deleted
        else f"PII Guard: your message in <#{event.channel_id}> seems to contain {kinds}."
    )
    head = _section(intro)
    file_lines = files_summary(event, result, settings.quote)
    files_block = _section("\n".join(file_lines)) if file_lines else None
    found = sorted({f.entity_type for f in result.findings})
    footer = _context(f"Found: {kinds}. Reference: {event.event_id}")
    used = sum(_chars(b) for b in (head, files_block, footer) if b is not None)
    quote_room = max(0, min(QUOTE_MAX_CHARS, BLOCKS_MAX_CHARS - used - NOTE_ROOM))
    blocks: list[dict[str, Any]] = [head]
    if quoted:
        shown = quoted[:quote_room]
        blocks.append({
            "type": "rich_text",
            "elements": [
                {"type": "rich_text_quote", "elements": [{"type": "text", "text": chunk}]}
                for chunk in _chunks(shown, QUOTE_CHUNK)
            ],
        })
        if len(shown) < len(quoted):
            blocks.append(_context(
                f"Your message was longer: the quote shows its first {len(shown):,} of "
                f"{len(quoted):,} characters."))
    if files_block is not None:
        blocks.append(files_block)
    blocks.append(footer)
    metadata = {
        "event_type": NOTICE_EVENT_TYPE,
        "event_payload": {
            "correlation_id": event.event_id,
            "channel": event.channel_id,
            "ts": event.ts,
            "kinds": ",".join(found),
        },
    }
    return fallback[:MAX_TEXT_CHARS], blocks[:MAX_BLOCKS], metadata


def files_summary(event: event_pb2.Event, result: detection_pb2.DetectionResult,
                  quote: QuoteMode = QuoteMode.ORIGINAL) -> list[str]:
    """One line per shared file: ``• passport.jpg: passport number`` — or why it
    could not be scanned, or that nothing was found. Empty without files. The
    lines stop where one section's text would overflow, with how many are left."""
    if not event.files:
        return []
    scans = {scan.file_id: scan for scan in result.files}
    lines = ["*Files:*" if len(event.files) > 1 else "*File:*"]
    used = len(lines[0])
    for number, ref in enumerate(event.files, start=1):
        in_file = [f for f in result.findings if f.file_id == ref.id]
        kinds = [f.entity_type for f in in_file]
        found = [k for k in kinds if k != UNSCANNABLE_FILE]
        parts = []
        if found:
            parts.append(describe_all(found))
        if UNSCANNABLE_FILE in kinds:
            scan = scans.get(ref.id)
            reason = f" ({scan.reason})" if scan is not None and scan.reason else ""
            parts.append(f"could not be scanned{reason}")
        name = _escape(_shown_name(ref, number, scans.get(ref.id), in_file, quote))
        line = f"• {name}: {'; '.join(parts) if parts else 'nothing found'}"
        left = len(event.files) - number + 1
        more = f"… and {left} more file{'s' if left > 1 else ''}"
        if used + 1 + len(line) + 1 + len(more) > MAX_SECTION_CHARS:
            lines.append(more)
            break
        lines.append(line)
        used += 1 + len(line)
    return lines


def _shown_name(ref: event_pb2.FileRef, number: int, scan: detection_pb2.FileScan | None,
                findings: Sequence[detection_pb2.Finding], quote: QuoteMode) -> str:
    """How a file is named in the DM, following the quote mode (see module docs)."""
    if quote is QuoteMode.NONE or not ref.name:
        kind = scan.detected_type if scan is not None and scan.detected_type else ""
        return f"file {number}" + (f" ({kind})" if kind else "")
    name = ref.name
    if quote is QuoteMode.REDACTED:
        name = redact(name, [f for f in findings if f.in_file_name])
    if len(name) > MAX_NAME_CHARS:
        name = name[:MAX_NAME_CHARS - 1] + "…"
    return name


def _chars(block: dict[str, Any]) -> int:
    if block["type"] == "section":
        return len(block["text"]["text"])
    return sum(len(e["text"]) for e in block.get("elements", ()))


def _section(text: str) -> dict[str, Any]:
    if len(text) > MAX_SECTION_CHARS:
        text = text[:MAX_SECTION_CHARS - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:MAX_SECTION_CHARS]}]}


def _escape(text: str) -> str:
    """Slack mrkdwn control characters, escaped as Slack documents."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _chunks(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]
