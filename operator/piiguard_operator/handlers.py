"""Kopf handlers for ``PiiPolicy``: what happens when a policy appears, changes,
ages, or goes away. The work itself lives in :mod:`.reconcile` (JetStream),
:mod:`.secrets` (credentials) and :mod:`.status` (what we report).

Run with ``piiguard operator`` or ``kopf run -m piiguard_operator.handlers``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import kopf
import nats.errors

from piiguard import jetstream
from piiguard.policy import Policy, PolicyError, policy_from_mapping
from piiguard.policy_store import STAGES, Stage, policy_key
from piiguard_operator import GROUP, PLURAL, VERSION, admission, reconcile
from piiguard_operator.config import OperatorConfig, refresh_interval
from piiguard_operator.secrets import KubeSecretReader, SlackTokenVerifier
from piiguard_operator.status import Claim, Rejection, StatusReport, claim_conflict

PIIPOLICIES = (GROUP, VERSION, PLURAL)
Logger = logging.Logger | logging.LoggerAdapter[Any]
REFRESH_SECONDS = refresh_interval()

# NATS trouble is an outage, not a bad policy: Kopf retries the handler.
_NATS_ERRORS = (nats.errors.Error, TimeoutError, ConnectionError)


# ---- the operator's life -------------------------------------------------------------


@kopf.on.startup()
async def connect_to_jetstream(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Keep Kopf's bookkeeping out of our status, then connect to NATS once for
    all policies."""
    settings.persistence.finalizer = f"{GROUP}/cleanup"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-spec"
    )
    admission.configure(settings)
    config: OperatorConfig = memo.get("config") or OperatorConfig.from_env()
    memo.config = config
    memo.settings = settings
    if memo.get("verifier") is None and config.verify_tokens:
        memo.verifier = SlackTokenVerifier(ttl=config.token_check_ttl)
    try:
        memo.nc = await jetstream.connect(config.nats_url, name="piiguard-operator")
    except _NATS_ERRORS as exc:
        raise kopf.TemporaryError(f"NATS at {config.nats_url} unreachable: {exc!r}", delay=5) from exc
    memo.js = memo.nc.jetstream()
    await jetstream.ensure_topology(memo.js, jetstream.Retention.from_env(os.environ))


@kopf.on.cleanup()
async def disconnect(memo: kopf.Memo, **_: Any) -> None:
    nc = memo.get("nc")
    if nc is not None and not nc.is_closed:
        await nc.drain()


# ---- indexes: what all policies together say ------------------------------------------


@kopf.index(*PIIPOLICIES)
def policies_by_workspace(
    name: str, namespace: str | None, spec: kopf.Spec, meta: kopf.Meta, **_: Any
) -> dict[str, Claim] | None:
    """Which policies claim each workspace; the oldest one governs it."""
    team_id = (spec.get("workspace") or {}).get("teamId")
    if not team_id:
        return None
    return {policy_key(team_id): Claim(str(meta.get("creationTimestamp") or ""), namespace or "", name)}


@kopf.index(*PIIPOLICIES)
def retention_by_stage(spec: kopf.Spec, **_: Any) -> dict[Stage, float] | None:
    """Each valid policy's retention per stage, so a shared stream keeps messages
    as long as the most demanding workspace needs."""
    try:
        policy = policy_from_mapping(dict(spec))
    except PolicyError:
        return None
    return {stage: getattr(policy.queues, stage).max_age for stage in STAGES}


# ---- a policy appears or changes ----------------------------------------------------


@kopf.on.resume(*PIIPOLICIES)
@kopf.on.create(*PIIPOLICIES)
@kopf.on.update(*PIIPOLICIES, field="spec")
async def apply_policy(
    spec: kopf.Spec,
    meta: kopf.Meta,
    status: kopf.Status,
    name: str,
    namespace: str | None,
    body: kopf.Body,
    patch: kopf.Patch,
    memo: kopf.Memo,
    logger: Logger,
    policies_by_workspace: kopf.Index[str, Claim] | None = None,
    retention_by_stage: kopf.Index[Stage, float] | None = None,
    **_: Any,
) -> None:
    """Make JetStream and the services follow the policy; a policy that cannot be
    used is reported and changes nothing, so the last good one keeps running."""
    report = StatusReport(generation=meta.get("generation"), status=status)
    policy, rejection = _judge(spec, name, namespace, policies_by_workspace or {})
    if rejection is not None:
        kopf.warn(body, reason=rejection.reason, message=rejection.message)
        logger.warning("policy not applied: %s", rejection.message)
        patch.status.update(await report.rejected(rejection, memo=memo, namespace=namespace or ""))
        return
    assert policy is not None
    try:
        await reconcile.apply_policy(memo.js, policy, namespace=namespace or "", name=name)
        await reconcile.apply_retention(memo.js, _longest_retention(retention_by_stage or {}, policy))
    except _NATS_ERRORS as exc:
        raise kopf.TemporaryError(f"JetStream unavailable: {exc!r}", delay=5) from exc
    logger.info("policy applied to workspace %s (%s)", policy_key(policy.workspace.team_id),
                policy.fingerprint)
    patch.status.update(await report.applied(policy, memo=memo, namespace=namespace or "",
                                             reader=_reader(memo, logger)))


