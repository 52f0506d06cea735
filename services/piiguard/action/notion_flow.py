"""What action does about a Notion page version: trash the page, then tell the
responsible people in Slack — each effect exactly once, through the same
``piiguard-actions`` ledger as Slack's delete and DM.

Keys: ``<workspace>.notion.<page>.trashed`` (once per page: a trashed page is
done), ``<workspace>.notion.<page>.<version>.notified.<user>`` and
``...notify-pending.<user>`` (once per page version and person, with the same
claim as a Slack DM), ``<workspace>.notion.<page>.<version>.admin-notified``.

A person is found in Slack by email: Notion's ``person.email`` then Slack's
``users.lookupByEmail``. Without an email, or with no such Slack member, the page
is still trashed, the audit trail says why no DM went out (never the email), and
the policy's ``actions.adminChannel`` (if any) gets one notice per page version.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from piiguard.action.notion import NotionEffects
from piiguard.action.notion_notice import compose_admin_notice, compose_dm
from piiguard.action.slack import SlackGateway
from piiguard.audit import Step
from piiguard.jetstream import subject_token
from piiguard.policy import Policy
from piiguard.v1 import action_pb2, detection_pb2, event_pb2

if TYPE_CHECKING:
    from piiguard.action.handler import ActionHandler

log = logging.getLogger(__name__)
Status = action_pb2.StepStatus

NO_EMAIL = "the author has no email address in Notion (a bot, a guest, or the integration " \
           "lacks the user-information capability)"
NO_SLACK_USER = "no Slack member has the author's email address"


def notion_key(event: event_pb2.Event, *parts: str) -> str:
    return ".".join((subject_token(event.workspace_id), "notion",
                     subject_token(event.notion.page_id), *map(subject_token, parts)))


async def handle_notion(handler: ActionHandler, notion: NotionEffects, slack: SlackGateway,
                        event: event_pb2.Event, result: detection_pb2.DetectionResult,
                        policy: Policy, outcome: action_pb2.ActionOutcome) -> None:
    from piiguard.action.handler import _counted, _exists

    kv = await handler.kv()
    version = event.notion.content_hash[:16] or "v"
    if result.verdict == detection_pb2.VERDICT_DELETE:
        with _counted("trash") as counted:
            key = notion_key(event, "trashed")
            if await _exists(kv, key):
                status = Status.STEP_STATUS_ALREADY_DONE
            else:
                now = await notion.trash(event.notion.page_id, event.workspace_id)
                await kv.put(key, event.event_id.encode())
                log.info("trashed notion page %s for %s%s", event.notion.page_id, event.event_id,
                         "" if now else " (already in the trash)")
                status = Status.STEP_STATUS_DONE if now else Status.STEP_STATUS_ALREADY_DONE
            outcome.delete = counted(status)
        await handler.audit.record(event, Step.LIFECYCLE_STEP_DELETED, reason="moved to the Notion trash")
    if result.verdict not in (detection_pb2.VERDICT_DELETE, detection_pb2.VERDICT_NOTIFY):
        return
    told, reasons = 0, []
    statuses = []
    for person in event.notion.responsible or [event.user_id]:
        done_key = notion_key(event, version, "notified", person)
        if await _exists(kv, done_key):
            statuses.append(Status.STEP_STATUS_ALREADY_DONE)
            told += 1
            continue
        email = await notion.email_of(person, event.workspace_id) if person else None
        if not email:
            reasons.append(NO_EMAIL)
            continue
        slack_user = await slack.user_by_email(email)
        if slack_user is None:
            reasons.append(NO_SLACK_USER)
            continue
        with _counted("notify") as counted:
            pending_key = notion_key(event, version, "notify-pending", person)
            statuses.append(counted(await _dm_once(handler, slack, event, result, policy, slack_user,
                                                   done_key, pending_key)))
        told += 1
    if statuses:
        outcome.notify = Status.STEP_STATUS_DONE if Status.STEP_STATUS_DONE in statuses \
            else Status.STEP_STATUS_ALREADY_DONE
    if told:
        await handler.audit.record(event, Step.LIFECYCLE_STEP_NOTIFIED, verdict=result.verdict,
                                   findings=result.findings)
        return
    why = "; ".join(dict.fromkeys(reasons)) or NO_EMAIL
    log.info("not notified %s: %s", event.event_id, why)
    await handler.audit.record(event, Step.LIFECYCLE_STEP_NOTIFIED, verdict=result.verdict,
                               findings=result.findings, reason=f"no DM: {why}")
    channel = policy.actions.admin_channel
    if channel:
        admin_key = notion_key(event, version, "admin-notified")
        if not await _exists(kv, admin_key):
            text, blocks = compose_admin_notice(event, result, why)
            await slack.post_message(channel, text, blocks, None)
            await kv.put(admin_key, event.event_id.encode())


async def _dm_once(handler: ActionHandler, slack: SlackGateway, event: event_pb2.Event,
                   result: detection_pb2.DetectionResult, policy: Policy, slack_user: str,
                   done_key: str, pending_key: str) -> action_pb2.StepStatus.ValueType:
    from piiguard.action.handler import claim_lease

    kv = await handler.kv()
    channel = await slack.open_dm(slack_user)
    recovered = await handler._claim(kv, pending_key, event, lease=claim_lease(policy))
    if recovered and await _already_sent(slack, channel, event):
        await kv.put(done_key, event.event_id.encode())
        return Status.STEP_STATUS_ALREADY_DONE
    text, blocks, metadata = compose_dm(event, result, policy.actions.message)
    try:
        await slack.post_message(channel, text, blocks, metadata)
    except Exception:
        await handler._release(kv, pending_key, event)
        raise
    await kv.put(done_key, event.event_id.encode())
    log.info("notified author of %s kinds=%s", event.event_id,
             ",".join(sorted({f.entity_type for f in result.findings})))
    return Status.STEP_STATUS_DONE


async def _already_sent(slack: SlackGateway, channel: str, event: event_pb2.Event) -> bool:
    for message in await slack.recent_bot_messages(channel):
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        if payload.get("notion_page") == event.notion.page_id and \
                payload.get("version") == event.notion.content_hash[:16]:
            return True
    return False
