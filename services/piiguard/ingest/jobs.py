"""Ingest's scheduled job: the reconciliation sweep (docs/schedules.md).

Each fired ``piiguard.jobs.sweep.<ws>`` runs the history sweep
(:func:`piiguard.sweep.run.run_sweep`, job ``reconcile``) over the policy's
watched channels (every channel the bot is a member of when ``channels.include``
is empty) and the last ``schedules.sweepWindow``, submitting through ingest's own
handler into the bulk lane: a message the Events API never delivered is scanned
and acted on like any other, one already scanned (live or by an earlier sweep) is
skipped at ingest, and action's effect ledger keeps anything from being deleted
or its author told twice. Channels the bot could not read are recorded, by id and
Slack's error code, in ``piiguard-jobs`` (``<ws>.sweep``) for the digest.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from nats.js import JetStreamContext

from piiguard.errors import PermanentError, TransientError
from piiguard.jetstream import BUCKET_JOBS, subject_token
from piiguard.policy_store import PolicyLookup
from piiguard.schedules import Job
from piiguard.settings import Settings
from piiguard.slack_credentials import CredentialSource
from piiguard.v1 import event_pb2, ingest_pb2

log = logging.getLogger(__name__)

Submit = Callable[[event_pb2.Event], Awaitable[ingest_pb2.SubmitEventResponse]]


@dataclass
class SweepResult:
    """What one scheduled sweep did, in ids and counts (no text)."""

    channels: int = 0
    read: int = 0
    submitted: int = 0
    unreadable: dict[str, str] = field(default_factory=dict)  # channel id -> Slack error code

    def record(self) -> bytes:
        return json.dumps({"at": time.time(), "channels": self.channels, "read": self.read,
                           "submitted": self.submitted, "unreadable": self.unreadable}).encode()


def result_key(workspace: str) -> str:
    return f"{subject_token(workspace)}.sweep"


class SweepJob:
    """Runs ``sweep`` jobs for ingest."""

    def __init__(self, js: JetStreamContext, config: Settings, policy_for: PolicyLookup,
                 credentials: CredentialSource, submit: Submit) -> None:
        self.js = js
        self.config = config
        self.policy_for = policy_for
        self.credentials = credentials
        self.submit = submit

    async def handle(self, job: Job) -> None:
        policy = self.policy_for(job.team_id)
        if policy is None:
            raise PermanentError(f"no policy for workspace {subject_token(job.workspace)}")
        credentials = await self.credentials.for_workspace(job.team_id)
        if credentials is None or not credentials.bot_token:
            raise PermanentError("no bot token to read channel history with (SLACK_BOT_TOKEN)")
        from slack_sdk.errors import SlackApiError

        from piiguard.sweep.history import history_client
        from piiguard.sweep.run import run_sweep

        client = history_client(credentials.bot_token, self.config.slack_api_url)
        oldest = f"{time.time() - job.window:.6f}"
        try:
            summary = await run_sweep(self.config, policy, list(policy.channels.include), oldest,
                                      js=self.js, workspace=job.team_id, job="reconcile",
                                      slack=client, submit=self.submit)
        except SlackApiError as exc:  # users.conversations refused: the token or Slack
            raise TransientError(f"slack: {str(exc.response.get('error') or 'error')[:64]}") from None
        total = summary.total
        result = SweepResult(channels=len(summary.channels), read=total.read,
                             submitted=total.submitted, unreadable=summary.unreadable)
        kv = await self.js.key_value(BUCKET_JOBS)
        await kv.put(result_key(job.workspace), result.record())
        log.info("scheduled sweep of %s: %d channel(s), %d read, %d submitted, %d unreadable",
                 subject_token(job.workspace), result.channels, result.read, result.submitted,
                 len(result.unreadable))
