"""Backfill benchmark: live events stay fast while a history sweep of >= 20,000
messages runs through the same pipeline.

    python bench/backfill.py            # 20,000 swept messages, 60 s per phase
    python bench/backfill.py --quick    # 20,000 swept messages, 30 s per phase

One run, one pipeline (``tests.support.pipeline.Pipeline``: nats-server and the
ingest, detection and action processes) against the Slack Web API stand-in (its
own process) through the real ``slack_sdk``:

1. **without backfill**: live Slack events (signed ``event_callback`` POSTs at
   ``--rate`` a second, each holding a card number) for ``--seconds``; each one's
   *event-to-delete* is from its scheduled POST to the stand-in receiving its
   ``chat.delete``.
2. **during backfill**: a channel with ``--messages`` messages of history (a
   ``--pii-share`` of them holding PII, threads included) is swept with
   ``piiguard sweep`` (the bulk lane); once the bulk lane has work, the same live
   load runs again for ``--seconds``, and the bench checks the backfill was still
   running when the phase ended.

Printed: both p50/p99 and the headline
``live event-to-delete p99 during backfill / without: N.NNx`` (the issue's bar:
within 2x), plus how many swept messages detection scanned during phase 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import nats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from piiguard.jetstream import BULK_CONSUMER, STREAM_EVENTS
from tests.support import slack_events
from tests.support.pipeline import Pipeline

SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-bot-token"
LIVE_PII = ("my card is 4539 1488 0343 6467 exp 04/28", "for the payroll form, my SSN is 536-22-8471",
            "wire it to DE89 3704 0044 0532 0130 00 please")
SWEPT_CLEAN = ("standup in 5", "the build 4.2.1 is green", "can someone review PR #1234?",
               "rollback done, error rate back to 0.02%", "LGTM, merging after CI",
               "Q3 numbers: revenue up 12%, churn down to 2.1%")
BACKFILL_CHANNEL = "CBACKFILL"
LIVE_CHANNEL = "CLIVE"


def log(message: str) -> None:
    print(message, flush=True)


def _standin_process(conn: Any) -> None:
    from tests.support.slack_standin import SlackStandIn

    standin = SlackStandIn().start()
    conn.send(standin.api_url)
    while True:
        command, *args = conn.recv()
        if command == "history":
            standin.add_history(args[0], args[1], replies=args[2])
            conn.send(True)
        elif command == "deletes":
            conn.send({str(c.args.get("ts")): c.at for c in standin.calls("chat.delete")
                       if c.args.get("channel") == args[0]})
        elif command == "stop":
            standin.stop()
            conn.send(True)
            return


class StandIn:
    """The Slack stand-in in a child process (its work does not share our GIL)."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_standin_process, args=(child,), daemon=True)
        self._process.start()
        if not self._conn.poll(60):
            raise RuntimeError("Slack stand-in did not start")
        self.api_url: str = self._conn.recv()

    def ask(self, *command: Any) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    def stop(self) -> None:
        try:
            self.ask("stop")
        except (OSError, EOFError):
            pass
        self._process.join(10)


def history(count: int, pii_share: float, rng: random.Random) -> tuple[list[dict[str, Any]],
                                                                         dict[str, list[dict[str, Any]]]]:
    """``count`` messages over the last 20 days, one in 50 a thread parent with 3 replies."""
    now = time.time()
    messages: list[dict[str, Any]] = []
    replies: dict[str, list[dict[str, Any]]] = {}
    i = 0
    while len(messages) + sum(len(r) for r in replies.values()) < count:
        ts = f"{now - 3600 - i * 80:.6f}"
        text = rng.choice(LIVE_PII) if rng.random() < pii_share else rng.choice(SWEPT_CLEAN)
        message: dict[str, Any] = {"type": "message", "user": f"U{i % 40:04d}", "text": text, "ts": ts}
        if i % 50 == 0:
            message.update(reply_count=3, thread_ts=ts)
            replies[ts] = [{"type": "message", "user": "UREPLY", "text": rng.choice(SWEPT_CLEAN),
                            "ts": f"{float(ts) + k + 1:.6f}", "thread_ts": ts} for k in range(3)]
        messages.append(message)
        i += 1
    return messages, replies


