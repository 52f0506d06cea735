"""Payment cards, IBANs and US bank account numbers.

Checksums first (Luhn, IBAN mod-97), then context: a Luhn-valid number after
"order #" or "tracking" is an order or tracking number, and a bare run of
digits is a bank account only when banking words surround it ("checking",
"routing", "wire"), not an AWS account id or a customer number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from piiguard.detection.recognizers.base import Hit, PiiRecognizer
from piiguard.detection.recognizers.context import TextView, has_context, word_pattern
from piiguard.detection.recognizers.validation import aba_routing_valid, iban_valid, luhn_valid

_CARD = re.compile(r"(?<![\w.,/-])(?<!\d[ -])(\d(?:[ -]?\d){12,18})(?![\w]|[ -]?\d|[.,/]\d)")
_CARD_POSITIVE = word_pattern(
    ("card", "credit", "debit", "visa", "mastercard", "master card", "amex", "american express",
     "discover", "diners", "jcb", "cc", "ccn", "pan", "payment", "pay", "billing", "charge",
     "charged", "cvv", "cvc", "exp", "expiry", "expires", "checkout", "purchase"),
)  # fmt: skip
_CARD_NEGATIVE = word_pattern(
    ("order", "orders", "tracking", "track", "invoice", "ticket", "ref", "reference",
     "confirmation", "shipment", "parcel", "package", "id", "transaction", "txn", "serial",
     "imei", "sku", "case", "build", "job", "run", "request", "trace", "span", "batch",
     "po", "isbn", "ean", "upc", "barcode", "account id", "customer", "member", "policy",
     "claim", "booking", "pnr", "container", "awb", "shipping", "route"),
)  # fmt: skip
# Card-network test numbers, published for sandboxes.
_TEST_PANS = frozenset(
    {"4111111111111111", "4242424242424242", "4000056655665556", "5555555555554444",
     "5200828282828210", "5105105105105100", "378282246310005", "371449635398431",
     "6011111111111117", "6011000990139424", "3056930009020004", "3566002020360505",
     "4012888888881881", "4000000000000002", "4000000000009995", "2223003122003222"}
)  # fmt: skip
_TEST_WORDS = word_pattern(("test", "testing", "sandbox", "stripe", "dummy", "fake", "example",
                            "staging", "qa"))


def _card_prefix_ok(digits: str) -> bool:
    """An issuer identification number of a real card network, and a length it uses."""
    n = len(digits)
    if digits[0] == "4":
        return n in (13, 16, 19)
    two, four = int(digits[:2]), int(digits[:4])
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16
    if two in (34, 37):
        return n == 15
    if digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649 or digits.startswith("62"):
        return 16 <= n <= 19
    if 3500 <= four <= 3599:  # JCB (issued 3528-3589; generators use all of 35xx)
        return 16 <= n <= 19
    if two in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return 14 <= n <= 19
    return False


def _grouping_ok(raw: str) -> bool:
    """Separators, when present, split the number the way cards are printed."""
    groups = re.split(r"[ -]", raw)
    if len(groups) == 1:
        return True
    sizes = [len(g) for g in groups]
    if sizes in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(s == 4 for s in sizes[:-1]) and 1 <= sizes[-1] <= 4


class GuardCreditCardRecognizer(PiiRecognizer):
    """Payment card numbers: network prefix, length, Luhn, printed grouping, context."""

    ENTITIES = ("CREDIT_CARD",)
    DIGITS = True

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        for match in _CARD.finditer(view.text):
            raw = match.group(1)
            digits = raw.replace(" ", "").replace("-", "")
            if not (_grouping_ok(raw) and _card_prefix_ok(digits) and luhn_valid(digits)):
                continue
            if len(set(digits)) < 2:
                continue
            start, end = match.span(1)
            if view.in_noise(start, end) or view.phone_like(start):
                continue
            positive = has_context(view, _CARD_POSITIVE, start, end, 80, 40)
            if digits in _TEST_PANS and has_context(view, _TEST_WORDS, start, end, 120, 80):
                continue
            negative = bool(_CARD_NEGATIVE.search(view.before(start, 30)))
            score = 0.85 if positive or not negative else 0.3
            yield Hit("CREDIT_CARD", start, end, score)


_IBAN = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,32})")


class GuardIbanRecognizer(PiiRecognizer):
    """IBANs: country code, the country's length, and a valid mod-97 checksum."""

    ENTITIES = ("IBAN_CODE",)
    KEYWORDS = ("iban",)
    DIGITS = True

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        from piiguard.detection.recognizers.validation import IBAN_LENGTHS

        text = view.text
        for match in _IBAN.finditer(text.upper() if "iban" in view.lower and text.isascii() else text):
            raw = match.group(1)
            length = IBAN_LENGTHS.get(raw[:2])
            if length is None:
                continue
            # Walk the match to the country's length, ignoring spaces.
            count, stop = 0, 0
            for index, char in enumerate(raw):
                if char != " ":
                    count += 1
                    if count == length:
                        stop = index + 1
                        break
            if not stop:
                continue
            start = match.start(1)
            end = start + stop
            if end < len(text) and text[end].isalnum() and text[end - 1] != " " and (
                text[end - 1].isalnum()
            ):
                continue  # the number runs on: not this IBAN
            if iban_valid(raw[:stop].replace(" ", "")):
                yield Hit("IBAN_CODE", start, end, 0.95)


