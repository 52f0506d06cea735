"""Download a Notion page's file: a ``files`` property entry, or an image, pdf or
file block.

- Notion-hosted files (``type: file``) are fetched wherever their pre-signed URL
  points, *without* the Notion token (the URL carries its own credentials; S3
  refuses a second kind). The URL expires an hour after Notion handed it out:
  a refused download (403) is retried once with a fresh URL, got by fetching the
  block (``GET /v1/blocks/{id}``) or the page property
  (``GET /v1/pages/{id}/properties/{property id}``) again.
- External files (``type: external``) point anywhere (an SSRF risk): they are
  fetched only when their host is in the policy's ``notion.allowExternalFileHosts``
  (exact host names, case-insensitive); otherwise the file is unscannable
  (``UNSCANNABLE_FILE``, under the policy's rule), never fetched.

URLs are never logged, recorded or scanned as text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from notion_client import AsyncClient

from piiguard.detection.files.download import Downloaded, Refused, fetch
from piiguard.detection.files.limits import Unscannable
from piiguard.errors import DownloadError, PermanentError, TransientError
from piiguard.notion_api import NotionClients, call
from piiguard.v1 import event_pb2

log = logging.getLogger(__name__)


def allowed(url: str, hosts: Iterable[str]) -> bool:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return bool(host) and host in {h.lower().rstrip(".") for h in hosts}


class NotionFiles:
    """One per detection process; ``client`` (NOTION_TOKEN) refreshes expired URLs."""

    def __init__(self, clients: NotionClients | AsyncClient | None) -> None:
        """``clients``: each workspace's client (its own token, or NOTION_TOKEN), or one client."""
        self.clients = clients

    async def download(self, session: aiohttp.ClientSession, ref: event_pb2.FileRef, *,
                       allowed_hosts: Iterable[str], max_bytes: int, workspace: str = "") -> Downloaded:
        url = ref.url_private_download
        if not url:
            raise Unscannable("no download URL")
        if urlsplit(url).scheme not in ("http", "https"):
            raise Unscannable("download URL is not http(s)")
        if ref.notion.hosting != "file":
            if not allowed(url, allowed_hosts):
                raise Unscannable("external file not fetched (its host is not in "
                                  "notion.allowExternalFileHosts)")
            return await fetch(session, url, headers={}, max_bytes=max_bytes, api="notion")
        try:
            return await fetch(session, url, headers={}, max_bytes=max_bytes, api="notion")
        except Refused:
            fresh = await self.fresh_url(ref, workspace)
            if not fresh or fresh == url:
                raise Unscannable("download refused (the pre-signed URL expired and "
                                  "no fresh one could be had)") from None
        log.info("notion file %s: pre-signed URL expired; fetched a fresh one", ref.id)
        return await fetch(session, fresh, headers={}, max_bytes=max_bytes, api="notion")

    async def fresh_url(self, ref: event_pb2.FileRef, workspace: str = "") -> str | None:
        """The file's URL as Notion hands it out now (None: gone, or no client)."""
        clients = self.clients
        client = await clients.for_workspace(workspace) if isinstance(clients, NotionClients) else clients
        if client is None:
            return None
        where = ref.notion
        try:
            if where.block_id:
                block = await call("blocks.retrieve", client.blocks.retrieve(block_id=where.block_id))
                data = block.get(str(block.get("type") or "")) if isinstance(block, dict) else None
                return _url_of(data)
            if where.page_id and where.property_id:
                item = await call("pages.properties.retrieve", client.pages.properties.retrieve(
                    page_id=where.page_id, property_id=where.property_id))
                files = item.get("files") if isinstance(item, dict) else None
                if isinstance(files, list) and 0 <= where.index < len(files):
                    return _url_of(files[where.index])
        except TransientError as exc:
            raise DownloadError(f"notion file URL refresh: {exc.reason}") from None
        except PermanentError as exc:
            log.info("notion file %s: no fresh URL (%s)", ref.id, exc.reason)
        return None


def _url_of(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    inner = data.get("file")
    url = inner.get("url") if isinstance(inner, dict) and data.get("type") == "file" else None
    return str(url) if url else None
