"""Property tests: the engine never raises and offsets stay inside the text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from piiguard.detection.engine import DetectionEngine

_FRAGMENTS = st.sampled_from([
    "ssn ", "536-22-1234", "4539 1488 0343 6467", "password: ", "Tr0ub4dor&3", "api_key=",
    "ghp_a1B2c3D4e5F6g7H8i9J0kLmN0pQrStUvWxYz", "NHS ", "943 476 5919", "<@U123ABC>",
    "diagnosed with ", "lupus", "Dana ", "-----BEGIN PRIVATE KEY-----", "\n", "```", "é", "ß",
    "İ", "\u200b", "🙂", "eyJ", ".", "://", "@", "AKIA",
])
_TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(_FRAGMENTS, st.text(max_size=12)), max_size=25).map("".join),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_TEXT)
def test_never_raises_and_offsets_inside(engine: DetectionEngine, text: str) -> None:
    for finding in engine.analyze(text):
        assert 0 <= finding.start < finding.end <= len(text)
        assert 0.0 <= finding.score <= 1.0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(_TEXT, max_size=6))
def test_batch_never_raises(engine: DetectionEngine, texts: list[str]) -> None:
    outcomes = engine.scan_many(texts)
    assert len(outcomes) == len(texts)
    for text, outcome in zip(texts, outcomes, strict=True):
        for finding in outcome.findings + outcome.ignored:
            assert 0 <= finding.start < finding.end <= len(text)
