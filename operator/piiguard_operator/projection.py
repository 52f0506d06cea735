"""Least privilege for Slack credentials in a cluster: the operator projects, for
each stage, only what that stage needs of each workspace's credentials into the
stage's own Secret in the release namespace.

A PiiPolicy references its workspace's Secrets in its own namespace (any
namespace, with ``operator.watch.allNamespaces``). Only the operator reads them.
It copies ``signingSecret`` (and ``appToken``, for Socket Mode) into ingest's Secret,
``botToken`` into detection's,
``botToken`` and ``adminToken`` into action's, and the Notion integration's token
(``notion.tokenSecretRef``) into all three as ``notionToken`` — keys ``<team id>.<field>`` —
and each stage's service account may ``get`` its own Secret only (the chart's
RBAC ``resourceNames``). A rotated workspace Secret reaches the stages on the
next status refresh; a deleted policy's keys are withdrawn. Values are never
logged: problems name the Secret and key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from piiguard.errors import ConfigError, SecretUnreadable
from piiguard.policy import Policy
from piiguard.security.projected import STAGE_FIELDS, projected_key
from piiguard.settings import Settings
from piiguard_operator.secrets import SecretReader

log = logging.getLogger(__name__)


class SecretWriter(Protocol):
    """:class:`piiguard.kube.SecretsApi` in the operator."""

    async def patch_data(self, namespace: str, name: str, data: Mapping[str, str | None]) -> None:
        """Merge ``data`` (base64 values; ``None`` removes a key) into the Secret's data."""
        ...


@dataclass(frozen=True)
class Targets:
    """Where the stages' projected Secrets live.

    namespace: the release namespace (``PIIGUARD_CREDENTIALS_NAMESPACE``).
    secrets: each stage's Secret name (``PIIGUARD_CREDENTIALS_SECRETS``).
    """

    namespace: str
    secrets: Mapping[str, str]

    @classmethod
    def from_settings(cls, config: Settings) -> Targets | None:
        if not config.credentials_secrets:
            return None
        secrets: dict[str, str] = {}
        for item in config.credentials_secrets.split(","):
            stage, _, name = item.strip().partition("=")
            if stage not in STAGE_FIELDS or not name.strip():
                raise ConfigError("PIIGUARD_CREDENTIALS_SECRETS: expected "
                                  "ingest=<name>,detection=<name>,action=<name>")
            secrets[stage] = name.strip()
        namespace = (config.credentials_namespace or config.pod_namespace or "").strip()
        if not namespace:
            raise ConfigError("PIIGUARD_CREDENTIALS_NAMESPACE is not set (the release namespace)")
        return cls(namespace, secrets)


async def project(policy: Policy, namespace: str, reader: SecretReader, writer: SecretWriter,
                  targets: Targets) -> list[str]:
    """Copy the policy's credentials into each stage's Secret (only what differs).
    Returns what could not be projected (Secret/key names, never values)."""
    refs = policy.secrets
    notion_ref = policy.notion.token_secret_ref if policy.notion.enabled else None
    if refs is None and notion_ref is None:
        return []
    workspace = policy.workspace.team_id
    problems: list[str] = []
    sources: dict[str, Mapping[str, str] | None] = {}
    values: dict[str, str] = {}
    for field in ("signing_secret", "bot_token", "admin_token", "app_token", "notion_token"):
        ref = notion_ref if field == "notion_token" else getattr(refs, field) if refs is not None else None
        if ref is None:  # optional (the app token: Socket Mode only; the Notion token)
            continue
        if ref.name not in sources:
            try:
                sources[ref.name] = await reader.read(namespace, ref.name)
            except SecretUnreadable:
                sources[ref.name] = None
        value = (sources[ref.name] or {}).get(ref.key)
        if value:
            values[field] = value
        else:
            problems.append(f"Secret {namespace}/{ref.name} key {ref.key}")
    for stage, fields in STAGE_FIELDS.items():
        name = targets.secrets.get(stage)
        if not name:
            continue
        wanted = {projected_key(workspace, f): values[f] for f in fields if f in values}
        try:
            current = await reader.read(targets.namespace, name) or {}
        except SecretUnreadable:
            current = {}
        changed = {k: v for k, v in wanted.items() if current.get(k) != v}
        if changed:
            await writer.patch_data(targets.namespace, name, changed)
            log.info("projected %d credential(s) of workspace %s for %s", len(changed),
                     projected_key(workspace, "bot_token").split(".")[0], stage)
    return problems


async def withdraw(workspace: str, writer: SecretWriter, targets: Targets) -> None:
    """Remove a workspace's keys from every stage's Secret."""
    for stage, fields in STAGE_FIELDS.items():
        name = targets.secrets.get(stage)
        if name:
            await writer.patch_data(targets.namespace, name,
                                    {projected_key(workspace, f): None for f in fields})
