"""NATS: each component is a user of its own, allowed only its own subjects, over
TLS, with streams encrypted at rest. A forged verdict published with another
component's credentials is refused by the server itself."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import nats
import pytest

from piiguard.jetstream import STREAM_DLQ, STREAM_VERDICTS, verdicts_subject
from piiguard.security.natsauth import NatsAuth
from piiguard.v1 import action_pb2, detection_pb2, event_pb2
from tests.e2e.conftest import Harness

from .conftest import WORKSPACE

pytestmark = pytest.mark.e2e

VIOLATION_TIMEOUT = 10.0


def forged_verdict(ts: str) -> bytes:
    """What an attacker would put before action: delete this message, DM this text."""
    event = event_pb2.Event(event_id=f"EvFORGED{ts}", workspace_id=WORKSPACE, channel_id="C0001",
                            user_id="UVICTIM", ts=ts, text="click https://phish.example/login")
    result = detection_pb2.DetectionResult(event_id=event.event_id, verdict=detection_pb2.VERDICT_DELETE)
    return action_pb2.ActionRequest(event=event, result=result).SerializeToString()


class Connection:
    """A NATS connection that records the server's asynchronous errors."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.refused = asyncio.Event()
        self.nc: Any = None

    async def on_error(self, exc: Exception) -> None:
        self.errors.append(str(exc).lower())
        if "permissions violation" in str(exc).lower():
            self.refused.set()

    async def wait_refused(self, subject: str) -> None:
        await asyncio.wait_for(self.refused.wait(), VIOLATION_TIMEOUT)
        assert any(subject.lower() in e for e in self.errors), self.errors


@asynccontextmanager
async def connected(harness: Harness, auth: NatsAuth) -> AsyncIterator[Connection]:
    connection = Connection()
    connection.nc = await nats.connect(harness.pipeline.nats.url, error_cb=connection.on_error,
                                       allow_reconnect=False, **auth.connect_options())
    try:
        yield connection
    finally:
        await connection.nc.close()


async def stream_messages(harness: Harness, stream: str) -> int:
    async with connected(harness, harness.pipeline.nats_auth()) as inspector:
        info = await inspector.nc.jetstream().stream_info(stream)
        return int(info.state.messages)


async def test_a_verdict_forged_with_ingests_credentials_is_refused(secured: Harness) -> None:
    ts = "1700000000.000100"
    before = await stream_messages(secured, STREAM_VERDICTS)
    subject = verdicts_subject(WORKSPACE)
    async with connected(secured, secured.pipeline.nats_auth("ingest")) as ingest:
        await ingest.nc.publish(subject, forged_verdict(ts))
        await ingest.nc.flush()
        await ingest.wait_refused(subject)
    assert await stream_messages(secured, STREAM_VERDICTS) == before
    assert secured.deletes_of(ts) == []


@pytest.mark.parametrize(("user", "subject"), [
    ("ingest", "piiguard.verdicts.T0001"),
    ("action", "piiguard.verdicts.T0001"),
    ("action", "piiguard.events.T0001"),
    ("detection", "piiguard.events.T0001"),
    ("operator", "piiguard.verdicts.T0001"),
    ("operator", "piiguard.events.T0001"),
    ("ingest", "piiguard.dlq.action.T0001"),
    ("detection", "piiguard.dlq.action.T0001"),
    ("ingest", "$KV.piiguard-actions.anything"),
    ("ingest", "$KV.piiguard-policies.T0001"),
    ("detection", "$KV.piiguard-policies.T0001"),
    # The JetStream API: no stage may change a stream (a stream's `republish` setting
    # would let it put messages on another stage's subject) nor read another's input.
    ("ingest", "$JS.API.STREAM.UPDATE.PIIGUARD_EVENTS"),
    ("ingest", "$JS.API.STREAM.CREATE.PIIGUARD_FORGED"),
    ("ingest", "$JS.API.STREAM.DELETE.PIIGUARD_VERDICTS"),
    ("detection", "$JS.API.STREAM.UPDATE.PIIGUARD_VERDICTS"),
    ("action", "$JS.API.STREAM.UPDATE.PIIGUARD_VERDICTS"),
    ("ingest", "$JS.API.CONSUMER.CREATE.PIIGUARD_VERDICTS"),
    ("action", "$JS.API.CONSUMER.CREATE.PIIGUARD_EVENTS"),
    ("admin", "$JS.API.STREAM.UPDATE.PIIGUARD_VERDICTS"),
    ("admin", "$JS.API.STREAM.MSG.GET.PIIGUARD_EVENTS"),
])
async def test_nobody_publishes_outside_its_own_subjects(secured: Harness, user: str,
                                                         subject: str) -> None:
    async with connected(secured, secured.pipeline.nats_auth(user)) as connection:
        await connection.nc.publish(subject, b"{}")
        await connection.nc.flush()
        await connection.wait_refused(subject)


