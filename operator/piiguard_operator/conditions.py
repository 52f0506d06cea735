"""``status.conditions``: metav1.Condition entries keyed by ``type``.

A condition's ``lastTransitionTime`` moves only when its status flips, so
``kubectl wait --for=condition=Ready`` and alerting on age behave as with
built-in resources.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

READY = "Ready"
DEGRADED = "Degraded"
TOKENS_VALID = "TokensValid"  # the scheduled token check (auth.test by the action stage)


class Reason:
    """Every reason the operator writes, in one place (CamelCase, as Kubernetes wants)."""

    RECONCILED = "Reconciled"
    INVALID_POLICY = "InvalidPolicy"
    WORKSPACE_CONFLICT = "WorkspaceConflict"
    SECRET_MISSING = "SecretMissing"
    SECRET_KEY_MISSING = "SecretKeyMissing"
    SECRET_UNREADABLE = "SecretUnreadable"
    TOKEN_REVOKED = "TokenRevoked"
    SECRETS_UNAVAILABLE = "SecretsUnavailable"
    HEALTHY = "Healthy"
    TOKEN_CHECK_PASSED = "TokenCheckPassed"
    TOKEN_CHECK_FAILED = "TokenCheckFailed"


@dataclass(frozen=True)
class Condition:
    type: str
    status: bool
    reason: str
    message: str


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge_conditions(
    current: Sequence[Mapping[str, Any]] | None,
    updates: Iterable[Condition],
    *,
    generation: int | None,
    now: str | None = None,
) -> list[dict[str, Any]]:
    """The conditions list after applying ``updates``: other types are kept as they
    are, updated ones keep their transition time unless their status changed."""
    now = now or now_rfc3339()
    by_type: dict[str, dict[str, Any]] = {
        str(c["type"]): dict(c) for c in current or () if isinstance(c, Mapping) and "type" in c
    }
    for update in updates:
        status = "True" if update.status else "False"
        previous = by_type.get(update.type)
        unchanged = previous is not None and previous.get("status") == status
        entry: dict[str, Any] = {
            "type": update.type,
            "status": status,
            "reason": update.reason,
            "message": update.message,
            "lastTransitionTime": previous.get("lastTransitionTime", now) if unchanged and previous else now,
        }
        if generation is not None:
            entry["observedGeneration"] = generation
        by_type[update.type] = entry
    return [by_type[key] for key in sorted(by_type, key=_order)]


def find(conditions: Sequence[Mapping[str, Any]] | None, type_: str) -> Mapping[str, Any] | None:
    for condition in conditions or ():
        if condition.get("type") == type_:
            return condition
    return None


def _order(type_: str) -> tuple[int, str]:
    return ({READY: 0, DEGRADED: 1, TOKENS_VALID: 2}.get(type_, 3), type_)
