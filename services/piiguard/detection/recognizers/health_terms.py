"""Vocabulary of health information: conditions, medications, treatments, tests.

Kept as data so it can grow without touching the rules in ``health.py``.
``SERIOUS`` conditions are health information whenever they are tied to a
person ("Dana has lupus"); ``MILD`` ones only with a clinical verb ("tested
positive for flu", "admitted with chest pain"), because "Sam has a cold" is
small talk. Terms shorter than four letters that are also common substrings
(``als``, ``sti``, ``ms``) are left out on purpose.
"""

from __future__ import annotations

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
    "mri", "ct scan", "cat scan", "pet scan", "biopsy", "blood test", "blood tests",
    "bloodwork", "blood work", "lab results", "labs", "a1c", "hba1c", "mammogram",
    "colonoscopy", "pap smear", "ekg", "ecg", "x-ray", "xray", "ultrasound", "pcr test",
    "covid test", "hiv test", "std test", "genetic test", "genetic testing", "brca",
    "pathology report", "scan results", "test results", "viral load", "cd4 count",
    "glucose", "blood sugar", "cholesterol", "psa", "tumor markers", "echocardiogram",
)  # fmt: skip
