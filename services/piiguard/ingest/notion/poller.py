"""Poll each watched Notion database's data sources and submit each new page
version as an Event, through the same handler (and stream) as Slack's events.

One poll of a data source asks for the pages with ``last_edited_time`` on or
after the cursor minus :data:`OVERLAP` (Notion rounds its timestamps down to the
minute, and two edits in one minute keep the same time), ascending, following
``next_cursor`` while ``has_more``. Each page is fetched (its body, recursively)
and its content hashed; a version already submitted (same hash) is skipped. The
cursor moves only past pages that are submitted, so a crash repeats work (which
the stream's de-duplication and the action ledger absorb) and never skips it.
The first poll of a data source looks back ``notion.lookBack``.

A page that fails (its fetch, or its submission) holds the cursor at its
``last_edited_time`` — the pages after it are still taken — and is tried again
at the next polls; after :data:`MAX_PAGE_ATTEMPTS` failed polls of the same
version it goes to the dead-letter stream (stage ``notion``, with the reason)
and the cursor moves on. ``piiguard dlq replay`` of that letter writes
``retry.<page>`` in the ``piiguard-notion`` bucket: the next poll takes the page
again (and, failing again, dead-letters it again).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from notion_client import AsyncClient

from piiguard import metrics
from piiguard.audit import Step
from piiguard.deadletter import DeadLetter, publish_dead_letter
from piiguard.errors import PermanentError, ProcessingError, TransientError
from piiguard.ingest.handler import IngestHandler
from piiguard.ingest.notion.content import (
    BODY,
    File,
    Text,
    block_file,
    block_text,
    content_hash,
    joined,
    property_files,
    property_texts,
    title_of,
)
from piiguard.ingest.notion.state import NotionState, Seen
from piiguard.jetstream import BUCKET_NOTION, subject_token
from piiguard.notion_api import NotionClients, NotionNotFound, call
from piiguard.policy import Policy, normalize_notion_id
from piiguard.tasks import cancel_and_wait, gather_all
from piiguard.v1 import event_pb2

log = logging.getLogger(__name__)

OVERLAP = 120.0  # seconds asked again below the cursor: minute rounding, clock skew
PAGE_SIZE = 100
MAX_DEPTH = 12  # nesting followed into the body (Notion's UI allows fewer)
MAX_BLOCKS = 5000  # blocks read per page: a bound on one page's cost
# A page object shows at most this many items of a title / rich_text value; a
# value holding that many may have more, read through the page-property endpoint.
PAGE_OBJECT_ITEMS = 25
LONG_PROPERTIES = ("title", "rich_text")
MAX_PAGE_ATTEMPTS = 3  # failed polls of one page version before it is dead-lettered
DLQ_STAGE = "notion"


def parse_time(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _count_pages(policy: Policy, outcome: str, count: int = 1) -> None:
    with contextlib.suppress(Exception):  # a metric never breaks a poll
        metrics.NOTION_PAGES.labels(metrics.workspace_label(workspace_of(policy)), outcome).inc(count)


def _poll_error(workspace: str, reason: str) -> None:
    with contextlib.suppress(Exception):
        metrics.NOTION_POLL_ERRORS.labels(metrics.workspace_label(workspace), reason).inc()


def _error_class(exc: Exception) -> str:
    if isinstance(exc, TransientError):
        return "ratelimited" if "HTTP 429" in exc.reason else "transient"
    if isinstance(exc, PermanentError):
        return "permanent"
    return "other"


def file_ref(page_id: str, number: int, file: File) -> event_pb2.FileRef:
    """A page's file as the Event carries it: detection downloads it (a Notion-hosted
    URL without any token; an external one only from an allowed host) and, when
    the pre-signed URL has expired, asks Notion for the block or property again."""
    return event_pb2.FileRef(
        id=f"notion-{page_id.replace('-', '')}-{number}", name=file.name,
        url_private_download=file.url,
        notion=event_pb2.NotionFile(block_id=file.block_id, block_type=file.block_type, page_id=page_id,
                                    property_id=file.property_id, index=file.index,
                                    hosting=file.hosting))


def workspace_of(policy: Policy) -> str:
    """The Slack workspace a Notion page's events belong to (its DM goes there)."""
    return policy.workspace.team_id or "local"


