"""gRPC ``piiguard.v1.Ingest``: the same handler as the HTTP endpoint."""

from __future__ import annotations

import grpc

from piiguard.ingest.handler import IngestHandler
from piiguard.v1 import ingest_pb2, ingest_pb2_grpc


class IngestServicer(ingest_pb2_grpc.IngestServicer):
    def __init__(self, handler: IngestHandler) -> None:
        self.handler = handler

    async def SubmitEvent(
        self, request: ingest_pb2.SubmitEventRequest, context: grpc.aio.ServicerContext
    ) -> ingest_pb2.SubmitEventResponse:
        event = request.event
        if not event.event_id or not event.workspace_id or not event.channel_id or not event.ts:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "event_id, workspace_id, channel_id and ts are required",
            )
        try:
            return await self.handler.submit(event)
        except Exception as exc:
            await context.abort(
                grpc.StatusCode.UNAVAILABLE, f"event not accepted: {type(exc).__name__}"
            )
            raise  # unreachable: abort raises
