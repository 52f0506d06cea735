"""The whole slice, end to end: signed Slack events in, Slack Web API calls out.

Real nats-server, real service processes, real Presidio, real slack_sdk talking
HTTP to a Slack stand-in. Nothing of ours is mocked.
"""

from __future__ import annotations

import time

import grpc
import pytest

from piiguard.v1 import detection_pb2, detection_pb2_grpc, event_pb2, ingest_pb2, ingest_pb2_grpc
from tests.support import slack_events
from tests.support.slack_standin import BOT_USER_ID

from .conftest import EXCLUDED_CHANNEL, SUBMITTER, Harness, wait_for

pytestmark = pytest.mark.e2e

CARD_TEXT = "my card is 4539 1488 0343 6467 exp 04/28"
SSN_TEXT = "for the payroll form, my SSN is 536-22-8471"
CLEAN_TEXT = "lunch at noon? the new build is 4.2.1 and ticket 4539 is done"

# Every PII value a test posts; none may ever appear in any service's output.
GITHUB_TOKEN = "ghp_" + "R8x2Lq7VmN4pK9sT3wY6zA1cD5fG0hJ2kE7u"
DIAGNOSIS = "Dana Reyes was diagnosed with multiple sclerosis last week, she'll be out for a while"
LOOK_ALIKES = [
    "merged 3f9c2a7b1e4d6f8a9b0c1d2e3f4a5b6c7d8e9f0a into main",
    "flu season again, half the office is out sick",
    "our diabetes feature ships Friday, version 2.14.3",
    "the example key AKIAIOSFODNN7EXAMPLE from the AWS docs",
]
POSTED_SECRETS = [GITHUB_TOKEN, "multiple sclerosis",
                  "4539 1488 0343 6467", "536-22-8471", "5105 1051 0510 5100", "4111 1111 1111 1111",
                  "378282246310005", "6011 1111 1111 1117"]


def quoted_texts(blocks: list[dict]) -> list[str]:
    return [
        element["text"]
        for block in blocks if block.get("type") == "rich_text"
        for quote in block["elements"] if quote.get("type") == "rich_text_quote"
        for element in quote["elements"] if element.get("type") == "text"
    ]


def test_card_number_is_deleted_and_author_told(harness: Harness) -> None:
    payload = slack_events.message_event(CARD_TEXT, user="UALICE", channel="C0001")
    ts = payload["event"]["ts"]

    answer = harness.post(payload)

    assert answer.status == 200 and answer.body["status"] == "SUBMIT_STATUS_ACCEPTED"
    delete = wait_for(lambda: harness.deletes_of(ts))
    assert delete[0].args["channel"] == "C0001"
    assert delete[0].token == "xoxp-test-admin-token"  # the admin user token deletes
    dm = wait_for(lambda: harness.dms_about(ts))
    assert dm[0].token == "xoxb-test-bot-token"  # the bot DMs
    assert dm[0].args["channel"] == "DUALICE"
    opened = [c for c in harness.slack.calls("conversations.open") if c.args.get("users") == "UALICE"]
    assert opened
    blocks = dm[0].args["blocks"]
    assert quoted_texts(blocks) == [CARD_TEXT]
    intro = blocks[0]["text"]["text"]
    assert "credit card number" in intro
    assert "4539" not in dm[0].args["text"]  # push-notification text carries no PII
    harness.quiet()  # nothing left in flight that could act again
    assert len(harness.deletes_of(ts)) == 1 and len(harness.dms_about(ts)) == 1


def test_thread_reply_with_ssn_is_deleted(harness: Harness) -> None:
    payload = slack_events.message_event(SSN_TEXT, user="UBOB", thread_ts="1700000000.000100")
    ts = payload["event"]["ts"]
    assert harness.post(payload).status == 200
    wait_for(lambda: harness.deletes_of(ts))
    dm = wait_for(lambda: harness.dms_about(ts))
    assert "social security number" in dm[0].args["blocks"][0]["text"]["text"]


@pytest.mark.parametrize("channel_type,channel", [("group", "G0001"), ("mpim", "G0002")])
def test_private_channels_and_group_dms_are_watched(
    harness: Harness, channel_type: str, channel: str
) -> None:
    payload = slack_events.message_event("card 5105 1051 0510 5100 thanks", channel=channel,
                                         channel_type=channel_type)
    assert harness.post(payload).status == 200
    wait_for(lambda: harness.deletes_of(payload["event"]["ts"]))


