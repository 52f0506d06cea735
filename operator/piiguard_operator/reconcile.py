"""Makes JetStream match a workspace's policy. No Kubernetes here: these functions
take a policy and a JetStream context, and are idempotent, so Kopf can call them
on create, update, resume and on a timer alike.

Per workspace ``<ws>`` (its Slack team id as a subject token):

* durable pull consumers ``detection-<ws>`` on PIIGUARD_EVENTS and ``action-<ws>``
  on PIIGUARD_VERDICTS (see :func:`piiguard.policy_store.consumer_config`), paused
  or resumed as ``spec.queues.<stage>.paused`` says;
* the policy itself under key ``<ws>`` of the ``piiguard-policies`` bucket, which
  the services watch;
* its scheduled jobs (sweep, digest, token check) as message schedules in
  ``PIIGUARD_SCHEDULES`` (:func:`apply_schedules`: rewritten only when changed,
  removed with the workspace).

Streams are shared by all workspaces, so their retention is the longest any
policy asks for (:func:`apply_retention`): no workspace loses queued events
earlier than its policy promises.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import KeyNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from piiguard import schedules
from piiguard.errors import PolicyError
from piiguard.jetstream import (
    BUCKET_ACTIONS,
    BUCKET_POLICIES,
    STREAM_AUDIT,
    STREAM_DLQ,
    STREAM_EVENTS,
    STREAM_VERDICTS,
    ensure_bucket,
)
from piiguard.policy import Policy
from piiguard.policy_store import (
    PAUSED_UNTIL,
    STAGES,
    Stage,
    consumer_config,
    consumer_name,
    decode_policy,
    encode_policy,
    policy_key,
    stream_for,
)

log = logging.getLogger(__name__)


async def apply_policy(js: JetStreamContext, policy: Policy, *, namespace: str = "",
                       name: str = "") -> None:
    """Consumers first, then the bucket: a service that sees the new policy finds
    its consumers already configured for it."""
    workspace = policy.workspace.team_id
    for stage in STAGES:
        await upsert_consumer(js, stage, workspace, policy)
    await publish_policy(js, policy, namespace=namespace, name=name)


async def apply_schedules(js: JetStreamContext, policy: Policy) -> list[str]:
    """The workspace's schedules as its policy says (:func:`piiguard.schedules.reconcile`)."""
    return await schedules.reconcile(js, policy.workspace.team_id, policy)


async def upsert_consumer(
    js: JetStreamContext, stage: Stage, workspace: str, policy: Policy
) -> js_api.ConsumerInfo:
    """Create or update one stage's consumer, then pause or resume it.

    A new consumer is created already paused when it should be, so not one
    message slips through between creation and pause."""
    queue = getattr(policy.queues, stage)
    stream, name = stream_for(stage), consumer_name(stage, workspace)
    info = await js.add_consumer(stream, consumer_config(stage, workspace, queue))
    if queue.paused and not info.paused:
        await js.pause_consumer(stream, name, PAUSED_UNTIL)
    elif not queue.paused and info.paused:
        await js.resume_consumer(stream, name)
    return info


async def publish_policy(js: JetStreamContext, policy: Policy, *, namespace: str = "",
                         name: str = "") -> None:
    kv = await _bucket(js)
    key = policy_key(policy.workspace.team_id)
    value = encode_policy(policy, namespace=namespace, name=name)
    try:
        current = await kv.get(key)
        if current.value == value:
            return  # unchanged: no revision, no wake-up for every service
    except KeyNotFoundError:
        pass
    await kv.put(key, value)


async def applied_policy(js: JetStreamContext, workspace: str) -> Policy | None:
    """The policy running for a workspace: the last one the operator published."""
    kv = await _bucket(js)
    try:
        entry = await kv.get(policy_key(workspace))
    except KeyNotFoundError:
        return None
    if not entry.value:
        return None
    try:
        return decode_policy(entry.value, key=entry.key)
    except PolicyError:
        log.warning("unreadable policy in the bucket for %s", policy_key(workspace))
        return None


async def repair(js: JetStreamContext, workspace: str) -> bool:
    """Recreate a workspace's consumers from its running policy if someone deleted
    them. Returns whether anything had to be recreated."""
    policy = await applied_policy(js, workspace)
    if policy is None:
        return False
    repaired = False
    for stage in STAGES:
        try:
            await js.consumer_info(stream_for(stage), consumer_name(stage, workspace))
        except NotFoundError:
            await upsert_consumer(js, stage, workspace, policy)
            repaired = True
    return repaired


async def remove_workspace(js: JetStreamContext, workspace: str) -> None:
    """Delete a workspace's consumers and its bucket entry; other workspaces are
    untouched. Queued messages of the workspace stay in the streams until they age out."""
    for stage in STAGES:
        try:
            await js.delete_consumer(stream_for(stage), consumer_name(stage, workspace))
        except NotFoundError:
            pass
    kv = await _bucket(js)
    try:
        await kv.purge(policy_key(workspace))
    except KeyNotFoundError:
        pass
    await schedules.reconcile(js, workspace, None)


async def apply_retention(js: JetStreamContext, max_ages: Mapping[Stage, float]) -> None:
    """Set each stage's input stream ``max_age`` to the given seconds, if it differs."""
    for stage, max_age in max_ages.items():
        try:
            info = await js.stream_info(stream_for(stage))
        except NotFoundError:
            continue  # the services create the streams; next reconcile sets retention
        if abs((info.config.max_age or 0.0) - max_age) < 0.5:
            continue
        log.info("retention of %s set to %ss", stream_for(stage), max_age)
        await js.update_stream(info.config.evolve(max_age=max_age))


async def apply_replicas(js: JetStreamContext, replicas: int) -> list[str]:
    """Bring every stream and bucket to ``replicas`` (PIIGUARD_STREAM_REPLICAS), e.g.
    after someone changed one by hand; JetStream moves the data itself. Returns the
    streams changed."""
    changed = []
    for name in (STREAM_EVENTS, STREAM_VERDICTS, STREAM_DLQ, STREAM_AUDIT, f"KV_{BUCKET_ACTIONS}",
                 f"KV_{BUCKET_POLICIES}"):
        try:
            info = await js.stream_info(name)
        except NotFoundError:
            continue
        if info.config.num_replicas != replicas:
            log.warning("%s had %s replica(s): set to %d", name, info.config.num_replicas, replicas)
            await js.update_stream(info.config.evolve(num_replicas=replicas))
            changed.append(name)
    return changed


async def _bucket(js: JetStreamContext) -> KeyValue:
    await ensure_bucket(js, BUCKET_POLICIES)
    return await js.key_value(BUCKET_POLICIES)
