"""Where a running service finds the policy of a workspace, and how its queues are named.

In a cluster the ``PiiPolicy`` operator publishes each workspace's policy to the
``piiguard-policies`` key-value bucket (key: the workspace's subject token, value:
the policy as JSON without its secret references); :class:`KvPolicyStore` watches
that bucket so a change applies to new messages within seconds, with no restart.
Run locally, :class:`StaticPolicyStore` serves the ``--policy`` file instead. Both
hand out the same :class:`~piiguard.policy.Policy` model.

The consumer helpers at the bottom are the one definition of the per-workspace
durable consumers: the operator creates them from these, and the services bind
to them by the same names.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal, Protocol

from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

from piiguard.errors import PolicyError
from piiguard.jetstream import (
    BUCKET_POLICIES,
    DELIVERY_HEADROOM,
    STREAM_EVENTS,
    STREAM_VERDICTS,
    ensure_bucket,
    events_subject,
    subject_token,
    verdicts_subject,
)
from piiguard.policy import Policy, QueueSettings, policy_from_mapping
from piiguard.tasks import cancel_and_wait

log = logging.getLogger(__name__)

Stage = Literal["detection", "action"]
STAGES: tuple[Stage, ...] = ("detection", "action")

# Far enough ahead to mean "until resumed"; nats-server 2.11+ pauses a consumer
# until a timestamp, it has no open-ended pause.
PAUSED_UNTIL = "2999-01-01T00:00:00Z"

PolicyListener = Callable[[str, Policy | None], Awaitable[None] | None]
"""Called with (workspace key, new policy or None when removed) after each change."""


PolicyLookup = Callable[[str], Policy | None]
"""A workspace's policy, or None: that workspace is not ours to serve."""


class PolicyStore(Protocol):
    def policy_for(self, workspace_id: str) -> Policy | None:
        """The policy of a workspace, or None: that workspace is not ours to serve."""
        ...


class StaticPolicyStore:
    """One policy from a file, for local runs: it serves every workspace, or only its
    own ``workspace.teamId`` when the file names one."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def policy_for(self, workspace_id: str) -> Policy | None:
        team_id = self.policy.workspace.team_id
        if team_id and subject_token(team_id) != subject_token(workspace_id):
            return None
        return self.policy


def policy_key(workspace_id: str) -> str:
    """The bucket key of a workspace's policy."""
    return subject_token(workspace_id)


def encode_policy(policy: Policy, *, namespace: str = "", name: str = "") -> bytes:
    """The bucket value: the policy as a ``PiiPolicy``-shaped JSON object whose
    metadata says where it lives. Its ``secrets`` are *references* (Secret name and
    key in that namespace): a service reads the values itself through the
    Kubernetes API; no credential ever travels through NATS."""
    return json.dumps({
        "apiVersion": "piiguard.io/v1alpha1",
        "kind": "PiiPolicy",
        "metadata": {"namespace": namespace, "name": name},
        "spec": policy.model_dump(mode="json", by_alias=True, exclude_none=True),
    }, sort_keys=True).encode()


def decode_entry(value: bytes, *, key: str = "?") -> tuple[Policy, str]:
    """(policy, namespace) from a bucket value."""
    try:
        raw = json.loads(value)
    except ValueError as exc:
        raise PolicyError(f"{BUCKET_POLICIES}/{key}: not JSON: {exc}") from None
    namespace = ""
    if isinstance(raw, dict) and isinstance(raw.get("metadata"), dict):
        namespace = str(raw["metadata"].get("namespace") or "")
    return policy_from_mapping(raw, source=f"{BUCKET_POLICIES}/{key}"), namespace


def decode_policy(value: bytes, *, key: str = "?") -> Policy:
    return decode_entry(value, key=key)[0]


