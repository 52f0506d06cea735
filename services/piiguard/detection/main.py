"""The detection process: the ``PIIGUARD_EVENTS`` consumer and gRPC ``Detection``.

Environment: NATS_URL, PIIGUARD_GRPC_PORT (50052), PIIGUARD_POLICY.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from piiguard import config, service
from piiguard.contracts import decode_event
from piiguard.detection.handler import DetectionHandler, EngineCache
from piiguard.detection.servicer import DetectionServicer
from piiguard.grpcserver import GrpcServer, Registration
from piiguard.jetstream import ALL_EVENTS
from piiguard.v1 import detection_pb2_grpc
from piiguard.workspaces import consume_until_stopped, credential_source, open_policy_store

log = logging.getLogger(__name__)

DEFAULT_GRPC_PORT = 50052
CONSUMER = "detection"


async def serve(stop: asyncio.Event, policy_path: str | None = None) -> None:
    grpc_port = config.port("PIIGUARD_GRPC_PORT", DEFAULT_GRPC_PORT)
    policy = service.load_local_policy(policy_path)
    engines = EngineCache()
    # Load the model before taking work: the first message must not pay for it.
    await asyncio.to_thread(engines.engine_for, policy)

    nc = await service.connect_jetstream("detection")
    js = nc.jetstream()
    store = await open_policy_store(js, policy)
    handler = DetectionHandler(js, store.policy_for, engines, credentials=credential_source(store))
    grpc_server = GrpcServer(
        grpc_port,
        [Registration("piiguard.v1.Detection", detection_pb2_grpc.add_DetectionServicer_to_server,
                      DetectionServicer(handler))],
    )
    await consume_until_stopped(
        stop, stage="detection", js=js, grpc_server=grpc_server, store=store, local_policy=policy,
        decode=decode_event, event_of=lambda event: event, handle=handler.handle,
        durable=CONSUMER, filter_subject=ALL_EVENTS,
    )
    await service.close_store(store)
    await service.close_nats(nc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="piiguard detection", description=__doc__)
    parser.add_argument("--policy", help="policy YAML file (default: built-in policy)")
    args = parser.parse_args(argv)
    return service.run("detection", lambda stop: serve(stop, args.policy))
