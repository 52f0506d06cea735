"""gRPC ``piiguard.v1.Action``: the same handler as the stream consumer."""

from __future__ import annotations

import grpc

from piiguard.action.handler import ActionHandler
from piiguard.v1 import action_pb2, action_pb2_grpc
from piiguard.worker import PermanentError, TransientError


class ActionServicer(action_pb2_grpc.ActionServicer):
    def __init__(self, handler: ActionHandler) -> None:
        self.handler = handler

    async def Execute(
        self, request: action_pb2.ActionRequest, context: grpc.aio.ServicerContext
    ) -> action_pb2.ActionOutcome:
        event = request.event
        if not event.event_id or not event.channel_id or not event.ts:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                "event.event_id, channel_id and ts are required")
        try:
            return await self.handler.handle(request)
        except PermanentError as exc:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, exc.reason)
        except TransientError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, exc.reason)
        except Exception as exc:
            await context.abort(grpc.StatusCode.INTERNAL, f"action failed: {type(exc).__name__}")
        raise AssertionError("unreachable")
