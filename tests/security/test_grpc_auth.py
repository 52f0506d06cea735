"""Every RPC of every stage refuses callers without the right identity.

Against the real processes: no credential, a plaintext connection, a
certificate from another CA that claims a component's name, a wrong bearer
token — all refused. And a stage's own certificate cannot call what only
another stage may (the authorisation table in docs/security.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from piiguard.security.localca import CertFiles, LocalCA
from piiguard.v1 import (
    action_pb2,
    action_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    detection_pb2,
    detection_pb2_grpc,
    event_pb2,
    ingest_pb2,
    ingest_pb2_grpc,
)
from tests.e2e.conftest import Harness

from .conftest import TOKENS, UNLISTED_CALLER, WORKSPACE

pytestmark = pytest.mark.e2e

DENIED = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED,
          grpc.StatusCode.UNAVAILABLE}


def event(event_id: str, workspace: str = WORKSPACE) -> event_pb2.Event:
    return event_pb2.Event(event_id=event_id, workspace_id=workspace, channel_id="C0001",
                           user_id="UATTACK", ts=f"{time.time():.6f}",
                           text="card 4111 1111 1111 1111", channel_type=event_pb2.CHANNEL_TYPE_PUBLIC)


@dataclass(frozen=True)
class Rpc:
    """One RPC: the server it lives on, how to call it, who may call it."""

    name: str
    service: str
    call: Callable[[grpc.Channel], Any]
    allowed: frozenset[str]


def _scan(dry_run: bool) -> Callable[[grpc.Channel], Any]:
    return lambda ch: detection_pb2_grpc.DetectionStub(ch).Scan(
        detection_pb2.ScanRequest(event=event_pb2.Event(), dry_run=dry_run), timeout=10)


def _health(service: str) -> Callable[[grpc.Channel], Any]:
    return lambda ch: health_pb2_grpc.HealthStub(ch).Check(
        health_pb2.HealthCheckRequest(service=""), timeout=10)


EVERYONE = frozenset({"ingest", "detection", "action", "operator", "admin"})
# Allowed calls are sent empty, so they end in INVALID_ARGUMENT and change nothing.
RPCS = [
    Rpc("Ingest.SubmitEvent", "ingest", lambda ch: ingest_pb2_grpc.IngestStub(ch).SubmitEvent(
        ingest_pb2.SubmitEventRequest(event=event("EvAUTHZ")), timeout=10), frozenset()),
    Rpc("Audit.GetEventHistory", "ingest", lambda ch: audit_pb2_grpc.AuditStub(ch).GetEventHistory(
        audit_pb2.GetEventHistoryRequest(), timeout=10), frozenset({"admin"})),
    Rpc("Detection.Scan(effects)", "detection", _scan(False), frozenset({"ingest"})),
    Rpc("Detection.Scan(dry_run)", "detection", _scan(True),
        frozenset({"ingest", "detection", "action", "admin"})),
    Rpc("Action.Execute", "action", lambda ch: action_pb2_grpc.ActionStub(ch).Execute(
        action_pb2.ActionRequest(), timeout=10), frozenset({"detection"})),
    *[Rpc(f"Health.Check({s})", s, _health(s), EVERYONE) for s in ("ingest", "detection", "action")],
]
IDS = [rpc.name for rpc in RPCS]


def refusal(call: Callable[[], Any]) -> grpc.StatusCode | None:
    try:
        call()
    except grpc.RpcError as error:
        return error.code()
    return None


def target(harness: Harness, service: str) -> str:
    return f"127.0.0.1:{harness.pipeline.grpc_ports[service]}"


@pytest.fixture(scope="module")
def foreign_ca(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CertFiles]:
    """An attacker's CA, issuing certificates that claim every component's name."""
    ca = LocalCA.create(Path(tmp_path_factory.mktemp("foreign-ca")))
    return {name: ca.issue_component(name) for name in ("admin", "detection", "ingest")}


@pytest.mark.parametrize("rpc", RPCS, ids=IDS)
def test_plaintext_caller_is_refused(secured: Harness, rpc: Rpc) -> None:
    with grpc.insecure_channel(target(secured, rpc.service)) as channel:
        assert refusal(lambda: rpc.call(channel)) == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("rpc", RPCS, ids=IDS)
def test_tls_caller_without_a_certificate_is_refused(secured: Harness, rpc: Rpc) -> None:
    ca = secured.pipeline.certificates["admin"].ca.read_bytes()
    credentials = grpc.ssl_channel_credentials(root_certificates=ca)
    with grpc.secure_channel(target(secured, rpc.service), credentials) as channel:
        code = refusal(lambda: rpc.call(channel))
    assert code == grpc.StatusCode.UNAVAILABLE  # the TLS handshake itself is refused


@pytest.mark.parametrize("rpc", RPCS, ids=IDS)
def test_certificate_of_another_ca_is_refused(secured: Harness, rpc: Rpc,
                                              foreign_ca: dict[str, CertFiles]) -> None:
    claimed = "admin" if "admin" in rpc.allowed else next(iter(rpc.allowed or {"ingest"}))
    forged = foreign_ca.get(claimed, foreign_ca["admin"])
    with secured.pipeline.channel(rpc.service, certificate=CertFiles(
            forged.cert, forged.key, secured.pipeline.certificates["admin"].ca)) as channel:
        code = refusal(lambda: rpc.call(channel))
    assert code in DENIED


def token_channel(harness: Harness, token: str | None) -> grpc.Channel:
    """A channel to ingest's bearer-token Ingest API port."""
    ca = harness.pipeline.certificates["admin"].ca.read_bytes()
    credentials = grpc.ssl_channel_credentials(root_certificates=ca)
    if token is not None:
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(token))
    return grpc.secure_channel(f"127.0.0.1:{harness.pipeline.ingest_api_port}", credentials)


