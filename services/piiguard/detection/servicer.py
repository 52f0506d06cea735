"""gRPC ``piiguard.v1.Detection``: the same handler as the stream consumer."""

from __future__ import annotations

import grpc

from piiguard.detection.handler import DetectionHandler
from piiguard.v1 import detection_pb2, detection_pb2_grpc
from piiguard.worker import PermanentError


class DetectionServicer(detection_pb2_grpc.DetectionServicer):
    def __init__(self, handler: DetectionHandler) -> None:
        self.handler = handler

    async def Scan(
        self, request: detection_pb2.ScanRequest, context: grpc.aio.ServicerContext
    ) -> detection_pb2.ScanResponse:
        event = request.event
        if not event.event_id or not event.workspace_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                "event.event_id and event.workspace_id are required")
        try:
            result = await self.handler.handle(event, dry_run=request.dry_run)
        except PermanentError as exc:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, exc.reason)
        except Exception as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"scan failed: {type(exc).__name__}")
        return detection_pb2.ScanResponse(result=result)