class NotionPoller:
    def __init__(self, handler: IngestHandler, state: NotionState, client: AsyncClient | None,
                 policies: Callable[[], Iterable[Policy]], *, clock: Callable[[], float] = time.time,
                 clients: NotionClients | None = None) -> None:
        self.handler = handler
        self.state = state
        self.client = client  # the one client (NOTION_TOKEN), unless ``clients`` says per workspace
        self.clients = clients
        self._tokenless: set[str] = set()
        self.policies = policies
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._databases_of: dict[str, str] = {}  # data source -> database, learnt by polling
        self._polled_at: dict[tuple[str, str], float] = {}  # (workspace, database) -> last good poll
        self._started = clock()
        self.polls = 0  # completed rounds, for tests and the health of the loop

    async def client_for(self, policy: Policy) -> AsyncClient:
        """The Notion client of the policy's workspace (its own integration token, or
        NOTION_TOKEN); PermanentError when it has none."""
        workspace = workspace_of(policy)
        client = await self.clients.for_workspace(workspace) if self.clients is not None else self.client
        if client is None:
            if workspace not in self._tokenless:
                self._tokenless.add(workspace)
                log.warning("workspace %s watches Notion databases but has no Notion token "
                            "(notion.tokenSecretRef or NOTION_TOKEN): not polled", workspace)
            raise PermanentError("no Notion token for this workspace")
        self._tokenless.discard(workspace)
        return client

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notion-poller")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
        if self.clients is not None:
            await self.clients.close()

    async def _run(self) -> None:
        while True:
            watched = [p for p in self.policies() if p.notion.enabled]
            await self.poll_once(watched)
            self.polls += 1
            interval = min((p.notion.poll_interval for p in watched), default=30.0)
            await asyncio.sleep(interval)

    async def poll_once(self, policies: Iterable[Policy]) -> None:
        policies = list(policies)
        try:
            await self.retry_replayed(policies)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("notion: replayed pages not taken this poll (%s)", type(exc).__name__)
        for policy in policies:
            workspace = workspace_of(policy)
            with contextlib.suppress(Exception):
                metrics.initialise_notion_workspace(workspace)
            for database_id in policy.notion.databases:
                try:
                    await self.poll_database(policy, database_id)
                    self._polled_at[(workspace, database_id)] = self.clock()
                except asyncio.CancelledError:
                    raise
                except NotionNotFound:
                    _poll_error(workspace, "not_shared")
                    log.warning("notion database %s is not shared with the integration "
                                "(object_not_found); skipped", database_id)
                except Exception as exc:  # one database's trouble never stops the others
                    _poll_error(workspace, _error_class(exc))
                    log.warning("notion database %s: poll failed (%s: %s); retried next poll",
                                database_id, type(exc).__name__,
                                exc if isinstance(exc, ProcessingError) else "")
            oldest = min((self._polled_at.get((workspace, d), self._started)
                          for d in policy.notion.databases), default=self.clock())
            with contextlib.suppress(Exception):
                lag = max(0.0, self.clock() - oldest)
                metrics.NOTION_POLL_LAG.labels(metrics.workspace_label(workspace)).set(lag)

    async def poll_database(self, policy: Policy, database_id: str) -> None:
        client = await self.client_for(policy)
        database = await call("databases.retrieve", client.databases.retrieve(database_id=database_id))
        for source in database.get("data_sources") or ():
            self._databases_of[str(source["id"])] = database_id
            await self.poll_source(policy, database_id, str(source["id"]))

    def _watching(self, database_id: str) -> Policy | None:
        return next((p for p in self.policies() if p.notion.enabled and p.notion.watches(database_id)), None)

    async def page_event(self, page_id: str, parent: dict[str, Any]) -> None:
        """A webhook's page event: fetch and take the page if its database is watched.
        A parent the event names and we know to be unwatched is not read at all."""
        try:
            parent_id = str(parent.get("id") or "")
            if parent.get("type") == "data_source" and parent_id not in self._databases_of:
                return  # polling has learnt every watched database's data sources: not ours
            known = parent_id if parent.get("type") == "database" else self._databases_of.get(parent_id)
            owner = self._watching(known) if known is not None else None
            if known is not None and owner is None:
                return
            candidates = [owner] if owner is not None else [p for p in self.policies() if p.notion.enabled]
            page = None
            for candidate in candidates:  # whose integration can see the page
                try:
                    client = await self.client_for(candidate)
                    page = await call("pages.retrieve", client.pages.retrieve(page_id=page_id))
                    break
                except (NotionNotFound, PermanentError):
                    continue
            if page is None:
                return
            where = page.get("parent") or {}
            source_id = str(where.get("data_source_id") or "")
            database_id = str(where.get("database_id") or self._databases_of.get(source_id, ""))
            policy = self._watching(database_id) if database_id else None
            if policy is None or not source_id:
                return
            _count_pages(policy, "polled")
            await self.take(policy, normalize_notion_id(database_id), source_id, page)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the next poll reconciles
            log.warning("notion webhook page %s: not taken (%s); the next poll will", page_id,
                        type(exc).__name__)

    async def retry_replayed(self, policies: list[Policy]) -> None:
        """Take again each page a replayed dead letter asks for."""
        for page_id, database_id, source_id in await self.state.retries():
            policy = next((p for p in policies if p.notion.watches(database_id)), None)
            if policy is not None:
                try:
                    client = await self.client_for(policy)
                    page = await call("pages.retrieve", client.pages.retrieve(page_id=page_id))
                except NotionNotFound:
                    page = None  # gone or trashed for good: nothing to take
                if page is not None:
                    await self.take_or_hold(policy, database_id, source_id, page, force=True)
            await self.state.done_retry(page_id)

    async def take_or_hold(self, policy: Policy, database_id: str, source_id: str, page: dict[str, Any],
                           *, force: bool = False) -> bool:
        """Take the page; False when it failed and holds the cursor back. A page that
        failed too often (or ``force``: a replay) is dead-lettered instead."""
        page_id = str(page.get("id") or "")
        try:
            await self.take(policy, database_id, source_id, page)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = exc.reason if isinstance(exc, ProcessingError) else type(exc).__name__
            edited = parse_time(str(page.get("last_edited_time") or "1970-01-01T00:00:00Z"))
            attempts = await self.state.failed(page_id, edited)
            if attempts < MAX_PAGE_ATTEMPTS and not force:
                _count_pages(policy, "failed")
                log.warning("notion page %s: not taken (%s); attempt %d of %d, tried again next poll",
                            page_id, reason, attempts, MAX_PAGE_ATTEMPTS)
                return False
            await self.dead_letter(policy, database_id, source_id, page_id, reason, attempts)
            await self.state.clear_failed(page_id)
            return True
        await self.state.clear_failed(page_id)
        return True

    async def dead_letter(self, policy: Policy, database_id: str, source_id: str, page_id: str,
                          reason: str, attempts: int) -> None:
        workspace = workspace_of(policy)
        correlation = f"notion-{page_id.replace('-', '')}"
        letter = DeadLetter(
            stage=DLQ_STAGE, workspace=workspace, correlation_id=correlation,
            reason=f"notion page not taken: {reason}", attempts=attempts, source_stream=f"KV_{BUCKET_NOTION}",
            source_subject=f"$KV.{BUCKET_NOTION}.retry.{subject_token(page_id)}", source_seq=0,
            data=f"{database_id} {source_id}".encode())
        await publish_dead_letter(self.state.js, letter)
        with contextlib.suppress(Exception):  # the dead letter is what counts
            await self.handler.audit.record(
                event_pb2.Event(event_id=correlation, workspace_id=workspace,
                                source=event_pb2.SOURCE_PLATFORM_NOTION),
                Step.LIFECYCLE_STEP_DEAD_LETTERED, attempt=attempts, reason=letter.reason)
        metrics.DEAD_LETTERS.labels(DLQ_STAGE, "attempts_exceeded").inc()
        _count_pages(policy, "dead_lettered")
        log.error("notion page %s dead-lettered as %s after %d attempt(s): %s", page_id, correlation,
                  attempts, reason)

    async def poll_source(self, policy: Policy, database_id: str, source_id: str) -> None:
        cursor = await self.state.cursor(source_id)
        since = self.clock() - policy.notion.look_back if cursor is None else cursor - OVERLAP
        limit = asyncio.Semaphore(policy.queues.notion.concurrency)
        start: str | None = None
        held: float | None = None  # the oldest page that failed: the cursor stays at it
        while True:
            kwargs: dict[str, Any] = {"start_cursor": start} if start else {}
            answer = await call("data_sources.query", (await self.client_for(policy)).data_sources.query(
                data_source_id=source_id, page_size=PAGE_SIZE,
                filter={"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": iso(since)}},
                sorts=[{"timestamp": "last_edited_time", "direction": "ascending"}], **kwargs))
            pages = [p for p in answer.get("results") or () if p.get("object") == "page"]
            _count_pages(policy, "polled", len(pages))

            async def one(page: dict[str, Any]) -> bool:
                async with limit:
                    return await self.take_or_hold(policy, database_id, source_id, page)

            # Every page of this batch is submitted (or dead-lettered) before the
            # cursor moves past them; one that failed holds it at its time.
            taken = await gather_all(*(one(p) for p in pages))
            for page, ok in zip(pages, taken, strict=True):
                if not ok:
                    edited = parse_time(page["last_edited_time"])
                    held = edited if held is None else min(held, edited)
            if pages:
                newest = max(parse_time(p["last_edited_time"]) for p in pages)
                await self.state.advance(source_id, newest if held is None else min(held, newest))
            if not answer.get("has_more") or not answer.get("next_cursor"):
                return
            start = str(answer["next_cursor"])

    async def take(self, policy: Policy, database_id: str, source_id: str, page: dict[str, Any]) -> None:
        """Submit one page version unless it was already submitted."""
        if page.get("in_trash"):
            return
        page_id = str(page["id"])
        edited = parse_time(str(page["last_edited_time"]))
        seen = await self.state.seen(page_id)
        if seen is not None and seen.last_edited > edited:
            return  # an older answer than what we already submitted
        client = await self.client_for(policy)
        page = await self.full_properties(page, client)
        body, block_files = await self.body(page_id, client)
        texts = [*property_texts(page), *body]
        files = [*property_files(page), *block_files]
        digest = content_hash(texts, files)
        if seen is not None and seen.content_hash == digest:
            if edited > seen.last_edited:
                await self.state.remember(page_id, Seen(edited, digest))
            _count_pages(policy, "unchanged")
            return
        event = self.event(policy, database_id, source_id, page, texts, digest, first_seen=seen is None,
                           files=files)
        await self.handler.submit(event, source="notion")
        await self.state.remember(page_id, Seen(edited, digest))
        _count_pages(policy, "submitted")

    async def full_properties(self, page: dict[str, Any],
                              client: AsyncClient | None = None) -> dict[str, Any]:
        """The page with every title / rich_text value whole: the page object shows
        at most 25 items of one, the rest is read from
        ``GET /v1/pages/{id}/properties/{property id}`` (paginated)."""
        api = client or self.client
        assert api is not None
        properties = dict(page.get("properties") or {})
        for name, value in properties.items():
            kind = value.get("type") if isinstance(value, dict) else None
            if kind not in LONG_PROPERTIES or len(value.get(kind) or ()) < PAGE_OBJECT_ITEMS \
                    or not value.get("id"):
                continue
            items: list[Any] = []
            start: str | None = None
            while True:
                kwargs: dict[str, Any] = {"start_cursor": start} if start else {}
                answer = await call("pages.properties.retrieve", api.pages.properties.retrieve(
                    page_id=str(page["id"]), property_id=str(value["id"]), page_size=PAGE_SIZE, **kwargs))
                if answer.get("object") != "list":
                    break
                items.extend(item.get(kind) for item in answer.get("results") or ()
                             if item.get("type") == kind)
                if not answer.get("has_more") or not answer.get("next_cursor") or len(items) > MAX_BLOCKS:
                    break
                start = str(answer["next_cursor"])
            if items:
                properties[name] = {**value, kind: items}
        return {**page, "properties": properties}

    async def body(self, page_id: str, client: AsyncClient | None = None) -> tuple[list[Text], list[File]]:
        """The body's text (one :class:`Text`) and its image/pdf/file blocks."""
        api = client or self.client
        assert api is not None
        parts: list[str] = []
        files: list[File] = []
        budget = [MAX_BLOCKS]

        async def walk(block_id: str, depth: int) -> None:
            start: str | None = None
            while budget[0] > 0:
                kwargs: dict[str, Any] = {"start_cursor": start} if start else {}
                answer = await call("blocks.children.list", api.blocks.children.list(
                    block_id=block_id, page_size=PAGE_SIZE, **kwargs))
                for block in answer.get("results") or ():
                    budget[0] -= 1
                    content = block_text(block)
                    if content.strip():
                        parts.append(content)
                    file = block_file(block)
                    if file is not None:
                        files.append(file)
                    # A child page is a page of its own (not in this database): not read.
                    if block.get("has_children") and depth < MAX_DEPTH and \
                            block.get("type") not in ("child_page", "child_database"):
                        await walk(str(block["id"]), depth + 1)
                if not answer.get("has_more") or not answer.get("next_cursor"):
                    return
                start = str(answer["next_cursor"])
            log.warning("notion page %s: body beyond %d blocks not read", page_id, MAX_BLOCKS)

        await walk(page_id, 0)
        return ([Text(BODY, "", "\n\n".join(parts))] if parts else []), files

    def event(self, policy: Policy, database_id: str, source_id: str, page: dict[str, Any],
              texts: list[Text], digest: str, *, first_seen: bool,
              files: Iterable[File] = ()) -> event_pb2.Event:
        page_id = str(page["id"])
        created_by = str((page.get("created_by") or {}).get("id") or "")
        edited_by = str((page.get("last_edited_by") or {}).get("id") or "")
        # A new page: its creator. An edit: its last editor. First seen already
        # edited by someone else: both (who added what cannot be told).
        if first_seen:
            responsible = [created_by] + ([edited_by] if edited_by and edited_by != created_by else [])
        else:
            responsible = [edited_by or created_by]
        responsible = [r for r in responsible if r]
        event_time, received = Timestamp(), Timestamp()
        event_time.FromSeconds(int(parse_time(str(page["last_edited_time"]))))
        received.GetCurrentTime()
        return event_pb2.Event(
            event_id=f"notion-{page_id.replace('-', '')}-{digest[:16]}",
            source=event_pb2.SOURCE_PLATFORM_NOTION,
            workspace_id=workspace_of(policy),
            user_id=responsible[0] if responsible else "",
            text=joined(texts),
            kind=event_pb2.EVENT_KIND_NOTION_PAGE,
            event_time=event_time,
            received_time=received,
            priority=event_pb2.PRIORITY_NORMAL,
            notion=event_pb2.NotionPage(
                page_id=page_id, database_id=database_id, data_source_id=source_id,
                url=str(page.get("url") or ""), title=title_of(page),
                last_edited_time=str(page["last_edited_time"]),
                created_by=created_by, last_edited_by=edited_by,
                texts=[event_pb2.NotionText(location=t.location, name=t.name, text=t.text) for t in texts],
                content_hash=digest, responsible=responsible),
            files=[file_ref(page_id, n, f) for n, f in enumerate(files, start=1)],
        )