# ---- a policy ages: live figures, health, and self-repair ----------------------------


@kopf.timer(*PIIPOLICIES, interval=REFRESH_SECONDS, initial_delay=REFRESH_SECONDS)
async def refresh_status(
    spec: kopf.Spec,
    meta: kopf.Meta,
    status: kopf.Status,
    name: str,
    namespace: str | None,
    patch: kopf.Patch,
    memo: kopf.Memo,
    logger: Logger,
    policies_by_workspace: kopf.Index[str, Claim] | None = None,
    retention_by_stage: kopf.Index[Stage, float] | None = None,
    **_: Any,
) -> None:
    """Refresh the figures and the Secret checks; apply the policy if it is not
    running yet (e.g. it was waiting for another policy of the same workspace to
    go) and recreate consumers someone deleted."""
    if memo.nc.is_closed:
        return  # the operator is stopping
    report = StatusReport(generation=meta.get("generation"), status=status)
    policy, rejection = _judge(spec, name, namespace, policies_by_workspace or {})
    try:
        if rejection is not None:
            patch.status.update(await report.rejected(rejection, memo=memo, namespace=namespace or ""))
            return
        assert policy is not None
        if status.get("appliedFingerprint") != policy.fingerprint:
            await reconcile.apply_policy(memo.js, policy, namespace=namespace or "", name=name)
        elif await reconcile.repair(memo.js, policy.workspace.team_id):
            logger.warning("recreated missing consumers of %s", policy_key(policy.workspace.team_id))
        # Re-asserted every tick: someone may have changed the streams by hand.
        await reconcile.apply_retention(memo.js, _longest_retention(retention_by_stage or {}, policy))
        patch.status.update(await report.applied(policy, memo=memo, namespace=namespace or "",
                                                 reader=_reader(memo, logger)))
    except _NATS_ERRORS as exc:
        logger.warning("status not refreshed, JetStream unavailable: %r", exc)


# ---- a policy goes away ---------------------------------------------------------------


@kopf.on.delete(*PIIPOLICIES)
async def remove_policy(
    status: kopf.Status, memo: kopf.Memo, logger: Logger, **_: Any
) -> None:
    """Remove the workspace's consumers and policy entry (through the finalizer).
    A policy that never ran (invalid, or shadowed by an older policy of the same
    workspace) owns nothing there, so other policies and workspaces are untouched."""
    workspace = status.get("workspace")
    if not workspace or status.get("appliedFingerprint") is None:
        return
    try:
        await reconcile.remove_workspace(memo.js, workspace)
    except _NATS_ERRORS as exc:
        raise kopf.TemporaryError(f"JetStream unavailable: {exc!r}", delay=5) from exc
    logger.info("workspace %s removed: consumers and policy entry deleted", workspace)


# ---- admission (optional webhook) -----------------------------------------------------

admission.register(PIIPOLICIES)


# ---- helpers ------------------------------------------------------------------------------


def _judge(
    spec: Mapping[str, Any], name: str, namespace: str | None, claims: Mapping[str, Any]
) -> tuple[Policy | None, Rejection | None]:
    """The policy in a spec, or why it cannot be applied."""
    try:
        policy = policy_from_mapping(dict(spec), source="spec")
    except PolicyError as exc:
        return None, Rejection.invalid(str(exc))
    if not policy.workspace.team_id:
        return None, Rejection.invalid("spec.workspace.teamId: a cluster policy must name its workspace")
    workspace = policy_key(policy.workspace.team_id)
    owner = claim_conflict(list(claims.get(workspace, [])), namespace or "", name)
    if owner is not None:
        return None, Rejection.conflict(workspace, owner)
    return policy, None


def _longest_retention(index: Mapping[Stage, Any], policy: Policy) -> dict[Stage, float]:
    """Per stage, the longest retention any valid policy asks for (this one included:
    the index may not have caught up with its latest change)."""
    return {
        stage: max([getattr(policy.queues, stage).max_age, *index.get(stage, [])])
        for stage in STAGES
    }


def _reader(memo: kopf.Memo, logger: Logger) -> Any:
    reader = memo.get("secret_reader")
    return reader if reader is not None else KubeSecretReader(memo.settings, logger)
