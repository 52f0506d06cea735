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
import os
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import aiohttp

from piiguard.policy import Policy, SecretKeyRef

log = logging.getLogger(__name__)

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class SlackCredentials:
    signing_secret: str = field(repr=False)
    bot_token: str = field(repr=False)
    admin_token: str = field(repr=False)


class CredentialSource(Protocol):
    async def for_workspace(self, workspace_id: str) -> SlackCredentials | None:
        """The workspace's credentials, or None when it has none we can use."""
        ...

    async def signing_secrets(self) -> Mapping[str, str]:
        """Every known signing secret by workspace (``""``: valid for any workspace)."""
        ...


class EnvCredentials:
    """SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, SLACK_ADMIN_TOKEN — the same for every workspace."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = env if env is not None else os.environ
        self.credentials = SlackCredentials(
            signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
            bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
            admin_token=env.get("SLACK_ADMIN_TOKEN", "").strip(),
        )

    async def for_workspace(self, workspace_id: str) -> SlackCredentials | None:
        return self.credentials

    async def signing_secrets(self) -> Mapping[str, str]:
        secret = self.credentials.signing_secret
        return {"": secret} if secret else {}


class KubernetesSecrets:
    """Reads Secret values through the Kubernetes API, in-cluster by default.

    ``api_url`` and ``token`` override the in-cluster service account (tests point
    this at a mock API server)."""

    def __init__(self, api_url: str | None = None, token: str | None = None) -> None:
        host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
        self.api_url = (api_url or os.environ.get("PIIGUARD_KUBERNETES_API_URL")
                        or (f"https://{host}:{port}" if host and port else "")).rstrip("/")
        token_file = SERVICE_ACCOUNT / "token"
        self.token = token if token is not None else (
            token_file.read_text().strip() if token_file.exists() else "")
        ca = SERVICE_ACCOUNT / "ca.crt"
        self.ssl: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(ca)) if ca.exists() and self.api_url.startswith("https")
            else True
        )
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
        if not self.api_url:
            log.error("no Kubernetes API to read Secret %s/%s from", namespace, name)
            return None
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        url = f"{self.api_url}/api/v1/namespaces/{namespace}/secrets/{name}"
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
                session.get(url, headers=headers, ssl=self.ssl) as response,
            ):
                if response.status == 404:
                    log.warning("Secret %s/%s not found", namespace, name)
                    return None
                response.raise_for_status()
                body = await response.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("cannot read Secret %s/%s: %s", namespace, name, type(exc).__name__)
            return None
        data = dict(body.get("data") or {})
        async with self._lock:
            self._cache[key] = (time.monotonic(), data)
        return data


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
        if refs is None:
            return self.fallback.credentials
        namespace = self.store.namespace_of(workspace_id)
        if not namespace:
            return None
        values = [await self.secrets.value(namespace, ref)
                  for ref in (refs.signing_secret, refs.bot_token, refs.admin_token)]
        if not all(values):
            return None
        return SlackCredentials(*(str(v) for v in values))

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


class PolicyDirectory(Protocol):
    def policy_for(self, workspace_id: str) -> Policy | None: ...

    def namespace_of(self, workspace_id: str) -> str | None: ...

    def workspaces(self) -> list[str]: ...
