"""Detection's one handler: scan an event under its workspace's policy and hand
a delete/notify verdict on to action.

Called by the ``PIIGUARD_EVENTS`` consumer and by gRPC ``Detection.Scan``. The
scan runs in a worker thread so the event loop keeps heart-beating in-flight
messages; a scan that overruns its time budget is a permanent failure (the
message is dead-lettered with that reason, the worker lives on).

Files the event shares are scanned too (``piiguard.detection.files``): each
name is scanned as text, each file downloaded with the bot token, its text
extracted in a child process within the policy's limits, and scanned by the same
engine; findings carry the file's id, name and page. A file that cannot be
scanned is an ``UNSCANNABLE_FILE`` finding. At most ``detection.files.maxFiles``
files of one message are scanned; each one beyond is reported as
``UNSCANNABLE_FILE``, never skipped silently.

Fail safe — act on what is known. When a file's download fails in a way worth
retrying (network, 429, 5xx) or the engine fails on the message text:

* if what *was* read already holds something to act on, the verdict goes to
  action now (a card number in the text is deleted at once); the files that
  could not be read are reported as ``UNSCANNABLE_FILE`` on their own;
* otherwise the event is retried (nothing known is held back), and on its last
  attempt the unread files are reported as ``UNSCANNABLE_FILE`` — the event is
  never dead-lettered because of one file;
* fail closed: a text the engine failed on is never counted as clean. Without
  other findings to act on, the event is retried and then dead-lettered with
  the failure as its reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from nats.js import JetStreamContext
from opentelemetry import trace

from piiguard import delivery, metrics, telemetry
from piiguard.audit import AuditTrail, Step
from piiguard.contracts import ACTION_TO_PROTO, VERDICT_NAMES, VERDICT_TO_PROTO
from piiguard.detection.engine import DetectionEngine, DetectionFailed, ScanOutcome
from piiguard.detection.files.limits import UNSCANNABLE_FILE
from piiguard.detection.files.scanner import FileOutcome, FileScanner
from piiguard.detection.handoff import fit_for_action
from piiguard.errors import PermanentError, TransientError
from piiguard.jetstream import (
    HEADER_ID,
    HEADER_MSG_ID,
    STREAM_VERDICTS,
    max_message_bytes,
    verdicts_subject,
)
from piiguard.policy import Policy, Verdict
from piiguard.policy_store import PolicyLookup
from piiguard.settings import DEFAULT_SLACK_API_URL
from piiguard.slack_credentials import CredentialSource
from piiguard.tasks import gather_all
from piiguard.v1 import action_pb2, detection_pb2, event_pb2

log = logging.getLogger(__name__)

_VERDICTS = VERDICT_TO_PROTO
_VERDICT_NAMES = VERDICT_NAMES
_ACTIONS = ACTION_TO_PROTO


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
        # The stage passes a scanner built from its settings (API URL, bot token).
        self.files = files or FileScanner(DEFAULT_SLACK_API_URL, "", scan_timeout=scan_timeout)

    async def handle(
        self, event: event_pb2.Event, *, dry_run: bool = False
    ) -> detection_pb2.DetectionResult:
        policy = self.policy_for(event.workspace_id)
        if policy is None:
            raise PermanentError("no policy for this workspace")
        engine = self.engines.engine_for(policy)
        started = time.perf_counter()
        text_failure = ""
        try:
            outcome = await asyncio.wait_for(
                asyncio.to_thread(engine.scan, event.text), timeout=self.scan_timeout
            )
        except TimeoutError:
            raise PermanentError(
                f"scan exceeded its {self.scan_timeout:.0f}s budget ({len(event.text)} chars)"
            ) from None
        except DetectionFailed as failure:
            text_failure = failure.reason
            outcome = engine.outcome(())
        result = to_result(event.event_id, outcome, policy)
        files = await self._scan_files(event, policy, engine) if event.files else []
        self._settle(policy, result, files, text_failure)
        elapsed = time.perf_counter() - started
        elapsed_ms = elapsed * 1000
        metrics.DETECTION_SECONDS.observe(elapsed)
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
        _count(result)  # once the verdict is durable: a retried publish is not counted twice
        log.info("scanned %s verdict=%s kinds=%s findings=%d%s in %.1fms",
                 event.event_id, verdict, ",".join(kinds) or "-", len(result.findings),
                 _files_summary(result.files), elapsed_ms)
        return result

    async def _scan_files(self, event: event_pb2.Event, policy: Policy,
                          engine: DetectionEngine) -> list[tuple[event_pb2.FileRef, FileOutcome]]:
        """Scan the shared files, up to the policy's ``maxFiles``; each one beyond is
        reported as ``UNSCANNABLE_FILE``. Downloads are bounded by the scanner."""
        token = None
        if self.credentials is not None:  # the workspace's own bot token downloads its files
            credentials = await self.credentials.for_workspace(event.workspace_id)
            token = credentials.bot_token if credentials else None
        cap = policy.detection.files.max_files
        refs = list(event.files)
        outcomes: list[FileOutcome] = list(await gather_all(
            *(self.files.scan(ref, policy, engine, token) for ref in refs[:cap])
        ))
        for ref in refs[cap:]:
            skipped = FileOutcome(detection_pb2.FileScan(
                file_id=ref.id, name=ref.name, declared_mimetype=ref.mimetype, size=ref.size,
                method="none"))
            skipped.settle_unscannable(ref, policy, f"beyond the {cap}-file limit of one message")
            outcomes.append(skipped)
        return list(zip(refs, outcomes, strict=True))

    def _settle(self, policy: Policy, result: detection_pb2.DetectionResult,
                files: list[tuple[event_pb2.FileRef, FileOutcome]], text_failure: str) -> None:
        """Act on what is known, retry what may still be learned (see module docs);
        fold every file's findings and summary into ``result``."""
        known = [f.entity_type for f in result.findings]
        known += [f.entity_type for _, o in files for f in o.findings]
        known_verdict = policy.verdict_for(k for k in known if k != UNSCANNABLE_FILE)
        if text_failure and known_verdict is not Verdict.DELETE:
            # Only a delete makes the unscanned text moot; anything less must not pass as clean.
            raise TransientError(f"detection failed on the message text: {text_failure}")
        pending = [(ref, o) for ref, o in files if o.retryable]
        last = delivery.is_last_attempt()
        if pending and known_verdict is Verdict.ALLOW and not last:
            raise TransientError(f"{len(pending)} file(s) not downloaded yet: {pending[0][1].retryable}")
        for ref, file_outcome in pending:
            why = file_outcome.retryable.removeprefix("file download: ")
            note = "" if last else "; acted on what was found"
            file_outcome.settle_unscannable(ref, policy, f"download failed ({why}{note})")
        for _, file_outcome in files:
            result.files.append(file_outcome.scan)
            result.findings.extend(file_outcome.findings)
        result.verdict = _VERDICTS[policy.verdict_for(f.entity_type for f in result.findings)]

    async def _hand_to_action(
        self, event: event_pb2.Event, result: detection_pb2.DetectionResult
    ) -> None:
        request = fit_for_action(action_pb2.ActionRequest(event=event, result=result),
                                 max_message_bytes(self.js))
        headers = telemetry.inject_headers({HEADER_MSG_ID: event.event_id, HEADER_ID: event.event_id})
        await self.js.publish(
            verdicts_subject(event.workspace_id),
            request.SerializeToString(),
            stream=STREAM_VERDICTS,
            headers=dict(headers),
        )


def _count(result: detection_pb2.DetectionResult) -> None:
    """Findings by kind, files by detected type and outcome (a redelivered event is
    counted again: these count scans, the audit trail counts events)."""
    for finding in result.findings:
        metrics.FINDINGS.labels(metrics.bounded(finding.entity_type.lower()).upper()).inc()
    for scan in result.files:
        found = any(k.entity_type != UNSCANNABLE_FILE for k in scan.kinds)
        outcome = "unscannable" if not scan.scanned else "pii" if found else "clean"
        metrics.FILES.labels(metrics.bounded(scan.detected_type, "unknown"), outcome).inc()


def _files_summary(files: Iterable[detection_pb2.FileScan]) -> str:
    """`` files=2 (png:ocr:US_SSN=1, pdf:pdf-text:-)``: types, methods, kinds — no names."""
    parts = []
    for scan in files:
        kinds = ",".join(f"{k.entity_type}={k.count}" for k in scan.kinds) or "-"
        parts.append(f"{scan.detected_type or '?'}:{scan.method}:{kinds}")
    return f" files={len(parts)} ({'; '.join(parts)})" if parts else ""