def test_edited_message_is_scanned(harness: Harness) -> None:
    ts = f"{time.time():.6f}"
    payload = slack_events.edited_event("actually use 4111 1111 1111 1111", "use my usual card", ts=ts)
    assert harness.post(payload).status == 200
    wait_for(lambda: harness.deletes_of(ts))


def test_thread_broadcast_is_scanned(harness: Harness) -> None:
    payload = slack_events.message_event("amex 378282246310005 for the vendor", subtype="thread_broadcast",
                                         thread_ts="1700000000.000200")
    assert harness.post(payload).status == 200
    wait_for(lambda: harness.deletes_of(payload["event"]["ts"]))


def test_github_token_and_colleague_diagnosis_are_deleted(harness: Harness) -> None:
    token = slack_events.message_event(f"CI needs this: GITHUB_TOKEN={GITHUB_TOKEN}", user="UDEV")
    health = slack_events.message_event(DIAGNOSIS, user="UMANAGER")
    assert harness.post(token).status == 200 and harness.post(health).status == 200
    token_dm = wait_for(lambda: harness.dms_about(token["event"]["ts"]))
    health_dm = wait_for(lambda: harness.dms_about(health["event"]["ts"]))
    assert harness.deletes_of(token["event"]["ts"]) and harness.deletes_of(health["event"]["ts"])
    assert "GitHub token" in token_dm[0].args["blocks"][0]["text"]["text"]
    assert "health information" in health_dm[0].args["blocks"][0]["text"]["text"]


def test_look_alikes_are_left_alone(harness: Harness) -> None:
    payloads = [slack_events.message_event(text) for text in LOOK_ALIKES]
    for payload in payloads:
        assert harness.post(payload).status == 200
    verdicts = {p["event"]["text"]: harness.scanned(p["event_id"]).verdict for p in payloads}
    assert verdicts == dict.fromkeys(LOOK_ALIKES, detection_pb2.VERDICT_ALLOW)
    assert [c for p in payloads for c in harness.deletes_of(p["event"]["ts"])] == []


def test_clean_message_is_never_touched(harness: Harness) -> None:
    payload = slack_events.message_event(CLEAN_TEXT)
    ts = payload["event"]["ts"]
    assert harness.post(payload).status == 200
    assert harness.scanned(payload["event_id"]).verdict == detection_pb2.VERDICT_ALLOW
    assert harness.deletes_of(ts) + harness.dms_about(ts) == []


def test_slack_retry_of_the_same_event_is_acted_on_once(harness: Harness) -> None:
    payload = slack_events.message_event("discover 6011 1111 1111 1117 pls", user="UCAROL")
    ts = payload["event"]["ts"]
    first = harness.post(payload)
    retry = harness.post(payload, retry_num=1)
    again = harness.post(payload, retry_num=2)
    assert (first.status, retry.status, again.status) == (200, 200, 200)
    assert retry.body["status"] == "SUBMIT_STATUS_DUPLICATE"
    wait_for(lambda: harness.dms_about(ts))
    harness.quiet()
    assert len(harness.deletes_of(ts)) == 1
    assert len(harness.dms_about(ts)) == 1


def test_own_bot_messages_are_not_scanned(harness: Harness) -> None:
    # PII Guard's own DM quotes the original text: scanning it would loop.
    payload = slack_events.message_event(CARD_TEXT, user=BOT_USER_ID, channel="DUALICE", channel_type="im")
    answer = harness.post(payload)
    assert answer.status == 200 and answer.body.get("ignored") == "own bot message"
    bot_post = slack_events.message_event(CARD_TEXT, user=BOT_USER_ID)
    assert harness.post(bot_post).body.get("ignored") == "own bot message"
    assert harness.never_published(payload["event_id"]) and harness.never_published(bot_post["event_id"])
    assert harness.deletes_of(bot_post["event"]["ts"]) == []


def test_unwatched_channel_is_never_scanned(harness: Harness) -> None:
    payload = slack_events.message_event(CARD_TEXT, channel=EXCLUDED_CHANNEL)
    answer = harness.post(payload)
    assert answer.status == 200 and answer.body["status"] == "SUBMIT_STATUS_IGNORED"
    assert harness.steps(payload["event_id"]) == ["IGNORED"]  # recorded, never published
    assert harness.deletes_of(payload["event"]["ts"]) == []


