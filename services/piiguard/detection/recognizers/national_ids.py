"""Government ids beyond the US, each turned on by its country's policy preset.

Every kind is validated by the issuing authority's own check (CPF and CNPJ
mod-11 digits, the SIN's Luhn digit, Aadhaar's Verhoeff digit, the DNI/NIE
check letter, the codice fiscale check letter, the TFN's weighted mod-11, the
letters HMRC issues in a National Insurance number, the holder-type letter of
a PAN) and then weighed by how distinctive its written form is:

* forms nobody writes for anything else (``123.456.789-09``,
  ``12.345.678/0001-95``, a valid codice fiscale) stand on their own;
* letter-and-digit forms with a check letter (DNI, NIE, PAN, NINO) stand on
  their own at a lower score, and are dropped after order / ticket words;
* bare digit runs (a compact CPF, SIN, Aadhaar, TFN) need a context word in
  English, Portuguese or Spanish, because a checksum alone passes one random
  number in ten or eleven — unless the country's preset is on: a workspace
  that enables ``detection.presets: [ca]`` says Canadian ids are what its
  people write, so a checksum-valid SIN standing alone (not glued to letters,
  not in a URL, hash or phone number, no order/ticket word before it) is
  reported at ``PRESET_BARE``. A kind enabled only through ``actions.rules``
  keeps the conservative reading.

Context words may be glued to the number or to each other (``CPF:123...``,
``numeroDoCpf=...``, ``tax_file_number``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from piiguard.detection.recognizers.base import Hit, PiiRecognizer
from piiguard.detection.recognizers.context import TextView, word_pattern
from piiguard.detection.recognizers.validation import (
    aadhaar_valid,
    cnpj_valid,
    codice_fiscale_valid,
    cpf_valid,
    dni_valid,
    nino_valid,
    pan_valid,
    sin_valid,
    tfn_valid,
)

STANDALONE = 0.85  # a distinctive form, valid: reported without context
CONTEXT = 0.9  # valid, with a context word
WEAK = 0.6  # valid letters-and-digits form, no context: reported (above 0.5)
NEEDS_CONTEXT = 0.35  # valid, but a bare number without context: below the threshold
PRESET_BARE = 0.55  # valid, bare, standing alone, and the country's preset is on

_NEGATIVE = word_pattern(
    ("order", "tracking", "invoice", "ticket", "pedido", "rastreamento", "rastreio", "nota fiscal",
     "protocolo", "factura", "albarán", "albaran", "seguimiento", "ref", "reference", "sku",
     "serial", "part", "build", "job", "version", "versão", "versión", "phone", "telefone",
     "teléfono", "telefono", "celular", "móvil", "movil", "whatsapp", "tel", "fax"),
)  # fmt: skip


def _glued(words: Iterable[str]) -> re.Pattern[str]:
    """A context word at the end of the token just before a number: ``myCpf:``,
    ``tax_file_number=``, ``nºCPF``; words may be glued to each other too."""
    body = "|".join(sorted({re.escape(w.replace(" ", "")) for w in words}, key=len, reverse=True))
    return re.compile(rf"(?:{body})[\s#:=_.\-nº°o]{{0,4}}$", re.IGNORECASE)


class _Context:
    """The context words of one kind, as separate words or glued."""

    def __init__(self, words: tuple[str, ...]) -> None:
        self.words = word_pattern(words)
        self.glued = _glued(words)

    def near(self, view: TextView, start: int, end: int, before: int = 80, after: int = 30) -> bool:
        close = view.before(start, before)
        if self.words.search(close) or self.glued.search(close.replace(" ", "")):
            return True
        return bool(after and self.words.search(view.after(end, after)))


def _negative(view: TextView, start: int) -> bool:
    return bool(_NEGATIVE.search(view.before(start, 30)))


def _in_url(view: TextView, start: int) -> bool:
    line_start = view.text.rfind("\n", 0, start) + 1
    before = view.lower[line_start:start]
    return "://" in before or "www." in before


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


# Numbers are bounded by anything but a digit or a number-joining mark; letters may
# touch them (context glued in front: "CPF123.456.789-09").
_LEFT = r"(?<![\d/-])(?<!\d[.,])"
_RIGHT = r"(?![\d]|[./-]\d|,\d{3}(?!\d))"


class _NumberRule:
    """One written form of one kind: regex, validator, and what it needs."""

    def __init__(self, kind: str, pattern: str, valid: Callable[[str], bool], context: _Context,
                 *, standalone: Callable[[str], bool] | None = None, letters: bool = False,
                 preset_form: Callable[[str], bool] | None = None,
                 preset_compact: bool = True) -> None:
        self.kind = kind
        self.pattern = re.compile(pattern, re.IGNORECASE if letters else 0)
        self.valid = valid
        self.context = context
        self.standalone = standalone
        self.letters = letters
        # a letters form a preset lets stand without context (a lower-case NINO)
        self.preset_form = preset_form
        # whether a preset lets the compact digit run stand alone, or only a grouping
        self.preset_compact = preset_compact

    def hits(self, view: TextView, preset: bool = False) -> Iterable[Hit]:
        text = view.text
        for match in self.pattern.finditer(text):
            start, end = match.span(1)
            raw = match.group(1)
            value = re.sub(r"[\s.\-/]", "", raw).upper() if self.letters else _digits(raw)
            if not self.valid(value):
                continue
            printed = self.standalone is not None and self.standalone(raw)
            if view.in_noise(start, end) and not (
                self.context.near(view, start, end, 40, 0) or (printed and not _in_url(view, start))
            ):
                continue  # inside a URL, a hash, a version string ...
            if view.phone_like(start):
                continue
            if self.context.near(view, start, end):
                yield Hit(self.kind, start, end, CONTEXT)
            elif _negative(view, start):
                continue
            elif printed:
                yield Hit(self.kind, start, end, STANDALONE if not self.letters else WEAK)
            elif preset and self.letters and self.preset_form and self.preset_form(raw):
                yield Hit(self.kind, start, end, WEAK)
            elif (preset and not self.letters and (self.preset_compact or not raw.isdigit())
                  and _stands_alone(view, start, end, value)):
                yield Hit(self.kind, start, end, PRESET_BARE)
            else:
                yield Hit(self.kind, start, end, NEEDS_CONTEXT)


# The word right after a number that makes it a count or a measure ("046 454 286
# items", "rows", "bytes", "users"): a plural, or a unit.
# Labels of other numbers, right before a bare one: it is that number, not an id.
_OTHER_LABEL = word_pattern(
    ("aws", "gcp", "azure", "account", "acct", "customer", "cliente", "user", "usuario",
     "usuário", "member", "id", "project", "org", "tenant", "workspace", "case", "po", "#"),
)  # fmt: skip
_COUNT_AFTER = re.compile(r"\s{0,2}(?:[a-zà-ÿ]{2,}s|kb|mb|gb|ms|px|pcs|un|x)\b")


def _stands_alone(view: TextView, start: int, end: int, value: str) -> bool:
    """A bare id standing on its own: not glued to a word or a longer token on
    either side, not a count ("... rows"), no order / ticket / phone word right
    after it either, and not a filler run of one or two repeated digits."""
    text = view.text
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    if before.isalnum() or before in "_@#$%&+=" or after.isalnum() or after in "_@%&+":
        return False
    if _OTHER_LABEL.search(view.before(start, 25).rsplit("\n", 1)[-1]):
        return False
    following = view.after(end, 30).split("\n", 1)[0]
    if _COUNT_AFTER.match(following) or _NEGATIVE.search(following):
        return False
    return len(set(_digits(value))) > 2


class NationalIdRecognizer(PiiRecognizer):
    RULES: tuple[_NumberRule, ...] = ()

    def __init__(self, preset: bool = False) -> None:
        super().__init__()
        # Whether this country's preset is on (``detection.presets``), not just a
        # kind enabled by ``actions.rules``: then a bare valid id is reported.
        self.preset = preset

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        seen: set[tuple[int, int]] = set()
        for rule in self.RULES:
            if rule.kind not in self.supported_entities:
                continue
            for hit in rule.hits(view, self.preset):
                if (hit.start, hit.end) not in seen:
                    seen.add((hit.start, hit.end))
                    yield hit


# -- Brazil -------------------------------------------------------------------------

_CPF_CONTEXT = _Context(
    ("cpf", "c.p.f", "cpf/mf", "cadastro de pessoa física", "cadastro de pessoas físicas",
     "cadastro de pessoa fisica", "cadastro de pessoas fisicas", "contribuinte", "documento",
     "meu documento", "inscrição", "inscricao", "titular", "paciente", "portador", "rg e cpf",
     "número do cpf", "numero do cpf", "taxpayer", "brazilian id", "tax id"),
)  # fmt: skip
_CNPJ_CONTEXT = _Context(
    ("cnpj", "c.n.p.j", "cnpj/mf", "cadastro nacional da pessoa jurídica",
     "cadastro nacional da pessoa juridica", "razão social", "razao social", "empresa",
     "inscrição", "inscricao", "fornecedor", "company tax id", "company id"),
)  # fmt: skip
_CPF_FORMATTED = re.compile(r"^\d{3}\.\d{3}\.\d{3}-\d{2}$")
_CNPJ_FORMATTED = re.compile(r"^\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2}$")


class GuardBrazilIdRecognizer(NationalIdRecognizer):
    """Brazil's CPF (persons) and CNPJ (companies): two mod-11 check digits each."""

    ENTITIES = ("BR_CPF", "BR_CNPJ")
    DIGITS = True
    KEYWORDS = ("cpf", "cnpj")
    RULES = (
        _NumberRule("BR_CPF", _LEFT + r"(\d{3}[. ]?\d{3}[. ]?\d{3}[-. /]?\d{2})" + _RIGHT,
                    cpf_valid, _CPF_CONTEXT, standalone=lambda raw: bool(_CPF_FORMATTED.match(raw))),
        _NumberRule("BR_CNPJ",
                    _LEFT + r"(\d{2}[. ]?\d{3}[. ]?\d{3}[/ ]?\d{4}[-. ]?\d{2})" + _RIGHT,
                    cnpj_valid, _CNPJ_CONTEXT,
                    standalone=lambda raw: bool(_CNPJ_FORMATTED.match(raw))),
    )


