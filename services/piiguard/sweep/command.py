"""``piiguard sweep``: read watched channels' history and report what PII Guard
would act on — the day-of-installation question "what is already leaked?".

Without ``--dry-run`` every message of the window is submitted into the running
pipeline's bulk lane (:func:`piiguard.sweep.run.run_sweep`): detection scans it
when the live lane is idle, action deletes and tells as for a live event, a
message already scanned is skipped, and progress is durable (a restart resumes).
On a terminal a progress bar shows, per channel, the messages read, scanned and
acted on; at the end one JSON summary line per channel and in total.

``--dry-run`` scans every message of the window with the detection engine under
the policy and prints one JSON line per message it would delete or notify about
(channel, ts, verdict, kinds with counts — never text), then a summary line per
channel and in total. Nothing is deleted and nobody is told.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO

from nats.errors import NoServersError
from slack_sdk.errors import SlackApiError

from piiguard.durations import parse_duration
from piiguard.errors import ConfigError, PolicyError
from piiguard.policy import Policy, Verdict, load_policy
from piiguard.settings import Settings
from piiguard.sweep.history import HistoryMessage, channel_messages, history_client, member_channels

CONNECT_TIMEOUT = 15.0  # seconds to reach the pipeline's NATS
SCANNED_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}  # text a person wrote
BATCH = 64


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workspace", metavar="T", default="",
                        help="the workspace (team id) whose policy applies; default: the local policy's")
    parser.add_argument("--channel", metavar="C", action="append", default=[],
                        help="a channel to sweep (repeatable); default: every channel the bot is in")
    window = parser.add_mutually_exclusive_group()
    window.add_argument("--since", metavar="DURATION", default=None,
                        help="how far back, e.g. 30d, 12h (default 30d)")
    window.add_argument("--oldest", metavar="TS", default=None,
                        help="the oldest message ts to read (Slack's seconds.micros)")
    parser.add_argument("--dry-run", action="store_true",
                        help="report what would be deleted (ids, channels, kinds, counts); act on nothing")
    parser.add_argument("--wait", metavar="DURATION", default="30m",
                        help="how long to wait at the end for the pipeline to scan what was "
                             "submitted, for the summary's scanned / acted_on (default 30m; 0: no wait)")
    parser.add_argument("--restart", action="store_true",
                        help="start the window afresh instead of resuming an unfinished sweep")
    parser.add_argument("--policy", help="policy YAML file (default: PIIGUARD_POLICY or built-in)")


def oldest_ts(since: str | None, oldest: str | None, now: float | None = None) -> str:
    if oldest is not None:
        try:
            if float(oldest) < 0:
                raise ValueError
        except ValueError:
            raise ConfigError(f"--oldest: {oldest[:40]!r} is not a Slack ts (seconds.micros)") from None
        return oldest
    try:
        seconds = parse_duration(since or "30d")
    except ValueError as exc:
        raise ConfigError(f"--since: {exc}") from None
    return f"{(now if now is not None else time.time()) - seconds:.6f}"


@dataclass
class Tally:
    read: int = 0
    scanned: int = 0
    flagged: int = 0
    kinds: Counter[str] = field(default_factory=Counter)

    def line(self) -> dict[str, Any]:
        return {"read": self.read, "scanned": self.scanned, "would_act_on": self.flagged,
                "kinds": dict(sorted(self.kinds.items()))}


def scannable(message: HistoryMessage) -> bool:
    raw = message.raw
    return (raw.get("subtype") in SCANNED_SUBTYPES and not raw.get("bot_id")
            and bool(message.text.strip()))


class Bar:
    """The terminal's progress bar (rich): one row per channel — read, submitted,
    skipped as already scanned, scanned, acted on. Counts only."""

    def __init__(self) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.fields[channel]}"),
                                 TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
                                 transient=False)
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    @staticmethod
    def _counts(tally: Any) -> str:
        return (f"read {tally.read}  submitted {tally.submitted}  skipped {tally.skipped}  "
                f"scanned {tally.scanned}  acted on {tally.acted_on}"
                + (f"  ({tally.error})" if tally.error else ""))

    def channel_started(self, channel: str, tally: Any) -> None:
        label = channel + (" (resumed)" if tally.resumed else "")
        self.tasks[channel] = self.progress.add_task("", total=None, channel=label,
                                                     counts=self._counts(tally))

    def update(self, channel: str, tally: Any) -> None:
        if channel in self.tasks:
            self.progress.update(self.tasks[channel], counts=self._counts(tally))

    def channel_done(self, channel: str, tally: Any) -> None:
        if channel in self.tasks:
            self.progress.update(self.tasks[channel], counts=self._counts(tally), total=1,
                                 completed=1)


async def submit_sweep(args: argparse.Namespace, config: Settings, policy: Policy, out: TextIO) -> int:
    """Submit the window's messages into the running pipeline (see the module doc)."""
    from piiguard.admin import nats_target
    from piiguard.jetstream import connect
    from piiguard.sweep.run import ProgressStore, progress_key, run_sweep

    oldest = oldest_ts(args.since, args.oldest)
    try:
        wait = parse_duration(args.wait)
    except ValueError as exc:
        raise ConfigError(f"--wait: {exc}") from None
    servers, auth = nats_target()
    logging.getLogger("piiguard.jetstream").setLevel(logging.ERROR)  # one line below, not a retry each
    try:
        nc = await asyncio.wait_for(connect(servers, name="piiguard-sweep", auth=auth), CONNECT_TIMEOUT)
    except (TimeoutError, OSError, NoServersError) as exc:
        raise ConfigError(f"cannot reach the pipeline's NATS ({type(exc).__name__}): is `piiguard up` "
                          "running, or NATS_URL set?") from None
    try:
        js = nc.jetstream()
        client = history_client(config.slack_bot_token.get_secret_value().strip(), config.slack_api_url)
        channels = list(dict.fromkeys(args.channel))
        if args.restart:
            from piiguard.sweep.run import workspace_of

            team = await workspace_of(client, policy, args.workspace)
            store = ProgressStore(js)
            for channel in channels or await member_channels(client):
                await store.forget(progress_key("backfill", team, channel))
        bar = None
        if out.isatty():
            try:
                bar = Bar()
            except ImportError:  # rich comes with the `local` extra: counts at the end only
                bar = None
        if bar is not None:
            with bar:
                summary = await run_sweep(config, policy, channels, oldest, js=js,
                                          workspace=args.workspace, slack=client, progress=bar,
                                          wait=wait)
        else:
            summary = await run_sweep(config, policy, channels, oldest, js=js,
                                      workspace=args.workspace, slack=client, wait=wait)
    finally:
        await nc.close()
    for channel, tally in summary.channels.items():
        out.write(json.dumps({"channel": channel, "summary": tally.line()}) + "\n")
    out.write(json.dumps(summary.line()) + "\n")
    out.flush()
    return 0


