"""What ``piiguard up`` keeps in its data dir to run securely on one machine, and how
the CLI finds it.

=============================  ===============================================  ==========
path (under the data dir)      what                                             lifetime
=============================  ===============================================  ==========
``tls/``  (0700)               a throwaway CA, a certificate + key per          each start
                               component (``admin`` for the CLI), ``nats``'s
``nats-users/``  (0700)        each component's NATS password (0600)            each start
``nats-server.conf`` (0600)    users, permissions, TLS, encryption key          each start
``jetstream.key`` (0600)       JetStream encryption key (chachapoly)            made once
``nats-url``                   where the local nats-server listens (for CLI)    each start
``jetstream/``                 the streams, encrypted at rest                   retention
=============================  ===============================================  ==========
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path

from piiguard.security.identity import COMPONENTS
from piiguard.security.localca import CertFiles, LocalCA
from piiguard.security.natsauth import NatsAuth, NatsSecurity, inbox_prefix

TLS_DIR = "tls"
NATS_USERS_DIR = "nats-users"
KEY_FILE = "jetstream.key"
URL_FILE = "nats-url"


@dataclass(frozen=True)
class LocalSecurity:
    """The certificates and NATS accounts of one ``piiguard up`` run.

    ca: the throwaway CA (it can issue more, e.g. for an Ingest API caller).
    certificates: each component's (and ``nats``'s) PEM files.
    nats: the NATS users, server TLS and encryption key.
    """

    ca: LocalCA
    certificates: dict[str, CertFiles]
    nats: NatsSecurity

    @classmethod
    def create(cls, data_dir: Path, *, harness: bool = False) -> LocalSecurity:
        """``harness``: also a NATS user with every permission (tests only)."""
        ca = LocalCA.create(data_dir / TLS_DIR)
        certificates = {component: ca.issue_component(component) for component in COMPONENTS}
        certificates["nats"] = ca.issue("nats")
        nats = NatsSecurity.create(data_dir / NATS_USERS_DIR, certificates["nats"],
                                   data_dir / KEY_FILE, harness=harness)
        return cls(ca, certificates, nats)

    def child_env(self, component: str, *, own_nats: bool) -> dict[str, str]:
        """A component's ``PIIGUARD_TLS_*`` (and, for our own nats-server, ``NATS_*``)."""
        env = self.certificates[component].env()
        if own_nats:
            env.update(self.nats.env(component))
        return env


def default_data_dir() -> Path:
    """Where ``piiguard up`` keeps its data without ``--data-dir``: the user's state dir."""
    from platformdirs import user_state_dir

    return Path(user_state_dir("piiguard")) / "nats"


def record_nats_url(data_dir: Path, url: str) -> None:
    (data_dir / URL_FILE).write_text(url + "\n", encoding="utf-8")


def local_admin(data_dir: Path, user: str = "admin") -> tuple[str, NatsAuth] | None:
    """The URL and ``user``'s (default ``admin``) NATS credentials of the ``piiguard up``
    using ``data_dir``, if any."""
    password = data_dir / NATS_USERS_DIR / f"{user}.password"
    url = data_dir / URL_FILE
    ca = data_dir / TLS_DIR / "ca.pem"
    try:
        return url.read_text(encoding="utf-8").strip(), NatsAuth(
            user=user, password=password.read_text(encoding="utf-8").strip(), tls_ca=ca,
            inbox_prefix=inbox_prefix(user))
    except OSError:
        return None


def provision(url: str, auth: NatsAuth, retention: object | None = None,
              policy: object | None = None, timeout: float | None = None) -> None:
    """Create the streams and buckets as the operator would (stages may not), in a
    thread of its own so it works from sync code and from inside an event loop;
    ``policy`` given (the local one): write its scheduled jobs, and only its."""
    from piiguard.jetstream import BUCKET_POLICIES, Retention, connect, ensure_bucket, ensure_topology
    from piiguard.policy import Policy
    from piiguard.schedules import reconcile_only, workspace_of

    async def run() -> None:
        nc = await connect(url, name="piiguard-provision", auth=auth)
        try:
            js = nc.jetstream()
            chosen = retention if isinstance(retention, Retention) else Retention.default()
            await ensure_topology(js, chosen)
            await ensure_bucket(js, BUCKET_POLICIES, replicas=chosen.replicas)  # read in cluster mode
            if isinstance(policy, Policy):
                await reconcile_only(js, {workspace_of(policy): policy})
        finally:
            await nc.close()

    errors: list[BaseException] = []

    async def bounded() -> None:
        async with asyncio.timeout(timeout):  # None: no bound
            await run()

    def target() -> None:
        try:
            asyncio.run(bounded())
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="nats-provision")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
