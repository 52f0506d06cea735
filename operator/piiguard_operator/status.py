"""What a policy's ``status`` says: whether it runs (Ready), whether its
credentials are in order (Degraded), and the live figures of its workspace."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from piiguard.policy import Policy
from piiguard.policy_store import policy_key
from piiguard_operator import figures
from piiguard_operator.conditions import (
    DEGRADED,
    READY,
    Condition,
    Reason,
    merge_conditions,
    now_rfc3339,
)
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
        if problems:
            messages = "; ".join(p.message for p in problems)
            degraded = Condition(DEGRADED, True, problems[0].reason, messages)
            ready = Condition(READY, False, Reason.SECRETS_UNAVAILABLE,
                              f"Policy applied to workspace {workspace}, but its credentials "
                              f"are unusable: {messages}")
        else:
            degraded = Condition(DEGRADED, False, Reason.HEALTHY, "Secrets present")
            ready = Condition(READY, True, Reason.RECONCILED,
                              f"Generation {self.generation} applied to workspace {workspace}")
        return {
            "observedGeneration": self.generation,
            "appliedGeneration": self.generation,
            "appliedFingerprint": policy.fingerprint,
            "workspace": workspace,
            "conditions": merge_conditions(self.conditions, [ready, degraded],
                                           generation=self.generation),
            "refreshedAt": now_rfc3339(),
            **(await figures.collect(memo.js, workspace)).as_status(),
        }
