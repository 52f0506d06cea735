"""Keyword pre-filter: decide which recognizers a text is worth running at all.

As in gitleaks and TruffleHog, every recognizer declares cheap triggers, and
one Aho-Corasick pass over the lower-cased text (plus one regex for runs of
digits) selects the few recognizers to run. A clean short message usually
triggers none, and the engine returns without calling Presidio.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import ahocorasick
from presidio_analyzer import EntityRecognizer

from piiguard.detection.recognizers.base import PiiRecognizer, recognizer_name

# Eight digits, possibly split by single spaces, dashes or dots: the shortest id we
# read. (Texts are normalized first, so every script's digits are ASCII here.)
_DIGIT_RUN = re.compile(r"\d(?:[ .-]?\d){7}")


def keywords_of(recognizer: EntityRecognizer) -> tuple[str, ...]:
    declared = getattr(recognizer, "prefilter_keywords", None)
    keywords: Iterable[str] = declared if declared else getattr(recognizer, "KEYWORDS", ())
    return tuple(keywords)


class Prefilter:
    """Maps a text to the names of the recognizers its keywords and digits wake."""

    def __init__(self, recognizers: Iterable[EntityRecognizer]) -> None:
        self.always: set[str] = set()
        self.on_digits: set[str] = set()
        self._keyword_names: set[str] = set()
        self._automaton: ahocorasick.Automaton | None = None
        self._triggers: list[tuple[re.Pattern[str], str]] = []
        table: dict[str, set[str]] = {}
        for recognizer in recognizers:
            name = recognizer_name(recognizer)
            if not isinstance(recognizer, PiiRecognizer) or recognizer.ALWAYS:
                self.always.add(name)
                continue
            if recognizer.DIGITS:
                self.on_digits.add(name)
            if recognizer.TRIGGER is not None:
                self._triggers.append((recognizer.TRIGGER, name))
            for keyword in keywords_of(recognizer):
                table.setdefault(keyword.lower(), set()).add(name)
                self._keyword_names.add(name)
        if table:
            automaton = ahocorasick.Automaton()
            for keyword, names in table.items():
                automaton.add_word(keyword, frozenset(names))
            automaton.make_automaton()
            self._automaton = automaton

    def triggered(self, text: str, lower: str) -> frozenset[str]:
        names = set(self.always)
        if self.on_digits and _DIGIT_RUN.search(text):
            names |= self.on_digits
        for pattern, name in self._triggers:
            if name not in names and pattern.search(text):
                names.add(name)
        if self._automaton is not None:
            remaining = self._keyword_names - names
            for _end, hit in self._automaton.iter(lower):
                if not remaining:
                    break
                names |= hit
                remaining -= hit
        return frozenset(names)
