"""Each workspace's Slack credentials: from the environment (local runs, or one
Slack app for every workspace), or from the Kubernetes Secrets its ``PiiPolicy``
references (a cluster).

Credentials never travel in stream messages or the policy bucket: the bucket
carries only *references* (Secret name and key, and the policy's namespace),
and a service reads the values itself, with its own service account, through
the Kubernetes API. Values are cached briefly so a rotated token is picked up
within a minute; they are never logged (``repr`` hides them).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from piiguard.errors import SecretUnreadable, TransientError
from piiguard.kube import SecretsApi
from piiguard.policy import Policy, SecretKeyRef
from piiguard.security.projected import KEY_NAMES, projected_key
from piiguard.settings import Settings

log = logging.getLogger(__name__)

CACHE_SECONDS = 60.0
SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")  # the pod's own namespace file


@dataclass(frozen=True)
class SlackCredentials:
    signing_secret: str = field(repr=False)
    bot_token: str = field(repr=False)
    admin_token: str = field(repr=False)
    app_token: str = field(default="", repr=False)  # Socket Mode (xapp-); optional
    # The workspace's Notion integration token (its policy's notion.tokenSecretRef,
    # else NOTION_TOKEN); "" when there is none.
    notion_token: str = field(default="", repr=False)


class CredentialSource(Protocol):
    async def for_workspace(self, workspace_id: str) -> SlackCredentials | None:
        """The workspace's credentials, or None when it has none we can use."""
        ...

    async def signing_secrets(self) -> Mapping[str, str]:
        """Every known signing secret by workspace (``""``: valid for any workspace)."""
        ...


class EnvCredentials:
    """SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, SLACK_ADMIN_TOKEN — the same for every workspace."""

    def __init__(self, config: Settings) -> None:
        self.credentials = SlackCredentials(
            signing_secret=config.slack_signing_secret.get_secret_value().strip(),
            bot_token=config.slack_bot_token.get_secret_value().strip(),
            admin_token=config.slack_admin_token.get_secret_value().strip(),
            app_token=config.slack_app_token.get_secret_value().strip(),
            notion_token=config.notion_token.get_secret_value().strip(),
        )

    async def for_workspace(self, workspace_id: str) -> SlackCredentials | None:
        return self.credentials

    async def signing_secrets(self) -> Mapping[str, str]:
        secret = self.credentials.signing_secret
        return {"": secret} if secret else {}


class KubernetesSecrets:
    """Secret values through the Kubernetes API (:class:`piiguard.kube.SecretsApi`:
    the pod's service account, its token re-read as it rotates), cached for
    ``CACHE_SECONDS`` so a rotated Slack token is picked up within a minute."""

    def __init__(self, api: SecretsApi | str) -> None:
        """``api``: the reader, or the URL of an API server to read from (tests)."""
        if isinstance(api, str):
            api = SecretsApi(Settings(kubernetes_api_url=api))
        self.api = api
        self._cache: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}
        self._lock = asyncio.Lock()

    async def value(self, namespace: str, ref: SecretKeyRef) -> str | None:
        data = await self._secret(namespace, ref.name)
        raw = data.get(ref.key) if data else None
        return base64.b64decode(raw).decode().strip() if raw else None

    async def _secret(self, namespace: str, name: str) -> dict[str, str] | None:
        key = (namespace, name)
        async with self._lock:
            cached = self._cache.get(key)
            if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
                return cached[1]
        try:
            data = await self.api.read(namespace, name)
        except (SecretUnreadable, TransientError) as exc:
            log.warning("cannot read Secret %s/%s: %s", namespace, name, exc)
            return None
        if data is None:
            log.warning("Secret %s/%s not found", namespace, name)
            return None
        values = dict(data)
        async with self._lock:
            self._cache[key] = (time.monotonic(), values)
        return values

    async def close(self) -> None:
        await self.api.close()


