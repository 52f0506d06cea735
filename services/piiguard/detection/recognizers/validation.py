"""Value checks shared by recognizers: entropy, placeholders, checksums.

A regex only says a string *looks like* a secret or an id. These checks ask
whether it could *be* one: a documented example, a ``<your token>`` template
or a run of ``x`` is not a leak, and an id whose checksum fails is a typo or a
different kind of number. Every function is pure and linear in its input.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# Words that mark a value as a template or an example rather than a secret.
PLACEHOLDER_WORDS: tuple[str, ...] = (
    "example",
    "sample",
    "placeholder",
    "your",
    "redacted",
    "dummy",
    "changeme",
    "change_me",
    "replace",
    "insert",
    "xxxx",
    "****",
    "....",
    "todo",
    "fixme",
    "notreal",
    "not_real",
    "fake",
    "here",
    "goes",
    "secret_value",
    "token_value",
    "mytoken",
    "my_token",
    "mysecret",
    "my_secret",
    "mypassword",
    "yourpassword",
    "foobar",
)

_TEMPLATE = re.compile(
    r"^(?:<[^<>]*>|\{\{?[^{}]*\}?\}|\$\{?[A-Za-z_][\w]*\}?|%\(?\w*\)?s|\[[^\[\]]*\]|"
    r"\(\w+\)|[*x•#.\-_]+)$",
    re.IGNORECASE,
)


def words(text: str) -> frozenset[str]:
    """A word list written as text (one long string reads better than 300 quotes)."""
    return frozenset(text.split())


def shannon_entropy(value: str) -> float:
    """Bits per character; random base62 sits near 5.7, English words near 3."""
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def is_placeholder(value: str) -> bool:
    """Whether a value is a template, mask or documented example, not a secret."""
    stripped = value.strip("'\"`")
    if not stripped:
        return True
    if _TEMPLATE.match(stripped):
        return True
    lowered = stripped.lower()
    # Long marker words count anywhere (AKIAIOSFODNN7EXAMPLE); short ones only as a
    # segment of their own (xoxb-your-token-here), since random keys contain "your"
    # or "here" by chance.
    if any(word in lowered for word in PLACEHOLDER_WORDS if len(word) >= 6):
        return True
    segments = [s for s in re.split(r"[^a-z0-9*.•]+", lowered) if s]
    short = {w for w in PLACEHOLDER_WORDS if len(w) < 6}
    if any(s in short for s in segments):
        return True
    # A value or segment made of one or two repeated characters is a mask (xxxx, ****).
    if any(len(s) >= 4 and len(set(s)) <= 2 for s in segments):
        return True
    return len(set(lowered)) <= 2 and len(lowered) >= 4


def char_classes(value: str) -> int:
    """How many of lower, upper, digit, other a value mixes."""
    return (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
        + any(not c.isalnum() for c in value)
    )


def looks_random(value: str, *, min_entropy: float = 3.0, min_classes: int = 2) -> bool:
    """High enough entropy and a mix of character classes: a machine-made secret."""
    return (
        not is_placeholder(value)
        and shannon_entropy(value) >= min_entropy
        and char_classes(value) >= min_classes
    )


def is_hex(value: str) -> bool:
    return bool(value) and all(c in "0123456789abcdefABCDEF" for c in value)


def luhn_valid(digits: str) -> bool:
    """The Luhn check used by payment card numbers."""
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def nhs_valid(digits: str) -> bool:
    """The modulus-11 check digit of a UK NHS number."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def aba_routing_valid(digits: str) -> bool:
    """The ABA checksum of a US bank routing number."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    d = [int(c) for c in digits]
    total = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])
    return total % 10 == 0


@dataclass(frozen=True, slots=True)
class IbanFormat:
    country: str
    length: int
    bban: str  # ISO 13616 structure, e.g. "8!n10!n"
    registry: str  # "swift" (the IBAN Registry) or "national"


def _load_iban_registry() -> dict[str, IbanFormat]:
    """The IBAN formats shipped as data (``data/iban_registry.tsv``)."""
    text = (_DATA / "iban_registry.tsv").read_text(encoding="utf-8")
    formats: dict[str, IbanFormat] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        country, length, bban, registry = line.split("\t")
        formats[country] = IbanFormat(country, int(length), bban, registry)
    return formats


_DATA = Path(__file__).resolve().parent / "data"
IBAN_FORMATS: dict[str, IbanFormat] = _load_iban_registry()
IBAN_LENGTHS: dict[str, int] = {c: f.length for c, f in IBAN_FORMATS.items()}


def iban_valid(compact: str) -> bool:
    """Country length and the ISO 7064 mod-97 check of an IBAN without spaces."""
    value = compact.upper()
    if len(value) < 15 or IBAN_LENGTHS.get(value[:2]) != len(value):
        return False
    if not value[2:4].isdigit() or not value.isalnum():
        return False
    return mod97(value[4:] + value[:4]) == 1


def mod97(value: str) -> int:
    """ISO 7064 mod 97-10 of an alphanumeric string (letters count 10..35)."""
    remainder = 0
    for char in value:
        code = int(char, 36)
        remainder = (remainder * (100 if code > 9 else 10) + code) % 97
    return remainder


_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6), (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4), (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)  # fmt: skip
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2), (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)  # fmt: skip


def verhoeff_valid(digits: str) -> bool:
    """The Verhoeff dihedral check (India's Aadhaar)."""
    if not digits.isdigit() or not digits.isascii():
        return False
    check = 0
    for index, char in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[index % 8][ord(char) - 48]]
    return check == 0


