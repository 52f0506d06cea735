"""The detection stage: the ``PIIGUARD_EVENTS`` consumer and gRPC ``Detection``.

Environment: see the README's table (NATS_URL, PIIGUARD_GRPC_PORT (50052),
PIIGUARD_POLICY, SLACK_BOT_TOKEN for file downloads, NOTION_TOKEN to refresh the
expired URL of a Notion file, ...).
"""

from __future__ import annotations

import asyncio

from piiguard import stage
from piiguard.contracts import decode_event
from piiguard.detection.files.notion_files import NotionFiles
from piiguard.detection.files.scanner import FileScanner
from piiguard.detection.handler import DetectionHandler, EngineCache
from piiguard.detection.servicer import DetectionServicer
from piiguard.grpcserver import Registration
from piiguard.notion_api import CredentialTokens, NotionClients
from piiguard.policy import Policy
from piiguard.policy_store import KvPolicyStore
from piiguard.settings import Settings
from piiguard.v1 import detection_pb2_grpc

DEFAULT_GRPC_PORT = 50052


def definition() -> stage.StageDefinition:
    engines = EngineCache()

    async def prepare(policy: Policy) -> None:
        # Load the model before taking work: the first message must not pay for it.
        await asyncio.to_thread(engines.engine_for, policy)

    async def build(ctx: stage.StageContext) -> stage.StageParts:
        token = ctx.config.notion_token.get_secret_value().strip()
        # Notion: read-only use, to refresh a file's expired pre-signed URL (each
        # workspace's own token, projected by the operator, else NOTION_TOKEN).
        notion_clients = NotionClients(ctx.config.notion_api_url, token, CredentialTokens(ctx.credentials))
        files = FileScanner(ctx.config.slack_api_url, ctx.config.slack_bot_token.get_secret_value(),
                            notion=NotionFiles(notion_clients))

        async def close() -> None:
            await notion_clients.close()

        handler = DetectionHandler(ctx.js, ctx.store.policy_for, engines, files=files,
                                   credentials=ctx.credentials)
        if isinstance(ctx.store, KvPolicyStore):
            store = ctx.store

            def evict(_key: str, _policy: Policy | None) -> None:
                # Engines of policies no workspace uses any more are dropped.
                engines.retain([ctx.local_policy, *store.policies.values()])

            store.add_listener(evict)
        return stage.StageParts(
            registrations=[Registration("piiguard.v1.Detection",
                                        detection_pb2_grpc.add_DetectionServicer_to_server,
                                        DetectionServicer(handler))],
            consumes=stage.Consumes("detection", decode_event, lambda event: event, handler.handle),
            close=close,
        )

    return stage.StageDefinition("detection", DEFAULT_GRPC_PORT, build, prepare=prepare,
                                 description=__doc__ or "")


async def serve(stop: asyncio.Event, config: Settings | None = None, policy_path: str | None = None) -> None:
    await stage.serve(definition(), stop, config, policy_path)


def main(argv: list[str] | None = None) -> int:
    return stage.main(definition(), argv)
