"""The Notion poller's memory, in the ``piiguard-notion`` JetStream KV bucket, so a
restart neither misses pages nor submits one twice.

- ``cursor.<data source>``: the newest ``last_edited_time`` (epoch seconds) whose
  pages have all been submitted; the next poll asks from it minus an overlap.
- ``webhook.verification-token``: the secret Notion's webhook deliveries are
  signed with (the only secret here; the admin CLI prints it).
- ``seen.<page>``: ``<last_edited_time> <content hash>`` of the page version last
  submitted; the same hash again (an edit of a checkbox, a page inside the
  overlap) is not submitted again.

- ``failed.<page>``: ``<last_edited_time> <attempts>`` of a page version whose
  fetch or submission keeps failing; it holds its data source's cursor back
  until it succeeds or is dead-lettered (then the key is removed).
- ``retry.<page>``: written by ``piiguard dlq replay`` of a ``notion`` dead
  letter (its value: ``<database id> <data source id>``): the next poll takes
  the page again, then removes the key.

Values are ids, times and hashes only: never page content.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from piiguard.jetstream import BUCKET_NOTION, subject_token

WEBHOOK_TOKEN_KEY = "webhook.verification-token"  # Notion's webhook secret (read by the admin CLI)


@dataclass(frozen=True)
class Seen:
    last_edited: float
    content_hash: str


class NotionState:
    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self._kv: KeyValue | None = None

    async def kv(self) -> KeyValue:
        if self._kv is None:
            self._kv = await self.js.key_value(BUCKET_NOTION)
        return self._kv

    async def _get(self, key: str) -> bytes | None:
        try:
            entry = await (await self.kv()).get(key)
        except KeyNotFoundError:
            return None
        return entry.value if entry is not None else None

    async def cursor(self, data_source_id: str) -> float | None:
        value = await self._get(f"cursor.{subject_token(data_source_id)}")
        try:
            return float(value) if value else None
        except ValueError:
            return None

    async def advance(self, data_source_id: str, last_edited: float) -> None:
        current = await self.cursor(data_source_id)
        if current is None or last_edited > current:
            await (await self.kv()).put(f"cursor.{subject_token(data_source_id)}",
                                        f"{last_edited:.0f}".encode())

    async def seen(self, page_id: str) -> Seen | None:
        value = await self._get(f"seen.{subject_token(page_id)}")
        if not value:
            return None
        try:
            edited, digest = value.decode().split(" ", 1)
            return Seen(float(edited), digest)
        except ValueError:
            return None

    async def remember(self, page_id: str, seen: Seen) -> None:
        await (await self.kv()).put(f"seen.{subject_token(page_id)}",
                                    f"{seen.last_edited:.0f} {seen.content_hash}".encode())

    async def failed(self, page_id: str, last_edited: float) -> int:
        """Count one more failure of this page version; how many so far."""
        value = await self._get(f"failed.{subject_token(page_id)}")
        attempts = 0
        if value:
            try:
                edited, count = value.decode().split(" ", 1)
                attempts = int(count) if float(edited) == float(f"{last_edited:.0f}") else 0
            except ValueError:
                attempts = 0
        attempts += 1
        await (await self.kv()).put(f"failed.{subject_token(page_id)}",
                                    f"{last_edited:.0f} {attempts}".encode())
        return attempts

    async def clear_failed(self, page_id: str) -> None:
        if await self._get(f"failed.{subject_token(page_id)}") is not None:
            await (await self.kv()).delete(f"failed.{subject_token(page_id)}")

    async def retries(self) -> list[tuple[str, str, str]]:
        """``(page, database, data source)`` of every page a replayed dead letter asks for."""
        # A watch of retry.> alone (keys() would read every key of the bucket).
        watcher = await (await self.kv()).watch("retry.>", ignore_deletes=True)
        keys: list[str] = []
        try:
            while True:
                entry = await watcher.updates(timeout=5.0)  # type: ignore[no-untyped-call]
                if entry is None:  # the current values are all delivered
                    break
                if entry.value:
                    keys.append(entry.key)
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]
        found = []
        for key in keys:
            value = await self._get(key)
            parts = value.decode(errors="replace").split() if value else []
            if len(parts) == 2:
                found.append((key.split(".", 1)[1], parts[0], parts[1]))
            else:
                await self.done_retry(key.split(".", 1)[1])
        return found

    async def done_retry(self, page_token: str) -> None:
        await (await self.kv()).delete(f"retry.{page_token}")

    async def webhook_token(self) -> str | None:
        value = await self._get(WEBHOOK_TOKEN_KEY)
        return value.decode() if value else None

    async def store_webhook_token(self, token: str) -> None:
        await (await self.kv()).put(WEBHOOK_TOKEN_KEY, token.encode())
