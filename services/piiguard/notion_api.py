"""Notion's REST API through the real ``notion-client``, with our error classes.

Ingest (polling, fetching pages) and action (trashing, authors' emails) both
talk to Notion; this is their one client factory and the one place Notion's
answers become :mod:`piiguard.errors` classes. The SDK's own retries are kept
short (it waits out a 429's ``Retry-After`` and retries idempotent 5xx once);
what is left is for the stream worker's retry/backoff and the dead-letter stream:

=================================================  =============================
Notion says                                         we do
=================================================  =============================
``object_not_found`` (404)                          :class:`NotionNotFound`
429 ``rate_limited``, 5xx, 529, timeouts            retry after ``Retry-After``
``unauthorized``, ``restricted_resource``           dead-letter (permanent)
other 4xx (``validation_error``, ...)               dead-letter with the code
=================================================  =============================

Reasons carry Notion's error *code* and the HTTP status only, never its message
(a message can quote the request).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

import httpx
from notion_client import AsyncClient
from notion_client.client import ClientOptions, RetryOptions
from notion_client.errors import APIResponseError, HTTPResponseError, RequestTimeoutError

from piiguard import metrics
from piiguard.errors import PermanentError, TransientError

NOTION_VERSION = "2025-09-03"
RETRYABLE_STATUS = frozenset({409, 429, 500, 502, 503, 504, 529})

T = TypeVar("T")

# The SDK logs failed requests with Notion's message at WARNING: keep it quiet.
logging.getLogger("notion_client").setLevel(logging.ERROR)
logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request


class NotionNotFound(PermanentError):
    """``object_not_found``: gone, trashed for good, or not shared with the integration."""


def open_client(token: str, base_url: str, *, timeout: float = 30.0) -> AsyncClient:
    return AsyncClient(options=ClientOptions(
        auth=token, base_url=base_url.rstrip("/"), timeout_ms=int(timeout * 1000),
        notion_version=NOTION_VERSION, log_level=logging.ERROR,
        retry=RetryOptions(max_retries=2, initial_retry_delay_ms=500, max_retry_delay_ms=10_000)))


async def call(method: str, request: Awaitable[T]) -> T:
    """Await one SDK call, counted in piiguard_external_calls_total (api="notion"),
    its failure translated (see the table above)."""
    try:
        answer = await request
    except APIResponseError as exc:
        _count(method, exc.code if isinstance(exc.code, str) else str(exc.code))
        raise _translate(exc.status, str(getattr(exc.code, "value", exc.code)), exc.headers) from None
    except HTTPResponseError as exc:
        _count(method, f"http_{exc.status}")
        raise _translate(exc.status, f"http_{exc.status}", exc.headers) from None
    except (RequestTimeoutError, httpx.TransportError) as exc:
        _count(method, "unreachable")
        raise TransientError(f"Notion {method}: {type(exc).__name__}") from None
    _count(method, "ok")
    return answer


def _translate(status: int, code: str, headers: Any) -> Exception:
    if code == "object_not_found" or status == 404:
        return NotionNotFound(f"Notion: object_not_found (HTTP {status})")
    if status in RETRYABLE_STATUS:
        return TransientError(f"Notion: {code} (HTTP {status})", retry_after=_retry_after(headers))
    return PermanentError(f"Notion: {code} (HTTP {status})")


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("retry-after") if headers is not None else None
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _count(method: str, result: str) -> None:
    try:
        metrics.API_CALLS.labels("notion", method, result).inc()
    except Exception:  # a metric must never break a call
        pass


class TokenSource(Protocol):
    async def notion_token(self, workspace_id: str) -> str:
        """The workspace's Notion token ("" when it has none)."""
        ...


class NotionClients:
    """One ``notion-client`` per integration token: each workspace's token (its
    policy's ``notion.tokenSecretRef``, projected by the operator, read with the
    Slack credentials) or ``NOTION_TOKEN``. Clients are cached by token hash, so a
    rotated token gets a new client; tokens are never logged."""

    def __init__(self, base_url: str, fallback_token: str = "", source: TokenSource | None = None) -> None:
        self.base_url = base_url
        self.fallback_token = fallback_token.strip()
        self.source = source
        self._clients: dict[str, AsyncClient] = {}

    async def for_workspace(self, workspace_id: str) -> AsyncClient | None:
        token = ""
        if self.source is not None:
            try:
                token = (await self.source.notion_token(workspace_id)).strip()
            except Exception as exc:  # credentials unreadable now: the fallback, if any
                logging.getLogger(__name__).warning("notion token of %s not read (%s)", workspace_id,
                                                    type(exc).__name__)
        token = token or self.fallback_token
        if not token:
            return None
        key = hashlib.sha256(token.encode()).hexdigest()
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = open_client(token, self.base_url)
        return client

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


class CredentialTokens:
    """A :class:`TokenSource` over a stage's Slack credential source."""

    def __init__(self, credentials: Any) -> None:
        self.credentials = credentials

    async def notion_token(self, workspace_id: str) -> str:
        found = await self.credentials.for_workspace(workspace_id)
        return str(getattr(found, "notion_token", "") or "") if found is not None else ""