_ACCOUNT = re.compile(r"(?<![\w.,/-])(\d{8,17})(?![\w]|[.,/-]\d)")
_BANK_STRONG = word_pattern(
    ("bank", "banking", "checking", "chequing", "savings", "routing", "aba", "wire", "ach",
     "direct deposit", "deposit", "bank account", "bank acct", "beneficiary", "remit",
     "remittance", "payroll", "swift", "sort code", "transfer to", "bank details"),
)  # fmt: skip
_BANK_MEDIUM = word_pattern(
    ("account number", "account no", "account num", "account #", "acct", "acct no",
     "acct number", "acct #", "a/c", "acc no", "account nr"),
)  # fmt: skip
_BANK_NEGATIVE = word_pattern(
    ("aws", "gcp", "azure", "cloud", "account id", "customer", "order", "tracking",
     "invoice", "ticket", "phone", "employee", "member", "loyalty", "subscription", "user",
     "user id", "org", "organization", "project", "tenant", "workspace", "case", "po",
     "reference", "ref", "confirmation", "zendesk", "jira", "salesforce", "stripe", "hubspot",
     "policy", "claim", "order number", "build", "pipeline", "id"),
)  # fmt: skip
_ROUTING_WORDS = word_pattern(("routing", "aba", "rtn", "routing number", "routing no",
                               "transit", "sort code"))


class GuardUsBankNumberRecognizer(PiiRecognizer):
    """US bank account numbers: 8-17 digits, only with banking words around them.

    "account" alone is not enough (AWS account ids are 12 digits); ABA-valid
    routing numbers right after "routing" are public and skipped.
    """

    ENTITIES = ("US_BANK_NUMBER",)
    DIGITS = True

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        for match in _ACCOUNT.finditer(view.text):
            start, end = match.span(1)
            digits = match.group(1)
            if len(set(digits)) < 3 or view.in_noise(start, end) or view.phone_like(start):
                continue
            close = view.before(start, 30)
            if (
                len(digits) == 9
                and aba_routing_valid(digits)
                and _ROUTING_WORDS.search(close)
            ):
                continue
            if _BANK_NEGATIVE.search(close):
                continue
            strong = has_context(view, _BANK_STRONG, start, end, 120, 40)
            medium = bool(_BANK_MEDIUM.search(view.before(start, 40)))
            negative_wide = has_context(view, _BANK_NEGATIVE, start, end, 120, 30)
            if strong and (medium or not negative_wide):
                yield Hit("US_BANK_NUMBER", start, end, 0.85)
            elif medium and not negative_wide:
                yield Hit("US_BANK_NUMBER", start, end, 0.6)


FINANCIAL_RECOGNIZERS: tuple[type[PiiRecognizer], ...] = (
    GuardCreditCardRecognizer,
    GuardIbanRecognizer,
    GuardUsBankNumberRecognizer,
)
