"""Evasion by invisible and look-alike characters, class by class.

Every test draws its characters from a Unicode *category* (all of them, not a
hand-picked few), hides a card number or an SSN with them, and checks both
that it is found and that the offsets cover the original characters.
"""

from __future__ import annotations

import sys
import unicodedata

import pytest

from piiguard.detection.normalize import normalize

CARD = "4539148803436467"  # Luhn-valid Visa
SSN = ("536", "22", "1234")


def _chars(predicate) -> list[str]:
    return [chr(c) for c in range(sys.maxunicode + 1)
            if not 0xD800 <= c <= 0xDFFF and predicate(chr(c))]


FORMAT_CHARS = _chars(lambda c: unicodedata.category(c) == "Cf")
SPACE_SEPARATORS = _chars(lambda c: unicodedata.category(c) == "Zs")
DASHES = _chars(lambda c: unicodedata.category(c) == "Pd")
# One zero per script: every Nd block is ten consecutive digits 0-9.
DIGIT_ZEROS = _chars(lambda c: unicodedata.category(c) == "Nd" and unicodedata.decimal(c) == 0)


def _in_script(zero: str, digits: str) -> str:
    return "".join(chr(ord(zero) + int(d)) for d in digits)


def test_ascii_text_is_its_own_normal_form() -> None:
    normal = normalize("card 4539 1488 0343 6467, thanks")
    assert not normal.changed
    assert normal.span(5, 24) == (5, 24)


@pytest.mark.parametrize("char", FORMAT_CHARS)
def test_every_format_character_is_removed(char: str) -> None:
    text = char.join(CARD)
    normal = normalize(text)
    assert normal.text == CARD
    assert normal.span(0, len(CARD)) == (0, len(text))


@pytest.mark.parametrize("char", SPACE_SEPARATORS)
def test_every_space_separator_is_a_space(char: str) -> None:
    assert normalize(f"a{char}b").text == "a b"


@pytest.mark.parametrize("zero", DIGIT_ZEROS)
def test_every_scripts_digits_are_ascii(zero: str) -> None:
    assert normalize(_in_script(zero, CARD)).text == CARD


@pytest.mark.parametrize("dash", DASHES)
def test_every_dash_is_a_hyphen(dash: str) -> None:
    assert normalize(dash.join(SSN)).text == "-".join(SSN)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\u2212", "-"),  # minus sign
        ("\uff0d", "-"),  # fullwidth hyphen-minus
        ("\u00b7", "."),  # middle dot as a group separator
        ("\uff0e", "."),  # fullwidth full stop
        ("\u2044", "/"),  # fraction slash
        ("\u201c\u201d", '""'),  # curly quotes
        ("\uff33\uff33\uff2e", "SSN"),  # fullwidth letters (NFKC)
        ("\u2460\u2461", "12"),  # circled digits
        ("\u2776", "1"),  # dingbat negative circled digit (digit value, no NFKC form)
        ("\u00b2", "2"),  # superscript
        ("4\u0332", "4"),  # combining mark on a digit
        ("4\ufe0f\u20e3", "4"),  # keycap: variation selector and enclosing mark
        ("a\u3164b", "ab"),  # Hangul filler (default-ignorable, category Lo)
        ("a\U000e0041b", "ab"),  # tag character
        ("a\x00b\x7fc", "abc"),  # control characters
        ("a\u2028b", "a\nb"),  # line separator
        ("a\ue000b", "ab"),  # private use
    ],
)
def test_look_alikes_and_invisibles(text: str, expected: str) -> None:
    assert normalize(text).text == expected


def test_homoglyphs_only_inside_mixed_tokens() -> None:
    # Cyrillic IE inside an IBAN is Latin E; a Russian word is left alone.
    assert normalize("D\u041589 3704").text == "DE89 3704"
    assert normalize("\u041c\u043e\u0439 \u043d\u043e\u043c\u0435\u0440").text == (
        "\u041c\u043e\u0439 \u043d\u043e\u043c\u0435\u0440"
    )


def test_marks_on_other_scripts_are_kept() -> None:
    word = "\u0928\u092e\u0938\u094d\u0924\u0947"  # Devanagari, with a virama (Mn)
    assert normalize(word).text == word


def test_offsets_map_expansions_back() -> None:
    text = "x\ufb01 \u3251 card"  # ligature fi, circled twenty-one: NFKC expands both
    normal = normalize(text)
    assert normal.text == "xfi 21 card"
    start = normal.text.index("card")
    assert text[slice(*normal.span(start, start + 4))] == "card"


# -- through the engine: every caller gets the normalization -------------------------


@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\ufeff",
                                  "\u202e", "\u2063", "\u180e", "\U000e0020", "\ufe0f",
                                  "\u034f", "\u3164"])
def test_card_split_by_invisible_characters_is_found(engine, char: str) -> None:
    text = "my card " + char.join(CARD)
    (finding,) = engine.analyze(text)
    assert finding.entity_type == "CREDIT_CARD"
    assert text[finding.start : finding.end] == char.join(CARD)


@pytest.mark.parametrize("zero", DIGIT_ZEROS[::7])
def test_card_in_any_script_is_found(engine, zero: str) -> None:
    text = f"card { _in_script(zero, CARD) } exp 08/27"
    (finding,) = engine.analyze(text)
    assert text[finding.start : finding.end] == _in_script(zero, CARD)


@pytest.mark.parametrize("space", SPACE_SEPARATORS)
def test_card_grouped_by_unusual_spaces_is_found(kinds_of, space: str) -> None:
    assert kinds_of("card " + space.join(["4539", "1488", "0343", "6467"])) == ["CREDIT_CARD"]


@pytest.mark.parametrize("dash", [*DASHES[::3], "\u2212"])
def test_ssn_with_look_alike_dashes_is_found(kinds_of, dash: str) -> None:
    assert kinds_of("my SSN is " + dash.join(SSN)) == ["US_SSN"]


def test_ssn_with_zero_width_spaces_is_found_and_redactable(engine) -> None:
    text = "ssn 5\u200b3\u200b6-22-12\u200b34 ok"
    (finding,) = engine.analyze(text)
    assert finding.entity_type == "US_SSN"
    redacted = text[: finding.start] + "<US_SSN>" + text[finding.end :]
    assert redacted == "ssn <US_SSN> ok"


def test_fullwidth_context_and_digits(kinds_of) -> None:
    assert kinds_of("\uff53\uff53\uff4e\uff1a\uff15\uff13\uff16\uff0d\uff12\uff12\uff0d"
                    "\uff11\uff12\uff13\uff14") == ["US_SSN"]


def test_look_alikes_still_clean(kinds_of) -> None:
    # Normalization must not make numbers out of what is not: a Luhn failure in
    # fullwidth digits is still a Luhn failure, and a phone number stays one.
    assert kinds_of("card \uff14\uff15\uff13\uff19 1488 0343 6468") == []
    assert kinds_of("call me at \u0664\u0661\u0665-\u0665\u0665\u0665-\u0660\u0661\u0663\u0662") == []


def test_piiguard_scan_reports_original_offsets(engine) -> None:
    import json

    from piiguard.scan import scan_lines

    text = "card \u0664\u0665\u0663\u0669\u200b1488\u00a00343\u20136467 thanks"
    (line,) = list(scan_lines([json.dumps({"id": "m1", "text": text})], engine))
    assert line["verdict"] == "delete"
    (entity,) = line["entities"]
    assert entity["type"] == "CREDIT_CARD"
    assert text[entity["start"] : entity["end"]] == (
        "\u0664\u0665\u0663\u0669\u200b1488\u00a00343\u20136467"
    )
