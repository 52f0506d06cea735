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

from collections.abc import Mapping
from typing import Any

import kopf

from piiguard.errors import PolicyError
from piiguard.policy import policy_from_mapping
from piiguard.settings import Settings, load

WEBHOOK_ID = "validate-policy"  # served at https://<service>:<port>/validate-policy


def enabled(env: Mapping[str, str] | Settings | None = None) -> bool:
    config = env if isinstance(env, Settings) else load(env)
    return config.admission_webhook


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
    if enabled(load()):
        kopf.on.validate(*resource, id=WEBHOOK_ID, operations=["CREATE", "UPDATE"])(validate)


def configure(settings: kopf.OperatorSettings, config: Settings) -> None:
    if not config.admission_webhook:
        return
    settings.admission.server = kopf.WebhookServer(
        addr="0.0.0.0",
        port=config.webhook_port,
        host=config.webhook_host,
        certfile=str(config.webhook_cert),
        pkeyfile=str(config.webhook_key),
    )
