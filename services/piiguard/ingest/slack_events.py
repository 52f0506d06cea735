"""From a Slack Events API payload to our normalized ``Event`` — or a reason to ignore it.

Pure functions, no I/O: what is a message worth scanning is decided here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from piiguard.v1 import event_pb2


class MalformedEvent(ValueError):
    """The payload is not a usable Events API request (answered 400)."""


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
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise MalformedEvent("request body is not an Events API payload")
    return body


def own_bot_ids(envelope: dict[str, Any], configured: frozenset[str] = frozenset()) -> frozenset[str]:
    """User and bot ids that are PII Guard itself: its DMs carry original text, and
    scanning them would loop."""
    ids = set(configured)
    for authorization in envelope.get("authorizations") or ():
        if isinstance(authorization, dict) and authorization.get("is_bot"):
            if authorization.get("user_id"):
                ids.add(str(authorization["user_id"]))
    return frozenset(ids)


def event_from_callback(
    envelope: dict[str, Any], own_ids: frozenset[str] = frozenset()
) -> event_pb2.Event | Ignored:
    """The ``Event`` to scan for an ``event_callback`` envelope, or why it is ignored."""
    event = envelope.get("event")
    event_id = envelope.get("event_id")
    if not isinstance(event, dict) or not isinstance(event_id, str) or not event_id:
        raise MalformedEvent("event_callback without event or event_id")
    team_id = _team_id(envelope, event)
    if not team_id:
        raise MalformedEvent("event_callback without team_id")
    if event.get("type") != "message":
        return Ignored(f"event type {_safe(event.get('type'))} is not scanned")

    subtype = event.get("subtype")
    message: dict[str, Any] = event
    kind: event_pb2.EventKind.ValueType
    if subtype == "message_changed":
        edited = event.get("message")
        if not isinstance(edited, dict):
            raise MalformedEvent("message_changed without message")
        message = edited
        previous = event.get("previous_message") or {}
        if isinstance(previous, dict) and previous.get("text") == message.get("text") and \
                previous.get("files") == message.get("files"):
            return Ignored("edit did not change the text")  # e.g. a link unfurl
        if message.get("subtype") not in (None, "thread_broadcast", "file_share", "me_message"):
            return Ignored(f"edited message subtype {_safe(message.get('subtype'))} is not scanned")
        kind = event_pb2.EVENT_KIND_MESSAGE_CHANGED
    elif subtype in _SCANNED_SUBTYPES:
        kind = _SCANNED_SUBTYPES[subtype]
    else:
        return Ignored(f"message subtype {_safe(subtype)} is not scanned")

    if message.get("hidden"):
        return Ignored("hidden message")
    user = message.get("user")
    bot_id = message.get("bot_id") or event.get("bot_id")
    if (user and user in own_ids) or (bot_id and bot_id in own_ids):
        return Ignored("own bot message")
    if not user:
        return Ignored("message without a human author")
    channel = event.get("channel")
    ts = message.get("ts")
    if not isinstance(channel, str) or not channel or not isinstance(ts, str) or not ts:
        raise MalformedEvent("message event without channel or ts")
    text = message.get("text")
    if text is not None and not isinstance(text, str):
        raise MalformedEvent("message text is not a string")
    files = [_file_ref(f) for f in message.get("files") or () if isinstance(f, dict)]
    if files and kind == event_pb2.EVENT_KIND_MESSAGE:
        kind = event_pb2.EVENT_KIND_FILE_SHARE

    result = event_pb2.Event(
        event_id=event_id,
        source=event_pb2.SOURCE_PLATFORM_SLACK,
        workspace_id=team_id,
        channel_id=channel,
        channel_type=_channel_type(event.get("channel_type"), channel),
        user_id=str(user),
        ts=ts,
        thread_ts=str(message.get("thread_ts") or ""),
        text=text or "",
        kind=kind,
        files=files,
        priority=event_pb2.PRIORITY_NORMAL,
    )
    event_time = envelope.get("event_time")
    if isinstance(event_time, int | float):
        result.event_time.CopyFrom(Timestamp(seconds=int(event_time)))
    received = Timestamp()
    received.GetCurrentTime()
    result.received_time.CopyFrom(received)
    return result


def _team_id(envelope: dict[str, Any], event: dict[str, Any]) -> str:
    for candidate in (envelope.get("team_id"), event.get("team"), envelope.get("context_team_id")):
        if isinstance(candidate, str) and candidate:
            return candidate
    return ""


def _channel_type(declared: Any, channel: str) -> event_pb2.ChannelType.ValueType:
    if isinstance(declared, str) and declared in _CHANNEL_TYPES:
        return _CHANNEL_TYPES[declared]
    return _CHANNEL_ID_PREFIXES.get(channel[:1], event_pb2.CHANNEL_TYPE_UNSPECIFIED)


def _file_ref(raw: dict[str, Any]) -> event_pb2.FileRef:
    size = raw.get("size")
    return event_pb2.FileRef(
        id=str(raw.get("id") or ""),
        name=str(raw.get("name") or ""),
        mimetype=str(raw.get("mimetype") or ""),
        size=int(size) if isinstance(size, int) else 0,
        url_private_download=str(raw.get("url_private_download") or ""),
    )


def _safe(value: Any) -> str:
    """An event type or subtype, trimmed for a log line (they are Slack's codes)."""
    return str(value)[:40] if value is not None else "none"
