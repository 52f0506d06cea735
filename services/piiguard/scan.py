"""``piiguard scan``: JSON lines in, one verdict line out per input line.

Input:  ``{"id": ..., "text": ...}``
Output: ``{"id": ..., "verdict": "delete"|"allow", "entities": [{"type", "start", "end", "score"}]}``
(``"notify"`` appears only under a policy with notify-only kinds). Entities are
the kinds the policy acts on; ``--all-entities`` adds the ignored ones. Never
the matched values. A malformed line yields ``{"id": ..., "error": ...}`` (the
line number stands in for a missing id) and the scan goes on; so does a text the
engine failed on (``"error": "detection failed: ..."``) — never a clean verdict.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from piiguard.detection.engine import DetectionEngine, DetectionFailed, Finding, ScanOutcome
from piiguard.policy import Policy

BATCH = 64


def _entities(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    return [
        {"type": f.entity_type, "start": f.start, "end": f.end, "score": round(f.score, 4)}
        for f in sorted(findings, key=lambda f: (f.start, f.end, f.entity_type))
    ]


def _verdict_line(ident: Any, outcome: ScanOutcome, all_entities: bool) -> dict[str, Any]:
    findings = list(outcome.findings) + (list(outcome.ignored) if all_entities else [])
    return {"id": ident, "verdict": outcome.verdict.value, "entities": _entities(findings)}


def _parse(line: str, number: int) -> tuple[Any, str | None, str | None]:
    """(id, text, error)"""
    try:
        record = json.loads(line)
    except ValueError:
        return number, None, "line is not valid JSON"
    if not isinstance(record, dict):
        return number, None, "line is not a JSON object"
    ident = record.get("id", number)
    text = record.get("text")
    if not isinstance(text, str):
        return ident, None, "missing or non-string \"text\""
    return ident, text, None


def scan_lines(
    lines: Iterable[str], engine: DetectionEngine, all_entities: bool = False
) -> Iterator[dict[str, Any]]:
    pending: list[tuple[Any, str | None, str | None]] = []

    def flush() -> Iterator[dict[str, Any]]:
        texts = [text for _, text, error in pending if error is None and text is not None]
        outcomes = iter(_scan_each(engine, texts))
        for ident, text, error in pending:
            if error is not None or text is None:
                yield {"id": ident, "error": error}
                continue
            outcome = next(outcomes)
            if isinstance(outcome, DetectionFailed):
                yield {"id": ident, "error": f"detection failed: {outcome.reason}"}
            else:
                yield _verdict_line(ident, outcome, all_entities)
        pending.clear()

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        pending.append(_parse(line, number))
        if len(pending) >= BATCH:
            yield from flush()
    yield from flush()


def _scan_each(engine: DetectionEngine, texts: list[str]) -> list[ScanOutcome | DetectionFailed]:
    """Each text's outcome, or the failure of that text alone."""
    if not texts:
        return []
    try:
        return list(engine.scan_many(texts))
    except DetectionFailed:
        results: list[ScanOutcome | DetectionFailed] = []
        for text in texts:
            try:
                results.append(engine.scan(text))
            except DetectionFailed as failure:
                results.append(failure)
        return results


def run(policy: Policy, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
        all_entities: bool = False) -> int:
    engine = DetectionEngine(policy)
    for record in scan_lines(stdin, engine, all_entities):
        stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        stdout.flush()
    return 0
