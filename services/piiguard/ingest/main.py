"""The ingest stage: Slack Events over HTTP, and gRPC ``Ingest`` (plus ``Audit``).

Environment: see the README's table (SLACK_SIGNING_SECRET (required), NATS_URL,
PIIGUARD_HTTP_PORT (3000), PIIGUARD_GRPC_PORT (50051), PIIGUARD_POLICY,
SLACK_APP_TOKEN and PIIGUARD_SLACK_MODE (Socket Mode: ``socket_mode``),
SLACK_BOT_TOKEN and SLACK_API_URL (optional: to learn the bot's own ids with
``auth.test``), PIIGUARD_POLICY_SOURCE (``file`` | ``kv``: policies from the
operator's bucket; events of a workspace with no policy are recorded and dropped)).
"""

from __future__ import annotations

import asyncio
import logging

from piiguard import stage
from piiguard.audit import AuditServicer
from piiguard.errors import ConfigError
from piiguard.grpcserver import GrpcServer, Registration
from piiguard.ingest.handler import IngestHandler
from piiguard.ingest.http import create_app
from piiguard.ingest.jobs import SweepJob
from piiguard.ingest.later import LaterRelease
from piiguard.ingest.listener import HttpLimits, LimitedSite, make_runner
from piiguard.ingest.notion.poller import NotionPoller
from piiguard.ingest.notion.state import NotionState
from piiguard.ingest.notion.webhook import add_webhook
from piiguard.ingest.servicer import IngestServicer
from piiguard.ingest.socket_mode import SocketModeSource, check_settings
from piiguard.policy import Policy
from piiguard.policy_store import KvPolicyStore
from piiguard.security.tokens import TokenFile
from piiguard.settings import Settings
from piiguard.tasks import cancel_and_wait
from piiguard.v1 import audit_pb2_grpc, event_pb2, ingest_pb2, ingest_pb2_grpc

log = logging.getLogger(__name__)

DEFAULT_GRPC_PORT = 50051


async def learn_own_bot_ids(config: Settings) -> frozenset[str]:
    """The bot's user and bot ids from ``auth.test``, when a bot token is configured.
    Best effort: the ``authorizations`` in each event cover us when this fails."""
    token = config.slack_bot_token.get_secret_value().strip()
    if not token:
        return frozenset()
    from slack_sdk.web.async_client import AsyncWebClient

    try:
        client = AsyncWebClient(token=token, base_url=config.slack_api_url, timeout=5)
        answer = await client.auth_test()
        return frozenset(str(answer[key]) for key in ("user_id", "bot_id") if answer.get(key))
    except Exception as exc:
        log.warning("auth.test failed (%s); relying on event authorizations", type(exc).__name__)
        return frozenset()


def notion_poller(ctx: stage.StageContext, handler: IngestHandler) -> NotionPoller | None:
    """The Notion source, when NOTION_TOKEN is set or, in a cluster, a workspace may
    bring its own token (``notion.tokenSecretRef``, projected by the operator): it
    polls the databases the policies watch (none watched: it idles, and nothing
    changes for Slack)."""
    token = ctx.config.notion_token.get_secret_value().strip()
    per_workspace = ctx.config.cluster_mode and isinstance(ctx.store, KvPolicyStore)
    if not token and not per_workspace:
        if ctx.local_policy.notion.enabled:
            log.warning("the policy watches Notion databases but NOTION_TOKEN is not set: Notion is off")
        return None
    from piiguard.notion_api import CredentialTokens, NotionClients

    store = ctx.store

    def policies() -> list[Policy]:
        if isinstance(store, KvPolicyStore):
            return list(store.policies.values())
        return [ctx.local_policy]

    clients = NotionClients(ctx.config.notion_api_url, token, CredentialTokens(ctx.credentials))
    return NotionPoller(handler, NotionState(ctx.js), None, policies, clients=clients)


