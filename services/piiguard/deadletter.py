"""The dead-letter stream: messages a stage gave up on, with their reason.

A dead letter keeps the original bytes (so ``piiguard dlq replay`` can re-drive
it to its stage) and says in headers which stage failed, after how many
attempts, and why. Reasons are written by our code from error *kinds* (a Slack
error code, an exception class): never message text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from nats.js import JetStreamContext

from piiguard.jetstream import (
    HEADER_ID,
    HEADER_MSG_ID,
    STREAM_DLQ,
    dead_letter_filter,
    dead_letter_subject,
    read_subject,
)

HEADER_STAGE = "Piiguard-Stage"
HEADER_REASON = "Piiguard-Reason"
HEADER_ATTEMPTS = "Piiguard-Attempts"
HEADER_SOURCE_SUBJECT = "Piiguard-Source-Subject"
HEADER_SOURCE_STREAM = "Piiguard-Source-Stream"
HEADER_SOURCE_SEQ = "Piiguard-Source-Seq"
HEADER_WORKSPACE = "Piiguard-Workspace"


@dataclass(frozen=True)
class DeadLetter:
    stage: str
    workspace: str
    correlation_id: str
    reason: str
    attempts: int
    source_stream: str
    source_subject: str
    source_seq: int
    data: bytes

    def headers(self) -> dict[str, str]:
        return {
            HEADER_MSG_ID: f"dlq:{self.source_stream}:{self.source_seq}:{self.stage}",
            HEADER_ID: self.correlation_id,
            HEADER_STAGE: self.stage,
            HEADER_WORKSPACE: self.workspace,
            HEADER_REASON: self.reason[:500],
            HEADER_ATTEMPTS: str(self.attempts),
            HEADER_SOURCE_STREAM: self.source_stream,
            HEADER_SOURCE_SUBJECT: self.source_subject,
            HEADER_SOURCE_SEQ: str(self.source_seq),
        }

    @classmethod
    def from_message(cls, data: bytes, headers: dict[str, str]) -> DeadLetter:
        return cls(
            stage=headers.get(HEADER_STAGE, ""),
            workspace=headers.get(HEADER_WORKSPACE, ""),
            correlation_id=headers.get(HEADER_ID, ""),
            reason=headers.get(HEADER_REASON, ""),
            attempts=int(headers.get(HEADER_ATTEMPTS, "0") or 0),
            source_stream=headers.get(HEADER_SOURCE_STREAM, ""),
            source_subject=headers.get(HEADER_SOURCE_SUBJECT, ""),
            source_seq=int(headers.get(HEADER_SOURCE_SEQ, "0") or 0),
            data=data,
        )


class DeadLetterSink(Protocol):
    async def put(self, letter: DeadLetter) -> None:
        """Make the dead letter durable, or raise."""
        ...


async def publish_dead_letter(js: JetStreamContext, letter: DeadLetter) -> None:
    await js.publish(
        dead_letter_subject(letter.stage, letter.workspace or "unknown"),
        letter.data,
        stream=STREAM_DLQ,
        headers=letter.headers(),
    )


class JetStreamDeadLetters:
    """The ``PIIGUARD_DLQ`` stream as a :class:`DeadLetterSink`."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def put(self, letter: DeadLetter) -> None:
        await publish_dead_letter(self.js, letter)


@dataclass(frozen=True)
class StoredDeadLetter:
    seq: int
    time: str
    letter: DeadLetter


def _dlq_filter(stage: str | None) -> str:
    return dead_letter_filter(stage or None)


async def list_dead_letters(js: JetStreamContext, stage: str | None = None,
                            limit: int = 1000) -> list[StoredDeadLetter]:
    """Dead letters, oldest first (read with direct gets; consumes nothing)."""
    return [_stored(raw) async for raw in read_subject(js, STREAM_DLQ, _dlq_filter(stage), limit)]


async def get_dead_letter(js: JetStreamContext, seq: int) -> StoredDeadLetter:
    raw = await js.get_msg(STREAM_DLQ, seq=seq)
    return _stored(raw)


async def replay_dead_letter(js: JetStreamContext, seq: int) -> StoredDeadLetter:
    """Re-publish a dead letter to the subject it came from, then remove it.

    A fresh ``Nats-Msg-Id`` gets it past the de-duplication that stored the
    original; the action stage's effect records still keep a message from
    being deleted or DM'd twice."""
    stored = await get_dead_letter(js, seq)
    letter = stored.letter
    if not letter.source_subject:
        raise ValueError(f"dead letter {seq} does not say where it came from")
    headers = {HEADER_MSG_ID: f"{letter.correlation_id or 'unknown'}:replay:{seq}",
               HEADER_ID: letter.correlation_id}
    await js.publish(letter.source_subject, letter.data, headers=headers)
    await js.delete_msg(STREAM_DLQ, seq)
    return stored


async def purge_dead_letters(js: JetStreamContext, seq: int | None = None,
                             stage: str | None = None) -> int:
    """Remove one dead letter, or all (of a stage). Returns how many."""
    if seq is not None:
        await js.delete_msg(STREAM_DLQ, seq)
        return 1
    count = len(await list_dead_letters(js, stage, limit=10**9))
    await js.purge_stream(STREAM_DLQ, subject=_dlq_filter(stage))
    return count


def _stored(raw: Any) -> StoredDeadLetter:
    headers = {k: v for k, v in (raw.headers or {}).items()}
    when = getattr(raw, "time", None)
    return StoredDeadLetter(
        seq=int(raw.seq or 0),
        time=when.isoformat() if when is not None else "",
        letter=DeadLetter.from_message(raw.data or b"", headers),
    )
