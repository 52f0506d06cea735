"""Ending work for certain (``piiguard.tasks``) and a stage's stop within its budget
(``piiguard.stage.Shutdown``): a lost cancel, a failing sibling, a stuck step."""

from __future__ import annotations

import asyncio
import logging

import pytest

from piiguard.stage import Shutdown
from piiguard.tasks import cancel_and_wait, gather_all

pytestmark = pytest.mark.timeout(30)


async def loses_its_first_cancel(cancels_seen: list[int]) -> None:
    """What Python 3.11's ``wait_for`` does to a loop when its future completes as
    the cancel arrives: the cancel is swallowed and the loop goes on."""
    while True:
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            cancels_seen.append(1)
            if len(cancels_seen) > 1:
                raise


async def test_a_lost_cancel_is_sent_again_until_the_task_ends() -> None:
    cancels: list[int] = []
    task = asyncio.create_task(loses_its_first_cancel(cancels))
    await asyncio.sleep(0)
    assert await cancel_and_wait(task, timeout=5.0) is True
    assert task.cancelled()
    assert len(cancels) == 2


async def test_a_task_that_never_ends_is_given_up_on_at_the_timeout() -> None:
    async def immortal() -> None:
        while True:
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                pass

    task = asyncio.create_task(immortal())
    await asyncio.sleep(0)
    assert await cancel_and_wait(task, timeout=0.3) is False
    assert not task.done()
    task.get_coro().close()  # end it for good, outside the loop


async def test_an_ended_task_s_exception_is_consumed() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(fails())
    await asyncio.wait({task})
    assert await cancel_and_wait(task) is True
    assert isinstance(task.exception(), RuntimeError)


async def test_gather_all_raises_only_after_every_sibling_has_ended() -> None:
    finished: list[str] = []

    async def fails_first() -> None:
        raise ConnectionError("gone")

    async def slower() -> str:
        await asyncio.sleep(0.05)
        finished.append("slower")
        return "done"

    with pytest.raises(ConnectionError):
        await gather_all(fails_first(), slower())
    assert finished == ["slower"]  # not left running where nobody awaits it


async def test_gather_all_returns_results_in_order() -> None:
    async def value(n: int) -> int:
        await asyncio.sleep(0.01 * (3 - n))
        return n

    assert await gather_all(value(1), value(2), value(3)) == [1, 2, 3]


async def test_a_stuck_step_is_named_with_where_it_waits_and_the_stop_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    cancels: list[int] = []

    async def stuck_forever() -> None:
        await loses_its_first_cancel(cancels)

    ran: list[str] = []

    async def next_step() -> None:
        ran.append("next")

    shutdown = Shutdown("action", budget=0.3)
    with caplog.at_level(logging.WARNING, logger="piiguard.stage"):
        await shutdown.step("consumers", stuck_forever())
        await shutdown.step("gRPC", next_step())
    assert ran == ["next"]
    warning = next(r.getMessage() for r in caplog.records if "budget" in r.getMessage())
    assert warning.startswith("action: stopping consumers took longer than its budget; going on")
    # Where it waited, by code location: the coroutine and the innermost await.
    assert "stuck_forever → sleep@tasks.py" in warning


async def test_a_failing_step_is_named_and_the_stop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    async def fails() -> None:
        raise OSError("secret-looking detail")

    shutdown = Shutdown("detection", budget=5.0)
    with caplog.at_level(logging.WARNING, logger="piiguard.stage"):
        await shutdown.step("closing", fails())
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["detection: stopping closing failed (OSError); going on"]
