"""The bundled NATS's configuration as the chart renders it: a real nats-server
runs it, and each component's user may publish its own work subjects only —
a verdict forged with ingest's (or the operator's) credentials never reaches
the verdicts stream."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import re
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import nats.errors
import nats.js.errors
import pytest

from piiguard.natsserver import nats_server_binary
from tests.chart.chart import COMPONENTS, merged, one, render

pytestmark = pytest.mark.timeout(120)

USERS = (*COMPONENTS, "admin")
PLAIN = {
    "tls": {"enabled": False},
    "nats": {
        "config": {"nats": {"tls": {"enabled": False}}, "cluster": {"tls": {"enabled": False}}},
        "tlsCA": {"enabled": False},
    },
}


def rendered_config(values: dict[str, Any] | None = None) -> dict[str, Any]:
    text = one(render(values), "ConfigMap", "piiguard-nats-config")["data"]["nats.conf"]
    # nats.conf is JSON plus variables ($NAME) and units (10Gi): quote them to read it.
    quoted = re.sub(r"(:\s*)(\$[A-Z_]+|[0-9]+[KMGT]i?)(,?\n)", r'\1"\2"\3', text)
    config: dict[str, Any] = json.loads(quoted)
    return config


def users(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["user"]: u for u in config["authorization"]["users"]}


def test_every_component_has_a_user_whose_password_comes_from_the_release_secret() -> None:
    config = rendered_config()
    assert set(users(config)) == set(USERS)
    for name, user in users(config).items():
        assert user["password"] == f"$NATS_PASSWORD_{name.upper()}"
        assert user["permissions"]["subscribe"] == {"allow": [f"_INBOX_{name}.>"]}
    work = {"piiguard.events.>": {"ingest", "admin"}, "piiguard.verdicts.>": {"detection", "admin"}}
    for subject, owners in work.items():
        publishers = {n for n, u in users(config).items() if subject in u["permissions"]["publish"]["allow"]}
        assert publishers == owners, subject
    assert set(users(config)["operator"]["permissions"]["publish"]["deny"]) == set(work)
    for name in ("ingest", "detection", "action", "admin"):
        allowed = users(config)[name]["permissions"]["publish"]["allow"]
        assert not any(
            s.startswith(("$JS.API.STREAM.CREATE", "$JS.API.STREAM.UPDATE", "$JS.API.>")) for s in allowed
        ), f"{name} may manage streams"
    assert "authorization" not in rendered_config({"nats": {"piiguard": {"auth": {"enabled": False}}}})


def test_the_chart_grants_what_piiguard_up_grants() -> None:
    try:
        natsauth = importlib.import_module("piiguard.security.natsauth")
    except ImportError:
        pytest.skip("piiguard.security.natsauth (the services' permission table) is not in this tree")
    config = rendered_config()
    for name in USERS:
        assert users(config)[name]["permissions"] == natsauth.permissions(name).as_config(), name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    passwords: dict[str, str]


def start(tmp_path: Path, values: dict[str, Any], files: dict[str, str] | None = None) -> Iterator[Server]:
    """nats-server on loopback with the chart's rendered configuration (one
    server, no routes); ``files`` maps the pod's certificate paths to local ones."""
    config = rendered_config(values)
    port = free_port()
    config.update(port=port, host="127.0.0.1", pid_file=str(tmp_path / "nats.pid"))
    config.pop("http_port", None)
    config["jetstream"]["store_dir"] = str(tmp_path / "js")
    config["jetstream"].pop("max_file_store", None)
    # Back to nats.conf: variables unquoted, as the chart writes them.
    text = re.sub(r'"(\$[A-Z_]+)"', r"\1", json.dumps(config, indent=2))
    for pod_path, local in (files or {}).items():
        text = text.replace(f'"{pod_path}"', json.dumps(local))
    path = tmp_path / "nats.conf"
    path.write_text(text, encoding="utf-8")
    passwords = {u: f"pw-{u}-{os.urandom(6).hex()}" for u in USERS}
    environment = {
        **os.environ,
        "SERVER_NAME": "piiguard-nats-0",
        "JETSTREAM_ENCRYPTION_KEY": os.urandom(24).hex(),
        **{f"NATS_PASSWORD_{u.upper()}": p for u, p in passwords.items()},
    }
    check = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(path)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    process = subprocess.Popen(
        [nats_server_binary(), "-c", str(path)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("nats-server did not start on the chart's configuration")
                time.sleep(0.1)
        yield Server(f"nats://127.0.0.1:{port}", passwords)
    finally:
        process.terminate()
        process.wait(timeout=10)


ONE_SERVER = {"jetstream": {"replicas": 1}, "nats": {"config": {"cluster": {"enabled": False}}}}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from start(tmp_path, merged(PLAIN, ONE_SERVER))


class Client:
    def __init__(self, nc: Any, errors: list[str]) -> None:
        self.nc, self.errors = nc, errors
        self.js = nc.jetstream(timeout=2)


async def connect(server: Server, user: str, password: str | None = None) -> Client:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(
        server.url,
        user=user,
        password=password or server.passwords[user],
        inbox_prefix=f"_INBOX_{user}",
        error_cb=on_error,
        allow_reconnect=False,
        connect_timeout=5,
    )
    return Client(nc, errors)


@pytest.fixture
async def clients(server: Server) -> AsyncIterator[dict[str, Client]]:
    out = {u: await connect(server, u) for u in USERS}
    # The operator owns the topology, as in the cluster.
    js = out["operator"].js
    await js.add_stream(name="PIIGUARD_EVENTS", subjects=["piiguard.events.>"])
    await js.add_stream(name="PIIGUARD_VERDICTS", subjects=["piiguard.verdicts.>"])
    try:
        yield out
    finally:
        for c in out.values():
            await c.nc.close()


async def published(client: Client, subject: str) -> bool:
    try:
        await client.js.publish(subject, b"\x00", timeout=1.5)
    except (nats.errors.TimeoutError, nats.js.errors.NoStreamResponseError, nats.errors.NoRespondersError):
        return False
    return True


async def stored(operator: Client, stream: str) -> int:
    info = await operator.js.stream_info(stream)
    count: int = info.state.messages
    return count


async def test_each_user_publishes_only_its_own_work_subjects(clients: dict[str, Client]) -> None:
    assert await published(clients["ingest"], "piiguard.events.T1")
    assert await published(clients["detection"], "piiguard.verdicts.T1")
    for forger in ("ingest", "action", "operator"):
        assert not await published(clients[forger], "piiguard.verdicts.T1"), f"{forger} forged a verdict"
    for forger in ("detection", "action", "operator"):
        assert not await published(clients[forger], "piiguard.events.T1"), f"{forger} forged an event"
    assert await stored(clients["operator"], "PIIGUARD_EVENTS") == 1
    assert await stored(clients["operator"], "PIIGUARD_VERDICTS") == 1
    assert any("permissions violation" in e.lower() for e in clients["ingest"].errors)


async def test_stages_cannot_manage_streams_or_read_other_inboxes(clients: dict[str, Client]) -> None:
    for stage in ("ingest", "detection", "action"):
        with pytest.raises((nats.errors.TimeoutError, nats.js.errors.Error, nats.errors.NoRespondersError)):
            await clients[stage].js.add_stream(name=f"EVIL_{stage}", subjects=[f"evil.{stage}"])
    spy = clients["ingest"].nc
    await spy.subscribe("_INBOX_action.>")
    await spy.flush()
    await asyncio.sleep(0.2)
    assert any("subscription" in e.lower() for e in clients["ingest"].errors)


async def test_a_wrong_password_is_refused(server: Server) -> None:
    with pytest.raises((nats.errors.Error, OSError)):
        await connect(server, "ingest", password="not-the-password")


async def test_with_tls_the_server_requires_a_client_certificate_from_the_release_ca(tmp_path: Path) -> None:
    from piiguard.security.localca import LocalCA

    ca = LocalCA.create(tmp_path / "ca")
    nats_cert = ca.issue("nats", dns_names=["localhost"])
    ingest = ca.issue_component("ingest")
    pod_files = {
        "/etc/nats-certs/nats/tls.crt": str(nats_cert.cert),
        "/etc/nats-certs/nats/tls.key": str(nats_cert.key),
        "/etc/nats-ca-cert/ca.crt": str(ca.ca_file),
    }
    for server in start(tmp_path, ONE_SERVER, pod_files):
        with_cert = ssl.create_default_context(cafile=str(ca.ca_file))
        with_cert.load_cert_chain(str(ingest.cert), str(ingest.key))
        nc = await nats.connect(
            server.url,
            user="ingest",
            password=server.passwords["ingest"],
            tls=with_cert,
            inbox_prefix="_INBOX_ingest",
            allow_reconnect=False,
            connect_timeout=5,
        )
        assert nc.is_connected
        await nc.close()
        without_cert = ssl.create_default_context(cafile=str(ca.ca_file))
        with pytest.raises((nats.errors.Error, OSError, ssl.SSLError)):
            await nats.connect(
                server.url,
                user="ingest",
                password=server.passwords["ingest"],
                tls=without_cert,
                allow_reconnect=False,
                connect_timeout=3,
                max_reconnect_attempts=0,
            )
