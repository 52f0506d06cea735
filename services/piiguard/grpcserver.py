"""The gRPC server every stage runs: its own service plus standard health checking.

Health is reported per service name (``piiguard.v1.Detection`` …) and for the
empty name (the whole server), as grpcio-health-checking defines it; a stage
marks itself NOT_SERVING when it cannot do its work (e.g. a revoked token).

Security: mutual TLS with the component's certificate (``PIIGUARD_TLS_*``),
every RPC authorised by :mod:`piiguard.security.authz`; loopback unless
``PIIGUARD_BIND_HOST`` says otherwise; the port is never shared with another
process (``SO_REUSEPORT`` off), so a second server on the same port fails at start.

Every unary method goes through :class:`StrictRequests` (after authorisation):
bytes that do not decode as the method's request are ``INVALID_ARGUMENT`` with
one WARNING line (grpcio would answer with a traceback in the log), refused
input (``InvalidInput``) is ``INVALID_ARGUMENT`` too, and an unexpected exception
is one ERROR line with its kind and place — ``INTERNAL``, never a traceback that
could quote a request.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from piiguard.errors import ConfigError, InvalidInput
from piiguard.security.authz import Authenticator, AuthorizationInterceptor
from piiguard.security.tls import TlsSettings
from piiguard.security.tokens import TokenFile

log = logging.getLogger(__name__)

# Refuse to share a port: with SO_REUSEPORT (grpc's default on Linux) a second
# process could bind the same port and take half of the connections.
SERVER_OPTIONS: list[tuple[str, Any]] = [("grpc.so_reuseport", 0)]


class _Undecodable:
    """Stands in for a request whose bytes did not decode."""

    def __init__(self, size: int) -> None:
        self.size = size


class StrictRequests(grpc.aio.ServerInterceptor):
    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None or handler.request_deserializer is None:
            return handler
        method = str(handler_call_details.method)
        deserialize = handler.request_deserializer
        behavior = handler.unary_unary

        def safe_deserialize(data: bytes) -> Any:
            try:
                return deserialize(data)
            except Exception:
                return _Undecodable(len(data))

        async def guarded(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if isinstance(request, _Undecodable):
                log.warning("refused a call to %s: %d bytes that are not its request message",
                            method, request.size)
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    "request does not decode as the method's message")
            try:
                return await behavior(request, context)
            except grpc.aio.AbortError:
                raise
            except InvalidInput as exc:
                log.warning("refused a call to %s: %s", method, exc)
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            except Exception as exc:
                frame = traceback.extract_tb(exc.__traceback__)[-1:] or None
                where = f"{frame[0].filename}:{frame[0].lineno}" if frame else "?"
                log.error("%s failed: %s at %s", method, type(exc).__name__, where)
                await context.abort(grpc.StatusCode.INTERNAL, f"failed: {type(exc).__name__}")

        return grpc.unary_unary_rpc_method_handler(
            guarded, request_deserializer=safe_deserialize,
            response_serializer=handler.response_serializer,
        )


@dataclass(frozen=True)
class Registration:
    service_name: str  # full proto name, e.g. "piiguard.v1.Detection"
    add_to_server: Callable[[Any, grpc.aio.Server], None]
    servicer: object


class GrpcServer:
    def __init__(self, port: int, registrations: Sequence[Registration], host: str,
                 *, component: str, tls: TlsSettings,
                 tokens: TokenFile | None = None,
                 port_variable: str = "PIIGUARD_GRPC_PORT") -> None:
        """``tokens``: serve callers with bearer tokens (and no certificates) instead
        of callers with certificates."""
        tls.warn_if_plaintext(component)
        interceptors: list[grpc.aio.ServerInterceptor] = \
            [] if tls.plaintext else [AuthorizationInterceptor(Authenticator(tokens))]
        interceptors.append(StrictRequests())
        self.server = grpc.aio.server(interceptors=interceptors, options=SERVER_OPTIONS)
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.service_names = [r.service_name for r in registrations]
        for registration in registrations:
            registration.add_to_server(registration.servicer, self.server)
        address = f"{host}:{port}"
        try:
            if tls.plaintext:
                self.port = self.server.add_insecure_port(address)
            else:
                # A token-authenticated server (ingest's Ingest API port) asks for no
                # client certificate: its callers prove themselves with bearer tokens,
                # and no component identity can be claimed on it. Everywhere else TLS
                # itself refuses a client without a certificate of our CA.
                self.port = self.server.add_secure_port(
                    address, tls.server_credentials(require_client_auth=tokens is None))
        except RuntimeError:
            self.port = 0
        if not self.port:
            raise ConfigError(f"{port_variable}: cannot listen on {address} "
                              f"(in use by another process?)")
        self.host = host

    async def start(self) -> None:
        await self.server.start()
        await self.set_serving(True)

    async def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ["", *self.service_names]:
            await self.health.set(name, status)

    async def stop(self, grace: float = 5.0) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