# -- United Kingdom -----------------------------------------------------------------

_NINO_CONTEXT = _Context(
    ("national insurance", "national insurance number", "ni number", "ni no", "nino", "ni#",
     "nat ins", "nat. ins", "insurance number", "ni", "hmrc", "p45", "p60", "payroll"),
)  # fmt: skip


class GuardUkNinoRecognizer(NationalIdRecognizer):
    """UK National Insurance numbers: HMRC's prefix letters, six digits, suffix A-D."""

    ENTITIES = ("UK_NINO",)
    TRIGGER = re.compile(r"[A-Za-z]{2} ?\d{2} ?\d{2} ?\d{2}")
    RULES = (
        _NumberRule(
            "UK_NINO",
            r"(?<![A-Za-z0-9])([A-Za-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-Da-d]?)(?![A-Za-z0-9])",
            nino_valid, _NINO_CONTEXT,
            standalone=lambda raw: raw.isupper() and raw[-1].isalpha(), letters=True,
            preset_form=lambda raw: raw[-1].isalpha(),
        ),
    )


# -- Canada -------------------------------------------------------------------------

_SIN_CONTEXT = _Context(
    ("sin", "sin#", "sin no", "social insurance", "social insurance number", "insurance number",
     "nas", "numéro d'assurance sociale", "numero d'assurance sociale", "assurance sociale",
     "service canada", "cra", "t4"),
)  # fmt: skip


