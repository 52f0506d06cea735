"""The live figures a policy's status shows: what is queued, in flight and
dead-lettered for its workspace, read from JetStream on each refresh."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from piiguard.jetstream import STREAM_DLQ, dead_letter_filter
from piiguard.policy_store import STAGES, Stage, consumer_name, stream_for


@dataclass(frozen=True)
class StageFigures:
    pending: int = 0
    in_flight: int = 0
    redelivered: int = 0
    paused: bool = False
    concurrency: int = 0
    last_ack: datetime.datetime | None = None


@dataclass(frozen=True)
class WorkspaceFigures:
    stages: dict[Stage, StageFigures] = field(default_factory=dict)
    dead_lettered: int = 0

    @property
    def pending(self) -> int:
        return sum(s.pending for s in self.stages.values())

    @property
    def paused(self) -> str:
        names = [stage for stage in STAGES if stage in self.stages and self.stages[stage].paused]
        return ",".join(names) or "none"

    @property
    def last_action_time(self) -> datetime.datetime | None:
        action = self.stages.get("action")
        return action.last_ack if action else None

    def as_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "paused": self.paused,
            "pending": self.pending,
            "deadLettered": self.dead_lettered,
            "stages": {
                stage: {
                    "pending": figures.pending,
                    "inFlight": figures.in_flight,
                    "redelivered": figures.redelivered,
                    "paused": figures.paused,
                    "concurrency": figures.concurrency,
                }
                for stage, figures in self.stages.items()
            },
        }
        if self.last_action_time is not None:
            status["lastActionTime"] = _rfc3339(self.last_action_time)
        return status


async def collect(js: JetStreamContext, workspace: str) -> WorkspaceFigures:
    stages: dict[Stage, StageFigures] = {}
    for stage in STAGES:
        try:
            info = await js.consumer_info(stream_for(stage), consumer_name(stage, workspace))
        except NotFoundError:
            continue
        acked = info.ack_floor.last_active if info.ack_floor and info.ack_floor.stream_seq else None
        stages[stage] = StageFigures(
            pending=info.num_pending or 0,
            in_flight=info.num_ack_pending or 0,
            redelivered=info.num_redelivered or 0,
            paused=bool(info.paused),
            concurrency=info.config.max_ack_pending or 0,
            last_ack=acked,
        )
    return WorkspaceFigures(stages=stages, dead_lettered=await _dead_lettered(js, workspace))


async def _dead_lettered(js: JetStreamContext, workspace: str) -> int:
    try:
        info = await js.stream_info(STREAM_DLQ, subjects_filter=dead_letter_filter(workspace=workspace))
    except NotFoundError:
        return 0
    return sum((info.state.subjects or {}).values())


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
