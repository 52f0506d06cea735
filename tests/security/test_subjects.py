"""A message on a subject no consumer reads is refused when it is published,
instead of sitting in a stream (with its text) until the stream's age limit."""

from __future__ import annotations

import nats
import pytest
from nats.errors import NoRespondersError
from nats.js import api as js_api
from nats.js.errors import NoStreamResponseError

from piiguard.jetstream import (
    STREAM_EVENTS,
    Retention,
    audit_subject,
    bulk_subject,
    dead_letter_subject,
    ensure_topology,
    events_subject,
    later_subject,
    verdicts_subject,
)
from piiguard.natsserver import NatsServer
from piiguard.security.natsauth import HARNESS

UNOWNED = [
    "piiguard.events.T0001.extra",
    "piiguard.events.T0001.a.b",
    "piiguard.events.T0001.bulk.x",
    "piiguard.events.T0001.later.x",
    "piiguard.verdicts.T0001.extra",
    "piiguard.dlq.detection.T0001.extra",
    "piiguard.dlq.detection",
    "piiguard.audit.Ev1.extra",
]


async def test_unowned_subjects_are_refused_and_owned_ones_taken(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url, **nats_server.auth(HARNESS).connect_options())
    try:
        js = nc.jetstream()
        # A stream left by an older version, capturing every deeper subject too.
        await js.add_stream(js_api.StreamConfig(name=STREAM_EVENTS, subjects=["piiguard.events.>"]))
        await ensure_topology(js, Retention.default())
        for subject in UNOWNED:
            with pytest.raises((NoStreamResponseError, NoRespondersError)):
                await js.publish(subject, b"x", timeout=2)
        for subject in (events_subject("T0001"), bulk_subject("T0001"), later_subject("T0001"),
                        verdicts_subject("T0001"),
                        dead_letter_subject("detection", "T0001"), audit_subject("Ev1")):
            ack = await js.publish(subject, b"x", timeout=2)
            assert ack.seq >= 1
        info = await js.stream_info(STREAM_EVENTS)
        # The live lane, the bulk lane (swept history), events held for their not_before.
        assert info.config.subjects == ["piiguard.events.*", "piiguard.events.*.bulk",
                                        "piiguard.events.*.later"]
    finally:
        await nc.close()