def _mod11_digit(digits: str, weights: range | tuple[int, ...]) -> int:
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def cpf_valid(digits: str) -> bool:
    """Brazil's CPF: eleven digits, two mod-11 check digits."""
    if len(digits) != 11 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    first = _mod11_digit(digits[:9], range(10, 1, -1))
    second = _mod11_digit(digits[:10], range(11, 1, -1))
    return digits[9:] == f"{first}{second}"


_CNPJ_W1 = (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
_CNPJ_W2 = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


def cnpj_valid(digits: str) -> bool:
    """Brazil's CNPJ: fourteen digits, two mod-11 check digits."""
    if len(digits) != 14 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    first = _mod11_digit(digits[:12], _CNPJ_W1)
    second = _mod11_digit(digits[:13], _CNPJ_W2)
    return digits[12:] == f"{first}{second}"


def sin_valid(digits: str) -> bool:
    """Canada's Social Insurance Number: nine digits, Luhn, not a business (8) number.

    The unissued 0 series is accepted: its published sample (046 454 286) is what
    people paste when they test a detector, and context is required anyway.
    """
    return len(digits) == 9 and digits[0] != "8" and len(set(digits)) > 2 and luhn_valid(digits)


def aadhaar_valid(digits: str) -> bool:
    """India's Aadhaar: twelve digits, not starting 0 or 1, Verhoeff, not a palindrome."""
    return (
        len(digits) == 12 and digits[0] not in "01" and digits != digits[::-1]
        and verhoeff_valid(digits)
    )


_NINO = re.compile(r"^(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]?$")


def nino_valid(compact: str) -> bool:
    """UK National Insurance number: the prefix letters HMRC issues, six digits, suffix A-D."""
    return bool(_NINO.match(compact.upper()))


_PAN = re.compile(r"^[A-Z]{3}[ABCFGHJLPT][A-Z]\d{4}[A-Z]$")


def pan_valid(value: str) -> bool:
    """India's Permanent Account Number: holder type in the fourth letter."""
    return bool(_PAN.match(value)) and value[5:9] != "0000"


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_valid(value: str) -> bool:
    """Spain's DNI (eight digits and a check letter; below ten million also written
    with seven) or NIE (X/Y/Z, seven digits, letter)."""
    value = value.upper()
    if len(value) == 8 and value[:-1].isdigit():
        value = "0" + value
    if len(value) != 9 or not value[-1].isalpha():
        return False
    body = value[:-1]
    if body[0] in "XYZ":
        body = str("XYZ".index(body[0])) + body[1:]
    if not body.isdigit() or int(body) == 0:
        return False
    return _DNI_LETTERS[int(body) % 23] == value[-1]


_CF_ODD = (1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22,
           25, 24, 23)  # fmt: skip
_CF_STRUCTURE = re.compile(
    r"^[A-Z]{6}[0-9LMNP-V]{2}[ABCDEHLMPRST][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z]$"
)


def codice_fiscale_valid(value: str) -> bool:
    """Italy's codice fiscale (persons): structure (omocodia letters allowed) and check letter."""
    value = value.upper()
    if not _CF_STRUCTURE.match(value):
        return False
    total = 0
    for index, char in enumerate(value[:15]):
        code = int(char) if char.isdigit() else ord(char) - 65
        total += _CF_ODD[code] if index % 2 == 0 else code
    return chr(65 + total % 26) == value[15]


_TFN_WEIGHTS = {9: (1, 4, 3, 7, 5, 8, 6, 9, 10), 8: (10, 7, 8, 4, 6, 3, 5, 1)}


def tfn_valid(digits: str) -> bool:
    """Australia's Tax File Number: eight or nine digits, weighted mod-11."""
    weights = _TFN_WEIGHTS.get(len(digits))
    if weights is None or not digits.isdigit() or len(set(digits)) == 1:
        return False
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 == 0
