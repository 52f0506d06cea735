"""The operator's own settings, from its environment (the Helm chart sets them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from piiguard.policy import parse_duration

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


@dataclass(frozen=True)
class OperatorConfig:
    nats_url: str = DEFAULT_NATS_URL
    # Check bot/admin tokens against Slack (auth.test) so a revoked one shows as
    # Degraded. Off by default: it needs egress to slack.com.
    verify_tokens: bool = False
    # How long a token verdict is trusted before Slack is asked again.
    token_check_ttl: float = 600.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorConfig:
        env = os.environ if env is None else env
        return cls(
            nats_url=env.get("NATS_URL") or DEFAULT_NATS_URL,
            verify_tokens=env.get("PIIGUARD_VERIFY_TOKENS", "").lower() in {"1", "true", "yes"},
            token_check_ttl=parse_duration(env.get("PIIGUARD_TOKEN_CHECK_TTL") or "10m"),
        )


def refresh_interval(env: Mapping[str, str] | None = None) -> float:
    """Seconds between refreshes of each policy's live figures and health.

    Read once, when the handlers are registered: Kopf timers have a fixed interval."""
    env = os.environ if env is None else env
    return parse_duration(env.get("PIIGUARD_STATUS_INTERVAL") or "15s")
