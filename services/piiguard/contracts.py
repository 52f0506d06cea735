"""Checking contract messages strictly, the same way on every way in.

A message that parses but lacks what a stage needs is as much a poison message
as one that does not parse. The stream consumers (``decode_event``,
``decode_action_request``) dead-letter it; the gRPC methods answer
``INVALID_ARGUMENT`` (``check_event``, ``check_action_request``). Either way the
reason names the field and the rule, never the value.

Ids (event, workspace, channel, user, ts, file) are printable ASCII without
spaces, at most :data:`MAX_ID_CHARS`: they become subjects, keys and log fields,
so an id with a newline must never get in (log forging).
"""

from __future__ import annotations

import re

from piiguard.errors import InvalidPayload
from piiguard.policy import EntityAction, Verdict
from piiguard.v1 import action_pb2, detection_pb2, event_pb2

# The policy model's verdicts and actions as the contract spells them (one mapping).
VERDICT_TO_PROTO: dict[Verdict, detection_pb2.Verdict.ValueType] = {
    Verdict.ALLOW: detection_pb2.VERDICT_ALLOW,
    Verdict.DELETE: detection_pb2.VERDICT_DELETE,
    Verdict.NOTIFY: detection_pb2.VERDICT_NOTIFY,
}
VERDICT_NAMES: dict[detection_pb2.Verdict.ValueType, str] = {v: k.value for k, v in VERDICT_TO_PROTO.items()}
ACTION_TO_PROTO: dict[EntityAction, detection_pb2.EntityAction.ValueType] = {
    EntityAction.IGNORE: detection_pb2.ENTITY_ACTION_IGNORE,
    EntityAction.NOTIFY: detection_pb2.ENTITY_ACTION_NOTIFY,
    EntityAction.DELETE: detection_pb2.ENTITY_ACTION_DELETE,
}

__all__ = ["ACTION_TO_PROTO", "VERDICT_NAMES", "VERDICT_TO_PROTO", "InvalidPayload",
           "check_action_request", "check_event", "check_id", "check_result",
           "decode_action_request", "decode_event"]

MAX_ID_CHARS = 255
MAX_FILES = 1000  # per event: far beyond Slack's own limit; the policy scans fewer
_ID = re.compile(r"[\x21-\x7e]+")

_EVENT_IDS = ("event_id", "workspace_id", "channel_id", "ts")
_OPTIONAL_IDS = ("user_id", "thread_ts")


def check_id(value: str, name: str, *, required: bool) -> None:
    if not value:
        if required:
            raise InvalidPayload(f"{name} is required")
        return
    if len(value) > MAX_ID_CHARS or not _ID.fullmatch(value):
        raise InvalidPayload(f"{name} must be printable ASCII without spaces, "
                             f"at most {MAX_ID_CHARS} characters")


_NOTION_IDS = ("page_id", "database_id", "data_source_id", "last_edited_time")
_NOTION_LOCATIONS = frozenset({"property", "body"})
_NOTION_HOSTING = frozenset({"file", "external"})


def check_notion_event(event: event_pb2.Event, *, prefix: str = "") -> None:
    """A Notion page version: its own identity instead of Slack's channel and ts."""
    for name in ("event_id", "workspace_id"):
        check_id(getattr(event, name), prefix + name, required=True)
    for name in _NOTION_IDS:
        check_id(getattr(event.notion, name), f"{prefix}notion.{name}", required=True)
    for name in ("user_id", "notion.created_by", "notion.last_edited_by"):
        value = event.user_id if name == "user_id" else getattr(event.notion, name.split(".")[1])
        check_id(value, prefix + name, required=False)
    for person in event.notion.responsible:
        check_id(person, f"{prefix}notion.responsible", required=True)
    if any(t.location not in _NOTION_LOCATIONS for t in event.notion.texts):
        raise InvalidPayload(f"{prefix}notion.texts.location is not property or body")
    if len(event.files) > MAX_FILES:
        raise InvalidPayload(f"{prefix}files: more than {MAX_FILES}")
    for ref in event.files:
        check_id(ref.id, f"{prefix}files.id", required=True)
        if not ref.HasField("notion") or ref.notion.hosting not in _NOTION_HOSTING:
            raise InvalidPayload(f"{prefix}files.notion.hosting is not file or external")
        for name in ("block_id", "page_id", "property_id"):
            check_id(getattr(ref.notion, name), f"{prefix}files.notion.{name}", required=False)


def check_event(event: event_pb2.Event, *, prefix: str = "") -> None:
    if event.source == event_pb2.SOURCE_PLATFORM_NOTION:
        check_notion_event(event, prefix=prefix)
        return
    missing = [prefix + name for name in _EVENT_IDS if not getattr(event, name)]
    if missing:
        raise InvalidPayload(f"event lacks {', '.join(missing)}")
    for name in _EVENT_IDS:
        check_id(getattr(event, name), prefix + name, required=True)
    for name in _OPTIONAL_IDS:
        check_id(getattr(event, name), prefix + name, required=False)
    if len(event.files) > MAX_FILES:
        raise InvalidPayload(f"{prefix}files: more than {MAX_FILES}")
    for ref in event.files:
        check_id(ref.id, f"{prefix}files.id", required=True)
        if ref.HasField("notion"):
            raise InvalidPayload(f"{prefix}files.notion: only Notion events carry Notion files")
        if ref.size < 0:
            raise InvalidPayload(f"{prefix}files.size is negative")


def check_result(result: detection_pb2.DetectionResult, text: str) -> None:
    """Findings must point into the text (or into a file the event shares)."""
    if result.verdict not in detection_pb2.Verdict.values():
        raise InvalidPayload("result.verdict is not a known verdict")
    for finding in result.findings:
        if not finding.entity_type or len(finding.entity_type) > 64 or \
                not re.fullmatch(r"[A-Z0-9_]+", finding.entity_type):
            raise InvalidPayload("result.findings.entity_type is not an entity kind")
        if finding.file_id:
            check_id(finding.file_id, "result.findings.file_id", required=True)
            if finding.start < 0 or finding.end < finding.start:
                raise InvalidPayload("result.findings offsets are out of order")
            continue
        if not 0 <= finding.start <= finding.end <= len(text):
            raise InvalidPayload("result.findings offsets are outside the text")


def check_action_request(request: action_pb2.ActionRequest) -> None:
    if not request.HasField("event") or not request.HasField("result"):
        raise InvalidPayload("action request lacks event or result")
    check_event(request.event, prefix="event.")
    check_result(request.result, request.event.text)
    acts = request.result.verdict in (detection_pb2.VERDICT_DELETE, detection_pb2.VERDICT_NOTIFY)
    if acts and not request.event.user_id:
        raise InvalidPayload("event.user_id is required to notify the author")


def decode_event(data: bytes) -> event_pb2.Event:
    event = event_pb2.Event.FromString(data)
    check_event(event)
    return event


def decode_action_request(data: bytes) -> action_pb2.ActionRequest:
    request = action_pb2.ActionRequest.FromString(data)
    check_action_request(request)
    return request
