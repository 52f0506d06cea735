"""US SSN and ITIN, US passport and driver's licence numbers, UK NHS numbers.

Shape alone is weak evidence for a government id: ``123-45-6789`` is also a
part number and ``415 555 0132`` is a phone number that happens to have ten
digits. Each rule combines the issuing authority's number structure (SSA area
and group ranges, IRS ITIN ranges, the NHS mod-11 check digit) with context
words, and skips numbers a reader would see as phone numbers, versions, ids in
URLs or Slack markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from piiguard.detection.recognizers.base import Hit, PiiRecognizer
from piiguard.detection.recognizers.context import TextView, has_context, word_pattern
from piiguard.detection.recognizers.validation import nhs_valid

_SSN = re.compile(
    r"(?<![\d/-])(?<!\d[.,])(\d{3})([-. ]?)(\d{2})\2(\d{4})(?![\w]|[-./]\d|,\d{3}(?!\d))"
)
# Nine digits in any other grouping ("5362 21234", "53 622 1234", "536.221.234"):
# read only with an SSN / ITIN word before it.
_SSN_LOOSE = re.compile(r"(?<![\d.,/-])(\d(?:(?: ?[-.] ?| {1,2})?\d){8})(?![\w]|[-.,/]\d)")
# Context glued to the number or written as one word: "SSN:536...", "mySSN=...",
# "SocialSecurityNumber 536...", "ssn_no 536...".
_SSN_GLUED = re.compile(
    r"(?:ssn|ss#|socialsecurity(?:number|no|nr|num)?|socialsec|socsec|ssnumber|ssno)"
    r"[\s#:=_.\-nº°o]{0,5}$",
    re.IGNORECASE,
)
_ITIN_GLUED = re.compile(
    r"(?:itin|taxpayerid(?:entificationnumber)?|taxid|individualtaxpayer\w*)[\s#:=_.\-nº°o]{0,5}$",
    re.IGNORECASE,
)
_SSN_CONTEXT = word_pattern(
    ("ssn", "ssns", "ss#", "ss no", "ss number", "social security", "social", "soc sec",
     "social sec", "ssa", "i-9", "i9", "w-2", "w2", "background check"),
)  # fmt: skip
_ITIN_CONTEXT = word_pattern(("itin", "itins", "taxpayer", "tax id", "tax identification",
                              "individual taxpayer", "tin", "w-7", "w7", "irs"))
_ID_NEGATIVE = word_pattern(
    ("order", "tracking", "invoice", "ticket", "part", "sku", "serial", "model", "case",
     "ref", "reference", "confirmation", "build", "job", "pr", "issue", "po", "zip",
     "postal", "room", "ext", "extension", "version", "release", "item", "product",
     "batch", "lot", "claim", "policy", "booking", "flight", "seat"),
)  # fmt: skip
_EXAMPLE_WORDS = word_pattern(("e.g", "eg", "example", "format", "formatted", "like",
                               "such as", "placeholder", "dummy", "fake", "sample", "mask",
                               "pattern", "regex", "xxx-xx-xxxx"))
_OTHER_ID = word_pattern(("passport", "license", "licence", "dl", "account", "acct", "routing",
                          "nhs", "phone", "mrn", "card", "iban", "order", "ticket"))
_CANONICAL_EXAMPLES = frozenset({"123456789", "078051120", "219099999", "987654320"})


def _itin_group(group: int) -> bool:
    return 50 <= group <= 65 or 70 <= group <= 88 or 90 <= group <= 92 or 94 <= group <= 99


class GuardUsSsnItinRecognizer(PiiRecognizer):
    """SSNs (``AAA-GG-SSSS``) and ITINs (``9AA-GG-SSSS`` with an IRS group).

    Dashed numbers with valid SSA ranges stand on their own; spaced, dotted and
    bare nine-digit numbers need context ("SSN", "social security", "ITIN").
    """

    ENTITIES = ("US_SSN", "US_ITIN")
    DIGITS = True
    KEYWORDS = ("ssn", "social", "itin", "taxpayer")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        seen: set[tuple[int, int]] = set()
        for match in _SSN.finditer(view.text):
            area_s, sep, group_s, serial_s = match.groups()
            start, end = match.start(1), match.end(4)
            hit = self._judge(view, area_s + group_s + serial_s, sep, start, end)
            seen.add((start, end))
            if hit is not None:
                yield hit
        for match in _SSN_LOOSE.finditer(view.text):
            start, end = match.span(1)
            if (start, end) in seen or not _glued_or_context(view, start, end):
                continue
            digits = "".join(c for c in match.group(1) if c.isdigit())
            hit = self._judge(view, digits, "~", start, end)
            if hit is not None and hit.score >= 0.9:
                yield hit

    def _judge(self, view: TextView, digits: str, sep: str, start: int, end: int) -> Hit | None:
        area, group, serial = int(digits[:3]), int(digits[3:5]), int(digits[5:])
        if group == 0 or serial == 0 or area == 0 or area == 666 or len(set(digits)) == 1:
            return None
        if start > 0 and view.text[start - 1].isalpha() and not _glued_or_context(
            view, start, end, glued_only=True
        ):
            return None  # digits inside an identifier ("build536221234")
        if view.in_noise(start, end) and sep not in ("-", "."):
            return None  # dotted ones may be a version string: judged with context below
        if view.phone_like(start):
            return None
        itin = area >= 900
        if itin and not _itin_group(group):
            return None
        kind = "US_ITIN" if itin else "US_SSN"
        context = _ITIN_CONTEXT if itin else _SSN_CONTEXT
        # Bare digits take context only from before them: "passport 232112765; SSN …"
        after = 30 if sep or not _OTHER_ID.search(view.before(start, 40)) else 0
        glued = _glued_context(view, start, itin)
        has_ctx = glued or has_context(view, context, start, end, 80, after) or (
            itin and has_context(view, _SSN_CONTEXT, start, end, 80, after)
        )
        negative = bool(_ID_NEGATIVE.search(view.before(start, 30)))
        if digits in _CANONICAL_EXAMPLES or view.in_noise(start, end):
            # Published examples count only when someone says it is theirs.
            if not has_ctx or has_context(view, _EXAMPLE_WORDS, start, end, 40, 20):
                return None
        if has_ctx:
            score = 0.9
        elif sep == "-" and not negative:
            score = 0.8
        elif sep == " " and not negative:
            score = 0.6
        else:
            score = 0.2
        return Hit(kind, start, end, score)


def _glued_context(view: TextView, start: int, itin: bool) -> bool:
    close = view.before(start, 40).replace(" ", "")
    return bool(_SSN_GLUED.search(close) or (itin and _ITIN_GLUED.search(close)))


def _glued_or_context(view: TextView, start: int, end: int, *, glued_only: bool = False) -> bool:
    close = view.before(start, 40).replace(" ", "")
    if _SSN_GLUED.search(close) or _ITIN_GLUED.search(close):
        return True
    if glued_only:
        return False
    return has_context(view, _SSN_CONTEXT, start, end, 60, 0) or has_context(
        view, _ITIN_CONTEXT, start, end, 60, 0
    )


_PASSPORT = re.compile(r"(?<![\w-])([A-Z]?\d{8,9}|[A-Z]{2}\d{7})(?![\w]|-\d)")
_PASSPORT_CONTEXT = word_pattern(("passport", "passports", "passport no", "passport number",
                                  "passport #", "travel document", "ppt no"))


class GuardUsPassportRecognizer(PiiRecognizer):
    """Passport numbers (nine digits, or a letter and eight digits) after "passport"."""

    ENTITIES = ("US_PASSPORT",)
    KEYWORDS = ("passport", "travel document")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        for match in _PASSPORT.finditer(view.text):
            start, end = match.span(1)
            value = match.group(1)
            digits = "".join(c for c in value if c.isdigit())
            if len(set(digits)) < 3 or view.phone_like(start):
                continue
            if view.in_noise(start, end):
                continue
            if has_context(view, _PASSPORT_CONTEXT, start, end, 80, 20):
                yield Hit("US_PASSPORT", start, end, 0.85)


_DL_CONTEXT = re.compile(
    r"(?<![a-z0-9])(?:driver'?s?'?\s{0,2}licen[cs]e|drivers\s{0,2}licen[cs]e|driving\s{0,2}licen[cs]e|"
    r"dl|d\.l\.|dln|dl#|dl\s?no|dmv|licen[cs]e\s{0,2}(?:no\.?|number|num|#)|"
    r"driver\s{0,2}id|state\s{0,2}id)(?![a-z0-9])",
    re.IGNORECASE,
)
_DL_SOFTWARE = word_pattern(
    ("key", "software", "product", "activation", "serial", "seat", "seats", "mit", "apache",
     "gpl", "bsd", "saas", "subscription", "windows", "office", "jetbrains", "plan", "tier"),
)  # fmt: skip
_DL_VALUE = re.compile(
    r"(?<![\w-])("
    r"[A-Z]{1,2}[- ]?\d{3,14}(?:[- ]\d{2,6}){0,3}"
    r"|\d{3}[- ]\d{3}[- ]\d{3,4}"
    r"|\d{7,13}"
    r"|[A-Z]\d{2}[- ]\d{2}[- ]\d{4}"
    r"|\d{2}[A-Z]{3}\d{5}"
    r"|[A-Z]{5}\d{6}[A-Z0-9]{5}"
    r")(?![\w]|-\d)"
)


class GuardUsDriverLicenseRecognizer(PiiRecognizer):
    """US driver's licence numbers, in the states' formats, after licence words.

    "license" alone is not enough: software licence keys and "MIT license"
    are not driver's licences.
    """

    ENTITIES = ("US_DRIVER_LICENSE",)
    KEYWORDS = ("licen", "dl", "d.l.", "dmv", "driver", "state id")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        text = view.text
        for ctx in _DL_CONTEXT.finditer(text):
            window_end = min(len(text), ctx.end() + 60)
            if _DL_SOFTWARE.search(view.lower[max(0, ctx.start() - 30) : window_end]):
                continue
            for match in _DL_VALUE.finditer(text, ctx.end(), window_end):
                start, end = match.span(1)
                value = match.group(1)
                digits = sum(c.isdigit() for c in value)
                if digits < 4 or view.phone_like(start):
                    continue
                if view.in_noise(start, end):
                    continue
                yield Hit("US_DRIVER_LICENSE", start, end, 0.85)
                break


_NHS = re.compile(r"(?<![\w.,/+#-])(\d{3})([ -]?)(\d{3})\2(\d{4})(?![\w]|[-.,/]\d)")
_NHS_CONTEXT = word_pattern(
    ("nhs", "nhs no", "nhs number", "nhs#", "national health", "health service",
     "chi number", "nhs id"),
)  # fmt: skip


class GuardUkNhsRecognizer(PiiRecognizer):
    """UK NHS numbers: ten digits with a valid mod-11 check digit and NHS context.

    A US phone number (``415-555-0132``) has the same shape and passes the check
    digit one time in eleven; without "NHS" nearby it is not reported.
    """

    ENTITIES = ("UK_NHS",)
    KEYWORDS = ("nhs", "national health", "health service", "chi number")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        for match in _NHS.finditer(view.text):
            digits = match.group(1) + match.group(3) + match.group(4)
            if not nhs_valid(digits) or len(set(digits)) < 3:
                continue
            start, end = match.start(1), match.end(4)
            if view.phone_like(start):
                continue
            if has_context(view, _NHS_CONTEXT, start, end, 80, 30):
                yield Hit("UK_NHS", start, end, 0.9)


GOVERNMENT_ID_RECOGNIZERS: tuple[type[PiiRecognizer], ...] = (
    GuardUsSsnItinRecognizer,
    GuardUsPassportRecognizer,
    GuardUsDriverLicenseRecognizer,
    GuardUkNhsRecognizer,
)
