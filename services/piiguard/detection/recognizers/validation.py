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


IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_valid(compact: str) -> bool:
    """Country length and the ISO 7064 mod-97 check of an IBAN without spaces."""
    value = compact.upper()
    if len(value) < 15 or IBAN_LENGTHS.get(value[:2]) != len(value):
        return False
    if not value[2:4].isdigit() or not value.isalnum():
        return False
    rearranged = value[4:] + value[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1
