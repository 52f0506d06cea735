"""Evasion by Unicode, end to end: a card number or an SSN hidden with invisible
characters, another script's digits, unusual spaces or look-alike dashes is deleted,
and the author's DM quotes it redacted at the right offsets.

Real nats-server, real service processes, real Presidio, real slack_sdk against the
Slack stand-in (see test_pipeline.py). One case per character class; the classes'
full coverage is in tests/detection/test_normalize.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import slack_events

from .conftest import Harness, running_pipeline, wait_for
from .test_pipeline import quoted_texts

pytestmark = pytest.mark.e2e

CARD = ["4539", "1488", "0343", "6467"]
# name: (words before, the hidden number, its kind); every message ends in " thanks".
CASES = {
    "zero-width space": ("my card is ", "\u200b".join("".join(CARD)), "CREDIT_CARD"),
    "soft hyphen and joiner": (
        "card ", "\u00ad".join(CARD[:2]) + "\u200d" + "".join(CARD[2:]), "CREDIT_CARD"),
    "Arabic-Indic digits": (
        "card ", "".join(chr(0x0660 + int(d)) for d in "".join(CARD)), "CREDIT_CARD"),
    "fullwidth digits": (
        "card ", " ".join("".join(chr(0xFF10 + int(d)) for d in g) for g in CARD), "CREDIT_CARD"),
    "no-break and thin spaces": (
        "card ", "\u00a0".join(CARD[:2]) + "\u2009" + "\u202f".join(CARD[2:]), "CREDIT_CARD"),
    "SSN with en dashes and a word joiner": ("my SSN is ", "536\u201322\u2060\u20138471", "US_SSN"),
}


@pytest.fixture(scope="module")
def redacting(tmp_path_factory: pytest.TempPathFactory, slack) -> Iterator[Harness]:
    policy = "actions:\n  message:\n    quote: redacted\n"
    with running_pipeline(tmp_path_factory.mktemp("evasion"), slack, policy) as harness:
        yield harness


@pytest.mark.parametrize("name", list(CASES))
def test_hidden_number_is_deleted_and_quoted_redacted(redacting: Harness, name: str) -> None:
    before, hidden, kind = CASES[name]
    text = f"{before}{hidden} thanks"
    payload = slack_events.message_event(text, user="UEVE", channel="C0001")
    ts = payload["event"]["ts"]
    assert redacting.post(payload).status == 200
    wait_for(lambda: redacting.deletes_of(ts), timeout=60)
    dm = wait_for(lambda: redacting.dms_about(ts), timeout=60)
    (quote,) = quoted_texts(dm[0].args["blocks"])
    # The whole number, invisible characters included, is replaced; the words around stay.
    assert quote == f"{before}[{kind}] thanks"
