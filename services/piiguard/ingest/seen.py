"""Which Slack message versions were already scanned, live or swept.

A message is ``(workspace, channel, ts)``; a *version* of it adds its
``edited.ts`` (empty: never edited). Ingest remembers in the ``piiguard-seen``
bucket (JetStream KV, TTL ``PIIGUARD_SEEN_TTL``) the newest version it accepted
for each message, keyed ``<ws>.<channel>.<ts>``, valued with that ``edited.ts``
(``0`` when never edited). The rules, each decided here without NATS
(``tests/sweep/test_lane_rules.py``):

* for a sweep (``PRIORITY_BULK``), a version no newer than the one remembered
  is *seen*: skipped (the live path delivered it and a sweep finds it again, or
  a sweep ran twice);
* for a live event, only the very version remembered is seen (a redelivery):
  Slack may deliver an original after its edit, and the original was posted,
  so it is scanned too (:func:`already_scanned`);
* a newer one (``edited.ts`` moved) is scanned again, and remembered;
* two paths submitting the same version at once: both publish with the same
  ``Nats-Msg-Id`` (:func:`msg_id`), so the stream keeps one (its de-duplication
  window), and the bucket is written with ``create`` (first writer wins) or
  ``update`` at the revision read (a newer version replaces an older one only);
  a lost race is re-read, never overwritten.

Written *after* the publish is durable, so a crash in between leaves the version
unseen and a retry publishes it again — which the stream collapses. Only ids and
timestamps are stored, never text.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from piiguard.jetstream import BUCKET_SEEN, seen_key, subject_token
from piiguard.v1 import event_pb2

NEVER_EDITED = "0"
RACE_RETRIES = 5


@dataclass(frozen=True)
class Version:
    """One version of one Slack message."""

    workspace: str
    channel: str
    ts: str
    edited_ts: str  # "0": never edited

    @property
    def key(self) -> str:
        return seen_key(self.workspace, self.channel, self.ts)

    @property
    def msg_id(self) -> str:
        """The stream's de-duplication id of this version: the same whichever path
        (a Slack event, its retry, a sweep) submits it."""
        return f"msg.{self.key}.{subject_token(self.edited_ts)}"


def _ts_value(ts: str) -> float:
    try:
        return float(ts)
    except ValueError:
        return 0.0


def message_version(event: event_pb2.Event) -> Version | None:
    """The version an event carries, or None for what is not a Slack message
    (a Notion page, an event without channel or ts)."""
    if event.source == event_pb2.SOURCE_PLATFORM_NOTION or not event.channel_id or not event.ts:
        return None
    edited = event.edited_ts or NEVER_EDITED
    if event.kind == event_pb2.EVENT_KIND_MESSAGE_CHANGED and edited == NEVER_EDITED:
        # An edit Slack did not stamp: a version of its own, so it is always scanned.
        edited = f"e{event.event_id}"
    return Version(event.workspace_id, event.channel_id, event.ts, edited)


def covers(remembered: str, edited_ts: str) -> bool:
    """Whether the remembered version makes ``edited_ts`` already scanned."""
    if remembered == edited_ts:
        return True
    if not edited_ts[:1].isdigit():  # an unstamped edit: only itself covers it
        return False
    if not remembered[:1].isdigit():
        return edited_ts == NEVER_EDITED  # an unstamped edit is newer than the original
    return _ts_value(remembered) >= _ts_value(edited_ts)


def already_scanned(remembered: str, edited_ts: str, *, swept: bool) -> bool:
    """Whether a submission of version ``edited_ts`` is skipped, the bucket holding
    ``remembered``: a sweep skips what any newer version covers; a live event only
    its own version (it arrived, so it was posted: out of order is still scanned)."""
    if not remembered:
        return False
    return covers(remembered, edited_ts) if swept else remembered == edited_ts


class SeenVersions:
    """The ``piiguard-seen`` bucket."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self._kv: KeyValue | None = None

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await self.js.key_value(BUCKET_SEEN)
        return self._kv

    async def seen(self, version: Version, *, swept: bool) -> bool:
        """Whether ``version`` was already scanned (:func:`already_scanned`)."""
        kv = await self._bucket()
        try:
            entry = await kv.get(version.key)
        except KeyNotFoundError:
            return False
        return already_scanned((entry.value or b"").decode(), version.edited_ts, swept=swept)

    async def remember(self, version: Version) -> None:
        """Record ``version`` unless a newer one is already recorded: ``create``
        when the key is new (first writer wins), else ``update`` at the revision
        read; a lost race is read again."""
        kv = await self._bucket()
        value = version.edited_ts.encode()
        for _ in range(RACE_RETRIES):
            try:
                entry = await kv.get(version.key)
            except KeyNotFoundError:
                try:
                    await kv.create(version.key, value)
                    return
                except KeyWrongLastSequenceError:
                    continue  # another path wrote it first: read theirs
            current = (entry.value or b"").decode()
            if current and covers(current, version.edited_ts):
                return
            try:
                await kv.update(version.key, value, last=entry.revision)
                return
            except KeyWrongLastSequenceError:
                continue
