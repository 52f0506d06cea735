"""Download a shared file with the bot token, bounded in size and time.

``url_private_download`` is absolute at Slack (``https://files.slack.com/...``);
a relative one is resolved against the host of ``SLACK_API_URL``. The token is
only ever sent to that host or to ``*.slack.com`` — a file URL pointing
elsewhere is not fetched. The size limit is enforced before (Slack's declared
size, ``Content-Length``) and while streaming.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp

from piiguard import metrics
from piiguard.detection.files.limits import DOWNLOAD_TIMEOUT, Unscannable
from piiguard.errors import DownloadError as DownloadError  # re-exported

log = logging.getLogger(__name__)

CHUNK = 64 * 1024




@dataclass(frozen=True)
class Downloaded:
    data: bytes
    content_type: str


def resolve(url: str, api_url: str) -> str:
    """``url`` made absolute against the scheme and host of ``api_url``."""
    parts = urlsplit(api_url)
    return urljoin(f"{parts.scheme}://{parts.netloc}/", url)


def trusted(url: str, api_url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    api_host = (urlsplit(api_url).hostname or "").lower()
    return bool(host) and (host == api_host or host == "slack.com" or host.endswith(".slack.com"))


async def download(
    session: aiohttp.ClientSession,
    url: str,
    *,
    token: str,
    api_url: str,
    max_bytes: int,
    timeout: float = DOWNLOAD_TIMEOUT,
) -> Downloaded:
    if not url:
        raise Unscannable("no download URL")
    url = resolve(url, api_url)
    if urlsplit(url).scheme not in ("http", "https"):
        raise Unscannable("download URL is not http(s)")
    if not trusted(url, api_url):
        raise Unscannable("download URL outside Slack")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await fetch(session, url, headers=headers, max_bytes=max_bytes, timeout=timeout)


class Refused(Unscannable):
    """HTTP 401/403: a token without ``files:read``, or an expired pre-signed URL."""


async def fetch(session: aiohttp.ClientSession, url: str, *, headers: dict[str, str], max_bytes: int,
                timeout: float = DOWNLOAD_TIMEOUT, api: str = "slack") -> Downloaded:
    """GET ``url``, bounded in size and time; failures as :class:`Unscannable` (final)
    or :class:`DownloadError` (worth retrying)."""
    try:
        async with session.get(url, headers=headers, allow_redirects=True, max_redirects=3,
                               timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            status = response.status
            _count_call("ok" if status == 200 else "ratelimited" if status == 429
                        else "not_authed" if status in (401, 403) else f"http_{status}", api)
            if status in (401, 403):
                if api == "slack":
                    log.warning("file download refused (HTTP %d): does the bot token have files:read?",
                                status)
                raise Refused("download refused (files:read scope?)" if api == "slack"
                              else f"download refused (HTTP {status})")
            if status in (404, 410):
                raise Unscannable("file not available for download")
            if status == 429 or status >= 500:
                raise DownloadError(f"file download: HTTP {status}")
            if status != 200:
                raise Unscannable(f"download failed (HTTP {status})")
            declared = response.content_length
            if declared is not None and declared > max_bytes:
                raise Unscannable(f"larger than the {max_bytes}-byte limit")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_chunked(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise Unscannable(f"larger than the {max_bytes}-byte limit")
                chunks.append(chunk)
            return Downloaded(b"".join(chunks), response.headers.get("Content-Type", ""))
    except aiohttp.TooManyRedirects:
        raise Unscannable("download redirected too often") from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        _count_call("connection_error", api)
        raise DownloadError(f"file download: {type(exc).__name__}") from None


def _count_call(result: str, api: str = "slack") -> None:
    """piiguard_api_calls_total for a file download (a 401/403 counts as ``not_authed``,
    so the auth alert sees a bot token without files:read too)."""
    metrics.API_CALLS.labels(api, "files.download", metrics.bounded(result)).inc()
