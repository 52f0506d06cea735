"""The dead-letter stream: messages a stage gave up on, with their reason.

A dead letter keeps the original bytes (so ``piiguard dlq replay`` can re-drive
it to its stage) and says in headers which stage failed, after how many
attempts, and why. Reasons are written by our code from error *kinds* (a Slack
error code, an exception class): never message text.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext

from piiguard.jetstream import HEADER_ID, HEADER_MSG_ID, STREAM_DLQ, dead_letter_subject

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


async def publish_dead_letter(js: JetStreamContext, letter: DeadLetter) -> None:
    await js.publish(
        dead_letter_subject(letter.stage, letter.workspace or "unknown"),
        letter.data,
        stream=STREAM_DLQ,
        headers=letter.headers(),
    )
