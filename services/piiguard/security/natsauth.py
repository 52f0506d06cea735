"""NATS accounts: one user per component, each allowed only the subjects its work
needs, over TLS; and JetStream encryption at rest.

The permission table (:func:`permissions`) is the one source: ``piiguard up`` and
the tests write it into their nats-server's configuration, docs/security.md
shows it, and the chart's NATS accounts must grant the same. The work subjects
are published only by the stage that owns them: ``piiguard.events.>`` by ingest,
``piiguard.verdicts.>`` by detection (and ``admin``, to replay dead letters).

The JetStream API needs care: a user allowed to create or update streams could
make the server *republish* stored messages onto another subject (a stream's
``republish`` setting), which would let ingest put a verdict in front of action.
So no stage may create, update or delete a stream, consumer rights are limited
to the stage's own input stream, and every component reads replies on its own
inbox prefix (``_INBOX_<component>``) rather than the shared ``_INBOX.>``. Only
the operator (and, locally, ``piiguard up`` acting as it) manages streams.
"""

from __future__ import annotations

import json
import os
import secrets
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from piiguard.security.identity import COMPONENTS
from piiguard.security.localca import CertFiles
from piiguard.settings import Settings

EVENTS, VERDICTS, DLQ, AUDIT = "PIIGUARD_EVENTS", "PIIGUARD_VERDICTS", "PIIGUARD_DLQ", "PIIGUARD_AUDIT"
ACTIONS_BUCKET, POLICIES_BUCKET = "piiguard-actions", "piiguard-policies"
NOTION_BUCKET = "piiguard-notion"  # the Notion poller's cursors (ingest's own)
SEEN_BUCKET = "piiguard-seen"  # message versions already scanned (ingest's handler writes it)
SWEEP_BUCKET = "piiguard-sweep"  # sweeps' durable progress (whoever runs a sweep)
# A sweep pauses while the bulk lane holds too much: it reads this one consumer's info.
BULK_CONSUMER_INFO = "$JS.API.CONSUMER.INFO.PIIGUARD_EVENTS.detection-bulk"
# Ingest holds events until their not_before on its one consumer of the events stream.
LATER_CONSUMER = ("$JS.API.CONSUMER.CREATE.PIIGUARD_EVENTS.ingest-later.>",
                  "$JS.API.CONSUMER.DURABLE.CREATE.PIIGUARD_EVENTS.ingest-later",
                  "$JS.API.CONSUMER.INFO.PIIGUARD_EVENTS.ingest-later",
                  "$JS.API.CONSUMER.MSG.NEXT.PIIGUARD_EVENTS.ingest-later",
                  "$JS.ACK.PIIGUARD_EVENTS.ingest-later.>")
SCHEDULES = "PIIGUARD_SCHEDULES"  # the scheduled jobs (docs/schedules.md)
JOBS_BUCKET = "piiguard-jobs"  # the jobs' last results: token health, unreadable channels
WORK_SUBJECTS = ("piiguard.events.>", "piiguard.verdicts.>")

# A user of the test harness only (never in `piiguard up`): sets up and inspects streams.
HARNESS = "harness"


def inbox_prefix(component: str) -> str:
    return f"_INBOX_{component}"


def _stream_info(*streams: str) -> list[str]:
    return [f"$JS.API.STREAM.INFO.{s}" for s in streams]


def _stream_read(stream: str) -> list[str]:
    return [*_stream_info(stream), f"$JS.API.STREAM.MSG.GET.{stream}",
            f"$JS.API.DIRECT.GET.{stream}", f"$JS.API.DIRECT.GET.{stream}.>"]


def _consume(stream: str) -> list[str]:
    """Create/bind a consumer on ``stream``, fetch, acknowledge, answer flow control."""
    return [f"$JS.API.CONSUMER.CREATE.{stream}", f"$JS.API.CONSUMER.CREATE.{stream}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.>", f"$JS.API.CONSUMER.INFO.{stream}.>",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.>", f"$JS.API.CONSUMER.DELETE.{stream}.>",
            f"$JS.ACK.{stream}.>", f"$JS.FC.{stream}.>"]


def _run_job(job: str) -> list[str]:
    """Fetch and acknowledge the fired jobs of the one durable consumer ``jobs-<job>``
    (created with the topology): no consumer of its own, no other job's."""
    durable = f"jobs-{job}"
    return [f"$JS.API.CONSUMER.INFO.{SCHEDULES}.{durable}",
            f"$JS.API.CONSUMER.MSG.NEXT.{SCHEDULES}.{durable}", f"$JS.ACK.{SCHEDULES}.{durable}.>"]


