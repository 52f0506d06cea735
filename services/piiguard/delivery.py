"""Which delivery of a stream message a handler is working on.

A handler that can act on part of what it knows (detection, when a file could
not be downloaded) needs to know whether another attempt will follow: before
the last attempt it may ask for a retry; on the last one it settles with what
it has instead of letting the whole event be dead-lettered. The stream worker
sets this for each message's task; a gRPC call has no retries, so outside a
delivery every attempt is the last.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Delivery:
    attempt: int  # 1-based
    max_attempts: int

    @property
    def last(self) -> bool:
        return self.attempt >= self.max_attempts


_current: ContextVar[Delivery | None] = ContextVar("piiguard_delivery", default=None)


def enter(attempt: int, max_attempts: int) -> None:
    """Set for the calling task (each message is handled in a task of its own)."""
    _current.set(Delivery(attempt, max_attempts))


def current() -> Delivery | None:
    return _current.get()


def is_last_attempt() -> bool:
    delivery = _current.get()
    return delivery is None or delivery.last
