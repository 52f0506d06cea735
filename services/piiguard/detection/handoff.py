"""The verdict handed to action, made to fit in one stream message.

An event that fit in the events stream can still make a verdict too large for
the verdicts stream: the verdict carries the event *and* its findings (a long
text full of card numbers). Refusing it would leave a known leak in place, so
the verdict is trimmed instead, keeping everything action needs:

* the verdict itself and every file finding and file summary (the message and
  its files are deleted as decided);
* the text up to :data:`HANDOFF_TEXT_CHARS` — far more than the DM quotes — with
  the findings inside it, for the DM's redacted quote;
* every kind found: a kind whose findings all lie beyond the cut keeps one
  zero-length finding at the cut, so the DM and the audit name it.
"""

from __future__ import annotations

from piiguard.v1 import action_pb2, detection_pb2

HANDOFF_TEXT_CHARS = 50_000  # the DM quotes at most 10,000 characters


def fit_for_action(request: action_pb2.ActionRequest, limit: int) -> action_pb2.ActionRequest:
    """``request`` itself when it fits in ``limit`` bytes, else a trimmed copy."""
    if request.ByteSize() <= limit:
        return request
    trimmed = action_pb2.ActionRequest()
    trimmed.CopyFrom(request)
    cut = min(len(request.event.text), HANDOFF_TEXT_CHARS)
    trimmed.event.text = request.event.text[:cut]
    kept = [f for f in request.result.findings if f.file_id or f.end <= cut]
    kinds = {f.entity_type for f in kept}
    beyond: dict[str, detection_pb2.Finding] = {}
    for finding in request.result.findings:
        if not finding.file_id and finding.end > cut and finding.entity_type not in kinds:
            beyond.setdefault(finding.entity_type, detection_pb2.Finding(
                entity_type=finding.entity_type, start=cut, end=cut, score=finding.score,
                action=finding.action))
    del trimmed.result.findings[:]
    trimmed.result.findings.extend(kept + list(beyond.values()))
    while trimmed.ByteSize() > limit and _drop_text_finding(trimmed.result):
        pass  # a text packed with findings: keep the first ones (and every kind)
    return trimmed


def _drop_text_finding(result: detection_pb2.DetectionResult) -> bool:
    """Drop the last text finding whose kind another finding still names."""
    findings = list(result.findings)
    for index in range(len(findings) - 1, -1, -1):
        finding = findings[index]
        if finding.file_id:
            continue
        if sum(f.entity_type == finding.entity_type for f in findings) > 1:
            del result.findings[index]
            return True
    return False
