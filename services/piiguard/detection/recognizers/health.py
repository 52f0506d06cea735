"""Health information tied to a person (``MEDICAL_CONDITION``) and record numbers.

A message is health information when three things meet in one sentence:

1. a health term: a condition, medication, treatment or test (``health_terms``);
2. a clinical relation: "diagnosed with", "tested positive for", "admitted
   with", "is on <drug>", "<test> came back", or possession of a serious
   condition ("Dana has lupus", "her diabetes");
3. an identifiable person: a Slack mention, a name, "patient", "my wife", or
   the author ("I was diagnosed ...").

So "flu season", "our diabetes feature ships Friday" and "Sam is out sick"
stay clean: no relation, or no health term. Names are found with cheap
heuristics first; spaCy NER runs only on the sentence around a health term,
and only when the heuristics found no person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from piiguard.detection.recognizers.base import Hit, PiiRecognizer
from piiguard.detection.recognizers.context import TextView, word_pattern
from piiguard.detection.recognizers.health_terms import (
    MEDICATIONS,
    MILD,
    SERIOUS,
    TESTS,
    TREATMENTS,
)
from piiguard.detection.recognizers.validation import words

_CATEGORY: dict[str, str] = {}
for _cat, _terms in (("mild", MILD), ("test", TESTS), ("treatment", TREATMENTS),
                     ("med", MEDICATIONS), ("serious", SERIOUS)):
    for _term in _terms:
        _CATEGORY[_term] = _cat

_TERMS = word_pattern(_CATEGORY)
HEALTH_KEYWORDS: tuple[str, ...] = tuple(
    sorted({t for t in _CATEGORY if len(t) >= 3}
           | {"mrn", "medical record", "diagnos", "admitted", "hospitali", "treated for",
              "tested positive", "suffering from", "suffers from", "dx"})
)
# A clinical verb names the condition even when our vocabulary does not know it.
_CLINICAL_OBJECT = re.compile(
    r"(?:diagnosed\s+with|admitted\s+(?:with|for)|hospitali[sz]ed\s+(?:with|for)|"
    r"treated\s+for|tested\s+positive\s+for|suffering\s+from|suffers\s+from|\bdx\s?:)"
    r"\s+(?:an?\s+|acute\s+|severe\s+|chronic\s+|early\s+|late\s+)?([A-Za-z][\w'-]{3,30})",
    re.IGNORECASE,
)


def _category(matched: str) -> str | None:
    key = re.sub(r"[\s_]+", " ", matched.lower().replace("\u2019", "'"))
    return _CATEGORY.get(key) or _CATEGORY.get(key.replace("-", " "))


_STRONG = word_pattern(
    ("diagnosed", "diagnosis", "diagnoses", "dx", "dx'd", "tested positive", "positive for",
     "came back positive", "admitted", "hospitalized", "hospitalised", "treated for",
     "treatment for", "being treated", "undergoing", "started on", "prescribed",
     "prescription", "suffers from", "suffering from", "suffered", "living with", "battling",
     "fighting", "recovering from", "relapsed", "relapse", "presented with",
     "presenting with", "complains of", "history of", "hx of", "in remission",
     "terminally ill", "passed away from", "died of", "confirmed case", "has been diagnosed",
     "was found to have", "struggles with", "struggling with", "treating", "caught"),
)  # fmt: skip
_POSSESSION = re.compile(
    r"(?:\b(?:has|had|have|having|got|gets|with|his|her|their|my|of)|['\u2019]s)"
    r"(?:\s+(?!(?:and|but|or|on|about|of|for|in|at|to|from|into|is|was|talk|research|"
    r"team|project|work|paper|book|article|study|feature|app)\b)[a-z0-9'-]{1,20}){0,2}\s+$",
    re.IGNORECASE,
)
_MED_RELATION = re.compile(
    r"(?:\b(?:is|was|been|be|started|put|now|still|are|got|went)\s+(?:back\s+)?on|\btaking|"
    r"\btakes|\btook|\bstarted|\bprescribed|\bswitched\s+to|\bneeds|\brefill\w*|\bdose\s+of|"
    r"\bmg\s+of|\bupped|\bincreased)(?:\s+(?:his|her|their|my|the|a|some|daily|more))?"
    r"(?:\s+[a-z0-9-]{1,15})?\s+$",
    re.IGNORECASE,
)
_TEST_AFTER = re.compile(r"^\s{0,2}[:=]?\s{0,2}\d")
_MED_AFTER = re.compile(r"^\s*\d+\s?(?:mg|mcg|ml|units?)\b", re.IGNORECASE)
_TREATMENT_RELATION = re.compile(
    r"\b(?:undergoing|starting|started|start|doing|getting|got|had|has|have|having|finished|"
    r"finishing|in|on|into|going\s+through|through|scheduled\s+for|needs|needed|recovering\s+from|back\s+from|"
    r"after|post|round\s+of|rounds\s+of|session\s+of|went\s+to|checked\s+into|for)"
    r"(?:\s+(?:a|an|the|his|her|their|my|another|more|second|third|first|last|next))?\s+$",
    re.IGNORECASE,
)
_TEST_RESULT = re.compile(
    r"\b(?:came\s+back|results?|showed|shows|revealed|confirmed|positive|negative|abnormal|"
    r"elevated|was\s+high|is\s+high|was\s+low|levels?|found|detected|(?:was|is|at|of)\s+\d)",
    re.IGNORECASE,
)
_MENTION = re.compile(r"<@[UW][A-Z0-9]{2,20}(?:\|[^<>]{0,80})?>")
_PATIENT = word_pattern(("patient", "pt", "pt.", "the patient", "inpatient", "outpatient"))
_RELATIVE = re.compile(
    r"\b(?:my|his|her|their|our)\s+(?:wife|husband|partner|spouse|son|daughter|kid|kids|child|"
    r"baby|mom|mum|mother|dad|father|brother|sister|boyfriend|girlfriend|fianc[eé]e?|grandma|"
    r"grandmother|grandpa|grandfather|uncle|aunt|cousin|roommate|colleague|coworker|co-worker|"
    r"manager|boss|teammate|neighbou?r|nephew|niece|stepson|stepdaughter|in-laws?)\b",
    re.IGNORECASE,
)
_FIRST_PERSON = re.compile(
    r"(?<![A-Za-z'])(?:I|I'm|I've|I'd|Im|i'm|i've)\b(?:\s+(?:was|am|have|had|just|got|"
    r"been|recently|finally|officially|also|still|now|'m|'ve)){0,3}",
)
_MY_TERM = re.compile(r"\bmy\s+(?:[a-z0-9'-]{1,20}\s+){0,2}$", re.IGNORECASE)
_NOT_SUBJECTS = frozenset(
    {"i", "he", "she", "they", "it", "who", "that", "which", "this", "there", "one", "nobody",
     "somebody", "someone", "anyone", "everyone", "what", "user", "customer", "person"}
)
_LOWER_SUBJECT = re.compile(
    r"(?<![\w'])([A-Za-z][a-z'-]{1,20})\s+(?:was|is|has\s+been|got|just\s+got|had\s+been)\s+"
    r"(?:just\s+|recently\s+|officially\s+|finally\s+)?"
    r"(?:diagnosed|admitted|hospitali[sz]ed|treated\s+for|tested\s+positive)"
)
_PRONOUN = re.compile(r"\b(?:he|she|they|he's|she's|they're|him|her|them)\b", re.IGNORECASE)
_GENERIC = word_pattern(
    ("users", "customers", "people", "patients", "folks", "someone", "somebody", "anyone",
     "everyone", "many", "millions", "kids", "children", "adults", "americans", "employees",
     "members", "population", "those", "others", "nobody", "a customer", "a user",
     "a patient", "individuals", "veterans", "seniors", "athletes", "participants",
     "clients", "subjects", "cohort", "anybody", "men", "women"),
)  # fmt: skip
_NAME = re.compile(
    r"(?<![\w@#<|/.-])((?:Dr\.?\s+|Mr\.?\s+|Mrs\.?\s+|Ms\.?\s+)?[A-Z][a-z]{1,20}"
    r"(?:[-'\u2019][A-Z][a-z]{1,20})?(?:\s+[A-Z][a-z]{1,20}(?:[-'\u2019][A-Z][a-z]{1,20})?){0,2})"
    r"(?:['\u2019]s)?(?![\w])"
)
_NOT_NAMES = words(
    """i i'm i've we they he she it this that these those there here the a an our my your his
    her their its what when where why how who which if so but and or also just hey hi hello
    thanks thank please quick update note heads reminder good great sorry looks seems
    apparently today yesterday tomorrow tonight monday tuesday wednesday thursday friday
    saturday sunday january february march april may june july august september october
    november december team patient doctor dr nurse mr mrs ms fyi btw ok okay yes no not
    all any some every each both few many much more most other such only own same than too
    very can will just should now new old first last next per via re fwd cc bcc hr it ops
    slack google amazon aws microsoft apple zoom jira github gitlab confluence notion
    figma salesforce stripe datadog sentry pagerduty friday's week month year day morning
    afternoon evening night q1 q2 q3 q4 eod eow asap pto ooo wfh lol omg congrats
    welcome happy merry pls plz thx ty np idk imo tbh after before since until while during
    because although though unless whether then once about above across against along among
    around at by down for from in into like near of off on onto out over past through to
    toward under up upon with within without according as is was are were be been being
    has have had do does did done get got go going gone make made take took see saw let
    keep kept put said say says tell told ask asked call called still even again never
    always often sometimes maybe perhaps probably definitely really actually basically
    honestly anyway however meanwhile otherwise therefore thus hence yeah yep nope sure
    alright cool nice awesome wow oh ah um uh hmm well right left out sick home office
    remote hospital clinic er urgent care emergency covid flu cancer diabetes hiv aids
    type stage chronic acute severe mild early late positive negative results result test
    tests scan scans blood lab labs mri ct pet ekg ecg icu pharmacy medical health
    insurance benefits leave medical-leave fmla hipaa phi pii ssn nhs mrn dob
    quarter sprint standup retro release deploy prod staging incident outage customer
    customers user users product feature project launch"""
)


def _names(text: str, start: int, end: int) -> list[int]:
    """Positions of name-like capitalised words in text[start:end]."""
    positions: list[int] = []
    for match in _NAME.finditer(text, start, end):
        words = re.split(r"\s+", match.group(1).replace("\u2019", "'"))
        first = words[0].rstrip(".").lower()
        if first in ("dr", "mr", "mrs", "ms") and len(words) > 1:
            positions.append(match.start(1))
            continue
        kept = [w for w in words if w.lower().split("'")[0] not in _NOT_NAMES
                and _category(w) is None]
        if kept and len(kept) == len(words):
            positions.append(match.start(1))
        elif kept and len(words) >= 2 and words[0].lower() in _NOT_NAMES:
            # "Today Dana Reyes ..." - a sentence starter before a name
            positions.append(match.start(1) + match.group(1).find(kept[0]))
    return positions


_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence around [start, end), bounded to a few hundred characters."""
    lo = max(0, start - 220)
    left = lo
    for match in _SENTENCE_END.finditer(text, lo, start):
        left = match.end()
    right_match = _SENTENCE_END.search(text, end, min(len(text), end + 160))
    right = right_match.start() if right_match else min(len(text), end + 160)
    return left, right


