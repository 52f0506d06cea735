"""OCR confusion repair: letters read for digits are mapped only where a checksum agrees."""

from __future__ import annotations

import random

import pytest

from piiguard.detection.recognizers.ocr_digits import OCR_DIGIT_CONFUSIONS, repair_ocr_digits
from tests.detection.luhn_gen import card, luhn_break

_BACK = {"0": "O", "1": "l", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B"}


def _misread(number: str, positions: list[int]) -> str:
    chars = list(number)
    for p in positions:
        chars[p] = _BACK.get(chars[p], chars[p])
    return "".join(chars)


def _confusable_positions(number: str) -> list[int]:
    return [i for i, c in enumerate(number) if c in _BACK]


@pytest.mark.parametrize("seed", range(20))
def test_misread_card_is_repaired(seed: int) -> None:
    rng = random.Random(seed)
    number = card(rng.choice(["4", "51", "37", "6011", "35", "2200"]), 16, rng)
    if number.startswith("37"):
        number = card("37", 15, rng)
    positions = _confusable_positions(number)[:3]
    if not positions:
        pytest.skip("no confusable digit drawn")
    spaced = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    misread = _misread(number, positions)
    groups = " ".join(misread[i : i + 4] for i in range(0, len(number), 4))
    text = f"Card {groups} VALID THRU 09/28"
    repaired = repair_ocr_digits(text)
    assert len(repaired) == len(text)
    assert spaced in repaired
    assert repaired.startswith("Card ") and repaired.endswith("VALID THRU 09/28")


def test_first_digit_read_as_a_letter(engine) -> None:
    number = card("5", 16, random.Random(11))
    text = "S" + number[1:] if number[0] == "5" else number
    assert engine.scan(repair_ocr_digits(f"card {text}")).kinds == ["CREDIT_CARD"]


def test_repair_that_fails_the_checksum_is_not_made() -> None:
    number = luhn_break(card("4", 16, random.Random(5)))
    text = "card " + _misread(number, _confusable_positions(number)[:2])
    assert repair_ocr_digits(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "BOSS 2024 ISBN IS GOOD",
        "SOS SOS SOS SOS SOS SOS",
        "room B12 floor 3 AISLE 5",
        "ID 12345O78",  # digits and one letter but no checksum vouches
        "ZZ 1111 1111",
    ],
)
def test_words_and_plain_ids_are_left_alone(text: str) -> None:
    assert repair_ocr_digits(text) == text


def test_iban_repaired_by_registry_structure() -> None:
    text = "IBAN DEB9 37O4 OO44 O532 Ol3O OO"
    assert repair_ocr_digits(text) == "IBAN DE89 3704 0044 0532 0130 00"


def test_iban_letters_the_bban_allows_are_kept() -> None:
    text = "GB82 WEST 1234 5698 7654 32"
    assert repair_ocr_digits(text) == text
    assert repair_ocr_digits("GB82 WEST l234 S698 7654 32") == text


def test_cpf_and_aadhaar_repairs() -> None:
    assert repair_ocr_digits("CPF 529.9B2.247-2S") == "CPF 529.982.247-25"
    assert repair_ocr_digits("Aadhaar 2341 Z341 Z346") == "Aadhaar 2341 2341 2346"


def test_confusions_are_documented_single_characters() -> None:
    assert all(len(k) == 1 and v.isdigit() and len(v) == 1 for k, v in OCR_DIGIT_CONFUSIONS.items())


def test_engine_reads_letters_written_for_digits(engine) -> None:
    text = "card 4S39 l488 O343 6467 ok"
    (finding,) = engine.analyze(text)
    assert finding.entity_type == "CREDIT_CARD"
    assert text[finding.start : finding.end] == "4S39 l488 O343 6467"
    assert engine.scan("card 4S39 l488 O343 6468").kinds == []  # Luhn decides
    assert engine.scan("BOSS 2024: ISBN IS GOOD, room B12").kinds == []
