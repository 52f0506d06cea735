"""The audit trail: an event's life as records on ``PIIGUARD_AUDIT``.

Each record is an ``AuditRecord`` on ``piiguard.audit.<correlation id>``, so one
event's life is read back by subject. Records hold kinds, counts and offsets,
never text or values.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from nats.js import JetStreamContext

from piiguard.jetstream import HEADER_MSG_ID, STREAM_AUDIT, audit_subject, read_subject
from piiguard.v1 import audit_pb2, audit_pb2_grpc, detection_pb2, event_pb2

log = logging.getLogger(__name__)

Step = audit_pb2.LifecycleStep


class AuditTrail:
    """Writes lifecycle records for one stage."""

    def __init__(self, js: JetStreamContext, stage: str) -> None:
        self.js = js
        self.stage = stage

    async def record(
        self,
        event: event_pb2.Event,
        step: audit_pb2.LifecycleStep.ValueType,
        *,
        verdict: detection_pb2.Verdict.ValueType = detection_pb2.VERDICT_UNSPECIFIED,
        findings: Iterable[detection_pb2.Finding] = (),
        files: Iterable[detection_pb2.FileScan] = (),
        attempt: int = 0,
        reason: str = "",
    ) -> None:
        findings = list(findings)
        counts = Counter(f.entity_type for f in findings)
        now = Timestamp()
        now.GetCurrentTime()
        record = audit_pb2.AuditRecord(
            correlation_id=event.event_id,
            workspace_id=event.workspace_id,
            stage=self.stage,
            step=step,
            time=now,
            verdict=verdict,
            entities=[audit_pb2.EntityCount(entity_type=k, count=n) for k, n in sorted(counts.items())],
            findings=findings,
            attempt=attempt,
            reason=reason,
            channel_id=event.channel_id,
            message_ts=event.ts,
            files=list(files),
        )
        # Same id for the same step of the same attempt: a redelivered message
        # does not write its record twice within the duplicate window.
        msg_id = f"{event.event_id}:{self.stage}:{Step.Name(step)}:{attempt}"
        await self.js.publish(
            audit_subject(event.event_id),
            record.SerializeToString(),
            stream=STREAM_AUDIT,
            headers={HEADER_MSG_ID: msg_id},
        )


async def event_history(js: JetStreamContext, correlation_id: str) -> list[audit_pb2.AuditRecord]:
    """Every record of one event, oldest first."""
    return [
        audit_pb2.AuditRecord.FromString(raw.data)
        async for raw in read_subject(js, STREAM_AUDIT, audit_subject(correlation_id))
        if raw.data
    ]


class AuditServicer(audit_pb2_grpc.AuditServicer):
    """gRPC ``piiguard.v1.Audit``: one event's life, as ``piiguard events`` prints it."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def GetEventHistory(
        self, request: audit_pb2.GetEventHistoryRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.GetEventHistoryResponse:
        if not request.correlation_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "correlation_id is required")
        records = await event_history(self.js, request.correlation_id)
        return audit_pb2.GetEventHistoryResponse(records=records)
