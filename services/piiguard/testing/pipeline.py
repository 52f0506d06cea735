"""Launch the real pipeline — nats-server and the three service processes — for
end-to-end tests and benchmarks, with each process's output captured to a file
(so a test can assert that no PII ever reached a log)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from piiguard.natsserver import NatsServer, free_port

SERVICES = ("ingest", "detection", "action")


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
    ) -> None:
        self.workdir = Path(workdir)
        self.signing_secret = signing_secret
        self.nats = NatsServer(self.workdir / "nats")
        self.http_port = free_port()
        self.grpc_ports = {name: free_port() for name in SERVICES}
        self.policy_path = policy_path
        self.env = {
            **os.environ,
            "SLACK_SIGNING_SECRET": signing_secret,
            "SLACK_BOT_TOKEN": bot_token,
            "SLACK_ADMIN_TOKEN": admin_token,
            "SLACK_API_URL": slack_api_url,
            "PIIGUARD_HTTP_PORT": str(self.http_port),
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/slack/events"

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def start(self, timeout: float = 90.0) -> Pipeline:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.nats.start(log_file=self.log_path("nats-server"))
        for name in SERVICES:
            self.start_service(name)
        self.wait_ready(timeout)
        return self

    def start_service(self, name: str) -> None:
        env = dict(self.env, NATS_URL=self.nats.url, PIIGUARD_GRPC_PORT=str(self.grpc_ports[name]))
        if name != "ingest":  # as `piiguard up` runs them: ingest's ack comes first
            env.setdefault("PIIGUARD_NICE", "5")
        args = [sys.executable, "-m", f"piiguard.{name}"]
        if self.policy_path:
            args += ["--policy", str(self.policy_path)]
        log = open(self.log_path(name), "ab")  # noqa: SIM115 (kept for the process's life)
        self.processes[name] = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 90.0, names: tuple[str, ...] = SERVICES) -> None:
        deadline = time.monotonic() + timeout
        for name in names:
            while not self._ready(name):
                process = self.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n"
                                       + self.log_path(name).read_text(errors="replace")[-3000:])
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not ready within {timeout}s")
                time.sleep(0.2)

    def _ready(self, name: str) -> bool:
        if name == "ingest":
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/healthz", timeout=1) as r:
                    if r.status != 200:
                        return False
            except OSError:
                return False
        try:
            with grpc.insecure_channel(f"127.0.0.1:{self.grpc_ports[name]}") as channel:
                answer = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=1
                )
                return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)
        except grpc.RpcError:
            return False

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
        for name in SERVICES:
            if name in self.processes:
                self.terminate(name)
        self.nats.stop()

    def output(self) -> str:
        """Everything every process printed."""
        return "\n".join(
            self.log_path(name).read_text(errors="replace")
            for name in SERVICES
            if self.log_path(name).exists()
        )

    def __enter__(self) -> Pipeline:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
