"""Health information is tied to a person; talk about illness is not."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "text",
    [
        "Dana Reyes was diagnosed with type 2 diabetes last week",
        "Patient John Smith, 54, admitted with chest pain",
        "<@U0G9QF9C6> is on lithium for bipolar disorder",
        "Tom's biopsy came back malignant",
        "Mike is going through chemo so he'll be remote",
        "my wife was diagnosed with breast cancer",
        "Jamal Wright has epilepsy, so no strobe lights please",
    ],
)
def test_health_tied_to_person(kinds_of, text: str) -> None:
    assert "MEDICAL_CONDITION" in kinds_of(text)


@pytest.mark.parametrize(
    "text",
    [
        "flu season is here, get your shots",
        "our diabetes feature ships Friday",
        "Sam is out sick today",
        "Dr. Patel's talk on diabetes research was great",
        "our app helps users diagnosed with diabetes track glucose",
        "The diabetes cohort is done; 412 patients were diagnosed with type 2",
        "the MRI scheduling service is down again",
        "Jenna is leading the cancer screening campaign",
        "moving to <#C024BE7LR|diabetes-feature>",
    ],
)
def test_illness_talk_is_clean(kinds_of, text: str) -> None:
    assert kinds_of(text) == []


def test_mrn_is_health_information(kinds_of) -> None:
    assert kinds_of("MRN: 004417823, bed 12") == ["MEDICAL_CONDITION", "MEDICAL_RECORD_NUMBER"]


def test_batch_uses_ner_for_unusual_names(engine) -> None:
    texts = ["update: o'neill-smith was diagnosed with lupus", "lunch?"] * 3
    outcomes = engine.scan_many(texts)
    assert [o.kinds for o in outcomes] == [engine.scan(t).kinds for t in texts]
