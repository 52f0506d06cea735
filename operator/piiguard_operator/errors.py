"""The edge between PII Guard's error vocabulary (:mod:`piiguard.errors`) and Kopf's.

Kopf retries a handler that raises ``kopf.TemporaryError`` after its ``delay`` and
gives up on one that raises ``kopf.PermanentError``; everything else it retries
with its own backoff. One function says which of ours is which.
"""

from __future__ import annotations

import kopf
import nats.errors

from piiguard.errors import PermanentError, PolicyError, TransientError

# NATS trouble is an outage, not a bad policy: Kopf retries the handler.
NATS_ERRORS: tuple[type[BaseException], ...] = (nats.errors.Error, TimeoutError, ConnectionError)

RETRY_DELAY_SECONDS = 5.0


def to_kopf(exc: BaseException, what: str) -> kopf.TemporaryError | kopf.PermanentError:
    """The Kopf error for ``exc``; ``what`` says what failed (no values)."""
    if isinstance(exc, PermanentError | PolicyError):
        return kopf.PermanentError(f"{what}: {exc}")
    delay = RETRY_DELAY_SECONDS
    if isinstance(exc, TransientError) and exc.retry_after is not None:
        delay = max(delay, exc.retry_after)
    return kopf.TemporaryError(f"{what}: {exc!r}", delay=delay)
