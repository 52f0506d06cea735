"""Engine contract: policy hooks, verdicts, batching, and bounded time."""

from __future__ import annotations

import time

from piiguard.detection.engine import DetectionEngine, Finding
from piiguard.policy import Policy, Verdict, policy_from_mapping

GH = "ghp_" + "a1B2c3D4e5F6g7H8i9J0kLmN0pQrStUvWxYz"


def test_end_to_end_verdicts(engine: DetectionEngine) -> None:
    assert engine.scan(f"here's my token {GH}").verdict is Verdict.DELETE
    assert engine.scan("Dana Reyes was diagnosed with lupus").verdict is Verdict.DELETE
    for text in ("call me at 415-555-0132", "released v2.13.4", "flu season!", "hi all"):
        assert engine.scan(text).verdict is Verdict.ALLOW


def test_scan_many_matches_scan(engine: DetectionEngine) -> None:
    texts = [f"token {GH}", "hello", "ssn 536-22-1234", "", "Dana has lupus"]
    assert engine.scan_many(texts) == [engine.scan(t) for t in texts]


def test_allow_list_and_patterns() -> None:
    policy = policy_from_mapping({"detection": {"allowList": [GH],
                                                "allowPatterns": [r"536-22-\d{4}"]}})
    engine = DetectionEngine(policy)
    assert engine.scan(f"token {GH}").verdict is Verdict.ALLOW
    assert engine.scan("ssn 536-22-1234").verdict is Verdict.ALLOW
    assert engine.scan("ssn 536-23-1234").verdict is Verdict.DELETE


def test_deny_list_and_custom_recognizer() -> None:
    policy = policy_from_mapping({
        "detection": {
            "denyList": ["Project Nightingale"],
            "customRecognizers": [{
                "name": "employee-id", "entityType": "EMPLOYEE_ID",
                "patterns": [{"regex": r"\bE-\d{6}\b", "score": 0.3}],
                "context": ["employee"],
            }],
        },
        "actions": {"rules": {"DENY_LIST": "delete", "EMPLOYEE_ID": "notify"}},
    })
    engine = DetectionEngine(policy)
    assert engine.scan("status of project nightingale?").kinds == ["DENY_LIST"]
    assert engine.scan("employee E-123456 joined").verdict is Verdict.NOTIFY
    assert engine.scan("code E-123456 only").verdict is Verdict.ALLOW  # no context: 0.3


def test_thresholds_and_ignore() -> None:
    policy = policy_from_mapping({"detection": {"thresholds": {"US_SSN": 0.95}}})
    assert DetectionEngine(policy).scan("ssn 536-22-1234").verdict is Verdict.ALLOW
    ignore = policy_from_mapping({"actions": {"rules": {"GITHUB_TOKEN": "ignore", "*_KEY": "delete"}}})
    assert DetectionEngine(ignore).scan(f"t {GH}").verdict is Verdict.ALLOW


def test_rebuild_is_cheap() -> None:
    start = time.perf_counter()
    for _ in range(5):
        DetectionEngine(Policy())
    assert time.perf_counter() - start < 2.0


def test_pathological_input_is_bounded(engine: DetectionEngine) -> None:
    for text in ("7" * 50_000, "a" * 1_000_000, ("ssn 536-22-1234 " * 5000),
                 "api_key=" * 50_000, "-----BEGIN PRIVATE KEY-----" * 20_000):
        start = time.perf_counter()
        findings = engine.analyze(text)
        assert time.perf_counter() - start < 20
        assert all(isinstance(f, Finding) and 0 <= f.start < f.end <= len(text) for f in findings)


def test_long_text_offsets_across_chunks(engine: DetectionEngine) -> None:
    text = "lorem ipsum " * 10_000 + f"token {GH} " + "dolor " * 100
    findings = engine.analyze(text)
    assert [text[f.start : f.end] for f in findings] == [GH]


def test_stock_presidio_registry_still_loads(engine: DetectionEngine) -> None:
    """Our recognizer classes must not shadow Presidio's (it looks classes up by name)."""
    from presidio_analyzer import AnalyzerEngine

    stock = AnalyzerEngine(nlp_engine=engine.nlp_engine, supported_languages=["en"])
    assert "CREDIT_CARD" in stock.get_supported_entities("en")
    assert any(type(r).__name__.startswith("Guard") for r in engine.analyzer.registry.recognizers)