class GuardCanadaSinRecognizer(NationalIdRecognizer):
    """Canada's Social Insurance Number: nine digits, Luhn, with context."""

    ENTITIES = ("CA_SIN",)
    DIGITS = True
    KEYWORDS = ("sin", "social insurance", "assurance sociale", "nas")
    RULES = (
        # a compact nine-digit run is any number; the 3-3-3 grouping is a SIN's
        _NumberRule("CA_SIN", _LEFT + r"(\d{3}[- ]?\d{3}[- ]?\d{3})" + _RIGHT, sin_valid,
                    _SIN_CONTEXT, preset_compact=False),
    )


# -- India --------------------------------------------------------------------------

_AADHAAR_CONTEXT = _Context(
    ("aadhaar", "aadhar", "adhaar", "aadhaar number", "aadhaar no", "uid", "uidai", "uid number",
     "e-aadhaar", "आधार", "enrolment"),
)  # fmt: skip
_PAN_CONTEXT = _Context(
    ("pan", "pan card", "pan number", "pan no", "permanent account number", "income tax",
     "itr", "tds", "form 16"),
)  # fmt: skip


class GuardIndiaIdRecognizer(NationalIdRecognizer):
    """India's Aadhaar (twelve digits, Verhoeff, context) and PAN (AAAPA9999A)."""

    ENTITIES = ("IN_AADHAAR", "IN_PAN")
    DIGITS = True
    KEYWORDS = ("aadhaar", "aadhar", "adhaar", "uidai", "आधार")
    TRIGGER = re.compile(r"[A-Za-z]{5}\d{4}[A-Za-z]|\d{4}:\d{4}:\d{4}")
    RULES = (
        _NumberRule("IN_AADHAAR", _LEFT + r"(\d{4}(?:[- ]?\d{4}[- ]?|:\d{4}:)\d{4})" + _RIGHT,
                    aadhaar_valid, _AADHAAR_CONTEXT),
        _NumberRule("IN_PAN", r"(?<![A-Za-z0-9])([A-Za-z]{5}\d{4}[A-Za-z])(?![A-Za-z0-9])",
                    pan_valid, _PAN_CONTEXT, standalone=lambda raw: raw.isupper(), letters=True),
    )


