"""How a careful reader sees a message before judging a number in it.

Two jobs, both shared by every recognizer:

* **Noise spans.** Slack markup (``<@U…>``, ``<#C…|name>``, ``<!date^…>``),
  URLs, UUIDs, commit hashes, version strings, timestamps, IP addresses and
  phone numbers hold digits that are not government or bank ids. Numeric
  recognizers skip candidates inside them. Credential recognizers do not:
  a token inside a URL is still a token.
* **Context words.** Presidio's stock enhancer matches context as substrings
  ("lic" in "public"). Here a context word must stand as a whole word (or the
  start of one, for stems such as ``diagnos``) within a window of characters.

A :class:`TextView` is computed once per text and cached on the NLP artifacts,
so every recognizer shares it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

_NOISE_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Slack markup: mentions, channels, user groups, dates, and the URL part of links.
    re.compile(r"<[@#!][^<>\s|]{1,80}(?:\|[^<>]{0,200})?>"),
    re.compile(r"<(?:https?|mailto|tel):[^<>|\s]{1,2000}"),
    re.compile(r"\b(?:https?|ftp)://[^\s<>|\"'`]{1,2000}", re.IGNORECASE),
    re.compile(r"\bwww\.[^\s<>|\"'`]{1,2000}", re.IGNORECASE),
    # UUIDs, hex hashes with at least one letter, and Slack / Jira style ids.
    re.compile(
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
    ),
    re.compile(r"\b(?=[0-9a-f]{0,63}[a-f])(?=[0-9a-f]{0,63}[0-9])[0-9a-f]{7,64}\b"),
    # Version strings and dotted numbers (also IPv4 addresses).
    re.compile(r"\b[vV]?\d{1,6}(?:\.\d{1,9}){1,5}(?:[-+][0-9A-Za-z.]{1,40})?\b"),
    # ISO dates / timestamps, Slack message timestamps and Unix epochs.
    re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?"),
    re.compile(r"\b\d{10}\.\d{6}\b"),
    # Filesystem paths (anchored on the slash, so the scan stays linear).
    re.compile(r"(?<![\w.])\.{0,2}/(?:[\w.-]{1,80}/){1,30}[\w.-]{0,80}"),
)

# A phone number: +country or parenthesised area code, or phone words before it.
_PHONE = re.compile(
    r"(?:\+\d{1,3}[\s.-]?)\(?\d{2,4}\)?[\s.-]?\d{2,4}[\s.-]?\d{2,4}(?:[\s.-]?\d{1,4})?"
    r"|\(\d{3}\)\s?\d{3}[\s.-]\d{4}"
)
_PHONE_WORDS = re.compile(
    r"\b(?:phone|tel|telephone|cell|mobile|call|calling|text|txt|sms|fax|whatsapp|"
    r"reach (?:me|him|her|them)|ring|dial|contact number|ext)\b[^\d\n]{0,20}$",
    re.IGNORECASE,
)

_CODE_FENCE = re.compile(r"```.{0,200000}?(?:```|\Z)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


@dataclass
class TextView:
    """A text with its lower-cased form and lazily computed noise spans."""

    text: str
    lower: str = field(init=False)
    triggered: frozenset[str] | None = None  # recognizer names the prefilter woke up

    def __post_init__(self) -> None:
        self.lower = self.text.lower()

    @cached_property
    def noise(self) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        for pattern in _NOISE_PATTERNS:
            spans.extend(m.span() for m in pattern.finditer(self.text))
        for match in _PHONE.finditer(self.text):
            spans.append(match.span())
        return _merge(spans)

    @cached_property
    def _noise_starts(self) -> list[int]:
        return [s for s, _ in self.noise]

    @cached_property
    def code_blocks(self) -> list[tuple[int, int]]:
        return [m.span() for m in _CODE_FENCE.finditer(self.text)]

    def in_noise(self, start: int, end: int) -> bool:
        """Whether [start, end) overlaps a noise span (markup, URL, hash, phone...)."""
        # Spans are merged and sorted: only the last one starting before `end`
        # can reach past `start`.
        index = bisect.bisect_left(self._noise_starts, end) - 1
        return index >= 0 and self.noise[index][1] > start

    def in_code(self, position: int) -> bool:
        return any(s <= position < e for s, e in self.code_blocks)

    def before(self, start: int, width: int = 60) -> str:
        """The lower-cased text just before a position, stopping at a blank line."""
        window = self.lower[max(0, start - width) : start]
        cut = window.rfind("\n\n")
        return window[cut + 2 :] if cut >= 0 else window

    def after(self, end: int, width: int = 40) -> str:
        window = self.lower[end : end + width]
        cut = window.find("\n\n")
        return window[:cut] if cut >= 0 else window

    def phone_like(self, start: int) -> bool:
        """Whether words just before a number say it is a phone number."""
        return bool(_PHONE_WORDS.search(self.before(start, 40)))


def word_pattern(words: Iterable[str], *, stems: bool = False) -> re.Pattern[str]:
    """A case-insensitive regex matching any of the words as whole words.

    With ``stems`` a word may continue (``diagnos`` matches ``diagnosed``), but
    must still start at a word boundary, so ``lic`` never matches ``public``.
    """
    ordered = sorted({w.lower() for w in words if w}, key=len, reverse=True)
    body = "|".join(re.escape(w).replace(r"\ ", r"[\s_-]{1,3}") for w in ordered)
    tail = r"" if stems else r"(?![a-z0-9])"
    return re.compile(rf"(?<![a-z0-9])(?:{body}){tail}", re.IGNORECASE)


def has_context(view: TextView, pattern: re.Pattern[str], start: int, end: int,
                before: int = 60, after: int = 30) -> bool:
    """Whether a context word stands within the window around [start, end)."""
    if pattern.search(view.before(start, before)):
        return True
    return bool(after and pattern.search(view.after(end, after)))
