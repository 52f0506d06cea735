"""Ingest carries file references (never bytes) through the event contract:
``file_share`` messages and any message whose ``files`` array is set, in
channels and threads, and edits of them."""

from __future__ import annotations

from piiguard.ingest.slack_events import event_from_callback
from piiguard.v1 import event_pb2
from tests.support import slack_events

FILE = {"id": "F0PASS", "name": "passport.jpg", "mimetype": "image/jpeg", "size": 48213,
        "url_private": "https://files.slack.com/files-pri/T1-F0PASS/passport.jpg",
        "url_private_download": "https://files.slack.com/files-pri/T1-F0PASS/download/passport.jpg",
        "thumb_64": "https://files.slack.com/files-tmb/T1-F0PASS/passport_64.jpg"}


def test_file_share_in_a_channel() -> None:
    payload = slack_events.message_event("", subtype="file_share", extra={"files": [FILE], "upload": True})
    event = event_from_callback(payload)
    assert isinstance(event, event_pb2.Event)
    assert event.kind == event_pb2.EVENT_KIND_FILE_SHARE
    (ref,) = event.files
    assert (ref.id, ref.name, ref.mimetype, ref.size, ref.url_private_download) == (
        "F0PASS", "passport.jpg", "image/jpeg", 48213, FILE["url_private_download"])
    assert set(event_pb2.FileRef.DESCRIPTOR.fields_by_name) == \
        {"id", "name", "mimetype", "size", "url_private_download", "notion"}  # a reference, never bytes
    assert not ref.HasField("notion")  # where to refresh a Notion file's URL: Notion events only


def test_files_without_subtype_in_a_thread() -> None:
    payload = slack_events.message_event("see attached", thread_ts="1700000000.000100",
                                         extra={"files": [FILE, {**FILE, "id": "F2", "size": "x"}]})
    event = event_from_callback(payload)
    assert isinstance(event, event_pb2.Event)
    assert event.kind == event_pb2.EVENT_KIND_FILE_SHARE and event.thread_ts == "1700000000.000100"
    assert [f.id for f in event.files] == ["F0PASS", "F2"] and event.files[1].size == 0
    assert event.text == "see attached"


def test_edit_of_a_message_with_files_carries_them() -> None:
    payload = slack_events.edited_event("new caption", "old caption", ts="1700000000.000300")
    payload["event"]["message"]["files"] = [FILE]
    event = event_from_callback(payload)
    assert isinstance(event, event_pb2.Event)
    assert event.kind == event_pb2.EVENT_KIND_MESSAGE_CHANGED and [f.id for f in event.files] == ["F0PASS"]
