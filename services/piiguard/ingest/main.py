"""The ingest process: Slack Events over HTTP, and gRPC ``Ingest``.

Environment: SLACK_SIGNING_SECRET (required), NATS_URL, PIIGUARD_HTTP_PORT
(3000), PIIGUARD_GRPC_PORT (50051), PIIGUARD_POLICY, SLACK_BOT_TOKEN and
SLACK_API_URL (optional: to learn the bot's own ids with ``auth.test``), PIIGUARD_POLICY_SOURCE
(``file`` | ``kv``: policies from the operator's bucket; events of a workspace
with no policy are recorded and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from aiohttp import web

from piiguard import config, service
from piiguard.audit import AuditServicer
from piiguard.grpcserver import GrpcServer, Registration
from piiguard.ingest.handler import IngestHandler
from piiguard.ingest.http import create_app
from piiguard.ingest.servicer import IngestServicer
from piiguard.v1 import audit_pb2_grpc, ingest_pb2_grpc
from piiguard.workspaces import cluster_mode, credential_source, open_policy_store

log = logging.getLogger(__name__)

DEFAULT_HTTP_PORT = 3000
DEFAULT_GRPC_PORT = 50051


async def learn_own_bot_ids() -> frozenset[str]:
    """The bot's user and bot ids from ``auth.test``, when a bot token is configured.
    Best effort: the ``authorizations`` in each event cover us when this fails."""
    token = os.environ.get("SLACK_BOT_TOKEN", "").strip()
    if not token:
        return frozenset()
    from slack_sdk.web.async_client import AsyncWebClient

    try:
        client = AsyncWebClient(token=token, base_url=config.slack_api_url(), timeout=5)
        answer = await client.auth_test()
        return frozenset(str(answer[key]) for key in ("user_id", "bot_id") if answer.get(key))
    except Exception as exc:
        log.warning("auth.test failed (%s); relying on event authorizations", type(exc).__name__)
        return frozenset()


async def serve(stop: asyncio.Event, policy_path: str | None = None) -> None:
    http_port = config.port("PIIGUARD_HTTP_PORT", DEFAULT_HTTP_PORT)
    grpc_port = config.port("PIIGUARD_GRPC_PORT", DEFAULT_GRPC_PORT)
    policy = service.load_local_policy(policy_path)

    if not cluster_mode():
        config.required("SLACK_SIGNING_SECRET")
    nc = await service.connect_jetstream("ingest")
    store = await open_policy_store(nc.jetstream(), policy)
    credentials = credential_source(store)
    handler = IngestHandler(nc.jetstream(), store.policy_for)
    bot_ids: frozenset[str] = frozenset()

    async def refresh_bot_ids() -> None:
        nonlocal bot_ids
        bot_ids = await learn_own_bot_ids()

    grpc_server = GrpcServer(
        grpc_port,
        [Registration("piiguard.v1.Ingest", ingest_pb2_grpc.add_IngestServicer_to_server,
                      IngestServicer(handler)),
         Registration("piiguard.v1.Audit", audit_pb2_grpc.add_AuditServicer_to_server,
                      AuditServicer(nc.jetstream()))],
    )
    await grpc_server.start()
    app = create_app(handler, credentials, lambda: bot_ids, is_healthy=lambda: nc.is_connected)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host="0.0.0.0", port=http_port)
    await site.start()
    bot_task = asyncio.create_task(refresh_bot_ids())
    log.info("ingest listening: http=:%d/slack/events grpc=:%d", http_port, grpc_server.port)
    print(f"ingest: Slack events on http://0.0.0.0:{http_port}/slack/events, "
          f"gRPC on :{grpc_server.port}", flush=True)

    await stop.wait()
    bot_task.cancel()
    await runner.cleanup()  # stop taking HTTP requests first
    await grpc_server.stop()
    await service.close_store(store)
    await service.close_nats(nc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="piiguard ingest", description=__doc__)
    parser.add_argument("--policy", help="policy YAML file (default: built-in policy)")
    args = parser.parse_args(argv)
    return service.run("ingest", lambda stop: serve(stop, args.policy))
