"""One shared file, from reference to findings: scan its name, download,
extract (in a child process, with a time budget), detect with the workspace's
engine.

The outcome is a ``FileScan`` summary (type, size, pages, method, kinds and
counts — never content) and the file's findings, each carrying the file's id,
name and page; a finding in the file's *name* (``card-4539….pdf``) has
``in_file_name`` set and offsets into the name. A file that cannot be (wholly)
scanned adds an ``UNSCANNABLE_FILE`` finding; the policy decides its action. A
download that failed in a way worth retrying (network, 429, 5xx) adds nothing
yet: the outcome says ``retryable`` and the handler decides — retry the event,
or report the file as unscannable on its own and act on what is known.

Downloads and extractions are bounded per process (``download_concurrency``,
``concurrency``), whatever number of files an event lists.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp

from piiguard.contracts import ACTION_TO_PROTO
from piiguard.detection.engine import DetectionEngine, DetectionFailed
from piiguard.detection.files.download import download
from piiguard.detection.files.extract import Extraction
from piiguard.detection.files.limits import UNSCANNABLE_FILE, Limits, Unscannable
from piiguard.detection.files.notion_files import NotionFiles
from piiguard.detection.files.ocr_text import scan_pages
from piiguard.errors import DownloadError
from piiguard.policy import EntityAction, Policy
from piiguard.v1 import detection_pb2, event_pb2

log = logging.getLogger(__name__)

KILL_GRACE = 5.0  # seconds past the budget before the child is killed
_ACTIONS = ACTION_TO_PROTO


@dataclass
class FileOutcome:
    scan: detection_pb2.FileScan
    findings: list[detection_pb2.Finding] = field(default_factory=list)  # acted-on (delete/notify)
    ignored: int = 0
    retryable: str = ""  # why the download failed in a way worth retrying; "" otherwise

    def settle_unscannable(self, ref: event_pb2.FileRef, policy: Policy, reason: str) -> None:
        """Give up on retrying this file: it is reported as ``UNSCANNABLE_FILE``."""
        self.retryable = ""
        self.scan.reason = reason
        self.scan.scanned = False
        FileScanner.unscannable(ref, policy, self)
        _count_kinds(self)


async def extract_in_child(data: bytes, limits: Limits) -> Extraction:
    """Run ``extract`` in a fresh child process; kill it when it overruns the budget."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "piiguard.detection.files.extraction_child", json.dumps(limits.as_dict()),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(data), timeout=limits.time_budget + KILL_GRACE)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise Unscannable("time budget exceeded") from None
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    if process.returncode != 0 or not out:
        # Killed by its memory or CPU limit, or a native decoder crashed.
        raise Unscannable("extraction failed (resource limit or malformed file)")
    try:
        return Extraction.from_dict(json.loads(out))
    except (ValueError, KeyError, TypeError):
        raise Unscannable("extraction failed (bad output)") from None


