"""Card numbers of every network, any grouping, several in a row; the look-alikes."""

from __future__ import annotations

import random

import pytest

from piiguard.detection.recognizers.financial import card_network
from tests.detection.luhn_gen import card, luhn_break

NETWORKS = [
    ("Visa", "4", 16), ("Visa", "4", 13), ("Visa", "4", 19), ("Mastercard", "53", 16),
    ("Mastercard", "2221", 16), ("Mastercard", "2720", 16), ("American Express", "34", 15),
    ("American Express", "37", 15), ("Discover", "6011", 16), ("Discover", "65", 19),
    ("Discover", "644", 16), ("Diners Club", "36", 14), ("Diners Club", "300", 14),
    ("Diners Club", "38", 16), ("JCB", "3528", 16), ("JCB", "3589", 19),
    ("UnionPay", "62", 16), ("UnionPay", "62", 19), ("UnionPay", "81", 16),
    ("Maestro", "5018", 12), ("Maestro", "6759", 16), ("Maestro", "6304", 19),
    ("Maestro", "5020", 18), ("Dankort", "5019", 16), ("Visa/Dankort", "4571", 16),
    ("Mir", "2200", 16), ("Mir", "2204", 19), ("RuPay", "6521", 16), ("RuPay", "8200", 16),
    ("RuPay", "508", 16), ("Elo", "6362", 16), ("Elo", "5067", 16), ("Elo", "4011", 16),
    ("Hipercard", "606282", 16), ("Hipercard", "3841", 19), ("Troy", "9792", 16),
    ("Troy", "6500", 16), ("UATP", "1", 15), ("Verve", "506099", 16), ("Verve", "650002", 19),
    ("BORICA", "2205", 16), ("Humo", "9860", 16), ("UzCard", "8600", 16),
    ("InterPayment", "636", 16), ("Bankcard", "5610", 16), ("China T-Union", "31", 19),
]  # fmt: skip


def _grouped(number: str, sep: str) -> str:
    if len(number) == 15:
        return sep.join([number[:4], number[4:10], number[10:]])
    return sep.join(number[i : i + 4] for i in range(0, len(number), 4))


@pytest.mark.parametrize(("network", "prefix", "length"), NETWORKS)
@pytest.mark.parametrize("sep", ["", " ", "-", "."])
def test_every_network_with_card_words(kinds_of, network: str, prefix: str, length: int,
                                       sep: str) -> None:
    rng = random.Random(f"{prefix}{length}{sep}")
    number = card(prefix, length, rng)
    assert card_network(number) is not None, network
    assert kinds_of(f"{network} card {_grouped(number, sep)} exp 09/28") == ["CREDIT_CARD"]


@pytest.mark.parametrize(("network", "prefix", "length"), [n for n in NETWORKS if n[2] in (15, 16)])
def test_common_lengths_need_no_card_words(kinds_of, network: str, prefix: str,
                                           length: int) -> None:
    number = card(prefix, length, random.Random(prefix))
    assert kinds_of(f"here you go {_grouped(number, ' ')}") == ["CREDIT_CARD"]


@pytest.mark.parametrize(("network", "prefix", "length"), NETWORKS)
def test_luhn_failure_is_not_a_card(kinds_of, network: str, prefix: str,
                                    length: int) -> None:
    number = luhn_break(card(prefix, length, random.Random(prefix + "x")))
    assert kinds_of(f"card {_grouped(number, ' ')}") == []


@pytest.mark.parametrize("sep", [" ", "  ", " - ", ", ", " / ", "\n"])
def test_several_cards_in_one_message_are_each_found(engine, sep: str) -> None:
    rng = random.Random(sep)
    numbers = [card("4", 16, rng), card("55", 16, rng), card("37", 15, rng), card("6011", 16, rng)]
    for grouping in ("", " "):
        text = "cards: " + sep.join(_grouped(n, grouping) for n in numbers)
        found = [text[f.start : f.end].replace(" ", "") for f in engine.analyze(text)]
        assert found == numbers, (grouping, sep)


def test_compact_cards_glued_together_are_tiled(engine) -> None:
    rng = random.Random(7)
    numbers = [card("4", 16, rng), card("5", 16, rng)]
    text = "cc " + "".join(numbers)
    assert [text[f.start : f.end] for f in engine.analyze(text)] == numbers


def test_odd_groupings(kinds_of) -> None:
    number = card("4", 16, random.Random(3))
    assert kinds_of(f"card {number[:2]} {number[2:9]} {number[9:]}") == ["CREDIT_CARD"]
    assert kinds_of(f"visa {number[:8]}-{number[8:]}") == ["CREDIT_CARD"]


def test_context_glued_to_the_number(kinds_of) -> None:
    number = card("4", 16, random.Random(4))
    assert kinds_of(f"cc:{number}") == ["CREDIT_CARD"]
    assert kinds_of(f"cardNumber={number}") == ["CREDIT_CARD"]
    assert kinds_of(f"build{number}") == []


