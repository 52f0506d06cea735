"""National bank account numbers, each turned on by its country's policy preset.

Outside the IBAN countries an account is written as a bank or branch code plus
an account number: a UK sort code and eight digits, an Australian BSB and
account, a Brazilian agência and conta, an Indian IFSC and account number. A
bare run of digits is far too common to be read as an account, so each rule
needs **both** halves near each other, or one half and the country's banking
words, and reports the account number (the bank code alone is public).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from piiguard.detection.recognizers.base import Hit, PiiRecognizer
from piiguard.detection.recognizers.context import TextView, has_context, word_pattern

_NEGATIVE = word_pattern(
    ("order", "invoice", "ticket", "tracking", "pedido", "protocolo", "phone", "telefone",
     "tel", "mobile", "celular", "ref", "reference", "customer id", "policy"),
)  # fmt: skip


class _AccountRule:
    """A bank code pattern, an account pattern, and the words that stand for the code."""

    def __init__(self, kind: str, code: str, account: str, words: tuple[str, ...]) -> None:
        self.kind = kind
        self.code = re.compile(code, re.IGNORECASE)
        self.account = re.compile(account, re.IGNORECASE)
        self.words = word_pattern(words)

    def hits(self, view: TextView) -> Iterable[Hit]:
        text = view.text
        codes = [m.span() for m in self.code.finditer(text)]
        for match in self.account.finditer(text):
            start, end = match.span("account")
            digits = re.sub(r"\D", "", match.group("account"))
            if len(set(digits)) < 3 or view.phone_like(start) or view.in_noise(start, end):
                continue
            if any(cs <= start < ce or start <= cs < end for cs, ce in codes):
                continue  # the bank code itself
            if _NEGATIVE.search(view.before(start, 25)):
                continue
            near_code = any(abs(cs - end) <= 80 or abs(start - ce) <= 80 for cs, ce in codes)
            worded = has_context(view, self.words, start, end, 80, 40)
            labelled = bool(match.group("label"))
            if near_code and worded:
                yield Hit(self.kind, start, end, 0.85)
            elif labelled and (near_code or worded):
                yield Hit(self.kind, start, end, 0.6)


_RULES = (
    _AccountRule(
        "UK_BANK_ACCOUNT",
        r"(?<![\d-])\d{2}[- ]\d{2}[- ]\d{2}(?![\d-])",
        r"(?P<label>(?:account|acct|acc|a/c)(?:\s*(?:no\.?|number|num|#))?[\s:#=]{0,3})?"
        r"(?<![\d-])(?P<account>\d{8})(?![\d-])",
        ("sort code", "sortcode", "sort", "account number", "bank account", "bacs", "faster payments",
         "current account", "barclays", "lloyds", "hsbc", "natwest", "santander", "monzo"),
    ),
    _AccountRule(
        "AU_BANK_ACCOUNT",
        r"(?i:bsb)[\s:#=no.]{0,5}\d{3}[- ]?\d{3}(?!\d)",
        r"(?P<label>(?:account|acct|acc|a/c)(?:\s*(?:no\.?|number|num|#))?[\s:#=]{0,3})?"
        r"(?<![\d-])(?P<account>\d{6,10})(?![\d-])",
        ("bsb", "account number", "bank account", "commbank", "westpac", "anz", "nab",
         "direct credit", "pay id", "payid"),
    ),
    _AccountRule(
        "BR_BANK_ACCOUNT",
        r"(?i:ag[eê]ncia|ag\.?)[\s:#=nº°o.]{0,5}\d{4}(?:-[\dxX])?(?![\d])",
        r"(?P<label>(?i:conta(?:\s+corrente|\s+poupan[cç]a)?|c/c|cc)[\s:#=nº°o.]{0,5})?"
        r"(?<![\d-])(?P<account>\d{4,12}-[\dxX])(?![\d-])",
        ("conta", "conta corrente", "poupança", "agência", "agencia", "banco", "pix", "ted",
         "transferência", "transferencia", "depósito", "deposito"),
    ),
    _AccountRule(
        "IN_BANK_ACCOUNT",
        r"(?<![A-Za-z0-9])[A-Z]{4}0[A-Z0-9]{6}(?![A-Za-z0-9])",
        r"(?P<label>(?:account|acct|acc|a/c)(?:\s*(?:no\.?|number|num|#))?[\s:#=]{0,3})?"
        r"(?<![\d-])(?P<account>\d{9,18})(?![\d-])",
        ("ifsc", "account number", "bank account", "a/c", "neft", "rtgs", "imps", "savings account"),
    ),
)


class GuardNationalBankAccountRecognizer(PiiRecognizer):
    """UK, Australian, Brazilian and Indian bank accounts: a bank code and an account
    number together, or an account number labelled as one among banking words."""

    ENTITIES = ("UK_BANK_ACCOUNT", "AU_BANK_ACCOUNT", "BR_BANK_ACCOUNT", "IN_BANK_ACCOUNT")
    DIGITS = True
    KEYWORDS = ("sort code", "bsb", "agência", "agencia", "conta", "ifsc", "account", "acct")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        for rule in _RULES:
            if rule.kind in self.supported_entities:
                yield from rule.hits(view)


NATIONAL_ACCOUNT_RECOGNIZERS: tuple[type[PiiRecognizer], ...] = (
    GuardNationalBankAccountRecognizer,
)