class DrySweep:
    def __init__(self, policy: Policy, out: TextIO) -> None:
        from piiguard.detection.engine import DetectionEngine

        self.policy = policy
        self.engine = DetectionEngine(policy)
        self.out = out
        self.total = Tally()

    def report(self, batch: list[HistoryMessage], tally: Tally) -> None:
        outcomes = self.engine.scan_many([m.text for m in batch])
        for message, outcome in zip(batch, outcomes, strict=True):
            tally.scanned += 1
            if outcome.verdict is Verdict.ALLOW:
                continue
            tally.flagged += 1
            kinds = Counter(f.entity_type for f in outcome.findings)
            tally.kinds.update(kinds)
            self.write({"channel": message.channel, "ts": message.ts,
                        "thread_ts": message.raw.get("thread_ts"), "verdict": str(outcome.verdict),
                        "kinds": dict(sorted(kinds.items()))})

    async def channel(self, client: Any, channel: str, oldest: str) -> Tally:
        tally = Tally()
        batch: list[HistoryMessage] = []
        async for message in channel_messages(client, channel, oldest=oldest):
            tally.read += 1
            if scannable(message):
                batch.append(message)
            if len(batch) >= BATCH:
                self.report(batch, tally)
                batch = []
        if batch:
            self.report(batch, tally)
        return tally

    def write(self, record: dict[str, Any]) -> None:
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()


async def sweep(args: argparse.Namespace, config: Settings, policy: Policy, out: TextIO) -> int:
    oldest = oldest_ts(args.since, args.oldest)
    client = history_client(config.slack_bot_token.get_secret_value().strip(), config.slack_api_url)
    channels = list(dict.fromkeys(args.channel)) or await member_channels(client)
    dry = DrySweep(policy, out)
    for channel in channels:
        if not policy.watches(channel):
            dry.write({"channel": channel, "skipped": "channel not watched by the policy"})
            continue
        tally = await dry.channel(client, channel, oldest)
        for name in ("read", "scanned", "flagged"):
            setattr(dry.total, name, getattr(dry.total, name) + getattr(tally, name))
        dry.total.kinds.update(tally.kinds)
        dry.write({"channel": channel, "summary": tally.line()})
    dry.write({"summary": dry.total.line(), "channels": len(channels), "dry_run": True})
    return 0


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    from piiguard import settings

    try:
        config = settings.load()
        config.require("SLACK_BOT_TOKEN")
        policy = load_policy(args.policy if args.policy is not None else config.policy_path)
        if args.workspace and policy.workspace.team_id and policy.workspace.team_id != args.workspace:
            raise ConfigError(f"--workspace {args.workspace[:32]}: the policy is for another workspace")
        if args.dry_run:
            return asyncio.run(sweep(args, config, policy, out))
        return asyncio.run(submit_sweep(args, config, policy, out))
    except (ConfigError, PolicyError) as exc:
        print(f"piiguard sweep: error: {exc}", file=sys.stderr)
        return 2
    except SlackApiError as exc:
        print(f"piiguard sweep: error: Slack refused: {exc.response.get('error') or 'unknown'}",
              file=sys.stderr)
        return 1