@pytest.mark.parametrize(
    "text",
    [
        "order 6011000990139424 shipped",
        "tracking 9400 1000 0000 0000 0000 00",
        "call 415 555 0132 or 415 555 0199",
        "ts 1712345678123456",
        "id 5f3c2a1b-4d6e-4f80-9a1b-2c3d4e5f6a7b",
        "sha 4539148803436467a9f0c2",
        "released v4539.1488.0343.6467",
        "https://example.com/items/4539148803436467",
        "ref 7012345678901234",  # no network issues 7-series cards
        "aws account 601234567893",  # 12-digit Maestro-shaped, no card words
    ],
)
def test_card_look_alikes_are_clean(kinds_of, text: str) -> None:
    assert kinds_of(text) == []


@pytest.mark.parametrize(
    "template",
    [
        "name,card,exp\nJohn Rowe,{v},10/32",
        '{{"customer": "Ann", "card": "{v}"}}',
        "payment:\n  card_number: \"{v}\"",
        "> {v}\n> 07/33",
        "ok here it is {v} 01/29",  # an expiry date right after the number
    ],
)
def test_cards_in_config_csv_and_quotes(kinds_of, template: str) -> None:
    number = card("4", 16, random.Random(template))
    assert kinds_of(template.format(v=number)) == ["CREDIT_CARD"]


def test_unusual_length_needs_card_words_or_expiry(kinds_of) -> None:
    number = card("50", 17, random.Random(9))
    # compact, a length Maestro issues: a card on its own (see the bare-number tests);
    # in a grouping no network prints, it needs card words or an expiry date
    odd = f"{number[:3]} {number[3:10]} {number[10:]}"
    assert kinds_of(f"ok here it is {odd}") == []
    assert kinds_of(f"ok here it is {odd} 01/29") == ["CREDIT_CARD"]
    # "on file": the payments term for a stored card (card-on-file)
    assert kinds_of(f"{number} is the one we have on file for her") == ["CREDIT_CARD"]
    assert kinds_of(f"ok here it is {number} 01/29") == ["CREDIT_CARD"]
    assert kinds_of(f"order {number} 12/25 shipped") == []


def test_numbers_inside_larger_numbers_are_not_cards(kinds_of) -> None:
    number = card("4", 16, random.Random(10))
    assert kinds_of(f"pi is 3.{number}") == []
    assert kinds_of("total 4,492,610,015,751,756") == []


def _is_gtin(number: str) -> bool:
    body = number[:-1]
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == int(number[-1])


def _gtin_and_luhn(prefix: str, length: int) -> str:
    """A number valid both as a GS1 barcode (EAN-13 / UPC-A) and under Luhn."""
    rng = random.Random(prefix)
    while not _is_gtin(number := card(prefix, length, rng)):
        pass
    return number


# (a) Card words make any Luhn-valid 12-19 digit run in a card's grouping a card,
# whatever its IIN (numbers generated with prefixes no network issues).
@pytest.mark.parametrize("prefix", ["0604", "7012", "35", "4"])
@pytest.mark.parametrize(
    "template",
    [
        "card_number={v}",
        "Card: {v}",
        "the maestro is {v}",
        "cc {v}",
        "PAN {v}",
        "{v} is the one on file for Jacob",
        "cartão {v}",
        "número do cartão: {v}",
        "tarjeta {v}",
    ],
)
def test_card_words_make_an_unknown_iin_a_card(kinds_of, prefix: str, template: str) -> None:
    rng = random.Random(prefix + template)
    for length in (12, 14, 17):
        number = card(prefix, length, rng)
        for grouped in (number, _grouped(number, "-"), _grouped(number, " ")):
            assert kinds_of(template.format(v=grouped)) == ["CREDIT_CARD"], grouped


def test_an_unknown_iin_needs_card_words_and_a_card_grouping(kinds_of) -> None:
    number = card("0604", 12, random.Random(1))
    assert kinds_of(f"here you go {number}") == []
    assert kinds_of(f"here you go {_grouped(number, '-')}") == []
    assert kinds_of(f"card {number[:3]} {number[3:9]} {number[9:]}") == []  # no card grouping
    assert kinds_of(f"card {luhn_break(number)}") == []
    assert kinds_of(f"card order {number}") == []  # an order number on the card's page
    assert kinds_of(f"{number[:4]}-{number[4:8]}-{number[8:]} exp 09/28") == ["CREDIT_CARD"]


# (b) Without card words: a Luhn-valid number whose IIN belongs to a network that
# issues that length, compact or in the network's grouping.
BARE = [("Visa", "4", 19), ("Visa", "4", 13), ("Maestro", "5018", 12), ("Maestro", "6759", 12),
        ("Maestro", "6762", 12), ("Maestro", "6304", 15), ("Maestro", "57", 12),
        ("Maestro", "6390", 12), ("UnionPay", "62", 17), ("UnionPay", "62", 19),
        ("Mir", "2200", 18), ("Discover", "65", 19), ("JCB", "3528", 19), ("JCB", "35", 16),
        ("Diners Club", "36", 19)]  # fmt: skip


@pytest.mark.parametrize(("network", "prefix", "length"), BARE)
@pytest.mark.parametrize("template", ["- Katherine Martinez: {v}", "*{v}*  <- use this",
                                      "here: {v}", "{v}"])