@pytest.mark.parametrize("subtype", ["message_deleted", "channel_join", "channel_leave", "bot_message"])
def test_non_message_subtypes_are_ignored(harness: Harness, subtype: str) -> None:
    payload = slack_events.message_event(CARD_TEXT, subtype=subtype)
    answer = harness.post(payload)
    assert answer.status == 200 and "ignored" in answer.body


def test_bad_signature_is_refused_and_nothing_published(harness: Harness) -> None:
    before = harness.stream_messages()
    payload = slack_events.message_event(CARD_TEXT)
    answer = harness.post(payload, secret="not-the-signing-secret")
    assert answer.status == 401
    unsigned = harness.post(payload, headers={"X-Slack-Signature": ""})
    assert unsigned.status == 401
    assert harness.stream_messages() == before
    assert harness.never_published(payload["event_id"])
    assert harness.deletes_of(payload["event"]["ts"]) == []


def test_six_minute_old_timestamp_is_refused(harness: Harness) -> None:
    before = harness.stream_messages()
    payload = slack_events.message_event(CARD_TEXT)
    answer = harness.post(payload, timestamp=int(time.time()) - 6 * 60)
    assert answer.status == 401
    assert harness.stream_messages() == before


def test_malformed_json_is_answered_400_and_nothing_breaks(harness: Harness) -> None:
    assert harness.post(raw=b"{not json").status == 400
    assert harness.post(raw=b'["a", "list"]').status == 400
    no_event = {"type": "event_callback", "team_id": "T0001", "event_id": "EvBROKEN"}
    assert harness.post(no_event).status == 400
    # The pipeline still works afterwards.
    payload = slack_events.message_event("card 4111 1111 1111 1111 again")
    assert harness.post(payload).status == 200
    wait_for(lambda: harness.deletes_of(payload["event"]["ts"]))


def test_url_verification_challenge_is_answered(harness: Harness) -> None:
    answer = harness.post({"type": "url_verification", "challenge": "abc123", "token": "x"})
    assert answer.status == 200 and answer.body == {"challenge": "abc123"}


def test_grpc_ingest_and_detection_share_the_stream_handlers(harness: Harness) -> None:
    event = event_pb2.Event(event_id="EvGRPC1", workspace_id="T0001", channel_id="C0001",
                            user_id="UDAVE", ts=f"{time.time():.6f}", text=CARD_TEXT,
                            channel_type=event_pb2.CHANNEL_TYPE_PUBLIC)
    with harness.pipeline.channel("detection", "admin") as channel:
        scan = detection_pb2_grpc.DetectionStub(channel).Scan(
            detection_pb2.ScanRequest(event=event, dry_run=True), timeout=20)
    assert scan.result.verdict == detection_pb2.VERDICT_DELETE
    assert [(f.entity_type, f.start, f.end) for f in scan.result.findings] == [("CREDIT_CARD", 11, 30)]
    assert harness.history(event.event_id) == []  # dry run: nothing published or recorded
    assert harness.deletes_of(event.ts) == []

    submitter = harness.pipeline.caller_certificate(SUBMITTER)
    with harness.pipeline.channel("ingest", certificate=submitter) as channel:
        stub = ingest_pb2_grpc.IngestStub(channel)
        accepted = stub.SubmitEvent(ingest_pb2.SubmitEventRequest(event=event), timeout=10)
        duplicate = stub.SubmitEvent(ingest_pb2.SubmitEventRequest(event=event), timeout=10)
        with pytest.raises(grpc.RpcError) as invalid:
            stub.SubmitEvent(ingest_pb2.SubmitEventRequest(event=event_pb2.Event()), timeout=10)
    assert accepted.status == ingest_pb2.SUBMIT_STATUS_ACCEPTED
    assert duplicate.status == ingest_pb2.SUBMIT_STATUS_DUPLICATE
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    wait_for(lambda: harness.deletes_of(event.ts))


def test_zz_no_pii_in_any_service_output(harness: Harness) -> None:
    """Runs last in the module: every PII value posted above, searched in all logs."""
    output = harness.pipeline.output()
    assert "scanned" in output  # the services did log their work
    leaked = [secret for secret in POSTED_SECRETS if secret in output or secret.replace(" ", "") in output]
    assert leaked == []
    assert CARD_TEXT not in output and SSN_TEXT not in output
    assert "xoxb-test-bot-token" not in output and "xoxp-test-admin-token" not in output
