"""The validating admission webhook: rejects, at ``kubectl apply`` time, what the CRD
schema cannot express (a regex that does not compile, a malformed rule key,
an unknown duration). Optional: without it, the same check runs when the policy
is reconciled and the reason lands in ``status.conditions`` instead.

Enabled by ``PIIGUARD_ADMISSION_WEBHOOK=true``. The chart then serves it over
TLS from a Secret (e.g. issued by cert-manager) and ships the
ValidatingWebhookConfiguration itself, so the operator needs no cluster-wide
rights to manage webhooks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import kopf

from piiguard.policy import PolicyError, policy_from_mapping

WEBHOOK_ID = "validate-policy"  # served at https://<service>:<port>/validate-policy


def enabled(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return env.get("PIIGUARD_ADMISSION_WEBHOOK", "").lower() in {"1", "true", "yes"}


def problem_with(spec: Mapping[str, Any]) -> str | None:
    """Why a spec would be rejected, or None when it is usable."""
    try:
        policy = policy_from_mapping(dict(spec), source="spec")
    except PolicyError as exc:
        return str(exc)
    if not policy.workspace.team_id:
        return "spec.workspace.teamId: a cluster policy must name its workspace"
    return None


def validate(spec: kopf.Spec, **_: Any) -> None:
    problem = problem_with(spec)
    if problem is not None:
        raise kopf.AdmissionError(problem, code=422)


def register(resource: tuple[str, str, str]) -> None:
    """Register the webhook handler, only when a webhook server will serve it
    (Kopf refuses to start with admission handlers and no server)."""
    if enabled():
        kopf.on.validate(*resource, id=WEBHOOK_ID, operations=["CREATE", "UPDATE"])(validate)


def configure(settings: kopf.OperatorSettings, env: Mapping[str, str] | None = None) -> None:
    env = os.environ if env is None else env
    if not enabled(env):
        return
    settings.admission.server = kopf.WebhookServer(
        addr="0.0.0.0",
        port=int(env.get("PIIGUARD_WEBHOOK_PORT") or 9443),
        host=env.get("PIIGUARD_WEBHOOK_HOST") or None,
        certfile=env.get("PIIGUARD_WEBHOOK_CERT") or "/etc/piiguard/webhook/tls.crt",
        pkeyfile=env.get("PIIGUARD_WEBHOOK_KEY") or "/etc/piiguard/webhook/tls.key",
    )