async def live_phase(url: str, rate: float, seconds: float, standin: StandIn,
                     rng: random.Random) -> list[float]:
    """Live events at ``rate``/s for ``seconds``; their event-to-delete latencies."""
    loop = asyncio.get_running_loop()
    scheduled: dict[str, float] = {}
    failures = 0
    async with aiohttp.ClientSession() as session:
        start_wall, start = time.time(), loop.time()
        tasks = []
        n = int(rate * seconds)

        async def post(index: int) -> None:
            nonlocal failures
            await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
            ts = f"{int(start_wall)}.{index:06d}"
            payload = slack_events.message_event(rng.choice(LIVE_PII), channel=LIVE_CHANNEL, ts=ts)
            body, headers = slack_events.signed(SECRET, payload)
            scheduled[ts] = start_wall + index / rate
            try:
                async with session.post(url, data=body, headers=headers,
                                        timeout=aiohttp.ClientTimeout(total=10)) as answer:
                    if answer.status != 200:
                        failures += 1
            except (aiohttp.ClientError, TimeoutError):
                failures += 1

        for index in range(n):
            tasks.append(asyncio.create_task(post(index)))
        await asyncio.gather(*tasks)
    deadline = time.monotonic() + 120
    while True:
        deletes = standin.ask("deletes", LIVE_CHANNEL)
        if all(ts in deletes for ts in scheduled) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    missing = [ts for ts in scheduled if ts not in deletes]
    if failures or missing:
        log(f"  ({failures} POST(s) failed, {len(missing)} event(s) not deleted within 2 min)")
    return sorted(deletes[ts] - at for ts, at in scheduled.items() if ts in deletes)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


async def bulk_state(pipeline: Pipeline) -> tuple[int, int]:
    """(handled, pending) of the bulk lane's consumer."""
    nc = await nats.connect(pipeline.nats.url, **pipeline.nats_auth().connect_options())
    try:
        info = await nc.jetstream().consumer_info(STREAM_EVENTS, BULK_CONSUMER)
        return int(info.ack_floor.consumer_seq or 0), int(info.num_pending or 0)
    except Exception:
        return 0, 0
    finally:
        await nc.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000, help="swept history size (>= 20000)")
    parser.add_argument("--rate", type=float, default=4.0, help="live events per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each live phase")
    parser.add_argument("--pii-share", type=float, default=0.02)
    parser.add_argument("--quick", action="store_true", help="30 s phases")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.quick:
        args.seconds = 30.0
    rng = random.Random(args.seed)
    standin = StandIn()
    workdir = Path(tempfile.mkdtemp(prefix="piiguard-backfill-"))
    pipeline = Pipeline(workdir, slack_api_url=standin.api_url, signing_secret=SECRET, bot_token=BOT_TOKEN)
    sweep: subprocess.Popen[bytes] | None = None
    try:
        log(f"starting the pipeline in {workdir} ...")
        pipeline.start(timeout=180)
        log(f"phase 1: live events at {args.rate}/s for {args.seconds:.0f}s, no backfill")
        quiet = asyncio.run(live_phase(pipeline.events_url, args.rate, args.seconds, standin, rng))

        messages, replies = history(args.messages, args.pii_share, rng)
        standin.ask("history", BACKFILL_CHANNEL, messages, replies)
        total = len(messages) + sum(len(r) for r in replies.values())
        log(f"phase 2: sweeping {total} messages of history while the same live load runs")
        env = dict(pipeline.cli_env(), PIIGUARD_SWEEP_SLACK_RPM="100000")
        with open(workdir / "sweep.log", "wb") as out:
            sweep = subprocess.Popen([sys.executable, "-m", "piiguard", "sweep", "--channel",
                                      BACKFILL_CHANNEL, "--since", "30d", "--wait", "0"],
                                     env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while asyncio.run(bulk_state(pipeline))[1] < 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        before = asyncio.run(bulk_state(pipeline))
        busy = asyncio.run(live_phase(pipeline.events_url, args.rate, args.seconds, standin, rng))
        after = asyncio.run(bulk_state(pipeline))
        running = sweep.poll() is None or after[1] > 0
        swept_during = after[0] - before[0]

        p50_q, p99_q = percentile(quiet, 0.5), percentile(quiet, 0.99)
        p50_b, p99_b = percentile(busy, 0.5), percentile(busy, 0.99)
        log(json.dumps({"messages_swept_total": total, "live_rate": args.rate, "phase_seconds": args.seconds,
                        "without_backfill": {"events": len(quiet), "p50_ms": round(p50_q * 1000),
                                             "p99_ms": round(p99_q * 1000)},
                        "during_backfill": {"events": len(busy), "p50_ms": round(p50_b * 1000),
                                            "p99_ms": round(p99_b * 1000),
                                            "swept_scanned_during_phase": swept_during,
                                            "backfill_still_running_at_end": running}}))
        ratio = p99_b / p99_q
        log(f"live event-to-delete p99 during backfill / without: {ratio:.2f}x "
            f"({p99_b * 1000:.0f} ms / {p99_q * 1000:.0f} ms; target <= 2x)")
        return 0
    finally:
        if sweep is not None and sweep.poll() is None:
            sweep.terminate()
            sweep.wait(30)
        pipeline.stop()
        standin.stop()
        if os.environ.get("PIIGUARD_BENCH_KEEP") != "1":
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
