"""A local stand-in for Slack's Web API, on loopback, for the real ``slack_sdk``.

Point a client at it with ``base_url=standin.api_url`` (``SLACK_API_URL``). It
records every call (method, token, arguments), keeps just enough state to
answer like Slack (a deleted message is ``message_not_found`` the second time;
DMs are listed by ``conversations.history`` with their metadata), serves files
for ``url_private_download``, and injects faults on request: an HTTP status
(429 with ``Retry-After``, 500), a Slack error code, or a delay. With an
app-level token, ``apps.connections.open`` leads to its Socket Mode websockets
(``socket_mode``: hello, envelopes, disconnect, acknowledgements).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from piiguard.natsserver import free_port
from tests.support.socket_mode import SocketModeHub

BOT_USER_ID = "UPIIGUARDBOT"
BOT_ID = "BPIIGUARD"


@dataclass(frozen=True)
class Call:
    method: str
    token: str
    args: dict[str, Any]
    at: float


@dataclass
class Fault:
    """Applied to the next ``count`` calls of ``method`` that match ``when``."""

    method: str
    count: int = 1
    status: int = 200
    error: str | None = None
    retry_after: float | None = None
    delay: float = 0.0
    when: Callable[[dict[str, Any]], bool] | None = None


@dataclass
class _State:
    calls: list[Call] = field(default_factory=list)
    deleted: set[tuple[str, str]] = field(default_factory=set)
    deleted_files: set[str] = field(default_factory=set)
    dms: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    permanent: dict[tuple[str, str, str], str] = field(default_factory=dict)
    downloading: int = 0  # file downloads in flight now
    most_downloading: int = 0  # ... and at most, since the last reset
    users_by_email: dict[str, str] = field(default_factory=dict)  # users.lookupByEmail
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel → newest first
    replies: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)  # oldest first
    revoked: set[str] = field(default_factory=set)  # tokens Slack refuses (invalid_auth)


class SlackStandIn:
    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._state = _State()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self.socket_mode = SocketModeHub()  # apps.connections.open and its websockets

    # -- addresses -------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # -- lifecycle -------------------------------------------------------
    def start(self) -> SlackStandIn:
        self._thread = threading.Thread(target=self._serve, name="slack-standin", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("Slack stand-in did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._runner:
            asyncio.run_coroutine_threadsafe(self.socket_mode.close_all(), self._loop).result(10)
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(10)

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests ask --------------------------------------------------
    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._state.calls if method is None or c.method == method]

    def reset(self) -> None:
        with self._lock:
            self._state = _State(files=self._state.files, users_by_email=self._state.users_by_email,
                                 history=self._state.history, replies=self._state.replies)

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._state.faults.append(fault)

    def fail_permanently(self, method: str, key: str, value: str, error: str) -> None:
        """Every call of ``method`` whose argument ``key`` equals ``value`` gets ``error``."""
        with self._lock:
            self._state.permanent[(method, key, value)] = error

    def revoke(self, token: str) -> None:
        """Every call made with ``token`` from now on gets ``invalid_auth``."""
        with self._lock:
            self._state.revoked.add(token)

    def clear_failures(self) -> None:
        with self._lock:
            self._state.permanent.clear()
            self._state.faults.clear()

    def serve_file(self, path: str, content: bytes, content_type: str = "application/octet-stream") -> str:
        """Serve ``content`` at ``/files/<path>``; returns its absolute URL."""
        with self._lock:
            self._state.files[path] = (content, content_type)
        return f"{self.base_url}/files/{path}"

    def add_user(self, email: str, user_id: str) -> None:
        """A workspace member ``users.lookupByEmail`` finds (case-insensitively, as Slack)."""
        with self._lock:
            self._state.users_by_email[email.lower()] = user_id

    def add_history(self, channel: str, messages: list[dict[str, Any]],
                    replies: dict[str, list[dict[str, Any]]] | None = None) -> None:
        """A channel's past messages (any order; served newest first, paged by cursor
        as Slack does) and each thread's replies by parent ts, for the history sweep."""
        with self._lock:
            merged = self._state.history.get(channel, []) + list(messages)
            self._state.history[channel] = sorted(merged, key=lambda m: float(m["ts"]), reverse=True)
            for parent, thread in (replies or {}).items():
                self._state.replies[(channel, parent)] = sorted(thread, key=lambda m: float(m["ts"]))

    def edit_history(self, channel: str, ts: str, text: str, edited_ts: str) -> None:
        """A message of the channel's history edited: its text replaced, ``edited.ts`` set."""
        with self._lock:
            for messages in (self._state.history.get(channel, []),
                             *(t for (c, _), t in self._state.replies.items() if c == channel)):
                for message in messages:
                    if message["ts"] == ts:
                        message["text"] = text
                        message["edited"] = {"user": message.get("user"), "ts": edited_ts}

    def undelete(self, channel: str, ts: str) -> None:
        """Slack still lists a message deleted a moment ago (a read that raced the delete)."""
        with self._lock:
            self._state.deleted.discard((channel, ts))

    def dms_to(self, user_id: str) -> list[dict[str, Any]]:
        """Messages posted in the DM channel with ``user_id`` (newest first)."""
        with self._lock:
            return list(self._state.dms.get(f"D{user_id}", []))

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._state.dms.get(channel, []))

    def notices(self) -> list[dict[str, Any]]:
        """The metadata payload of every DM Slack accepted (not merely received)."""
        with self._lock:
            return [
                dict(message["metadata"].get("event_payload") or {})
                for messages in self._state.dms.values()
                for message in messages
                if isinstance(message.get("metadata"), dict)
            ]

    def deleted_messages(self) -> set[tuple[str, str]]:
        with self._lock:
            return set(self._state.deleted)

    # -- the server ------------------------------------------------------
    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # slack_sdk GETs a few read methods
        app.router.add_get("/files/{path:.*}", self._file)
        self.socket_mode.attach(app, f"ws://{self.host}:{self.port}")
        self.socket_mode.started(self._loop)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, self.host, self.port).start())
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def most_concurrent_downloads(self) -> int:
        with self._lock:
            return self._state.most_downloading

    async def _file(self, request: web.Request) -> web.StreamResponse:
        """A file download; faults for method ``files.download`` apply (``when`` sees
        ``{"path": ...}``), and ``delay`` keeps the download in flight."""
        path = request.match_info["path"]
        with self._lock:
            state = self._state
            state.calls.append(Call("files.download", _token(request), {"path": path}, time.time()))
            found = state.files.get(path)
            fault = self._take_fault("files.download", {"path": path})
            state.downloading += 1
            state.most_downloading = max(state.most_downloading, state.downloading)
        try:
            if fault and fault.delay:
                await asyncio.sleep(fault.delay)
            if fault and fault.status != 200:
                return web.Response(status=fault.status)
            if not _token(request):
                return web.Response(status=302, headers={"Location": f"{self.base_url}/login"})
            if found is None:
                return web.Response(status=404)
            return web.Response(body=found[0], content_type=found[1])
        finally:
            with self._lock:
                state.downloading -= 1

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _arguments(request)
        token = _token(request) or str(args.pop("token", ""))
        with self._lock:
            self._state.calls.append(Call(method, token, args, time.time()))
            fault = self._take_fault(method, args)
            permanent = next(
                (err for (m, k, v), err in self._state.permanent.items()
                 if m == method and str(args.get(k)) == v),
                None,
            )
        if fault and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault and fault.status != 200:
            headers = {"Retry-After": str(int(fault.retry_after))} if fault.retry_after is not None else {}
            body = {"ok": False, "error": "ratelimited" if fault.status == 429 else "internal_error"}
            return web.json_response(body, status=fault.status, headers=headers)
        if fault and fault.error:
            return web.json_response({"ok": False, "error": fault.error})
        if permanent:
            return web.json_response({"ok": False, "error": permanent})
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        with self._lock:
            revoked = token in self._state.revoked
        if revoked:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "apps.connections.open":
            return web.json_response(self.socket_mode.open_connection(token))
        return web.json_response(self._answer(method, args))

    def _take_fault(self, method: str, args: dict[str, Any]) -> Fault | None:
        for fault in self._state.faults:
            if fault.method == method and fault.count > 0 and (fault.when is None or fault.when(args)):
                fault.count -= 1
                if fault.count == 0:
                    self._state.faults.remove(fault)
                return fault
        return None

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            state = self._state
            if method == "auth.test":
                return {"ok": True, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "team_id": "T0001"}
            if method == "chat.delete":
                key = (str(args.get("channel")), str(args.get("ts")))
                if key in state.deleted:
                    return {"ok": False, "error": "message_not_found"}
                state.deleted.add(key)
                return {"ok": True, "channel": key[0], "ts": key[1]}
            if method == "files.delete":
                file_id = str(args.get("file"))
                if file_id in state.deleted_files:
                    return {"ok": False, "error": "file_not_found"}
                state.deleted_files.add(file_id)
                return {"ok": True}
            if method == "users.lookupByEmail":
                user_id = state.users_by_email.get(str(args.get("email", "")).lower())
                if user_id is None:
                    return {"ok": False, "error": "users_not_found"}
                return {"ok": True, "user": {"id": user_id, "team_id": "T0001", "deleted": False,
                                             "is_bot": False, "profile": {}}}
            if method == "conversations.open":
                user = str(args.get("users", "")).split(",")[0]
                return {"ok": True, "channel": {"id": f"D{user}"}}
            if method == "chat.postMessage":
                channel = str(args.get("channel"))
                ts = f"{time.time():.6f}"
                message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts,
                           "text": args.get("text", ""), "blocks": args.get("blocks")}
                metadata = args.get("metadata")
                if isinstance(metadata, str):
                    metadata = json.loads(metadata)
                if metadata:
                    message["metadata"] = metadata
                state.dms.setdefault(channel, []).insert(0, message)
                return {"ok": True, "channel": channel, "ts": ts, "message": message}
            if method == "conversations.history":
                channel = str(args.get("channel"))
                if channel in state.history:
                    oldest = float(args.get("oldest") or 0)
                    latest = float(args.get("latest") or "inf")
                    window = [m for m in state.history[channel] if oldest <= float(m["ts"]) <= latest
                              and (channel, str(m["ts"])) not in state.deleted]  # deleted: gone
                    return _page(window, args)
                messages = state.dms.get(channel, [])
                return {"ok": True, "messages": messages[: int(args.get("limit", 100))]}
            if method == "conversations.replies":
                channel, parent = str(args.get("channel")), str(args.get("ts"))
                thread = state.replies.get((channel, parent))
                if thread is None:
                    return {"ok": False, "error": "thread_not_found"}
                head = next((m for m in state.history.get(channel, []) if m["ts"] == parent), None)
                page = _page([m for m in thread if (channel, m["ts"]) not in state.deleted], args)
                page["messages"] = ([head] if head else []) + page["messages"]  # parent on every page
                return page
            if method == "users.conversations":
                return {"ok": True, "channels": [{"id": c} for c in sorted(state.history)],
                        "response_metadata": {"next_cursor": ""}}
            return {"ok": True}


def _page(items: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
    """One page of ``items`` by Slack's cursor pagination (``limit``, ``cursor``). The
    cursor names the last message served, so messages deleted meanwhile do not shift
    the next page (as Slack's cursors)."""
    cursor = str(args.get("cursor") or "")
    start = 0
    if cursor.startswith("after:"):
        last = cursor.removeprefix("after:")
        order = [m["ts"] for m in items]
        newest_first = len(order) > 1 and float(order[0]) > float(order[-1])
        start = next((i for i, ts in enumerate(order)
                      if (float(ts) < float(last) if newest_first else float(ts) > float(last))),
                     len(order))
    limit = max(1, min(int(args.get("limit") or 100), 1000))
    chunk = items[start:start + limit]
    more = start + limit < len(items)
    return {"ok": True, "messages": chunk, "has_more": more,
            "response_metadata": {"next_cursor": f"after:{chunk[-1]['ts']}" if more else ""}}


async def _arguments(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.method == "GET":
        pass
    elif request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            args.update(body)
    else:
        form = await request.post()
        args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in ("blocks", "metadata"):
        if isinstance(args.get(key), str):
            try:
                args[key] = json.loads(args[key])
            except ValueError:
                pass
    return args


def _token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else ""
