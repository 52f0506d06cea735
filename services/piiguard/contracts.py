"""Decoding stream payloads strictly: a message that parses but lacks what a
stage needs is as much a poison message as one that does not parse."""

from __future__ import annotations

from piiguard.v1 import action_pb2, event_pb2


class InvalidPayload(ValueError):
    pass


def _require_event_fields(event: event_pb2.Event) -> None:
    missing = [name for name in ("event_id", "workspace_id", "channel_id", "ts")
               if not getattr(event, name)]
    if missing:
        raise InvalidPayload(f"event lacks {', '.join(missing)}")


def decode_event(data: bytes) -> event_pb2.Event:
    event = event_pb2.Event.FromString(data)
    _require_event_fields(event)
    return event


def decode_action_request(data: bytes) -> action_pb2.ActionRequest:
    request = action_pb2.ActionRequest.FromString(data)
    if not request.HasField("event") or not request.HasField("result"):
        raise InvalidPayload("action request lacks event or result")
    _require_event_fields(request.event)
    return request
