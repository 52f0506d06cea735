"""The one error vocabulary and its edges: every class on the tree, and what each edge
(gRPC, HTTP, Kopf, the stream worker's reason) makes of it."""

from __future__ import annotations

import grpc
import kopf
import pytest

from piiguard import errors
from piiguard_operator.errors import to_kopf

OURS = [errors.ConfigError, errors.PolicyError, errors.InvalidInput, errors.InvalidPayload,
        errors.MalformedEvent, errors.ProcessingError, errors.PermanentError, errors.TransientError,
        errors.SlackAuthError, errors.DownloadError, errors.Unscannable, errors.SecretUnreadable,
        errors.NatsServerError, errors.SchemaError]


@pytest.mark.parametrize("cls", OURS, ids=lambda c: c.__name__)
def test_every_error_has_the_common_base_and_is_drawn_in_the_docstring(cls: type[Exception]) -> None:
    assert issubclass(cls, errors.PiiGuardError)
    assert cls.__name__ in (errors.__doc__ or "")


def test_the_old_homes_still_name_the_same_classes() -> None:
    from piiguard.action.slack import SlackAuthError
    from piiguard.contracts import InvalidPayload
    from piiguard.detection.files.download import DownloadError
    from piiguard.detection.files.limits import Unscannable
    from piiguard.ingest.slack_events import MalformedEvent
    from piiguard.policy import PolicyError

    assert (SlackAuthError, InvalidPayload, DownloadError, Unscannable, MalformedEvent, PolicyError) == (
        errors.SlackAuthError, errors.InvalidPayload, errors.DownloadError, errors.Unscannable,
        errors.MalformedEvent, errors.PolicyError)
    # Callers that catch ValueError for bad input keep working.
    assert issubclass(errors.MalformedEvent, ValueError) and issubclass(errors.PolicyError, ValueError)


@pytest.mark.parametrize(("exc", "code", "status"), [
    (errors.InvalidPayload("event lacks ts"), grpc.StatusCode.INVALID_ARGUMENT, 400),
    (errors.PolicyError("spec: bad"), grpc.StatusCode.INVALID_ARGUMENT, 400),
    (errors.PermanentError("no policy for this workspace"), grpc.StatusCode.FAILED_PRECONDITION, 422),
    (errors.SlackAuthError("slack chat.delete: token_revoked"), grpc.StatusCode.FAILED_PRECONDITION, 422),
    (errors.TransientError("slack: HTTP 503"), grpc.StatusCode.UNAVAILABLE, 503),
    (errors.DownloadError("file download: HTTP 502"), grpc.StatusCode.UNAVAILABLE, 503),
    (KeyError("x"), grpc.StatusCode.INTERNAL, 500),
])
def test_grpc_and_http_edges(exc: Exception, code: grpc.StatusCode, status: int) -> None:
    assert errors.grpc_status(exc) == code
    assert errors.http_status(exc) == status


def test_an_unexpected_error_can_be_declared_retryable_at_an_edge() -> None:
    assert errors.grpc_status(KeyError("x"), grpc.StatusCode.UNAVAILABLE) == grpc.StatusCode.UNAVAILABLE


def test_a_foreign_exception_is_recorded_by_its_class_only() -> None:
    assert errors.reason_of(ValueError("4111 1111 1111 1111")) == "ValueError"
    reason = "slack chat.delete: HTTP 503"
    assert errors.reason_of(errors.TransientError(reason)) == reason


def test_the_kopf_edge() -> None:
    temporary = to_kopf(errors.TransientError("slack: rate limited", retry_after=30.0), "JetStream")
    assert isinstance(temporary, kopf.TemporaryError) and temporary.delay == 30.0
    assert isinstance(to_kopf(ConnectionError(), "NATS unreachable"), kopf.TemporaryError)
    assert isinstance(to_kopf(errors.PolicyError("spec: bad"), "policy"), kopf.PermanentError)
