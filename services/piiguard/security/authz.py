"""Per-RPC authorisation by the caller's identity.

Who may call what (docs/security.md has the same table):

==============================================  =====================================
method                                          callers
==============================================  =====================================
``piiguard.v1.Ingest/SubmitEvent``,             external Ingest API callers, each only
``piiguard.v1.Ingest/SubmitEvents``             for the workspaces whose policy lists it
``piiguard.v1.Detection/Scan`` (effects)        ``ingest`` (the stage before detection)
``piiguard.v1.Detection/Scan`` (``dry_run``)    the stages and ``admin``
``piiguard.v1.Action/Execute``                  ``detection`` (the stage before action)
``piiguard.v1.Audit/GetEventHistory``           ``admin``
``grpc.health.v1.Health/*``                     any authenticated caller
==============================================  =====================================

No credential: ``UNAUTHENTICATED``. A credential that may not call the method:
``PERMISSION_DENIED``. A method not in the table is refused to everyone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc

from piiguard.security.identity import STAGES, Caller, caller_from_certificate, current_caller
from piiguard.security.tokens import TokenFile, bearer_token

log = logging.getLogger(__name__)

Allows = Callable[[Caller, Any], bool]


def components(*names: str) -> Allows:
    allowed = frozenset(names)
    return lambda caller, _request: caller.component and caller.name in allowed


def external_callers(caller: Caller, _request: Any) -> bool:
    return not caller.component


def anyone_authenticated(_caller: Caller, _request: Any) -> bool:
    return True


def detection_scan(caller: Caller, request: Any) -> bool:
    if getattr(request, "dry_run", False):
        return caller.component and caller.name in (*STAGES, "admin")
    return caller.component and caller.name == "ingest"


RULES: Mapping[str, Allows] = {
    "/piiguard.v1.Ingest/SubmitEvent": external_callers,
    "/piiguard.v1.Ingest/SubmitEvents": external_callers,
    "/piiguard.v1.Detection/Scan": detection_scan,
    "/piiguard.v1.Action/Execute": components("detection"),
    "/piiguard.v1.Audit/GetEventHistory": components("admin"),
    "/grpc.health.v1.Health/Check": anyone_authenticated,
    "/grpc.health.v1.Health/Watch": anyone_authenticated,
}


@dataclass(frozen=True)
class Authenticator:
    """Finds the caller of a request: the peer certificate, else a bearer token."""

    tokens: TokenFile | None = None

    def caller(self, context: grpc.aio.ServicerContext) -> Caller | None:
        auth = context.auth_context() or {}
        for pem in auth.get("x509_pem_cert", []):
            found = caller_from_certificate(pem)
            if found is not None:
                return found
        if self.tokens is not None:
            token = bearer_token(context.invocation_metadata())
            if token is not None:
                name = self.tokens.caller_for(token)
                if name is not None:
                    return Caller(name=name, component=False, via="token")
        return None


class AuthorizationInterceptor(grpc.aio.ServerInterceptor):
    """Checks every RPC against :data:`RULES` before the servicer sees it."""

    def __init__(self, authenticator: Authenticator, rules: Mapping[str, Allows] = RULES) -> None:
        self.authenticator = authenticator
        self.rules = rules

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        rule = self.rules.get(method)

        async def authorise(request: Any, context: grpc.aio.ServicerContext) -> Caller:
            caller = self.authenticator.caller(context)
            if caller is None:
                log.warning("refused %s: no client certificate or valid bearer token", method)
                await context.abort(grpc.StatusCode.UNAUTHENTICATED,
                                    "a client certificate or a valid bearer token is required")
            assert caller is not None
            if rule is None or not rule(caller, request):
                log.warning("refused %s for %s (%s)", method, caller.name[:64], caller.via)
                await context.abort(grpc.StatusCode.PERMISSION_DENIED,
                                    f"{caller.name[:64]} may not call {method}")
            return caller

        if handler.unary_unary is not None:
            inner_unary = handler.unary_unary

            async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                caller = await authorise(request, context)
                token = current_caller.set(caller)
                try:
                    return await inner_unary(request, context)
                finally:
                    current_caller.reset(token)

            return grpc.unary_unary_rpc_method_handler(
                unary_unary, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        if handler.unary_stream is not None:
            inner_stream = handler.unary_stream

            async def unary_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
                caller = await authorise(request, context)
                token = current_caller.set(caller)
                try:
                    result = inner_stream(request, context)
                    if hasattr(result, "__aiter__"):  # an async generator
                        async for item in result:
                            yield item
                    else:  # a coroutine writing with context.write (e.g. Health/Watch)
                        await result
                finally:
                    current_caller.reset(token)

            return grpc.unary_stream_rpc_method_handler(
                unary_stream, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        # Client-streaming methods: none are served; refuse rather than pass unchecked.
        return None
