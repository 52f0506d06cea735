"""Scheduled jobs in JetStream, against a real nats-server: a policy's schedules are
written as message schedules (and only rewritten when they change), removed when
off or when the workspace goes, fire onto the job subject at their time, are run
once through the job's one durable consumer, and survive a restart of the server."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator
from pathlib import Path

import nats.errors
import pytest
import pytest_asyncio
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from piiguard.jetstream import (
    STREAM_SCHEDULES,
    connect,
    ensure_topology,
    job_consumer,
    schedule_subject,
)
from piiguard.natsserver import NatsServer
from piiguard.policy import Policy, policy_from_mapping
from piiguard.schedules import Job, read_schedules, reconcile


def policy(**schedules: object) -> Policy:
    return policy_from_mapping({"workspace": {"teamId": "T1"}, "schedules": schedules})


@pytest_asyncio.fixture
async def js(tmp_path: Path) -> AsyncIterator[JetStreamContext]:
    with NatsServer(tmp_path / "nats") as server:
        nc: NATS = await connect(server.url, name="schedules-test")
        try:
            await ensure_topology(nc.jetstream())
            yield nc.jetstream()
        finally:
            await nc.close()


async def next_job(js: JetStreamContext, job: str, timeout: float = 10.0) -> Job:
    """The next fired job from the job's durable consumer, acked."""
    sub = await js.pull_subscribe_bind(durable=job_consumer(job), stream=STREAM_SCHEDULES)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                messages = await sub.fetch(1, timeout=1.0)
            except nats.errors.TimeoutError:
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"no {job} job fired within {timeout}s") from None
                continue
            await messages[0].ack()
            assert messages[0].headers is not None
            assert messages[0].headers["Nats-Scheduler"].startswith("piiguard.schedules.")
            return Job.decode(messages[0].data)
    finally:
        await sub.unsubscribe()


async def test_a_policys_schedules_are_written_once_and_rewritten_only_when_changed(
        js: JetStreamContext) -> None:
    first = await reconcile(js, "T1", policy())
    assert sorted(first) == ["digest written", "sweep written", "tokencheck written"]
    seq = (await js.get_last_msg(STREAM_SCHEDULES, schedule_subject("T1", "sweep"))).seq
    assert await reconcile(js, "T1", policy()) == []  # nothing changed: nothing rewritten
    assert (await js.get_last_msg(STREAM_SCHEDULES, schedule_subject("T1", "sweep"))).seq == seq

    changed = await reconcile(js, "T1", policy(digest="0 8 * * mon-fri", timeZone="Europe/Berlin",
                                               tokenCheck=""))
    assert sorted(changed) == ["digest written", "tokencheck removed"]
    digest = await js.get_last_msg(STREAM_SCHEDULES, schedule_subject("T1", "digest"))
    assert digest.headers is not None
    assert digest.headers["Nats-Schedule"] == "0 0 8 * * mon-fri"
    assert digest.headers["Nats-Schedule-Time-Zone"] == "Europe/Berlin"
    assert digest.headers["Nats-Schedule-Target"] == "piiguard.jobs.digest.T1"

    listed = {s.job: s for s in await read_schedules(js)}
    assert set(listed) == {"sweep", "digest"}
    assert listed["sweep"].runs_in == "ingest" and listed["digest"].runs_in == "action"
    assert listed["sweep"].schedule == "@every 900s"
    now = datetime.datetime.now(datetime.UTC)
    next_sweep = listed["sweep"].next_run
    assert next_sweep is not None and now < next_sweep <= now + datetime.timedelta(minutes=15)
    next_digest = listed["digest"].next_run
    assert next_digest is not None and next_digest.astimezone(
        datetime.timezone(datetime.timedelta(hours=1))).hour == 8  # Berlin in December

    assert sorted(await reconcile(js, "T1", None)) == ["digest removed", "sweep removed"]
    assert await read_schedules(js) == []


async def test_a_schedule_fires_its_job_once_per_time_to_one_consumer(js: JetStreamContext) -> None:
    await reconcile(js, "T1", policy(sweep="@every 2s", sweepWindow="30m", digest="", tokenCheck=""))
    job = await next_job(js, "sweep")
    assert job == Job("sweep", "T1", 1800.0)
    started = asyncio.get_running_loop().time()
    await next_job(js, "sweep")
    assert asyncio.get_running_loop().time() - started > 1.0  # the next one waited for its time


async def test_a_schedule_survives_a_restart_of_nats_server(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats").start()
    try:
        nc = await connect(server.url, name="schedules-restart")
        js = nc.jetstream()
        await ensure_topology(js)
        await reconcile(js, "T1", policy(sweep="", digest="", tokenCheck="@every 2s"))
        await nc.close()
        server.stop()
        server.start()
        nc = await connect(server.url, name="schedules-restart")
        js = nc.jetstream()
        try:
            assert await next_job(js, "tokencheck") == Job("tokencheck", "T1", 0.0)
            assert [s.job for s in await read_schedules(js)] == ["tokencheck"]
        finally:
            await nc.close()
    finally:
        server.stop()


@pytest.mark.parametrize("expression", ["@every 2s", "*/2 * * * * *"])
async def test_nats_server_accepts_every_form_the_policy_accepts(js: JetStreamContext,
                                                                 expression: str) -> None:
    await reconcile(js, "T1", policy(sweep=expression, digest="@daily", tokenCheck="0 */6 * * *"))
    assert len(await read_schedules(js)) == 3
