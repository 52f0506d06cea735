"""The gRPC server every stage runs: its own service plus standard health checking.

Health is reported per service name (``piiguard.v1.Detection`` …) and for the
empty name (the whole server), as grpcio-health-checking defines it; a stage
marks itself NOT_SERVING when it cannot do its work (e.g. a revoked token).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc


@dataclass(frozen=True)
class Registration:
    service_name: str  # full proto name, e.g. "piiguard.v1.Detection"
    add_to_server: Callable[[Any, grpc.aio.Server], None]
    servicer: object


class GrpcServer:
    def __init__(self, port: int, registrations: Sequence[Registration], host: str = "0.0.0.0") -> None:
        self.server = grpc.aio.server()
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.service_names = [r.service_name for r in registrations]
        for registration in registrations:
            registration.add_to_server(registration.servicer, self.server)
        self.port = self.server.add_insecure_port(f"{host}:{port}")

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
