"""Detection's one handler: scan an event under its workspace's policy and hand
a delete/notify verdict on to action.

Called by the ``PIIGUARD_EVENTS`` consumer and by gRPC ``Detection.Scan``. The
scan runs in a worker thread so the event loop keeps heart-beating in-flight
messages; a scan that overruns its time budget is a permanent failure (the
message is dead-lettered with that reason, the worker lives on).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from nats.js import JetStreamContext
from opentelemetry import trace

from piiguard import telemetry
from piiguard.audit import AuditTrail, Step
from piiguard.detection.engine import DetectionEngine, ScanOutcome
from piiguard.jetstream import HEADER_ID, HEADER_MSG_ID, STREAM_VERDICTS, verdicts_subject
from piiguard.policy import EntityAction, Policy, Verdict
from piiguard.v1 import action_pb2, detection_pb2, event_pb2
from piiguard.worker import PermanentError

log = logging.getLogger(__name__)

PolicyLookup = Callable[[str], Policy | None]

_VERDICTS = {
    Verdict.ALLOW: detection_pb2.VERDICT_ALLOW,
    Verdict.DELETE: detection_pb2.VERDICT_DELETE,
    Verdict.NOTIFY: detection_pb2.VERDICT_NOTIFY,
}
_ACTIONS = {
    EntityAction.IGNORE: detection_pb2.ENTITY_ACTION_IGNORE,
    EntityAction.NOTIFY: detection_pb2.ENTITY_ACTION_NOTIFY,
    EntityAction.DELETE: detection_pb2.ENTITY_ACTION_DELETE,
}


class EngineCache:
    """One engine per distinct policy, rebuilt only when a policy changes."""

    def __init__(self) -> None:
        self._engines: dict[str, DetectionEngine] = {}

    def engine_for(self, policy: Policy) -> DetectionEngine:
        engine = self._engines.get(policy.fingerprint)
        if engine is None:
            engine = DetectionEngine(policy)
            self._engines[policy.fingerprint] = engine
        return engine

    def retain(self, policies: list[Policy]) -> None:
        keep = {p.fingerprint for p in policies}
        for key in list(self._engines):
            if key not in keep:
                del self._engines[key]


def to_result(event_id: str, outcome: ScanOutcome, policy: Policy) -> detection_pb2.DetectionResult:
    return detection_pb2.DetectionResult(
        event_id=event_id,
        verdict=_VERDICTS[outcome.verdict],
        findings=[
            detection_pb2.Finding(
                entity_type=f.entity_type,
                start=f.start,
                end=f.end,
                score=f.score,
                action=_ACTIONS[policy.action_for(f.entity_type)],
            )
            for f in outcome.findings
        ],
    )


class DetectionHandler:
    def __init__(
        self,
        js: JetStreamContext,
        policy_for: PolicyLookup,
        engines: EngineCache | None = None,
        scan_timeout: float = 20.0,
    ) -> None:
        self.js = js
        self.policy_for = policy_for
        self.engines = engines or EngineCache()
        self.scan_timeout = scan_timeout
        self.audit = AuditTrail(js, "detection")

    async def handle(
        self, event: event_pb2.Event, *, dry_run: bool = False
    ) -> detection_pb2.DetectionResult:
        policy = self.policy_for(event.workspace_id)
        if policy is None:
            raise PermanentError("no policy for this workspace")
        engine = self.engines.engine_for(policy)
        started = time.perf_counter()
        try:
            outcome = await asyncio.wait_for(
                asyncio.to_thread(engine.scan, event.text), timeout=self.scan_timeout
            )
        except TimeoutError:
            raise PermanentError(
                f"scan exceeded its {self.scan_timeout:.0f}s budget ({len(event.text)} chars)"
            ) from None
        elapsed_ms = (time.perf_counter() - started) * 1000
        result = to_result(event.event_id, outcome, policy)
        span = trace.get_current_span()
        span.set_attribute("piiguard.verdict", outcome.verdict.value)
        span.set_attribute("piiguard.entity_types", outcome.kinds)
        span.set_attribute("piiguard.finding_count", len(outcome.findings))
        if dry_run:
            return result
        if result.verdict != detection_pb2.VERDICT_ALLOW:
            await self._hand_to_action(event, result)
        await self.audit.record(
            event, Step.LIFECYCLE_STEP_SCANNED, verdict=result.verdict, findings=result.findings
        )
        log.info("scanned %s verdict=%s kinds=%s findings=%d in %.1fms",
                 event.event_id, outcome.verdict.value, ",".join(outcome.kinds) or "-",
                 len(outcome.findings), elapsed_ms)
        return result

    async def _hand_to_action(
        self, event: event_pb2.Event, result: detection_pb2.DetectionResult
    ) -> None:
        request = action_pb2.ActionRequest(event=event, result=result)
        headers = telemetry.inject_headers({HEADER_MSG_ID: event.event_id, HEADER_ID: event.event_id})
        await self.js.publish(
            verdicts_subject(event.workspace_id),
            request.SerializeToString(),
            stream=STREAM_VERDICTS,
            headers=dict(headers),
        )
