"""Vocabulary of health information: conditions, medications, treatments, tests.

Kept as data so it can grow without touching the rules in ``health.py``.
``SERIOUS`` conditions are health information whenever they are tied to a
person ("Dana has lupus"); ``MILD`` ones only with a clinical verb ("tested
positive for flu", "admitted with chest pain"), because "Sam has a cold" is
small talk. Terms shorter than four letters that are also common substrings
(``als``, ``sti``, ``ms``) are left out on purpose.
"""

from __future__ import annotations

import re
from importlib import resources

SERIOUS: tuple[str, ...] = (
    "diabetes", "type 1 diabetes", "type 2 diabetes", "t2dm", "t1dm", "dm2",
    "gestational diabetes", "diabetic",
    "cancer", "breast cancer", "lung cancer", "prostate cancer", "colon cancer",
    "colorectal cancer", "pancreatic cancer", "skin cancer", "ovarian cancer",
    "cervical cancer", "thyroid cancer", "stage 2 cancer", "stage 3 cancer", "stage 4 cancer",
    "leukemia", "leukaemia", "lymphoma", "melanoma", "carcinoma", "sarcoma", "myeloma",
    "tumor", "tumour", "brain tumor", "brain tumour", "glioblastoma", "metastatic",
    "hiv", "hiv positive", "hiv-positive", "aids", "hepatitis", "hepatitis b", "hepatitis c",
    "hep c", "tuberculosis", "depression", "major depressive disorder", "clinical depression",
    "postpartum depression", "anxiety disorder", "generalized anxiety disorder",
    "panic disorder", "panic attacks", "bipolar", "bipolar disorder", "schizophrenia",
    "schizoaffective disorder", "ptsd", "adhd", "autism", "asperger's", "aspergers", "ocd",
    "eating disorder", "anorexia", "bulimia", "epilepsy", "seizures", "seizure disorder",
    "asthma", "copd", "emphysema", "multiple sclerosis", "parkinson's", "parkinsons",
    "parkinson's disease", "alzheimer's", "alzheimers", "alzheimer's disease", "dementia",
    "stroke", "a stroke", "heart attack", "heart disease", "heart failure",
    "congestive heart failure", "coronary artery disease", "cardiomyopathy", "arrhythmia",
    "atrial fibrillation", "afib", "hypertension", "high blood pressure", "high cholesterol",
    "kidney disease", "chronic kidney disease", "kidney failure", "renal failure",
    "liver disease", "cirrhosis", "lupus", "rheumatoid arthritis", "arthritis",
    "crohn's", "crohns", "crohn's disease", "ulcerative colitis", "colitis", "celiac",
    "celiac disease", "coeliac disease", "ibs", "irritable bowel syndrome", "endometriosis",
    "pcos", "infertility", "miscarriage", "sickle cell", "sickle cell anemia", "anemia",
    "anaemia", "cystic fibrosis", "muscular dystrophy", "huntington's", "huntington's disease",
    "lou gehrig's disease", "glaucoma", "macular degeneration", "hypothyroidism",
    "hyperthyroidism", "graves' disease", "hashimoto's", "chlamydia", "gonorrhea",
    "gonorrhoea", "syphilis", "herpes", "hpv", "std", "an std", "long covid", "pneumonia",
    "bronchitis", "meningitis", "sepsis", "shingles", "measles", "malaria", "lyme disease",
    "fibromyalgia", "chronic fatigue syndrome", "sleep apnea", "narcolepsy", "addiction",
    "alcoholism", "alcohol use disorder", "substance use disorder", "opioid addiction",
    "opioid use disorder", "drug addiction", "preeclampsia", "psoriasis", "osteoporosis",
    "scoliosis", "spina bifida", "cerebral palsy", "down syndrome", "tourette's",
    "tourette syndrome", "diverticulitis", "appendicitis", "gallstones", "kidney stones",
    "blood clot", "deep vein thrombosis", "dvt", "pulmonary embolism", "aneurysm",
    "concussion syndrome", "traumatic brain injury", "tbi", "mental illness",
    "borderline personality disorder", "bpd", "dissociative identity disorder",
    "suicidal ideation", "self-harm", "insulin resistance", "prediabetes", "pre-diabetes",
    "mono", "mononucleosis", "covid pneumonia", "cancer diagnosis", "terminal cancer",
)  # fmt: skip

MILD: tuple[str, ...] = (
    "flu", "the flu", "influenza", "covid", "covid-19", "coronavirus", "strep", "strep throat",
    "a cold", "common cold", "stomach bug", "food poisoning", "migraine", "migraines",
    "headache", "fever", "concussion", "sprained ankle", "broken arm", "broken leg",
    "broken wrist", "fracture", "fractured", "torn acl", "chest pain", "shortness of breath",
    "back pain", "allergies", "eczema", "insomnia", "sinus infection", "ear infection",
    "uti", "urinary tract infection", "pink eye", "chickenpox", "covid positive", "rsv",
    "norovirus", "infection", "appendix", "abdominal pain", "dehydration", "vertigo",
    "high fever", "sore throat",
)  # fmt: skip