# -- Spain --------------------------------------------------------------------------

_DNI_CONTEXT = _Context(
    ("dni", "d.n.i", "nif", "n.i.f", "documento nacional de identidad", "documento de identidad",
     "número de identidad", "numero de identidad", "identificación fiscal",
     "identificacion fiscal", "número de identificación fiscal", "carnet", "cédula", "cedula",
     "spanish id", "id card"),
)  # fmt: skip
_NIE_CONTEXT = _Context(
    ("nie", "n.i.e", "número de identidad de extranjero", "numero de identidad de extranjero",
     "número de identificación de extranjero", "identificación de extranjero", "extranjero",
     "tarjeta de residencia", "residencia", "tie", "foreigner id", "nif"),
)  # fmt: skip


class GuardSpainIdRecognizer(NationalIdRecognizer):
    """Spain's DNI/NIF (eight digits and a check letter) and NIE (X/Y/Z, seven digits, letter)."""

    ENTITIES = ("ES_NIF", "ES_NIE")
    TRIGGER = re.compile(r"\d{1,2}\.?\d{3}\.?\d{3} ?-?[A-Za-z]|[XYZxyz]-?\d{7}")
    RULES = (
        _NumberRule("ES_NIF",
                    r"(?<![A-Za-z0-9.,/-])(\d{1,2}\.?\d{3}\.?\d{3}[ -]?[A-Za-z])(?![A-Za-z0-9])",
                    dni_valid, _DNI_CONTEXT, standalone=lambda raw: raw[-1].isupper(),
                    letters=True),
        _NumberRule("ES_NIE",
                    r"(?<![A-Za-z0-9])([XYZxyz][ -]?\d{7}[ -]?[A-Za-z])(?![A-Za-z0-9])",
                    dni_valid, _NIE_CONTEXT, standalone=lambda raw: raw[-1].isupper(),
                    letters=True),
    )


# -- Italy --------------------------------------------------------------------------

_CF_CONTEXT = _Context(
    ("codice fiscale", "cod. fiscale", "cod fiscale", "c.f", "cf", "tessera sanitaria",
     "fiscal code", "partita iva", "codicefiscale"),
)  # fmt: skip


class GuardItalyFiscalCodeRecognizer(NationalIdRecognizer):
    """Italy's codice fiscale: its sixteen-character structure and check letter."""

    ENTITIES = ("IT_FISCAL_CODE",)
    TRIGGER = re.compile(r"[A-Za-z]{6}[0-9LMNP-Vlmnp-v]{2}[A-Za-z]")
    RULES = (
        _NumberRule(
            "IT_FISCAL_CODE",
            r"(?<![A-Za-z0-9])([A-Za-z]{6}[0-9LMNP-Vlmnp-v]{2}[A-Za-z][0-9LMNP-Vlmnp-v]{2}"
            r"[A-Za-z][0-9LMNP-Vlmnp-v]{3}[A-Za-z])(?![A-Za-z0-9])",
            codice_fiscale_valid, _CF_CONTEXT, standalone=lambda raw: True, letters=True,
        ),
    )


# -- Australia ----------------------------------------------------------------------

_TFN_CONTEXT = _Context(
    ("tfn", "tax file number", "tax file no", "tax file", "ato", "australian tax", "payg",
     "superannuation", "super fund"),
)  # fmt: skip


class GuardAustraliaTfnRecognizer(NationalIdRecognizer):
    """Australia's Tax File Number: eight or nine digits, weighted mod-11, with context."""

    ENTITIES = ("AU_TFN",)
    DIGITS = True
    KEYWORDS = ("tfn", "tax file")
    RULES = (
        _NumberRule("AU_TFN", _LEFT + r"(\d{3}[- ]?\d{3}[- ]?\d{2,3})" + _RIGHT, tfn_valid,
                    _TFN_CONTEXT),
    )


NATIONAL_ID_RECOGNIZERS: tuple[type[PiiRecognizer], ...] = (
    GuardBrazilIdRecognizer,
    GuardUkNinoRecognizer,
    GuardCanadaSinRecognizer,
    GuardIndiaIdRecognizer,
    GuardSpainIdRecognizer,
    GuardItalyFiscalCodeRecognizer,
    GuardAustraliaTfnRecognizer,
)
