"""Valid national-id generators for tests and the benchmark's held-out families."""

from __future__ import annotations

import random

from tests.detection.luhn_gen import luhn_complete

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _mod11(body: str, weights: list[int]) -> str:
    r = sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11
    return "0" if r < 2 else str(11 - r)


def cpf(rng: random.Random) -> str:
    body = _digits(rng, 9)
    body += _mod11(body, list(range(10, 1, -1)))
    return body + _mod11(body, list(range(11, 1, -1)))


def cnpj(rng: random.Random) -> str:
    body = _digits(rng, 8) + "0001"
    body += _mod11(body, [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2])
    return body + _mod11(body, [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2])


def sin(rng: random.Random) -> str:
    return luhn_complete(rng.choice("1234567") + _digits(rng, 7))




def aadhaar(rng: random.Random) -> str:
    from piiguard.detection.recognizers.validation import aadhaar_valid

    while True:
        body = rng.choice("23456789") + _digits(rng, 10)
        for check in "0123456789":
            if aadhaar_valid(body + check):
                return body + check


def tfn(rng: random.Random) -> str:
    weights = [1, 4, 3, 7, 5, 8, 6, 9, 10]
    while True:
        body = _digits(rng, 8)
        for last in "0123456789":
            number = body + last
            if sum(int(d) * w for d, w in zip(number, weights, strict=True)) % 11 == 0:
                return number


def dni(rng: random.Random) -> str:
    body = _digits(rng, 8)
    return body + _DNI_LETTERS[int(body) % 23]


def nie(rng: random.Random) -> str:
    lead = rng.choice("XYZ")
    body = _digits(rng, 7)
    return lead + body + _DNI_LETTERS[int(str("XYZ".index(lead)) + body) % 23]


def nino(rng: random.Random) -> str:
    first = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    if first + second in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}:
        second = "A"
    return first + second + _digits(rng, 6) + rng.choice("ABCD")


def pan(rng: random.Random) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return ("".join(rng.choice(letters) for _ in range(3)) + rng.choice("PCHFATBLJG")
            + rng.choice(letters) + str(rng.randint(1, 9999)).zfill(4) + rng.choice(letters))


_CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25,
           24, 23]


def codice_fiscale(rng: random.Random) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    body = ("".join(rng.choice(letters) for _ in range(6)) + _digits(rng, 2)
            + rng.choice("ABCDEHLMPRST") + str(rng.randint(1, 71)).zfill(2)
            + rng.choice(letters) + _digits(rng, 3))
    total = 0
    for i, c in enumerate(body):
        code = int(c) if c.isdigit() else ord(c) - 65
        total += _CF_ODD[code] if i % 2 == 0 else code
    return body + chr(65 + total % 26)
