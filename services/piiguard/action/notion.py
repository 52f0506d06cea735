"""Action's Notion effects: move a page to the trash, find its author's email.

Trash is ``PATCH /v1/pages/{id}`` ``{"in_trash": true}`` (never ``archived``):
restorable by a Notion admin, never a permanent deletion. ``object_not_found``
or an already-trashed page (Notion refuses to edit it: ``validation_error``)
means done. Emails come from ``GET /v1/users/{id}`` (``person.email``; the
integration needs the "read user information including email addresses"
capability) and are cached a while; they never reach a log or the audit trail.
"""

from __future__ import annotations

import time

from notion_client import AsyncClient

from piiguard.errors import PermanentError, TransientError
from piiguard.notion_api import NotionClients, NotionNotFound, call

EMAIL_CACHE_SECONDS = 600.0


class NotionEffects:
    def __init__(self, clients: NotionClients | AsyncClient | None) -> None:
        """``clients``: each workspace's client (its own token, or NOTION_TOKEN), or one client."""
        self.clients = clients
        self._emails: dict[tuple[str, str], tuple[float, str | None]] = {}

    async def _client(self, workspace: str) -> AsyncClient:
        clients = self.clients
        client = await clients.for_workspace(workspace) if isinstance(clients, NotionClients) else clients
        if client is None:
            raise PermanentError("no Notion token for this workspace (notion.tokenSecretRef or "
                                 "NOTION_TOKEN): cannot act on a Notion page")
        return client

    async def trash(self, page_id: str, workspace: str = "") -> bool:
        """Move the page to the trash; False when it was already there or gone."""
        client = await self._client(workspace)
        try:
            await call("pages.update", client.pages.update(page_id=page_id, in_trash=True))
            return True
        except NotionNotFound:
            return False
        except PermanentError as exc:
            if "validation_error" not in exc.reason:
                raise
        # Notion refuses to edit a trashed page: make sure that is why.
        try:
            page = await call("pages.retrieve", client.pages.retrieve(page_id=page_id))
        except NotionNotFound:
            return False
        if page.get("in_trash") or page.get("archived"):
            return False
        raise PermanentError("Notion pages.update: validation_error on a page not in the trash")

    async def email_of(self, user_id: str, workspace: str = "") -> str | None:
        """The person's email, or None (a bot, a guest without one, or no capability)."""
        cached = self._emails.get((workspace, user_id))
        if cached is not None and time.monotonic() - cached[0] < EMAIL_CACHE_SECONDS:
            return cached[1]
        try:
            client = await self._client(workspace)
            user = await call("users.retrieve", client.users.retrieve(user_id=user_id))
        except NotionNotFound:
            email = None
        except PermanentError:
            email = None  # restricted_resource: the integration may not read users
        except TransientError:
            raise
        else:
            person = user.get("person") if user.get("type") == "person" else None
            email = str(person.get("email") or "") or None if isinstance(person, dict) else None
        self._emails[(workspace, user_id)] = (time.monotonic(), email)
        return email

    async def close(self) -> None:
        if isinstance(self.clients, NotionClients):
            await self.clients.close()
        elif self.clients is not None:
            await self.clients.aclose()
