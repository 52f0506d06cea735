"""Generate the labeled Slack-style corpus for ``bench/detection.py``.

Usage: ``python bench/data/generate_corpus.py [--seed 7] [--out bench/data/corpus.jsonl]``

Each line is ``{"id", "text", "kinds", "delete", "group"}``: ``kinds`` are the
entity kinds a careful reader would name (default-policy kinds only), and
``delete`` is the default policy's verdict (a Stripe test key alone is
``notify``, so ``delete`` is false). Values come from Faker and our own
generators; templates are ours. Positives cover every kind, alone, together,
buried in long messages and in code blocks; negatives are the look-alikes a
naive detector deletes (phones, versions, order and tracking numbers, UUIDs,
hashes, timestamps, Slack markup, masked values, documented placeholders,
talk about illness). ``hard_cases.jsonl`` holds hand-written cases in the same
format and is read by the benchmark too.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import string
import uuid
from collections.abc import Callable
from pathlib import Path

from faker import Faker

HERE = Path(__file__).resolve().parent
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"


class Gen:
    """Value generators: each returns a fresh, valid value of one kind."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        Faker.seed(seed)
        self.f = Faker("en_US")
        self.locales = {loc: Faker(loc) for loc in ("en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES",
                                                    "it_IT")}

    def s(self, alphabet: str, n: int) -> str:
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def pick(self, items: list[str] | tuple[str, ...]) -> str:
        return self.r.choice(list(items))

    # -- people and filler -------------------------------------------------------
    def name(self) -> str:
        return self.f.name() if self.r.random() < 0.7 else self.f.first_name()

    def first(self) -> str:
        return self.f.first_name()

    def mention(self) -> str:
        return f"<@U{self.s(string.ascii_uppercase + string.digits, 10)}>"

    # -- financial ----------------------------------------------------------------
    def card(self) -> str:
        kind = self.pick(["visa", "visa", "mastercard", "mastercard", "amex", "discover", "jcb"])
        digits = self.f.credit_card_number(card_type=kind)
        style = self.r.random()
        if style < 0.4:
            return digits
        sep = " " if style < 0.8 else "-"
        if len(digits) == 15:
            return sep.join([digits[:4], digits[4:10], digits[10:]])
        return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))

    def iban(self) -> str:
        value = self.locales[self.pick(list(self.locales))].iban()
        if self.r.random() < 0.5:
            return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        return value

    def bank_account(self) -> str:
        return str(self.r.randint(1, 9)) + self.s(string.digits, self.r.randint(7, 13))

    def routing(self) -> str:
        while True:
            d = [self.r.randint(0, 9) for _ in range(8)]
            for last in range(10):
                digits = [*d, last]
                total = 3 * (digits[0] + digits[3] + digits[6]) + 7 * (
                    digits[1] + digits[4] + digits[7]) + digits[2] + digits[5] + digits[8]
                if total % 10 == 0:
                    return "".join(map(str, digits))

    # -- government ids -------------------------------------------------------------
    def ssn(self) -> str:
        value = self.f.ssn()
        style = self.r.random()
        if style < 0.75:
            return value
        return value.replace("-", " ") if style < 0.9 else value.replace("-", "")

    def itin(self) -> str:
        return self.f.itin()

    def passport(self) -> str:
        if self.r.random() < 0.6:
            return str(self.r.randint(1, 9)) + self.s(string.digits, 8)
        return self.pick(string.ascii_uppercase) + self.s(string.digits, 8)

    def driver_license(self) -> str:
        u, d = string.ascii_uppercase, string.digits
        return self.pick([
            self.pick(u) + self.s(d, 7),                                  # CA
            self.pick(u) + self.s(d, 12),                                 # FL-ish
            self.s(d, 9),                                                 # NY / TX-ish
            self.pick(u) + self.s(d, 3) + "-" + self.s(d, 4) + "-" + self.s(d, 4),  # IL
            self.s(d, 3) + " " + self.s(d, 3) + " " + self.s(d, 3),       # NY printed
            self.pick(u) + self.s(d, 8),
            self.s(d, 8),
        ])

    def nhs(self) -> str:
        while True:
            d = [self.r.randint(0, 9) for _ in range(9)]
            d[0] = self.r.randint(3, 9)
            check = 11 - sum(x * w for x, w in zip(d, range(10, 1, -1), strict=True)) % 11
            check = 0 if check == 11 else check
            if check != 10:
                digits = "".join(map(str, [*d, check]))
                style = self.r.random()
                if style < 0.6:
                    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
                return digits if style < 0.85 else f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"

    def mrn(self) -> str:
        return self.pick(["", "", "MR", "A"]) + self.s(string.digits, self.r.randint(6, 10))

    # -- credentials ------------------------------------------------------------------
    def aws_id(self) -> str:
        return self.pick(["AKIA", "AKIA", "AKIA", "ASIA"]) + self.s("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)

    def aws_secret(self) -> str:
        while True:
            value = self.s(B64, 40)
            if any(c.isupper() for c in value) and any(c.isdigit() for c in value):
                return value

    def slack_token(self) -> str:
        d = string.digits
        return self.pick([
            f"xoxb-{self.s(d, 12)}-{self.s(d, 13)}-{self.s(ALNUM, 24)}",
            f"xoxp-{self.s(d, 12)}-{self.s(d, 12)}-{self.s(d, 13)}-{self.s('0123456789abcdef', 32)}",
            f"xoxa-2-{self.s(d, 12)}-{self.s(d, 12)}-{self.s('0123456789abcdef', 32)}",
            f"xoxe.xoxp-1-{self.s(ALNUM, 140)}",
            f"xoxe-1-{self.s(ALNUM, 120)}",
            f"xoxr-{self.s(d, 12)}-{self.s(ALNUM, 30)}",
        ])

    def slack_webhook(self) -> str:
        up = string.ascii_uppercase + string.digits
        return (f"https://hooks.slack.com/services/T{self.s(up, 8)}/B{self.s(up, 10)}/"
                f"{self.s(ALNUM, 24)}")

    def github(self) -> str:
        if self.r.random() < 0.25:
            return f"github_pat_{self.s(ALNUM, 22)}_{self.s(ALNUM, 59)}"
        return f"{self.pick(['ghp', 'ghp', 'gho', 'ghu', 'ghs', 'ghr'])}_{self.s(ALNUM, 36)}"

    def stripe_live(self) -> str:
        return f"{self.pick(['sk', 'sk', 'rk'])}_live_{self.s(ALNUM, self.r.choice([24, 34, 99]))}"

    def stripe_test(self) -> str:
        return f"sk_test_{self.s(ALNUM, self.r.choice([24, 34, 99]))}"

    def google(self) -> str:
        return "AIza" + self.s(ALNUM + "_-", 35)

    def private_key(self) -> str:
        label = self.pick(["RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY",
                           "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "DSA PRIVATE KEY"])
        lines = [self.s(B64, 64) for _ in range(self.r.randint(3, 12))]
        lines.append(self.s(B64, self.r.randint(8, 60)) + "==")
        return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"

    def jwt(self) -> str:
        def enc(obj: dict[str, object]) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

        header = {"alg": self.pick(["HS256", "RS256", "ES256"]), "typ": "JWT"}
        payload = {"sub": str(uuid.UUID(int=self.r.getrandbits(128))),
                   "email": self.f.email(), "iat": self.r.randint(1_600_000_000, 1_750_000_000),
                   "role": self.pick(["admin", "user", "service"])}
        sig = base64.urlsafe_b64encode(self.r.randbytes(32)).decode().rstrip("=")
        return f"{enc(header)}.{enc(payload)}.{sig}"

    def password(self) -> str:
        word = self.f.word().capitalize()
        return self.pick([
            f"{word}{self.r.randint(10, 2025)}{self.pick('!@#$%&*')}",
            self.f.password(length=self.r.randint(10, 16)),
            f"{self.f.word()}{self.pick('_-.')}{self.f.word()}{self.r.randint(1, 99)}",
            f"{self.s(ALNUM, 12)}",
        ])

    def db_url(self) -> str:
        scheme = self.pick(["postgres", "postgresql", "mysql", "mongodb+srv", "mongodb", "redis",
                            "amqp", "mssql"])
        user = self.pick([self.f.user_name(), "admin", "app", "svc_" + self.f.word()])
        host = self.pick([f"db.{self.f.domain_name()}", f"{self.f.word()}-prod.internal",
                          f"10.0.{self.r.randint(0, 255)}.{self.r.randint(1, 254)}",
                          f"cluster0.{self.s(string.ascii_lowercase, 5)}.mongodb.net"])
        port = self.pick(["", ":5432", ":3306", ":27017", ":6379"])
        return f"{scheme}://{user}:{self.password()}@{host}{port}/{self.f.word()}"

    def api_key(self) -> str:
        return self.pick([
            self.s(ALNUM, 32),
            self.s("0123456789abcdef", 32),
            "sk-proj-" + self.s(ALNUM + "_-", 48),
            "SG." + self.s(ALNUM + "_-", 22) + "." + self.s(ALNUM + "_-", 43),
            self.s(ALNUM, 40),
            str(uuid.UUID(int=self.r.getrandbits(128))),
        ])


def api_kind(value: str) -> str:
    """The kind of a value made by ``api_key``: a vendor's format names its vendor."""
    if value.startswith("sk-proj-"):
        return "OPENAI_API_KEY"
    if value.startswith("SG."):
        return "SENDGRID_API_KEY"
    return "GENERIC_API_KEY"


HEALTH_SERIOUS = ["type 2 diabetes", "breast cancer", "leukemia", "lymphoma", "HIV",
                  "multiple sclerosis", "bipolar disorder", "schizophrenia", "epilepsy",
                  "Crohn's disease", "lupus", "stage 3 colon cancer", "major depressive disorder",
                  "PTSD", "Parkinson's disease", "early-onset Alzheimer's", "hepatitis C",
                  "rheumatoid arthritis", "kidney failure", "an eating disorder", "ADHD",
                  "COPD", "heart failure", "endometriosis", "a brain tumor", "cystic fibrosis"]
HEALTH_MILD = ["COVID", "the flu", "strep throat", "pneumonia", "a concussion", "chest pain",
               "shortness of breath", "a fractured wrist"]
MEDS = ["metformin", "Zoloft", "lithium", "Adderall", "insulin", "methotrexate", "Lexapro",
        "Truvada", "Ozempic", "Seroquel", "chemo"]
TESTS = ["biopsy", "MRI", "blood work", "mammogram", "CT scan", "A1C"]

FILLER = [
    "Morning all!", "Standup moved to 10:30 today.", "PR #{n} is ready for review.",
    "Deploying {svc} to staging now.", "Can someone look at the flaky test in {svc}?",
    "Thanks for the quick turnaround on this.", "Reminder: retro is at 3pm.",
    "I'll be OOO Friday, back Monday.", "The dashboard is loading slowly again.",
    "Let's sync after lunch about the roadmap.", "Merged, will cut a release this afternoon.",
    "CI is green again after the fix.", "Who owns the {svc} alerts this week?",
    "Heads up: the VPN will restart at 6pm.", "Great demo today, nice work everyone.",
    "I pushed a fix for the timezone bug.", "Anyone seen the latest design mocks?",
    "Can we bump the priority on {ticket}?", "Lunch order closes in 10 minutes.",
    "Ping me if the migration script fails.", "Moving this thread to #{chan}.",
]
SERVICES = ["billing-api", "auth-service", "search", "web-frontend", "ingest-worker", "notifier"]
CHANNELS = ["eng-backend", "random", "incidents", "deploys", "support", "design"]


class Builder:
    def __init__(self, seed: int) -> None:
        self.g = Gen(seed)
        self.r = self.g.r
        self.rows: list[dict[str, object]] = []

    def filler(self) -> str:
        return self.g.pick(FILLER).format(
            n=self.r.randint(100, 9999), svc=self.g.pick(SERVICES),
            ticket=f"ENG-{self.r.randint(10, 9999)}", chan=self.g.pick(CHANNELS))

    def add(self, text: str, kinds: list[str], group: str) -> None:
        delete = any(k != "STRIPE_TEST_KEY" for k in kinds)
        self.rows.append({"text": text, "kinds": sorted(set(kinds)), "delete": delete,
                          "group": group})

    def many(self, n: int, fn: Callable[[], tuple[str, list[str]]], group: str) -> None:
        for _ in range(n):
            text, kinds = fn()
            self.add(text, kinds, group)

    # -- positives, one kind -----------------------------------------------------------
    def positives(self) -> None:
        g, p = self.g, self.g.pick
        self.many(45, lambda: (p([
            "my card is {v}, exp 08/27", "can you charge {v} for the conference booth?",
            "Visa {v} cvv 123", "use the company card {v} for the AWS bill",
            "{n}'s credit card: {v}", "cc# {v}", "card number {v} expires 11/26",
            "billing failed for {v}, can you retry?", "here you go: {v}",
            "paying with {v}, zip 94107", "debit card {v} - please reimburse",
            "{v} exp 03/28 cvc 456 for the team offsite",
        ]).format(v=g.card(), n=g.first()), ["CREDIT_CARD"]), "card")
        self.many(35, lambda: (p([
            "IBAN: {v}", "please wire the deposit to {v}", "my IBAN is {v} (bank: {c})",
            "send the refund to {v}", "beneficiary {n}, account {v}",
            "{n} asked to be paid into {v}", "bank details for the contractor: {v}",
        ]).format(v=g.iban(), n=g.name(), c=g.f.company()), ["IBAN_CODE"]), "iban")
        self.many(35, lambda: (p([
            "wire to checking account {v}, routing {r}", "bank account number: {v}",
            "direct deposit: acct {v} routing {r}", "my savings account is {v} at {c}",
            "acct # {v} at Chase, can you set up the ACH?", "routing {r} account {v}",
            "please update payroll to bank account {v}", "account number {v} (checking)",
        ]).format(v=g.bank_account(), r=g.routing(), c=g.f.company()), ["US_BANK_NUMBER"]),
            "bank")
        self.many(45, lambda: (p([
            "my SSN is {v}", "SSN: {v}", "{n}'s social security number is {v}",
            "for the background check: {n}, {v}", "ssn {v} dob 04/12/1988",
            "new hire form: name {n}, SSN {v}", "social: {v}", "here's the SSN you asked for {v}",
            "{n} - {v} - needs W-2 correction", "I-9 details: {v}",
        ]).format(v=g.ssn(), n=g.name()), ["US_SSN"]), "ssn")
        self.many(25, lambda: (p([
            "ITIN: {v}", "my ITIN is {v}", "{n} files with ITIN {v}",
            "taxpayer id {v} for the contractor", "use ITIN {v} on the 1099",
        ]).format(v=g.itin(), n=g.name()), ["US_ITIN"]), "itin")
        self.many(30, lambda: (p([
            "passport number {v}", "my passport no. is {v}", "{n}'s passport: {v}, exp 2031",
            "for the visa letter: passport {v}", "Passport # {v} issued 2019",
            "booking the flight for {n}, passport number {v}",
        ]).format(v=g.passport(), n=g.name()), ["US_PASSPORT"]), "passport")
        self.many(30, lambda: (p([
            "driver's license number {v}", "DL# {v}", "my drivers license is {v}",
            "{n}'s driver license: {v} (CA)", "rental car form: license number {v}",
            "DL {v} exp 2027", "driving licence {v}",
        ]).format(v=g.driver_license(), n=g.name()), ["US_DRIVER_LICENSE"]), "dl")
        self.many(30, lambda: (p([
            "NHS number {v}", "my NHS no is {v}", "{n}, NHS {v}, needs a GP referral",
            "patient NHS number: {v}", "NHS#: {v}",
        ]).format(v=g.nhs(), n=g.name()), ["UK_NHS"]), "nhs")
        self.many(30, lambda: (p([
            "AWS access key {v}", "AWS_ACCESS_KEY_ID={v}", "use {v} for the deploy bot",
            "key id: {v}", "aws_access_key_id = {v}",
        ]).format(v=g.aws_id()), ["AWS_ACCESS_KEY"]), "aws_id")
        self.many(30, lambda: (p([
            "aws_secret_access_key = {v}", "AWS secret: {v}", "AWS_SECRET_ACCESS_KEY={v}",
            "the secret key for the s3 bucket is {v}",
        ]).format(v=g.aws_secret()), ["AWS_SECRET_KEY"]), "aws_secret")
        self.many(15, lambda: (
            f"aws creds for staging:\nAWS_ACCESS_KEY_ID={g.aws_id()}\n"
            f"AWS_SECRET_ACCESS_KEY={g.aws_secret()}", ["AWS_ACCESS_KEY", "AWS_SECRET_KEY"]),
            "aws_pair")
        self.many(35, lambda: (p([
            "bot token: {v}", "SLACK_BOT_TOKEN={v}", "try with {v}",
            "the app uses {v} for posting", "here's the token {v} don't share",
        ]).format(v=g.slack_token()), ["SLACK_TOKEN"]), "slack")
        self.many(30, lambda: (p([
            "webhook: {v}", "post alerts to {v}", "SLACK_WEBHOOK_URL={v}",
            "curl -X POST -d '{{\"text\":\"hi\"}}' {v}", "new incoming webhook <{v}|here>",
        ]).format(v=g.slack_webhook()), ["SLACK_WEBHOOK_TOKEN"]), "webhook")
        self.many(40, lambda: (p([
            "here's my token {v}", "GITHUB_TOKEN={v}", "git clone https://{v}@github.com/acme/app",
            "use {v} for the CI runner", "export GH_TOKEN={v}", "PAT: {v}",
        ]).format(v=g.github()), ["GITHUB_TOKEN"]), "github")
        self.many(30, lambda: (p([
            "stripe key {v}", "STRIPE_SECRET_KEY={v}", "prod stripe: {v}",
            "Stripe.api_key = \"{v}\"",
        ]).format(v=g.stripe_live()), ["STRIPE_KEY"]), "stripe")
        self.many(20, lambda: (p([
            "test key for the sandbox: {v}", "STRIPE_KEY={v} (test mode)",
            "use {v} in your local .env",
        ]).format(v=g.stripe_test()), ["STRIPE_TEST_KEY"]), "stripe_test")
        self.many(30, lambda: (p([
            "maps key {v}", "GOOGLE_API_KEY={v}", "https://maps.googleapis.com/maps/api/js?key={v}",
            "firebase apiKey: \"{v}\"",
        ]).format(v=g.google()), ["GOOGLE_API_KEY"]), "google")
        self.many(30, lambda: (p([
            "here's the deploy key:\n{v}", "```\n{v}\n```", "id_rsa for the bastion:\n```{v}```",
        ]).format(v=g.private_key()), ["PRIVATE_KEY"]), "private_key")
        self.many(30, lambda: (p([
            "Authorization: Bearer {v}", "jwt: {v}", "my session token {v} keeps expiring",
            "curl -H \"Authorization: Bearer {v}\" https://api.acme.io/v1/me",
        ]).format(v=g.jwt()), ["JWT_TOKEN"]), "jwt")
        self.many(30, lambda: (p([
            "DATABASE_URL={v}", "connect with {v}", "prod db: `{v}`",
            "psql \"{v}\"", "the connection string is {v}",
        ]).format(v=g.db_url()), ["DATABASE_PASSWORD"]), "db")
        self.many(40, lambda: (p([
            "password: {v}", "the wifi password is {v}", "pw is {v}", "login: {u} / {v}",
            "creds: {u}/{v}", "admin password = {v}", "new password for the shared account: {v}",
            "pwd: {v}", "the vpn password is {v} until Friday", "user {u} pass {v}",
        ]).format(v=g.password(), u=g.f.user_name()), ["PASSWORD"]), "password")
        self.many(40, lambda: (lambda v: (p([
            "api_key={v}", "API key: {v}", "token: {v}", "export OPENAI_API_KEY={v}",
            "X-API-Key: {v}", "SENDGRID_API_KEY=\"{v}\"", "twilio auth token {v}",
            "headers = {{\"x-api-key\": \"{v}\"}}", "client_secret: {v}",
        ]).format(v=v), [api_kind(v)]))(g.api_key()), "generic")
        self.many(70, lambda: (p([
            "{n} was diagnosed with {c} last month", "{n} has {c}, so please go easy on deadlines",
            "FYI {n} tested positive for {m} and will be out this week",
            "{m2} is on {med} for {c}", "{n} started chemo for {c} on Monday",
            "Patient {n}, 54, admitted with {m}", "{n}'s {t} came back positive",
            "heads up, {n} is being treated for {c}", "{n} just got diagnosed with {c}",
            "my wife was diagnosed with {c}", "{m2} has been struggling with {c} since spring",
            "{n} is taking {med} for her {c}", "{n} was hospitalized with {m} over the weekend",
            "I was diagnosed with {c} last year, some days are rough",
            "{n}'s {t} results showed {c}",
        ]).format(n=g.name(), m2=g.mention(), c=g.pick(HEALTH_SERIOUS), m=g.pick(HEALTH_MILD),
                  med=g.pick(MEDS), t=g.pick(TESTS)), ["MEDICAL_CONDITION"]), "health")
        self.many(20, lambda: (p([
            "MRN {v} - {n}", "patient {n}, MRN: {v}", "pull the chart for MRN {v}",
            "medical record number {v} for {n}",
        ]).format(v=g.mrn(), n=g.name()), ["MEDICAL_RECORD_NUMBER", "MEDICAL_CONDITION"]),
            "mrn")

    # -- multi-kind, long, code --------------------------------------------------------
    def composites(self) -> None:
        g = self.g
        singles: list[tuple[Callable[[], str], str]] = [
            (lambda: f"card {g.card()}", "CREDIT_CARD"),
            (lambda: f"SSN {g.f.ssn()}", "US_SSN"),
            (lambda: f"token {g.github()}", "GITHUB_TOKEN"),
            (lambda: f"AWS key {g.aws_id()}", "AWS_ACCESS_KEY"),
            (lambda: f"IBAN {g.iban()}", "IBAN_CODE"),
            (lambda: f"password: {g.password()}", "PASSWORD"),
            (lambda: f"{g.name()} was diagnosed with {g.pick(HEALTH_SERIOUS)}",
             "MEDICAL_CONDITION"),
            (lambda: f"passport number {g.passport()}", "US_PASSPORT"),
            (lambda: f"stripe {g.stripe_live()}", "STRIPE_KEY"),
            (lambda: f"DATABASE_URL={g.db_url()}", "DATABASE_PASSWORD"),
            (lambda: f"NHS number {g.nhs()}", "UK_NHS"),
            (lambda: f"bot token {g.slack_token()}", "SLACK_TOKEN"),
        ]
        for _ in range(60):
            chosen = self.r.sample(singles, self.r.randint(2, 3))
            parts = [fn() for fn, _ in chosen]
            self.add(g.pick([", ", "; also ", "\n", " and "]).join(parts),
                     [k for _, k in chosen], "multi")
        for _ in range(60):
            fn, kind = self.r.choice(singles)
            before = " ".join(self.filler() for _ in range(self.r.randint(4, 12)))
            after = " ".join(self.filler() for _ in range(self.r.randint(4, 12)))
            self.add(f"{before} {fn()}. {after}", [kind], "long")
        code: list[tuple[Callable[[], str], list[str]]] = [
            (lambda: f"```\nexport AWS_ACCESS_KEY_ID={g.aws_id()}\nexport AWS_SECRET_ACCESS_KEY="
                     f"{g.aws_secret()}\nexport AWS_REGION=us-east-1\n```",
             ["AWS_ACCESS_KEY", "AWS_SECRET_KEY"]),
            (lambda: f"```yaml\ndatabase:\n  url: {g.db_url()}\n  pool: 10\n```",
             ["DATABASE_PASSWORD"]),
            (lambda: f"```python\nclient = Github(\"{g.github()}\")\nrepo = client.get_repo"
                     f"(\"acme/app\")\n```", ["GITHUB_TOKEN"]),
            (lambda: f"```json\n{{\"name\": \"{g.name()}\", \"ssn\": \"{g.f.ssn()}\", "
                     f"\"plan\": \"gold\"}}\n```", ["US_SSN"]),
            (lambda: f"```\nSLACK_BOT_TOKEN={g.slack_token()}\nLOG_LEVEL=debug\n```",
             ["SLACK_TOKEN"]),
            (lambda: f"```js\nconst stripe = require('stripe')('{g.stripe_live()}');\n```",
             ["STRIPE_KEY"]),
            (lambda: f"```\nconfig.api_key = \"{g.api_key()}\"\nconfig.timeout = 30\n```",
             None),
        ]
        for _ in range(50):
            fn, kinds = self.r.choice(code)
            lead = self.g.pick(["this is what I have locally:", "repro:", "can someone check "
                                "why this fails?", "here's my config", ""])
            snippet = fn()
            if kinds is None:  # an API key: its kind follows its format
                kinds = [api_kind(snippet.split('"')[1])]
            self.add(f"{lead}\n{snippet}".strip(), kinds, "code")

    # -- negatives ----------------------------------------------------------------------
    def many_neg(self, n: int, fn: Callable[[], tuple[str, list[str]]], group: str) -> None:
        """Hard negatives outnumber positives: each negative template runs twice as often."""
        self.many(2 * n, fn, group)

    def negatives(self) -> None:
        g, p, r = self.g, self.g.pick, self.r
        d = string.digits
        self.many_neg(60, lambda: (p([
            "call me at {ph}", "my cell is {ph}", "support line: {ph}", "text {n} at {ph}",
            "{n}'s number is {ph} if you need her", "fax it to {ph}", "dial {ph} ext 204",
        ]).format(ph=g.f.phone_number(), n=g.first()), []), "neg_phone")
        self.many_neg(25, lambda: (p([
            "UK office: {ph}", "ring the London desk on {ph}", "mobile {ph}",
        ]).format(ph=p(["020 7946 0" + g.s(d, 3), "07700 900" + g.s(d, 3),
                        "+44 20 7946 " + g.s(d, 4), "0161 496 0" + g.s(d, 3)])), []), "neg_uk_phone")
        self.many_neg(50, lambda: (p([
            "released v{a}.{b}.{c}", "bumped {svc} to {a}.{b}.{c}-rc.{b}", "running node {a}.{b}.{c}",
            "Windows 10 build 19045.{c}{a}", "upgrade to {a}.{b}.{c}.{c}{c}", "chart version {a}.{b}.{c}",
        ]).format(a=r.randint(0, 30), b=r.randint(0, 40), c=r.randint(0, 300),
                  svc=p(SERVICES)), []), "neg_version")
        self.many_neg(50, lambda: (p([
            "order #{o} shipped", "Amazon order {am}", "tracking number {t}", "UPS {ups}",
            "USPS tracking {usps}", "FedEx {fx} arrives Tuesday", "invoice {o} is overdue",
            "ticket {o} reopened", "PO {o} approved", "confirmation code {o}",
        ]).format(o=g.s(d, r.randint(8, 12)),
                  am=f"{g.s(d, 3)}-{g.s(d, 7)}-{g.s(d, 7)}",
                  t=g.s(d, r.randint(12, 22)),
                  ups="1Z" + g.s(string.ascii_uppercase + d, 16),
                  usps=" ".join(g.s(d, 4) for _ in range(5)) + " " + g.s(d, 2),
                  fx=g.s(d, 12)), []), "neg_order")
        self.many_neg(40, lambda: (p([
            "request id {u}", "trace {u} failed", "fixed in {h7}", "commit {h40}",
            "image digest sha256:{h64}", "see {h40} for the revert", "etag {h32}",
            "user {u} can't log in",
        ]).format(u=uuid.UUID(int=r.getrandbits(128)), h7=g.s("0123456789abcdef", 7),
                  h40=g.s("0123456789abcdef", 40), h64=g.s("0123456789abcdef", 64),
                  h32=g.s("0123456789abcdef", 32)), []), "neg_ids")
        self.many_neg(30, lambda: (p([
            "deployed at {iso}", "log line: {iso} ERROR timeout", "ts={ep}",
            "message ts {ep}.{us}", "epoch {ep}000 in ms", "cron ran at {ep}",
        ]).format(iso=g.f.iso8601(), ep=r.randint(1_500_000_000, 1_760_000_000),
                  us=g.s(d, 6)), []), "neg_time")
        self.many_neg(40, lambda: (p([
            "<@U{x}> can you take a look?", "moving to <#C{x}|{chan}>",
            "see <https://acme.atlassian.net/browse/ENG-{n}|ENG-{n}>",
            "<!subteam^S{x}> deploy freeze starts now", "<https://github.com/acme/app/pull/{n}|#{n}>",
            "<!date^{ep}^{{date_short}}|Feb 18> works for me",
            "<https://acme.zendesk.com/agent/tickets/{big}|ticket {big}>",
        ]).format(x=g.s(string.ascii_uppercase + d, 10), chan=p(CHANNELS),
                  n=r.randint(100, 99999), ep=r.randint(1_500_000_000, 1_760_000_000),
                  big=g.s(d, 9)), []), "neg_markup")
        self.many_neg(40, lambda: (p([
            "card ending in {l4}", "charged to **** **** **** {l4}", "acct ****{l4}",
            "SSN XXX-XX-{l4}", "the card on file is Visa •••• {l4}", "last 4 of my SSN: {l4}",
            "password: ********", "token: ****************", "api_key=<redacted>",
        ]).format(l4=g.s(d, 4)), []), "neg_masked")
        self.many_neg(45, lambda: (p([
            "the docs use AKIAIOSFODNN7EXAMPLE as the key id",
            "set SLACK_BOT_TOKEN=xoxb-your-token-here in .env",
            "export GITHUB_TOKEN=<your token>", "api_key=YOUR_API_KEY",
            "DATABASE_URL=postgres://user:password@localhost:5432/app",
            "webhook format: https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "token: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "password: <your password>",
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "use sk_live_xxxxxxxxxxxxxxxxxxxxxxxx as a template",
            "set GOOGLE_API_KEY=${{GOOGLE_API_KEY}} in CI",
            "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
            "the JWT looks like eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwi"
            "bmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
            "password: {{{{ secrets.DB_PASSWORD }}}}", "token = os.environ[\"API_TOKEN\"]",
        ]), []), "neg_placeholder")
        self.many_neg(60, lambda: (p([
            "flu season is here, get your shots at the office on {day}",
            "our diabetes feature ships {day}", "{n} is out sick today",
            "{n} is out sick, standup moved", "great article on cancer research funding",
            "we're sponsoring the Alzheimer's walk this year",
            "the HIV testing app launch went well", "can we add insulin dosage to the data model?",
            "{n} is leading the cancer screening campaign", "Mental health day tomorrow, enjoy!",
            "covid rules for the office: masks optional", "anyone have a good migraine remedy?",
            "half the team has a cold this week", "the MRI scheduling service is down again",
            "our app helps users diagnosed with diabetes track glucose",
            "{n} is at a doctor's appointment until 2", "wellness stipend covers therapy now",
            "patients can now book blood tests online", "depression in tech is a real topic, good talk",
        ]).format(n=g.first(), day=p(["Friday", "Monday", "next week"])), []), "neg_health")
        self.many_neg(40, lambda: (p([
            "our AWS account {aws} is over budget", "arn:aws:iam::{aws}:role/deploy",
            "customer id {cid}", "employee number {cid}", "zip code {zip}",
            "the total was ${price}", "we shipped {q} units", "ping {ip}", "MAC {mac}",
            "public_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{pk} {n}@laptop",
            "max_tokens=4096, temperature 0.2", "the password is case sensitive",
            "reset your password at <https://id.acme.io/reset|id.acme.io>",
            "token expired, please log in again", "MIT license, see LICENSE file",
            "license key for the IDE: {lk}", "card number 4532 1234 5678 9012 is invalid (test)",
            "ISBN 978-3-16-148410-0", "IMEI 35{imei}", "the secret to good docs is examples",
            "GDPR says we keep records 30 days", "build {b} passed",
        ]).format(aws=g.s(d, 12), cid=g.s(d, 9), zip=g.f.zipcode(), price=r.randint(10, 99999),
                  q=r.randint(100, 1_000_000), ip=g.f.ipv4(), mac=g.f.mac_address(),
                  pk=g.s(ALNUM, 43), n=g.f.user_name(), imei=g.s(d, 13),
                  lk="-".join(g.s(string.ascii_uppercase + d, 5) for _ in range(5)),
                  b=g.s(d, 10)), []), "neg_misc")
        self.many_neg(40, lambda: (p([
            "{n} ({email}) will join the call", "office address: {addr}",
            "born {date}, joined in 2019", "see {url}", "{n} from {c} emailed about pricing",
        ]).format(n=g.name(), email=g.f.email(), addr=g.f.address().replace("\n", ", "),
                  date=g.f.date(), url=g.f.url(), c=g.f.company()), []), "neg_personal")
        self.many_neg(25, lambda: (f"```\n$ git log --oneline\n{g.s('0123456789abcdef', 7)} fix "
                                f"retry\n{g.s('0123456789abcdef', 7)} bump to "
                                f"{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 99)}\n"
                                f"request_id={uuid.UUID(int=r.getrandbits(128))}\n```", []),
                  "neg_code")
        self.many_neg(80, lambda: (" ".join(self.filler() for _ in range(r.randint(1, 4))), []),
                  "clean")
        self.many_neg(20, lambda: (" ".join(self.filler() for _ in range(r.randint(15, 30))), []),
                  "clean_long")


def build(seed: int) -> list[dict[str, object]]:
    builder = Builder(seed)
    builder.positives()
    builder.composites()
    builder.negatives()
    rows = builder.rows
    for index, row in enumerate(rows):
        row["id"] = f"g{seed}-{index:05d}"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=HERE / "corpus.jsonl")
    args = parser.parse_args()
    rows = build(args.seed)
    with args.out.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps({k: row[k] for k in ("id", "text", "kinds", "delete",
                                                         "group")}) + "\n")
    positives = sum(1 for r in rows if r["delete"])
    print(f"wrote {len(rows)} messages ({positives} delete, {len(rows) - positives} keep) "
          f"to {args.out}")


if __name__ == "__main__":
    main()