class GuardMedicalConditionRecognizer(PiiRecognizer):
    """A diagnosis, condition, medication, treatment or test result tied to a person."""

    ENTITIES = ("MEDICAL_CONDITION",)
    KEYWORDS = HEALTH_KEYWORDS

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        text = view.text
        reported: list[tuple[int, int]] = []
        for hit in self._vocabulary_hits(view, nlp_artifacts):
            reported.append(_sentence(text, hit.start, hit.end))
            yield hit
        for match in _CLINICAL_OBJECT.finditer(text):
            start, end = match.span(1)
            sentence = _sentence(text, start, end)
            if sentence in reported or match.group(1).lower() in _NOT_NAMES:
                continue
            if self._person(view, nlp_artifacts, *sentence, start, True):
                reported.append(sentence)
                yield Hit("MEDICAL_CONDITION", start, end, 0.8)

    def _vocabulary_hits(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        text = view.text
        for match in _TERMS.finditer(text):
            category = _category(match.group(0))
            if category is None:
                continue
            start, end = match.span()
            if view.in_noise(start, end) and not _MENTION.search(text, max(0, start - 5), end):
                # a term inside a URL or channel name (#diabetes-feature) is not about a person
                if "<" in text[max(0, start - 80) : start] or "://" in text[max(0, start - 80) : start]:
                    continue
            if text[max(0, start - 1) : start] in ("#", "/", "_", "-") or text[end : end + 1] in (
                "_", "/"
            ):
                continue  # channel names, paths, identifiers
            s_start, s_end = _sentence(text, start, end)
            before = text[max(s_start, start - 80) : start]
            after = text[end : min(s_end, end + 60)]
            strong = bool(_STRONG.search(text[s_start:s_end]))
            if not self._related(category, before, after, strong):
                continue
            if self._person(view, nlp_artifacts, s_start, s_end, start, strong):
                yield Hit("MEDICAL_CONDITION", start, end, 0.85)

    @staticmethod
    def _related(category: str, before: str, after: str, strong: bool) -> bool:
        if category == "mild":
            return strong
        if category == "serious":
            return strong or bool(_POSSESSION.search(before))
        if category == "med":
            return strong or bool(_MED_RELATION.search(before) or _MED_AFTER.search(after))
        if category == "treatment":
            return strong or bool(_TREATMENT_RELATION.search(before))
        # tests: a result, not just an appointment
        return bool(_TEST_RESULT.search(after) or _TEST_RESULT.search(before[-40:])
                    or _TEST_AFTER.search(after))

    def _person(
        self, view: TextView, nlp_artifacts: Any, s_start: int, s_end: int, term: int,
        strong: bool,
    ) -> bool:
        text = view.text
        sentence = text[s_start:s_end]
        generic = list(_GENERIC.finditer(text, max(s_start, term - 50), term))
        floor = generic[-1].end() if generic else -1
        refs: list[int] = []
        refs += [m.start() for m in _MENTION.finditer(text, s_start, s_end)]
        refs += [m.start() for m in _PATIENT.finditer(text, s_start, s_end)]
        refs += [m.start() for m in _RELATIVE.finditer(text, s_start, s_end)]
        refs += _names(text, s_start, s_end)
        if strong or _MY_TERM.search(text[max(s_start, term - 40) : term]):
            refs += [m.start() for m in _FIRST_PERSON.finditer(text, s_start, s_end)]
            if _MY_TERM.search(text[max(s_start, term - 40) : term]):
                refs.append(term - 1)
        refs += [m.start(1) for m in _LOWER_SUBJECT.finditer(text, s_start, s_end)
                 if m.group(1).lower() not in _NOT_SUBJECTS and not _GENERIC.fullmatch(m.group(1))]
        if any(r > floor for r in refs):
            return True
        if generic:
            return False
        if _PRONOUN.search(sentence):
            wide_lo, wide_hi = max(0, s_start - 300), min(len(text), s_end + 100)
            if _names(text, wide_lo, wide_hi) or _MENTION.search(text, wide_lo, wide_hi):
                return True
        persons = getattr(nlp_artifacts, "persons_between", None)
        if callable(persons):
            return bool(persons(s_start, s_end))
        return False

    @staticmethod
    def ner_windows(text: str) -> list[tuple[int, int]]:
        """Sentences NER would be asked about, so a batch can pre-compute them."""
        windows: list[tuple[int, int]] = []
        for match in _TERMS.finditer(text):
            if _category(match.group(0)) is None:
                continue
            window = _sentence(text, *match.span())
            if not windows or windows[-1] != window:
                windows.append(window)
            if len(windows) >= 20:
                break
        return windows


_MRN = re.compile(
    r"(?<![A-Za-z0-9])(?:mrn|medical\s+record(?:s)?(?:\s+(?:number|no\.?|num|#))?|"
    r"med\s+rec(?:ord)?\s*(?:#|no\.?|number)?|patient\s+(?:id|number|no\.?|#)|"
    r"chart\s+(?:number|no\.?|#)|hospital\s+(?:number|no\.?|#))"
    r"\s{0,3}(?:[:#=]|is|was)?\s{0,3}#?\s{0,2}([A-Z]{0,4}[- ]?\d{4,12}(?:[- ]\d{2,6})?)(?![\w])",
    re.IGNORECASE,
)


class GuardMedicalRecordNumberRecognizer(PiiRecognizer):
    """Medical record numbers (``MRN 00123456``), reported also as health information.

    An MRN identifies a patient's chart, so it is health information on its
    own: each one is reported both as ``MEDICAL_RECORD_NUMBER`` and as
    ``MEDICAL_CONDITION``, the coarse kind a policy may act on.
    """

    ENTITIES = ("MEDICAL_RECORD_NUMBER", "MEDICAL_CONDITION")
    KEYWORDS = ("mrn", "medical record", "med rec", "patient id", "patient number",
                "patient no", "patient #", "chart", "hospital n", "hospital #")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        for match in _MRN.finditer(view.text):
            value = match.group(1)
            if sum(c.isdigit() for c in value) < 4 or len(set(value)) < 3:
                continue
            start, end = match.span(1)
            yield Hit("MEDICAL_RECORD_NUMBER", start, end, 0.9)
            yield Hit("MEDICAL_CONDITION", start, end, 0.85)


HEALTH_RECOGNIZERS: tuple[type[PiiRecognizer], ...] = (
    GuardMedicalConditionRecognizer,
    GuardMedicalRecordNumberRecognizer,
)
