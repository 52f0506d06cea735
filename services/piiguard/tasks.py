"""Ending asyncio work for certain: a cancel that lands, and no orphaned sibling.

Two traps of Python 3.11's asyncio, each of which once broke a clean stop:

* **A cancel can be lost.** ``asyncio.wait_for`` (under every nats-py request)
  returns the result instead of raising ``CancelledError`` when the awaited future
  completes in the same loop iteration as the cancel (CPython gh-86296, fixed in
  3.12). A loop cancelled once then goes on forever, and whoever awaits it hangs.
  :func:`cancel_and_wait` cancels again until the task has ended.
* **``asyncio.gather`` leaves siblings running** when one awaitable fails: the
  first exception propagates while the others go on, unawaited, and fail later
  where nobody looks (Kopf re-raises any failed task still around when the
  operator stops). :func:`gather_all` lets every awaitable finish, then raises the
  first failure; its own tasks never end failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

RECANCEL_EVERY = 0.5  # seconds a cancelled task gets to unwind before it is cancelled again


async def cancel_and_wait(task: asyncio.Future[Any], timeout: float = 5.0) -> bool:
    """Cancel ``task`` and wait until it has ended, cancelling again every
    :data:`RECANCEL_EVERY` seconds in case a cancel was lost; give up after
    ``timeout`` seconds. True when the task has ended. Its outcome (an exception
    included) is consumed: a task being stopped has nothing more to say."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not task.done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        task.cancel()
        await asyncio.wait({task}, timeout=min(RECANCEL_EVERY, remaining))
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved
    return True


async def gather_all(*work: Awaitable[T]) -> list[T]:
    """Like ``asyncio.gather``, but every awaitable has finished when it returns
    or raises: the first exception is raised only after the others have ended.
    Each runs in a task that itself never fails (its exception is handed over as a
    value), so no task is left holding an exception for someone else to find.
    Cancelling the caller cancels them all."""
    settled = await asyncio.gather(*(_settle(each) for each in work))
    for outcome in settled:
        if outcome.error is not None:
            raise outcome.error
    return [outcome.value for outcome in settled]  # type: ignore[misc]  # no error: each has its value


@dataclass(frozen=True)
class _Settled(Generic[T]):
    value: T | None = None
    error: Exception | None = None


async def _settle(work: Awaitable[T]) -> _Settled[T]:
    try:
        return _Settled(value=await work)
    except Exception as exc:
        return _Settled(error=exc)
