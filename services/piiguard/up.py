"""``piiguard up``: the whole pipeline on one machine.

Starts a local ``nats-server`` with JetStream (unless ``NATS_URL`` names one),
then ingest, detection and action as separate processes, wired through
environment variables exactly as their containers are. A service that dies is
restarted (with backoff); Ctrl-C or SIGTERM stops them all, services first so
in-flight work finishes, NATS last.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from piiguard import config
from piiguard.natsserver import NatsServer, NatsServerError, free_port

REQUIRED = ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SLACK_ADMIN_TOKEN")
DEFAULT_NATS_PORT = 4222
GRPC_PORTS = {"ingest": 50051, "detection": 50052, "action": 50053}
STOP_GRACE_SECONDS = 20.0


def _port_or_free(preferred: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            return free_port()


def default_data_dir() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("piiguard")) / "nats"


@dataclass
class Child:
    name: str
    args: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self) -> None:
        self.process = subprocess.Popen(self.args, env=self.env)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def run_up(policy_path: str | None = None, data_dir: str | None = None) -> int:
    missing = [name for name in REQUIRED if not os.environ.get(name, "").strip()]
    if missing:
        for name in missing:
            print(f"piiguard up: error: {name} is not set (export {name}=...; see README)",
                  file=sys.stderr)
        return 2
    try:
        http_port = config.port("PIIGUARD_HTTP_PORT", 3000)
    except config.ConfigError as exc:
        print(f"piiguard up: error: {exc}", file=sys.stderr)
        return 2
    if policy_path:
        from piiguard.policy import PolicyError, load_policy

        try:
            load_policy(policy_path)
        except PolicyError as exc:
            print(f"piiguard up: error: {exc}", file=sys.stderr)
            return 2
        policy_path = str(Path(policy_path).resolve())

    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    nats: NatsServer | None = None
    nats_url = os.environ.get("NATS_URL", "").strip()
    if not nats_url:
        storage = Path(data_dir) if data_dir else default_data_dir()
        try:
            nats = NatsServer(storage, port=_port_or_free(DEFAULT_NATS_PORT)).start()
        except NatsServerError as exc:
            print(f"piiguard up: error: {exc}", file=sys.stderr)
            return 1
        nats_url = nats.url
        print(f"nats-server: {nats_url} (JetStream data in {storage})", flush=True)
    else:
        print(f"nats-server: using {nats_url}", flush=True)

    children: list[Child] = []
    for name, preferred in GRPC_PORTS.items():
        env = dict(os.environ, NATS_URL=nats_url,
                   PIIGUARD_GRPC_PORT=str(_port_or_free(preferred)))
        if name == "ingest":
            env["PIIGUARD_HTTP_PORT"] = str(http_port)
        else:  # ingest's ack races Slack's deadline: the other stages yield the CPU to it
            env.setdefault("PIIGUARD_NICE", "5")
        args = [sys.executable, "-m", f"piiguard.{name}"]
        if policy_path:
            args += ["--policy", policy_path]
        child = Child(name, args, env)
        child.start()
        children.append(child)
        print(f"{name}: gRPC on 127.0.0.1:{env['PIIGUARD_GRPC_PORT']}"
              + (f", Slack events on http://127.0.0.1:{http_port}/slack/events"
                 if name == "ingest" else ""), flush=True)

    ready_announced = False
    try:
        while not stopping:
            time.sleep(0.5)
            for child in children:
                if stopping or child.alive():
                    continue
                code = child.process.returncode if child.process else None
                if code == 2:  # configuration error: restarting cannot help
                    print(f"piiguard up: {child.name} refused its configuration; stopping",
                          file=sys.stderr)
                    stopping = True
                    break
                now = time.monotonic()
                child.restarts = [t for t in child.restarts if now - t < 60]
                if len(child.restarts) >= 5:
                    print(f"piiguard up: {child.name} keeps failing (exit {code}); stopping",
                          file=sys.stderr)
                    stopping = True
                    break
                child.restarts.append(now)
                print(f"piiguard up: {child.name} exited ({code}); restarting", file=sys.stderr)
                child.start()
            if not ready_announced and not stopping and _ingest_ready(http_port):
                ready_announced = True
                print("PII Guard is up. Press Ctrl-C to stop.", flush=True)
    finally:
        _stop_children(children)
        if nats is not None:
            nats.stop()
        print("PII Guard stopped.", flush=True)
    return 0 if all(c.process is None or c.process.returncode in (0, -15) for c in children) else 1


def _ingest_ready(http_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=0.5) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _stop_children(children: list[Child]) -> None:
    # Ingest first: stop accepting before the consumers drain.
    for child in children:
        if child.alive() and child.process is not None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        if child.process is None:
            continue
        try:
            child.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()
