"""Whether a workspace's Slack credentials are there and still accepted.

The operator only ever *checks* credentials: it reads a Secret to see that the
referenced key exists and, when token checks are on, asks Slack whether the
token still works. Values are never logged, returned, or written to status or
events; a problem says which Secret and key, never what is in it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from piiguard.errors import SecretUnreadable
from piiguard.policy import SecretKeyRef, SecretRefs
from piiguard.slack_errors import AUTH_ERRORS
from piiguard_operator.conditions import Reason

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SecretProblem:
    reason: str
    message: str




class SecretReader(Protocol):
    """:class:`piiguard.kube.SecretsApi` in the operator (the same reader as the services')."""

    async def read(self, namespace: str, name: str) -> Mapping[str, str] | None:
        """The Secret's ``data`` (base64 values), or None if there is no such Secret;
        raises SecretUnreadable when RBAC refuses it."""
        ...


class TokenVerifier(Protocol):
    async def rejection(self, token: str) -> str | None:
        """Slack's error code if it rejects the token (e.g. ``token_revoked``), else None
        (also when Slack cannot be reached: unknown is not revoked)."""
        ...




class SlackTokenVerifier:
    """``auth.test`` with a cache, so a timer every few seconds does not hammer Slack.
    Tokens are cached by hash only."""

    def __init__(self, ttl: float = 600.0) -> None:
        self.ttl = ttl
        self._verdicts: dict[str, tuple[float, str | None]] = {}

    async def rejection(self, token: str) -> str | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        cached = self._verdicts.get(digest)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        verdict = await self._ask_slack(token)
        self._verdicts[digest] = (time.monotonic() + self.ttl, verdict)
        return verdict

    @staticmethod
    async def _ask_slack(token: str) -> str | None:
        from slack_sdk.errors import SlackApiError
        from slack_sdk.web.async_client import AsyncWebClient

        try:
            await AsyncWebClient(token=token, timeout=10).auth_test()
        except SlackApiError as exc:
            code = str(exc.response.get("error", ""))
            return code if code in AUTH_ERRORS else None
        except Exception as exc:  # network trouble: unknown, not revoked
            log.warning("could not check a token with Slack: %s", type(exc).__name__)
        return None


_ROLES: tuple[tuple[str, str, bool], ...] = (
    # (field, what people call it, is a token Slack can check)
    ("signing_secret", "signing secret", False),
    ("bot_token", "bot token", True),
    ("admin_token", "admin token", True),
)


async def check_secrets(
    refs: SecretRefs | None,
    namespace: str,
    reader: SecretReader,
    verifier: TokenVerifier | None = None,
) -> list[SecretProblem]:
    """Everything wrong with a policy's credentials; empty when all is well."""
    if refs is None:
        return [SecretProblem(Reason.SECRET_MISSING, "spec.secrets names no Secrets")]
    problems: list[SecretProblem] = []
    contents: dict[str, Mapping[str, str] | SecretUnreadable | None] = {}
    for field, role, is_token in _ROLES:
        ref: SecretKeyRef = getattr(refs, field)
        where = f"Secret {namespace}/{ref.name}"
        if ref.name not in contents:
            try:
                contents[ref.name] = await reader.read(namespace, ref.name)
            except SecretUnreadable as exc:
                contents[ref.name] = exc
        data = contents[ref.name]
        if isinstance(data, SecretUnreadable):
            problems.append(SecretProblem(
                Reason.SECRET_UNREADABLE, f"{where} ({role}) cannot be read by the operator (RBAC)"))
        elif data is None:
            problems.append(SecretProblem(Reason.SECRET_MISSING, f"{where} ({role}) not found"))
        elif ref.key not in data:
            problems.append(SecretProblem(
                Reason.SECRET_KEY_MISSING, f"{where} has no key {ref.key!r} ({role})"))
        elif is_token and verifier is not None:
            token = _decode(data[ref.key])
            code = await verifier.rejection(token) if token else "empty"
            if code:
                problems.append(SecretProblem(
                    Reason.TOKEN_REVOKED,
                    f"Slack rejects the {role} in {where} key {ref.key!r}: {code}"))
    return problems


def _decode(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8").strip()
    except (binascii.Error, UnicodeDecodeError):
        return ""
