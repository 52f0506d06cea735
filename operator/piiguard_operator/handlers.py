"""Kopf handlers for ``PiiPolicy``: what happens when a policy appears, changes,
ages, or goes away. The work itself lives in :mod:`.reconcile` (JetStream),
:mod:`.secrets` (credentials) and :mod:`.status` (what we report).

Run with ``piiguard operator`` or ``kopf run -m piiguard_operator.handlers``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import kopf

from piiguard import jetstream, metrics
from piiguard.errors import PolicyError
from piiguard.kube import SecretsApi
from piiguard.policy import Policy, policy_from_mapping
from piiguard.policy_store import STAGES, Stage, policy_key, stream_for
from piiguard.security.natsauth import auth_from_settings
from piiguard.settings import Settings, load
from piiguard.tasks import cancel_and_wait
from piiguard_operator import GROUP, PLURAL, VERSION, admission, projection, reconcile
from piiguard_operator.errors import NATS_ERRORS, to_kopf
from piiguard_operator.notion import NotionProbe
from piiguard_operator.secrets import SlackTokenVerifier
from piiguard_operator.status import Claim, Rejection, StatusReport, claim_conflict

PIIPOLICIES = (GROUP, VERSION, PLURAL)
Logger = logging.Logger | logging.LoggerAdapter[Any]
# Kopf fixes a timer's interval when it is registered, that is when this module is
# imported (``kopf run -m piiguard_operator.handlers`` imports nothing else first):
# the one setting read at import time.
REFRESH_SECONDS = load().status_interval



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
    config: Settings = memo.get("config") or load()
    admission.configure(settings, config)
    memo.config = config
    memo.settings = settings
    metrics.initialise("operator")
    metrics.serve(config.metrics_port, config.bind_host)
    if memo.get("verifier") is None and config.verify_tokens:
        memo.verifier = SlackTokenVerifier(ttl=config.token_check_ttl)
    if memo.get("notion_probe") is None and config.verify_notion_databases:
        memo.notion_probe = NotionProbe(config.notion_api_url)
    try:
        memo.nc = await jetstream.connect(config.nats_servers, name="piiguard-operator",
                                          auth=auth_from_settings(config, "operator"))
    except NATS_ERRORS as exc:
        raise to_kopf(exc, f"NATS at {config.nats_url} unreachable") from exc
    memo.js = memo.nc.jetstream()
    await jetstream.ensure_topology(memo.js, jetstream.Retention.from_settings(config))
    # The stages' NATS accounts may not create it: they wait for it (docs/security.md).
    await jetstream.ensure_bucket(memo.js, jetstream.BUCKET_POLICIES, replicas=config.stream_replicas)


@kopf.on.cleanup()
async def disconnect(memo: kopf.Memo, **_: Any) -> None:
    memo["disconnected"] = True
    # A schedule write cut short is done again on the next start; ended before the
    # connection closes, so none fails afterwards where nobody awaits it.
    await asyncio.gather(*(cancel_and_wait(task) for task in (memo.get("schedule_tasks") or {}).values()))
    nc = memo.get("nc")
    if nc is not None and not nc.is_closed:
        await nc.drain()
    reader = memo.get("secret_reader")
    if isinstance(reader, SecretsApi):
        await reader.close()


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
    return {stage: getattr(policy.queues, stage).max_age or 0.0 for stage in STAGES}


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
        metrics.RECONCILES.labels("rejected").inc()
        patch.status.update(await report.rejected(rejection, memo=memo, namespace=namespace or ""))
        return
    assert policy is not None
    try:
        await reconcile.apply_policy(memo.js, policy, namespace=namespace or "", name=name)
        await reconcile.apply_retention(memo.js, _longest_retention(memo, retention_by_stage or {}, policy))
    except NATS_ERRORS as exc:
        metrics.RECONCILES.labels("nats_unavailable").inc()
        raise to_kopf(exc, "JetStream unavailable") from exc
    except Exception:
        metrics.RECONCILES.labels("error").inc()
        raise
    metrics.RECONCILES.labels("ok").inc()
    _follow_schedules(memo, policy, logger)
    logger.info("policy applied to workspace %s (%s)", policy_key(policy.workspace.team_id),
                policy.fingerprint)
    await _project(memo, policy, namespace or "", logger)
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
            metrics.RECONCILES.labels("rejected").inc()
            rejected = await report.rejected(rejection, memo=memo, namespace=namespace or "")
            if _still_current(meta, report, logger):
                patch.status.update(rejected)
            return
        assert policy is not None
        if status.get("appliedFingerprint") != policy.fingerprint:
            await reconcile.apply_policy(memo.js, policy, namespace=namespace or "", name=name)
        elif await reconcile.repair(memo.js, policy.workspace.team_id):
            logger.warning("recreated missing consumers of %s", policy_key(policy.workspace.team_id))
        # Re-asserted every tick: someone may have changed the streams by hand.
        await reconcile.apply_retention(memo.js, _longest_retention(memo, retention_by_stage or {}, policy))
        await reconcile.apply_replicas(memo.js, memo.config.stream_replicas)
        await _project(memo, policy, namespace or "", logger)  # picks up rotated Secrets
        _follow_schedules(memo, policy, logger)  # also rewrites schedules someone removed
        applied = await report.applied(policy, memo=memo, namespace=namespace or "",
                                       reader=_reader(memo, logger))
        if _still_current(meta, report, logger):
            patch.status.update(applied)
        metrics.RECONCILES.labels("ok").inc()
    except NATS_ERRORS as exc:
        metrics.RECONCILES.labels("nats_unavailable").inc()
        logger.warning("status not refreshed, JetStream unavailable: %r", exc)


def _still_current(meta: kopf.Meta, report: StatusReport, logger: Logger) -> bool:
    """Whether the spec a refresh judged is still the policy's spec. A timer's
    ``meta`` is a live view: when the spec changed while the refresh awaited
    JetStream, the change handler has written the newer generation's status,
    and this refresh's older one must not overwrite it (the next tick judges
    the new spec)."""
    if meta.get("generation") == report.generation:
        return True
    logger.info("status refresh of generation %s dropped: the spec changed meanwhile",
                report.generation)
    return False


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
    except NATS_ERRORS as exc:
        raise to_kopf(exc, "JetStream unavailable") from exc
    targets = projection.Targets.from_settings(memo.config)
    if targets is not None:
        try:
            await projection.withdraw(workspace, _writer(memo, logger), targets)
        except Exception as exc:  # the Secret may be gone with the release
            logger.warning("credentials of %s not withdrawn: %s", workspace, type(exc).__name__)
    logger.info("workspace %s removed: consumers and policy entry deleted", workspace)


# ---- admission (optional webhook) -----------------------------------------------------

admission.register(PIIPOLICIES)


# ---- helpers ------------------------------------------------------------------------------


def _follow_schedules(memo: kopf.Memo, policy: Policy, logger: Logger) -> None:
    """Bring the workspace's schedules in line with its policy, beside the handler
    (one task per workspace at a time), so a status patch never waits for it; the
    next refresh tries again after a failure."""
    if memo.get("disconnected"):  # a timer still running while the operator stops
        return
    tasks: dict[str, asyncio.Task[None]] = memo.setdefault("schedule_tasks", {})
    workspace = policy_key(policy.workspace.team_id)
    running = tasks.get(workspace)
    if running is not None and not running.done():
        return

    async def write() -> None:
        try:
            await reconcile.apply_schedules(memo.js, policy)
        except Exception as exc:
            logger.warning("schedules of %s not written: %s", workspace, type(exc).__name__)

    tasks[workspace] = asyncio.get_running_loop().create_task(write())



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


def _longest_retention(memo: kopf.Memo, index: Mapping[Stage, Any], policy: Policy) -> dict[Stage, float]:
    """Per stage, the deployment's retention (the settings: the same values as
    ``piiguard up``), lengthened to the longest ``maxAge`` any valid policy asks for
    (this one included: the index may not have caught up with its latest change)."""
    base = jetstream.Retention.from_settings(memo.config).for_policies([policy])
    return {
        stage: max([base.max_age_of(stream_for(stage)), *index.get(stage, [])])
        for stage in STAGES
    }


async def _project(memo: kopf.Memo, policy: Policy, namespace: str, logger: Logger) -> None:
    """Copy the policy's credentials into the stages' own Secrets (see projection)."""
    targets = projection.Targets.from_settings(memo.config)
    if targets is None:
        return
    try:
        problems = await projection.project(policy, namespace, _reader(memo, logger),
                                            _writer(memo, logger), targets)
    except Exception as exc:  # reported, retried on the next refresh
        logger.warning("credentials of %s not projected: %s", policy_key(policy.workspace.team_id),
                       type(exc).__name__)
        return
    for problem in problems:
        logger.warning("credentials of %s not projected: %s is missing",
                       policy_key(policy.workspace.team_id), problem)


def _writer(memo: kopf.Memo, logger: Logger) -> Any:
    writer = memo.get("secret_writer")
    return writer if writer is not None else _reader(memo, logger)  # one SecretsApi reads and writes


def _reader(memo: kopf.Memo, logger: Logger) -> Any:
    """Secrets are read like the services read them (``piiguard.kube``), with the
    operator's service account; one reader (one HTTP session) for all policies."""
    reader = memo.get("secret_reader")
    if reader is None:
        reader = memo.secret_reader = SecretsApi(memo.config)
    return reader
