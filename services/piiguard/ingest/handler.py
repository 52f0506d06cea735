"""Ingest's one handler: accept an event durably for detection.

Called by the Slack Events HTTP endpoint, Socket Mode, the gRPC
``Ingest.SubmitEvent`` / ``SubmitEvents`` methods and the history sweep alike.
Returns only once the event is in JetStream, so an HTTP 200 means "will be
handled"; a failure propagates and the caller answers 5xx (Slack then retries).

Each event goes to its lane (``Event.priority``: BULK to
``piiguard.events.<ws>.bulk``, the rest to the live ``piiguard.events.<ws>``);
one with a future ``not_before`` waits in ``piiguard.events.<ws>.later`` until
ingest releases it onto that lane (:mod:`piiguard.ingest.later`). A Slack message version already
accepted is not published again (``SUBMIT_STATUS_DUPLICATE``, "already scanned"): a sweep
skips any version a newer one covers, a live event only its own (the rules are in
:mod:`piiguard.ingest.seen`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from nats.js import JetStreamContext

from piiguard import metrics, telemetry
from piiguard.audit import AuditTrail, Step
from piiguard.errors import InvalidInput
from piiguard.ingest.later import RELEASE_EARLY, due_in
from piiguard.ingest.seen import SeenVersions, message_version
from piiguard.jetstream import (
    HEADER_ID,
    HEADER_MSG_ID,
    STREAM_EVENTS,
    lane_subject,
    later_subject,
    max_message_bytes,
)
from piiguard.policy_store import PolicyLookup
from piiguard.v1 import event_pb2, ingest_pb2

log = logging.getLogger(__name__)


PUBLISH_TIMEOUT_SECONDS = 2.0  # well inside Slack's 3-second deadline


class EventTooLarge(ValueError):
    """The event does not fit in one stream message: refused (HTTP 413, gRPC
    RESOURCE_EXHAUSTED), never answered as a retryable failure."""


_OUTCOMES = {
    ingest_pb2.SUBMIT_STATUS_ACCEPTED: "accepted",
    ingest_pb2.SUBMIT_STATUS_DUPLICATE: "duplicate",
    ingest_pb2.SUBMIT_STATUS_IGNORED: "ignored",
}



def count_ignored(source: str = "slack") -> None:
    """An event dropped before :meth:`IngestHandler.submit` (a bot's own or a system message)."""
    metrics.EVENTS_RECEIVED.labels(source, "ignored").inc()


class IngestHandler:
    def __init__(self, js: JetStreamContext, policy_for: PolicyLookup, *,
                 max_delay: float = 30 * 60.0) -> None:
        """``max_delay``: the furthest ``not_before`` accepted (seconds ahead): the
        events stream's backlog bound (``PIIGUARD_EVENTS_MAX_AGE``), which a held
        event must not outlive."""
        self.js = js
        self.max_delay = max_delay
        self.policy_for = policy_for
        self.audit = AuditTrail(js, "ingest")
        self.seen = SeenVersions(js)

    async def submit(self, event: event_pb2.Event, submitted_by: str = "",
                     source: str = "slack") -> ingest_pb2.SubmitEventResponse:
        """``submitted_by``: the Ingest API caller, kept in the audit trail (empty: Slack).
        ``source``: ``slack`` (the Events API) or ``api`` (gRPC Ingest), the metrics label.
        Counted in piiguard_events_received_total; its time in piiguard_ingest_ack_seconds."""
        started = time.perf_counter()
        outcome = "refused"  # unless it is made durable (or deliberately ignored)
        try:
            response = await self._submit(event, submitted_by)
            outcome = _OUTCOMES.get(response.status, "refused")
            return response
        finally:
            metrics.EVENTS_RECEIVED.labels(source, outcome).inc()
            metrics.INGEST_ACK_SECONDS.observe(time.perf_counter() - started)

    async def _submit(self, event: event_pb2.Event, submitted_by: str) -> ingest_pb2.SubmitEventResponse:
        response = ingest_pb2.SubmitEventResponse(correlation_id=event.event_id)
        policy = self.policy_for(event.workspace_id)
        if policy is None:
            return await self._ignore(event, response, "no policy for this workspace", submitted_by)
        if event.source == event_pb2.SOURCE_PLATFORM_NOTION:
            if not policy.notion.watches(event.notion.database_id):
                return await self._ignore(event, response, "database not watched", submitted_by)
        elif not policy.watches(event.channel_id,
                                direct_message=event.channel_type == event_pb2.CHANNEL_TYPE_IM):
            return await self._ignore(event, response, "channel not watched", submitted_by)

        data = event.SerializeToString()
        limit = max_message_bytes(self.js)
        if len(data) > limit:
            raise EventTooLarge(f"event of {len(data)} bytes is larger than the {limit}-byte limit")
        version = message_version(event)
        swept = event.priority == event_pb2.PRIORITY_BULK
        if version is not None and await self.seen.seen(version, swept=swept):
            log.info("duplicate delivery of %s collapsed: this version of channel=%s ts=%s was "
                     "already accepted", event.event_id, event.channel_id, event.ts)
            response.status = ingest_pb2.SUBMIT_STATUS_DUPLICATE
            response.reason = "already scanned"
            return response
        headers = dict(telemetry.inject_headers({
            HEADER_MSG_ID: version.msg_id if version is not None else event.event_id,
            HEADER_ID: event.event_id}))
        subject = lane_subject(event.workspace_id, event.priority)
        if due_in(event) > RELEASE_EARLY:
            ahead = due_in(event)
            if ahead > self.max_delay:
                raise InvalidInput(f"not_before is {ahead:.0f}s ahead; at most {self.max_delay:.0f}s "
                                   "(the events stream's PIIGUARD_EVENTS_MAX_AGE)")
            subject = later_subject(event.workspace_id)  # released onto its lane then
        ack = await self.js.publish(
            subject,
            data,
            timeout=PUBLISH_TIMEOUT_SECONDS,
            stream=STREAM_EVENTS,
            headers=headers,
        )
        # Recorded on duplicates too: a retry after a failed audit write completes the trail.
        await self.audit.record(event, Step.LIFECYCLE_STEP_RECEIVED, submitted_by=submitted_by)
        if version is not None:  # once durable and recorded (see piiguard.ingest.seen)
            await self.seen.remember(version)
        if ack.duplicate:
            response.status = ingest_pb2.SUBMIT_STATUS_DUPLICATE
            log.info("duplicate delivery of %s collapsed", event.event_id)
        else:
            response.status = ingest_pb2.SUBMIT_STATUS_ACCEPTED
            log.info("accepted %s workspace=%s %s kind=%s chars=%d files=%d",
                     event.event_id, event.workspace_id,
                     f"notion_page={event.notion.page_id}" if event.HasField("notion")
                     else f"channel={event.channel_id}",
                     event_pb2.EventKind.Name(event.kind), len(event.text), len(event.files))
        return response

    async def submit_many(self, events: Sequence[event_pb2.Event], submitted_by: str = "",
                          source: str = "api") -> list[ingest_pb2.SubmitEventResponse]:
        """Each event as :meth:`submit`, in order; a failure propagates (the caller
        decides per event: see the Ingest servicer's ``SubmitEvents``)."""
        return [await self.submit(event, submitted_by, source) for event in events]

    async def _ignore(
        self, event: event_pb2.Event, response: ingest_pb2.SubmitEventResponse, reason: str,
        submitted_by: str = "",
    ) -> ingest_pb2.SubmitEventResponse:
        await self.audit.record(event, Step.LIFECYCLE_STEP_IGNORED, reason=reason,
                                submitted_by=submitted_by)
        log.info("ignored %s workspace=%s: %s", event.event_id, event.workspace_id, reason)
        response.status = ingest_pb2.SUBMIT_STATUS_IGNORED
        response.reason = reason
        return response
