"""The lane and seen rules, without NATS: which lane an event takes, which
message version is already scanned, when the bulk lane gets its turn, and where
a sweep resumes."""

from __future__ import annotations

import asyncio
import time

import pytest

from piiguard.ingest.later import due_in
from piiguard.ingest.seen import NEVER_EDITED, already_scanned, covers, message_version
from piiguard.jetstream import bulk_subject, events_subject, lane_subject, seen_key
from piiguard.stream_worker import LiveFirst
from piiguard.sweep.history import HistoryMessage, Pacer
from piiguard.sweep.run import Checkpoint, resume_point, scannable, sweep_event
from piiguard.v1 import event_pb2


def event(**fields: object) -> event_pb2.Event:
    base: dict[str, object] = {"event_id": "Ev1", "workspace_id": "T1", "channel_id": "C1",
                               "ts": "1700000000.000100", "source": event_pb2.SOURCE_PLATFORM_SLACK}
    base.update(fields)
    return event_pb2.Event(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("priority, subject", [
    (event_pb2.PRIORITY_UNSPECIFIED, "piiguard.events.T1"),
    (event_pb2.PRIORITY_NORMAL, "piiguard.events.T1"),
    (event_pb2.PRIORITY_URGENT, "piiguard.events.T1"),
    (event_pb2.PRIORITY_BULK, "piiguard.events.T1.bulk"),
])
def test_only_bulk_takes_the_bulk_lane(priority: int, subject: str) -> None:
    assert lane_subject("T1", priority) == subject
    assert bulk_subject("T1") == events_subject("T1") + ".bulk"


def test_a_version_is_its_message_and_edit() -> None:
    version = message_version(event(edited_ts="1700000050.000200"))
    assert version is not None
    assert version.key == seen_key("T1", "C1", "1700000000.000100") == "T1.C1.1700000000_000100"
    assert version.msg_id == "msg.T1.C1.1700000000_000100.1700000050_000200"
    # The live event and the swept copy of the same version share one de-dup id.
    live = message_version(event(event_id="Ev-live", priority=event_pb2.PRIORITY_URGENT))
    swept = message_version(event(event_id="sweep-C1-x", priority=event_pb2.PRIORITY_BULK))
    assert live is not None and swept is not None and live.msg_id == swept.msg_id
    assert live.edited_ts == NEVER_EDITED


def test_what_is_not_a_slack_message_has_no_version() -> None:
    assert message_version(event(source=event_pb2.SOURCE_PLATFORM_NOTION)) is None
    assert message_version(event(ts="")) is None
    assert message_version(event(channel_id="")) is None


def test_an_unstamped_edit_is_a_version_of_its_own() -> None:
    version = message_version(event(kind=event_pb2.EVENT_KIND_MESSAGE_CHANGED, event_id="Ev9"))
    assert version is not None and version.edited_ts == "eEv9"
    assert not covers(NEVER_EDITED, "eEv9") and covers("eEv9", "eEv9")
    assert covers("eEv9", NEVER_EDITED), "the original is older than any edit"


@pytest.mark.parametrize("remembered, edited, seen", [
    ("0", "0", True),                                    # the same message again
    ("0", "1700000050.000200", False),                   # edited since: rescan
    ("1700000050.000200", "1700000050.000200", True),    # that edit again
    ("1700000050.000200", "0", True),                    # an older copy (a stale sweep read)
    ("1700000050.000200", "1700000090.000000", False),   # edited again
])
def test_covers(remembered: str, edited: str, seen: bool) -> None:
    assert covers(remembered, edited) is seen


@pytest.mark.parametrize("remembered, edited, swept, skipped", [
    ("", "0", True, False),                              # never accepted
    ("0", "0", False, True),                             # a live redelivery
    ("0", "0", True, True),                              # a sweep finds what live accepted
    ("1700000050.000200", "0", True, True),              # a sweep reads an older copy
    # Slack delivered the edit first: the original was posted all the same, so it is scanned.
    ("1700000050.000200", "0", False, False),
    ("eEv9", "0", False, False),
    ("0", "1700000050.000200", False, False),            # the edit after the original
])
def test_a_live_event_is_skipped_only_for_its_own_version(remembered: str, edited: str, swept: bool,
                                                          skipped: bool) -> None:
    assert already_scanned(remembered, edited, swept=swept) is skipped


def test_due_in() -> None:
    held = event()
    held.not_before.FromSeconds(int(time.time()) + 60)
    assert 55 < due_in(held) <= 60
    assert due_in(event()) == 0.0


def test_swept_messages_become_bulk_events_with_their_version() -> None:
    raw = {"type": "message", "user": "UA", "text": "hi", "ts": "1700000000.000100",
           "thread_ts": "1699999999.000100", "edited": {"ts": "1700000001.000000"}}
    swept = sweep_event("T1", HistoryMessage("C1", raw))
    assert swept.priority == event_pb2.PRIORITY_BULK
    assert swept.edited_ts == "1700000001.000000"
    assert swept.kind == event_pb2.EVENT_KIND_MESSAGE_CHANGED
    assert swept.thread_ts == "1699999999.000100" and swept.channel_type == event_pb2.CHANNEL_TYPE_PUBLIC
    assert swept.event_id == "sweep-C1-1700000000_000100-1700000001_000000"
    assert HistoryMessage("C1", raw).is_reply


@pytest.mark.parametrize("raw, scanned", [
    ({"user": "UA", "text": "hello"}, True),
    ({"user": "UA", "text": "", "files": [{"id": "F1"}]}, True),
    ({"user": "UA", "text": "   "}, False),
    ({"user": "UA", "text": "x", "bot_id": "B1"}, False),
    ({"text": "x"}, False),
    ({"user": "UA", "text": "x", "subtype": "channel_join"}, False),
])
def test_what_a_sweep_submits(raw: dict[str, object], scanned: bool) -> None:
    assert scannable(HistoryMessage("C1", {"ts": "1.0", **raw})) is scanned


def test_an_unfinished_sweep_resumes_below_what_it_reached() -> None:
    saved = Checkpoint(oldest="100.0", latest="900.0", reached="500.0", read=40, submitted=30)
    point = resume_point(Checkpoint.decode(saved.encode()), "50.0", "1000.0")
    assert (point.latest, point.reached, point.oldest, point.read) == ("900.0", "500.0", "50.0", 40)
    done = Checkpoint(oldest="100.0", latest="900.0", reached="100.0", done=True)
    fresh = resume_point(done, "50.0", "1000.0")
    assert (fresh.latest, fresh.reached, fresh.read) == ("1000.0", "", 0)
    assert resume_point(None, "50.0", "1000.0").latest == "1000.0"
    assert Checkpoint.decode(b"not json") is None


async def test_the_bulk_lane_waits_while_the_live_lane_is_busy() -> None:
    busy = asyncio.Event()
    busy.set()
    gate = LiveFirst(rate=1000.0, live_busy=busy.is_set)
    turn = asyncio.create_task(gate(1))
    await asyncio.sleep(0.2)
    assert not turn.done(), "the bulk lane took a turn while live work was in hand"
    busy.clear()
    assert await asyncio.wait_for(turn, 2) == 1


async def test_the_bulk_lane_is_rate_limited() -> None:
    gate = LiveFirst(rate=20.0, live_busy=lambda: False)
    loop = asyncio.get_running_loop()
    started = loop.time()
    granted = 0
    while granted < 11:
        granted += await gate(4)
    # One at once (the burst), then 20 a second: ten more take about half a second.
    assert loop.time() - started >= 0.45


async def test_slack_calls_are_paced_per_method() -> None:
    pace = Pacer(per_minute=600.0)  # one every 0.1 s
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(4):
        await pace("conversations.history")
    await pace("conversations.replies")  # its own budget: no wait
    assert 0.28 <= loop.time() - started < 1.0
