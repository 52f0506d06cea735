"""Government ids beyond the US: checksums, context (English, Portuguese, Spanish),
glued context, presets, and the look-alikes that must stay clean."""

from __future__ import annotations

import random

import pytest

from piiguard.detection.engine import DetectionEngine
from piiguard.detection.recognizers import validation as v
from piiguard.policy import DEFAULT_POLICY, PRESET_KINDS, EntityAction, policy_from_mapping
from tests.detection import id_gen


@pytest.fixture(scope="module")
def presets_engine() -> DetectionEngine:
    return DetectionEngine(policy_from_mapping({"detection": {"presets": list(PRESET_KINDS)}}))


def _kinds(engine: DetectionEngine, text: str) -> list[str]:
    return engine.scan(text).kinds


# -- validators: generated valid numbers pass, one changed digit fails ---------------


@pytest.mark.parametrize(
    ("make", "valid"),
    [
        (id_gen.cpf, v.cpf_valid), (id_gen.cnpj, v.cnpj_valid), (id_gen.sin, v.sin_valid),
        (id_gen.aadhaar, v.aadhaar_valid), (id_gen.tfn, v.tfn_valid), (id_gen.dni, v.dni_valid),
        (id_gen.nie, v.dni_valid), (id_gen.codice_fiscale, v.codice_fiscale_valid),
    ],
)  # fmt: skip
def test_generated_ids_validate_and_typos_do_not(make, valid) -> None:
    rng = random.Random(1)
    typos_caught = typos = 0
    for _ in range(200):
        number = make(rng)
        assert valid(number), number
        i = rng.randrange(len(number))
        if number[i].isdigit():
            typo = number[:i] + str((int(number[i]) + rng.randint(1, 9)) % 10) + number[i + 1 :]
            typos += 1
            typos_caught += not valid(typo)
    assert typos > 20 and typos_caught >= 0.85 * typos


def test_published_samples() -> None:
    assert v.cpf_valid("52998224725") and not v.cpf_valid("52998224726")
    assert v.cpf_valid("11144477735") and not v.cpf_valid("11111111111")
    assert v.cnpj_valid("11222333000181") and not v.cnpj_valid("11222333000182")
    assert v.sin_valid("046454286") and not v.sin_valid("046454287")
    assert v.aadhaar_valid("234123412346") and not v.aadhaar_valid("234123412347")
    assert v.nino_valid("AB123456C") and not v.nino_valid("QQ123456C")
    assert not v.nino_valid("BG123456A") and not v.nino_valid("AO123456A")
    assert v.pan_valid("ABCPE1234F") and not v.pan_valid("ABCXE1234F")
    assert v.dni_valid("12345678Z") and not v.dni_valid("12345678A")
    assert v.dni_valid("X1234567L") and v.dni_valid("Y1234567X")
    assert v.codice_fiscale_valid("RSSMRA85T10A562S") and not v.codice_fiscale_valid(
        "RSSMRA85T10A562T"
    )
    assert v.tfn_valid("123456782") and not v.tfn_valid("123456781")
    assert v.verhoeff_valid("2363") and not v.verhoeff_valid("2364")


# -- recognizers, with the presets on ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("meu CPF é 529.982.247-25", "BR_CPF"),
        ("segue o documento 529.982.247-25", "BR_CPF"),
        ("529.982.247-25", "BR_CPF"),  # the printed form stands alone
        ("cpf 52998224725", "BR_CPF"),
        ("CPF:52998224725", "BR_CPF"),
        ("numeroDoCpf=52998224725", "BR_CPF"),
        ("CNPJ 11.222.333/0001-81", "BR_CNPJ"),
        ("11.222.333/0001-81", "BR_CNPJ"),
        ("razão social ACME, cnpj 11222333000181", "BR_CNPJ"),
        ("NI number AB 12 34 56 C", "UK_NINO"),
        ("national insurance: AB123456C", "UK_NINO"),
        ("my SIN is 046 454 286", "CA_SIN"),
        ("numéro d'assurance sociale 046-454-286", "CA_SIN"),
        ("Aadhaar 2341 2341 2346", "IN_AADHAAR"),
        ("aadhaarNo:234123412346", "IN_AADHAAR"),
        ("PAN ABCPE1234F", "IN_PAN"),
        ("mi DNI es 12.345.678-Z", "ES_NIF"),
        ("DNI 12345678Z", "ES_NIF"),
        ("NIE X1234567L", "ES_NIE"),
        ("número de identidad de extranjero Y-1234567-X", "ES_NIE"),
        ("codice fiscale RSSMRA85T10A562S", "IT_FISCAL_CODE"),
        ("RSSMRA85T10A562S", "IT_FISCAL_CODE"),
        ("TFN 123 456 782", "AU_TFN"),
        ("tax_file_number=123456782", "AU_TFN"),
    ],
)
def test_finds_national_id(presets_engine: DetectionEngine, text: str, kind: str) -> None:
    assert kind in _kinds(presets_engine, text)