class FileScanner:
    """Scans the files of events. One per detection process."""

    def __init__(self, api_url: str, token: str, *, concurrency: int = 2, download_concurrency: int = 4,
                 scan_timeout: float = 20.0, notion: NotionFiles | None = None) -> None:
        self.api_url = api_url
        self.notion = notion or NotionFiles(None)
        self.token = token
        self.scan_timeout = scan_timeout
        self._slots = asyncio.Semaphore(concurrency)
        self._downloads = asyncio.Semaphore(download_concurrency)

    async def scan(self, ref: event_pb2.FileRef, policy: Policy, engine: DetectionEngine,
                   token: str | None = None) -> FileOutcome:
        """``token``: the workspace's bot token (default: the one given at construction)."""
        started = time.perf_counter()
        settings = policy.detection.files
        scan = detection_pb2.FileScan(file_id=ref.id, name=ref.name, declared_mimetype=ref.mimetype,
                                      size=ref.size, method="none")
        outcome = FileOutcome(scan)
        await self._detect_name(ref, engine, policy, outcome)
        if not settings.enabled:
            scan.reason = "file scanning disabled by policy"
            _count_kinds(outcome)
            return outcome
        limits = Limits.from_policy(settings)
        try:
            if ref.size > limits.max_bytes:
                raise Unscannable(f"larger than the {limits.max_bytes}-byte limit")
            # A session per file: nothing to close at shutdown, no state between events.
            async with self._downloads, aiohttp.ClientSession() as session:
                if ref.HasField("notion"):
                    fetched = await self.notion.download(
                        session, ref, allowed_hosts=policy.notion.allow_external_file_hosts,
                        max_bytes=limits.max_bytes, workspace=policy.workspace.team_id or "local")
                else:
                    fetched = await download(session, ref.url_private_download, token=token or self.token,
                                             api_url=self.api_url, max_bytes=limits.max_bytes)
            scan.size = len(fetched.data)
            async with self._slots:
                extraction = await extract_in_child(fetched.data, limits)
            if extraction.detected_type == "text" and "text/html" in fetched.content_type.lower() \
                    and "html" not in ref.mimetype.lower():
                raise Unscannable("download returned a web page (files:read scope?)")
        except Unscannable as exc:
            scan.reason = exc.reason
            extraction = None
        except DownloadError as exc:
            outcome.retryable = str(exc)
            scan.elapsed_ms = int((time.perf_counter() - started) * 1000)
            return outcome
        if extraction is not None:
            scan.detected_type = extraction.detected_type
            scan.method = extraction.method
            scan.pages = extraction.pages
            scan.pages_scanned = extraction.pages_scanned
            scan.reason = extraction.reason
            await self._detect(ref, extraction, engine, policy, outcome)
        scan.scanned = not scan.reason
        if scan.reason:
            self.unscannable(ref, policy, outcome)
        _count_kinds(outcome)
        scan.elapsed_ms = int((time.perf_counter() - started) * 1000)
        return outcome

    async def _detect_name(self, ref: event_pb2.FileRef, engine: DetectionEngine, policy: Policy,
                           outcome: FileOutcome) -> None:
        """A file's name is text its author wrote: ``card-4539 1488 0343 6467.pdf`` is a leak
        even when the file is clean (or cannot be read)."""
        name = ref.name.replace("_", " ")  # same length: offsets stay those of the name
        if not name.strip():
            return
        try:
            result = await asyncio.to_thread(engine.scan, name)
        except DetectionFailed:
            return  # the name is reported with the file's other findings; the content still counts
        outcome.ignored += len(result.ignored)
        for f in result.findings:
            outcome.findings.append(detection_pb2.Finding(
                entity_type=f.entity_type, start=f.start, end=f.end, score=f.score,
                action=_ACTIONS[policy.action_for(f.entity_type)],
                file_id=ref.id, file_name=ref.name, page=0, in_file_name=True,
            ))

    async def _detect(self, ref: event_pb2.FileRef, extraction: Extraction, engine: DetectionEngine,
                      policy: Policy, outcome: FileOutcome) -> None:
        if not any(t.text.strip() for t in extraction.texts):
            return
        try:
            results = await asyncio.wait_for(
                asyncio.to_thread(scan_pages, engine, extraction.texts),
                timeout=max(self.scan_timeout, policy.detection.files.time_budget),
            )
        except TimeoutError:
            outcome.scan.reason = outcome.scan.reason or "detection exceeded its time budget"
            return
        except DetectionFailed as failure:
            # Fail closed, for this file alone: it is reported, never passed as clean.
            outcome.scan.reason = outcome.scan.reason or f"detection failed on its text ({failure.reason})"
            return
        for result in results:
            outcome.ignored += result.ignored
            for f in result.findings:
                outcome.findings.append(detection_pb2.Finding(
                    entity_type=f.entity_type, start=f.start, end=f.end, score=f.score,
                    action=_ACTIONS[policy.action_for(f.entity_type)],
                    file_id=ref.id, file_name=ref.name, page=result.page.page,
                    location=result.page.location,
                ))

    @staticmethod
    def unscannable(ref: event_pb2.FileRef, policy: Policy, outcome: FileOutcome) -> None:
        action = policy.action_for(UNSCANNABLE_FILE)
        if action is EntityAction.IGNORE:
            outcome.ignored += 1
            return
        outcome.findings.append(detection_pb2.Finding(
            entity_type=UNSCANNABLE_FILE, start=0, end=0, score=1.0, action=_ACTIONS[action],
            file_id=ref.id, file_name=ref.name, page=0,
        ))


def _count_kinds(outcome: FileOutcome) -> None:
    counts = Counter(f.entity_type for f in outcome.findings)
    del outcome.scan.kinds[:]
    outcome.scan.kinds.extend(
        detection_pb2.FileKindCount(entity_type=k, count=n) for k, n in sorted(counts.items())
    )
