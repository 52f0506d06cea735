"""What a workspace policy adds to detection: deny-lists, custom regexes,
allow-lists, and whole-word context for any Presidio recognizer.

These read ``Policy.detection`` only; a new policy builds new hooks, which is
how a hot reload takes effect.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any, cast

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer

from piiguard.detection.recognizers.base import Hit, PiiRecognizer
from piiguard.detection.recognizers.context import TextView, word_pattern
from piiguard.policy import CustomRecognizer, DetectionSettings

log = logging.getLogger(__name__)


class GuardDenyListRecognizer(PiiRecognizer):
    """Values a workspace always flags (``DENY_LIST``), as whole words, any case."""

    ENTITIES = ("DENY_LIST",)

    def __init__(self, values: Sequence[str]) -> None:
        self.values = tuple(v for v in values if v.strip())
        self.prefilter_keywords = tuple({v.lower() for v in self.values})
        pattern = "|".join(re.escape(v) for v in sorted(self.values, key=len, reverse=True))
        self._pattern = re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE)
        super().__init__()

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        for match in self._pattern.finditer(view.text):
            yield Hit("DENY_LIST", match.start(), match.end(), 1.0)


def custom_recognizers(specs: Iterable[CustomRecognizer]) -> list[EntityRecognizer]:
    """The policy's extra regex recognizers, as plain Presidio ``PatternRecognizer``s."""
    built: list[EntityRecognizer] = []
    for spec in specs:
        patterns = [
            Pattern(name=p.name or f"{spec.name}_{i}", regex=p.regex, score=p.score)
            for i, p in enumerate(spec.patterns)
        ]
        built.append(
            PatternRecognizer(
                supported_entity=spec.entity_type,
                name=f"policy:{spec.name}",
                patterns=patterns,
                # Presidio annotates ``context: List[str] = None``; None is what
                # it stores when a spec has no context words, so keep passing it.
                context=cast("list[str]", list(spec.context) or None),
                global_regex_flags=re.MULTILINE,
            )
        )
    return built


class WordContextEnhancer(ContextAwareEnhancer):
    """Raises a Presidio recognizer's score when one of its context words is near.

    Unlike Presidio's lemma enhancer, a context word must stand as a whole word
    ("lic" does not match "public"), and no lemmatizer is needed. Our own
    recognizers judge context themselves and are left alone.
    """

    def __init__(self, boost: float = 0.35, floor: float = 0.4, before: int = 80,
                 after: int = 40) -> None:
        super().__init__(
            context_similarity_factor=boost,
            min_score_with_context_similarity=floor,
            context_prefix_count=5,
            context_suffix_count=0,
        )
        self.before, self.after = before, after
        self._patterns: dict[str, re.Pattern[str]] = {}

    def enhance_using_context(
        self, text: str, raw_results: list[RecognizerResult], nlp_artifacts: Any,
        recognizers: list[EntityRecognizer], context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        by_id = {r.id: r for r in recognizers if not isinstance(r, PiiRecognizer) and r.context}
        if not by_id and not context:
            return raw_results
        for result in raw_results:
            recognizer = by_id.get(
                (result.recognition_metadata or {}).get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY)
            )
            words = list(recognizer.context) if recognizer else []
            if context and recognizer:
                words += context
            if not words:
                continue
            key = "\x00".join(sorted(words))
            pattern = self._patterns.get(key)
            if pattern is None:
                pattern = self._patterns[key] = word_pattern(words)
            window = text[max(0, result.start - self.before) : result.end + self.after]
            if pattern.search(window):
                result.score = min(
                    self.MAX_SCORE,
                    max(result.score + self.context_similarity_factor,
                        self.min_score_with_context_similarity),
                )
        return raw_results


class AllowFilter:
    """Drops findings whose value is allow-listed or lies inside an allowed pattern."""

    def __init__(self, settings: DetectionSettings) -> None:
        self.values = frozenset(v.strip().lower() for v in settings.allow_list if v.strip())
        self.patterns = tuple(re.compile(p) for p in settings.allow_patterns)

    def __bool__(self) -> bool:
        return bool(self.values or self.patterns)

    def allowed_spans(self, text: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        for pattern in self.patterns:
            try:
                spans.extend(m.span() for m in pattern.finditer(text) if m.end() > m.start())
            except (re.error, RecursionError):  # pragma: no cover - validated on load
                log.warning("allow pattern failed")
        return spans

    def allows(self, text: str, start: int, end: int, spans: list[tuple[int, int]]) -> bool:
        value = text[start:end].strip().lower()
        if value in self.values:
            return True
        if any(p.fullmatch(text[start:end]) for p in self.patterns):
            return True
        return any(s <= start and end <= e for s, e in spans)
