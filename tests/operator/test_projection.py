"""Least privilege in a cluster: each stage receives, in its own Secret of the
release namespace, only the credentials its work needs; the workspaces' Secrets
(in the policies' namespace) are read by the operator alone."""

from __future__ import annotations

import base64
from typing import Any

from piiguard.settings import Settings
from piiguard.slack_credentials import EnvCredentials, KubernetesSecrets, ProjectedCredentials

from .conftest import (
    ADMIN_TOKEN,
    BOT_TOKEN,
    PROJECTED,
    RELEASE_NS,
    SECRETS,
    SIGNING_SECRET,
    Cluster,
    eventually,
    spec_for,
)


def projected(cluster: Cluster, stage: str) -> dict[str, str]:
    data = cluster.api.objects[SECRETS, RELEASE_NS, PROJECTED[stage]].get("data") or {}
    return {key: base64.b64decode(value).decode() for key, value in dict(data).items() if value}


async def test_each_stage_gets_only_what_its_work_needs(cluster: Cluster, team: str) -> None:
    cluster.add_secret()
    await cluster.create("least", spec_for(team))
    await eventually(lambda: _async(projected(cluster, "action")), 20, "projected credentials")

    assert projected(cluster, "ingest") == {f"{team}.signingSecret": SIGNING_SECRET}
    assert projected(cluster, "detection") == {f"{team}.botToken": BOT_TOKEN}
    assert projected(cluster, "action") == {f"{team}.botToken": BOT_TOKEN, f"{team}.adminToken": ADMIN_TOKEN}


async def test_the_app_token_for_socket_mode_reaches_ingest_only(cluster: Cluster, team: str) -> None:
    app_token = "xapp-1-A0001-projected-app-token"
    cluster.add_secret(data={"signing-secret": SIGNING_SECRET, "bot-token": BOT_TOKEN,
                             "admin-token": ADMIN_TOKEN, "app-token": app_token})
    spec = spec_for(team, slack={"mode": "socket"})
    spec["secrets"]["appToken"] = {"name": "slack-creds", "key": "app-token"}
    await cluster.create("socket", spec)
    await eventually(lambda: _async(projected(cluster, "ingest").get(f"{team}.appToken")), 20,
                     "projected app token")

    assert projected(cluster, "ingest") == {f"{team}.signingSecret": SIGNING_SECRET,
                                            f"{team}.appToken": app_token}
    assert all(app_token not in projected(cluster, stage).values() for stage in ("detection", "action"))
    store = Directory(_policy_for(team))
    ingest = ProjectedCredentials(store, RecordingSecrets(str(cluster.api.url).rstrip("/")), RELEASE_NS,
                                  PROJECTED["ingest"], EnvCredentials(Settings()))
    found = await ingest.for_workspace(team)
    assert found is not None and (found.app_token, found.bot_token) == (app_token, "")


async def test_a_stage_reads_its_credentials_from_its_own_secret_only(cluster: Cluster, team: str) -> None:
    cluster.add_secret()
    await cluster.create("reader", spec_for(team))
    await eventually(lambda: _async(projected(cluster, "detection")), 20, "projected credentials")
    store = Directory(_policy_for(team))
    secrets = RecordingSecrets(str(cluster.api.url).rstrip("/"))

    detection = ProjectedCredentials(store, secrets, RELEASE_NS, PROJECTED["detection"],
                                     EnvCredentials(Settings()))
    found = await detection.for_workspace(team)
    assert found is not None
    assert (found.signing_secret, found.bot_token, found.admin_token) == ("", BOT_TOKEN, "")
    ingest_secrets = RecordingSecrets(str(cluster.api.url).rstrip("/"))
    ingest = ProjectedCredentials(store, ingest_secrets, RELEASE_NS, PROJECTED["ingest"],
                                  EnvCredentials(Settings()))
    assert await ingest.signing_secrets() == {team: SIGNING_SECRET}
    # Each stage asked the API for its own projected Secret and nothing else.
    assert secrets.asked == {(RELEASE_NS, PROJECTED["detection"])}
    assert ingest_secrets.asked == {(RELEASE_NS, PROJECTED["ingest"])}


