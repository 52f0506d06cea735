"""The action stage: the ``PIIGUARD_VERDICTS`` consumer and gRPC ``Action``.

Environment: see the README's table (SLACK_ADMIN_TOKEN and SLACK_BOT_TOKEN
(required), SLACK_API_URL, NATS_URL, PIIGUARD_GRPC_PORT (50053), PIIGUARD_POLICY).
"""

from __future__ import annotations

import asyncio
import logging

from piiguard import stage
from piiguard.action.handler import ActionHandler
from piiguard.action.jobs import Digest, TokenCheck
from piiguard.action.notion import NotionEffects
from piiguard.action.servicer import ActionServicer
from piiguard.action.slack import SlackGateways
from piiguard.contracts import decode_action_request
from piiguard.grpcserver import Registration
from piiguard.notion_api import CredentialTokens, NotionClients
from piiguard.settings import Settings
from piiguard.v1 import action_pb2_grpc

log = logging.getLogger(__name__)

DEFAULT_GRPC_PORT = 50053


async def build(ctx: stage.StageContext) -> stage.StageParts:
    def on_auth_failure(token_name: str, error: str) -> None:
        log.critical("SLACK AUTH FAILURE: %s was refused by Slack (%s). Deletions and DMs "
                     "are failing and being dead-lettered until the token is replaced.",
                     token_name, error)
        ctx.set_serving(False)

    slack = SlackGateways(ctx.credentials, base_url=ctx.config.slack_api_url,
                          on_auth_failure=on_auth_failure)
    token = ctx.config.notion_token.get_secret_value().strip()
    # Each workspace's own Notion token (projected by the operator), else NOTION_TOKEN.
    notion = NotionEffects(NotionClients(ctx.config.notion_api_url, token, CredentialTokens(ctx.credentials)))
    handler = ActionHandler(ctx.js, slack, ctx.store.policy_for, notion)
    digest = Digest(ctx.js, ctx.store.policy_for, slack)
    token_check = TokenCheck(ctx.js, ctx.credentials, ctx.config.slack_api_url)

    async def close() -> None:
        await slack.close()
        await notion.close()

    return stage.StageParts(
        registrations=[Registration("piiguard.v1.Action", action_pb2_grpc.add_ActionServicer_to_server,
                                    ActionServicer(handler))],
        consumes=stage.Consumes("action", decode_action_request, lambda request: request.event,
                                handler.handle),
        jobs=[stage.RunsJob("digest", digest.handle), stage.RunsJob("tokencheck", token_check.handle)],
        close=close,
    )


DEFINITION = stage.StageDefinition("action", DEFAULT_GRPC_PORT, build,
                                   required_secrets=("SLACK_ADMIN_TOKEN", "SLACK_BOT_TOKEN"),
                                   description=__doc__ or "")


async def serve(stop: asyncio.Event, config: Settings | None = None, policy_path: str | None = None) -> None:
    await stage.serve(DEFINITION, stop, config, policy_path)


def main(argv: list[str] | None = None) -> int:
    return stage.main(DEFINITION, argv)