MEDICATIONS: tuple[str, ...] = (
    "metformin", "insulin", "ozempic", "wegovy", "mounjaro", "semaglutide", "sertraline",
    "zoloft", "fluoxetine", "prozac", "escitalopram", "lexapro", "citalopram", "celexa",
    "bupropion", "wellbutrin", "venlafaxine", "effexor", "duloxetine", "cymbalta",
    "paroxetine", "paxil", "alprazolam", "xanax", "lorazepam", "ativan", "clonazepam",
    "klonopin", "diazepam", "valium", "adderall", "ritalin", "methylphenidate", "vyvanse",
    "concerta", "lithium", "lamotrigine", "lamictal", "quetiapine", "seroquel",
    "aripiprazole", "abilify", "risperidone", "olanzapine", "antidepressants",
    "antidepressant", "antipsychotics", "antipsychotic", "methotrexate", "tamoxifen",
    "herceptin", "prednisone", "humira", "warfarin", "eliquis", "lisinopril", "atorvastatin",
    "lipitor", "levothyroxine", "synthroid", "oxycodone", "hydrocodone", "vicodin",
    "percocet", "morphine", "fentanyl", "methadone", "suboxone", "buprenorphine",
    "naltrexone", "truvada", "descovy", "biktarvy", "antiretroviral", "antiretrovirals",
    "accutane", "isotretinoin", "gabapentin", "tramadol", "insulin pump", "statins",
    "beta blockers", "blood thinners", "chemo pills", "birth control",
)  # fmt: skip

TREATMENTS: tuple[str, ...] = (
    "chemotherapy", "chemo", "radiation therapy", "radiotherapy", "radiation treatment",
    "dialysis", "rehab", "detox", "transplant", "kidney transplant", "liver transplant",
    "bone marrow transplant", "mastectomy", "double mastectomy", "lumpectomy", "ivf",
    "bypass surgery", "heart surgery", "open-heart surgery", "brain surgery",
    "hysterectomy", "immunotherapy", "psychiatric hold", "psych ward", "inpatient psychiatric",
    "antiretroviral therapy", "electroconvulsive therapy", "ect", "cancer treatment",
    "fertility treatment", "hormone therapy", "methadone treatment", "stent", "pacemaker",
    "amputation", "c-section", "infusion", "infusions", "intensive care", "icu",
)  # fmt: skip

TESTS: tuple[str, ...] = (
    "mri", "ct scan", "cat scan", "pet scan", "blood test", "blood tests",
    "bloodwork", "blood work", "lab results", "labs", "a1c", "hba1c", "mammogram",
    "pap smear", "ekg", "ecg", "x-ray", "xray", "ultrasound", "pcr test",
    "covid test", "hiv test", "std test", "genetic test", "genetic testing", "brca",
    "pathology report", "scan results", "test results", "viral load", "cd4 count",
    "glucose", "blood sugar", "cholesterol", "psa", "tumor markers", "echocardiogram",
)  # fmt: skip


# -- the shipped vocabularies (recognizers/data/health_*.txt) ------------------------------

# Category of each data file; bilingual files carry the category per line.
_FILES: dict[str, str | None] = {
    "health_conditions_en.txt": "serious",
    "health_mild_en.txt": "mild",
    "health_medications_en.txt": "med",
    "health_otc_en.txt": "otc",
    "health_procedures_en.txt": "treatment",
    "health_tests_en.txt": "test",
    "health_states_en.txt": None,
    "health_specialists_en.txt": "specialist",
    "health_es.txt": None,
    "health_pt.txt": None,
}
CATEGORIES = frozenset({"serious", "mild", "med", "otc", "treatment", "test", "pregnancy",
                        "disability", "hospital", "specialist"})
# Categories whose nouns take a plural (drug names do not).
_PLURAL = frozenset({"serious", "mild", "treatment", "test"})
# Words that the old in-code lists held but that are too often figurative.
_DROPPED = frozenset({"addiction"})

TOKEN = re.compile(r"[0-9a-zà-öø-ÿ]+(?:['\u2019\-][0-9a-zà-öø-ÿ]+)*")


def term_tokens(term: str) -> tuple[str, ...]:
    return tuple(TOKEN.findall(term.lower().replace("\u2019", "'")))


def _plural(word: str) -> str | None:
    if word.endswith(("s", "x", "'s")) or not word[-1:].isalpha():
        return None
    if word.endswith("y") and len(word) > 3 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("ch", "sh")):
        return word + "es"
    if word.endswith(("ón", "ão")):
        return None  # operación -> operaciones: leave Romance plurals of -ón alone
    return word + "s"