def test_bare_number_of_a_length_its_network_issues(kinds_of, network: str, prefix: str,
                                                     length: int, template: str) -> None:
    rng = random.Random(f"{prefix}{length}{template}")
    number = card(prefix, length, rng)
    while length in (12, 13) and _is_gtin(number):  # a barcode: see the look-alikes below
        number = card(prefix, length, rng)
    assert card_network(number) is not None, network
    assert kinds_of(template.format(v=number)) == ["CREDIT_CARD"]
    assert kinds_of(template.format(v=_grouped(number, " "))) == ["CREDIT_CARD"]


@pytest.mark.parametrize(("prefix", "length"), [("4", 17), ("4", 14), ("62", 13), ("60", 12),
                                                ("65", 15), ("0604", 12), ("7012", 16)])
def test_bare_number_no_network_issues_is_not_a_card(kinds_of, prefix: str, length: int) -> None:
    number = card(prefix, length, random.Random(prefix))
    assert card_network(number) is None
    assert kinds_of(f"here: {number}") == []


@pytest.mark.parametrize(
    "template",
    [
        "order {v} shipped",
        "invoice #{v}",
        "tracking {v}",
        "pedido {v}",
        "factura {v}",
        "aws account {v}",
        "arn:aws:iam::{v}:role/deploy",
        "account {v}",
        "project {v}",
        "{v} rows",
        "processed {v} bytes",
        "total {v}",
        "id{v}",
        "build-{v}",
        "{v}-7",
        "whatsapp {v}",
        "UIDAI number: {v}",
        "Aadhaar for Mr. Joseph Craig is {v}",
        "passport {v}",
        "+{v}",
    ],
)
@pytest.mark.parametrize(("prefix", "length"), [("5018", 12), ("4", 19), ("6759", 13)])
def test_bare_look_alikes_of_unusual_length_are_not_cards(kinds_of, template: str, prefix: str,
                                                          length: int) -> None:
    number = card(prefix, length, random.Random(prefix + template))
    assert kinds_of(template.format(v=number)) == []


def test_bare_barcodes_timestamps_and_phones_are_not_cards(kinds_of) -> None:
    assert kinds_of(f"scan {_gtin_and_luhn('40', 13)}") == []  # an EAN-13, also Luhn-valid
    assert kinds_of(f"upc {_gtin_and_luhn('67', 12)}") == []
    assert kinds_of(f"item {_gtin_and_luhn('5018', 12)} in stock") == []
    assert kinds_of("ts 1712345678123456789") == []  # nanoseconds since the epoch
    assert kinds_of("at 1712345678123") == []  # milliseconds
    assert kinds_of("call +63 917 123 4567 or +62 812 3456 7890") == []


def test_digits_of_an_iban_are_not_a_card(kinds_of) -> None:
    text = "IBAN GB19 QIRB 5748 8420 4129 41, BIC TALMGB4Z"
    assert kinds_of(text) == ["IBAN_CODE"]
    assert kinds_of("iban=GB19 QIRB 5748 8420 4129 41&amount=120.00") == ["IBAN_CODE"]


_LOOKALIKE = {"0": "O", "1": "l", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B"}


def _luhn_valid_front(rng: random.Random, length: int) -> str:
    """A 16-digit number that fails Luhn whose first ``length`` digits pass it, and
    whose next digit has a look-alike letter."""
    while True:
        number = "".join(rng.choice("0123456789") for _ in range(16))
        if not _luhn(number) and _luhn(number[:length]) and number[length] in _LOOKALIKE:
            return number


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


@pytest.mark.parametrize("seed", range(5))
def test_the_front_of_a_number_garbled_at_its_end_is_no_card(kinds_of, seed: int) -> None:
    """OCR reads the last group of a 16-digit non-card as letters (``z54Z``): the
    12 digits before it may pass Luhn (one in ten do) and are still no card."""
    number = _luhn_valid_front(random.Random(seed), 12)
    tail = _LOOKALIKE[number[12]] + number[13:]  # one look-alike letter, the rest digits
    groups = f"{number[:4]} {number[4:8]} {number[8:12]}"
    assert kinds_of(f"Card number {groups} {tail}") == []
    assert kinds_of(f"Card number {groups}") == ["CREDIT_CARD"]  # twelve digits alone: a card


def test_a_glued_look_alike_before_a_number_cuts_its_front(kinds_of) -> None:
    rng = random.Random(3)
    while True:  # 16 digits that fail Luhn, whose last 15 pass it
        number = "".join(rng.choice("0123456789") for _ in range(16))
        if not _luhn(number) and _luhn(number[1:]):
            break
    rest = f"{number[1:4]} {number[4:8]} {number[8:12]} {number[12:]}"
    assert kinds_of(f"Card number ${rest}") == []


def test_a_word_after_a_whole_card_cuts_nothing(kinds_of) -> None:
    number = card("4", 16, random.Random(5))
    assert kinds_of(f"card {_grouped(number, ' ')} Q3") == ["CREDIT_CARD"]
