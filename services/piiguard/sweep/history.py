"""Reading a channel's history from Slack: ``conversations.history`` over a time
window and, for each message with replies, ``conversations.replies`` — both paged
by cursor. Slack's rate limits (both methods are Tier 3 for internal apps) are
honoured by slack_sdk's rate-limit retry handler, which waits out ``Retry-After``
on a 429 before asking again.

Besides, each call is paced (:class:`Pacer`): at most so many a minute per
method, so a long backfill stays inside its tier instead of living on 429s.

Pure reading: nothing here acts, logs text, or keeps state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

PAGE_SIZE = 200  # Slack's recommended page size for conversations.history
RATE_LIMIT_RETRIES = 10  # each waits Retry-After: a backfill slows down, it does not fail


@dataclass(frozen=True)
class HistoryMessage:
    """One message found in a channel's history (``raw``: Slack's message object)."""

    channel: str
    raw: dict[str, Any]

    @property
    def ts(self) -> str:
        return str(self.raw.get("ts", ""))

    @property
    def edited_ts(self) -> str:
        edited = self.raw.get("edited")
        return str(edited.get("ts", "")) if isinstance(edited, dict) else ""

    @property
    def text(self) -> str:
        return str(self.raw.get("text") or "")

    @property
    def is_reply(self) -> bool:
        thread_ts = self.raw.get("thread_ts")
        return bool(thread_ts) and str(thread_ts) != self.ts


@dataclass
class Pacer:
    """At most ``per_minute`` calls a minute to each Slack method: each call waits
    until ``60 / per_minute`` seconds after the previous one of its method."""

    per_minute: float
    _next: dict[str, float] = field(default_factory=dict)

    async def __call__(self, method: str) -> None:
        now = time.monotonic()
        at = self._next.get(method, now)
        self._next[method] = max(at, now) + 60.0 / self.per_minute
        if at > now:
            await asyncio.sleep(at - now)


Pace = Callable[[str], Awaitable[None]]


async def _unpaced(_method: str) -> None:
    return None


def history_client(token: str, base_url: str) -> AsyncWebClient:
    client = AsyncWebClient(token=token, base_url=base_url, timeout=30)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
    return client


async def channel_messages(client: AsyncWebClient, channel: str, *, oldest: str = "0",
                           latest: str | None = None,
                           pace: Pace | None = None) -> AsyncIterator[HistoryMessage]:
    """Every message of ``channel`` in the window, newest first, each thread's replies
    right after its parent (a reply broadcast to the channel is met once, as a reply)."""
    wait = pace or _unpaced
    cursor: str | None = None
    while True:
        args: dict[str, Any] = {"channel": channel, "oldest": oldest, "limit": PAGE_SIZE,
                                "inclusive": True}
        if latest:
            args["latest"] = latest
        if cursor:
            args["cursor"] = cursor
        await wait("conversations.history")
        page = await client.conversations_history(**args)
        for raw in page.get("messages") or []:
            if raw.get("subtype") == "thread_broadcast":
                continue  # read with its thread
            yield HistoryMessage(channel, dict(raw))
            if int(raw.get("reply_count") or 0) > 0:
                async for reply in thread_replies(client, channel, str(raw["ts"]), wait):
                    yield reply
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return


async def thread_replies(client: AsyncWebClient, channel: str, thread_ts: str,
                         pace: Pace | None = None) -> AsyncIterator[HistoryMessage]:
    wait = pace or _unpaced
    cursor: str | None = None
    while True:
        args: dict[str, Any] = {"channel": channel, "ts": thread_ts, "limit": PAGE_SIZE}
        if cursor:
            args["cursor"] = cursor
        await wait("conversations.replies")
        page = await client.conversations_replies(**args)
        for raw in page.get("messages") or []:
            if str(raw.get("ts")) != thread_ts:  # the parent comes first on every page
                yield HistoryMessage(channel, dict(raw))
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return


async def member_channels(client: AsyncWebClient) -> list[str]:
    """The channels the bot is a member of (``users.conversations``), paged by cursor."""
    channels: list[str] = []
    cursor: str | None = None
    while True:
        args: dict[str, Any] = {"types": "public_channel,private_channel,mpim", "limit": PAGE_SIZE,
                                "exclude_archived": True}
        if cursor:
            args["cursor"] = cursor
        page = await client.users_conversations(**args)
        channels.extend(str(c["id"]) for c in page.get("channels") or [] if c.get("id"))
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return channels
