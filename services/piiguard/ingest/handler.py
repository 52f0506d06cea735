"""Ingest's one handler: accept an event durably for detection.

Called by the Slack Events HTTP endpoint and by the gRPC ``Ingest.SubmitEvent``
method alike. Returns only once the event is in JetStream, so an HTTP 200
means "will be handled"; a failure propagates and the caller answers 5xx
(Slack then retries).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from nats.js import JetStreamContext

from piiguard import telemetry
from piiguard.audit import AuditTrail, Step
from piiguard.jetstream import HEADER_ID, HEADER_MSG_ID, STREAM_EVENTS, events_subject
from piiguard.policy import Policy
from piiguard.v1 import event_pb2, ingest_pb2

log = logging.getLogger(__name__)

PolicyLookup = Callable[[str], Policy | None]

PUBLISH_TIMEOUT_SECONDS = 2.0  # well inside Slack's 3-second deadline


class IngestHandler:
    def __init__(self, js: JetStreamContext, policy_for: PolicyLookup) -> None:
        self.js = js
        self.policy_for = policy_for
        self.audit = AuditTrail(js, "ingest")

    async def submit(self, event: event_pb2.Event) -> ingest_pb2.SubmitEventResponse:
        response = ingest_pb2.SubmitEventResponse(correlation_id=event.event_id)
        policy = self.policy_for(event.workspace_id)
        if policy is None:
            return await self._ignore(event, response, "no policy for this workspace")
        direct = event.channel_type == event_pb2.CHANNEL_TYPE_IM
        if not policy.watches(event.channel_id, direct_message=direct):
            return await self._ignore(event, response, "channel not watched")

        headers = telemetry.inject_headers({HEADER_MSG_ID: event.event_id, HEADER_ID: event.event_id})
        ack = await self.js.publish(
            events_subject(event.workspace_id),
            event.SerializeToString(),
            timeout=PUBLISH_TIMEOUT_SECONDS,
            stream=STREAM_EVENTS,
            headers=dict(headers),
        )
        # Recorded on duplicates too: a retry after a failed audit write completes the trail.
        await self.audit.record(event, Step.LIFECYCLE_STEP_RECEIVED)
        if ack.duplicate:
            response.status = ingest_pb2.SUBMIT_STATUS_DUPLICATE
            log.info("duplicate delivery of %s collapsed", event.event_id)
        else:
            response.status = ingest_pb2.SUBMIT_STATUS_ACCEPTED
            log.info("accepted %s workspace=%s channel=%s kind=%s chars=%d files=%d",
                     event.event_id, event.workspace_id, event.channel_id,
                     event_pb2.EventKind.Name(event.kind), len(event.text), len(event.files))
        return response

    async def _ignore(
        self, event: event_pb2.Event, response: ingest_pb2.SubmitEventResponse, reason: str
    ) -> ingest_pb2.SubmitEventResponse:
        await self.audit.record(event, Step.LIFECYCLE_STEP_IGNORED, reason=reason)
        log.info("ignored %s workspace=%s: %s", event.event_id, event.workspace_id, reason)
        response.status = ingest_pb2.SUBMIT_STATUS_IGNORED
        response.reason = reason
        return response
