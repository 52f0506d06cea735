"""Two ingest replicas, each holding its own Socket Mode connection, with the HTTP
endpoint on as well (PIIGUARD_SLACK_MODE=both): Slack spreads envelopes across
connections and redelivers on any of them, and an event may come both ways —
whichever replica or path receives each copy, the message is acted on once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from piiguard.natsserver import free_port
from tests.support import slack_events
from tests.support.slack_standin import SlackStandIn

from .conftest import Harness, running_pipeline, wait_for

pytestmark = pytest.mark.e2e

CARD_TEXT = "card for the invoice: 4539 1488 0343 6467"
APP_TOKEN = "xapp-1-A0001-1-standin-app-token"


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory, slack: SlackStandIn) -> Iterator[Harness]:
    env = {"PIIGUARD_SLACK_MODE": "both", "SLACK_APP_TOKEN": APP_TOKEN}
    with running_pipeline(Path(tmp_path_factory.mktemp("replicas")), slack,
                          "workspace:\n  teamId: T0001\n", env) as harness:
        pipeline = harness.pipeline
        for ports in (pipeline.grpc_ports, pipeline.metrics_ports, pipeline.http_ports):
            ports["ingest-2"] = free_port()
        pipeline.start_service("ingest-2")  # a second pod, with a socket of its own
        pipeline.wait_ready(names=("ingest-2",))
        wait_for(lambda: slack.socket_mode.connections() >= 2, timeout=30)
        yield harness


def acted_on_once(harness: Harness, ts: str) -> None:
    wait_for(lambda: harness.deletes_of(ts), timeout=60)
    wait_for(lambda: harness.dms_about(ts), timeout=60)
    harness.quiet()
    assert len(harness.deletes_of(ts)) == 1 and len(harness.dms_about(ts)) == 1


def test_an_envelope_redelivered_on_the_other_replicas_socket_is_acted_on_once(replicas: Harness) -> None:
    hub = replicas.slack.socket_mode
    payloads = [slack_events.message_event(CARD_TEXT, user="UDAVE") for _ in range(4)]
    ids = [hub.send_event(p) for p in payloads]  # round robin: both sockets receive some
    for envelope_id in ids:
        wait_for(lambda envelope_id=envelope_id: hub.acked(envelope_id), timeout=30)
        hub.redeliver(envelope_id)  # the next socket in turn: the other replica
    wait_for(lambda: all(len(hub.acks(e)) == 2 for e in ids), timeout=30)
    for payload in payloads:
        acted_on_once(replicas, payload["event"]["ts"])
    logs = [replicas.pipeline.log_path(n).read_text(errors="replace") for n in ("ingest", "ingest-2")]
    assert all("accepted" in log for log in logs), "both replicas took envelopes"


def test_an_event_delivered_over_http_and_socket_mode_is_acted_on_once(replicas: Harness) -> None:
    payload = slack_events.message_event(CARD_TEXT, user="UERIN")
    answer = replicas.post(payload)
    assert answer.status == 200 and answer.body["status"] == "SUBMIT_STATUS_ACCEPTED"
    envelope_id = replicas.slack.socket_mode.send_event(payload)
    wait_for(lambda: replicas.slack.socket_mode.acked(envelope_id), timeout=30)
    acted_on_once(replicas, payload["event"]["ts"])
    logs = "".join(replicas.pipeline.log_path(n).read_text(errors="replace") for n in ("ingest", "ingest-2"))
    assert f"duplicate delivery of {payload['event_id']} collapsed" in logs