@pytest.mark.parametrize(
    "text",
    [
        "o número 52998224725 do pedido",  # CPF-valid digits, no CPF words: a number
        "ligue 11 98765-4321",  # a Brazilian mobile number
        "pedido 529.982.247-26",  # check digits fail
        "order QQ123456C",  # prefix HMRC never issues
        "046 454 286 items shipped",  # SIN-valid, no context
        "2341 2341 2346 rows",  # Verhoeff-valid, no context
        "AWS account 2341-2341-2346",
        "ref 12345678A",  # DNI shape, wrong letter
        "123 456 782 is the ticket",  # TFN-valid, no context
        "RSSMRA85T10A562T",  # codice fiscale with a wrong check letter
    ],
)
def test_national_look_alikes_are_clean(presets_engine: DetectionEngine, text: str) -> None:
    assert _kinds(presets_engine, text) == []


def test_presets_are_off_by_default(engine: DetectionEngine) -> None:
    for text in ("meu CPF é 529.982.247-25", "NIE X1234567L", "TFN 123 456 782"):
        assert engine.scan(text).kinds == []
    assert DEFAULT_POLICY.detection.presets == ()


def test_a_preset_turns_on_only_its_country() -> None:
    engine = DetectionEngine(policy_from_mapping({"detection": {"presets": ["br"]}}))
    assert engine.scan("meu CPF é 529.982.247-25").kinds == ["BR_CPF"]
    assert engine.scan("NIE X1234567L").kinds == []
    assert engine.scan("my SSN is 536-22-1234").kinds == ["US_SSN"]  # defaults stay


def test_rules_override_presets() -> None:
    policy = policy_from_mapping({"detection": {"presets": ["br"]},
                                  "actions": {"rules": {"BR_CNPJ": "notify"}}})
    assert policy.action_for("BR_CPF") is EntityAction.DELETE
    assert policy.action_for("BR_CNPJ") is EntityAction.NOTIFY
    assert policy.action_for("ES_NIF") is EntityAction.IGNORE


def test_unknown_preset_is_refused() -> None:
    from piiguard.policy import PolicyError

    with pytest.raises(PolicyError, match="presets"):
        policy_from_mapping({"detection": {"presets": ["xx"]}})


# -- SSN / ITIN variants -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("SSN536-22-1234", "US_SSN"),
        ("mySSN=536221234", "US_SSN"),
        ("SocialSecurityNumber: 536 221 234", "US_SSN"),
        ("ssn 5362 21234", "US_SSN"),
        ("social_security_number 536.22.1234", "US_SSN"),
        ("ITIN:912-70-1234", "US_ITIN"),
        ("TaxpayerID 912 701 234", "US_ITIN"),
    ],
)
def test_ssn_variants(kinds_of, text: str, kind: str) -> None:
    assert kinds_of(text) == [kind]


@pytest.mark.parametrize("text", ["build536221234", "part 536 221 234", "5362 21234 rows"])
def test_ssn_variant_look_alikes(kinds_of, text: str) -> None:
    assert kinds_of(text) == []


