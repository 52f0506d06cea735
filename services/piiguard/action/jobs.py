"""Action's scheduled jobs (docs/schedules.md): it holds the workspaces' tokens
and posts as the bot, so it checks the tokens and posts the digest.

* ``tokencheck``: ``auth.test`` with the bot token and the admin token. The
  outcome (per token ``ok`` or Slack's error code, and when) is written to
  ``piiguard-jobs`` under ``<ws>.tokens``; the operator shows a failure in the
  PiiPolicy's status (condition ``TokensValid``). A token Slack refuses is a
  result, not a failure of the job; Slack unreachable is retried.
* ``digest``: when ``actions.adminChannel`` is set, the bot posts there what
  happened over the last 24 hours, from the audit trail: messages deleted and
  authors told, by kind and by channel; dead letters waiting; channels the last
  scheduled sweep could not read. Counts, kinds and channel ids only — never
  text, values or who wrote what. Posted once per firing of its schedule, through
  the same ``piiguard-actions`` ledger (and claim) as a DM: ``<ws>.digest.<firing>.
  post-pending`` before posting, ``...posted`` after; a delivery that takes over an
  expired claim (the holder died between the post and the ack) looks for the
  digest's metadata in the admin channel before posting.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, NotFoundError

from piiguard.action.handler import _exists, claim_effect, release_claim
from piiguard.action.slack import SlackGateway, SlackGateways
from piiguard.errors import PermanentError, TransientError
from piiguard.jetstream import (
    BUCKET_ACTIONS,
    BUCKET_JOBS,
    JOB_ACK_WAIT_SECONDS,
    STREAM_AUDIT,
    STREAM_DLQ,
    dead_letter_filter,
    first_sequence_since,
    read_subject,
    subject_token,
)
from piiguard.policy_store import PolicyLookup
from piiguard.schedules import Job
from piiguard.slack_credentials import CredentialSource
from piiguard.v1 import audit_pb2

log = logging.getLogger(__name__)

DAY_SECONDS = 86400.0
ANY_WORKSPACE = "_"
TOKENS = (("bot", "bot_token"), ("admin", "admin_token"))
DIGEST_EVENT_TYPE = "piiguard_digest"  # the digest's message metadata: which firing it is
# A digest's claim: a delivery holding it is alive (its in_progress heartbeats keep
# the job from being redelivered), so a redelivery a whole ack wait later means the
# holder died.
DIGEST_CLAIM_LEASE = JOB_ACK_WAIT_SECONDS / 2


def tokens_key(workspace: str) -> str:
    return f"{subject_token(workspace)}.tokens"


def sweep_key(workspace: str) -> str:
    return f"{subject_token(workspace)}.sweep"


class TokenCheck:
    def __init__(self, js: JetStreamContext, credentials: CredentialSource, base_url: str) -> None:
        self.js = js
        self.credentials = credentials
        self.base_url = base_url

    async def handle(self, job: Job) -> None:
        from slack_sdk.errors import SlackApiError
        from slack_sdk.web.async_client import AsyncWebClient

        credentials = await self.credentials.for_workspace(job.team_id)
        outcome: dict[str, str] = {}
        for name, attribute in TOKENS:
            token = getattr(credentials, attribute, "") if credentials is not None else ""
            if not token:
                outcome[name] = "missing"
                continue
            client = AsyncWebClient(token=token, base_url=self.base_url, timeout=10)
            try:
                await client.auth_test()
                outcome[name] = "ok"
            except SlackApiError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                if status == 429 or status >= 500:
                    raise TransientError(f"slack auth.test: HTTP {status}") from None
                outcome[name] = str(exc.response.get("error") or "error")[:64]
            except Exception as exc:
                raise TransientError(f"slack auth.test: {type(exc).__name__}") from None
        healthy = all(value == "ok" for value in outcome.values())
        kv = await self.js.key_value(BUCKET_JOBS)
        await kv.put(tokens_key(job.workspace), json.dumps(
            {"at": time.time(), "ok": healthy, "tokens": outcome}, sort_keys=True).encode())
        if healthy:
            log.info("token check of %s: ok", subject_token(job.workspace))
        else:
            log.error("token check of %s: %s", subject_token(job.workspace),
                      ", ".join(f"{k} {v}" for k, v in outcome.items() if v != "ok"))


@dataclass
class DayFigures:
    """What the digest says: counts by kind and channel (ids), nothing else."""

    deleted: int = 0
    notified: int = 0
    deleted_kinds: Counter[str] = field(default_factory=Counter)
    notified_kinds: Counter[str] = field(default_factory=Counter)
    channels: Counter[str] = field(default_factory=Counter)
    dead_letters: int = 0
    unreadable: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        def counts(counter: Counter[str], mention: bool = False) -> str:
            items = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
            return ", ".join(f"{f'<#{k}>' if mention else k} {v}" for k, v in items) or "none"

        lines = [
            "*PII Guard: the last 24 hours*",
            f"Messages deleted: {self.deleted} (by kind: {counts(self.deleted_kinds)})",
            f"Authors told (notices): {self.notified} (by kind: {counts(self.notified_kinds)})",
            f"Messages acted on, by channel: {counts(self.channels, mention=True)}",
            f"Dead letters waiting: {self.dead_letters}"
            + (" (see `piiguard dlq list`)" if self.dead_letters else ""),
        ]
        if self.unreadable:
            lines.append("Channels I could not read: " + ", ".join(
                f"<#{channel}> ({code})" for channel, code in sorted(self.unreadable.items())))
        return "\n".join(lines)


async def day_figures(js: JetStreamContext, workspace: str, *, since: float) -> DayFigures:
    """The figures of ``workspace`` from ``since`` (epoch seconds) on (``_``: the
    local policy's, which serves every workspace its tokens reach)."""
    figures = DayFigures()
    kinds_of: dict[str, list[str]] = {}
    acted_on: set[str] = set()  # a message deleted and its author told counts once per channel
    start = await first_sequence_since(js, STREAM_AUDIT, since)
    if start is not None:
        async for raw in read_subject(js, STREAM_AUDIT, "piiguard.audit.*", start=start):
            record = audit_pb2.AuditRecord()
            try:
                record.ParseFromString(raw.data or b"")
            except Exception:
                continue
            if workspace != ANY_WORKSPACE and subject_token(record.workspace_id) != workspace:
                continue
            if record.step == audit_pb2.LIFECYCLE_STEP_SCANNED:
                kinds_of[record.correlation_id] = sorted({e.entity_type for e in record.entities})
            elif record.step in (audit_pb2.LIFECYCLE_STEP_DELETED, audit_pb2.LIFECYCLE_STEP_NOTIFIED):
                kinds = kinds_of.get(record.correlation_id) or ["unknown"]
                if record.step == audit_pb2.LIFECYCLE_STEP_DELETED:
                    figures.deleted += 1
                    figures.deleted_kinds.update(kinds)
                else:
                    figures.notified += 1
                    figures.notified_kinds.update(kinds)
                if record.channel_id and record.correlation_id not in acted_on:
                    acted_on.add(record.correlation_id)
                    figures.channels[record.channel_id] += 1
    try:
        info = await js.stream_info(STREAM_DLQ, subjects_filter=dead_letter_filter(
            workspace=None if workspace == ANY_WORKSPACE else workspace))
        figures.dead_letters = sum((info.state.subjects or {}).values())
    except NotFoundError:
        pass
    kv = await js.key_value(BUCKET_JOBS)
    try:
        entry = await kv.get(sweep_key(workspace))
        unreadable = json.loads(entry.value or b"{}").get("unreadable") or {}
        figures.unreadable = {str(k): str(v)[:64] for k, v in unreadable.items()}
    except (KeyNotFoundError, ValueError, AttributeError):
        pass
    return figures


class Digest:
    def __init__(self, js: JetStreamContext, policy_for: PolicyLookup, slack: SlackGateways) -> None:
        self.js = js
        self.policy_for = policy_for
        self.slack = slack

    async def handle(self, job: Job) -> None:
        policy = self.policy_for(job.team_id)
        if policy is None:
            raise PermanentError(f"no policy for workspace {subject_token(job.workspace)}")
        channel = policy.actions.admin_channel
        if not channel:
            log.info("digest of %s: no actions.adminChannel, nothing posted", subject_token(job.workspace))
            return
        workspace = subject_token(job.workspace)
        kv = await self.js.key_value(BUCKET_ACTIONS)
        done_key, pending_key = digest_key(job, "posted"), digest_key(job, "post-pending")
        if await _exists(kv, done_key):
            log.info("digest of %s (firing %d) already posted", workspace, job.firing)
            return
        figures = await day_figures(self.js, workspace, since=time.time() - DAY_SECONDS)
        gateway = await self.slack.for_workspace(job.team_id)
        owner = f"digest-{workspace}-{job.firing}"
        recovered = await claim_effect(kv, pending_key, owner, lease=DIGEST_CLAIM_LEASE)
        if recovered and await _digest_already_posted(gateway, channel, job):
            await kv.put(done_key, owner.encode())
            log.info("digest of %s (firing %d) was posted before a crash: not posted again",
                     workspace, job.firing)
            return
        text = figures.text()
        blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        metadata = {"event_type": DIGEST_EVENT_TYPE,
                    "event_payload": {"workspace": workspace, "firing": str(job.firing)}}
        try:
            await gateway.post_message(channel, text, blocks, metadata)
        except Exception:
            await release_claim(kv, pending_key, owner)
            raise
        await kv.put(done_key, owner.encode())
        log.info("digest of %s posted: %d deleted, %d notices, %d dead letters",
                 workspace, figures.deleted, figures.notified, figures.dead_letters)


def digest_key(job: Job, effect: str) -> str:
    """``<workspace>.digest.<firing>.<effect>`` in the ``piiguard-actions`` ledger."""
    return f"{subject_token(job.workspace)}.digest.{job.firing}.{effect}"


async def _digest_already_posted(gateway: SlackGateway, channel: str, job: Job) -> bool:
    for message in await gateway.recent_bot_messages(channel):
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == DIGEST_EVENT_TYPE and \
                payload.get("workspace") == subject_token(job.workspace) and \
                payload.get("firing") == str(job.firing):
            return True
    return False
