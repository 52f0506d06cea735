"""Payment cards, IBANs and US bank account numbers.

Cards: every network's IIN ranges and lengths (``_IIN_TABLE``), Luhn, and the
way the number is grouped; a run of digit groups holding several cards is
segmented into each of them. IBANs: the whole IBAN registry shipped as data
(``data/iban_registry.tsv``), compact or grouped, mod-97.

Checksums first (Luhn, IBAN mod-97), then context: a Luhn-valid number after
"order #" or "tracking" is an order or tracking number, and a bare run of
digits is a bank account only when banking words surround it ("checking",
"routing", "wire"), not an AWS account id or a customer number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from piiguard.detection.recognizers.base import Hit, PiiRecognizer
from piiguard.detection.recognizers.context import TextView, has_context, word_pattern
from piiguard.detection.recognizers.ocr_digits import OCR_DIGIT_CONFUSIONS
from piiguard.detection.recognizers.validation import aba_routing_valid, iban_valid, luhn_valid

# A run of digit groups with single separators (space, dash, dot) between them;
# several cards separated by spaces arrive as one run and are segmented below.
# A comma next to the run is a field separator (CSV, lists), unless it makes the
# run part of a larger number ("1,234,567", "3.14159").
_RUN = re.compile(
    r"(?<![\d/-])(?<!\d[.,])\d+(?:(?: {1,2}|[-.])\d+)*(?!\d|[./-]\d|,\d{3}(?!\d))"
)
_GROUP = re.compile(r"\d+")
_CARD_POSITIVE = word_pattern(
    ("card", "cards", "credit", "debit", "visa", "mastercard", "master card", "amex",
     "american express", "discover", "diners", "jcb", "unionpay", "union pay", "maestro",
     "dankort", "mir", "rupay", "elo", "hipercard", "troy", "uatp", "verve", "cartao",
     "cartão", "tarjeta", "carte", "karte", "kreditkarte", "cc", "ccn", "pan", "payment",
     "pay", "billing", "charge", "charged", "cvv", "cvc", "exp", "expiry", "expires",
     "checkout", "purchase", "número do cartão", "numero de tarjeta", "crédito", "credito",
     "débito", "debito", "paying", "paid", "pays", "cvv2", "cid", "valid thru", "good thru",
     "validade", "caducidad", "vencimiento", "expiration", "ablaufdatum", "gültig bis",
     # "the one on file": card-on-file, the payments term for a stored card
     "on file", "card on file", "stored card", "saved card"),
)  # fmt: skip
# An expiry date (MM/YY, MM/YYYY) or a CVC right after a number: printed card details.
_EXPIRY_AFTER = re.compile(
    r"[\s,;:/|()>*`\"'-]{0,8}(?:(?:exp\w*|valid\w*|val\.?)[\s:.]{0,3})?(?:0[1-9]|1[0-2])\s?[/-]\s?(?:20)?\d{2}(?!\d)",
    re.IGNORECASE,
)
_CARD_GLUED = re.compile(
    r"(?:card|cc|ccn|pan|visa|mastercard|amex|cardnumber|cardno|cardnum|creditcard|"
    r"debitcard|ccnumber|cartao|tarjeta)[#:=_-]{0,3}$",
    re.IGNORECASE,
)
_CARD_NEGATIVE = word_pattern(
    ("order", "orders", "tracking", "track", "invoice", "ticket", "ref", "reference",
     "confirmation", "shipment", "parcel", "package", "id", "transaction", "txn", "serial",
     "imei", "sku", "case", "build", "job", "run", "request", "trace", "span", "batch",
     "po", "isbn", "ean", "upc", "barcode", "account id", "customer", "member", "policy",
     "claim", "booking", "pnr", "container", "awb", "shipping", "route",
     # Portuguese and Spanish
     "pedido", "encomenda", "rastreio", "rastreamento", "protocolo", "nota fiscal", "boleto",
     "orden", "factura", "seguimiento", "referencia", "referência", "envío", "envio"),
)  # fmt: skip
# Card-network test numbers, published for sandboxes.
_TEST_PANS = frozenset(
    {"4111111111111111", "4242424242424242", "4000056655665556", "5555555555554444",
     "5200828282828210", "5105105105105100", "378282246310005", "371449635398431",
     "6011111111111117", "6011000990139424", "3056930009020004", "3566002020360505",
     "4012888888881881", "4000000000000002", "4000000000009995", "2223003122003222"}
)  # fmt: skip
# Words that name a card outright: with one of them near it, a Luhn-valid run
# in a card's grouping is a card even when no network's IIN range claims it.
_CARD_NAMED = word_pattern(
    ("card", "cards", "credit card", "debit card", "card number", "card no", "card #",
     "visa", "mastercard", "master card", "maestro", "amex", "american express", "discover",
     "diners", "jcb", "unionpay", "union pay", "mir", "rupay", "elo", "hipercard", "dankort",
     "troy", "uatp", "verve", "cc", "ccn", "pan", "on file", "cvv", "cvc", "cvv2",
     "cartao", "cartão", "tarjeta", "carte", "karte", "kreditkarte", "número do cartão",
     "numero do cartao", "numero de tarjeta", "número de tarjeta"),
)  # fmt: skip
# Without card words, what says a compact run of an unusual length is something
# else: account and cloud ids before it, a unit after it (a count, a size).
_BARE_NEGATIVE = word_pattern(
    ("account", "acct", "aws", "arn", "gcp", "project", "org", "tenant", "subscription",
     "user", "uid", "gid", "pid", "port", "phone", "number of", "total", "count", "size"),
)  # fmt: skip
# Government and health ids of the same lengths (Aadhaar is 12 digits).
_ID_WORDS = word_pattern(
    ("aadhaar", "aadhar", "uidai", "ssn", "itin", "sin", "nino", "national insurance", "cpf",
     "cnpj", "dni", "nie", "nif", "tfn", "codice fiscale", "passport", "license", "licence",
     "nhs", "mrn", "npi", "medical record", "tax", "vat", "ein", "rg", "curp", "rut"),
)  # fmt: skip
_COUNT_AFTER = re.compile(
    r"\s?(?:rows|records|items|bytes|kb|mb|gb|tb|b|ms|ns|us|µs|s|sec|seconds|requests|"
    r"events|messages|users|views|hits|times|calls|lines|entries|tokens|downloads)\b",
    re.IGNORECASE,
)
_TEST_WORDS = word_pattern(("test", "testing", "sandbox", "stripe", "dummy", "fake", "example",
                            "staging", "qa"))

# Issuer identification number ranges of the card networks: (first prefix, last
# prefix, lengths issued, lengths common enough to stand without card words).
# Ranges nest (Maestro's 6-series covers Discover, UnionPay, RuPay, Elo, Troy ...):
# the first match wins, so specific networks come first.
_IIN_TABLE: tuple[tuple[str, str, str, range | tuple[int, ...], tuple[int, ...]], ...] = (
    ("JCB", "1800", "1800", range(15, 16), (15,)),  # legacy JCB ranges, 15 digits
    ("UATP", "1", "1", range(15, 16), (15,)),
    ("JCB", "2131", "2131", range(15, 16), (15,)),
    ("Mir", "2200", "2204", range(16, 20), (16,)),
    ("BORICA", "2205", "2205", range(16, 17), (16,)),
    ("Mastercard", "2221", "2720", range(16, 17), (16,)),
    ("Diners Club", "300", "305", range(14, 20), (14, 16)),
    ("Diners Club", "3095", "3095", range(14, 20), (14, 16)),
    ("China T-Union", "31", "31", range(19, 20), (19,)),
    ("American Express", "34", "34", range(15, 16), (15,)),
    ("JCB", "3528", "3589", range(16, 20), (16,)),
    # Outside JCB's issued range, but where generators and IIN lists put JCB:
    # 16 digits stand alone, other lengths need card words.
    ("JCB", "35", "35", range(16, 20), (16,)),
    ("Diners Club", "36", "36", range(14, 20), (14,)),
    ("American Express", "37", "37", range(15, 16), (15,)),
    ("Hipercard", "3841", "3841", range(16, 20), (16, 19)),
    ("Diners Club", "38", "39", range(14, 20), (14, 16)),
    ("Visa", "4", "4", (13, 16, 19), (16,)),
    ("Dankort", "5019", "5019", range(16, 17), (16,)),
    ("Maestro", "50", "50", range(12, 20), (16, 19)),
    ("Mastercard", "51", "55", range(16, 17), (16,)),
    ("Maestro", "56", "58", range(12, 20), (16, 19)),
    # The 6-series Maestro ranges that issue short (12-15 digit) cards; the rest
    # of the 6-series (Discover, UnionPay, RuPay, Elo, Troy ...) issues 16-19.
    ("Maestro", "6304", "6304", range(12, 20), (16, 19)),
    ("Maestro", "6390", "6390", range(12, 20), (16, 19)),
    ("Maestro", "67", "67", range(12, 20), (16, 19)),
    ("Maestro", "59", "69", range(16, 20), (16, 19)),
    ("UnionPay", "81", "81", range(16, 20), (16, 19)),
    ("RuPay", "82", "82", range(16, 17), (16,)),
    ("UzCard", "8600", "8600", range(16, 17), (16,)),
    ("ArCa", "9051", "9051", range(16, 17), (16,)),
    ("Belkart", "9112", "9112", range(16, 17), (16,)),
    ("Troy", "9792", "9792", range(16, 17), (16,)),
    ("Humo", "9860", "9860", range(16, 17), (16,)),
)  # fmt: skip


def card_network(digits: str) -> tuple[str, bool] | None:
    """The network whose IIN range and lengths fit, and whether the length is a
    common one (``None``: no network issues such a number). Luhn is not checked."""
    n = len(digits)
    for name, low, high, lengths, common in _IIN_TABLE:
        prefix = digits[: len(low)]
        if low <= prefix <= high:
            if n in lengths:
                return name, n in common
            if len(low) > 1:  # a specific range with the wrong length: try wider ones
                continue
            return None
    return None


# Printed groupings of card numbers (group sizes), read as evidence on their own.
_PRINTED = {(4, 6, 5), (4, 6, 4), (4, 5, 6), (4, 4, 4, 4, 3), (4, 4, 4, 4, 2), (6, 13),
            (4, 4, 4, 2), (4, 4, 4, 4, 1)}  # fmt: skip


def _printed(sizes: tuple[int, ...]) -> bool:
    if len(sizes) == 1:
        return True
    if sizes in _PRINTED:
        return True
    return all(s == 4 for s in sizes[:-1]) and 1 <= sizes[-1] <= 4


def _luhn_run(digits: str) -> bool:
    return 12 <= len(digits) <= 19 and len(set(digits)) >= 2 and luhn_valid(digits)


def _card_valid(digits: str) -> tuple[str, bool] | None:
    if not _luhn_run(digits):
        return None
    return card_network(digits)


def _gtin_valid(digits: str) -> bool:
    """The GS1 check digit (EAN-13, UPC-A): a barcode number, not a card."""
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


class _Candidate(NamedTuple):
    start: int
    end: int
    digits: str
    common: bool  # a common length for its network
    printed: bool  # grouped the way cards are printed (or one compact group)
    whole: bool  # the whole digit run
    known: bool = True  # a network's IIN range issues this length


def _segment(text: str, run_start: int, run_end: int) -> list[_Candidate]:
    """The card numbers in one digit run: the whole run if it is one, else the
    group-aligned (or, for a compact run, exact-tiling) parts that each are."""
    groups = [(m.start(), m.end(), m.group()) for m in _GROUP.finditer(text, run_start, run_end)]
    total = sum(len(g[2]) for g in groups)
    if len(groups) == 1 and total > 19:
        return _tile_compact(groups[0])
    if 12 <= total <= 19:
        digits = "".join(g[2] for g in groups)
        valid = _card_valid(digits)
        sizes = tuple(len(g[2]) for g in groups)
        if valid is not None:
            return [_Candidate(run_start, run_end, digits, valid[1], _printed(sizes), True)]
        if _luhn_run(digits) and _printed(sizes):  # no network's range: only with card words
            return [_Candidate(run_start, run_end, digits, False, True, True, known=False)]
    if total < 24:
        return []
    # Dynamic programme over group boundaries: the most digits covered by
    # non-overlapping printed-grouping card numbers.
    k = len(groups)
    best: list[tuple[int, list[_Candidate]]] = [(0, [])] * (k + 1)
    for i in range(k - 1, -1, -1):
        best[i] = best[i + 1]
        digits = ""
        for j in range(i, k):
            digits += groups[j][2]
            if len(digits) > 19:
                break
            if len(digits) < 12:
                continue
            sizes = tuple(len(g[2]) for g in groups[i : j + 1])
            if not _printed(sizes):
                continue
            valid = _card_valid(digits)
            if valid is None:
                continue
            score = len(digits) + best[j + 1][0]
            if score > best[i][0]:
                cand = _Candidate(groups[i][0], groups[j][1], digits, valid[1], True, False)
                best[i] = (score, [cand, *best[j + 1][1]])
    return best[0][1]


def _tile_compact(group: tuple[int, int, str]) -> list[_Candidate]:
    """A compact run of 24-57 digits that splits exactly into valid card numbers."""
    start, _end, digits = group
    n = len(digits)
    if not 24 <= n <= 57:
        return []
    # ways[i]: a tiling of digits[i:] into valid numbers of common lengths, or None.
    ways: list[list[tuple[int, int]] | None] = [None] * (n + 1)
    ways[n] = []
    for i in range(n - 12, -1, -1):
        for length in (16, 15, 19, 14):
            rest = ways[i + length] if i + length <= n else None
            if rest is None:
                continue
            valid = _card_valid(digits[i : i + length])
            if valid is not None and valid[1]:
                ways[i] = [(i, i + length), *rest]
                break
    tiling = ways[0]
    if not tiling or len(tiling) < 2:
        return []
    return [_Candidate(start + a, start + b, digits[a:b], True, True, False) for a, b in tiling]


_LOOKALIKES = frozenset(OCR_DIGIT_CONFUSIONS) | {"$"}
_TAIL_GROUP = re.compile(r"[ \-.]([0-9A-Za-z$|!]{1,4})(?![A-Za-z0-9])")
_CARD_LENGTHS = (15, 16, 19)


def _garbled_ends(text: str, run_start: int, run_end: int) -> tuple[bool, bool]:
    """Whether a digit run is cut from a longer number whose first or last group
    holds look-alike letters (OCR's ``5437 8046 3468 z54Z``, ``$437 8046 3468 2542``):
    the run plus that group make a card's length, so the run is only part of a
    number, and whatever part of it passes Luhn (one in ten do) is no card. Only
    such a group, glued to the run's edge, counts: ``… 6467 Q3`` follows a whole
    number and cuts nothing."""
    digits = sum(c.isdigit() for c in text[run_start:run_end])
    head = text[run_start - 1 : run_start] if run_start > 0 else ""
    cut_head = bool(head) and head in _LOOKALIKES and digits + 1 in _CARD_LENGTHS and (
        run_start < 2 or not text[run_start - 2].isalnum())
    tail = _TAIL_GROUP.match(text, run_end)
    cut_tail = False
    if tail is not None:
        group = tail.group(1)
        cut_tail = (all(c.isdigit() or c in _LOOKALIKES for c in group)
                    and any(c.isdigit() for c in group) and not group.isdigit()
                    and digits + len(group) in _CARD_LENGTHS)
    return cut_head, cut_tail


class GuardCreditCardRecognizer(PiiRecognizer):
    """Payment card numbers of every network: IIN range and length, Luhn, grouping, context.

    A digit run holding several numbers (cards pasted one after the other) is
    segmented into the card numbers it contains rather than given up.
    """

    ENTITIES = ("CREDIT_CARD",)
    DIGITS = True

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        text = view.text
        for run in _RUN.finditer(text):
            run_start, run_end = run.span()
            glued = run_start > 0 and text[run_start - 1].isalpha()
            if glued and not _CARD_GLUED.search(text[max(0, run_start - 16) : run_start]):
                continue  # digits inside an identifier (abc4111...), not a card
            cut_head, cut_tail = _garbled_ends(text, run_start, run_end)
            for cand in _segment(text, run_start, run_end):
                if (cut_head and cand.start == run_start) or (cut_tail and cand.end == run_end):
                    continue  # the valid-looking front or back of a longer, garbled number
                hit = self._judge(view, cand, glued)
                if hit is not None:
                    yield hit

    def _judge(self, view: TextView, cand: _Candidate, glued: bool) -> Hit | None:
        start, end, digits = cand.start, cand.end, cand.digits
        dotted = "." in view.text[start:end]
        if view.phone_like(start) or _inside_iban(view.text, start):
            return None
        if view.in_noise(start, end) and not (dotted and cand.printed and not _in_url(view, start)):
            return None
        if digits in _TEST_PANS and has_context(view, _TEST_WORDS, start, end, 120, 80):
            return None
        negative = bool(_CARD_NEGATIVE.search(view.before(start, 30)))
        if not cand.known:
            named = glued or has_context(view, _CARD_NAMED, start, end, 80, 40) or bool(
                _EXPIRY_AFTER.match(view.text, end, min(len(view.text), end + 40)))
            return Hit("CREDIT_CARD", start, end, 0.85) if named and not negative else None
        positive = glued or has_context(view, _CARD_POSITIVE, start, end, 80, 40)
        grouped = cand.printed and any(c in " -." for c in view.text[start:end])
        if positive:
            return Hit("CREDIT_CARD", start, end, 0.85)
        if negative:
            return Hit("CREDIT_CARD", start, end, 0.3)
        if _EXPIRY_AFTER.match(view.text, end, min(len(view.text), end + 40)):
            return Hit("CREDIT_CARD", start, end, 0.85)  # followed by its expiry date
        if (cand.common and cand.printed) or grouped:
            return Hit("CREDIT_CARD", start, end, 0.85)
        if cand.common:
            return Hit("CREDIT_CARD", start, end, 0.6)  # an unusual grouping of a usual number
        if cand.printed and cand.whole and not self._something_else(view, cand):
            # A compact number of a length its network issues (19-digit Visa,
            # 12-digit Maestro), standing on its own.
            return Hit("CREDIT_CARD", start, end, 0.6)
        return Hit("CREDIT_CARD", start, end, 0.4)  # an unusual length, no card words

    @staticmethod
    def _something_else(view: TextView, cand: _Candidate) -> bool:
        """Whether a bare number of an unusual length is plainly not a card: an
        account or cloud id, a count or a size, a barcode."""
        if _BARE_NEGATIVE.search(view.before(cand.start, 30)):
            return True
        if _ID_WORDS.search(view.before(cand.start, 60)):
            return True
        if _COUNT_AFTER.match(view.text, cand.end):
            return True
        return len(cand.digits) in (12, 13) and _gtin_valid(cand.digits)


_IBAN_LEAD = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2} ?\d{2}(?=[ .-]?[A-Za-z0-9])")


def _inside_iban(text: str, start: int) -> bool:
    """Whether the digits at ``start`` are the tail of a valid IBAN (``GB19 QIRB 5748 ...``)."""
    from piiguard.detection.recognizers.validation import IBAN_LENGTHS

    window_start = max(0, start - 36)
    for lead in _IBAN_LEAD.finditer(text, window_start, start):
        length = IBAN_LENGTHS.get(lead.group()[:2])
        if length is None:
            continue
        compact = re.sub(r"[ .-]", "", text[lead.start() : lead.start() + 2 * length])
        if compact[:length].isalnum() and iban_valid(compact[:length].upper()):
            return True
    return False


def _in_url(view: TextView, start: int) -> bool:
    line_start = view.text.rfind("\n", 0, start) + 1
    return "://" in view.text[line_start:start] or "www." in view.lower[line_start:start]


# A country code and check digits, then the BBAN compact or grouped by spaces,
# dashes or dots in any grouping, a space even between the country code and the
# check digits (``NO 02 1503...``, ``NO07.8380.08.06006``); a BBAN letter may be
# written in lower case. "IBAN" may be glued in front ("IBANDE89..."). The
# country's length and mod-97 decide, so a loose grouping costs no precision.
_IBAN = re.compile(
    r"(?:(?<=IBAN)|(?<![A-Za-z0-9]))([A-Z]{2} ?\d{2}(?:[ .-]?[A-Za-z0-9]){11,32})")
_IBAN_SEPARATORS = " .-"


class GuardIbanRecognizer(PiiRecognizer):
    """IBANs: country code, the country's length, and a valid mod-97 checksum."""

    ENTITIES = ("IBAN_CODE",)
    KEYWORDS = ("iban",)
    DIGITS = True
    # BBANs full of letters (Bulgaria, Malta, Kuwait ...) hold no run of eight digits.
    TRIGGER = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2} ?\d{2}(?:[ .-]?[A-Za-z0-9]){11}")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        from piiguard.detection.recognizers.validation import IBAN_LENGTHS

        text = view.text
        scanned = text.upper() if "iban" in view.lower and text.isascii() else text
        position = 0
        while (match := _IBAN.search(scanned, position)) is not None:
            position = match.start(1) + 1
            raw = match.group(1)
            length = IBAN_LENGTHS.get(raw[:2])
            if length is None:
                continue
            # Walk the match to the country's length, ignoring separators.
            count, stop = 0, 0
            for index, char in enumerate(raw):
                if char not in _IBAN_SEPARATORS:
                    count += 1
                    if count == length:
                        stop = index + 1
                        break
            if not stop:
                continue
            start = match.start(1)
            end = start + stop
            if end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
                continue  # the number runs on: not this IBAN
            compact = re.sub(r"[ .-]", "", raw[:stop]).upper()
            if iban_valid(compact):
                position = end  # several IBANs in a row: go on after this one
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
