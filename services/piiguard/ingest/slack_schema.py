"""The shape of a Slack Events API request, checked before anything trusts it.

A signed request is only as well-formed as the sender made it: a signature
proves who sent the bytes, not that ``files`` is a list. Every request body goes
through :func:`load_payload` (bytes → JSON within bounds) and then the pydantic
models below; anything else is a :class:`MalformedEvent`, answered 400. Fields
we do not read are allowed and ignored (Slack adds fields over time), fields we
read must have the documented type.

Bounds that hold for every payload, whatever its type:

* UTF-8, no ``NaN``/``Infinity`` literals, no lone surrogates in any string;
* at most :data:`MAX_DEPTH` levels of nesting (Slack's deepest payloads, rich
  text blocks inside an edited message, stay well below);
* ids (``event_id``, team, channel, user, ts, file ids) are short printable
  ASCII, so they can go into a subject, a key or a log line as they are.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from piiguard.errors import MalformedEvent as MalformedEvent  # answered 400; names the field, never its value

MAX_DEPTH = 32
MAX_ID_CHARS = 255
MAX_FILES_LISTED = 1000  # Slack lists at most a handful; the policy scans up to maxFiles
# The largest time a protobuf Timestamp holds (9999-12-31T23:59:59Z).
MAX_EPOCH_SECONDS = 253_402_300_799

_ID = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces or control characters


def load_payload(body: bytes) -> Any:
    """JSON from the request body, refusing what Slack never sends."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedEvent("body is not UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise MalformedEvent("body is nested too deeply") from None
    except ValueError:
        raise MalformedEvent("body is not JSON") from None
    _check_tree(value)
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_tree(value: Any) -> None:
    """Depth and lone surrogates, over the whole tree, iteratively."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _has_lone_surrogate(item):
                raise MalformedEvent("a string holds an unpaired surrogate")
            continue
        if isinstance(item, float) and not math.isfinite(item):
            raise MalformedEvent("a number is not finite")
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise MalformedEvent(f"body is nested deeper than {MAX_DEPTH} levels")
            children = list(item.items()) if isinstance(item, dict) else [(None, v) for v in item]
            for key, child in children:
                if isinstance(key, str) and _has_lone_surrogate(key):
                    raise MalformedEvent("a key holds an unpaired surrogate")
                stack.append((child, depth + 1))


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _id(value: Any) -> Any:
    if isinstance(value, str) and value and (len(value) > MAX_ID_CHARS or not _ID.fullmatch(value)):
        raise ValueError("not an id (printable ASCII, at most 255 characters)")
    return value


def _lenient_size(value: Any) -> int:
    """Slack's declared file size is advisory (the download limit holds anyway)."""
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62
    return value if ok else 0


Id = Annotated[str, BeforeValidator(_id)]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Authorization(_Shape):
    team_id: Id | None = None
    user_id: Id | None = None
    is_bot: bool = False


class SlackFile(_Shape):
    id: Id = ""
    name: str = ""
    mimetype: str = ""
    size: Annotated[int, BeforeValidator(_lenient_size)] = 0
    url_private_download: str = ""


class Edited(_Shape):
    ts: Id | None = None


class SlackMessage(_Shape):
    """A message as it appears in a ``message`` event or inside ``message_changed``."""

    type: str | None = None
    subtype: str | None = None
    user: Id | None = None
    bot_id: Id | None = None
    text: str | None = None
    ts: Id | None = None
    thread_ts: Id | None = None
    hidden: bool = False
    files: list[SlackFile] | None = Field(None, max_length=MAX_FILES_LISTED)
    edited: Edited | None = None


class MessageEvent(SlackMessage):
    channel: Id | None = None
    channel_type: str | None = None
    team: Id | None = None
    message: SlackMessage | None = None
    previous_message: SlackMessage | None = None


class Envelope(_Shape):
    type: str
    team_id: Id | None = None
    context_team_id: Id | None = None
    event_id: Id | None = None
    event_time: int | None = Field(None, ge=0, le=MAX_EPOCH_SECONDS)
    challenge: str | None = Field(None, max_length=1024)
    authorizations: list[Authorization] | None = None
    event: dict[str, Any] | None = None


def envelope(value: Any) -> Envelope:
    """The envelope of any payload type; its ``event`` is checked by :func:`message_event`."""
    return _validate(Envelope, value)


def message_event(value: dict[str, Any]) -> MessageEvent:
    return _validate(MessageEvent, value)


def _validate(model: type[Any], value: Any) -> Any:
    if not isinstance(value, dict):
        raise MalformedEvent("request body is not an Events API payload")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(_location_part(p) for p in first["loc"]) or "(root)"
        raise MalformedEvent(f"{where}: {first['msg']}") from None


# A location names our model's fields and list indexes; a free-form mapping's key
# comes from the payload and could be text, so it is never echoed into a log line.
_FIELD_NAME = re.compile(r"[A-Za-z_]{1,40}")


def _location_part(part: object) -> str:
    if isinstance(part, int) or (isinstance(part, str) and _FIELD_NAME.fullmatch(part)):
        return str(part)
    return "*"
