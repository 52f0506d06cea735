"""Template families for the detection benchmark: numbers and evasion.

Usage::

    python bench/data/generate_families.py

writes two files under ``bench/data/families/``:

* ``numbers_tuned.jsonl`` (``heldout: false``): the first round of families.
  They were measured once before any change, then used to find and fix
  mechanisms (the IBAN prefilter, card expiry context), so they no longer
  count as held out.
* ``numbers_heldout.jsonl`` (``heldout: true``): a second round written after
  those fixes and never tuned on: new templates (config files, JSON, CSV,
  e-mail style), Faker's own valid-number generators (independent of ours),
  and evasion mixes the first round did not use.

The templates, phrasings and number mixes of both differ from
``generate_corpus.py``, and their figures are printed apart by
``bench/detection.py``. Every positive is a
valid-checksum number of its kind (cards of every network, IBANs of every
registry country, ids of every preset); every negative is a look-alike that a
careful reader keeps (checksum failures, order and tracking numbers, phone
numbers, timestamps, UUIDs, hashes). The Unicode-evasion families hide
positives with characters drawn from whole Unicode categories.

Deterministic (fixed seed), so the file only changes when this script does.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT / "services"), str(ROOT)]

from faker import Faker  # noqa: E402

from piiguard.detection.recognizers.financial import _IIN_TABLE  # noqa: E402
from piiguard.detection.recognizers.validation import IBAN_FORMATS, mod97  # noqa: E402
from tests.detection import id_gen  # noqa: E402
from tests.detection.luhn_gen import card, luhn_break  # noqa: E402

OUT_TUNED = HERE / "families" / "numbers_tuned.jsonl"
OUT_HELDOUT = HERE / "families" / "numbers_heldout.jsonl"
rng = random.Random(20261201)
fakers = {loc: Faker(loc) for loc in ("en_US", "en_GB", "pt_BR", "es_ES", "de_DE", "fr_FR",
                                       "en_IN", "en_AU", "en_CA", "it_IT", "nl_NL")}
for index, fake in enumerate(fakers.values()):
    fake.seed_instance(index)
en = fakers["en_US"]

Row = dict[str, object]


def row(family: str, group: str, text: str, kinds: list[str], presets: tuple[str, ...] = (),
        *, heldout: bool = False) -> Row:
    out: Row = {"text": text, "kinds": kinds, "delete": bool(kinds), "group": group,
                "family": family, "source": "generated", "heldout": heldout}
    if presets:
        out["presets"] = list(presets)
    return out


# -- number makers -------------------------------------------------------------------


def any_card() -> tuple[str, str]:
    """(network, number) for a random network range and a length it issues."""
    name, low, high, lengths, common = rng.choice(_IIN_TABLE)
    if not common:
        return any_card()
    width = len(low)
    prefix = str(rng.randint(int(low), int(high))).zfill(width)
    length = rng.choice(common) if rng.random() < 0.8 else rng.choice(list(lengths))
    return name, card(prefix, length, rng)


def grouped(number: str, style: str) -> str:
    if style == "compact":
        return number
    sep = {"space": " ", "dash": "-", "dot": ".", "dspace": "  "}[style]
    if len(number) == 15:
        return sep.join([number[:4], number[4:10], number[10:]])
    if len(number) == 14:
        return sep.join([number[:4], number[4:10], number[10:]])
    return sep.join(number[i : i + 4] for i in range(0, len(number), 4))


def bban(fmt: str) -> str:
    out = []
    for count, kind in re.findall(r"(\d+)!?([nac])", fmt):
        alphabet = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                    "c": "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"}[kind]
        out.append("".join(rng.choice(alphabet) for _ in range(int(count))))
    return "".join(out)


def iban(country: str) -> str:
    body = bban(IBAN_FORMATS[country].bban)
    check = 98 - mod97(body + country + "00")
    return f"{country}{check:02d}{body}"


def iban_grouped(value: str, style: str) -> str:
    if style == "compact":
        return value
    sep = " " if style == "space" else "-"
    return sep.join(value[i : i + 4] for i in range(0, len(value), 4))


def ssn() -> str:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            return f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"


# -- Unicode classes -----------------------------------------------------------------


def _category(*cats: str) -> list[str]:
    return [chr(c) for c in range(0x20, 0x110000)
            if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) in cats]


FORMAT = _category("Cf")
SPACES = [c for c in _category("Zs") if c != " "]
DASHES = [c for c in _category("Pd") if c != "-"] + ["\u2212"]
ZEROS = [c for c in _category("Nd") if unicodedata.decimal(c) == 0 and c != "0"]
MARKS = [chr(c) for c in range(0x300, 0x370)]  # combining diacritics over digits


def in_script(digits: str, zero: str) -> str:
    return "".join(chr(ord(zero) + int(d)) if d.isdigit() else d for d in digits)


def evade(value: str, how: str) -> str:
    if how == "format":
        char = rng.choice(FORMAT)
        return char.join(value)
    if how == "format-mixed":
        return "".join(c + (rng.choice(FORMAT) if rng.random() < 0.5 else "") for c in value)
    if how == "space":
        return value.replace(" ", rng.choice(SPACES))
    if how == "digits":
        return in_script(value, rng.choice(ZEROS))
    if how == "fullwidth":
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in value)
    if how == "dash":
        return value.replace("-", rng.choice(DASHES))
    if how == "marks":
        return "".join(c + rng.choice(MARKS) if c.isdigit() else c for c in value)
    raise ValueError(how)


# -- families ------------------------------------------------------------------------

CARD_TEMPLATES = (
    "{name} asked me to put the offsite dinner on {card}, exp {exp}",
    "pls use this one for the AWS bill: {card} / {exp} / {cvc}",
    "Company {network} for the conference tickets: {card}",
    "{card} exp {exp} cvc {cvc} (that's the travel card)",
    "can someone book the flights? card {card}, name on card {name}",
    "ok here it is\n{card}\n{exp}",
    "the vendor needs the payment details: {card}",
    "Kreditkarte: {card} gültig bis {exp}",
    "cartão {card} validade {exp}",
    "tarjeta de crédito {card}, caduca {exp}",
)


def cards_networks() -> Iterator[Row]:
    for name, low, high, lengths, common in _IIN_TABLE:
        for length in sorted(set(lengths)):
            for _ in range(2):
                width = len(low)
                prefix = str(rng.randint(int(low), int(high))).zfill(width)
                number = card(prefix, length, rng)
                style = rng.choice(["compact", "space", "dash", "dot", "space"])
                template = rng.choice(CARD_TEMPLATES)
                if length not in common and "{network}" not in template and "card" not in template:
                    template = "Company {network} card for the conference tickets: {card}"
                yield row("card-network-sweep", "card", template.format(
                    name=en.first_name(), card=grouped(number, style), network=name,
                    exp=f"{rng.randint(1, 12):02d}/{rng.randint(26, 31)}", cvc=rng.randint(100, 999),
                ), ["CREDIT_CARD"])


def cards_several() -> Iterator[Row]:
    for _ in range(60):
        numbers = [any_card()[1] for _ in range(rng.randint(2, 4))]
        style = rng.choice(["compact", "space", "dash"])
        sep = rng.choice([" ", "  ", "\n", ", ", " and ", " | "])
        yield row("card-several-in-one-message", "card",
                  "cards for the new hires: " + sep.join(grouped(n, style) for n in numbers),
                  ["CREDIT_CARD"])


def cards_evasion() -> Iterator[Row]:
    for how in ("format", "format-mixed", "space", "digits", "fullwidth", "dash", "marks"):
        for _ in range(25):
            _, number = any_card()
            style = {"space": "space", "dash": "dash"}.get(how, rng.choice(["compact", "space"]))
            value = evade(grouped(number, style), how)
            template = rng.choice(("card {v} exp 09/29", "{v}", "paying with {v}",
                                   "use {v} for the renewal"))
            yield row(f"card-evasion-{how}", "card", template.format(v=value), ["CREDIT_CARD"])


IBAN_TEMPLATES = (
    "please wire the deposit to {iban} ({name})",
    "IBAN: {iban}",
    "Bitte überweisen Sie den Betrag auf {iban}",
    "Veuillez virer le montant sur le compte {iban}",
    "conta para transferência: {iban}",
    "mi cuenta es {iban}, a nombre de {name}",
    "new payee {name}\n{iban}",
    "refund goes to {iban} thanks!",
)


def ibans_every_country() -> Iterator[Row]:
    for country in sorted(IBAN_FORMATS):
        for style in ("compact", "space", "dash"):
            value = iban_grouped(iban(country), style)
            yield row("iban-every-country", "bank", rng.choice(IBAN_TEMPLATES).format(
                iban=value, name=en.name()), ["IBAN_CODE"])


def ibans_evasion() -> Iterator[Row]:
    countries = sorted(IBAN_FORMATS)
    for how in ("format", "space", "digits", "fullwidth", "dash"):
        for _ in range(15):
            style = "dash" if how == "dash" else ("space" if how == "space" else "compact")
            value = evade(iban_grouped(iban(rng.choice(countries)), style), how)
            yield row(f"iban-evasion-{how}", "bank", f"IBAN {value}", ["IBAN_CODE"])


SSN_TEMPLATES = (
    ("my social is {v}", "dash"), ("SSN {v} for the background check", "dot"),
    ("employee_ssn={v}", "compact"), ("Social Security No.: {v}", "space"),
    ("her SSN#{v}", "dash"), ("ssn: {v} (please update payroll)", "odd"),
    ("SocialSecurityNumber {v}", "compact"), ("{name}'s social security number is {v}", "dash"),
)


def ssn_variants() -> Iterator[Row]:
    for _ in range(80):
        digits = ssn()
        template, style = rng.choice(SSN_TEMPLATES)
        value = {"dash": f"{digits[:3]}-{digits[3:5]}-{digits[5:]}",
                 "dot": f"{digits[:3]}.{digits[3:5]}.{digits[5:]}",
                 "space": f"{digits[:3]} {digits[3:5]} {digits[5:]}", "compact": digits,
                 "odd": f"{digits[:3]} {digits[3:6]} {digits[6:]}"}[style]
        yield row("ssn-variants", "government_id", template.format(v=value, name=en.first_name()),
                  ["US_SSN"])


def ids_evasion() -> Iterator[Row]:
    for how in ("format", "format-mixed", "space", "digits", "fullwidth", "dash"):
        for _ in range(15):
            digits = ssn()
            value = f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"
            if how == "space":
                value = value.replace("-", " ")
            yield row(f"ssn-evasion-{how}", "government_id", f"my SSN is {evade(value, how)}",
                      ["US_SSN"])


def _fmt_cpf(v: str) -> str:
    return f"{v[:3]}.{v[3:6]}.{v[6:9]}-{v[9:]}"


def _fmt_cnpj(v: str) -> str:
    return f"{v[:2]}.{v[2:5]}.{v[5:8]}/{v[8:12]}-{v[12:]}"


_Formats = tuple[Callable[[str], str], ...]
NATIONAL: tuple[
    tuple[str, str, str, Callable[[random.Random], str], _Formats, tuple[str, ...]], ...
] = (
    ("br", "BR_CPF", "cpf", id_gen.cpf, (_fmt_cpf, str),
     ("Paciente {name}, CPF {v}, retorno na sexta", "meu cpf: {v}", "segue o CPF do titular {v}",
      "CPF do cliente para a nota: {v}")),
    ("br", "BR_CNPJ", "cnpj", id_gen.cnpj, (_fmt_cnpj, str),
     ("CNPJ da clínica: {v}", "fornecedor novo, cnpj {v}", "razão social ACME LTDA - CNPJ {v}")),
    ("uk", "UK_NINO", "nino", id_gen.nino,
     (lambda v: f"{v[:2]} {v[2:4]} {v[4:6]} {v[6:8]} {v[8:]}", str),
     ("my NI number is {v}", "National Insurance: {v}", "NINO {v} for the P45")),
    ("ca", "CA_SIN", "sin", id_gen.sin, (lambda v: f"{v[:3]} {v[3:6]} {v[6:]}",
                                         lambda v: f"{v[:3]}-{v[3:6]}-{v[6:]}", str),
     ("my SIN is {v}", "Social Insurance Number {v}", "NAS : {v}")),
    ("in", "IN_AADHAAR", "aadhaar", id_gen.aadhaar,
     (lambda v: f"{v[:4]} {v[4:8]} {v[8:]}", str),
     ("Aadhaar {v}", "my aadhar no is {v}", "UIDAI number: {v}")),
    ("in", "IN_PAN", "pan", id_gen.pan, (str,),
     ("PAN {v} for the TDS form", "my PAN card number is {v}", "{v}")),
    ("es", "ES_NIF", "dni", id_gen.dni, (str, lambda v: f"{v[:8]}-{v[8]}"),
     ("mi DNI es {v}", "DNI: {v}", "NIF del paciente {v}")),
    ("es", "ES_NIE", "nie", id_gen.nie, (str, lambda v: f"{v[0]}-{v[1:8]}-{v[8]}"),
     ("NIE {v}", "tarjeta de residencia, NIE: {v}", "mi número de extranjero es {v}")),
    ("it", "IT_FISCAL_CODE", "cf", id_gen.codice_fiscale, (str,),
     ("codice fiscale {v}", "il mio CF è {v}", "{v}")),
    ("au", "AU_TFN", "tfn", id_gen.tfn, (lambda v: f"{v[:3]} {v[3:6]} {v[6:]}", str),
     ("TFN {v}", "my tax file number is {v}", "Tax File Number: {v}")),
)


def national_ids() -> Iterator[Row]:
    for preset, kind, short, make, formats, templates in NATIONAL:
        for _ in range(20):
            value = rng.choice(formats)(make(rng))
            text = rng.choice(templates).format(v=value, name=fakers["pt_BR"].name())
            yield row(f"national-id-{short}", "government_id", text, [kind], (preset,))


# -- negatives -----------------------------------------------------------------------


def lookalike_checksums() -> Iterator[Row]:
    for _ in range(40):
        _, number = any_card()
        bad = luhn_break(number)
        yield row("negative-luhn-failure", "clean",
                  rng.choice(("order {v} confirmed", "card {v}", "{v}", "ref {v}")).format(
                      v=grouped(bad, rng.choice(["compact", "space"]))), [])
    for _ in range(30):
        value = iban(rng.choice(sorted(IBAN_FORMATS)))
        broken = value[:2] + f"{(int(value[2:4]) + rng.randint(1, 9)) % 100:02d}" + value[4:]
        if broken != value:
            yield row("negative-iban-checksum", "clean", f"IBAN {broken}", [])
    for _ in range(20):
        cpf = id_gen.cpf(rng)
        bad = cpf[:10] + str((int(cpf[10]) + 1) % 10)
        yield row("negative-cpf-checksum", "clean", f"protocolo {_fmt_cpf(bad)}", [], ("br",))
    for area in ("000", "666", *(str(a) for a in range(900, 1000, 17))):
        yield row("negative-ssn-invalid-area", "clean",
                  f"case {area}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}", [])


def order_numbers() -> Iterator[Row]:
    templates = ("Order #{v} has shipped", "your tracking number is {v}", "invoice {v} is overdue",
                 "ticket {v} was closed", "Transaction ID {v}", "Pedido {v} enviado",
                 "booking ref {v}", "shipment {v} delayed at customs", "PO {v} approved")
    for _ in range(80):
        length = rng.choice([10, 12, 14, 16, 18, 20, 22])
        digits = "".join(rng.choice("0123456789") for _ in range(length))
        if rng.random() < 0.3:
            digits = card("4", 16, rng)  # a Luhn-valid order number
        yield row("negative-order-numbers", "clean", rng.choice(templates).format(v=digits), [])
    for _ in range(20):
        ups = "1Z" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(16))
        yield row("negative-order-numbers", "clean", f"UPS tracking {ups}", [])


def phone_numbers() -> Iterator[Row]:
    for fake in fakers.values():
        for _ in range(12):
            number = fake.phone_number()
            yield row("negative-phone-numbers", "clean", rng.choice((
                "call me at {v}", "my mobile: {v}", "{v}", "reach the front desk on {v}",
                "WhatsApp {v}", "fax {v}")).format(v=number), [])


def timestamps_ids_hashes() -> Iterator[Row]:
    for _ in range(30):
        epoch = rng.randint(1_500_000_000, 1_900_000_000)
        yield row("negative-timestamps", "clean", rng.choice((
            "deployed at {s}", "ts={ms}", "event_time {us}", "slack ts {s}.{frac}",
            "{iso} job finished", "started {ms} ended {ms2}")).format(
            s=epoch, ms=epoch * 1000 + rng.randint(0, 999), us=epoch * 1_000_000,
            frac=f"{rng.randint(0, 999999):06d}", ms2=epoch * 1000 + rng.randint(1000, 99999),
            iso=f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
                f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"), [])
    for _ in range(30):
        u = uuid.UUID(int=rng.getrandbits(128), version=4)
        yield row("negative-uuids", "clean", rng.choice((
            "request id {u}", "trace {h}", "see run {u}", "customer_id={hex}")).format(
            u=u, h=u.hex, hex=u.hex[:24]), [])
    for _ in range(40):
        data = str(rng.random()).encode()
        yield row("negative-hashes", "clean", rng.choice((
            "sha256 {s256}", "commit {s1}", "fixed in {short}", "md5 {m}",
            "digest: sha256:{s256}", "etag \"{m}\"")).format(
            s256=hashlib.sha256(data).hexdigest(), s1=hashlib.sha1(data).hexdigest(),
            short=hashlib.sha1(data).hexdigest()[:10], m=hashlib.md5(data).hexdigest()), [])
    for _ in range(30):
        yield row("negative-numeric-misc", "clean", rng.choice((
            "bumped to v{a}.{b}.{c}", "revenue was ${big:,}", "build {build} passed",
            "p99 {ms} ms over {n} requests", "node 10.{a}.{b}.{c} is down",
            "AWS account {aws} is over budget", "ISBN 978{isbn}")).format(
            a=rng.randint(0, 255), b=rng.randint(0, 255), c=rng.randint(0, 255),
            big=rng.randint(10**6, 10**11), build=rng.randint(10**5, 10**9),
            ms=rng.randint(1, 999), n=rng.randint(10**5, 10**8),
            aws="".join(rng.choice("0123456789") for _ in range(12)),
            isbn="".join(rng.choice("0123456789") for _ in range(10))), [])


TUNED_FAMILIES = (cards_networks, cards_several, cards_evasion, ibans_every_country,
                  ibans_evasion, ssn_variants, ids_evasion, national_ids, lookalike_checksums,
                  order_numbers, phone_numbers, timestamps_ids_hashes)


# -- second round: held out ----------------------------------------------------------


def held(family: str, group: str, text: str, kinds: list[str],
         presets: tuple[str, ...] = ()) -> Row:
    return row(f"ho2-{family}", group, text, kinds, presets, heldout=True)


FAKER_CARD_TYPES = ("visa16", "visa13", "visa19", "mastercard", "amex", "discover", "diners",
                    "jcb15", "jcb16", "maestro")
CONTAINERS = (
    'payment:\n  card_number: "{v}"\n  expiry: "{exp}"',
    '{{"customer": "{name}", "card": "{v}", "exp": "{exp}"}}',
    "name,card,exp\n{name},{v},{exp}",
    "Card: {v}\nExp: {exp}\nName: {name}",
    "`{v}` is the one on file for {name}",
    "- {name}: {v}",
    "*{v}*  <- use this",
    "> {v}\n> {exp}",
    "card_number={v}",
)


def h2_cards() -> Iterator[Row]:
    for card_type in FAKER_CARD_TYPES:
        for _ in range(14):
            number = en.credit_card_number(card_type=card_type)
            style = rng.choice(["compact", "space", "dash", "compact"])
            template = rng.choice(CONTAINERS)
            yield held(f"card-faker-{card_type}", "card", template.format(
                v=grouped(number, style), exp=en.credit_card_expire(), name=en.name()),
                ["CREDIT_CARD"])


def h2_cards_several() -> Iterator[Row]:
    for _ in range(40):
        numbers = [en.credit_card_number(card_type=rng.choice(("visa16", "mastercard", "amex",
                                                               "discover")))
                   for _ in range(rng.randint(2, 5))]
        style = rng.choice(["space", "compact", "dash"])
        lines = rng.random() < 0.5
        body = ("\n".join(f"{i + 1}. {grouped(n, style)}" for i, n in enumerate(numbers)) if lines
                else " ".join(grouped(n, style) for n in numbers))
        yield held("card-faker-several", "card", f"here are the corporate cards:\n{body}",
                   ["CREDIT_CARD"])


IBAN_LOCALES = ("en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_PT", "pl_PL", "fi_FI",
                "no_NO", "de_AT", "de_CH", "fr_CH", "cs_CZ", "sk_SK", "hu_HU", "ro_RO", "bg_BG",
                "hr_HR", "sl_SI", "et_EE", "lt_LT", "lv_LV", "el_GR", "da_DK", "sv_SE", "tr_TR",
                "az_AZ", "ka_GE", "uk_UA", "en_IE", "pt_BR", "ar_SA", "he_IL")
IBAN_CONTAINERS = (
    'beneficiary:\n  name: "{name}"\n  iban: "{v}"',
    "<Iban>{v}</Iban>",
    "Kontoinhaber: {name}, IBAN {v}, BIC {bic}",
    "Payee: {name} / {v}",
    "{v}",
    "iban={v}&amount=120.00",
    "Titular: {name}\nIBAN: {v}",
)


def h2_ibans() -> Iterator[Row]:
    for locale in IBAN_LOCALES:
        try:
            fake = Faker(locale)
        except AttributeError:
            continue
        fake.seed_instance(len(locale) * 7919)
        for _ in range(6):
            try:
                value = fake.iban()
            except AttributeError:
                break
            style = rng.choice(["compact", "space", "space", "dash"])
            yield held("iban-faker-locales", "bank", rng.choice(IBAN_CONTAINERS).format(
                v=iban_grouped(value, style), name=fake.name(), bic=fake.swift(length=8)),
                ["IBAN_CODE"])
    for country in sorted(IBAN_FORMATS):
        value = iban(country)
        yield held("iban-registry-lowercase-or-mixed", "bank",
                   rng.choice(("my iban: {v}", "IBAN {v}")).format(
                       v=iban_grouped(value, rng.choice(["space", "compact"]))), ["IBAN_CODE"])


def h2_national_ids() -> Iterator[Row]:
    br, es, it, ca = fakers["pt_BR"], fakers["es_ES"], fakers["it_IT"], fakers["en_CA"]
    sources: tuple[tuple[str, str, str, Callable[[], str], tuple[str, ...]], ...] = (
        ("br", "BR_CPF", "cpf", br.cpf, ("Dados do paciente: {name}, CPF {v}",
                                         '{{"nome": "{name}", "cpf": "{v}"}}', "CPF: {v}")),
        ("br", "BR_CNPJ", "cnpj", br.cnpj, ("Empresa contratante CNPJ {v}",
                                            "cnpj={v}", "CNPJ nº {v}")),
        ("es", "ES_NIF", "nif", es.nif, ("Paciente {name}, DNI {v}", "NIF: {v}",
                                         "dni={v}")),
        ("es", "ES_NIE", "nie", es.nie, ("NIE del trabajador: {v}", "nie={v}",
                                         "Número de NIE {v}")),
        ("it", "IT_FISCAL_CODE", "cf", it.ssn, ("Codice Fiscale: {v}", "CF {v} - {name}",
                                                "cf={v}")),
        ("ca", "CA_SIN", "sin", ca.ssn, ("SIN: {v}", "Employee {name} SIN {v}",
                                         "social insurance number {v}")),
    )
    for preset, kind, short, make, templates in sources:
        for _ in range(25):
            yield held(f"national-faker-{short}", "government_id", rng.choice(templates).format(
                v=make(), name=br.name()), [kind], (preset,))
    for preset, kind, short, make, formats, _templates in NATIONAL:
        if kind not in {"UK_NINO", "IN_AADHAAR", "IN_PAN", "AU_TFN"}:
            continue
        for _ in range(20):
            value = rng.choice(formats)(make(rng))
            template = rng.choice(("{kind}: {v}", "{kind} for {name} is {v}",
                                   '"{key}": "{v}"'))
            label = {"UK_NINO": "NI number", "IN_AADHAAR": "Aadhaar", "IN_PAN": "PAN",
                     "AU_TFN": "TFN"}[kind]
            key = {"UK_NINO": "ni_number", "IN_AADHAAR": "aadhaar_no", "IN_PAN": "pan",
                   "AU_TFN": "tfn"}[kind]
            yield held(f"national-config-{short}", "government_id", template.format(
                kind=label, v=value, name=en.name(), key=key), [kind], (preset,))
    for _ in range(30):
        value = fakers["en_US"].ssn()
        template = rng.choice(('ssn: "{v}"', "<ssn>{v}</ssn>", "SSN={v}", "Social Security: {v}"))
        yield held("ssn-faker-config", "government_id", template.format(v=value), ["US_SSN"])
    for _ in range(20):
        value = fakers["en_US"].itin()
        yield held("itin-faker", "government_id", f"ITIN {value}", ["US_ITIN"])


def h2_evasion() -> Iterator[Row]:
    mixes = (
        ("fullwidth+format", lambda v: evade(evade(v, "fullwidth"), "format")),
        ("digits+nbsp", lambda v: evade(v, "digits").replace(" ", "\u00a0")),
        ("superscript", lambda v: v.translate(str.maketrans("0123456789",
                                                              "\u2070\u00b9\u00b2\u00b3\u2074"
                                                              "\u2075\u2076\u2077\u2078\u2079"))),
        ("math-bold", lambda v: in_script(v, "\U0001d7ce")),
        ("variation-selectors", lambda v: "".join(c + "\ufe0f" if c.isdigit() else c for c in v)),
        ("hangul-filler", lambda v: "\u3164".join(v)),
        ("ideographic-space", lambda v: v.replace(" ", "\u3000")),
    )
    for name, transform in mixes:
        for _ in range(12):
            number = en.credit_card_number(card_type=rng.choice(("visa16", "mastercard")))
            yield held(f"card-evasion-{name}", "card",
                       f"card {transform(grouped(number, 'space'))}", ["CREDIT_CARD"])
        for _ in range(6):
            value = fakers["en_US"].ssn()
            yield held(f"ssn-evasion-{name}", "government_id",
                       f"SSN {transform(value)}", ["US_SSN"])
    for _ in range(20):
        value = fakers["de_DE"].iban()
        cyr = value.replace("E", "\u0415", 1)  # Cyrillic IE in the country code
        yield held("iban-evasion-homoglyph", "bank", f"IBAN {iban_grouped(cyr, 'space')}",
                   ["IBAN_CODE"])
    for _ in range(20):
        value = fakers["en_US"].ssn()
        yield held("ssn-evasion-minus-sign", "government_id",
                   f"ssn {value.replace('-', rng.choice(DASHES))}", ["US_SSN"])


def h2_negatives() -> Iterator[Row]:
    locales = ("ja_JP", "zh_CN", "ru_RU", "ar_EG", "ko_KR", "hi_IN", "tr_TR", "pl_PL", "pt_BR",
               "es_MX", "de_DE", "en_US")
    for locale in locales:
        fake = Faker(locale)
        fake.seed_instance(len(locale))
        for _ in range(6):
            yield held("negative-phones-world", "clean", rng.choice((
                "contact: {v}", "tel {v}", "{v} (office)", "ring me on {v}")).format(
                v=fake.phone_number()), [])
        for _ in range(2):
            yield held("negative-msisdn", "clean", f"SMS sent to {fake.msisdn()}", [])
    for _ in range(40):
        yield held("negative-barcodes", "clean", rng.choice((
            "EAN {e13}", "barcode {e8}", "ISBN {isbn}", "UPC {upc}", "sku {e13}")).format(
            e13=en.ean13(), e8=en.ean8(), isbn=en.isbn13(), upc=en.ean13()[1:]), [])
    for _ in range(40):
        number = en.credit_card_number(card_type=rng.choice(("visa16", "mastercard", "amex")))
        yield held("negative-faker-luhn-failure", "clean",
                   f"card {grouped(luhn_break(number), 'space')}", [])
    for _ in range(30):
        yield held("negative-machine-ids", "clean", rng.choice((
            "mac {mac}", "ipv6 {v6}", "uuid {u}", "sha {sha}", "epoch {t}", "iso {iso}",
            "dur {d}ms")).format(mac=en.mac_address(), v6=en.ipv6(), u=en.uuid4(),
                                 sha=en.sha256(), t=en.unix_time(), iso=en.iso8601(),
                                 d=rng.randint(10**6, 10**9)), [])
    for _ in range(30):
        value = iban(rng.choice(sorted(IBAN_FORMATS)))
        broken = value[:-1] + str((int(value[-1]) + 1) % 10) if value[-1].isdigit() else value[:-1] + "0"
        if broken != value:
            yield held("negative-iban-typo", "clean", f"IBAN {broken}", [])
    for _ in range(20):
        yield held("negative-invoice-lines", "clean", rng.choice((
            "Invoice {n}: 4 x licences, total EUR {a}", "Pedido nº {n} entregue",
            "Factura {n} pagada", "Order {n} refunded")).format(
            n=card("4", 16, rng), a=f"{rng.randint(100, 99999)},{rng.randint(0, 99):02d}"), [])


HELDOUT_FAMILIES = (h2_cards, h2_cards_several, h2_ibans, h2_national_ids, h2_evasion,
                    h2_negatives)


def write(path: Path, families: tuple[Callable[[], Iterator[Row]], ...], prefix: str) -> None:
    rows = [r for family in families for r in family()]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for index, r in enumerate(rows):
            fh.write(json.dumps({"id": f"{prefix}-{index:05d}", **r}, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows to {path.relative_to(ROOT)}")


def main() -> None:
    write(OUT_TUNED, TUNED_FAMILIES, "tu")
    write(OUT_HELDOUT, HELDOUT_FAMILIES, "ho")


if __name__ == "__main__":
    main()
