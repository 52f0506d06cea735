"""A local stand-in for Notion's REST API (version 2025-09-03), on loopback.

Point the real ``notion-client`` at it with ``base_url=standin.base_url``
(``NOTION_API_URL``). It answers like Notion where PII Guard depends on it:

- databases hold data sources (``GET /v1/databases/{id}`` → ``data_sources``);
  a database not shared with the integration is ``404 object_not_found``;
- ``POST /v1/data_sources/{id}/query`` honours the ``last_edited_time``
  timestamp filter and sort, and returns *fewer* results than ``page_size``
  with ``has_more`` and a ``next_cursor`` (as Notion may);
- timestamps are rounded down to the minute, as Notion's are;
- a page object shows at most 25 items of a ``title``/``rich_text`` value (as
  Notion truncates them); ``GET /v1/pages/{id}/properties/{property id}`` gives
  them all, paginated (a list of ``property_item`` objects);
- ``GET /v1/blocks/{id}/children`` is paginated, blocks nest (``has_children``);
- ``GET /v1/users/{id}`` carries ``person.email`` only for people who have one;
- ``PATCH /v1/pages/{id}`` with ``{"in_trash": true}`` trashes; editing a
  trashed page is a ``400 validation_error``, as on Notion;
- Notion-hosted file URLs are pre-signed and expire (``403`` afterwards): each
  read of the page, a block or a property hands out a fresh URL (valid for
  ``file_lifetime``), as Notion does; ``GET /v1/blocks/{id}`` serves one block;
- injected faults: an HTTP status (``429`` with ``Retry-After``, ``500``, ``529``).

Every call is recorded (method, path, body) so tests wait on what happened.
The clock can be moved forward (:meth:`advance`) so "an edit a minute later"
needs no sleeping.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from piiguard.natsserver import free_port

API_VERSION = "2025-09-03"
HOSTED = "__hosted_file__"  # placeholder of a hosted file, signed each time it is served


# -- builders of Notion JSON (what tests write pages with) ------------------
def rich(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"content": text, "link": None}, "annotations": {
        "bold": False, "italic": False, "strikethrough": False, "underline": False,
        "code": False, "color": "default"}, "plain_text": text, "href": None}]


def rich_parts(*parts: str) -> list[dict[str, Any]]:
    """One rich text item per part (a value Notion shows only 25 items of)."""
    return [item for part in parts for item in rich(part)]


def title(text: str) -> dict[str, Any]:
    return {"type": "title", "title": rich(text)}


def text(value: str) -> dict[str, Any]:
    return {"type": "rich_text", "rich_text": rich(value)}


def number(value: float) -> dict[str, Any]:
    return {"type": "number", "number": value}


def select(name: str) -> dict[str, Any]:
    return {"type": "select", "select": {"id": uuid.uuid4().hex[:4], "name": name, "color": "default"}}


def checkbox(value: bool) -> dict[str, Any]:
    return {"type": "checkbox", "checkbox": value}


def block(kind: str, content: str = "", *children: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A block of ``kind`` (paragraph, toggle, heading_1, code, quote, ...) with text
    and nested children (which the stand-in serves under ``/blocks/{id}/children``)."""
    body: dict[str, Any] = {"rich_text": rich(content), "color": "default", **extra}
    if kind == "code":
        body.setdefault("language", "plain text")
        body.setdefault("caption", [])
    return {"object": "block", "type": kind, kind: body, "children": list(children)}


def paragraph(content: str, *children: dict[str, Any]) -> dict[str, Any]:
    return block("paragraph", content, *children)


def toggle(content: str, *children: dict[str, Any]) -> dict[str, Any]:
    return block("toggle", content, *children)


