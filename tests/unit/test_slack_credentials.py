"""Slack credentials per workspace: from the settings, or from the Kubernetes Secrets a
policy references (read with kubernetes_asyncio from a stand-in API server)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from aiohttp import web

from piiguard import settings
from piiguard.errors import SecretUnreadable
from piiguard.kube import SecretsApi
from piiguard.policy import DEFAULT_POLICY, Policy, SecretKeyRef, SecretRefs, WorkspaceRef
from piiguard.slack_credentials import EnvCredentials, KubernetesSecrets, PolicyCredentials

BOT = "xoxb-1111-secret"
ADMIN = "xoxp-2222-secret"
SIGNING = "0123456789abcdef"


@dataclass
class ApiServer:
    """The Secrets part of a Kubernetes API server, recording every request."""

    secrets: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    forbidden: set[tuple[str, str]] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)
    url: str = ""

    async def secret(self, request: web.Request) -> web.Response:
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        self.requests.append(f"{namespace}/{name}")
        if (namespace, name) in self.forbidden:
            return web.json_response({"kind": "Status", "code": 403, "reason": "Forbidden"}, status=403)
        data = self.secrets.get((namespace, name))
        if data is None:
            return web.json_response({"kind": "Status", "code": 404, "reason": "NotFound"}, status=404)
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        return web.json_response({"apiVersion": "v1", "kind": "Secret",
                                  "metadata": {"name": name, "namespace": namespace}, "data": encoded})


@pytest_asyncio.fixture
async def api() -> AsyncIterator[ApiServer]:
    server = ApiServer()
    app = web.Application()
    app.router.add_get("/api/v1/namespaces/{namespace}/secrets/{name}", server.secret)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


def secrets_api(api: ApiServer) -> SecretsApi:
    return SecretsApi(settings.load({"PIIGUARD_KUBERNETES_API_URL": api.url}))


@dataclass
class Directory:
    policies: dict[str, Policy]
    namespaces: dict[str, str]

    def policy_for(self, workspace_id: str) -> Policy | None:
        return self.policies.get(workspace_id)

    def namespace_of(self, workspace_id: str) -> str | None:
        return self.namespaces.get(workspace_id)

    def workspaces(self) -> list[str]:
        return list(self.policies)


def with_secrets(team: str) -> Policy:
    ref = SecretKeyRef
    return DEFAULT_POLICY.model_copy(update={
        "workspace": WorkspaceRef(team_id=team),
        "secrets": SecretRefs(signing_secret=ref(name="slack", key="signing"),
                              bot_token=ref(name="slack", key="bot"),
                              admin_token=ref(name="admin", key="token")),
    })


def test_the_environment_credentials_come_from_the_settings() -> None:
    config = settings.load({"SLACK_BOT_TOKEN": f" {BOT} ", "SLACK_ADMIN_TOKEN": ADMIN,
                            "SLACK_SIGNING_SECRET": SIGNING})
    credentials = EnvCredentials(config).credentials
    assert credentials.bot_token == BOT and credentials.admin_token == ADMIN
    assert credentials.signing_secret == SIGNING
    assert BOT not in repr(credentials) and ADMIN not in repr(credentials)


async def test_env_credentials_serve_every_workspace() -> None:
    env = EnvCredentials(settings.load({"SLACK_SIGNING_SECRET": SIGNING}))
    assert await env.signing_secrets() == {"": SIGNING}
    assert (await env.for_workspace("TANY")) == env.credentials
    assert await EnvCredentials(settings.load({})).signing_secrets() == {}


async def test_secrets_are_read_through_the_api_and_cached(api: ApiServer) -> None:
    api.secrets[("slack", "slack")] = {"bot": BOT, "signing": SIGNING}
    reader = KubernetesSecrets(secrets_api(api))
    try:
        assert await reader.value("slack", SecretKeyRef(name="slack", key="bot")) == BOT
        assert await reader.value("slack", SecretKeyRef(name="slack", key="signing")) == SIGNING
        assert await reader.value("slack", SecretKeyRef(name="slack", key="nope")) is None
        assert api.requests == ["slack/slack"], "one read per Secret within the cache time"
        assert await reader.value("slack", SecretKeyRef(name="missing", key="bot")) is None
    finally:
        await reader.close()


async def test_a_forbidden_secret_is_not_the_same_as_a_missing_one(api: ApiServer) -> None:
    api.forbidden.add(("other", "slack"))
    client = secrets_api(api)
    try:
        with pytest.raises(SecretUnreadable, match="other/slack"):
            await client.read("other", "slack")
        assert await client.read("other", "absent") is None
    finally:
        await client.close()


async def test_each_workspace_gets_the_secrets_its_policy_names(api: ApiServer) -> None:
    api.secrets[("team-a", "slack")] = {"bot": BOT, "signing": SIGNING}
    api.secrets[("team-a", "admin")] = {"token": ADMIN}
    fallback = EnvCredentials(settings.load({"SLACK_BOT_TOKEN": "xoxb-env", "SLACK_ADMIN_TOKEN": "xoxp-env",
                                             "SLACK_SIGNING_SECRET": "env-secret"}))
    store = Directory({"TA": with_secrets("TA"), "TENV": DEFAULT_POLICY, "TLOST": with_secrets("TLOST")},
                      {"TA": "team-a", "TLOST": ""})
    credentials = PolicyCredentials(store, KubernetesSecrets(secrets_api(api)), fallback)
    try:
        own = await credentials.for_workspace("TA")
        assert own is not None and (own.bot_token, own.admin_token) == (BOT, ADMIN)
        assert own.signing_secret == SIGNING
        assert await credentials.for_workspace("TENV") == fallback.credentials
        assert await credentials.for_workspace("TLOST") is None, "no namespace: nothing to read"
        assert await credentials.for_workspace("TNONE") is None, "no policy: not ours"
        assert await credentials.signing_secrets() == {"TA": SIGNING, "": "env-secret"}
    finally:
        await credentials.secrets.close()


async def test_an_unreachable_api_is_no_credentials_not_a_crash() -> None:
    reader = KubernetesSecrets(SecretsApi(settings.load({"PIIGUARD_KUBERNETES_API_URL": "http://127.0.0.1:9"})))
    try:
        assert await reader.value("ns", SecretKeyRef(name="s", key="k")) is None
    finally:
        await reader.close()
