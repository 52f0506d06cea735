"""Small pieces of the operator: conditions, Secret checks, command line."""

from __future__ import annotations

import base64
from collections.abc import Mapping

import pytest

from piiguard.errors import SecretUnreadable
from piiguard.policy import SecretKeyRef, SecretRefs
from piiguard_operator import admission, main
from piiguard_operator.conditions import Condition, merge_conditions
from piiguard_operator.secrets import check_secrets
from piiguard_operator.status import Claim, claim_conflict

TOKEN = "xoxb-very-secret"


def test_a_condition_keeps_its_transition_time_until_its_status_flips() -> None:
    ok, bad = Condition("Ready", True, "Reconciled", "ok"), Condition("Ready", False, "InvalidPolicy", "no")
    first = merge_conditions([], [ok], generation=1, now="T1")
    same = merge_conditions(first, [ok], generation=2, now="T2")
    flipped = merge_conditions(same, [bad], generation=3, now="T3")
    assert same[0]["lastTransitionTime"] == "T1" and same[0]["observedGeneration"] == 2
    assert flipped[0]["lastTransitionTime"] == "T3" and flipped[0]["status"] == "False"
    both = merge_conditions(flipped, [Condition("Degraded", False, "Healthy", "")], generation=3, now="T4")
    assert [c["type"] for c in both] == ["Ready", "Degraded"]


class Secrets:
    def __init__(self, secrets: Mapping[str, Mapping[str, str] | None], forbidden: set[str] = frozenset()):  # type: ignore[assignment]
        self.secrets = secrets
        self.forbidden = forbidden

    async def read(self, namespace: str, name: str) -> Mapping[str, str] | None:
        if name in self.forbidden:
            raise SecretUnreadable(name)
        data = self.secrets.get(name)
        return None if data is None else {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}


class Revoked:
    async def rejection(self, token: str) -> str | None:
        return "token_revoked" if token == TOKEN else None


REFS = SecretRefs(
    signing_secret=SecretKeyRef(name="slack", key="signing"),
    bot_token=SecretKeyRef(name="slack", key="bot"),
    admin_token=SecretKeyRef(name="admin", key="token"),
)


async def test_secret_checks_name_the_problem_never_the_value() -> None:
    healthy = Secrets({"slack": {"signing": "s", "bot": "b"}, "admin": {"token": "a"}})
    assert await check_secrets(REFS, "ns", healthy) == []

    missing = await check_secrets(REFS, "ns", Secrets({"slack": {"signing": "s"}}))
    assert [(p.reason, p.message) for p in missing] == [
        ("SecretKeyMissing", "Secret ns/slack has no key 'bot' (bot token)"),
        ("SecretMissing", "Secret ns/admin (admin token) not found"),
    ]
    forbidden = await check_secrets(REFS, "ns", Secrets({"slack": {"signing": "s", "bot": "b"}}, {"admin"}))
    assert forbidden[0].reason == "SecretUnreadable"

    revoked = await check_secrets(
        REFS, "ns", Secrets({"slack": {"signing": "s", "bot": TOKEN}, "admin": {"token": "a"}}), Revoked())
    assert [p.reason for p in revoked] == ["TokenRevoked"]
    assert TOKEN not in revoked[0].message and "bot token" in revoked[0].message
    assert (await check_secrets(None, "ns", healthy))[0].reason == "SecretMissing"


def test_the_oldest_claim_governs_a_workspace() -> None:
    old, new = Claim("2026-01-01T00:00:00Z", "a", "old"), Claim("2026-02-01T00:00:00Z", "b", "new")
    assert claim_conflict([new, old], "a", "old") is None
    assert claim_conflict([new, old], "b", "new") == old
    assert claim_conflict([], "b", "new") is None


def test_the_admission_check_explains_what_the_schema_cannot() -> None:
    ref = {"name": "s", "key": "k"}
    secrets = {"signingSecret": ref, "botToken": ref, "adminToken": ref}
    spec = {"workspace": {"teamId": "T1"}, "secrets": secrets}
    assert admission.problem_with(spec) is None
    problem = admission.problem_with({**spec, "detection": {"allowPatterns": ["[a-"]}})
    assert problem is not None and "regex does not compile" in problem
    assert "teamId" in (admission.problem_with({**spec, "workspace": {}}) or "")
    assert not admission.enabled({}) and admission.enabled({"PIIGUARD_ADMISSION_WEBHOOK": "true"})


def test_the_command_line_needs_a_namespace_scope() -> None:
    args = main.parser().parse_args(["-n", "a", "-n", "b"])
    assert main.namespaces_from(args, {}) == ["a", "b"]
    args = main.parser().parse_args([])
    assert main.namespaces_from(args, {"PIIGUARD_WATCH_NAMESPACES": "x, y"}) == ["x", "y"]
    assert main.namespaces_from(args, {"POD_NAMESPACE": "piiguard"}) == ["piiguard"]
    with pytest.raises(SystemExit):
        main.parser().parse_args(["-n", "a", "-A"])