def _kv_read(bucket: str) -> list[str]:
    return [*_stream_read(f"KV_{bucket}"), *_consume(f"KV_{bucket}")]  # get, watch


def _kv_write(bucket: str) -> list[str]:
    return [*_kv_read(bucket), f"$KV.{bucket}.>"]


@dataclass(frozen=True)
class Permissions:
    """What one NATS user may publish and subscribe to (allow lists: all else is denied).

    publish: subjects it may publish to (including JetStream API requests).
    subscribe: subjects it may subscribe to (its own inbox).
    deny_publish: subjects refused even if an allow pattern covers them.
    """

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    deny_publish: tuple[str, ...] = ()

    def as_config(self) -> dict[str, Any]:
        publish: dict[str, Any] = {"allow": list(self.publish)}
        if self.deny_publish:
            publish["deny"] = list(self.deny_publish)
        return {"publish": publish, "subscribe": {"allow": list(self.subscribe)}}


def permissions(component: str) -> Permissions:
    inbox = (f"{inbox_prefix(component)}.>",)
    common = ["$JS.API.INFO"]
    if component == "ingest":
        return Permissions((*common, "piiguard.events.>", "piiguard.audit.>", "piiguard.dlq.notion.>",
                            *_stream_info(EVENTS), *_stream_read(AUDIT), *_kv_read(POLICIES_BUCKET),
                            *_kv_write(NOTION_BUCKET),
                            "piiguard.dlq.ingest.>", *_stream_info(SCHEDULES, DLQ), *_run_job("sweep"),
                            *_kv_write(JOBS_BUCKET), *_kv_write(SEEN_BUCKET), *_kv_write(SWEEP_BUCKET),
                            BULK_CONSUMER_INFO, *LATER_CONSUMER),
                           inbox)
    if component == "detection":
        return Permissions((*common, "piiguard.verdicts.>", "piiguard.audit.>",
                            "piiguard.dlq.detection.>", *_consume(EVENTS),
                            *_stream_info(EVENTS, VERDICTS, DLQ, AUDIT), *_kv_read(POLICIES_BUCKET)),
                           inbox)
    if component == "action":
        return Permissions((*common, "piiguard.audit.>", "piiguard.dlq.action.>", *_consume(VERDICTS),
                            *_stream_info(VERDICTS, DLQ, AUDIT), *_kv_write(ACTIONS_BUCKET),
                            *_kv_read(POLICIES_BUCKET),
                            # the digest reads the audit trail; both jobs write their results
                            *_stream_read(AUDIT), *_stream_info(SCHEDULES), *_run_job("digest"),
                            *_run_job("tokencheck"), *_kv_write(JOBS_BUCKET)),
                           inbox)
    if component == "operator":
        # The control plane: streams, consumers, the policy bucket. Never the work subjects.
        # It writes the workspaces' schedules (piiguard.schedules.<ws>.<job>), never a job.
        return Permissions(("$JS.API.>", f"$KV.{POLICIES_BUCKET}.>", "piiguard.audit.>",
                            "piiguard.schedules.>"), inbox,
                           deny_publish=WORK_SUBJECTS)
    if component == "admin":
        # People operating PII Guard: read the audit trail and dead letters, replay
        # (re-publish to the original stage, or the job) and purge dead letters; `piiguard sweep`
        # submits history through ingest's handler (the seen versions, its progress),
        # follows the trail of what it submitted and waits on the bulk lane's backlog.
        return Permissions((*common, *_stream_read(AUDIT), *_stream_read(DLQ),
                            f"$JS.API.STREAM.MSG.DELETE.{DLQ}", f"$JS.API.STREAM.PURGE.{DLQ}",
                            *WORK_SUBJECTS, "piiguard.audit.>",
                            # replaying a job's dead letter re-publishes the job
                            "piiguard.jobs.>",
                            *_kv_read(NOTION_BUCKET),  # `piiguard notion webhook-token`
                            # replaying a `notion` dead letter asks the poller for the page again
                            f"$KV.{NOTION_BUCKET}.retry.>",
                            *_stream_read(SCHEDULES),  # `piiguard schedules`
                            *_consume(AUDIT), *_kv_write(SEEN_BUCKET), *_kv_write(SWEEP_BUCKET),
                            BULK_CONSUMER_INFO), inbox)
    raise ValueError(f"no NATS permissions for {component!r}")


