"""Health data tied to a person: vocabularies as data, relations per category, persons.

Each mechanism has its positives and its negatives: the vocabulary matcher,
the per-category relation (has / is on / undergoes / came back / is in),
the person cues (names, roles, pronouns, the author), Spanish and Portuguese.
"""

from __future__ import annotations

import pytest

from piiguard.detection.recognizers.health_terms import VOCABULARY, find_terms, term_tokens


def test_vocabularies_are_large_and_multilingual() -> None:
    categories: dict[object, set[object]] = {}
    for tokens, category in VOCABULARY.items():
        categories.setdefault(category, set()).add(tokens)
    assert len(categories["med"]) >= 400
    assert len(categories["serious"]) >= 300
    assert len(categories["treatment"]) >= 100
    assert {"pregnancy", "disability", "hospital", "test", "mild", "otc"} <= categories.keys()
    for term in ("quimioterapia", "diálise", "grávida", "embarazada", "insulina"):
        assert term_tokens(term) in VOCABULARY


def test_matcher_prefers_longest_term_and_inflections() -> None:
    text = "after her breast cancer and two kidney transplants, crohn\u2019s disease"
    found = [(text[s:e], c) for s, e, c in find_terms(text)]
    assert ("breast cancer", "serious") in found
    assert ("kidney transplants", "treatment") in found
    assert ("crohn\u2019s disease", "serious") in found
    assert [c for _, _, c in find_terms("open heart surgery")] == ["treatment"]
    assert [c for _, _, c in find_terms("open-heart surgery")] == ["treatment"]


@pytest.mark.parametrize(
    "text",
    [
        # medications, generic and brand, with a person
        "fyi Omar is on Eliquis since the clot, no long flights for him",
        "my manager takes Lexapro, she mentioned it at lunch",
        "Our CFO was prescribed Wegovy in March",
        "Grace injects Humalog before lunch",
        "Hiro's been taking lamotrigine for years",
        # treatments and procedures
        "Beatriz is undergoing radiation therapy this month",
        "our VP has dialysis three times a week",
        "Noah has physical therapy sessions every Tuesday",
        "my boss is recovering from a hip replacement",
        "Ines just finished her second round of immunotherapy",
        # test results, pregnancy, disability, hospital stays
        "Yusuf's MRI came back clean",
        "Chloe is 14 weeks pregnant",
        "Sven is legally blind, so please share slides in advance",
        "Amara is in the ICU since Sunday",
        # roles and pronouns referring back
        "Talked to my manager. She starts chemo on Monday.",
        "our new hire is on antidepressants and asked for flexible hours",
        # first person
        "I'm starting dialysis next week so I'll be slower on reviews",
        # Spanish and Portuguese
        "mi compañera está en tratamiento de quimioterapia",
        "La jefa de Lucía toma insulina",
        "Roberto tiene esclerosis múltiple",
        "minha esposa está grávida de 5 meses",
        "O gerente está fazendo hemodiálise",
        "Meu pai foi internado na UTI ontem",
        "A Paula tem lúpus",
    ],
)
def test_health_tied_to_a_person(kinds_of, text: str) -> None:
    assert "MEDICAL_CONDITION" in kinds_of(text)


@pytest.mark.parametrize(
    "text",
    [
        "flu season is here, get your shots",
        "the build is sick",
        "the cancer research grant got approved",
        "Pfizer's Eliquis sales beat estimates",
        "Novo raised Wegovy prices again",
        "dialysis clinics are a big vertical for us",
        "the chemotherapy scheduling module is flaky",
        "Sam admitted the deploy was his fault",
        "turn a blind eye to the lint warnings",
        "he is deaf to feedback",
        "the hospital integration is down",
        "I took the lithium battery out of the drone",
        "a stroke of luck for Dana",
        "Lee runs the pregnancy app onboarding",
        "our therapy booking flow is broken",
        "many users are on insulin, so the reminder matters",
        "the campaign de câncer de mama começa hoje",
        "el hospital nuevo abre en marzo",
        "Nina is working on the chemo dosage calculator",
        "Mark is on the Humira pricing team",
    ],
)
def test_health_talk_without_a_person_is_clean(kinds_of, text: str) -> None:
    assert kinds_of(text) == []