async def build(ctx: stage.StageContext) -> stage.StageParts:
    config, tls, host = ctx.config, ctx.tls, ctx.config.bind_host
    tokens = TokenFile.from_settings(config)
    handler = IngestHandler(ctx.js, ctx.store.policy_for, max_delay=ctx.config.events_max_age)
    bot_ids: frozenset[str] = frozenset()
    limits = HttpLimits.from_settings(config)
    def socket_only(workspace: str) -> bool:
        policy = ctx.store.policy_for(workspace)
        return policy is not None and (policy.slack.mode or config.slack_mode) == "socket"

    app = create_app(handler, ctx.credentials, lambda: bot_ids, is_healthy=lambda: ctx.nc.is_connected,
                     limits=limits, events_endpoint=config.slack_mode != "socket",
                     socket_only=socket_only)
    poller = notion_poller(ctx, handler)
    if poller is not None:
        add_webhook(app, poller, read_timeout=limits.read_timeout)  # POST /notion/webhook
    runner = make_runner(app, limits)  # header deadline, quiet protocol errors
    store = ctx.store

    def policies() -> dict[str, Policy]:
        if isinstance(store, KvPolicyStore):
            return dict(store.policies)
        return {ctx.local_policy.workspace.team_id or "": ctx.local_policy}  # a local run: one policy

    later = LaterRelease(ctx.js)  # events whose not_before is ahead, released on time
    sockets = SocketModeSource(handler, ctx.credentials, config, policies, lambda: bot_ids)
    tasks: list[asyncio.Task[None]] = []
    # External Ingest API callers with bearer tokens get a port of their own (TLS
    # without client certificates), serving nothing but Ingest.
    api_server: GrpcServer | None = None
    if tokens is not None:
        api_server = GrpcServer(
            config.ingest_api_port,
            [Registration("piiguard.v1.Ingest", ingest_pb2_grpc.add_IngestServicer_to_server,
                          IngestServicer(handler, require_caller=not tls.plaintext))],
            host, component="ingest", tls=tls, tokens=tokens, port_variable="PIIGUARD_INGEST_API_PORT",
        )

    async def refresh_bot_ids() -> None:
        nonlocal bot_ids
        bot_ids = await learn_own_bot_ids(config)

    async def start() -> None:
        if api_server is not None:
            await api_server.start()
        await runner.setup()
        site = LimitedSite(runner, host, config.http_port, limits)  # capped connections
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(f"PIIGUARD_HTTP_PORT: cannot listen on {host}:{config.http_port} "
                              f"({exc.strerror or type(exc).__name__})") from None
        tasks.append(asyncio.create_task(refresh_bot_ids()))
        log.info("ingest listening: http=%s:%d/slack/events", host, config.http_port)
        if poller is not None:
            poller.start()
        later.start()
        await sockets.start()  # Socket Mode, when the setting or a policy asks for it

    async def stop_taking_work() -> None:
        await sockets.stop()  # unacknowledged envelopes are delivered again by Slack
        await asyncio.gather(*(cancel_and_wait(task) for task in tasks))
        if poller is not None:
            await poller.stop()
        await later.stop()
        await runner.cleanup()  # stop taking HTTP requests first

    async def close() -> None:
        if api_server is not None:
            await api_server.stop()

    def ready_line(grpc_port: int) -> str:
        return (f"ingest: Slack events on http://{host}:{config.http_port}/slack/events, "
                f"gRPC on {host}:{grpc_port}"
                + (f", Ingest API (bearer tokens) on {host}:{api_server.port}" if api_server else "")
                + (", Notion polling" if poller is not None else "")
                + (f", Socket Mode ({sockets.connections} connection(s))" if sockets.connections else ""))

    async def submit_swept(event: event_pb2.Event) -> ingest_pb2.SubmitEventResponse:
        return await handler.submit(event, "", source="sweep")

    sweep = SweepJob(ctx.js, config, ctx.store.policy_for, ctx.credentials, submit_swept)

    return stage.StageParts(
        jobs=[stage.RunsJob("sweep", sweep.handle)],
        registrations=[
            Registration("piiguard.v1.Ingest", ingest_pb2_grpc.add_IngestServicer_to_server,
                         IngestServicer(handler, require_caller=not tls.plaintext)),
            Registration("piiguard.v1.Audit", audit_pb2_grpc.add_AuditServicer_to_server,
                         AuditServicer(ctx.js)),
        ],
        start=start,
        stop_taking_work=stop_taking_work,
        close=close,
        ready_line=ready_line,
    )


# SLACK_SIGNING_SECRET is required unless events come over Socket Mode only (check_settings).
DEFINITION = stage.StageDefinition("ingest", DEFAULT_GRPC_PORT, build,
                                   check=check_settings,
                                   description=__doc__ or "")


async def serve(stop: asyncio.Event, config: Settings | None = None, policy_path: str | None = None) -> None:
    await stage.serve(DEFINITION, stop, config, policy_path)


def main(argv: list[str] | None = None) -> int:
    return stage.main(DEFINITION, argv)
