"""A policy's Notion section as the operator sees it: is the integration's token
there (``notion.tokenSecretRef``, read like the Slack Secrets), and is each
watched database shared with the integration?

Each database is asked for once in a while (``GET /v1/databases/{id}`` through
the real ``notion-client``, cached by token hash and database for
:data:`CACHE_SECONDS`). A database not shared answers ``404 object_not_found``:
the ``NotionReachable`` condition turns False with a message naming it and how
to fix it, ``status.notion.databases`` lists each database's state, and the
policy keeps running (the poller skips that database) — no crash loop. Network
trouble is "unknown", not "unreachable". The token is never logged or written.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from piiguard.errors import PermanentError, SecretUnreadable, TransientError
from piiguard.notion_api import NotionNotFound, call, open_client
from piiguard.policy import Policy
from piiguard_operator.conditions import Condition
from piiguard_operator.secrets import SecretReader, _decode

log = logging.getLogger(__name__)

NOTION_REACHABLE = "NotionReachable"
CACHE_SECONDS = 300.0

REACHABLE = "Reachable"
NOT_SHARED = "NotShared"  # object_not_found
REFUSED = "Refused"  # unauthorized, restricted_resource, ...
UNKNOWN = "Unknown"  # Notion could not be asked


class NotionReason:
    DATABASES_REACHABLE = "DatabasesReachable"
    DATABASE_NOT_SHARED = "DatabaseNotShared"
    DATABASE_REFUSED = "DatabaseRefused"
    TOKEN_MISSING = "NotionTokenMissing"
    TOKEN_UNREADABLE = "NotionTokenUnreadable"
    NOT_CHECKED = "NotChecked"


class DatabaseProbe(Protocol):
    async def state(self, token: str, database_id: str) -> tuple[str, str]:
        """``(state, Notion's error code or "")`` of one database for this token."""
        ...


class NotionProbe:
    """``databases.retrieve`` through notion-client, cached (by token hash only)."""

    def __init__(self, api_url: str, ttl: float = CACHE_SECONDS) -> None:
        self.api_url = api_url
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, tuple[str, str]]] = {}

    async def state(self, token: str, database_id: str) -> tuple[str, str]:
        key = (hashlib.sha256(token.encode()).hexdigest(), database_id)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        async with open_client(token, self.api_url, timeout=10.0) as client:
            try:
                await call("databases.retrieve", client.databases.retrieve(database_id=database_id))
                found = (REACHABLE, "")
            except NotionNotFound:
                found = (NOT_SHARED, "object_not_found")
            except PermanentError as exc:
                found = (REFUSED, _code(exc.reason))
            except TransientError as exc:
                return UNKNOWN, _code(exc.reason)  # not cached: ask again next time
        self._cache[key] = (time.monotonic() + self.ttl, found)
        return found


def _code(reason: str) -> str:
    """``Notion: unauthorized (HTTP 401)`` -> ``unauthorized (HTTP 401)``."""
    return reason.removeprefix("Notion: ")[:80]


@dataclass(frozen=True)
class NotionReport:
    condition: Condition | None
    databases: list[dict[str, Any]]

    def as_status(self) -> dict[str, Any]:
        return {"notion": {"databases": self.databases}} if self.condition is not None else {}


async def token_of(policy: Policy, namespace: str, reader: SecretReader,
                   fallback: str) -> tuple[str | None, Condition | None]:
    """The integration's token (from ``tokenSecretRef``, else ``fallback``), or why not."""
    ref = policy.notion.token_secret_ref
    if ref is None:
        if fallback:
            return fallback, None
        return None, Condition(NOTION_REACHABLE, False, NotionReason.NOT_CHECKED,
                               "notion.tokenSecretRef names no Secret, so the operator cannot "
                               "check the watched databases")
    where = f"Secret {namespace}/{ref.name}"
    try:
        data: Mapping[str, str] | None = await reader.read(namespace, ref.name)
    except SecretUnreadable:
        return None, Condition(NOTION_REACHABLE, False, NotionReason.TOKEN_UNREADABLE,
                               f"{where} (Notion token) cannot be read by the operator (RBAC)")
    if data is None:
        return None, Condition(NOTION_REACHABLE, False, NotionReason.TOKEN_MISSING,
                               f"{where} (Notion token) not found")
    token = _decode(data[ref.key]) if ref.key in data else ""
    if not token:
        return None, Condition(NOTION_REACHABLE, False, NotionReason.TOKEN_MISSING,
                               f"{where} has no key {ref.key!r} (Notion token)")
    return token, None


async def check_notion(policy: Policy, namespace: str, reader: SecretReader, probe: DatabaseProbe | None,
                       *, fallback_token: str = "") -> NotionReport:
    """The ``NotionReachable`` condition and ``status.notion.databases`` of a policy
    (nothing when Notion is off)."""
    if not policy.notion.enabled:
        return NotionReport(None, [])
    token, problem = await token_of(policy, namespace, reader, fallback_token)
    if problem is not None or token is None or probe is None:
        condition = problem or Condition(NOTION_REACHABLE, False, NotionReason.NOT_CHECKED,
                                         "the operator does not check Notion databases")
        return NotionReport(condition, [{"id": d, "state": UNKNOWN} for d in policy.notion.databases])
    databases: list[dict[str, Any]] = []
    bad: list[str] = []
    refused = False
    for database_id in policy.notion.databases:
        state, code = await probe.state(token, database_id)
        entry: dict[str, Any] = {"id": database_id, "state": state}
        if code:
            entry["reason"] = code
        databases.append(entry)
        if state == NOT_SHARED:
            bad.append(f"database {database_id} is not shared with the integration (Notion answers "
                       "404 object_not_found): add the integration in the database's ••• menu → "
                       "Connections")
        elif state == REFUSED:
            refused = True
            bad.append(f"database {database_id}: Notion refuses the integration ({code})")
    if bad:
        reason = NotionReason.DATABASE_REFUSED if refused else NotionReason.DATABASE_NOT_SHARED
        condition = Condition(NOTION_REACHABLE, False, reason,
                              "; ".join(bad) + "; the other watched databases are polled")
    else:
        unknown = [d["id"] for d in databases if d["state"] == UNKNOWN]
        condition = Condition(
            NOTION_REACHABLE, True, NotionReason.DATABASES_REACHABLE,
            f"{len(databases) - len(unknown)} of {len(databases)} watched database(s) shared with "
            "the integration" + (f"; Notion could not be asked about {', '.join(unknown)}"
                                 if unknown else ""))
    return NotionReport(condition, databases)