def test_over_the_counter_drugs_need_a_clinical_relation(kinds_of) -> None:
    assert kinds_of("grabbed an Advil, back in 5") == []
    assert "MEDICAL_CONDITION" in kinds_of("Dana was prescribed naproxen for her arthritis")


def test_drug_and_procedure_word_shapes() -> None:
    text = "she is on dapoxetine and had a zanectomy, the concept of april"
    found = {text[s:e]: c for s, e, c in find_terms(text)}
    assert found == {"dapoxetine": "med", "zanectomy": "treatment"}


@pytest.mark.parametrize(
    ("text", "health"),
    [
        ("Ravi is on bexagliflozin now", True),  # unknown generic, drug-shaped
        ("Ravi had a thoracentesis on Monday", True),
        ("Ravi is on the bexagliflozin launch team", False),
        ("Ravi está no hospital para a reunião com o cliente", False),
        ("Ravi is at the hospital for the EHR rollout", False),
        ("Ravi está internado no hospital", True),
    ],
)
def test_shapes_and_visits(kinds_of, text: str, health: bool) -> None:
    assert ("MEDICAL_CONDITION" in kinds_of(text)) is health


@pytest.mark.parametrize(
    ("text", "health"),
    [
        ("ana tiene lupus", True),  # a first name in lower case
        ("fyi priya is on chemo this month", True),
        ("the ana pipeline has cancer", False),  # a determiner: not a name
        ("Jo has a hearing disability", True),
        ("Dana is a huge disability advocate", False),
        ("Raj is our dialysis expert", False),
    ],
)
def test_name_list_and_states(kinds_of, text: str, health: bool) -> None:
    assert ("MEDICAL_CONDITION" in kinds_of(text)) is health


@pytest.mark.parametrize(
    "text",
    ["Cormac's on a new antidepressant", "Yolanda está de baja por una cirugía",
     "a Rita faz tratamento para ansiedade", "Omar is being treated for anxiety"],
)
def test_contractions_and_treatment_for(kinds_of, text: str) -> None:
    assert "MEDICAL_CONDITION" in kinds_of(text)


def test_jobs_in_a_health_field_are_not_health(kinds_of) -> None:
    assert kinds_of("Benedikt is interviewing for the dialysis ops role") == []
    assert kinds_of("the anxiety of launch week is real") == []


def test_generic_medication_words_and_team_names(kinds_of) -> None:
    assert "MEDICAL_CONDITION" in kinds_of("Leonor is on meds for her anxiety")
    assert "MEDICAL_CONDITION" in kinds_of("our bookkeeper is going into surgery Thursday")
    assert kinds_of("Itzel joined from the hospital IT team") == []


@pytest.mark.parametrize(
    ("text", "health"),
    [
        ("Kirra has a follow-up with her oncologist", True),
        ("Ana sees a psychiatrist weekly", True),
        ("Dana uses an inhaler for asthma", True),
        ("our oncologist users love the new UI", False),
        ("we hired a therapist for the offsite", False),
        ("the app uses a CGM integration", False),
    ],
)
def test_specialists_and_devices(kinds_of, text: str, health: bool) -> None:
    assert ("MEDICAL_CONDITION" in kinds_of(text)) is health


@pytest.mark.parametrize(
    ("text", "health"),
    [
        # he or she is one person, as "I" is, for a drug, a treatment or a condition
        ("she's been taking Zoloft since the spring", True),
        ("he's back on prednisone this week", True),
        ("she is doing chemo again", True),
        ("she's on the oncall rotation", False),  # no health term
        ("he's taking the lead on the insulin pump launch", False),  # a product, no relation
        ("they're on insulin in the trial arm", False),  # "they" may be a group: needs a name
        # an invasive test is a procedure one undergoes, not only a result
        ("Kofi is having a biopsy on Thursday", True),
        ("the biopsy results pipeline is slow", False),
        # where on the body, between the relation and the procedure
        ("Ines is out for a shoulder arthroscopy until June", True),
        ("Omar is having hip replacement surgery in May", True),
        # procedure shapes that are words of labs and logic
        ("Ana is doing spectroscopy on the samples", False),
        ("that's a false dichotomy, Jim", False),
    ],
)
def test_pronouns_invasive_tests_and_body_parts(kinds_of, text: str, health: bool) -> None:
    assert ("MEDICAL_CONDITION" in kinds_of(text)) is health
