"""What a policy's ``status`` says: whether it runs (Ready), whether its
credentials are in order (Degraded), and the live figures of its workspace."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from piiguard.jetstream import BUCKET_JOBS
from piiguard.policy import Policy
from piiguard.policy_store import policy_key
from piiguard_operator import figures
from piiguard_operator.conditions import (
    DEGRADED,
    READY,
    TOKENS_VALID,
    Condition,
    Reason,
    merge_conditions,
    now_rfc3339,
)
from piiguard_operator.notion import check_notion
from piiguard_operator.secrets import SecretReader, check_secrets


class Claim(NamedTuple):
    """A policy claiming a workspace; claims sort oldest first."""

    created: str
    namespace: str
    name: str


def claim_conflict(claims: Sequence[Claim], namespace: str, name: str) -> Claim | None:
    """The older policy that governs the workspace instead of this one, if any."""
    if not claims:
        return None
    owner = min(claims)
    return None if (owner.namespace, owner.name) == (namespace, name) else owner


@dataclass(frozen=True)
class Rejection:
    """Why a spec is not applied."""

    reason: str
    message: str

    @classmethod
    def invalid(cls, problem: str) -> Rejection:
        return cls(Reason.INVALID_POLICY, f"Policy rejected: {problem}")

    @classmethod
    def conflict(cls, workspace: str, owner: Claim) -> Rejection:
        return cls(
            Reason.WORKSPACE_CONFLICT,
            f"Workspace {workspace} is already governed by PiiPolicy {owner.namespace}/{owner.name}",
        )


@dataclass(frozen=True)
class StatusReport:
    """Builds status patches for one policy at one generation."""

    generation: int | None
    status: Mapping[str, Any]

    @property
    def conditions(self) -> Sequence[Mapping[str, Any]]:
        return list(self.status.get("conditions") or [])

    async def rejected(self, rejection: Rejection, *, memo: Any, namespace: str) -> dict[str, Any]:
        """Ready=False with the reason; the running configuration is left alone and
        its figures keep being reported."""
        applied = self.status.get("appliedGeneration")
        still = (f"; generation {applied} keeps running" if applied is not None
                 else "; nothing was applied")
        ready = Condition(READY, False, rejection.reason, rejection.message + still)
        patch: dict[str, Any] = {
            "observedGeneration": self.generation,
            "conditions": merge_conditions(self.conditions, [ready], generation=self.generation),
        }
        workspace = self.status.get("workspace")
        if workspace and memo.get("js") is not None:
            patch.update((await figures.collect(memo.js, workspace)).as_status())
            patch["refreshedAt"] = now_rfc3339()
        return patch

    async def applied(
        self, policy: Policy, *, memo: Any, namespace: str, reader: SecretReader
    ) -> dict[str, Any]:
        """The status of a running policy: Ready unless its credentials are in trouble."""
        workspace = policy_key(policy.workspace.team_id)
        problems = await check_secrets(policy.secrets, namespace, reader, memo.get("verifier"))
        tokens = await token_check(memo, workspace) if memo.get("js") is not None else None
        if tokens is not None and not tokens.status and not problems:
            degraded = Condition(DEGRADED, True, Reason.TOKEN_CHECK_FAILED, tokens.message)
            ready = Condition(READY, False, Reason.SECRETS_UNAVAILABLE,
                              f"Policy applied to workspace {workspace}, but Slack refuses its "
                              f"tokens: {tokens.message}")
        elif problems:
            messages = "; ".join(p.message for p in problems)
            degraded = Condition(DEGRADED, True, problems[0].reason, messages)
            ready = Condition(READY, False, Reason.SECRETS_UNAVAILABLE,
                              f"Policy applied to workspace {workspace}, but its credentials "
                              f"are unusable: {messages}")
        else:
            degraded = Condition(DEGRADED, False, Reason.HEALTHY, "Secrets present")
            ready = Condition(READY, True, Reason.RECONCILED,
                              f"Generation {self.generation} applied to workspace {workspace}")
        config = memo.get("config")
        notion = await check_notion(
            policy, namespace, reader, memo.get("notion_probe"),
            fallback_token=config.notion_token.get_secret_value().strip() if config is not None else "")
        return {
            "observedGeneration": self.generation,
            "appliedGeneration": self.generation,
            "appliedFingerprint": policy.fingerprint,
            "workspace": workspace,
            "conditions": merge_conditions(self.conditions,
                                           [ready, degraded, *([tokens] if tokens else []),
                                            *([notion.condition] if notion.condition else [])],
                                           generation=self.generation),
            **notion.as_status(),
            "refreshedAt": now_rfc3339(),
            **(await figures.collect(memo.js, workspace)).as_status(),
        }


async def token_check(memo: Any, workspace: str) -> Condition | None:
    """The last scheduled token check of ``workspace`` (``auth.test`` by the action
    stage, in ``piiguard-jobs``) as the ``TokensValid`` condition; None: none ran yet
    or its result cannot be read. Names the token and Slack's code, never a value."""
    import json
    import time

    from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NotFoundError

    try:
        kv = memo.get("jobs_kv")
        if kv is None:  # opened once: a refresh costs one read
            kv = memo["jobs_kv"] = await memo.js.key_value(BUCKET_JOBS)
        entry = await kv.get(f"{workspace}.tokens")
        result = json.loads(entry.value or b"{}")
        outcome = {str(k): str(v)[:64] for k, v in dict(result.get("tokens") or {}).items()}
        checked = float(result.get("at") or 0.0)
    except (BucketNotFoundError, KeyNotFoundError, NotFoundError, ValueError, TypeError, AttributeError):
        return None
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(checked))
    refused = {name: code for name, code in outcome.items() if code != "ok"}
    if not refused:
        return Condition(TOKENS_VALID, True, Reason.TOKEN_CHECK_PASSED,
                         f"auth.test accepted the {' and '.join(sorted(outcome))} tokens at {when}")
    return Condition(TOKENS_VALID, False, Reason.TOKEN_CHECK_FAILED,
                     "auth.test refused the " + ", ".join(f"{name} token ({code})"
                                                         for name, code in sorted(refused.items()))
                     + f" at {when}")
