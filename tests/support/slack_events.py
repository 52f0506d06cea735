"""Signed Slack Events API requests, built the way Slack builds them."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from slack_sdk.signature import SignatureVerifier

_counter = itertools.count(1)


def signed(secret: str, payload: Any, *, timestamp: int | None = None, raw: bytes | None = None,
           retry_num: int | None = None) -> tuple[bytes, dict[str, str]]:
    """(body, headers) for POST /slack/events, signed with ``secret``."""
    body = raw if raw is not None else json.dumps(payload).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = str(SignatureVerifier(secret).generate_signature(timestamp=ts, body=body))
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return body, headers


def message_event(
    text: str,
    *,
    team: str = "T0001",
    channel: str = "C0001",
    user: str = "U0001",
    ts: str | None = None,
    thread_ts: str | None = None,
    channel_type: str = "channel",
    subtype: str | None = None,
    event_id: str | None = None,
    bot_user_id: str = "UPIIGUARDBOT",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An ``event_callback`` envelope for a ``message`` event."""
    n = next(_counter)
    event: dict[str, Any] = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts or f"{int(time.time())}.{n:06d}",
        "channel_type": channel_type,
        "team": team,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    if subtype:
        event["subtype"] = subtype
    if extra:
        event.update(extra)
    return envelope(event, team=team, event_id=event_id, bot_user_id=bot_user_id)


def edited_event(text: str, previous_text: str, *, ts: str, team: str = "T0001",
                 channel: str = "C0001", user: str = "U0001", event_id: str | None = None) -> dict[str, Any]:
    event = {
        "type": "message",
        "subtype": "message_changed",
        "channel": channel,
        "channel_type": "channel",
        "hidden": True,
        "ts": f"{time.time():.6f}",
        "message": {"type": "message", "user": user, "text": text, "ts": ts,
                    "edited": {"user": user, "ts": f"{time.time():.6f}"}},
        "previous_message": {"type": "message", "user": user, "text": previous_text, "ts": ts},
    }
    return envelope(event, team=team, event_id=event_id)


def envelope(event: dict[str, Any], *, team: str = "T0001", event_id: str | None = None,
             bot_user_id: str = "UPIIGUARDBOT") -> dict[str, Any]:
    n = next(_counter)
    return {
        "token": "deprecated-verification-token",
        "team_id": team,
        "api_app_id": "A0001",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{int(time.time())}{n:06d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team, "user_id": bot_user_id, "is_bot": True}],
    }
