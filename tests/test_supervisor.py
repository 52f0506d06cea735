"""The supervisor's rules, on fake processes and a fake clock (milliseconds, no processes):
restart every child, back off exponentially up to a cap, reset after a stable run,
never give up on a crash, stop only on a configuration error and say which."""

from __future__ import annotations

import functools
import io
import itertools
import signal

import pytest

from piiguard.supervisor import Backoff, Child, Supervisor


class FakeProcess:
    _next_pid = 1000

    def __init__(self) -> None:
        FakeProcess._next_pid += 1
        self.pid = FakeProcess._next_pid
        self.code: int | None = None
        self.polls_after_exit = 0
        self.signals: list[int] = []

    def poll(self) -> int | None:
        if self.code is not None:
            self.polls_after_exit += 1
        return self.code

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)
        self.code = -sig

    def wait(self, timeout: float | None = None) -> int:
        assert self.code is not None
        return self.code

    def kill(self) -> None:
        self.code = -signal.SIGKILL


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Launcher:
    """Counts starts of one child and hands out its processes."""

    def __init__(self) -> None:
        self.processes: list[FakeProcess] = []

    def __call__(self) -> FakeProcess:
        self.processes.append(FakeProcess())
        return self.processes[-1]

    @property
    def current(self) -> FakeProcess:
        return self.processes[-1]


BACKOFF = Backoff(initial=0.5, factor=2.0, cap=8.0, stable_after=30.0)


def make(*names: str) -> tuple[Supervisor, Clock, dict[str, Launcher], io.StringIO]:
    clock, out = Clock(), io.StringIO()
    launchers = {name: Launcher() for name in names}
    children = [Child(name, launchers[name], infrastructure=(name == "nats-server")) for name in names]
    supervisor = Supervisor(children, backoff=BACKOFF, clock=clock, out=out)
    supervisor.start()
    return supervisor, clock, launchers, out


@pytest.mark.parametrize(("deaths", "delay"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0),
                                                (6, 8.0), (100, 8.0), (10_000, 8.0)])
def test_backoff_doubles_up_to_the_cap(deaths: int, delay: float) -> None:
    assert BACKOFF.delay(deaths) == delay


@pytest.mark.parametrize("name", ["nats-server", "ingest", "detection", "action"])
@pytest.mark.parametrize("code", [-signal.SIGKILL, -signal.SIGSEGV, 1, 0, 3])
def test_every_child_is_restarted_whatever_its_exit(name: str, code: int) -> None:
    supervisor, clock, launchers, out = make("nats-server", "ingest", "detection", "action")
    first = launchers[name].current
    first.code = code
    assert supervisor.tick()
    assert first.polls_after_exit == 1  # reaped as soon as seen
    assert len(launchers[name].processes) == 1  # not before its backoff
    clock.now += 0.49
    assert supervisor.tick() and len(launchers[name].processes) == 1
    clock.now += 0.02
    assert supervisor.tick()
    assert len(launchers[name].processes) == 2 and launchers[name].current is not first
    assert all(len(launchers[other].processes) == 1 for other in launchers if other != name)
    assert f"{name} " in out.getvalue() and "restarting in 0.5s" in out.getvalue()


def test_quick_deaths_back_off_exponentially_and_never_give_up() -> None:
    supervisor, clock, launchers, out = make("detection")
    waits = []
    for _ in range(12):  # far more than the old "five in a minute, then stop everything"
        launchers["detection"].current.code = -signal.SIGKILL
        assert supervisor.tick()
        died_at, starts = clock.now, len(launchers["detection"].processes)
        while len(launchers["detection"].processes) == starts:
            clock.now += 0.05
            assert supervisor.tick()
        waits.append(round(clock.now - died_at, 1))
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0]
    assert supervisor.configuration_error is None
    assert "stopping" not in out.getvalue()


def test_a_child_that_stayed_up_is_healthy_again() -> None:
    supervisor, clock, launchers, _ = make("action")
    for _ in range(4):
        launchers["action"].current.code = 1
        supervisor.tick()
        clock.now += 10
        supervisor.tick()
    clock.now += BACKOFF.stable_after  # a long good run
    launchers["action"].current.code = 1
    supervisor.tick()
    assert supervisor.children[0].restart_at == clock.now + BACKOFF.initial


def test_a_configuration_error_stops_and_names_the_child() -> None:
    supervisor, _, launchers, out = make("nats-server", "ingest", "detection", "action")
    launchers["detection"].current.code = 2
    assert supervisor.tick() is False
    assert supervisor.configuration_error == "detection refused its configuration (exit 2)"
    assert "piiguard up: detection refused its configuration (exit 2); stopping" in out.getvalue()
    supervisor.stop(grace=1)
    for name in ("nats-server", "ingest", "action"):
        assert launchers[name].current.signals == [signal.SIGTERM]


def test_stop_terminates_services_before_nats() -> None:
    order: list[str] = []

    class Recording(FakeProcess):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        def send_signal(self, sig: int) -> None:
            order.append(self.name)
            super().send_signal(sig)

    children = [Child(name, functools.partial(Recording, name), infrastructure=(name == "nats-server"))
                for name in ("nats-server", "ingest", "detection", "action")]
    supervisor = Supervisor(children, backoff=BACKOFF, clock=Clock(), out=io.StringIO())
    supervisor.start()
    supervisor.stop(grace=1)
    assert order == ["ingest", "detection", "action", "nats-server"]
    assert supervisor.clean_exit()


def test_a_child_that_cannot_even_start_is_retried_with_backoff() -> None:
    clock, attempts = Clock(), []

    def failing() -> FakeProcess:
        attempts.append(clock.now)
        raise FileNotFoundError(2, "No such file or directory")

    supervisor = Supervisor([Child("nats-server", failing)], backoff=BACKOFF, clock=clock,
                            out=io.StringIO())
    supervisor.start()
    for _ in range(200):
        clock.now += 0.05
        assert supervisor.tick()
    assert [round(b - a, 1) for a, b in itertools.pairwise(attempts)] == [0.5, 1.0, 2.0, 4.0]
