"""What every stage process does the same way: logging, tracing, NATS, signals.

A stage's own module says *what* it serves; this module runs it until SIGTERM
or Ctrl-C and then shuts it down in order, so in-flight work finishes or goes
back to the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable

from nats.aio.client import Client as NATS

from piiguard import config, logs, telemetry
from piiguard.jetstream import Retention, connect, ensure_topology
from piiguard.policy import Policy, PolicyError, load_policy

log = logging.getLogger(__name__)


async def connect_jetstream(service: str) -> NATS:
    """Connect to NATS_URL and make sure the shared topology exists."""
    import os

    nc = await connect(config.nats_url(), name=f"piiguard-{service}")
    from piiguard.workspaces import cluster_mode

    # In a cluster the operator owns stream retention: create what is missing only.
    await ensure_topology(nc.jetstream(), Retention.from_env(os.environ),
                          update_existing=not cluster_mode())
    return nc


async def close_store(store: object) -> None:
    stop = getattr(store, "stop", None)
    if stop is not None:
        with contextlib.suppress(Exception):
            await stop()


async def close_nats(nc: NATS, timeout: float = 5.0) -> None:
    """Flush what was published and close. (Every publish is already awaited for
    its ack, so nothing is lost; ``drain`` can wedge on a cancelled pull fetch.)"""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(nc.flush(), timeout)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(nc.close(), timeout)


def load_local_policy(path: str | None) -> Policy:
    return load_policy(path if path is not None else config.policy_path())


def _lower_priority_if_asked() -> None:
    """``PIIGUARD_NICE=n``: run this process at a lower CPU priority. On one host
    (``piiguard up``) detection and action yield to ingest, whose answer races
    Slack's 3-second deadline; in a cluster each has its own pod and CPU request."""
    import os

    raw = os.environ.get("PIIGUARD_NICE", "").strip()
    if raw:
        try:
            os.nice(int(raw))
        except (ValueError, OSError) as exc:
            log.warning("PIIGUARD_NICE=%s not applied: %s", raw[:8], type(exc).__name__)


def run(service: str, main: Callable[[asyncio.Event], Awaitable[None]]) -> int:
    """Run ``main(stop)`` until SIGTERM/SIGINT sets ``stop``; exit 2 on a config error."""
    logs.configure(service)
    telemetry.setup_tracing(service)
    _lower_priority_if_asked()

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    try:
        asyncio.run(runner())
    except (config.ConfigError, PolicyError) as exc:
        print(f"piiguard {service}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        with contextlib.suppress(Exception):
            telemetry.shutdown_tracing()
    log.info("%s stopped", service)
    return 0
