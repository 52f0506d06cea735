"""Financial and government-id recognizers: checksums, context, look-alikes."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("my card is 4539 1488 0343 6467, exp 08/27", "CREDIT_CARD"),
        ("amex 3714 496353 98431", "CREDIT_CARD"),
        ("cc 5425233430109903", "CREDIT_CARD"),
        ("IBAN GB82 WEST 1234 5698 7654 32", "IBAN_CODE"),
        ("wire to DE89370400440532013000 today", "IBAN_CODE"),
        ("checking account 12345678901, routing 021000021", "US_BANK_NUMBER"),
        ("my SSN is 536-22-1234", "US_SSN"),
        ("ssn 536221234", "US_SSN"),
        ("social: 536 22 1234", "US_SSN"),
        ("ITIN 912-70-1234", "US_ITIN"),
        ("passport number 512345678", "US_PASSPORT"),
        ("driver's license D1234567", "US_DRIVER_LICENSE"),
        ("NHS number 943 476 5919", "UK_NHS"),
    ],
)
def test_finds_number(kinds_of, text: str, kind: str) -> None:
    assert kind in kinds_of(text)


@pytest.mark.parametrize(
    "text",
    [
        "my card is 4539 1488 0343 6468",  # Luhn fails
        "call me at 415-555-0132",
        "call 943 476 5919 tomorrow",  # NHS-valid digits, but a phone number
        "my number is 943-476-5919",
        "order #4539148803436467 shipped",
        "tracking 9400 1000 0000 0000 0000 00",
        "Use 4242 4242 4242 4242 in Stripe test mode",
        "card ending in 4242",
        "charged to **** **** **** 1234",
        "SSN XXX-XX-1234",
        "Example SSN format: 123-45-6789",
        "our AWS account 123456789012 is over budget",
        "account 12345678 in Salesforce",
        "IBAN GB82 WEST 1234 5698 7654 33",  # checksum fails
        "released v2.13.4",
        "Windows 10 build 19045.3803",
        "request id 123e4567-e89b-12d3-a456-426614174000",
        "MIT license, version 4.17.21",
        "license key ABCDE-12345-FGHIJ-67890",
        "<https://acme.zendesk.com/agent/tickets/482913777|ticket>",
        "message ts 1712345678.123456",
        "2024-01-15T10:22:33Z deploy finished",
    ],
)
def test_lookalikes_are_clean(kinds_of, text: str) -> None:
    assert kinds_of(text) == []


def test_offsets_cover_the_number(engine) -> None:
    text = "ssn: 536-22-1234."
    (finding,) = engine.analyze(text)
    assert text[finding.start : finding.end] == "536-22-1234"


@pytest.mark.parametrize(
    "text",
    [
        "BG80 BNBG 9661 1020 3456 78",  # a BBAN of letters: no run of eight digits
        "MT84MALT011000012345MTLCAST001S",
        "KW81CBKU0000000000001234560101",
        "IBAN: FK88 SC12 3456 7890 12",  # Falkland Islands, in the registry since 2023
        "OM81 0180 0000 0129 9123 456",  # Oman
        "IBAN-DE89-3704-0044-0532-0130-00",
        # loose groupings: a space after the country code, dots, a lower-case BBAN letter
        "DE 89 3704 0044 0532 0130 00",
        "DE89.3704.0044.0532.0130.00",
        "pay to GB 82 west 1234 5698 7654 32 please",
        "DE 89 370 400 440 532 013 000",
    ],
)
def test_ibans_of_every_shape(kinds_of, text: str) -> None:
    assert kinds_of(text) == ["IBAN_CODE"]


@pytest.mark.parametrize(
    "text",
    [
        "DE 89 3704.0044.0532.0130.01",  # loose grouping, checksum fails
        "GB 82 west 1234 5698 7654 3",  # one character short
        "section AB 12 of the standard, item 3.4.5 and 6.7.8",
        "DE89 3704 0044 0532 0130 00xyz",  # runs on into a word
    ],
)
def test_loose_iban_look_alikes_are_clean(kinds_of, text: str) -> None:
    assert kinds_of(text) == []


def test_several_ibans_in_a_row(engine) -> None:
    text = "DE89370400440532013000 GB82WEST12345698765432 NL91ABNA0417164300"
    assert [text[f.start : f.end] for f in engine.analyze(text)] == text.split()


def test_iban_registry_is_complete_and_consistent() -> None:
    import re

    from piiguard.detection.recognizers.validation import IBAN_FORMATS

    recent = {"BI", "DJ", "EG", "FK", "HN", "LY", "MN", "NI", "OM", "RU", "SO", "SD", "YE"}
    assert recent <= set(IBAN_FORMATS)
    for country, fmt in IBAN_FORMATS.items():
        bban = sum(int(n) for n in re.findall(r"\d+", fmt.bban))
        assert bban + 4 == fmt.length, country