class PolicyCredentials:
    """The credentials a workspace's ``PiiPolicy`` references; the environment's
    for a policy that references none (one Slack app for all workspaces)."""

    def __init__(self, store: PolicyDirectory, secrets: KubernetesSecrets, fallback: EnvCredentials) -> None:
        self.store = store
        self.secrets = secrets
        self.fallback = fallback

    async def for_workspace(self, workspace_id: str) -> SlackCredentials | None:
        policy = self.store.policy_for(workspace_id)
        if policy is None:
            return None
        refs = policy.secrets
        notion_ref = policy.notion.token_secret_ref
        namespace = self.store.namespace_of(workspace_id)
        notion = (await self.secrets.value(namespace, notion_ref) or "") if notion_ref and namespace else ""
        if refs is None:
            return replace(self.fallback.credentials,
                           notion_token=notion or self.fallback.credentials.notion_token)
        if not namespace:
            return None
        values = [await self.secrets.value(namespace, ref)
                  for ref in (refs.signing_secret, refs.bot_token, refs.admin_token)]
        if not all(values):
            return None
        app_token = await self.secrets.value(namespace, refs.app_token) if refs.app_token else None
        signing, bot, admin = (str(v) for v in values)
        fallback_notion = "" if notion_ref else self.fallback.credentials.notion_token
        return SlackCredentials(signing, bot, admin, app_token=app_token or "",
                                notion_token=notion or fallback_notion)

    async def signing_secrets(self) -> Mapping[str, str]:
        """Each workspace whose policy references its own Secrets, by its own signing
        secret; ``""``: the environment's, for every other workspace (an event of a
        workspace with no policy is then recorded and dropped by ingest)."""
        secrets: dict[str, str] = {}
        for workspace in self.store.workspaces():
            policy = self.store.policy_for(workspace)
            if policy is None or policy.secrets is None:
                continue
            credentials = await self.for_workspace(workspace)
            if credentials and credentials.signing_secret:
                secrets[workspace] = credentials.signing_secret
        if self.fallback.credentials.signing_secret:
            secrets[""] = self.fallback.credentials.signing_secret
        return secrets


def own_namespace(config: Settings) -> str:
    """The pod's namespace: POD_NAMESPACE, else the service account's."""
    if config.pod_namespace.strip():
        return config.pod_namespace.strip()
    try:
        return (SERVICE_ACCOUNT / "namespace").read_text(encoding="utf-8").strip()
    except OSError:
        return ""


class ProjectedCredentials:
    """A stage's credentials from its own projected Secret only.

    The operator copies from each workspace's Secrets (in the PiiPolicy's namespace,
    any namespace with ``operator.watch.allNamespaces``) just the keys this stage
    needs into ``PIIGUARD_CREDENTIALS_SECRET`` in the release namespace; the stage's
    service account may read that one Secret (RBAC ``resourceNames``) and nothing
    else. A policy that references no Secrets uses the environment's credentials."""

    def __init__(self, store: PolicyDirectory, secrets: KubernetesSecrets, namespace: str, name: str,
                 fallback: EnvCredentials) -> None:
        self.store = store
        self.secrets = secrets
        self.namespace = namespace
        self.name = name
        self.fallback = fallback

    async def _values(self, workspace_id: str) -> dict[str, str]:
        data = await self.secrets._secret(self.namespace, self.name) or {}
        values: dict[str, str] = {}
        for role in KEY_NAMES:
            raw = data.get(projected_key(workspace_id, role))
            if raw:
                try:
                    values[role] = base64.b64decode(raw).decode()
                except (ValueError, UnicodeDecodeError):
                    log.warning("projected Secret %s: key %s is not base64 text", self.name,
                                projected_key(workspace_id, role))
        return values

    async def for_workspace(self, workspace_id: str) -> SlackCredentials | None:
        policy = self.store.policy_for(workspace_id)
        if policy is None:
            return None
        own_notion = policy.notion.token_secret_ref is not None
        if policy.secrets is None:
            if not own_notion:
                return self.fallback.credentials
            notion = (await self._values(workspace_id)).get("notion_token", "")
            return replace(self.fallback.credentials, notion_token=notion)
        values = await self._values(workspace_id)
        if not values:
            return None  # not projected (yet): the stage retries, as for an unreadable Secret
        return SlackCredentials(signing_secret=values.get("signing_secret", ""),
                                bot_token=values.get("bot_token", ""),
                                admin_token=values.get("admin_token", ""),
                                app_token=values.get("app_token", ""),
                                notion_token=values.get("notion_token", "") if own_notion
                                else self.fallback.credentials.notion_token)

    async def signing_secrets(self) -> Mapping[str, str]:
        secrets: dict[str, str] = {}
        for workspace in self.store.workspaces():
            policy = self.store.policy_for(workspace)
            if policy is None or policy.secrets is None:
                continue
            signing = (await self._values(workspace)).get("signing_secret")
            if signing:
                secrets[workspace] = signing
        if self.fallback.credentials.signing_secret:
            secrets[""] = self.fallback.credentials.signing_secret
        return secrets


class PolicyDirectory(Protocol):
    def policy_for(self, workspace_id: str) -> Policy | None: ...

    def namespace_of(self, workspace_id: str) -> str | None: ...

    def workspaces(self) -> list[str]: ...