class KvPolicyStore:
    """The policies the operator published, kept current by watching the bucket.

    ``policy_for`` is a plain dict lookup, safe to call per message. A value that
    does not parse (it should not happen: the operator validates first) is logged
    and the previous policy of that workspace stays in force.
    """

    def __init__(
        self,
        *,
        bucket: str = BUCKET_POLICIES,
        on_change: PolicyListener | None = None,
    ) -> None:
        self.bucket = bucket
        self._listeners: list[PolicyListener] = [on_change] if on_change else []
        self._policies: dict[str, Policy] = {}
        self._namespaces: dict[str, str] = {}
        self._watcher: KeyValue.KeyWatcher | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    def policy_for(self, workspace_id: str) -> Policy | None:
        return self._policies.get(policy_key(workspace_id))

    def namespace_of(self, workspace_id: str) -> str | None:
        """The namespace of the workspace's PiiPolicy (where its Secrets are)."""
        return self._namespaces.get(policy_key(workspace_id))

    def workspaces(self) -> list[str]:
        return list(self._policies)

    @property
    def policies(self) -> Mapping[str, Policy]:
        """Every known policy by workspace key (a read-only snapshot)."""
        return dict(self._policies)

    def add_listener(self, listener: PolicyListener) -> None:
        self._listeners.append(listener)

    async def start(self, js: JetStreamContext) -> None:
        """Load every published policy, then follow changes in the background."""
        await ensure_bucket(js, self.bucket)
        kv = await js.key_value(self.bucket)
        self._watcher = await kv.watchall()
        async for entry in self._watcher:
            if entry is None:  # the end of the initial values
                break
            await self._apply(entry)
        self._task = asyncio.create_task(self._follow(), name=f"watch {self.bucket}")

    async def stop(self) -> None:
        if self._watcher is not None:
            try:
                await self._watcher.stop()
            except Exception:  # connection already closed: nothing left to stop
                log.debug("policy watcher stop failed", exc_info=True)
        if self._task is not None:
            await cancel_and_wait(self._task)
        self._watcher = self._task = None

    async def wait_for(self, predicate: Callable[[KvPolicyStore], bool], timeout: float) -> bool:
        """Wait until ``predicate(store)`` holds (for tests and start-up gates)."""
        async def poll() -> None:
            while not predicate(self):
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(poll(), timeout)
        except TimeoutError:
            return False
        return True

    async def _follow(self) -> None:
        assert self._watcher is not None
        async for entry in self._watcher:
            if entry is not None:
                await self._apply(entry)

    async def _apply(self, entry: KeyValue.Entry) -> None:
        key = entry.key
        new: Policy | None
        if entry.operation in (KV_DEL, KV_PURGE) or not entry.value:
            self._namespaces.pop(key, None)
            if self._policies.pop(key, None) is None:
                return
            new = None
            log.info("policy removed", extra={"workspace": key})
        else:
            try:
                new, namespace = decode_entry(entry.value, key=key)
            except PolicyError as exc:
                log.warning("ignoring unusable policy: %s", exc, extra={"workspace": key})
                return
            self._policies[key] = new
            self._namespaces[key] = namespace
            log.info("policy updated", extra={"workspace": key, "fingerprint": new.fingerprint})
        self._changed.set()
        for listener in self._listeners:
            try:
                result = listener(key, new)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("policy listener failed", extra={"workspace": key})


# ---- per-workspace consumers -------------------------------------------------------


def consumer_name(stage: Stage, workspace_id: str) -> str:
    """``detection-<ws>`` / ``action-<ws>``: the durable pull consumer of one workspace."""
    return f"{stage}-{subject_token(workspace_id)}"


def stream_for(stage: Stage) -> str:
    """The stream a stage consumes."""
    return STREAM_EVENTS if stage == "detection" else STREAM_VERDICTS


def subject_for(stage: Stage, workspace_id: str) -> str:
    return events_subject(workspace_id) if stage == "detection" else verdicts_subject(workspace_id)


def redelivery_schedule(queue: QueueSettings) -> list[float]:
    """The consumer's ``backoff``: how long after each delivery an unacked message
    is delivered again.

    JetStream uses this list only for ack timeouts (explicit naks carry their own
    delay), and it replaces ``ack_wait``. So each entry is the time a handler may
    take (``ackWait``) plus the policy's pause before that retry, the last repeating.
    One entry per retry keeps the list shorter than ``max_deliver``, as the server
    requires. A single attempt needs no schedule.
    """
    retries = queue.max_attempts - 1
    if retries < 1 or not queue.backoff:
        return []
    pauses = list(queue.backoff)
    return [queue.ack_wait + pauses[min(i, len(pauses) - 1)] for i in range(retries)]


def consumer_config(stage: Stage, workspace_id: str, queue: QueueSettings) -> js_api.ConsumerConfig:
    """The durable consumer of one stage of one workspace, following its queue settings."""
    name = consumer_name(stage, workspace_id)
    return js_api.ConsumerConfig(
        name=name,
        durable_name=name,
        description=f"PII Guard {stage} stage of workspace {subject_token(workspace_id)}",
        filter_subject=subject_for(stage, workspace_id),
        deliver_policy=js_api.DeliverPolicy.ALL,
        ack_policy=js_api.AckPolicy.EXPLICIT,
        max_ack_pending=queue.concurrency,
        max_deliver=queue.max_attempts + DELIVERY_HEADROOM,
        ack_wait=queue.ack_wait,
        backoff=redelivery_schedule(queue) or None,
        pause_until=PAUSED_UNTIL if queue.paused else None,
    )