async def test_a_rotated_secret_reaches_the_stages_and_a_deleted_policy_is_withdrawn(
    cluster: Cluster, team: str
) -> None:
    cluster.add_secret()
    await cluster.create("rotate", spec_for(team))
    await eventually(lambda: _async(projected(cluster, "action")), 20, "projected credentials")
    cluster.add_secret(data={"signing-secret": SIGNING_SECRET, "bot-token": "xoxb-rotated-9999",
                             "admin-token": ADMIN_TOKEN})
    await eventually(lambda: _async(projected(cluster, "detection").get(f"{team}.botToken")
                                    == "xoxb-rotated-9999"), 40, "rotated bot token")
    await cluster.delete("rotate")
    await eventually(lambda: _async(all(not projected(cluster, s) for s in PROJECTED)), 20,
                     "credentials withdrawn")


async def _async(value: Any) -> Any:
    return value


def _policy_for(team: str) -> Any:
    from piiguard.policy import policy_from_mapping

    return policy_from_mapping(spec_for(team), source="spec")


class Directory:
    """The stage's view of the policies (as KvPolicyStore gives it)."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy

    def policy_for(self, workspace_id: str) -> Any:
        return self.policy if workspace_id == self.policy.workspace.team_id else None

    def namespace_of(self, workspace_id: str) -> str | None:
        return "slack"

    def workspaces(self) -> list[str]:
        return [self.policy.workspace.team_id]


class RecordingSecrets(KubernetesSecrets):
    """The services' Secret reader, noting which Secrets it asks the API for."""

    def __init__(self, api_url: str) -> None:
        super().__init__(api_url)
        self.asked: set[tuple[str, str]] = set()

    async def _secret(self, namespace: str, name: str) -> dict[str, str] | None:
        self.asked.add((namespace, name))
        return await super()._secret(namespace, name)


async def test_a_workspaces_notion_token_reaches_ingest_detection_and_action_and_is_used(
        cluster: Cluster, team: str) -> None:
    """notion.tokenSecretRef: the operator projects the token as <team>.notionToken
    into the three stages' Secrets; a stage's NotionClients, reading its own
    projected Secret, talks to Notion (the stand-in, real notion-client) with it."""
    from piiguard.action.notion import NotionEffects
    from piiguard.notion_api import CredentialTokens, NotionClients, call
    from piiguard.policy import policy_from_mapping

    from .conftest import NOTION_TOKEN

    assert cluster.notion is not None
    database, (source,) = cluster.notion.add_database()
    author = cluster.notion.add_user(email="ana@example.com")
    page = cluster.notion.add_page(source, {"Name": {"type": "title", "title": []}}, created_by=author)
    cluster.add_secret()
    cluster.add_secret("notion", {"token": NOTION_TOKEN})
    spec = spec_for(team, notion={"databases": [database],
                                  "tokenSecretRef": {"name": "notion", "key": "token"}})
    await cluster.create("notion", spec)
    await eventually(lambda: _async(all(f"{team}.notionToken" in projected(cluster, s)
                                        for s in ("ingest", "detection", "action"))), 20,
                     "projected Notion token")
    assert all(projected(cluster, s)[f"{team}.notionToken"] == NOTION_TOKEN
               for s in ("ingest", "detection", "action"))

    store = Directory(policy_from_mapping(spec, source="spec"))
    action = ProjectedCredentials(store, RecordingSecrets(str(cluster.api.url).rstrip("/")), RELEASE_NS,
                                  PROJECTED["action"], EnvCredentials(Settings()))
    clients = NotionClients(cluster.notion.base_url, "ntn_not_this_one", CredentialTokens(action))
    client = await clients.for_workspace(team)
    assert client is not None
    found = await call("databases.retrieve", client.databases.retrieve(database_id=database))
    assert found["id"] == database
    assert await NotionEffects(clients).trash(page, team) is True
    assert page in cluster.notion.trashed()
    assert {c.token for c in cluster.notion.calls()} == {NOTION_TOKEN}  # never the fallback
    await clients.close()