# -- national bank accounts ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("sort code 20-00-00, account 55779911", "UK_BANK_ACCOUNT"),
        ("please pay to Barclays 20-00-00 55779911", "UK_BANK_ACCOUNT"),
        ("BSB 062-000 account 12345678", "AU_BANK_ACCOUNT"),
        ("Agência 1234-5 conta corrente 12345-6", "BR_BANK_ACCOUNT"),
        ("IFSC SBIN0001234 account no 123456789012", "IN_BANK_ACCOUNT"),
    ],
)
def test_national_bank_accounts(presets_engine: DetectionEngine, text: str, kind: str) -> None:
    assert _kinds(presets_engine, text) == [kind]


@pytest.mark.parametrize(
    "text",
    ["order 55779911 shipped", "call 20 00 00 55779911", "room 20-00-00, 55779911 rows",
     "pedido 12345-6 entregue"],
)
def test_national_bank_account_look_alikes(presets_engine: DetectionEngine, text: str) -> None:
    assert _kinds(presets_engine, text) == []


# -- presets: a bare checksum-valid id of an enabled country stands alone -------------


def _grouped(number: str, sep: str, size: int) -> str:
    return sep.join(number[i : i + size] for i in range(0, len(number), size))


@pytest.mark.parametrize(
    ("preset", "kind", "make"),
    [
        ("ca", "CA_SIN", lambda rng: _grouped(id_gen.sin(rng), " ", 3)),
        ("ca", "CA_SIN", lambda rng: _grouped(id_gen.sin(rng), "-", 3)),
        ("in", "IN_AADHAAR", id_gen.aadhaar),
        ("in", "IN_AADHAAR", lambda rng: _grouped(id_gen.aadhaar(rng), ":", 4)),
        ("au", "AU_TFN", lambda rng: _grouped(id_gen.tfn(rng), " ", 3)),
        ("br", "BR_CPF", id_gen.cpf),
    ],
)  # fmt: skip
def test_a_preset_reports_its_bare_valid_ids(preset: str, kind: str, make) -> None:
    with_preset = DetectionEngine(policy_from_mapping({"detection": {"presets": [preset]}}))
    by_rule = DetectionEngine(policy_from_mapping({"actions": {"rules": {kind: "delete"}}}))
    rng = random.Random(5)
    for _ in range(20):
        number = make(rng)
        if len(set(number) - set(" -:")) <= 2:
            continue
        assert kind in _kinds(with_preset, number), number
        assert kind in _kinds(with_preset, f"here you go: {number}"), number
        # a kind enabled by a rule, not by its preset, still wants a context word
        assert _kinds(by_rule, number) == [], number


@pytest.mark.parametrize(
    "text",
    [
        "build{n}",  # glued to a word
        "{n} rows imported",  # a count
        "{n} items",
        "order {n}",
        "customer {n}",
        "{n} is the ticket",
        "https://example.com/r/{n}",
    ],
)
def test_a_preset_bare_id_in_another_role_stays_clean(text: str) -> None:
    engine = DetectionEngine(policy_from_mapping({"detection": {"presets": ["ca", "in"]}}))
    rng = random.Random(9)
    for make in (id_gen.sin, id_gen.aadhaar):
        number = make(rng)
        assert _kinds(engine, text.format(n=number)) == [], text.format(n=number)


def test_a_preset_reads_lower_case_ninos_and_short_dnis() -> None:
    engine = DetectionEngine(policy_from_mapping({"detection": {"presets": ["uk", "es"]}}))
    rng = random.Random(3)
    nino = id_gen.nino(rng)
    assert "UK_NINO" in _kinds(engine, nino.lower())
    # a DNI below ten million is written with seven digits
    number = 1234567
    letter = "TRWAGMYFPDXBNJZSQVHLCKE"[number % 23]
    assert "ES_NIF" in _kinds(engine, f"{number}{letter}")
    assert "ES_NIF" in _kinds(engine, f"{number}-{letter}")
    wrong = "TRWAGMYFPDXBNJZSQVHLCKE"[(number + 1) % 23]
    assert _kinds(engine, f"{number}{wrong}") == []


def test_a_preset_wants_a_sin_grouped_as_sins_are_written() -> None:
    engine = DetectionEngine(policy_from_mapping({"detection": {"presets": ["ca"]}}))
    number = id_gen.sin(random.Random(2))
    assert _kinds(engine, number) == []  # compact: any nine-digit number
    assert _kinds(engine, f"SIN {number}") == ["CA_SIN"]