TOKEN_PORT_RPCS = [r for r in RPCS if r.name in ("Ingest.SubmitEvent", "Health.Check(ingest)")]


@pytest.mark.parametrize("token", [None, "", TOKENS[UNLISTED_CALLER][::-1]],
                         ids=["no-token", "empty-token", "wrong-token"])
@pytest.mark.parametrize("rpc", TOKEN_PORT_RPCS, ids=[r.name for r in TOKEN_PORT_RPCS])
def test_token_port_refuses_a_missing_or_wrong_token(secured: Harness, rpc: Rpc,
                                                     token: str | None) -> None:
    with token_channel(secured, token or None) as channel:
        assert refusal(lambda: rpc.call(channel)) == grpc.StatusCode.UNAUTHENTICATED


def test_token_port_serves_nothing_but_ingest(secured: Harness) -> None:
    """No component identity exists on the token port: Audit is not even there."""
    with token_channel(secured, TOKENS[UNLISTED_CALLER]) as channel:
        code = refusal(lambda: audit_pb2_grpc.AuditStub(channel).GetEventHistory(
            audit_pb2.GetEventHistoryRequest(correlation_id="EvANY"), timeout=10))
    assert code == grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.parametrize("rpc", RPCS, ids=IDS)
@pytest.mark.parametrize("identity", sorted(EVERYONE))
def test_each_component_may_call_only_what_its_work_needs(secured: Harness, rpc: Rpc,
                                                          identity: str) -> None:
    with secured.pipeline.channel(rpc.service, identity) as channel:
        code = refusal(lambda: rpc.call(channel))
    if identity in rpc.allowed:
        assert code not in DENIED, f"{identity} refused {rpc.name}: {code}"
    else:
        assert code == grpc.StatusCode.PERMISSION_DENIED, f"{identity} called {rpc.name}: {code}"


def test_a_caller_certificate_cannot_call_stage_or_operator_methods(secured: Harness) -> None:
    """An external caller's certificate (CN = its name) is no component identity."""
    caller = secured.pipeline.caller_certificate("crm-sync")
    for rpc in RPCS:
        if rpc.name.startswith(("Health", "Ingest")):
            continue
        with secured.pipeline.channel(rpc.service, certificate=caller) as channel:
            assert refusal(lambda rpc=rpc: rpc.call(channel)) == grpc.StatusCode.PERMISSION_DENIED


def test_refusals_are_logged_without_tokens(secured: Harness) -> None:
    output = secured.pipeline.output()
    assert "refused /piiguard.v1.Action/Execute for ingest" in output
    assert all(token not in output for token in TOKENS.values())
