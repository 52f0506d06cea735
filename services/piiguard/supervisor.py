"""Keep a set of local processes running, as a process supervisor does.

``piiguard up`` hands its children (``nats-server`` and the three services) to a
:class:`Supervisor`. The rules, in the spirit of supervisord and systemd's
``Restart=always``:

* Every child that exits is reaped at once (``Popen.poll``), so none is left a
  zombie, and is started again with the same command, environment, ports and
  data directory — so ``nats-server`` comes back on the same port with its
  JetStream store, and nothing it had accepted is lost.
* Restarts back off exponentially (:class:`Backoff`): a child that keeps dying
  waits ``initial``, then twice that, ... up to ``cap`` between attempts. A child
  that stayed up for ``stable_after`` seconds is healthy again and its next
  restart is immediate-ish (``initial``) — the count of quick deaths resets.
* The supervisor never gives up on a crash. It stops only on a configuration
  error: a child that exits with code 2 (the code every PII Guard command uses
  for "your configuration is wrong") cannot be helped by a restart, so the
  supervisor reports which child refused its configuration and stops the rest.
* Stopping is ordered: services first (SIGTERM, ingest first so it stops
  accepting before the consumers drain), infrastructure (``nats-server``) last,
  with a grace period before SIGKILL.

The policy and the bookkeeping are plain objects driven by an injected clock,
so the rules are unit-tested without processes (tests/test_supervisor.py); the
end-to-end test kills real children under load (tests/e2e/test_up_supervisor.py).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TextIO

CONFIGURATION_ERROR = 2
"""Exit code meaning "the configuration is wrong": restarting cannot help."""


@dataclass(frozen=True)
class Backoff:
    """How long to wait before restarting a child that died."""

    initial: float = 0.5
    """Seconds before the first restart after a death."""
    factor: float = 2.0
    """Each further quick death multiplies the wait by this."""
    cap: float = 30.0
    """Seconds: the longest wait, however often a child dies."""
    stable_after: float = 30.0
    """Seconds a child must stay up for its count of quick deaths to reset."""

    def delay(self, quick_deaths: int) -> float:
        """The wait before restarting after the ``quick_deaths``-th death in a row (1-based)."""
        exponent = max(0, quick_deaths - 1)
        # Bound the exponent so a long-failing child cannot overflow the float.
        return float(min(self.cap, self.initial * self.factor ** min(exponent, 64)))


class Process(Protocol):
    """What the supervisor needs of a running child (``subprocess.Popen`` has it)."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def send_signal(self, sig: int) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def kill(self) -> None: ...


@dataclass
class Child:
    """One supervised program: a name, how to start it, and its restart state."""

    name: str
    launch: Callable[[], Process]
    """Starts the program (same command, environment and ports every time)."""
    infrastructure: bool = False
    """Stopped after every other child (``nats-server``: the services drain into it)."""
    process: Process | None = None
    started_at: float = 0.0
    quick_deaths: int = 0
    """Deaths in a row, each after less than ``Backoff.stable_after`` seconds up."""
    restart_at: float | None = None
    """When a dead child is due to start again (``None``: it is running)."""
    last_exit: int | None = None
    restarts: int = 0

    def running(self) -> bool:
        return self.process is not None and self.restart_at is None


@dataclass
class Supervisor:
    children: list[Child]
    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], float] = time.monotonic
    out: TextIO = field(default_factory=lambda: sys.stderr)
    prefix: str = "piiguard up"
    configuration_error: str | None = None
    """Set (to a sentence naming the child) when a child refused its configuration."""

    def start(self) -> None:
        for child in self.children:
            self.start_child(child)

    def adopt(self, child: Child, process: Process) -> None:
        """Supervise a child already started (``piiguard up`` waits for nats-server to listen)."""
        child.process, child.started_at, child.restart_at = process, self.clock(), None

    def start_child(self, child: Child) -> None:
        child.restart_at = None
        child.started_at = self.clock()
        try:
            child.process = child.launch()
        except OSError as exc:  # e.g. the binary vanished: a death like any other
            child.process = None
            self._died(child, None, f"could not start ({exc.strerror or exc})")

    def tick(self) -> bool:
        """Reap what exited, restart what is due; ``False`` once a configuration error stops us."""
        now = self.clock()
        for child in self.children:
            if child.restart_at is None:
                code = child.process.poll() if child.process is not None else None
                if child.process is not None and code is not None:
                    if code == CONFIGURATION_ERROR:
                        child.last_exit = code
                        self.configuration_error = (
                            f"{child.name} refused its configuration (exit {code})")
                        print(f"{self.prefix}: {self.configuration_error}; stopping",
                              file=self.out, flush=True)
                        return False
                    self._died(child, code, f"exited ({_describe(code)})")
            elif now >= child.restart_at:
                child.restarts += 1
                self.start_child(child)
        return True

    def _died(self, child: Child, code: int | None, what: str) -> None:
        now = self.clock()
        child.last_exit = code
        if now - child.started_at >= self.backoff.stable_after:
            child.quick_deaths = 0
        child.quick_deaths += 1
        delay = self.backoff.delay(child.quick_deaths)
        child.restart_at = now + delay
        print(f"{self.prefix}: {child.name} {what}; restarting in {delay:.1f}s",
              file=self.out, flush=True)

    def run(self, stopping: Callable[[], bool], on_tick: Callable[[], None] = lambda: None,
            interval: float = 0.2) -> bool:
        """Supervise until ``stopping()`` or a configuration error; ``True`` if asked to stop."""
        while not stopping():
            if not self.tick():
                return False
            on_tick()
            time.sleep(interval)
        return True

    def stop(self, grace: float = 20.0) -> None:
        """Services first, infrastructure last; SIGTERM, then SIGKILL after ``grace`` seconds."""
        services = [c for c in self.children if not c.infrastructure]
        infrastructure = [c for c in self.children if c.infrastructure]
        for group in (services, infrastructure):
            live = [c for c in group if c.process is not None and c.process.poll() is None]
            for child in live:
                assert child.process is not None
                child.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + grace
            for child in group:
                if child.process is None:
                    continue
                try:
                    child.process.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.process.kill()
                    child.process.wait()
                child.restart_at = None

    def clean_exit(self) -> bool:
        """Every child ended by our SIGTERM or on its own with 0."""
        return not self.unclean()

    def unclean(self) -> list[str]:
        """The children that did not end cleanly, each as ``<name> (<how>)``."""
        found = []
        for child in self.children:
            code = child.process.poll() if child.process is not None else None
            if code is not None and code not in (0, -signal.SIGTERM):
                found.append(f"{child.name} ({_describe(code)})")
        return found


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"
