"""gRPC ``piiguard.v1.Detection``: the same handler as the stream consumer."""

from __future__ import annotations

import grpc

from piiguard.contracts import check_event
from piiguard.detection.handler import DetectionHandler
from piiguard.errors import PermanentError, grpc_status
from piiguard.v1 import detection_pb2, detection_pb2_grpc


class DetectionServicer(detection_pb2_grpc.DetectionServicer):
    def __init__(self, handler: DetectionHandler) -> None:
        self.handler = handler

    async def Scan(
        self, request: detection_pb2.ScanRequest, context: grpc.aio.ServicerContext
    ) -> detection_pb2.ScanResponse:
        event = request.event
        check_event(event, prefix="event.")  # InvalidPayload: INVALID_ARGUMENT (grpcserver.StrictRequests)
        try:
            result = await self.handler.handle(event, dry_run=request.dry_run)
        except PermanentError as exc:
            await context.abort(grpc_status(exc), exc.reason)
        except Exception as exc:
            # A scan that failed for a passing reason may be asked again.
            await context.abort(grpc_status(exc, grpc.StatusCode.UNAVAILABLE),
                                f"scan failed: {type(exc).__name__}")
        return detection_pb2.ScanResponse(result=result)
