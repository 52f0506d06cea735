"""Repair the digits OCR misreads, only where a checksum says the repair is right.

Tesseract reads a photographed ``0`` as ``O`` or ``D``, a ``1`` as ``l``,
``I`` or ``|``, a ``5`` as ``S`` ... so ``4S39 l488 O343 6467`` is a card
number a person sees and a regex does not. :func:`repair_ocr_digits` maps
those letters to digits inside *digit contexts* (runs that are mostly digits
already) and keeps a repair only when the repaired number passes a checksum:
Luhn with a card network's prefix and length (cards, Canada's SIN), ISO 7064
mod-97 against the IBAN registry's structure (IBANs), Verhoeff (Aadhaar), the
CPF and CNPJ check digits, the NHS mod-11 digit. A run whose repair validates
nothing is left exactly as read, so confusion mapping never creates a finding
a checksum does not vouch for.

The repair keeps the text's length (one character for one), so every offset
found in the repaired text is an offset in the OCR text. Callers that extract
text from images (``piiguard.detection.files``) pass it through here before
scanning::

    from piiguard.detection.recognizers.ocr_digits import repair_ocr_digits
    outcome = engine.scan(repair_ocr_digits(ocr_text))
"""

from __future__ import annotations

import re

from piiguard.detection.recognizers.validation import (
    IBAN_FORMATS,
    aadhaar_valid,
    cnpj_valid,
    cpf_valid,
    luhn_valid,
    mod97,
    nhs_valid,
    sin_valid,
)

# The confusions Tesseract makes between letters (and a bar) and digits.
OCR_DIGIT_CONFUSIONS: dict[str, str] = {
    "O": "0", "o": "0", "D": "0", "Q": "0",
    "l": "1", "I": "1", "|": "1", "i": "1", "!": "1",
    "Z": "2", "z": "2",
    "A": "4",
    "S": "5", "s": "5",
    "G": "6", "b": "6",
    "T": "7",
    "B": "8",
    "g": "9", "q": "9",
}  # fmt: skip
_TABLE = str.maketrans(OCR_DIGIT_CONFUSIONS)
_CONFUSABLE = "".join(re.escape(c) for c in OCR_DIGIT_CONFUSIONS)
_UNIT = rf"[0-9{_CONFUSABLE}]"
# A digit context: eight or more digit-like characters, single separators between.
_RUN = re.compile(rf"(?<![A-Za-z0-9|!]){_UNIT}(?:[ .\-]?{_UNIT}){{7,}}(?![A-Za-z0-9|!])")
# An IBAN as OCR may read it: a country code, then digit-like check digits and body.
_IBAN_RUN = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2})((?:[ \-]?[A-Za-z0-9|!]){13,34})")
_GROUP = re.compile(r"[^ .\-]+")
_MIN_DIGIT_SHARE = 0.6  # of the run's characters, before repair


def _card_like(digits: str) -> bool:
    from piiguard.detection.recognizers.financial import card_network

    return 12 <= len(digits) <= 19 and card_network(digits) is not None and luhn_valid(digits)


def checksum_vouches(digits: str) -> bool:
    """Whether a digit string is a number some checksum recognizes as valid."""
    n = len(digits)
    return (
        _card_like(digits)
        or (n == 9 and sin_valid(digits))
        or (n == 10 and nhs_valid(digits))
        or (n == 11 and cpf_valid(digits))
        or (n == 12 and aadhaar_valid(digits))
        or (n == 14 and cnpj_valid(digits))
    )