def notion_time(seconds: float) -> str:
    """Notion's timestamp form, rounded down to the minute as Notion rounds it."""
    moment = dt.datetime.fromtimestamp(seconds - seconds % 60, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:00.000Z")


def _parse_time(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict[str, Any]
    token: str
    at: float


@dataclass
class Fault:
    """Applied to the next ``count`` requests whose ``METHOD path`` starts with ``prefix``."""

    prefix: str
    status: int = 429
    count: int = 1
    retry_after: float | None = 1.0


@dataclass
class _Page:
    id: str
    data_source_id: str
    database_id: str
    properties: dict[str, dict[str, Any]]
    created_by: str
    last_edited_by: str
    created: float
    edited: float
    in_trash: bool = False


@dataclass
class _State:
    calls: list[Call] = field(default_factory=list)
    databases: dict[str, list[str]] = field(default_factory=dict)  # id -> data source ids
    unshared: set[str] = field(default_factory=set)
    data_sources: dict[str, str] = field(default_factory=dict)  # data source -> database
    pages: dict[str, _Page] = field(default_factory=dict)
    blocks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # parent -> children
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, tuple[bytes, str, float]] = field(default_factory=dict)
    signatures: dict[str, tuple[str, float]] = field(default_factory=dict)  # -> file key, expiry
    faults: list[Fault] = field(default_factory=list)


class NotionStandIn:
    def __init__(self, token: str = "ntn_standin_token", *, host: str = "127.0.0.1",
                 max_results: int = 2, file_lifetime: float = 3600.0) -> None:
        self.token = token
        self.host = host
        self.port = free_port(host)
        self.max_results = max_results  # per query/list response, whatever page_size says
        self.file_lifetime = file_lifetime
        self._offset = 0.0
        self._state = _State()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- clock -------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move Notion's clock forward (edits made afterwards are that much later)."""
        self._offset += seconds

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> NotionStandIn:
        self._thread = threading.Thread(target=self._serve, name="notion-standin", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("Notion stand-in did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._runner:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(10)

    def __enter__(self) -> NotionStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the workspace (what tests set up) -----------------------------------
    def add_database(self, *, data_sources: int = 1, shared: bool = True) -> tuple[str, list[str]]:
        database_id = str(uuid.uuid4())
        sources = [str(uuid.uuid4()) for _ in range(data_sources)]
        with self._lock:
            self._state.databases[database_id] = sources
            for source in sources:
                self._state.data_sources[source] = database_id
            if not shared:
                self._state.unshared.add(database_id)
        return database_id, sources

    def add_user(self, *, email: str | None = None, bot: bool = False) -> str:
        user_id = str(uuid.uuid4())
        user: dict[str, Any] = {"object": "user", "id": user_id, "name": "A person",
                                "avatar_url": None}
        if bot:
            user.update(type="bot", bot={})
        else:
            user.update(type="person", person={"email": email} if email else {})
        with self._lock:
            self._state.users[user_id] = user
        return user_id

    def add_page(self, data_source_id: str, properties: dict[str, dict[str, Any]],
                 body: list[dict[str, Any]] = (), *, created_by: str,  # type: ignore[assignment]
                 last_edited_by: str | None = None) -> str:
        page_id = str(uuid.uuid4())
        moment = self.now()
        with self._lock:
            self._state.pages[page_id] = _Page(
                page_id, data_source_id, self._state.data_sources[data_source_id],
                self._with_ids(properties), created_by, last_edited_by or created_by, moment, moment)
            self._state.blocks[page_id] = self._store_blocks(list(body))
        return page_id

    def edit_page(self, page_id: str, *, by: str, properties: dict[str, dict[str, Any]] | None = None,
                  body: list[dict[str, Any]] | None = None) -> None:
        with self._lock:
            page = self._state.pages[page_id]
            if properties:
                page.properties.update(self._with_ids(properties))
            if body is not None:
                self._state.blocks[page_id] = self._store_blocks(body)
            page.last_edited_by = by
            page.edited = self.now()

    def hosted_file(self, name: str, content: bytes, content_type: str) -> dict[str, Any]:
        """A Notion-hosted file object (``type: file``): each time it is served it
        carries a fresh pre-signed URL that expires ``file_lifetime`` later."""
        key = uuid.uuid4().hex
        with self._lock:
            self._state.files[key] = (content, content_type, 0.0)
        return {"type": "file", "name": name, "file": {HOSTED: key, "name": name}}

    def external_file(self, name: str, content: bytes, content_type: str, *,
                      host: str | None = None) -> dict[str, Any]:
        """An external file object (``type: external``), served by the stand-in at
        ``host`` (default its own address: name it in allowExternalFileHosts)."""
        key = uuid.uuid4().hex
        with self._lock:
            self._state.files[key] = (content, content_type, float("inf"))
        where = f"http://{host}:{self.port}" if host else self.base_url
        return {"type": "external", "name": name, "external": {"url": f"{where}/external/{key}/{name}"}}

    def files(self, *entries: dict[str, Any]) -> dict[str, Any]:
        """A ``files`` property value."""
        return {"type": "files", "files": [{k: v for k, v in e.items()} for e in entries]}

    def file_block(self, kind: str, file: dict[str, Any], caption: str = "") -> dict[str, Any]:
        """An ``image``, ``pdf`` or ``file`` block holding ``file`` (hosted or external)."""
        body: dict[str, Any] = {"type": file["type"], file["type"]: file[file["type"]],
                                "caption": rich(caption) if caption else []}
        if kind == "file":
            body["name"] = file.get("name", "")
        return {"object": "block", "type": kind, kind: body, "children": []}

    def downloads(self, file: dict[str, Any]) -> list[Call]:
        """The GETs of a file's content (any of its URLs)."""
        if file["type"] == "file":
            return self.calls("GET", f"/s3/{file['file'][HOSTED]}")
        key = str(file["external"]["url"]).rsplit("/", 2)[-2]
        return self.calls("GET", f"/external/{key}")

    def _sign(self, value: Any) -> Any:
        """A copy of ``value`` with every hosted file's placeholder replaced by a fresh
        pre-signed URL (call with the lock held)."""
        if isinstance(value, list):
            return [self._sign(v) for v in value]
        if not isinstance(value, dict):
            return value
        if HOSTED in value:
            key, name = value[HOSTED], value.get("name", "file")
            expires = self.now() + self.file_lifetime
            signature = uuid.uuid4().hex
            self._state.signatures[signature] = (key, expires)
            url = (f"{self.base_url}/s3/{key}/{name}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                   f"&X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature={signature}")
            return {"url": url, "expiry_time": notion_time(expires + 60)}
        return {k: self._sign(v) for k, v in value.items()}

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._state.faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._state.faults.clear()

    # -- what tests ask ----------------------------------------------------
    def calls(self, method: str | None = None, path_prefix: str = "") -> list[Call]:
        with self._lock:
            return [c for c in self._state.calls
                    if (method is None or c.method == method) and c.path.startswith(path_prefix)]

    def trashed(self) -> set[str]:
        with self._lock:
            return {p.id for p in self._state.pages.values() if p.in_trash}

    def trash_requests(self, page_id: str) -> list[Call]:
        return [c for c in self.calls("PATCH", f"/v1/pages/{page_id}") if c.body.get("in_trash")]

    # -- internals -----------------------------------------------------------
    @staticmethod
    def _with_ids(properties: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {name: {"id": "title" if value.get("type") == "title" else uuid.uuid4().hex[:4], **value}
                for name, value in properties.items()}

    def _store_blocks(self, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        stored = []
        for given in blocks:
            children = given.get("children", [])
            block_id = str(uuid.uuid4())
            item = {k: v for k, v in given.items() if k != "children"}
            item.update(id=block_id, has_children=bool(children), in_trash=False)
            self._state.blocks[block_id] = self._store_blocks(children)
            stored.append(item)
        return stored

    def _page_json(self, page: _Page) -> dict[str, Any]:
        return {
            "object": "page", "id": page.id,
            "created_time": notion_time(page.created), "last_edited_time": notion_time(page.edited),
            "created_by": {"object": "user", "id": page.created_by},
            "last_edited_by": {"object": "user", "id": page.last_edited_by},
            "parent": {"type": "data_source_id", "data_source_id": page.data_source_id,
                       "database_id": page.database_id},
            "in_trash": page.in_trash, "is_locked": False,
            "properties": self._sign({name: _truncated(value) for name, value in page.properties.items()}),
            "url": f"https://www.notion.so/Ticket-{page.id.replace('-', '')}",
            "public_url": None,
        }

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/v1/{path:.*}", self._api)
        app.router.add_get("/s3/{key}/{name}", self._file)
        app.router.add_get("/external/{key}/{name}", self._external)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, self.host, self.port).start())
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    async def _external(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        with self._lock:
            self._state.calls.append(Call("GET", f"/external/{key}", {},
                                          request.headers.get("Authorization", ""), time.time()))
            found = self._state.files.get(key)
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[0], content_type=found[1])

    async def _file(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        with self._lock:
            self._state.calls.append(Call("GET", f"/s3/{key}", {},
                                          request.headers.get("Authorization", ""), time.time()))
            found = self._state.files.get(key)
            signed = self._state.signatures.get(request.query.get("X-Amz-Signature", ""))
        if request.headers.get("Authorization"):
            # A pre-signed URL carries its own credentials; S3 refuses a second kind.
            return web.Response(status=400, text="<Error><Code>InvalidArgument</Code></Error>")
        if found is None or signed is None or signed[0] != key:
            return web.Response(status=404, text="<Error><Code>NoSuchKey</Code></Error>")
        content, content_type, _ = found
        if self.now() >= signed[1]:
            return web.Response(status=403, text="<Error><Code>AccessDenied</Code>"
                                "<Message>Request has expired</Message></Error>")
        return web.Response(body=content, content_type=content_type)

    async def _api(self, request: web.Request) -> web.Response:
        path = "/v1/" + request.match_info["path"]
        body: dict[str, Any] = {}
        if request.can_read_body:
            try:
                parsed = await request.json()
            except ValueError:
                return _error(400, "invalid_json", "Error parsing JSON body.")
            body = parsed if isinstance(parsed, dict) else {}
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        with self._lock:
            self._state.calls.append(Call(request.method, path, body, token, time.time()))
            key = f"{request.method} {path}"
            fault = next((f for f in self._state.faults if key.startswith(f.prefix) and f.count > 0), None)
            if fault is not None:
                fault.count -= 1
                if fault.count == 0:
                    self._state.faults.remove(fault)
        if fault is not None:
            headers = {"Retry-After": str(int(fault.retry_after))} if fault.retry_after is not None else {}
            codes = {400: "validation_error", 429: "rate_limited", 529: "service_unavailable"}
            code = codes.get(fault.status, "internal_server_error")
            return _error(fault.status, code, "Injected fault.", headers)
        if token != self.token:
            return _error(401, "unauthorized", "API token is invalid.")
        if request.headers.get("Notion-Version") != API_VERSION:
            return _error(400, "missing_version", f"Notion-Version must be {API_VERSION}.")
        with self._lock:
            return self._route(request.method, path.split("/")[2:], body, request.query)

    def _route(self, method: str, parts: list[str], body: dict[str, Any],
               query: Any) -> web.Response:
        state = self._state
        if method == "GET" and parts[0] == "databases" and len(parts) == 2:
            database_id = _canonical(parts[1])
            if database_id not in state.databases or database_id in state.unshared:
                return _not_found(parts[1])
            return web.json_response({
                "object": "database", "id": database_id, "title": rich("Tickets"), "in_trash": False,
                "data_sources": [{"id": s, "name": "Tickets"} for s in state.databases[database_id]]})
        if method == "POST" and parts[0] == "data_sources" and parts[2:] == ["query"]:
            source = _canonical(parts[1])
            database = state.data_sources.get(source)
            if database is None or database in state.unshared:
                return _not_found(parts[1])
            return self._query(source, body)
        if parts[0] == "pages" and len(parts) == 2:
            page = state.pages.get(_canonical(parts[1]))
            if page is None or page.database_id in state.unshared:
                return _not_found(parts[1])
            if method == "GET":
                return web.json_response(self._page_json(page))
            if method == "PATCH":
                if "archived" in body:
                    return _error(400, "validation_error", "archived is not supported; use in_trash.")
                if page.in_trash:
                    return _error(400, "validation_error", "Can't edit block that is archived. "
                                  "You must unarchive the block before editing.")
                if body.get("in_trash") is True:
                    page.in_trash = True
                return web.json_response(self._page_json(page))
        if method == "GET" and parts[0] == "pages" and len(parts) == 4 and parts[2] == "properties":
            page = state.pages.get(_canonical(parts[1]))
            if page is None or page.database_id in state.unshared:
                return _not_found(parts[1])
            return self._property_item(page, parts[3], query)
        if method == "GET" and parts[0] == "blocks" and parts[2:] == ["children"]:
            children = state.blocks.get(_canonical(parts[1]))
            if children is None:
                return _not_found(parts[1])
            return self._list(self._sign(children), query.get("start_cursor"),
                              int(query.get("page_size", 100)), extra={"type": "block", "block": {}})
        if method == "GET" and parts[0] == "blocks" and len(parts) == 2:
            wanted = _canonical(parts[1])
            found = next((b for children in state.blocks.values() for b in children
                          if b["id"] == wanted), None)
            return web.json_response(self._sign(found)) if found else _not_found(parts[1])
        if method == "GET" and parts[0] == "users" and len(parts) == 2:
            user = state.users.get(_canonical(parts[1]))
            return web.json_response(user) if user else _not_found(parts[1])
        return _error(400, "invalid_request_url", "Invalid request URL.")

    def _property_item(self, page: _Page, property_id: str, query: Any) -> web.Response:
        value = next((v for v in page.properties.values() if v.get("id") == property_id), None)
        if value is None:
            return _error(404, "object_not_found", "Could not find property with the given ID.")
        kind = str(value.get("type"))
        if kind not in PAGINATED_PROPERTIES:
            return web.json_response({"object": "property_item", "id": property_id, "type": kind,
                                      kind: self._sign(value.get(kind))})
        items = [{"object": "property_item", "id": f"{property_id}-{i}", "type": kind, kind: part}
                 for i, part in enumerate(value.get(kind) or ())]
        return self._list(items, query.get("start_cursor"), int(query.get("page_size", 100)),
                          extra={"type": "property_item", "property_item": {
                              "id": property_id, "type": kind, kind: {}, "next_url": None}})

    def _query(self, source: str, body: dict[str, Any]) -> web.Response:
        pages = [p for p in self._state.pages.values() if p.data_source_id == source and not p.in_trash]
        wanted = body.get("filter") or {}
        if wanted:
            if wanted.get("timestamp") != "last_edited_time":
                return _error(400, "validation_error", "Only the last_edited_time filter is served here.")
            condition = wanted.get("last_edited_time") or {}
            for op, value in condition.items():
                bound = _parse_time(value)
                keep = {"on_or_after": lambda t, b=bound: t >= b, "after": lambda t, b=bound: t > b,
                        "on_or_before": lambda t, b=bound: t <= b, "before": lambda t, b=bound: t < b}.get(op)
                if keep is None:
                    return _error(400, "validation_error", f"Unknown timestamp condition {op}.")
                pages = [p for p in pages if keep(_parse_time(notion_time(p.edited)))]
        sorts = body.get("sorts") or []
        descending = any(s.get("direction") == "descending" for s in sorts)
        pages.sort(key=lambda p: (_parse_time(notion_time(p.edited)), p.created), reverse=descending)
        return self._list([self._page_json(p) for p in pages], body.get("start_cursor"),
                          int(body.get("page_size", 100)), extra={"type": "page_or_data_source",
                                                                  "page_or_data_source": {}})

    def _list(self, items: list[dict[str, Any]], cursor: str | None, page_size: int,
              *, extra: dict[str, Any]) -> web.Response:
        if not 1 <= page_size <= 100:
            return _error(400, "validation_error", "page_size should be between 1 and 100.")
        start = 0
        if cursor:
            ids = [i["id"] for i in items]
            if cursor not in ids:
                return _error(400, "validation_error", "start_cursor is not valid.")
            start = ids.index(cursor)
        size = min(page_size, self.max_results)
        chunk = items[start:start + size]
        more = start + size < len(items)
        return web.json_response({"object": "list", "results": chunk, "has_more": more,
                                  "next_cursor": items[start + size]["id"] if more else None, **extra})


PAGINATED_PROPERTIES = frozenset({"title", "rich_text", "relation", "people"})
PAGE_OBJECT_ITEMS = 25  # what a page object shows of a paginated property


def _truncated(value: dict[str, Any]) -> dict[str, Any]:
    kind = str(value.get("type"))
    items = value.get(kind)
    if kind in PAGINATED_PROPERTIES and isinstance(items, list) and len(items) > PAGE_OBJECT_ITEMS:
        shown = {**value, kind: items[:PAGE_OBJECT_ITEMS]}
        if kind == "relation":
            shown["has_more"] = True
        return shown
    return value


def _canonical(value: str) -> str:
    raw = value.replace("-", "").lower()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}" if len(raw) == 32 else value


def _not_found(object_id: str) -> web.Response:
    return _error(404, "object_not_found", f"Could not find object with ID: {object_id}. Make sure "
                  "the relevant pages and databases are shared with your integration.")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"object": "error", "status": status, "code": code, "message": message,
                              "request_id": str(uuid.uuid4())}, status=status, headers=headers)
