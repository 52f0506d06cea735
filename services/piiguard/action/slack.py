"""Slack's Web API, through the real ``slack_sdk`` client, with our error classes.

Two clients because Slack allows no other way: deleting *another person's*
message needs a workspace admin's **user** token (``SLACK_ADMIN_TOKEN``,
``chat:write``); the DM is sent by the bot (``SLACK_BOT_TOKEN``).

slack_sdk's own retry handlers absorb short 429s (waiting the ``Retry-After``
Slack gave, while the worker keeps the message alive with heartbeats), 5xx
answers and dropped connections. What is left after them is classified:

================================================  =============================
Slack says                                         we do
================================================  =============================
``message_not_found`` / ``file_not_found`` on      already done: success
delete
429 ``ratelimited`` (still)                        retry after ``Retry-After``
5xx, timeouts, connection errors                   retry with backoff
``invalid_auth``, ``token_revoked``, ...           dead-letter, mark unhealthy
``channel_not_found``, ``cant_delete_message``...  dead-letter with the reason
================================================  =============================
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from opentelemetry import trace
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from piiguard import metrics
from piiguard.errors import PermanentError, TransientError
from piiguard.errors import SlackAuthError as SlackAuthError  # re-exported
from piiguard.slack_credentials import CredentialSource
from piiguard.slack_errors import AUTH_ERRORS

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("piiguard.action.slack")

PERMANENT_ERRORS = frozenset({
    "channel_not_found", "cant_delete_message", "user_not_found", "user_disabled",
    "cannot_dm_bot", "is_archived", "not_in_channel", "invalid_blocks", "msg_too_long",
    "compliance_exports_prevent_deletion", "cant_delete_file", "invalid_arguments",
    "restricted_action", "user_is_bot",
})
ALREADY_GONE = frozenset({"message_not_found", "file_not_found", "file_deleted", "users_not_found"})




def _retry_handlers() -> list[Any]:
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=2),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]


class SlackGateway:
    def __init__(
        self,
        *,
        admin_token: str,
        bot_token: str,
        base_url: str,
        timeout: int = 10,
        on_auth_failure: Callable[[str, str], None] = lambda token_name, error: None,
    ) -> None:
        # One pooled HTTP session for both clients: without it slack_sdk opens a
        # new connection for every call (a large share of the action stage's CPU).
        self.session = aiohttp.ClientSession()
        self.admin = AsyncWebClient(token=admin_token, base_url=base_url, timeout=timeout,
                                    retry_handlers=_retry_handlers(), session=self.session)
        self.bot = AsyncWebClient(token=bot_token, base_url=base_url, timeout=timeout,
                                  retry_handlers=_retry_handlers(), session=self.session)
        self.on_auth_failure = on_auth_failure

    async def close(self) -> None:
        await self.session.close()

    async def delete_message(self, channel: str, ts: str) -> bool:
        """Delete a message; False when it was already gone."""
        return await self._call("SLACK_ADMIN_TOKEN", "chat.delete",
                                self.admin.chat_delete(channel=channel, ts=ts), gone_ok=True)

    async def delete_file(self, file_id: str) -> bool:
        return await self._call("SLACK_ADMIN_TOKEN", "files.delete",
                                self.admin.files_delete(file=file_id), gone_ok=True)

    async def open_dm(self, user: str) -> str:
        answer: dict[str, Any] = {}

        async def call() -> None:
            response = await self.bot.conversations_open(users=user)
            answer.update(response.data if isinstance(response.data, dict) else {})

        await self._call("SLACK_BOT_TOKEN", "conversations.open", call())
        return str(answer["channel"]["id"])

    async def post_message(self, channel: str, text: str, blocks: list[dict[str, Any]],
                           metadata: dict[str, Any] | None = None) -> None:
        await self._call("SLACK_BOT_TOKEN", "chat.postMessage",
                         self.bot.chat_postMessage(channel=channel, text=text, blocks=blocks,
                                                   metadata=metadata, unfurl_links=False,
                                                   unfurl_media=False))

    async def user_by_email(self, email: str) -> str | None:
        """The Slack user id of the member with this email (``users.lookupByEmail``,
        bot token, scopes users:read and users:read.email); None: ``users_not_found``."""
        answer: dict[str, Any] = {}

        async def call() -> None:
            response = await self.bot.users_lookupByEmail(email=email)
            answer.update(response.data if isinstance(response.data, dict) else {})

        found = await self._call("SLACK_BOT_TOKEN", "users.lookupByEmail", call(), gone_ok=True)
        user = answer.get("user") or {}
        return str(user["id"]) if found and user.get("id") and not user.get("deleted") else None

    async def recent_bot_messages(self, channel: str, limit: int = 50) -> list[dict[str, Any]]:
        """Recent messages of a DM channel with their metadata, to tell whether a DM
        was already sent before a crash."""
        answer: dict[str, Any] = {}

        async def call() -> None:
            response = await self.bot.conversations_history(
                channel=channel, limit=limit, include_all_metadata=True
            )
            answer.update(response.data if isinstance(response.data, dict) else {})

        await self._call("SLACK_BOT_TOKEN", "conversations.history", call())
        return list(answer.get("messages") or [])

    async def _call(self, token_name: str, method: str, call: Any, *, gone_ok: bool = False) -> bool:
        with _tracer.start_as_current_span(
            f"slack {method}", kind=trace.SpanKind.CLIENT,
            attributes={"slack.method": method, "slack.token_name": token_name},
        ) as span:
            try:
                return await self._classified(token_name, method, call, gone_ok=gone_ok)
            except (PermanentError, TransientError) as exc:
                span.set_attribute("slack.outcome", exc.reason)
                raise

    async def _classified(self, token_name: str, method: str, call: Any, *, gone_ok: bool) -> bool:
        calls = metrics.API_CALLS
        try:
            await call
            calls.labels("slack", method, "ok").inc()
            return True
        except SlackApiError as exc:
            data = exc.response.data if exc.response is not None else None
            error = str(data.get("error", "")) if isinstance(data, dict) else ""
            status = exc.response.status_code if exc.response is not None else 0
            result = "ratelimited" if status == 429 or error == "ratelimited" else \
                metrics.bounded(error, "other") if error else f"http_{status // 100}xx"
            calls.labels("slack", method, result).inc()
            if gone_ok and error in ALREADY_GONE:
                return False
            if error in AUTH_ERRORS:
                self.on_auth_failure(token_name, error)
                raise SlackAuthError(f"slack {method}: {error} ({token_name})") from None
            if error in PERMANENT_ERRORS:
                raise PermanentError(f"slack {method}: {error}") from None
            if status == 429 or error == "ratelimited":
                retry_after = _retry_after(exc.response.headers if exc.response is not None else {})
                raise TransientError(f"slack {method}: rate limited", retry_after) from None
            if status >= 500 or not error:
                raise TransientError(f"slack {method}: HTTP {status}") from None
            # An error code we do not know: let retries and, in the end, the DLQ tell.
            raise TransientError(f"slack {method}: {error[:60]}") from None
        except (TimeoutError, aiohttp.ClientError, SlackRequestError, OSError) as exc:
            calls.labels("slack", method, "connection_error").inc()
            raise TransientError(f"slack {method}: {type(exc).__name__}") from None


def _retry_after(headers: Any) -> float | None:
    for name in ("Retry-After", "retry-after"):
        value = headers.get(name) if hasattr(headers, "get") else None
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            try:
                return float(value)
            except ValueError:
                return None
    return None


class SlackGateways:
    """One gateway per set of credentials: each workspace's own tokens (from the
    environment, or the Secrets its PiiPolicy references)."""

    def __init__(self, credentials: CredentialSource, *, base_url: str,
                 on_auth_failure: Callable[[str, str], None] = lambda token_name, error: None) -> None:
        self.credentials = credentials
        self.base_url = base_url
        self.on_auth_failure = on_auth_failure
        self._gateways: dict[tuple[str, str], SlackGateway] = {}

    async def for_workspace(self, workspace_id: str) -> SlackGateway:
        credentials = await self.credentials.for_workspace(workspace_id)
        if credentials is None or not credentials.bot_token or not credentials.admin_token:
            # Perhaps a Secret not created yet: retried, then dead-lettered with this reason.
            raise TransientError("no Slack credentials for this workspace")
        key = (credentials.bot_token, credentials.admin_token)
        gateway = self._gateways.get(key)
        if gateway is None:
            gateway = SlackGateway(admin_token=credentials.admin_token, bot_token=credentials.bot_token,
                                   base_url=self.base_url, on_auth_failure=self.on_auth_failure)
            self._gateways[key] = gateway
        return gateway

    async def close(self) -> None:
        for gateway in self._gateways.values():
            await gateway.close()
        self._gateways.clear()