def _repair_run(run: str) -> str | None:
    """The run with its confusions mapped, if the whole run or a group-aligned part
    of it validates; otherwise None."""
    compact = re.sub(r"[ .\-]", "", run)
    real_digits = sum(c.isdigit() for c in compact)
    if real_digits == len(compact) or real_digits < _MIN_DIGIT_SHARE * len(compact):
        return None
    letters = [i for i, c in enumerate(compact) if not c.isdigit()]
    if (len(compact) <= 12 and not re.search(r"[ .\-]", run)
            and all(i in (0, len(compact) - 1) for i in letters)):
        return None  # a letter at the edge of a short id is its check letter (DNI, NINO, PAN)
    repaired = run.translate(_TABLE)
    if checksum_vouches(re.sub(r"[ .\-]", "", repaired)):
        return repaired
    # Several numbers in one run ("card 4S39 l488 0343 6467 exp ..."): try
    # consecutive groups, keep the repair of the parts that validate.
    groups = [(m.start(), m.end()) for m in _GROUP.finditer(repaired)]
    out = list(run)
    changed = False
    for i in range(len(groups)):
        digits = ""
        for j in range(i, len(groups)):
            digits += repaired[groups[j][0] : groups[j][1]]
            if len(digits) > 19:
                break
            if (i, j) != (0, len(groups) - 1) and checksum_vouches(digits):
                start, end = groups[i][0], groups[j][1]
                out[start:end] = repaired[start:end]
                changed = True
                break
    return "".join(out) if changed else None


def _bban_digit_positions(bban: str) -> list[bool]:
    """For each BBAN position, whether the registry says it holds a digit."""
    positions: list[bool] = []
    for count, kind in re.findall(r"(\d+)!?([nac])", bban):
        positions.extend([kind == "n"] * int(count))
    return positions


def _repair_iban(country: str, body: str) -> str | None:
    fmt = IBAN_FORMATS.get(country)
    if fmt is None:
        return None
    digit_at = [True, True, *_bban_digit_positions(fmt.bban)]  # check digits, then BBAN
    chars = [(i, c) for i, c in enumerate(body) if c not in " -"]
    if len(chars) < len(digit_at):
        return None
    chars = chars[: len(digit_at)]
    out = list(body)
    for (index, char), is_digit in zip(chars, digit_at, strict=True):
        if is_digit and not char.isdigit():
            mapped = OCR_DIGIT_CONFUSIONS.get(char)
            if mapped is None:
                return None
            out[index] = mapped
        elif not is_digit and char in "|!":
            out[index] = "I"
    compact = country + "".join(out[i] for i, _ in chars)
    if compact == country + "".join(c for _, c in chars):
        return None  # nothing to repair
    if not compact[2:].isalnum() or mod97(compact[4:].upper() + compact[:4]) != 1:
        return None
    return "".join(out)


_IBAN_AS_WRITTEN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ \-]?[A-Za-z0-9]){11,32}")


def _valid_iban_spans(text: str) -> list[tuple[int, int]]:
    """Spans of IBANs that already validate (letters in a BBAN are not misreads)."""
    spans = []
    for match in _IBAN_AS_WRITTEN.finditer(text):
        raw = match.group(0)
        compact = re.sub(r"[ \-]", "", raw).upper()
        fmt = IBAN_FORMATS.get(compact[:2])
        if fmt is None or len(compact) < fmt.length:
            continue
        candidate = compact[: fmt.length]
        if mod97(candidate[4:] + candidate[:4]) == 1:
            spans.append(match.span())
    return spans


def repair_ocr_digits(text: str) -> str:
    """``text`` with OCR letter/digit confusions repaired where a checksum validates
    the repaired number; same length as ``text``. Linear in the text's length."""
    if not text:
        return text
    out: list[str] | None = None
    position = 0
    while (match := _IBAN_RUN.search(text, position)) is not None:
        position = match.start() + 1
        repaired = _repair_iban(match.group(1), match.group(2))
        if repaired is not None:
            out = out if out is not None else list(text)
            out[match.start(2) : match.end(2)] = repaired
            position = match.end()
    protected = _valid_iban_spans(text if out is None else "".join(out))
    for match in _RUN.finditer(text):
        if any(s < match.end() and match.start() < e for s, e in protected):
            continue  # a valid IBAN as written: its letters are letters
        repaired = _repair_run(match.group(0))
        if repaired is not None:
            out = out if out is not None else list(text)
            out[match.start() : match.end()] = repaired
    return text if out is None else "".join(out)


__all__ = ["OCR_DIGIT_CONFUSIONS", "checksum_vouches", "repair_ocr_digits"]
