"""gRPC ``piiguard.v1.Ingest``: the same handler as the HTTP endpoint.

This is the Ingest API for other services submitting content. The
authorisation interceptor has already proved who the caller is; here each
caller is held to the workspaces whose policy lists it (``ingestApi.callers``),
and the caller's name goes into the audit trail with the event.

A malformed event (or a ``not_before`` beyond the events stream's backlog bound)
is ``INVALID_ARGUMENT`` and one too large for the stream ``RESOURCE_EXHAUSTED``:
neither is worth retrying. ``SubmitEvents`` applies the same rules to each event
of a batch and answers each with its own status. Only a failure to make the
event durable (NATS away) is ``UNAVAILABLE``, which tells the caller to retry.
"""

from __future__ import annotations

import logging

import grpc

from piiguard.contracts import check_event
from piiguard.errors import InvalidInput
from piiguard.ingest.handler import EventTooLarge, IngestHandler
from piiguard.jetstream import subject_token
from piiguard.security.identity import current_caller
from piiguard.v1 import event_pb2, ingest_pb2, ingest_pb2_grpc

log = logging.getLogger(__name__)


MAX_BATCH = 500  # events per SubmitEvents call


class Refused(Exception):
    """One event refused, with the gRPC status it would have had alone."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class IngestServicer(ingest_pb2_grpc.IngestServicer):
    def __init__(self, handler: IngestHandler, *, require_caller: bool = True) -> None:
        """``require_caller``: False only without TLS (PIIGUARD_INSECURE_PLAINTEXT),
        where there is no caller identity to scope by."""
        self.handler = handler
        self.require_caller = require_caller

    async def _one(self, event: event_pb2.Event, prefix: str) -> ingest_pb2.SubmitEventResponse:
        """SubmitEvent's rules for one event; :class:`Refused` says why not."""
        try:
            check_event(event, prefix=prefix)
        except InvalidInput as exc:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None
        if any(ref.HasField("notion") for ref in event.files):
            # Detection fetches a Notion-hosted file wherever its URL points: only the
            # Notion source (which has the URL from Notion) may hand one over.
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT,
                          f"{prefix}files.notion: Notion files come from the Notion source only")
        caller = current_caller.get()
        if caller is not None or self.require_caller:
            policy = self.handler.policy_for(event.workspace_id)
            name = caller.name if caller is not None else ""
            if policy is None or not policy.accepts_ingest_api_caller(name, event.workspace_id):
                workspace = subject_token(event.workspace_id)[:32]
                log.warning("refused an Ingest API event from %s for workspace %s: not listed "
                            "in that workspace's policy (ingestApi.callers)", name[:64], workspace)
                raise Refused(grpc.StatusCode.PERMISSION_DENIED,
                              f"{name[:64]} may not submit events for workspace {workspace}: no "
                              "policy lists it in ingestApi.callers")
        try:
            return await self.handler.submit(event, caller.name if caller is not None else "",
                                             source="api")
        except EventTooLarge as exc:
            raise Refused(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc)) from None
        except InvalidInput as exc:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None
        except Exception as exc:
            raise Refused(grpc.StatusCode.UNAVAILABLE,
                          f"event not accepted: {type(exc).__name__}") from None

    async def SubmitEvent(
        self, request: ingest_pb2.SubmitEventRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.SubmitEventResponse:
        try:
            return await self._one(request.event, "event.")
        except Refused as refused:
            await context.abort(refused.code, refused.message)
        raise AssertionError("unreachable: abort raises")

    async def SubmitEvents(
        self, request: ingest_pb2.SubmitEventsRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.SubmitEventsResponse:
        """Each event with its own status, in order: one refused event refuses only
        itself. An empty or oversized request is INVALID_ARGUMENT as a whole."""
        if not request.events:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "events: at least one is required")
        if len(request.events) > MAX_BATCH:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"events: at most {MAX_BATCH} per call, got {len(request.events)}")
        response = ingest_pb2.SubmitEventsResponse()
        for index, event in enumerate(request.events):
            result = response.results.add()
            try:
                result.response.CopyFrom(await self._one(event, f"events[{index}]."))
            except Refused as refused:
                result.response.correlation_id = event.event_id if len(event.event_id) <= 128 else ""
                result.code = refused.code.value[0]
                result.error = refused.message
        return response
