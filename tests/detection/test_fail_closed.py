"""Fail closed: when the engine itself fails on a text, the text is not clean.
``analyze``/``scan``/``scan_many`` raise ``DetectionFailed`` (its reason names the
exception's type and place, never its message), and ``piiguard scan`` prints an
error line for that text alone — the texts around it still get their verdicts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from piiguard.detection.engine import DetectionEngine, DetectionFailed
from piiguard.scan import scan_lines

MARKER = "ENGINE-FAILS-HERE"
CARD = "4539 1488 0343 6467"


@pytest.fixture
def failing(engine: DetectionEngine, monkeypatch: pytest.MonkeyPatch) -> Iterator[DetectionEngine]:
    original = engine._analyze_chunk

    def analyze_chunk(text: str, *args: Any, **kwargs: Any) -> Any:
        if MARKER in text:
            raise RuntimeError(f"bug near {CARD}")  # a message quoting the text
        return original(text, *args, **kwargs)

    monkeypatch.setattr(engine, "_analyze_chunk", analyze_chunk)
    yield engine


def test_a_failed_scan_raises_instead_of_passing_as_clean(failing: DetectionEngine) -> None:
    with pytest.raises(DetectionFailed) as failed:
        failing.scan(f"{MARKER} nothing else")
    assert failed.value.reason.startswith("RuntimeError at ")
    assert CARD not in failed.value.reason
    with pytest.raises(DetectionFailed):
        failing.scan_many(["a clean text", f"{MARKER} again"])
    assert failing.scan("a clean text").verdict.value == "allow"


def test_piiguard_scan_reports_the_failed_line_and_goes_on(failing: DetectionEngine) -> None:
    lines = [json.dumps({"id": 1, "text": f"card {CARD}"}),
             json.dumps({"id": 2, "text": f"{MARKER} hello"}),
             json.dumps({"id": 3, "text": "hello"})]
    out = list(scan_lines(lines, failing))
    assert out[0]["verdict"] == "delete" and out[2]["verdict"] == "allow"
    assert out[1]["id"] == 2 and out[1]["error"].startswith("detection failed: RuntimeError at ")
    assert "verdict" not in out[1] and CARD not in json.dumps(out[1])


def test_a_failing_recognizer_fails_the_scan_instead_of_finding_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A recognizer's own error is not swallowed as "nothing found": it fails the
    text, which the detection stage retries and then dead-letters."""
    from piiguard.detection.recognizers.financial import GuardCreditCardRecognizer
    from piiguard.policy import DEFAULT_POLICY

    def broken(self: object, view: object, nlp_artifacts: object) -> Any:
        raise ValueError(f"bug near {CARD}")

    monkeypatch.setattr(GuardCreditCardRecognizer, "find", broken)
    engine = DetectionEngine(DEFAULT_POLICY)
    with pytest.raises(DetectionFailed) as failed:
        engine.scan(f"card {CARD}")
    assert failed.value.reason.startswith("ValueError at ") and CARD not in failed.value.reason
    with pytest.raises(DetectionFailed):
        engine.scan_many(["hello", f"card {CARD}"])
    assert engine.scan("a clean text without digits").verdict.value == "allow"
