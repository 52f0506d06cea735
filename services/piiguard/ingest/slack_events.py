"""From a Slack Events API payload to our normalized ``Event`` — or a reason to ignore it.

Pure functions, no I/O: what is a message worth scanning is decided here, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from piiguard.ingest import slack_schema
from piiguard.ingest.slack_schema import MalformedEvent, SlackFile, SlackMessage
from piiguard.v1 import event_pb2

__all__ = ["Ignored", "MalformedEvent", "event_from_callback", "own_bot_ids", "parse_envelope"]


@dataclass(frozen=True)
class Ignored:
    """Not ours to scan. ``reason`` is a short code; it never holds text."""

    reason: str


_CHANNEL_TYPES = {
    "channel": event_pb2.CHANNEL_TYPE_PUBLIC,
    "group": event_pb2.CHANNEL_TYPE_PRIVATE,
    "mpim": event_pb2.CHANNEL_TYPE_MPIM,
    "im": event_pb2.CHANNEL_TYPE_IM,
}
_CHANNEL_ID_PREFIXES = {
    "C": event_pb2.CHANNEL_TYPE_PUBLIC,
    "G": event_pb2.CHANNEL_TYPE_PRIVATE,
    "D": event_pb2.CHANNEL_TYPE_IM,
}

# Message subtypes that carry text a person wrote. Everything else (joins,
# leaves, topic changes, deletions, other bots' posts) is not scanned.
_SCANNED_SUBTYPES = {
    None: event_pb2.EVENT_KIND_MESSAGE,
    "thread_broadcast": event_pb2.EVENT_KIND_THREAD_BROADCAST,
    "file_share": event_pb2.EVENT_KIND_FILE_SHARE,
    "me_message": event_pb2.EVENT_KIND_MESSAGE,
}


def parse_envelope(body: Any) -> dict[str, Any]:
    """The payload, once its envelope has the documented shape (see ``slack_schema``)."""
    slack_schema.envelope(body)
    return dict(body)


def own_bot_ids(envelope: dict[str, Any], configured: frozenset[str] = frozenset()) -> frozenset[str]:
    """User and bot ids that are PII Guard itself: its DMs carry original text, and
    scanning them would loop."""
    ids = set(configured)
    for authorization in slack_schema.envelope(envelope).authorizations or ():
        if authorization.is_bot and authorization.user_id:
            ids.add(authorization.user_id)
    return frozenset(ids)


def event_from_callback(
    envelope: dict[str, Any], own_ids: frozenset[str] = frozenset()
) -> event_pb2.Event | Ignored:
    """The ``Event`` to scan for an ``event_callback`` envelope, or why it is ignored.
    Raises :class:`MalformedEvent` when a field we read has the wrong shape."""
    checked = slack_schema.envelope(envelope)
    raw_event = checked.event
    event_id = checked.event_id
    if raw_event is None or not event_id:
        raise MalformedEvent("event_callback without event or event_id")
    if raw_event.get("type") != "message":
        if not _team_id(checked, raw_event.get("team")):
            raise MalformedEvent("event_callback without team_id")
        return Ignored(f"event type {_safe(raw_event.get('type'))} is not scanned")
    event = slack_schema.message_event(raw_event)
    team_id = _team_id(checked, event.team)
    if not team_id:
        raise MalformedEvent("event_callback without team_id")

    subtype = event.subtype
    message: SlackMessage = event
    kind: event_pb2.EventKind.ValueType
    if subtype == "message_changed":
        if event.message is None:
            raise MalformedEvent("message_changed without message")
        message = event.message
        previous = event.previous_message
        if previous is not None and previous.text == message.text and previous.files == message.files:
            return Ignored("edit did not change the text")  # e.g. a link unfurl
        if message.subtype not in (None, "thread_broadcast", "file_share", "me_message"):
            return Ignored(f"edited message subtype {_safe(message.subtype)} is not scanned")
        kind = event_pb2.EVENT_KIND_MESSAGE_CHANGED
    elif subtype in _SCANNED_SUBTYPES:
        kind = _SCANNED_SUBTYPES[subtype]
    else:
        return Ignored(f"message subtype {_safe(subtype)} is not scanned")

    if message.hidden:
        return Ignored("hidden message")
    user = message.user
    bot_id = message.bot_id or event.bot_id
    if (user and user in own_ids) or (bot_id and bot_id in own_ids):
        return Ignored("own bot message")
    if not user:
        return Ignored("message without a human author")
    channel = event.channel
    ts = message.ts
    if not channel or not ts:
        raise MalformedEvent("message event without channel or ts")
    text = message.text
    files = [_file_ref(f) for f in message.files or ()]
    if files and kind == event_pb2.EVENT_KIND_MESSAGE:
        kind = event_pb2.EVENT_KIND_FILE_SHARE

    result = event_pb2.Event(
        event_id=event_id,
        source=event_pb2.SOURCE_PLATFORM_SLACK,
        workspace_id=team_id,
        channel_id=channel,
        channel_type=_channel_type(event.channel_type, channel),
        user_id=user,
        ts=ts,
        thread_ts=message.thread_ts or "",
        text=text or "",
        kind=kind,
        files=files,
        priority=event_pb2.PRIORITY_URGENT,  # the live lane, served before any backlog
        edited_ts=(message.edited.ts or "") if message.edited is not None else "",
    )
    if checked.event_time is not None:
        result.event_time.CopyFrom(Timestamp(seconds=checked.event_time))
    received = Timestamp()
    received.GetCurrentTime()
    result.received_time.CopyFrom(received)
    return result


def _team_id(envelope: slack_schema.Envelope, event_team: Any) -> str:
    for candidate in (envelope.team_id, event_team, envelope.context_team_id):
        if isinstance(candidate, str) and candidate:
            return candidate
    return ""


def _channel_type(declared: Any, channel: str) -> event_pb2.ChannelType.ValueType:
    if isinstance(declared, str) and declared in _CHANNEL_TYPES:
        return _CHANNEL_TYPES[declared]
    return _CHANNEL_ID_PREFIXES.get(channel[:1], event_pb2.CHANNEL_TYPE_UNSPECIFIED)


def _file_ref(raw: SlackFile) -> event_pb2.FileRef:
    return event_pb2.FileRef(id=raw.id, name=raw.name, mimetype=raw.mimetype, size=raw.size,
                             url_private_download=raw.url_private_download)


def _safe(value: Any) -> str:
    """An event type or subtype, trimmed for a log line (they are Slack's codes;
    anything but printable ASCII is replaced, so a reason cannot forge a line)."""
    return _UNPRINTABLE.sub("?", str(value)[:40]) if value is not None else "none"


_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")
