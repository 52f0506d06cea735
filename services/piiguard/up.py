"""``piiguard up``: the whole pipeline on one machine.

Starts a local ``nats-server`` with JetStream (unless ``NATS_URL`` names one),
then ingest, detection and action as separate processes, wired through
environment variables exactly as their containers are. Every child — the
``nats-server`` it started included — is supervised (:mod:`piiguard.supervisor`):
one that dies is reaped and restarted with the same ports and data, with
exponential backoff; only a configuration error (a child exiting with code 2)
stops everything. Ctrl-C or SIGTERM stops them all, services first so in-flight
work finishes, NATS last.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from piiguard import settings
from piiguard.components import missing_extras
from piiguard.errors import ConfigError, NatsServerError
from piiguard.jetstream import Retention
from piiguard.natsserver import NatsServer, free_port
from piiguard.security.local import LocalSecurity, default_data_dir, provision, record_nats_url
from piiguard.supervisor import CONFIGURATION_ERROR, Child, Supervisor

REQUIRED = ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SLACK_ADMIN_TOKEN")


def required_credentials(slack_mode: str) -> tuple[str, ...]:
    """What `piiguard up` cannot start without: Socket Mode only needs the app token
    and no signing secret; HTTP (or both) the signing secret (and, both, the app token)."""
    if slack_mode == "socket":
        return ("SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_ADMIN_TOKEN")
    if slack_mode == "both":
        return (*REQUIRED, "SLACK_APP_TOKEN")
    return REQUIRED
# Least privilege: each service gets only the Slack credentials its work needs.
SLACK_CREDENTIALS = ("SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_ADMIN_TOKEN",
                     "NOTION_TOKEN")
NEEDS: dict[str, tuple[str, ...]] = {
    # verifies Slack; reads channel history (the scheduled sweep); polls Notion
    "ingest": ("SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "NOTION_TOKEN"),
    "detection": ("SLACK_BOT_TOKEN", "NOTION_TOKEN"),  # downloads files; refreshes Notion file URLs
    "action": ("SLACK_BOT_TOKEN", "SLACK_ADMIN_TOKEN", "NOTION_TOKEN"),  # DMs; deletes; trashes pages
}
# What a child must never inherit from the shell that ran `piiguard up`: it gets its own.
OWN_IDENTITY = ("PIIGUARD_TLS_CERT", "PIIGUARD_TLS_KEY", "PIIGUARD_TLS_CA")
OWN_NATS_ACCOUNT = ("NATS_USER", "NATS_PASSWORD", "NATS_CREDS", "NATS_TLS_CA", "NATS_TLS_CERT",
                    "NATS_TLS_KEY")


def child_environment(name: str, base: dict[str, str] | None = None, *,
                      own_nats: bool = True) -> dict[str, str]:
    """The environment a service starts with: the user's, without the credentials
    of other services (and, with our own nats-server, without the user's NATS account)."""
    env = dict(os.environ if base is None else base)
    dropped = (*SLACK_CREDENTIALS, *OWN_IDENTITY, *(OWN_NATS_ACCOUNT if own_nats else ()))
    for key in dropped:
        if key not in NEEDS[name] and key in env:
            del env[key]
    return env
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


def service_child(name: str, args: list[str], env: dict[str, str]) -> Child:
    """A service process, started again with the same command and environment (ports)."""
    return Child(name, lambda: subprocess.Popen(args, env=env))


def nats_child(server: NatsServer) -> Child:
    """The local nats-server: restarted on the same port and JetStream data dir."""
    return Child("nats-server", server.launch, infrastructure=True)


def run_up(policy_path: str | None = None, data_dir: str | None = None) -> int:
    absent = missing_extras(("ingest", "detection", "action", "local"))
    if absent:
        print(f"piiguard up: error: the {', '.join(absent)} dependencies are not installed "
              "(pip install -e '.[all]'; see README)", file=sys.stderr)
        return 2
    try:
        config = settings.load()
    except ConfigError as exc:
        print(f"piiguard up: error: {exc}", file=sys.stderr)
        return 2
    http_port = config.http_port
    from piiguard.errors import PolicyError
    from piiguard.policy import load_policy

    local_policy = None
    if policy_path:
        try:
            local_policy = load_policy(policy_path)
        except PolicyError as exc:
            print(f"piiguard up: error: {exc}", file=sys.stderr)
            return 2
        policy_path = str(Path(policy_path).resolve())
    # Socket Mode only (PIIGUARD_SLACK_MODE, or the policy's slack.mode): no HTTP events
    # to verify, so an app token instead of the signing secret.
    slack_mode = (local_policy.slack.mode if local_policy else None) or config.slack_mode
    missing = []
    for name in required_credentials(slack_mode):
        try:
            config.require(name)
        except ConfigError:
            missing.append(name)
    if missing:
        for name in missing:
            print(f"piiguard up: error: {name} is not set (export {name}=...; see README)",
                  file=sys.stderr)
        return 2

    storage = Path(data_dir) if data_dir else default_data_dir()
    storage.mkdir(parents=True, exist_ok=True)
    # New on every start (nothing long-lived to steal): a CA, a certificate and a NATS
    # user per component; the JetStream encryption key is made once and kept.
    security = LocalSecurity.create(storage)
    print(f"certificates: a new local CA in {storage / 'tls'} (piiguard events/dlq use "
          f"its admin identity)", flush=True)

    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    nats: NatsServer | None = None
    # NATS_URL set: use that server; unset: start our own.
    nats_url = config.nats_url if "nats_url" in config.model_fields_set else ""
    if not nats_url:
        try:
            nats = NatsServer(storage, port=_port_or_free(DEFAULT_NATS_PORT),
                              security=security.nats).start()
            # Stages may not manage streams: create them as the operator would.
            retention = Retention.from_settings(config).for_policies([local_policy or load_policy(None)])
            # The local policy's scheduled jobs too (docs/schedules.md), as the operator would.
            provision(nats.url, security.nats.auth("operator"), retention,
                      policy=local_policy or load_policy(None))
        except (NatsServerError, OSError) as exc:
            if nats is not None:
                nats.stop()
            print(f"piiguard up: error: {exc}", file=sys.stderr)
            return 1
        except Exception as exc:
            if nats is not None:
                nats.stop()
            print(f"piiguard up: error: could not create the streams ({type(exc).__name__})",
                  file=sys.stderr)
            return 1
        nats_url = nats.url
        record_nats_url(storage, nats_url)
        print(f"nats-server: {nats_url} (JetStream data in {storage})", flush=True)
    else:
        print(f"nats-server: using {nats_url}", flush=True)
        # The local policy's scheduled jobs, with the NATS account given (NATS_USER/...).
        from piiguard.security.natsauth import auth_from_settings

        try:
            provision(nats_url, auth_from_settings(config, "operator"),
                      Retention.from_settings(config).for_policies([local_policy or load_policy(None)]),
                      policy=local_policy or load_policy(None), timeout=15.0)
        except Exception as exc:
            print(f"piiguard up: warning: the policy's schedules were not written ({type(exc).__name__}); "
                  "scheduled jobs will not run (docs/schedules.md)", file=sys.stderr, flush=True)

    host = config.bind_host
    children: list[Child] = []
    if nats is not None:
        children.append(nats_child(nats))
    for name, preferred in GRPC_PORTS.items():
        own_nats = nats is not None
        env = dict(child_environment(name, own_nats=own_nats), NATS_URL=nats_url,
                   PIIGUARD_GRPC_PORT=str(_port_or_free(preferred)),
                   # One free port each (a restarted child keeps its own): /metrics.
                   PIIGUARD_METRICS_PORT=str(free_port()),
                   **security.child_env(name, own_nats=own_nats))
        if name == "ingest":
            env["PIIGUARD_HTTP_PORT"] = str(http_port)
            env["PIIGUARD_SLACK_MODE"] = slack_mode  # the policy's choice, when it makes one
        else:  # ingest's ack races Slack's deadline: the other stages yield the CPU to it
            env.setdefault("PIIGUARD_NICE", "5")
        args = [sys.executable, "-m", f"piiguard.{name}"]
        if policy_path:
            args += ["--policy", policy_path]
        children.append(service_child(name, args, env))
        print(f"{name}: gRPC on {host}:{env['PIIGUARD_GRPC_PORT']}"
              + (f", Slack events on http://{host}:{http_port}/slack/events"
                 if name == "ingest" else ""), flush=True)
        print(f"{name}: metrics on http://127.0.0.1:{env['PIIGUARD_METRICS_PORT']}/metrics", flush=True)

    supervisor = Supervisor(children)
    ready_announced = False

    def announce_ready() -> None:
        nonlocal ready_announced
        if not ready_announced and _ingest_ready(http_port):
            ready_announced = True
            print("PII Guard is up. Press Ctrl-C to stop.", flush=True)

    try:
        # nats-server is already running (started above, waiting until it listens).
        for child in children:
            if child.infrastructure and nats is not None and nats.process is not None:
                supervisor.adopt(child, nats.process)
            else:
                supervisor.start_child(child)
        supervisor.run(lambda: stopping, on_tick=announce_ready)
    finally:
        supervisor.stop(STOP_GRACE_SECONDS)
        for described in supervisor.unclean():
            print(f"piiguard up: {described} did not stop cleanly", flush=True)
        print("PII Guard stopped.", flush=True)
    if supervisor.configuration_error is not None:
        return CONFIGURATION_ERROR
    return 0 if supervisor.clean_exit() else 1


def _ingest_ready(http_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=0.5) as r:
            return bool(r.status == 200)
    except OSError:
        return False
