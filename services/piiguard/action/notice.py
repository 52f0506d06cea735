"""The DM an author receives: what was found (in plain words) and their text as a
quote block, so they can post it again without the sensitive part.

The fallback ``text`` (what push notifications show) never holds the original:
only the blocks do, and only in the author's own DM.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from piiguard.kinds import describe_all
from piiguard.policy import MessageSettings, QuoteMode
from piiguard.v1 import detection_pb2, event_pb2

NOTICE_EVENT_TYPE = "piiguard_notice"
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
    kinds = describe_all(f.entity_type for f in result.findings if not f.file_id)
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


def _chunks(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]
