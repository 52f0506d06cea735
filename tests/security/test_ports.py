"""Listening: loopback by default, and a port is never shared with a second process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Harness

pytestmark = pytest.mark.e2e


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net/tcp* writes them) listening on ``port``."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # LISTEN
                found.add(address)
    return found


LOOPBACK = {"0100007F", "00000000000000000000000001000000",  # 127.0.0.1, ::1
            "0000000000000000FFFF00000100007F"}  # ::ffff:127.0.0.1 (a dual-stack socket)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net")
def test_every_port_listens_on_loopback_only(secured: Harness) -> None:
    pipeline = secured.pipeline
    for port in (*pipeline.grpc_ports.values(), pipeline.http_port, pipeline.ingest_api_port):
        addresses = listening_addresses(port)
        assert addresses and addresses <= LOOPBACK, (port, addresses)


def second_stage(harness: Harness, name: str, **env: str) -> subprocess.CompletedProcess[str]:
    pipeline = harness.pipeline
    full = dict(pipeline.env, **pipeline.nats.client_env(name), **pipeline.certificates[name].env(),
                **env)
    return subprocess.run([sys.executable, "-m", f"piiguard.{name}"], env=full,
                          capture_output=True, text=True, timeout=120)


def test_a_second_process_cannot_bind_a_stage_grpc_port(secured: Harness) -> None:
    port = secured.pipeline.grpc_ports["action"]
    result = second_stage(secured, "action", PIIGUARD_GRPC_PORT=str(port))
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"PIIGUARD_GRPC_PORT: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
    assert secured.pipeline.processes["action"].poll() is None  # the first one serves on


def test_a_second_ingest_cannot_bind_the_http_port(secured: Harness) -> None:
    from piiguard.natsserver import free_port

    port = secured.pipeline.http_port
    result = second_stage(secured, "ingest", PIIGUARD_HTTP_PORT=str(port),
                          PIIGUARD_GRPC_PORT=str(free_port()), PIIGUARD_INGEST_API_PORT=str(free_port()))
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"PIIGUARD_HTTP_PORT: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_plaintext_needs_an_explicit_opt_out_and_warns(secured: Harness, tmp_path: Path) -> None:
    from piiguard.natsserver import free_port

    env = dict(secured.pipeline.env)
    without_tls = {k: v for k, v in env.items() if not k.startswith("PIIGUARD_TLS_")}
    refused = subprocess.run([sys.executable, "-m", "piiguard.action"],
                             env=dict(without_tls, **secured.pipeline.nats.client_env("action"),
                                      PIIGUARD_GRPC_PORT=str(free_port())),
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert "PIIGUARD_TLS_CERT, PIIGUARD_TLS_KEY, PIIGUARD_TLS_CA not set" in refused.stderr
    assert "Traceback" not in refused.stderr
