"""``POST /notion/webhook``: Notion's webhook deliveries, for lower latency than polling
(polling keeps running as the reconciliation sweep).

- The one-time verification request (``{"verification_token": "..."}``, unsigned)
  is stored in the ``piiguard-notion`` bucket, only when none is stored yet (so a
  stranger cannot replace it); ``piiguard notion webhook-token`` prints it for the
  admin to paste into Notion. It is never logged.
- Every later delivery must carry ``X-Notion-Signature: sha256=<hex>``, the
  HMAC-SHA256 of the raw body keyed with that token, compared in constant time;
  unsigned or wrongly signed deliveries are refused with 401.
- ``page.created``, ``page.content_updated`` and ``page.properties_updated`` of a
  watched database become the same fetch-and-scan work as a poll (events carry
  ids only: the page is fetched). Others are acknowledged and ignored.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from typing import Any

from aiohttp import web

from piiguard.ingest.notion.poller import NotionPoller

log = logging.getLogger(__name__)

PATH = "/notion/webhook"
MAX_BODY_BYTES = 256 * 1024  # deliveries carry ids only
PAGE_EVENTS = frozenset({"page.created", "page.content_updated", "page.properties_updated"})


def signature(token: str, body: bytes) -> str:
    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def _refuse(status: int, reason: str) -> web.Response:
    log.warning("refused a Notion webhook request (HTTP %d): %s", status, reason)
    return web.json_response({"error": reason}, status=status)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def add_webhook(app: web.Application, poller: NotionPoller, *, read_timeout: float) -> None:
    tasks: set[asyncio.Task[None]] = set()

    async def webhook(request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return _refuse(413, f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            async with asyncio.timeout(read_timeout):
                body = await request.content.read(MAX_BODY_BYTES + 1)
        except TimeoutError:
            return _refuse(408, f"body not received within {read_timeout:g}s")
        if len(body) > MAX_BODY_BYTES:
            return _refuse(413, f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            payload: Any = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _refuse(400, "body is not JSON")
        if not isinstance(payload, dict):
            return _refuse(400, "body is not a JSON object")
        token = await poller.state.webhook_token()
        given = request.headers.get("X-Notion-Signature", "")
        if "verification_token" in payload and not given:
            value = payload["verification_token"]
            if not isinstance(value, str) or not 8 <= len(value) <= 512:
                return _refuse(400, "verification_token is not a token")
            if token is not None:
                return _refuse(401, "a verification token is already stored")
            await poller.state.store_webhook_token(value)
            log.info("notion webhook verification token stored; print it with "
                     "`piiguard notion webhook-token`")
            return web.json_response({})
        if token is None:
            return _refuse(401, "no verification token stored yet")
        if not given or not hmac.compare_digest(given.encode(), signature(token, body).encode()):
            return _refuse(401, "invalid Notion signature")
        kind = payload.get("type")
        entity = _mapping(payload.get("entity"))
        if kind in PAGE_EVENTS and entity.get("type") == "page" and isinstance(entity.get("id"), str):
            parent = _mapping(_mapping(payload.get("data")).get("parent"))
            task = asyncio.create_task(poller.page_event(str(entity["id"]), parent))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        return web.json_response({})

    app.router.add_post(PATH, webhook)
