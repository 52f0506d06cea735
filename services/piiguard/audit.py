"""The audit trail: an event's life as records on ``PIIGUARD_AUDIT``.

Each record is an ``AuditRecord`` on ``piiguard.audit.<correlation id>``, so one
event's life is read back by subject. Records hold ids, kinds, counts, types,
sizes and offsets — never text, values, or file names (a name is text its author
wrote: ``card 4539….pdf``; so is a picture's member name inside a DOCX, kept
only in the shapes Office tools give it). :func:`scrub` clears the names when a record is
written and again when one is read, so records written by an older version do
not leak them through ``piiguard events`` or the Audit gRPC either.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from typing import Protocol

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from nats.js import JetStreamContext

from piiguard.contracts import check_id
from piiguard.jetstream import HEADER_MSG_ID, STREAM_AUDIT, audit_subject, read_subject
from piiguard.v1 import audit_pb2, audit_pb2_grpc, detection_pb2, event_pb2

log = logging.getLogger(__name__)

Step = audit_pb2.LifecycleStep

MAX_RECORDED_FINDINGS = 2_000  # per record; the per-kind counts cover all of them


class AuditSink(Protocol):
    """Where a stage writes an event's lifecycle records."""

    async def record(
        self,
        event: event_pb2.Event,
        step: audit_pb2.LifecycleStep.ValueType,
        *,
        verdict: detection_pb2.Verdict.ValueType = ...,
        findings: Iterable[detection_pb2.Finding] = ...,
        files: Iterable[detection_pb2.FileScan] = ...,
        attempt: int = ...,
        reason: str = ...,
    ) -> None: ...


class AuditTrail:
    """Writes lifecycle records for one stage (the ``PIIGUARD_AUDIT`` stream)."""

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
        submitted_by: str = "",
    ) -> None:
        findings = list(findings)
        counts = Counter(f.entity_type for f in findings)  # complete, however many
        # Offsets of the first findings only: a record must fit in one stream message.
        findings = [_without_name(f) for f in findings[:MAX_RECORDED_FINDINGS]]
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
            files=[_scan_without_name(f) for f in files],
            submitted_by=submitted_by,
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


# Where in a file, as our own code words it ("image 2 on page 3") or as Office
# tools name their pictures ("word/media/image1.png"). A member name is chosen by
# whoever made the file, so any other shape is recorded as "embedded image".
_SAFE_LOCATION = re.compile(r"image \d{1,6} on page \d{1,6}|(word|xl|ppt)/media/image\d{1,6}\.[A-Za-z]{1,5}")


def _safe_location(location: str) -> str:
    return location if not location or _SAFE_LOCATION.fullmatch(location) else "embedded image"


def _without_name(finding: detection_pb2.Finding) -> detection_pb2.Finding:
    copy = detection_pb2.Finding()
    copy.CopyFrom(finding)
    copy.ClearField("file_name")
    copy.location = _safe_location(copy.location)
    return copy


def _scan_without_name(scan: detection_pb2.FileScan) -> detection_pb2.FileScan:
    copy = detection_pb2.FileScan()
    copy.CopyFrom(scan)
    copy.ClearField("name")
    return copy


def scrub(record: audit_pb2.AuditRecord) -> audit_pb2.AuditRecord:
    """The record without anything its author wrote (file names), in place."""
    for finding in record.findings:
        finding.ClearField("file_name")
        finding.location = _safe_location(finding.location)
    for scan in record.files:
        scan.ClearField("name")
    return record


async def event_history(js: JetStreamContext, correlation_id: str) -> list[audit_pb2.AuditRecord]:
    """Every record of one event, oldest first (scrubbed, see :func:`scrub`)."""
    return [
        scrub(audit_pb2.AuditRecord.FromString(raw.data))
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
        # InvalidPayload: INVALID_ARGUMENT (grpcserver.StrictRequests)
        check_id(request.correlation_id, "correlation_id", required=True)
        records = await event_history(self.js, request.correlation_id)
        return audit_pb2.GetEventHistoryResponse(records=records)
