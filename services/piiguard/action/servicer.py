"""gRPC ``piiguard.v1.Action``: the same handler as the stream consumer."""

from __future__ import annotations

import grpc

from piiguard.action.handler import ActionHandler
from piiguard.contracts import check_action_request
from piiguard.errors import ProcessingError, grpc_status
from piiguard.v1 import action_pb2, action_pb2_grpc


class ActionServicer(action_pb2_grpc.ActionServicer):
    def __init__(self, handler: ActionHandler) -> None:
        self.handler = handler

    async def Execute(
        self, request: action_pb2.ActionRequest, context: grpc.aio.ServicerContext
    ) -> action_pb2.ActionOutcome:
        check_action_request(request)  # InvalidPayload: INVALID_ARGUMENT (grpcserver.StrictRequests)
        try:
            return await self.handler.handle(request)
        except ProcessingError as exc:
            await context.abort(grpc_status(exc), exc.reason)
        except Exception as exc:
            await context.abort(grpc_status(exc), f"action failed: {type(exc).__name__}")
        raise AssertionError("unreachable")