def new_password() -> str:
    return secrets.token_urlsafe(24)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def encryption_key(path: Path) -> str:
    """The JetStream encryption key in ``path``: made once (mode 0600) and reused, since
    the stored streams can only be read with it."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    _write_private(path, key + "\n")
    return key


@dataclass(frozen=True)
class NatsSecurity:
    """What a local nats-server is secured with.

    users: each component's NATS password (written 0600 to ``<dir>/<user>.password``).
    tls: the server's certificate, and the CA clients verify it with.
    key_file: the JetStream encryption key (chachapoly), 0600, kept across restarts.
    directory: where the passwords live (0700).
    """

    users: dict[str, str] = field(repr=False)
    tls: CertFiles
    key_file: Path
    directory: Path

    @classmethod
    def create(cls, directory: Path, tls: CertFiles, key_file: Path,
               components: Iterable[str] = COMPONENTS, harness: bool = False) -> NatsSecurity:
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        names = [*components, *([HARNESS] if harness else [])]
        users = {name: new_password() for name in names}
        for name, password in users.items():
            _write_private(directory / f"{name}.password", password + "\n")
        return cls(users=users, tls=tls, key_file=key_file, directory=directory)

    def auth(self, user: str) -> NatsAuth:
        return NatsAuth(user=user, password=self.users[user], tls_ca=self.tls.ca,
                        inbox_prefix=inbox_prefix(user))

    def env(self, user: str) -> dict[str, str]:
        """The ``NATS_*`` variables a component connects with."""
        return {"NATS_USER": user, "NATS_PASSWORD": self.users[user], "NATS_TLS_CA": str(self.tls.ca)}

    def server_config(self, *, host: str, port: int, store_dir: Path, server_name: str,
                      cluster: Mapping[str, Any] | None = None, monitor_port: int | None = None) -> str:
        """``cluster``: nats-server's ``cluster`` block (name, route port, routes) for one
        member of a cluster; ``monitor_port``: its HTTP monitoring port (/healthz)."""
        users = []
        for name, password in self.users.items():
            user: dict[str, Any] = {"user": name, "password": password}
            if name != HARNESS:
                user["permissions"] = permissions(name).as_config()
            users.append(user)
        config = {
            "host": host,
            "port": port,
            "server_name": server_name,
            "jetstream": {"store_dir": str(store_dir), "cipher": "chachapoly",
                          "key": encryption_key(self.key_file)},
            "tls": {"cert_file": str(self.tls.cert), "key_file": str(self.tls.key),
                    "ca_file": str(self.tls.ca), "timeout": 5},
            "authorization": {"users": users},
        }
        if cluster is not None:
            config["cluster"] = dict(cluster)
        if monitor_port is not None:
            config["http"] = f"{host}:{monitor_port}"
        return json.dumps(config, indent=2)  # nats-server reads JSON as its config format

    def write_server_config(self, path: Path, **kwargs: Any) -> Path:
        _write_private(path, self.server_config(**kwargs))
        return path


@dataclass(frozen=True)
class NatsAuth:
    """How one component proves itself to NATS and verifies the server.

    user/password: ``NATS_USER`` / ``NATS_PASSWORD``. creds: ``NATS_CREDS`` (a .creds
    file: user JWT and NKEY seed). tls_ca: ``NATS_TLS_CA``, to verify the server;
    tls_cert/tls_key: ``NATS_TLS_CERT`` / ``NATS_TLS_KEY``, an optional client
    certificate. inbox_prefix: where replies come back (``_INBOX_<component>``), the
    only subjects the component may subscribe to.
    """

    user: str | None = None
    password: str | None = field(default=None, repr=False)
    creds: Path | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    inbox_prefix: str = "_INBOX"

    @property
    def authenticated(self) -> bool:
        """A per-component user (whose permissions forbid managing streams)."""
        return bool(self.user or self.creds)

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.tls_ca is None and self.tls_cert is None:
            return None
        context = ssl.create_default_context(cafile=str(self.tls_ca) if self.tls_ca else None)
        if self.tls_cert is not None:
            context.load_cert_chain(str(self.tls_cert), str(self.tls_key) if self.tls_key else None)
        return context

    def connect_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"inbox_prefix": self.inbox_prefix}
        if self.creds is not None:
            options["user_credentials"] = str(self.creds)
        elif self.user:
            options["user"] = self.user
            options["password"] = self.password or ""
        context = self.ssl_context()
        if context is not None:
            options["tls"] = context
        return options


def auth_from_settings(config: Settings, component: str) -> NatsAuth:
    """The component's NATS credentials from ``NATS_CREDS`` or ``NATS_USER`` /
    ``NATS_PASSWORD``, and ``NATS_TLS_*``."""
    return NatsAuth(
        user=config.nats_user,
        password=config.nats_password.get_secret_value() if config.nats_password else None,
        creds=config.nats_creds,
        tls_ca=config.nats_tls_ca,
        tls_cert=config.nats_tls_cert,
        tls_key=config.nats_tls_key,
        inbox_prefix=inbox_prefix(component),
    )
