"""OCR's letter-for-digit confusions, undone where only digits make sense.

Tesseract reads a photographed ``4`` as ``A`` or ``a``, ``0`` as ``O`` or ``D``, ``1``
as ``l``, ``I`` or ``|``, ``5`` as ``S`` or ``$``, ``8`` as ``B``, ``2`` as
``Z``, ``6`` as ``G``, and leaves noise specks as a full stop after a digit
group. A card number with one such letter is no longer a card number to the
recognizers. The engine already repairs look-alikes in every text it scans
(``recognizers.ocr_digits``: digit runs and IBANs, a repair kept only when a
checksum validates it). OCR text needs more, and ``digit_variant`` rewrites
it: a look-alike in every *digit context* (a run of digits and look-alikes
holding a real digit and standing as a word of its own, and look-alike-only
words of up to four characters directly next to one), ``$`` for ``5``, and a
speck read as punctuation between two digit groups dropped — with a map back
to the original offsets. Letters at the edges of a short stand-alone id
(``12345678Z``) are check letters and stay.

The rewrite is never trusted on its own: ``scan_pages`` scans it as one more
reading of the page and keeps only findings that (a) a checksum validated
(``CHECKSUM_KINDS``: Luhn, mod-97, mod-11, Verhoeff, the CPF/CNPJ digits,
check letters) and (b) cover a rewritten character (anything else the reading
as-is found already). A mapped run whose checksum fails is dropped like any
other, so the mapping adds recall without adding guesses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from piiguard.detection.engine import DetectionEngine, Finding
    from piiguard.detection.files.extract import PageText

# What OCR reads in place of a digit (Tesseract on photos, measured and as
# published for OCR post-correction).
CONFUSIONS: dict[str, str] = {
    "O": "0", "o": "0", "D": "0", "Q": "0",
    "l": "1", "I": "1", "|": "1", "i": "1", "!": "1",
    "Z": "2", "z": "2",
    "A": "4", "a": "4",  # a lower-case a for a 4 in low-contrast photos (measured)
    "S": "5", "s": "5", "$": "5",
    "G": "6", "b": "6",
    "T": "7",
    "B": "8",
    "g": "9", "q": "9",
}  # fmt: skip
# Kinds whose recognizers validate a check digit or checksum: only these may
# come from a rewritten reading. (Kinds a policy does not enable never appear.)
# (UK_NINO and IN_PAN are checked by their letters' rules only: not here.)
CHECKSUM_KINDS: frozenset[str] = frozenset({
    "CREDIT_CARD", "IBAN_CODE", "UK_NHS", "BR_CPF", "BR_CNPJ", "CA_SIN", "IN_AADHAAR",
    "ES_NIF", "ES_NIE", "IT_FISCAL_CODE", "AU_TFN",
})  # fmt: skip
# A look-alike-only word is read as digits only up to this length (a card group).
MAX_LOOKALIKE_WORD = 4
# A stand-alone id up to this length with letters only at its ends keeps them
# (check letters: DNI/NIE, NINO suffix, PAN).
MAX_CHECK_LETTER_ID = 12
# Noise read as punctuation right after a digit group, before the next group.
STRAY_PUNCTUATION = frozenset(".,:;'`\"\u2018\u2019")  # \u2018/\u2019: curly quotes


@dataclass(frozen=True)
class DigitVariant:
    """The rewritten text and, per character, its offset in the original."""

    text: str
    origins: tuple[int, ...]
    changed: frozenset[int]  # offsets in ``text`` of rewritten characters

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        return self.origins[start], self.origins[end - 1] + 1

    def touches_change(self, start: int, end: int) -> bool:
        return any(start <= i < end for i in self.changed)


def _is_digitish(char: str) -> bool:
    return (char.isascii() and char.isdigit()) or char in CONFUSIONS


def _words(text: str) -> list[tuple[int, int]]:
    """Maximal runs of digits and look-alikes that stand as words (not inside a
    word of letters such as ``number``)."""
    runs: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        if not _is_digitish(text[i]):
            i += 1
            continue
        j = i
        while j < n and _is_digitish(text[j]):
            j += 1
        before = text[i - 1] if i else " "
        after = text[j] if j < n else " "
        if not before.isalpha() and not after.isalpha():
            runs.append((i, j))
        i = j
    return runs


def digit_variant(text: str) -> DigitVariant | None:
    """``text`` with look-alikes rewritten in digit contexts, or None when nothing
    needed rewriting."""
    runs = _words(text)
    has_digit = [any(text[k].isdigit() for k in range(s, e)) for s, e in runs]

    def joined(a: tuple[int, int], b: tuple[int, int]) -> bool:
        """Two runs one separator apart (``4539 l488``, ``4539-l488``)."""
        gap = text[a[1]:b[0]]
        return (len(gap) == 1 and gap in " -\t") or (
            len(gap) == 2 and gap[0] in STRAY_PUNCTUATION and gap[1] == " ")

    def grouped(index: int) -> bool:
        """Whether the run is one group of a longer number (joined to a neighbour)."""
        return any(joined(runs[min(k, index)], runs[max(k, index)])
                   for k in (index - 1, index + 1) if 0 <= k < len(runs))

    mapped = list(has_digit)
    for index, (start, end) in enumerate(runs):
        if has_digit[index]:
            # A short id standing alone whose letters sit at its edges (12345678Z,
            # a DNI) carries a check letter, not a misread.
            inner = [k for k in range(start + 1, end - 1) if not text[k].isdigit()]
            if end - start <= MAX_CHECK_LETTER_ID and not inner and not grouped(index):
                mapped[index] = False
            continue
        if end - start > MAX_LOOKALIKE_WORD:
            continue
        neighbours = [k for k in (index - 1, index + 1) if 0 <= k < len(runs) and has_digit[k]]
        if any(joined(runs[min(k, index)], runs[max(k, index)]) for k in neighbours):
            mapped[index] = True
    rewrite: dict[int, str] = {}
    for index, (start, end) in enumerate(runs):
        if not mapped[index]:
            continue
        for k in range(start, end):
            if not text[k].isdigit():
                rewrite[k] = CONFUSIONS[text[k]]
        following = index + 1
        if following < len(runs) and mapped[following] and end < len(text) \
                and text[end] in STRAY_PUNCTUATION and runs[following][0] == end + 2 and text[end + 1] == " ":
            rewrite[end] = ""  # "4539. 1488": a speck read as a full stop
    if not rewrite:
        return None
    out: list[str] = []
    origins: list[int] = []
    changed: set[int] = set()
    for k, char in enumerate(text):
        replacement = rewrite.get(k, char)
        if replacement:
            if k in rewrite:
                changed.add(len(out))
            out.append(replacement)
            origins.append(k)
        elif out:  # a dropped character: the previous one stands for it
            changed.add(len(out) - 1)
    return DigitVariant("".join(out), tuple(origins), frozenset(changed))


def rewrites(text: str) -> list[DigitVariant]:
    """The rewritten readings of one OCR text (see the module's doc). The
    recognizers' checksum-vouched repair is not among them: the engine applies
    it to every text it scans."""
    variant = digit_variant(text)
    return [variant] if variant is not None else []


def canonical(value: str) -> str:
    """A value as digits and upper-case letters, look-alikes read as digits: the
    same number read twice (two readings of a page) counts once."""
    return "".join(CONFUSIONS.get(c, c).upper() for c in value if c.isalnum() or c in CONFUSIONS)


@dataclass
class PageFindings:
    page: PageText
    findings: list[Finding] = field(default_factory=list)  # acted on (delete / notify)
    ignored: int = 0


def scan_pages(engine: DetectionEngine, texts: Sequence[PageText], *,
               digit_variants: bool = True) -> list[PageFindings]:
    """Detection over a file's extracted texts: every text as read, plus the
    digit variant of every OCR reading (checksum kinds only, see above). A value
    found in several texts of one page (two OCR readings, a text layer and its
    render) counts once. ``digit_variants=False``: the texts as read only (the
    benchmark's baseline)."""
    from piiguard.detection.engine import Finding

    pages = [t for t in texts if t.text.strip()]
    variants: list[tuple[int, DigitVariant]] = []
    for index, page in enumerate(pages):
        if digit_variants and page.method == "ocr":
            variants.extend((index, v) for v in rewrites(page.text))
    outcomes = engine.scan_many([t.text for t in pages] + [v.text for _, v in variants])
    results = [PageFindings(page) for page in pages]
    seen: dict[tuple[int, str, str], int] = {}

    def add(index: int, finding: Finding, acted: bool, variant: bool = False) -> None:
        page = pages[index]
        key = (page.page, finding.entity_type, canonical(page.text[finding.start:finding.end]))
        first = seen.setdefault(key, index)
        if first != index or (variant and key in from_variants | found):
            return  # another text of this page (or the text as read) has it
        (from_variants if variant else found).add(key)
        if acted:
            results[index].findings.append(finding)
        else:
            results[index].ignored += 1

    found: set[tuple[int, str, str]] = set()
    from_variants: set[tuple[int, str, str]] = set()
    for index, outcome in enumerate(outcomes[:len(pages)]):
        for finding in outcome.findings:
            add(index, finding, True)
        for finding in outcome.ignored:
            add(index, finding, False)
    for (index, variant), outcome in zip(variants, outcomes[len(pages):], strict=True):
        for finding, acted in [(f, True) for f in outcome.findings] + [(f, False) for f in outcome.ignored]:
            if finding.entity_type not in CHECKSUM_KINDS:
                continue
            if not variant.touches_change(finding.start, finding.end):
                continue
            start, end = variant.original_span(finding.start, finding.end)
            add(index, Finding(finding.entity_type, start, end, finding.score), acted, variant=True)
    return results
