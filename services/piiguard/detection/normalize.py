"""What a reader sees, not what the bytes say: the text recognizers scan.

A card number split by zero-width spaces, written in Arabic-Indic or fullwidth
digits, or grouped with en dashes reads as a card number to a person, so it
must read as one to the recognizers too. :func:`normalize` rewrites a text by
Unicode *class*, not by a list of known tricks:

* **Invisible characters are removed**: every format character (category
  ``Cf``: zero-width space / joiner / non-joiner, word joiner, soft hyphen,
  bidi controls, BOM, invisible operators, tag characters ...), every other
  default-ignorable code point (variation selectors, Hangul fillers, the
  combining grapheme joiner, Mongolian free variation selectors ...), control
  characters other than tab and line breaks, private-use, surrogate and
  unassigned code points, and combining marks placed on ASCII characters
  (``4\u0332`` reads as ``4``).
* **Every decimal digit becomes ASCII**: category ``Nd`` in any script
  (fullwidth, Arabic-Indic, Devanagari, Bengali, Thai, mathematical ...) and
  the digit-valued ``No`` forms (superscripts, circled and dingbat digits).
* **Every space separator is a space** (category ``Zs``: NBSP, thin, hair,
  ideographic, figure spaces ...), and line / paragraph separators are line
  breaks.
* **Look-alike separators become their ASCII form**: every dash (category
  ``Pd``) and minus sign is ``-``; dot-like, slash-like and colon-like marks,
  and curly quotes, become ``.``, ``/``, ``:``, ``'`` and ``"``.
* Everything else goes through **NFKC** one character at a time (fullwidth
  letters and punctuation, ligatures, mathematical letters), and Cyrillic or
  Greek letters that look like Latin ones are read as Latin inside a token
  that also holds ASCII letters or digits (``D\u041589`` with a Cyrillic ``\u0415``).

Offsets are kept: :class:`NormalizedText` maps every position of the
normalized text back to the original, so findings, redaction, audit offsets
and the DM quote always refer to the text as posted. Pure ASCII text without
control characters (nearly every message) is returned as is, at the cost of
one regex search.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Characters that may need rewriting: anything outside printable ASCII, tab and
# line breaks. A text without one is its own normal form.
_SUSPECT = re.compile(r"[^\t\n\r\x20-\x7e]")
# A run of such characters, with the ASCII spaces and punctuation between them
# (a sentence of Cyrillic or CJK text is one run, not one per word).
_SUSPECT_RUN = re.compile(r"[^\t\n\r\x20-\x7e](?:[\x20-\x2f\x3a-\x40]*[^\t\n\r\x20-\x7e])*")

# Default-ignorable code points outside category Cf (Unicode
# DerivedCoreProperties, Default_Ignorable_Code_Point): they render as nothing.
_IGNORABLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong / jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0xE0000, 0xE0FFF),  # tags and supplementary variation selectors
)
# Blank but not in Zs: read as a space.
_BLANK = frozenset({"\u2800"})  # braille pattern blank
_LINE_BREAKS = frozenset({"\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85"})

# Look-alikes of the separators and quotes numbers and assignments are written with.
_MINUS_LIKE = frozenset("\u2212\u02d7\u2796\u2043\ufe63\uff0d\u207b\u208b\u2e3a\u2e3b")
_DOT_LIKE = frozenset("\u00b7\u2024\u2027\u2219\u22c5\u30fb\uff65\u0387\u16eb\u2e31\u2e33\u00b8")
_SLASH_LIKE = frozenset("\u2044\u2215\u29f8\u2571\u30ce\u337f")
_COLON_LIKE = frozenset("\u2236\ua789\u02d0\u02f8\u0589\u05c3\u1361\u16ec\ufe30\u205a")
_SINGLE_QUOTE_LIKE = frozenset("\u2018\u2019\u201a\u201b\u2032\u2035\u02b9\u02bc\u02c8\u00b4")
_DOUBLE_QUOTE_LIKE = frozenset("\u201c\u201d\u201e\u201f\u2033\u2036\u02ba\u02dd\u00ab\u00bb")

# Cyrillic and Greek letters drawn like Latin ones (Unicode confusables), used
# only inside a token that also holds ASCII letters or digits.
_HOMOGLYPHS: dict[int, str] = {
    # Cyrillic capitals and smalls
    0x0410: "A", 0x0412: "B", 0x0415: "E", 0x041A: "K", 0x041C: "M", 0x041D: "H",
    0x041E: "O", 0x0420: "P", 0x0421: "C", 0x0422: "T", 0x0425: "X", 0x0423: "Y",
    0x0405: "S", 0x0406: "I", 0x0408: "J", 0x051A: "Q", 0x051C: "W", 0x04AE: "Y",
    0x04BA: "h", 0x04C0: "I", 0x0500: "D", 0x042C: "b", 0x0430: "a", 0x0435: "e",
    0x043E: "o", 0x0440: "p", 0x0441: "c", 0x0443: "y", 0x0445: "x", 0x0455: "s",
    0x0456: "i", 0x0458: "j", 0x0501: "d", 0x04BB: "h", 0x051B: "q", 0x051D: "w",
    0x04CF: "l", 0x04AF: "y", 0x043A: "k", 0x043C: "m", 0x043D: "h", 0x0442: "t",
    0x0432: "b",
    # Greek capitals and smalls
    0x0391: "A", 0x0392: "B", 0x0395: "E", 0x0396: "Z", 0x0397: "H", 0x0399: "I",
    0x039A: "K", 0x039C: "M", 0x039D: "N", 0x039F: "O", 0x03A1: "P", 0x03A4: "T",
    0x03A5: "Y", 0x03A7: "X", 0x03BF: "o", 0x03BD: "v", 0x03C1: "p", 0x03B9: "i",
    0x03BA: "k", 0x03C4: "t", 0x03C5: "u", 0x03C7: "x", 0x03B1: "a",
}  # fmt: skip
_HOMOGLYPH_CHARS = frozenset(chr(c) for c in _HOMOGLYPHS)
_MIXED_TOKEN = re.compile(
    "[A-Za-z0-9" + "".join(sorted(_HOMOGLYPH_CHARS)) + "]*["
    + "".join(sorted(_HOMOGLYPH_CHARS)) + "][A-Za-z0-9" + "".join(sorted(_HOMOGLYPH_CHARS)) + "]*"
)
# A mixed token holds an ASCII letter or digit right next to a homoglyph somewhere.
_GLYPHS = "".join(sorted(_HOMOGLYPH_CHARS))
_MIXED_PAIR = re.compile(f"[A-Za-z0-9][{_GLYPHS}]|[{_GLYPHS}][A-Za-z0-9]")
_MARK_CATEGORIES = frozenset({"Mn", "Me", "Mc"})
_REMOVED_CATEGORIES = frozenset({"Cf", "Cc", "Co", "Cs", "Cn"})


def _ignorable(code: int) -> bool:
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


@lru_cache(maxsize=8192)
def _rewrite(char: str) -> str | None:
    """The replacement of one character; ``None`` for a combining mark (decided by
    what it sits on)."""
    if char in _LINE_BREAKS:
        return "\n"
    category = unicodedata.category(char)
    if category in ("Zl", "Zp"):
        return "\n"
    if category == "Zs" or char in _BLANK:
        return " "
    if category in _REMOVED_CATEGORIES or _ignorable(ord(char)):
        return ""
    if category in _MARK_CATEGORIES:
        return None
    digit = unicodedata.digit(char, None)
    if digit is not None:
        return str(digit)
    if category == "Pd" or char in _MINUS_LIKE:
        return "-"
    if char in _DOT_LIKE:
        return "."
    if char in _SLASH_LIKE:
        return "/"
    if char in _COLON_LIKE:
        return ":"
    if char in _SINGLE_QUOTE_LIKE:
        return "'"
    if char in _DOUBLE_QUOTE_LIKE:
        return '"'
    folded = unicodedata.normalize("NFKC", char)
    if folded != char and folded.isascii():
        # NFKC's own space / dash outputs are already ASCII; keep them.
        return folded
    if folded != char and all(not unicodedata.category(c).startswith("C") for c in folded):
        return folded
    return char


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """A normalized text and the way back to the original's offsets."""

    text: str  # what the recognizers scan
    original: str  # the text as posted
    # origin[i]: index in ``original`` of the character that produced text[i];
    # None when the text was already normal (identity mapping).
    origin: tuple[int, ...] | None = None

    @property
    def changed(self) -> bool:
        return self.origin is not None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of ``text[start:end]`` (``start < end``).

        The span starts at the first original character that produced
        ``text[start]`` and ends after the one that produced ``text[end - 1]``,
        so invisible characters inside a finding are covered (and redacted)
        with it.
        """
        if self.origin is None:
            return start, end
        if not self.origin:
            return 0, 0
        first = self.origin[min(start, len(self.origin) - 1)]
        last = self.origin[min(max(end - 1, start), len(self.origin) - 1)]
        return first, last + 1


def normalize(text: str) -> NormalizedText:
    """The text recognizers should scan, with offsets back to ``text``. Linear time."""
    if not _SUSPECT.search(text):
        return NormalizedText(text, text)
    pieces: list[str] = []
    origin: list[int] = []
    position = 0
    last_kept = ""  # the last character emitted, to judge combining marks
    for match in _SUSPECT_RUN.finditer(text):
        index, stop = match.span()
        if index > position:
            pieces.append(text[position:index])
            origin.extend(range(position, index))
            last_kept = text[index - 1]
        run = match.group()
        replacements = [_rewrite(char) for char in run]
        if all(r == c for r, c in zip(replacements, run, strict=True)):
            # Text in another script that is already normal (most non-English text).
            pieces.append(run)
            origin.extend(range(index, stop))
            last_kept = run[-1]
        else:
            for offset, (char, replacement) in enumerate(zip(run, replacements, strict=True)):
                if replacement is None:
                    # A mark on ASCII text (zalgo, keycaps, underlines over digits) is
                    # decoration; on its own script's letters it is part of the word.
                    replacement = "" if (last_kept.isascii() or last_kept.isdigit()) else char
                if replacement:
                    pieces.append(replacement)
                    origin.extend([index + offset] * len(replacement))
                    last_kept = replacement[-1]
        position = stop
    if position < len(text):
        pieces.append(text[position:])
        origin.extend(range(position, len(text)))
    normalized = "".join(pieces)
    if _MIXED_PAIR.search(normalized):
        normalized = _MIXED_TOKEN.sub(_latin_if_mixed, normalized)
    if normalized == text:
        return NormalizedText(text, text)
    return NormalizedText(normalized, text, tuple(origin))


def _latin_if_mixed(match: re.Match[str]) -> str:
    token = match.group(0)
    if any(c.isascii() for c in token):
        return token.translate(_HOMOGLYPHS)
    return token