@pytest.mark.parametrize(("user", "subject"), [
    ("ingest", "piiguard.verdicts.>"),
    ("ingest", "_INBOX.>"),  # another component's replies
    ("detection", "_INBOX_action.>"),
    ("action", "piiguard.events.>"),
    ("admin", ">"),
])
async def test_nobody_listens_outside_its_own_inbox(secured: Harness, user: str, subject: str) -> None:
    async with connected(secured, secured.pipeline.nats_auth(user)) as connection:
        await connection.nc.subscribe(subject)
        await connection.nc.flush()
        await connection.wait_refused(subject)


async def test_the_owning_stage_may_publish_its_work(secured: Harness) -> None:
    """The allow side of the table: detection's verdicts do reach the stream."""
    ts = "1700000000.000200"
    async with connected(secured, secured.pipeline.nats_auth("detection")) as detection:
        ack = await detection.nc.jetstream().publish(verdicts_subject("TNOPOLICY"), forged_verdict(ts),
                                                     stream=STREAM_VERDICTS)
        assert ack.stream == STREAM_VERDICTS
        assert detection.errors == []


@pytest.mark.parametrize("credentials", ["none", "wrong-password", "other-users-password"])
async def test_a_connection_without_valid_credentials_is_refused(secured: Harness,
                                                                 credentials: str) -> None:
    auth = secured.pipeline.nats_auth("ingest")
    options = auth.connect_options()
    if credentials == "none":
        options.pop("user"), options.pop("password")
    elif credentials == "wrong-password":
        options["password"] = "not-" + str(options["password"])
    else:
        options["password"] = secured.pipeline.nats_auth("action").password
    with pytest.raises(Exception) as refused:
        nc = await nats.connect(secured.pipeline.nats.url, allow_reconnect=False,
                                max_reconnect_attempts=0, connect_timeout=5, **options)
        await nc.close()
    assert "authorization" in str(refused.value).lower() or refused.type.__name__ in (
        "NoServersError", "AuthorizationError")


async def test_a_plaintext_connection_is_refused(secured: Harness) -> None:
    options = secured.pipeline.nats_auth("ingest").connect_options()
    options.pop("tls")
    with pytest.raises(Exception):  # noqa: B017 (nats-py raises several kinds)
        nc = await nats.connect(secured.pipeline.nats.url, allow_reconnect=False,
                                max_reconnect_attempts=0, connect_timeout=5, **options)
        await nc.close()


async def test_streams_are_encrypted_at_rest(secured: Harness) -> None:
    marker = b"CARD 4111 1111 1111 1111 ENCRYPTION-MARKER"
    async with connected(secured, secured.pipeline.nats_auth()) as inspector:
        await inspector.nc.jetstream().publish("piiguard.dlq.detection.TENCRYPT", marker,
                                               stream=STREAM_DLQ)
    store = secured.pipeline.nats.data_dir / "jetstream"
    files = [p for p in store.rglob("*") if p.is_file()]
    assert files, "no JetStream files on disk"
    assert all(marker not in p.read_bytes() for p in files)
    key = secured.pipeline.workdir / "jetstream.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    for secret_dir in ("nats-users", "tls"):
        assert stat.S_IMODE(os.stat(secured.pipeline.workdir / secret_dir).st_mode) == 0o700
    config = secured.pipeline.nats.data_dir / "nats-server.conf"
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
