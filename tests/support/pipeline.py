"""Launch the real pipeline — nats-server and the three service processes — for
end-to-end tests and benchmarks, with each process's output captured to a file
(so a test can assert that no PII ever reached a log)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import grpc
import nats
import nats.errors
from grpc_health.v1 import health_pb2, health_pb2_grpc

from piiguard.jetstream import STREAM_EVENTS, STREAM_VERDICTS, Retention
from piiguard.natsserver import NatsCluster, NatsServer, free_port
from piiguard.security.local import LocalSecurity, provision
from piiguard.security.localca import CertFiles
from piiguard.security.natsauth import HARNESS, NatsAuth
from piiguard.security.tls import TlsSettings, secure_channel
from piiguard.up import child_environment

SERVICES = ("ingest", "detection", "action")


def consumers_drained(nats_url: str, auth: NatsAuth | None = None) -> list[str]:
    """The stages' consumers if every one has nothing pending and nothing awaiting an
    ack (a message nak'd with a delay still awaits one), else an empty list.

    The positive proof that nothing more will happen: with every accepted event
    consumed and acknowledged, no stage holds work that could still act."""

    async def check() -> list[str]:
        nc = await nats.connect(nats_url.split(","), max_reconnect_attempts=0, connect_timeout=2,
                                **(auth.connect_options() if auth is not None else {}))
        try:
            jsm = nc.jsm()
            consumers = []
            for stream in (STREAM_EVENTS, STREAM_VERDICTS):
                for info in await jsm.consumers_info(stream):
                    if info.num_pending or info.num_ack_pending:
                        return []
                    consumers.append(f"{stream}/{info.name}")
            return consumers
        finally:
            await nc.close()

    try:
        return asyncio.run(check())
    except (OSError, nats.errors.Error):
        return []


def stage_of(instance: str) -> str:
    """``detection-2`` → ``detection``."""
    return instance.split("-", 1)[0]


class Pipeline:
    def __init__(
        self,
        workdir: Path,
        *,
        slack_api_url: str,
        signing_secret: str = "test-signing-secret",
        bot_token: str = "xoxb-test-bot-token",
        admin_token: str = "xoxp-test-admin-token",
        policy_path: Path | None = None,
        extra_env: dict[str, str] | None = None,
        service_env: dict[str, dict[str, str]] | None = None,
        nats_cluster: int = 0,
        stage_replicas: int = 1,
    ) -> None:
        """``service_env``: variables for one service only (e.g. its own Secret's name).
        ``nats_cluster``: run that many clustered nats-servers (streams and buckets with
        as many replicas) instead of one. ``stage_replicas``: processes per stage, named
        ``<stage>``, ``<stage>-2``, ... (each ingest with its own HTTP port, as pods behind
        a Service; detection and action share their consumers)."""
        self.workdir = Path(workdir)
        self.signing_secret = signing_secret
        # Secure by default, as `piiguard up`: a throwaway CA, a certificate and a NATS
        # user per component, NATS over TLS with JetStream encryption; plus a NATS user
        # for the tests themselves to set up and inspect streams.
        self.security = LocalSecurity.create(self.workdir, harness=True)
        self.ca = self.security.ca
        self.certificates: dict[str, CertFiles] = self.security.certificates
        self.nats: NatsServer | NatsCluster = (
            NatsCluster(self.workdir / "nats", nats_cluster, security=self.security.nats)
            if nats_cluster else NatsServer(self.workdir / "nats", security=self.security.nats))
        self.replicas = nats_cluster or 1
        self.http_port = free_port()
        self.instances = tuple(stage if n == 1 else f"{stage}-{n}"
                               for n in range(1, stage_replicas + 1) for stage in SERVICES)
        self.grpc_ports = {name: free_port() for name in self.instances}
        self.metrics_ports = {name: free_port() for name in self.instances}  # /metrics of each
        self.http_ports = {name: self.http_port if name == "ingest" else free_port()
                           for name in self.instances if stage_of(name) == "ingest"}
        self.ingest_api_port = free_port()  # bearer-token Ingest API, when a tokens file is set
        self.policy_path = policy_path
        self.env = {
            **os.environ,
            "SLACK_SIGNING_SECRET": signing_secret,
            "SLACK_BOT_TOKEN": bot_token,
            "SLACK_ADMIN_TOKEN": admin_token,
            "SLACK_API_URL": slack_api_url,
            "PIIGUARD_HTTP_PORT": str(self.http_port),
            "PIIGUARD_INGEST_API_PORT": str(self.ingest_api_port),
            "PYTHONUNBUFFERED": "1",
            "PIIGUARD_STREAM_REPLICAS": str(nats_cluster or 1),
            **(extra_env or {}),
        }
        self.service_env = service_env or {}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/slack/events"

    @property
    def events_urls(self) -> list[str]:
        """Every ingest process's endpoint (a load balancer's choices)."""
        return [f"http://127.0.0.1:{port}/slack/events" for port in self.http_ports.values()]

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def start(self, timeout: float = 90.0) -> Pipeline:
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self.nats.start(log_file=self.log_path("nats-server"))
            retention = replace(Retention.default(), replicas=self.replicas)
            provision(self.nats.url, self.nats_auth("operator"), retention)  # as piiguard up: stages may not
            for name in self.instances:
                self.start_service(name)
            self.wait_ready(timeout, names=self.instances)
        except BaseException:
            self.stop()  # a half-started pipeline leaves no process behind
            raise
        return self

    def _retry_on_taken_port(self, name: str, attempts: dict[str, int]) -> bool:
        """Restart ``name`` on fresh ports when it exited because another process
        (this machine is shared) took one of its ports first; at most twice."""
        if "cannot listen on" not in self.log_path(name).read_text(errors="replace"):
            return False
        attempts[name] = attempts.get(name, 0) + 1
        if attempts[name] > 2:
            return False
        self.grpc_ports[name] = free_port()
        self.metrics_ports[name] = free_port()
        if name in self.http_ports:
            self.http_ports[name] = free_port()
            if name == "ingest":
                self.http_port = self.http_ports[name]
                self.env["PIIGUARD_HTTP_PORT"] = str(self.http_port)
        if name == "ingest":
            self.ingest_api_port = free_port()
            self.env["PIIGUARD_INGEST_API_PORT"] = str(self.ingest_api_port)
        self.log_path(name).rename(self.log_path(name).with_suffix(f".port-taken-{attempts[name]}.log"))
        self.start_service(name)
        return True

    def start_service(self, name: str) -> None:
        stage = stage_of(name)  # a replica runs as its stage, with the stage's identity
        env = dict(child_environment(stage, self.env), PIIGUARD_GRPC_PORT=str(self.grpc_ports[name]),
                   PIIGUARD_METRICS_PORT=str(self.metrics_ports[name]),
                   **self.nats.client_env(stage), **self.certificates[stage].env(),
                   **self.service_env.get(stage, {}))
        if stage == "ingest":
            env["PIIGUARD_HTTP_PORT"] = str(self.http_ports[name])
            if name != "ingest":
                env["PIIGUARD_INGEST_API_PORT"] = str(free_port())
        else:  # as `piiguard up` runs them: ingest's ack comes first
            env.setdefault("PIIGUARD_NICE", "5")
        args = [sys.executable, "-m", f"piiguard.{stage}"]
        if self.policy_path:
            args += ["--policy", str(self.policy_path)]
        with open(self.log_path(name), "ab") as log:  # the child keeps its own descriptor
            self.processes[name] = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 90.0, names: tuple[str, ...] = SERVICES) -> None:
        deadline = time.monotonic() + timeout
        restarts: dict[str, int] = {}
        for name in names:
            while not self._ready(name):
                process = self.processes[name]
                if process.poll() is not None:
                    if self._retry_on_taken_port(name, restarts):
                        continue
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n"
                                       + self.log_path(name).read_text(errors="replace")[-3000:])
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not ready within {timeout}s")
                time.sleep(0.2)

    def _ready(self, name: str) -> bool:
        if stage_of(name) == "ingest":
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.http_ports[name]}/healthz",
                                            timeout=1) as r:
                    if r.status != 200:
                        return False
            except OSError:
                return False
        try:
            with self.channel(name) as channel:
                answer = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=1
                )
                return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)
        except grpc.RpcError:
            return False

    def nats_auth(self, user: str = HARNESS) -> NatsAuth:
        """How ``user`` connects to the pipeline's NATS (default: the tests' own user)."""
        return self.nats.auth(user)

    def cli_env(self) -> dict[str, str]:
        """The environment of a `piiguard` CLI run as the operators' ``admin``."""
        return dict(self.env, **self.nats.client_env("admin"))

    def caller_certificate(self, caller: str) -> CertFiles:
        """A certificate of the pipeline's CA naming an external Ingest API caller (CN)."""
        return self.ca.issue(caller)

    def channel(self, service: str, identity: str = "admin", *,
                certificate: CertFiles | None = None,
                options: Sequence[tuple[str, object]] | None = None) -> grpc.Channel:
        """A gRPC channel to ``service`` presenting ``identity``'s certificate."""
        files = certificate or self.certificates[identity]
        tls = TlsSettings(plaintext=False, cert=files.cert, key=files.key, ca=files.ca)
        return secure_channel(f"127.0.0.1:{self.grpc_ports[service]}", tls,
                              list(options) if options is not None else None)

    def kill(self, name: str) -> None:
        process = self.processes[name]
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()

    def restart(self, name: str, *, kill: bool = True, wait: bool = True) -> None:
        if kill:
            self.kill(name)
        else:
            self.terminate(name)
        self.start_service(name)
        if wait:
            self.wait_ready(names=(name,))

    def terminate(self, name: str, timeout: float = 30.0) -> int:
        process = self.processes[name]
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def stop(self) -> None:
        for name in self.processes:
            self.terminate(name)
        self.nats.stop()

    def drained(self) -> list[str]:
        return consumers_drained(self.nats.url, self.nats_auth())

    def output(self) -> str:
        """Everything every process printed."""
        return "\n".join(
            self.log_path(name).read_text(errors="replace")
            for name in self.instances
            if self.log_path(name).exists()
        )

    def __enter__(self) -> Pipeline:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
