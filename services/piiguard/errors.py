"""The one error vocabulary of PII Guard.

Every module raises from this tree; the edges translate it once each (gRPC
status codes in :func:`grpc_status`, HTTP status in :func:`http_status`, NATS
in the stream worker, Kopf in ``piiguard_operator.errors``)::

    PiiGuardError
    ├── ConfigError          a setting is missing or invalid: the process refuses to start (exit 2)
    ├── PolicyError          a policy that cannot be used (also a ValueError)
    ├── InvalidInput         input from outside that we refuse (also a ValueError)
    │   ├── InvalidPayload   a stream message a stage cannot use: a poison message
    │   └── MalformedEvent   a Slack request body that is not an Events API payload
    ├── ProcessingError      what a stage's handler raises about one message
    │   ├── PermanentError   retrying cannot help: dead-letter (Kopf: PermanentError)
    │   │   └── SlackAuthError     a token Slack no longer accepts
    │   └── TransientError   worth retrying later: nak with a delay (Kopf: TemporaryError)
    │       └── DownloadError      a shared file could not be fetched this time
    ├── Unscannable          a file we will not read (limits, format): an UNSCANNABLE_FILE finding
    ├── SecretUnreadable     the Kubernetes API refuses to show a Secret (RBAC)
    ├── NatsServerError      the local nats-server did not start
    └── SchemaError          the CRD cannot be generated from the policy model

========================  ==================  ===========  ==========================
error                     stream message      gRPC         HTTP / Kopf
========================  ==================  ===========  ==========================
``InvalidPayload``        dead-letter at once  INVALID_ARGUMENT  400
``PermanentError``        dead-letter          FAILED_PRECONDITION  422 / kopf.PermanentError
``TransientError``        nak(delay), then     UNAVAILABLE  503 / kopf.TemporaryError
                          dead-letter
anything else             as transient         INTERNAL     500
========================  ==================  ===========  ==========================

Messages name kinds, ids, variables and counts — never message text, tokens or
other values (a reason is written to the dead-letter stream and the audit trail).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import grpc


class PiiGuardError(Exception):
    """Base of every error PII Guard raises on purpose."""


class ConfigError(PiiGuardError):
    """A missing or bad setting. The message names the variable, never its value."""


class PolicyError(PiiGuardError, ValueError):
    """A policy that cannot be used; the message says why (never a secret)."""


class InvalidInput(PiiGuardError, ValueError):
    """Input from outside the process that is refused as it is (never retried)."""


class InvalidPayload(InvalidInput):
    """A stream payload that parses but lacks what a stage needs (a poison message)."""


class MalformedEvent(InvalidInput):
    """A Slack request body that is not a usable Events API payload."""


class ProcessingError(PiiGuardError):
    """What handling one message can end in; ``reason`` is recorded, so it names
    kinds and codes, never message text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PermanentError(ProcessingError):
    """Retrying cannot help: the message is dead-lettered with ``reason``."""


class TransientError(ProcessingError):
    """Worth retrying later; ``retry_after`` (seconds) overrides the backoff (e.g. Slack's 429)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class SlackAuthError(PermanentError):
    """A token Slack no longer accepts: nothing works until an operator fixes it."""


class DownloadError(TransientError):
    """A shared file could not be downloaded this time (network, 5xx): retried."""


class Unscannable(PiiGuardError):
    """A file is not scanned (a limit, an unsupported or broken format); the reason
    describes the file's shape, never its content. Becomes an ``UNSCANNABLE_FILE`` finding."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SecretUnreadable(PiiGuardError):
    """The API refused to show a Secret (RBAC): not the same as "it does not exist"."""


class NatsServerError(PiiGuardError, RuntimeError):
    """The local ``nats-server`` could not be started or did not listen."""


class SchemaError(PiiGuardError, RuntimeError):
    """The CRD schema cannot be derived from the policy model."""


def grpc_status(exc: BaseException, unexpected: grpc.StatusCode | None = None) -> grpc.StatusCode:
    """The gRPC status a servicer answers ``exc`` with; ``unexpected`` (default
    INTERNAL) for an exception outside this vocabulary."""
    import grpc

    if isinstance(exc, InvalidInput | PolicyError):
        return grpc.StatusCode.INVALID_ARGUMENT
    if isinstance(exc, PermanentError):
        return grpc.StatusCode.FAILED_PRECONDITION
    if isinstance(exc, TransientError):
        return grpc.StatusCode.UNAVAILABLE
    return unexpected or grpc.StatusCode.INTERNAL


def http_status(exc: BaseException) -> int:
    """The HTTP status an endpoint answers ``exc`` with."""
    if isinstance(exc, InvalidInput | PolicyError):
        return 400
    if isinstance(exc, PermanentError):
        return 422
    if isinstance(exc, TransientError):
        return 503
    return 500


def reason_of(exc: BaseException) -> str:
    """What may be recorded about ``exc``: our reason, or only the class of a
    foreign exception (its message may quote data)."""
    if isinstance(exc, ProcessingError):
        return exc.reason
    return type(exc).__name__
