"""Action's one handler: delete the message, then DM its author — each exactly once.

Called by the ``PIIGUARD_VERDICTS`` consumer and by gRPC ``Action.Execute``.
Redelivery is expected (a crash after the Slack call, before the ack), so each
effect is recorded in the ``piiguard-actions`` key-value bucket, keyed by
workspace, channel and message ts, and consulted first:

- delete: ``<key>.deleted``. Slack's ``message_not_found`` also means done.
- DM: ``<key>.notify-pending`` is a claim, created atomically before posting
  (only one delivery can create it), and ``<key>.notified`` is written after.
  JetStream can hand the same message to two workers at once (a redelivery after
  a server restart while the first is still at work): the second finds a fresh
  claim and backs off. A claim older than its lease means the holder died
  mid-way (a delivery whose post fails expires its own claim at once): the next
  delivery takes it over (compare-and-set on its revision),
  checks the DM channel's recent messages for our notice (its metadata carries
  the channel and ts), and posts only if it is not there.

The claim (:func:`claim_effect`, :func:`release_claim`) also keeps the scheduled
digest to one post per firing (``piiguard.action.jobs``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import TypeAlias

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from piiguard import metrics
from piiguard.action.notice import NOTICE_EVENT_TYPE, compose
from piiguard.action.notion import NotionEffects
from piiguard.action.notion_flow import handle_notion
from piiguard.action.slack import SlackGateway, SlackGateways
from piiguard.audit import AuditTrail, Step
from piiguard.errors import PermanentError, TransientError
from piiguard.jetstream import BUCKET_ACTIONS, subject_token
from piiguard.policy import Policy
from piiguard.policy_store import PolicyLookup
from piiguard.v1 import action_pb2, detection_pb2, event_pb2

log = logging.getLogger(__name__)

Status = action_pb2.StepStatus
StatusValue: TypeAlias = action_pb2.StepStatus.ValueType


def effect_key(event: event_pb2.Event, effect: str) -> str:
    """``<workspace>.<channel>.<ts>.<effect>``: one message, one effect."""
    return ".".join((subject_token(event.workspace_id), subject_token(event.channel_id),
                     subject_token(event.ts), effect))


class ActionHandler:
    def __init__(self, js: JetStreamContext, slack: SlackGateway | SlackGateways,
                 policy_for: PolicyLookup, notion: NotionEffects | None = None) -> None:
        self.js = js
        self.slack = slack
        self.notion = notion or NotionEffects(None)
        self.policy_for = policy_for
        self.audit = AuditTrail(js, "action")
        self._kv: KeyValue | None = None

    async def kv(self) -> KeyValue:
        if self._kv is None:
            self._kv = await self.js.key_value(BUCKET_ACTIONS)
        return self._kv

    async def handle(self, request: action_pb2.ActionRequest) -> action_pb2.ActionOutcome:
        event, result = request.event, request.result
        policy = self.policy_for(event.workspace_id)
        if policy is None:
            raise PermanentError("no policy for this workspace")
        outcome = action_pb2.ActionOutcome(
            event_id=event.event_id,
            delete=Status.STEP_STATUS_SKIPPED,
            notify=Status.STEP_STATUS_SKIPPED,
        )
        slack = self.slack if isinstance(self.slack, SlackGateway) else \
            await self.slack.for_workspace(event.workspace_id)
        if event.source == event_pb2.SOURCE_PLATFORM_NOTION:
            await handle_notion(self, self.notion, slack, event, result, policy, outcome)
            return outcome
        if result.verdict == detection_pb2.VERDICT_DELETE:
            with _counted("delete") as counted:
                outcome.delete = counted(await self._delete(slack, event))
        if result.verdict in (detection_pb2.VERDICT_DELETE, detection_pb2.VERDICT_NOTIFY):
            with _counted("notify") as counted:
                outcome.notify = counted(await self._notify(slack, event, result, policy))
        return outcome

    async def _delete(self, slack: SlackGateway, event: event_pb2.Event) -> action_pb2.StepStatus.ValueType:
        kv = await self.kv()
        key = effect_key(event, "deleted")
        if await _exists(kv, key):
            status = Status.STEP_STATUS_ALREADY_DONE
        else:
            deleted_now = await slack.delete_message(event.channel_id, event.ts)
            for file in event.files:
                with _counted("file_delete") as counted:
                    counted(Status.STEP_STATUS_DONE if await slack.delete_file(file.id)
                            else Status.STEP_STATUS_ALREADY_DONE)
            await kv.put(key, event.event_id.encode())
            log.info("deleted %s channel=%s%s", event.event_id, event.channel_id,
                     "" if deleted_now else " (already gone)")
            status = Status.STEP_STATUS_DONE if deleted_now else Status.STEP_STATUS_ALREADY_DONE
        # Recorded on every path (the audit stream de-duplicates it): a crash between
        # the effect and its record must not leave the trail incomplete.
        await self.audit.record(event, Step.LIFECYCLE_STEP_DELETED)
        return status

    async def _notify(
        self, slack: SlackGateway, event: event_pb2.Event, result: detection_pb2.DetectionResult,
        policy: Policy,
    ) -> action_pb2.StepStatus.ValueType:
        status = await self._notify_once(slack, event, result, policy)
        await self.audit.record(event, Step.LIFECYCLE_STEP_NOTIFIED, verdict=result.verdict,
                                findings=result.findings)
        return status

    async def _notify_once(
        self, slack: SlackGateway, event: event_pb2.Event, result: detection_pb2.DetectionResult,
        policy: Policy,
    ) -> action_pb2.StepStatus.ValueType:
        kv = await self.kv()
        done_key = effect_key(event, "notified")
        pending_key = effect_key(event, "notify-pending")
        if await _exists(kv, done_key):
            return Status.STEP_STATUS_ALREADY_DONE
        channel = await slack.open_dm(event.user_id)
        recovered = await self._claim(kv, pending_key, event, lease=claim_lease(policy))
        if recovered and await self._notice_already_sent(slack, channel, event):
            await kv.put(done_key, event.event_id.encode())
            return Status.STEP_STATUS_ALREADY_DONE
        text, blocks, metadata = compose(event, result, policy.actions.message)
        try:
            await slack.post_message(channel, text, blocks, metadata)
        except Exception:
            await self._release(kv, pending_key, event)
            raise
        await kv.put(done_key, event.event_id.encode())
        log.info("notified author of %s kinds=%s", event.event_id,
                 ",".join(sorted({f.entity_type for f in result.findings})))
        return Status.STEP_STATUS_DONE

    async def _claim(self, kv: KeyValue, key: str, event: event_pb2.Event, lease: float) -> bool:
        return await claim_effect(kv, key, event.event_id, lease=lease)

    async def _release(self, kv: KeyValue, key: str, event: event_pb2.Event) -> None:
        await release_claim(kv, key, event.event_id)

    async def _notice_already_sent(self, slack: SlackGateway, channel: str, event: event_pb2.Event) -> bool:
        for message in await slack.recent_bot_messages(channel):
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == NOTICE_EVENT_TYPE and \
                    payload.get("channel") == event.channel_id and payload.get("ts") == event.ts:
                return True
        return False


_OUTCOMES: dict[int, metrics.ActionOutcome] = {
    Status.STEP_STATUS_DONE: "done",
    Status.STEP_STATUS_ALREADY_DONE: "already_done",
}


@contextlib.contextmanager
def _counted(action: metrics.ActionName) -> Iterator[Callable[[StatusValue], StatusValue]]:
    """piiguard_actions_total for one effect: its status when it completes, ``failed``
    when it raises (it is then retried or dead-lettered, and counted again)."""
    def counted(status: StatusValue) -> StatusValue:
        metrics.ACTIONS.labels(action, _OUTCOMES.get(status, "done")).inc()
        return status

    try:
        yield counted
    except Exception:
        metrics.ACTIONS.labels(action, "failed").inc()
        raise


async def claim_effect(kv: KeyValue, key: str, owner: str, *, lease: float) -> bool:
    """Claim the right to carry out the effect ``key`` (a post: a DM, a digest).
    False: a fresh claim, no earlier attempt. True: an expired claim taken over — an
    earlier attempt died and may have posted, so look before posting. Raises
    TransientError while another delivery holds the claim."""
    now = time.time()
    value = f"{owner} {now:.3f}".encode()
    try:
        await kv.create(key, value)
        return False
    except KeyWrongLastSequenceError:
        pass
    entry = await kv.get(key)
    claimed_at = _claim_time(entry.value)
    if now - claimed_at < lease:
        raise TransientError("effect being carried out by another delivery",
                             retry_after=lease - (now - claimed_at) + 0.5)
    try:
        await kv.update(key, value, last=entry.revision)
    except KeyWrongLastSequenceError:
        raise TransientError("effect being carried out by another delivery") from None
    return True


async def release_claim(kv: KeyValue, key: str, owner: str) -> None:
    """This delivery failed and is no longer at work: expire its claim so the retry
    takes over at once (looking for the effect first, as after a crash) instead of
    waiting out the lease. Best effort: if NATS is away, the lease expires anyway."""
    with contextlib.suppress(Exception):
        await kv.put(key, f"{owner} 0".encode())


def claim_lease(policy: Policy) -> float:
    """How long a notice claim holds: well beyond one Slack call with its retries."""
    return max(30.0, 3 * policy.queues.action.ack_wait)


def _claim_time(value: bytes | None) -> float:
    try:
        return float((value or b"").split()[-1])
    except (ValueError, IndexError):
        return 0.0  # an older or unreadable claim: treat as expired


async def _exists(kv: KeyValue, key: str) -> bool:
    try:
        entry = await kv.get(key)
    except KeyNotFoundError:
        return False
    return entry is not None and entry.value is not None
