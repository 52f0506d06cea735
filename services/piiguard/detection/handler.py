"""Detection's one handler: scan an event under its workspace's policy and hand
a delete/notify verdict on to action.

Called by the ``PIIGUARD_EVENTS`` consumer and by gRPC ``Detection.Scan``. The
scan runs in a worker thread so the event loop keeps heart-beating in-flight
messages; a scan that overruns its time budget is a permanent failure (the
message is dead-lettered with that reason, the worker lives on).

Files the event shares are scanned too (``piiguard.detection.files``): each is
downloaded with the bot token, its text extracted in a child process within the
policy's limits, and scanned by the same engine; findings carry the file's id,
name and page. A file that cannot be scanned is an ``UNSCANNABLE_FILE`` finding.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable

from nats.js import JetStreamContext
from opentelemetry import trace

from piiguard import config, telemetry
from piiguard.audit import AuditTrail, Step
from piiguard.credentials import CredentialSource
from piiguard.detection.engine import DetectionEngine, ScanOutcome
from piiguard.detection.files.download import DownloadError
from piiguard.detection.files.scanner import FileOutcome, FileScanner
from piiguard.jetstream import (
    HEADER_ID,
    HEADER_MSG_ID,
    STREAM_VERDICTS,
    verdicts_subject,
)
from piiguard.policy import EntityAction, Policy, Verdict
from piiguard.v1 import action_pb2, detection_pb2, event_pb2
from piiguard.worker import PermanentError, TransientError

log = logging.getLogger(__name__)

PolicyLookup = Callable[[str], Policy | None]

_VERDICTS = {
    Verdict.ALLOW: detection_pb2.VERDICT_ALLOW,
    Verdict.DELETE: detection_pb2.VERDICT_DELETE,
    Verdict.NOTIFY: detection_pb2.VERDICT_NOTIFY,
}
_VERDICT_NAMES = {v: k.value for k, v in _VERDICTS.items()}
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
        files: FileScanner | None = None,
        credentials: CredentialSource | None = None,
    ) -> None:
        self.js = js
        self.policy_for = policy_for
        self.engines = engines or EngineCache()
        self.scan_timeout = scan_timeout
        self.audit = AuditTrail(js, "detection")
        self.credentials = credentials
        self.files = files or FileScanner(
            config.slack_api_url(), os.environ.get("SLACK_BOT_TOKEN", ""), scan_timeout=scan_timeout
        )

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
        result = to_result(event.event_id, outcome, policy)
        if event.files:
            await self._scan_files(event, policy, engine, result)
        elapsed_ms = (time.perf_counter() - started) * 1000
        kinds = sorted({f.entity_type for f in result.findings})
        verdict = _VERDICT_NAMES[result.verdict]
        span = trace.get_current_span()
        span.set_attribute("piiguard.verdict", verdict)
        span.set_attribute("piiguard.entity_types", kinds)
        span.set_attribute("piiguard.finding_count", len(result.findings))
        if event.files:
            span.set_attribute("piiguard.file_count", len(event.files))
        if dry_run:
            return result
        if result.verdict != detection_pb2.VERDICT_ALLOW:
            await self._hand_to_action(event, result)
        await self.audit.record(event, Step.LIFECYCLE_STEP_SCANNED, verdict=result.verdict,
                                findings=result.findings, files=result.files)
        log.info("scanned %s verdict=%s kinds=%s findings=%d%s in %.1fms",
                 event.event_id, verdict, ",".join(kinds) or "-", len(result.findings),
                 _files_summary(result.files), elapsed_ms)
        return result

    async def _scan_files(self, event: event_pb2.Event, policy: Policy, engine: DetectionEngine,
                          result: detection_pb2.DetectionResult) -> None:
        """Scan every shared file; fold its findings and summary into ``result``."""
        token = None
        if self.credentials is not None:  # the workspace's own bot token downloads its files
            credentials = await self.credentials.for_workspace(event.workspace_id)
            token = credentials.bot_token if credentials else None
        try:
            outcomes: list[FileOutcome] = list(await asyncio.gather(
                *(self.files.scan(ref, policy, engine, token) for ref in event.files)
            ))
        except DownloadError as exc:
            raise TransientError(str(exc)) from None  # the worker retries the event with backoff
        for file_outcome in outcomes:
            result.files.append(file_outcome.scan)
            result.findings.extend(file_outcome.findings)
        result.verdict = _VERDICTS[policy.verdict_for(f.entity_type for f in result.findings)]

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


def _files_summary(files: Iterable[detection_pb2.FileScan]) -> str:
    """`` files=2 (png:ocr:US_SSN=1, pdf:pdf-text:-)``: types, methods, kinds — no names."""
    parts = []
    for scan in files:
        kinds = ",".join(f"{k.entity_type}={k.count}" for k in scan.kinds) or "-"
        parts.append(f"{scan.detected_type or '?'}:{scan.method}:{kinds}")
    return f" files={len(parts)} ({'; '.join(parts)})" if parts else ""
