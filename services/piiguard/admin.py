"""Operator commands over the streams: ``piiguard dlq …`` and ``piiguard events …``.

They print ids, stages, kinds, counts and reasons — never message text (the
dead-letter stream holds it, for replay; it stays there).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from google.protobuf.json_format import MessageToDict
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from piiguard import settings
from piiguard.audit import event_history
from piiguard.contracts import decode_action_request, decode_event
from piiguard.deadletter import (
    StoredDeadLetter,
    get_dead_letter,
    list_dead_letters,
    purge_dead_letters,
    replay_dead_letter,
)
from piiguard.jetstream import STREAM_EVENTS, connect
from piiguard.security.local import local_admin
from piiguard.security.natsauth import NatsAuth, auth_from_settings
from piiguard.v1 import audit_pb2, event_pb2

T = TypeVar("T")


# ``--data-dir``: the `piiguard up` whose admin identity the CLI uses (set by the CLI).
DATA_DIR: str | None = None


def nats_target(data_dir: str | None = None) -> tuple[list[str], NatsAuth]:
    """Where the CLI connects and as whom: ``NATS_USER``/``NATS_CREDS`` when set;
    otherwise the ``admin`` account of the `piiguard up` using ``--data-dir`` (or the
    default data dir), found there; otherwise ``NATS_URL`` without credentials."""
    config = settings.load()
    auth = auth_from_settings(config, "admin")
    if auth.authenticated:
        return config.nats_servers, auth
    if data_dir is not None or "nats_url" not in config.model_fields_set:
        directory = Path(data_dir) if data_dir is not None else _default_data_dir()
        local = local_admin(directory) if directory is not None else None
        if local is not None:
            return [local[0]], local[1]
    return config.nats_servers, auth


def _default_data_dir() -> Path | None:
    from piiguard.security.local import default_data_dir

    try:
        return default_data_dir()
    except ImportError:  # platformdirs comes with the `local` extra
        return None


def _run(work: Callable[[JetStreamContext], Awaitable[T]]) -> T:
    async def main() -> T:
        servers, auth = nats_target(DATA_DIR)
        nc = await connect(servers, name="piiguard-cli", auth=auth)
        try:
            return await work(nc.jetstream())
        finally:
            await nc.close()

    return asyncio.run(main())


def _describe_payload(letter_data: bytes, source_stream: str) -> dict[str, Any]:
    """What a dead letter is about, without its text."""
    try:
        if source_stream == STREAM_EVENTS:
            event = decode_event(letter_data)
        else:
            event = decode_action_request(letter_data).event
    except Exception as exc:
        return {"decodable": False, "error": type(exc).__name__, "bytes": len(letter_data)}
    return {
        "decodable": True,
        "workspace": event.workspace_id,
        "channel": event.channel_id,
        "user": event.user_id,
        "ts": event.ts,
        "kind": event_pb2.EventKind.Name(event.kind),
        "text_chars": len(event.text),
        "files": len(event.files),
    }


def _letter_row(stored: StoredDeadLetter, detail: bool = False) -> dict[str, Any]:
    letter = stored.letter
    row: dict[str, Any] = {
        "seq": stored.seq,
        "time": stored.time,
        "stage": letter.stage,
        "correlation_id": letter.correlation_id,
        "workspace": letter.workspace,
        "attempts": letter.attempts,
        "reason": letter.reason,
    }
    if detail:
        row["source_stream"] = letter.source_stream
        row["source_subject"] = letter.source_subject
        row["source_seq"] = letter.source_seq
        row["payload"] = _describe_payload(letter.data, letter.source_stream)
    return row


def dlq(action: str, seq: int | None, stage: str | None, all_: bool, as_json: bool) -> int:
    if action == "list":
        letters = _run(lambda js: list_dead_letters(js, stage))
        rows = [_letter_row(s) for s in letters]
        if as_json:
            print(json.dumps(rows, indent=2))
        else:
            print(f"{len(rows)} dead letter(s)")
            for row in rows:
                print(f"{row['seq']:>6}  {row['time'][:19]}  {row['stage']:<9}  "
                      f"{row['correlation_id'] or '-':<24}  attempts={row['attempts']}  {row['reason']}")
        return 0
    if action == "show":
        if seq is None:
            return _usage("piiguard dlq show SEQ")
        try:
            stored = _run(lambda js: get_dead_letter(js, seq))
        except NotFoundError:
            print(f"piiguard dlq: no dead letter {seq}", file=sys.stderr)
            return 1
        print(json.dumps(_letter_row(stored, detail=True), indent=2))
        return 0
    if action == "replay":
        async def replay(js: JetStreamContext) -> list[StoredDeadLetter]:
            targets = [seq] if seq is not None else [s.seq for s in await list_dead_letters(js, stage)]
            return [await replay_dead_letter(js, target) for target in targets]

        if seq is None and not all_:
            return _usage("piiguard dlq replay SEQ | --all [--stage STAGE]")
        try:
            replayed = _run(replay)
        except NotFoundError:
            print(f"piiguard dlq: no dead letter {seq}", file=sys.stderr)
            return 1
        for stored in replayed:
            print(f"replayed {stored.seq} ({stored.letter.correlation_id or 'undecodable'}) "
                  f"to {stored.letter.source_subject}")
        return 0
    if action == "purge":
        if seq is None and not all_:
            return _usage("piiguard dlq purge SEQ | --all [--stage STAGE]")
        count = _run(lambda js: purge_dead_letters(js, seq, stage))
        print(f"purged {count} dead letter(s)")
        return 0
    return _usage("piiguard dlq list|show|replay|purge")


def notion_webhook_token() -> int:
    """Print the verification token Notion sent to ``POST /notion/webhook`` (for the
    admin to paste into Notion's webhook settings). Printed, never logged."""
    from nats.js.errors import BucketNotFoundError, KeyNotFoundError

    from piiguard.jetstream import BUCKET_NOTION

    async def read(js: JetStreamContext) -> bytes | None:
        try:
            entry = await (await js.key_value(BUCKET_NOTION)).get("webhook.verification-token")
        except (KeyNotFoundError, BucketNotFoundError):
            return None
        return entry.value if entry is not None else None

    value = _run(read)
    if not value:
        print("piiguard notion webhook-token: no verification token received yet "
              "(create the webhook subscription in Notion first)", file=sys.stderr)
        return 1
    print(value.decode())
    return 0


def events(correlation_id: str, as_json: bool) -> int:
    records = _run(lambda js: event_history(js, correlation_id))
    if not records:
        print(f"piiguard events: nothing recorded for {correlation_id}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps([MessageToDict(r, preserving_proto_field_name=True) for r in records], indent=2))
        return 0
    for record in records:
        step = audit_pb2.LifecycleStep.Name(record.step).removeprefix("LIFECYCLE_STEP_").lower()
        kinds = ", ".join(f"{e.entity_type}:{e.count}" for e in record.entities)
        parts = [record.time.ToDatetime().isoformat(timespec="milliseconds"), f"{record.stage:<9}",
                 f"{step:<13}"]
        if record.verdict:
            parts.append("verdict=" + _verdict_name(record.verdict))
        if kinds:
            parts.append(f"kinds={kinds}")
        if record.attempt:
            parts.append(f"attempt={record.attempt}")
        if record.reason:
            parts.append(f"reason={record.reason}")
        print("  ".join(parts))
        for scan in record.files:
            kinds = ", ".join(f"{k.entity_type}:{k.count}" for k in scan.kinds) or "-"
            print(f"    file {scan.file_id}: type={scan.detected_type or '?'} bytes={scan.size} "
                  f"pages={scan.pages_scanned}/{scan.pages} method={scan.method or 'none'} "
                  f"kinds={kinds}" + (f" reason={scan.reason}" if scan.reason else ""))
    return 0


def schedules(as_json: bool) -> int:
    """``piiguard schedules``: each workspace's scheduled jobs with their next run."""
    from piiguard.schedules import read_schedules

    found = _run(read_schedules)
    if as_json:
        print(json.dumps([s.as_json() for s in found], indent=2))
        return 0
    if not found:
        print("no schedules (is the policy's schedules section all off?)")
        return 0
    rows = [("WORKSPACE", "JOB", "SCHEDULE", "TIME ZONE", "RUNS IN", "NEXT RUN")]
    for item in found:
        upcoming = item.next_run.isoformat(timespec="seconds") if item.next_run else "?"
        rows.append((item.workspace, item.job, item.schedule, item.time_zone or "-", item.runs_in,
                     upcoming))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _verdict_name(value: int) -> str:
    from piiguard.v1 import detection_pb2

    return detection_pb2.Verdict.Name(value).removeprefix("VERDICT_").lower()  # type: ignore[arg-type]


def _usage(text: str) -> int:
    print(f"usage: {text}", file=sys.stderr)
    return 2
