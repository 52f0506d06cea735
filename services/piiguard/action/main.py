"""The action process: the ``PIIGUARD_VERDICTS`` consumer and gRPC ``Action``.

Environment: SLACK_ADMIN_TOKEN and SLACK_BOT_TOKEN (required), SLACK_API_URL,
NATS_URL, PIIGUARD_GRPC_PORT (50053), PIIGUARD_POLICY.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from piiguard import config, service
from piiguard.action.handler import ActionHandler
from piiguard.action.servicer import ActionServicer
from piiguard.action.slack import SlackGateways
from piiguard.contracts import decode_action_request
from piiguard.grpcserver import GrpcServer, Registration
from piiguard.jetstream import ALL_VERDICTS
from piiguard.v1 import action_pb2_grpc
from piiguard.workspaces import cluster_mode, consume_until_stopped, credential_source, open_policy_store

log = logging.getLogger(__name__)

DEFAULT_GRPC_PORT = 50053
CONSUMER = "action"


async def serve(stop: asyncio.Event, policy_path: str | None = None) -> None:
    if not cluster_mode():
        config.required("SLACK_ADMIN_TOKEN")
        config.required("SLACK_BOT_TOKEN")
    grpc_port = config.port("PIIGUARD_GRPC_PORT", DEFAULT_GRPC_PORT)
    policy = service.load_local_policy(policy_path)

    nc = await service.connect_jetstream("action")
    js = nc.jetstream()
    grpc_server: GrpcServer | None = None

    def on_auth_failure(token_name: str, error: str) -> None:
        log.critical("SLACK AUTH FAILURE: %s was refused by Slack (%s). Deletions and DMs "
                     "are failing and being dead-lettered until the token is replaced.",
                     token_name, error)
        if grpc_server is not None:
            asyncio.get_running_loop().create_task(grpc_server.set_serving(False))

    store = await open_policy_store(js, policy)
    slack = SlackGateways(credential_source(store), base_url=config.slack_api_url(),
                          on_auth_failure=on_auth_failure)
    handler = ActionHandler(js, slack, store.policy_for)
    grpc_server = GrpcServer(
        grpc_port,
        [Registration("piiguard.v1.Action", action_pb2_grpc.add_ActionServicer_to_server,
                      ActionServicer(handler))],
    )
    await consume_until_stopped(
        stop, stage="action", js=js, grpc_server=grpc_server, store=store, local_policy=policy,
        decode=decode_action_request, event_of=lambda request: request.event, handle=handler.handle,
        durable=CONSUMER, filter_subject=ALL_VERDICTS,
    )
    await slack.close()
    await service.close_store(store)
    await service.close_nats(nc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="piiguard action", description=__doc__)
    parser.add_argument("--policy", help="policy YAML file (default: built-in policy)")
    args = parser.parse_args(argv)
    return service.run("action", lambda stop: serve(stop, args.policy))