def _read_vocabulary() -> dict[tuple[str, ...], str]:
    vocabulary: dict[tuple[str, ...], str] = {}

    def add(term: str, category: str) -> None:
        tokens = term_tokens(term)
        if not tokens or term in _DROPPED:
            return
        variants = {tokens}
        if any("-" in t for t in tokens):  # open-heart surgery == open heart surgery
            variants.add(term_tokens(term.replace("-", " ")))
        if category in _PLURAL:
            for variant in list(variants):
                plural = _plural(variant[-1])
                if plural:
                    variants.add((*variant[:-1], plural))
        for variant in variants:
            vocabulary.setdefault(variant, category)

    for category, terms in (("serious", SERIOUS), ("mild", MILD), ("med", MEDICATIONS),
                            ("treatment", TREATMENTS), ("test", TESTS)):
        for term in terms:
            add(term, category)
    data = resources.files("piiguard.detection.recognizers") / "data"
    for name, fixed in _FILES.items():
        for line in (data / name).read_text("utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if fixed is None:
                term, _, category = line.partition("\t")
                category = category.strip()
            else:
                term, category = line, fixed
            if category in CATEGORIES:
                add(term.strip(), category)
    return vocabulary


VOCABULARY: dict[tuple[str, ...], str] = _read_vocabulary()
# First token -> candidate terms, longest first, so "breast cancer" wins over "breast".
INDEX: dict[str, list[tuple[tuple[str, ...], str]]] = {}
for _tokens, _category in sorted(VOCABULARY.items(), key=lambda kv: -len(kv[0])):
    INDEX.setdefault(_tokens[0], []).append((_tokens, _category))


# Word shapes of drugs and procedures the vocabulary may lack: the INN stems of generic
# drug names (WHO's naming scheme: -mab antibodies, -nib kinase inhibitors, -pril ACE
# inhibitors...) and the suffixes of surgical procedures (-ectomy, -plasty...). A word
# of that shape is a medication or a procedure, and still needs its relation to a person.
_DRUG_SHAPE = re.compile(
    r"[a-z]{3,}(?:mab|nib|pril|sartan|olol|statin|azepam|zolam|prazole|cycline|mycin|"
    r"floxacin|cillin|tidine|gliptin|gliflozin|glutide|tegravir|navir|buvir|ciclovir|"
    r"zumab|ximab|umab|tinib|parin|xaban|gatran|triptan|setron|lukast|glitazone|afil|"
    r"dronate|triptyline|oxetine|pramine|apine|peridone|idone|peridol|barbital|semide|"
    r"thiazide|dipine|conazole|profen|terol|sonide|olone|asone|lisib|ciclib|parib|"
    r"degib|rafenib|tuzumab|cept|kinra|fungin|micin)"
)
_PROCEDURE_SHAPE = re.compile(r"[a-z]{3,}(?:ectomy|ectomies|plasty|otomy|ostomy|oscopy|pheresis|"
                              r"centesis|therapy)")
_NOT_DRUG_WORDS = frozenset({"april", "concept", "intercept", "accept", "except", "percept",
                             "precept", "incept", "capsule", "recept", "discept",
                             # the shapes of procedures, in words of labs and logic
                             "dichotomy", "microscopy", "spectroscopy", "stereoscopy",
                             "telescopy"})


def _shape_category(token: str) -> str | None:
    if len(token) < 7 or token in _NOT_DRUG_WORDS or not token.isalpha():
        return None
    if _PROCEDURE_SHAPE.fullmatch(token):
        return "treatment"
    if _DRUG_SHAPE.fullmatch(token):
        return "med"
    return None


def find_terms(lower: str) -> list[tuple[int, int, str]]:
    """(start, end, category) of every vocabulary term in a lower-cased text, longest match."""
    tokens = [(m.start(), m.end(), m.group().replace("\u2019", "'"))
              for m in TOKEN.finditer(lower)]
    found: list[tuple[int, int, str]] = []
    index = 0
    while index < len(tokens):
        candidates = INDEX.get(tokens[index][2]) or ()
        step = 0
        for seq, category in candidates:
            n = len(seq)
            if index + n <= len(tokens) and all(
                tokens[index + k][2] == seq[k] for k in range(1, n)
            ):
                found.append((tokens[index][0], tokens[index + n - 1][1], category))
                step = n
                break
        if not step:
            step = 1
            shape = _shape_category(tokens[index][2])
            if shape is not None:
                found.append((tokens[index][0], tokens[index][1], shape))
        index += step
    return found


SHAPE_KEYWORDS: tuple[str, ...] = (
    "mab", "nib", "pril", "sartan", "olol", "statin", "azepam", "zolam", "prazole", "cycline",
    "mycin", "floxacin", "cillin", "tidine", "gliptin", "gliflozin", "glutide", "vir",
    "parin", "xaban", "gatran", "triptan", "setron", "lukast", "glitazone", "afil", "dronate",
    "triptyline", "oxetine", "pramine", "apine", "idone", "peridol", "barbital", "semide",
    "thiazide", "dipine", "conazole", "profen", "terol", "sonide", "olone", "asone", "lisib",
    "ciclib", "parib", "degib", "cept", "kinra", "fungin", "micin", "ectom", "plasty", "otomy",
    "ostomy", "oscopy", "pheresis", "centesis", "therapy",
)


def prefilter_keywords() -> tuple[str, ...]:
    """One literal per term for the Aho-Corasick prefilter (its longest token), and the shapes."""
    keywords = {max(tokens, key=len) for tokens in VOCABULARY} | set(SHAPE_KEYWORDS)
    return tuple(sorted(k for k in keywords if len(k) >= 3))
