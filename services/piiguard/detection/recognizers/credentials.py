"""Credentials: cloud keys, service tokens, private keys, passwords in context.

Rules are our own, informed by gitleaks' and detect-secrets' rule sets: a
distinctive prefix where the vendor has one (``AKIA``, ``xoxb-``, ``ghp_``,
``sk_live_``, ``AIza``), and keyword context plus entropy where it has not
(AWS secret keys, passwords, generic API keys). Every candidate is checked
against placeholders and documented examples (``AKIAIOSFODNN7EXAMPLE``,
``xoxb-your-token-here``, ``<your token>``, ``****``) before it is reported.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from piiguard.detection.recognizers.base import Hit, PiiRecognizer
from piiguard.detection.recognizers.context import TextView, word_pattern
from piiguard.detection.recognizers.validation import (
    char_classes,
    is_hex,
    is_placeholder,
    looks_random,
    shannon_entropy,
    words,
)

_AWS_ID = re.compile(
    r"(?<![A-Za-z0-9])((?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16})(?![A-Za-z0-9])"
)


class GuardAwsAccessKeyRecognizer(PiiRecognizer):
    """AWS access key ids: a fixed four-letter prefix and 16 upper-case characters."""

    ENTITIES = ("AWS_ACCESS_KEY",)
    KEYWORDS = ("akia", "asia", "abia", "acca", "a3t")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        for match in _AWS_ID.finditer(view.text):
            value = match.group(1)
            body = value[4:]
            if is_placeholder(value) or shannon_entropy(body) < 2.5:
                continue
            yield Hit("AWS_ACCESS_KEY", match.start(1), match.end(1), 0.9)


_B64_40 = re.compile(r"(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")
_AWS_CONTEXT = word_pattern(
    ("aws", "secret", "secret_access_key", "aws_secret_access_key", "secretaccesskey",
     "secret access key", "secret key", "aws_secret_key", "amazon", "iam", "s3"),
)


class GuardAwsSecretKeyRecognizer(PiiRecognizer):
    """AWS secret access keys: 40 base64 characters, only with AWS context.

    A bare 40-character string could be anything (a SHA-1 hash is 40 hex
    characters), so this needs an AWS or secret keyword nearby, or an access
    key id in the same message, plus mixed case and high entropy.
    """

    ENTITIES = ("AWS_SECRET_KEY",)
    KEYWORDS = ("aws", "secret", "akia", "asia", "amazon", "iam")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        key_ids = [m.start() for m in _AWS_ID.finditer(view.text)]
        for match in _B64_40.finditer(view.text):
            value = match.group(1)
            if is_hex(value) or char_classes(value) < 3 or is_placeholder(value):
                continue
            if shannon_entropy(value) < 4.0:
                continue
            start, end = match.span(1)
            near_id = any(abs(k - start) < 400 for k in key_ids)
            if near_id or _AWS_CONTEXT.search(view.before(start, 100)):
                yield Hit("AWS_SECRET_KEY", start, end, 0.85)


_SLACK_TOKEN = re.compile(
    r"(?<![A-Za-z0-9])("
    r"xox(?:e\.xox[bp]|[abposr]|e)-[A-Za-z0-9-]{8,400}"
    r"|xapp-\d-[A-Za-z0-9-]{10,400}"
    r")(?![A-Za-z0-9-])"
)


class GuardSlackTokenRecognizer(PiiRecognizer):
    """Slack bot, user, app, config and refresh tokens (``xox[abpre]-``, ``xoxe.``, ``xapp-``).

    Real tokens carry numeric team / user segments, so a body without digits
    (``xoxb-your-token-here``) is a template, not a token.
    """

    ENTITIES = ("SLACK_TOKEN",)
    KEYWORDS = ("xox", "xapp-")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        for match in _SLACK_TOKEN.finditer(view.text):
            value = match.group(1)
            body = value.split("-", 1)[1] if "-" in value else value
            digits = sum(c.isdigit() for c in body)
            long_random = len(body) >= 60 and shannon_entropy(body) >= 4.0  # xoxe refresh tokens
            if (digits < 6 and not long_random) or is_placeholder(body):
                continue
            if shannon_entropy(body) < 2.8:
                continue
            yield Hit("SLACK_TOKEN", match.start(1), match.end(1), 0.9)


_SLACK_WEBHOOK = re.compile(
    r"(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/"
    r"([A-Za-z0-9_+-]{1,40}(?:/[A-Za-z0-9_+-]{1,80}){1,4})",
    re.IGNORECASE,
)


class GuardSlackWebhookRecognizer(PiiRecognizer):
    """Slack incoming-webhook URLs; Slack's own ``T000/B000/XXXX`` example is not one."""

    ENTITIES = ("SLACK_WEBHOOK_TOKEN",)
    KEYWORDS = ("hooks.slack.com",)

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        for match in _SLACK_WEBHOOK.finditer(view.text):
            secret = match.group(1).rsplit("/", 1)[-1]
            if len(secret) < 16 or is_placeholder(secret) or shannon_entropy(secret) < 3.0:
                continue
            yield Hit("SLACK_WEBHOOK_TOKEN", match.start(), match.end(), 0.9)


_GITHUB = re.compile(
    r"(?<![A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{40,255})"
    r"(?![A-Za-z0-9_])"
)


class GuardGithubTokenRecognizer(PiiRecognizer):
    """GitHub classic (``gh[pousr]_``) and fine-grained (``github_pat_``) tokens."""

    ENTITIES = ("GITHUB_TOKEN",)
    KEYWORDS = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        for match in _GITHUB.finditer(view.text):
            value = match.group(1)
            body = value[4:] if value.startswith("gh") and value[3] == "_" else value[11:]
            if not looks_random(body, min_entropy=3.3):
                continue
            yield Hit("GITHUB_TOKEN", match.start(1), match.end(1), 0.95)


_STRIPE = re.compile(r"(?<![A-Za-z0-9_])([sr]k_(live|test)_[A-Za-z0-9]{10,247})(?![A-Za-z0-9_])")


class GuardStripeKeyRecognizer(PiiRecognizer):
    """Stripe secret and restricted keys; test-mode keys are a separate kind.

    ``sk_test_`` keys reach no money, so the default policy reports them
    without deleting (``STRIPE_TEST_KEY``: notify). Publishable ``pk_`` keys
    are public by design and not reported.
    """

    ENTITIES = ("STRIPE_KEY", "STRIPE_TEST_KEY")
    KEYWORDS = ("sk_live_", "rk_live_", "sk_test_", "rk_test_")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        for match in _STRIPE.finditer(view.text):
            body = match.group(1)[8:]
            if not looks_random(body, min_entropy=3.0):
                continue
            kind = "STRIPE_KEY" if match.group(2) == "live" else "STRIPE_TEST_KEY"
            yield Hit(kind, match.start(1), match.end(1), 0.95)


_GOOGLE = re.compile(r"(?<![A-Za-z0-9_-])(AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])")


class GuardGoogleApiKeyRecognizer(PiiRecognizer):
    """Google API keys: ``AIza`` and 35 URL-safe characters."""

    ENTITIES = ("GOOGLE_API_KEY",)
    KEYWORDS = ("aiza",)

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        for match in _GOOGLE.finditer(view.text):
            if not looks_random(match.group(1)[4:], min_entropy=3.5):
                continue
            yield Hit("GOOGLE_API_KEY", match.start(1), match.end(1), 0.9)


_PEM_BEGIN = re.compile(
    r"-----BEGIN[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----|"
    r"PuTTY-User-Key-File-\d: ",
)
_PEM_END = re.compile(r"-----END[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----")
_B64_RUN = re.compile(r"[A-Za-z0-9+/=]{40,}")


class GuardPrivateKeyRecognizer(PiiRecognizer):
    """PEM private key blocks (RSA, EC, DSA, OpenSSH, PKCS#8, PGP), whole or truncated.

    The BEGIN line alone is talk about keys; a body with real base64 is a key.
    """

    ENTITIES = ("PRIVATE_KEY",)
    KEYWORDS = ("private key", "putty-user-key")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        text = view.text
        for match in _PEM_BEGIN.finditer(text):
            limit = min(len(text), match.end() + 20000)
            end_match = _PEM_END.search(text, match.end(), limit)
            body_end = end_match.start() if end_match else limit
            body = text[match.end() : body_end]
            runs = _B64_RUN.findall(body[:20000])
            material = "".join(runs)
            if len(material) < 40 or shannon_entropy(material) < 3.5 or is_placeholder(material):
                continue
            end = end_match.end() if end_match else match.end() + body.rfind(runs[-1]) + len(runs[-1])
            yield Hit("PRIVATE_KEY", match.start(), end, 0.95)


_JWT = re.compile(
    r"(?<![A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{8,4000}\.eyJ[A-Za-z0-9_-]{8,8000}\.[A-Za-z0-9_-]{0,2000})"
    r"(?![A-Za-z0-9_-])"
)
# jwt.io's documented example token (sub 1234567890, name John Doe) is not a leak.
_JWT_EXAMPLE_SUBJECTS = {"1234567890"}


def _b64json(segment: str) -> dict[str, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


class GuardJwtRecognizer(PiiRecognizer):
    """JSON Web Tokens whose header and payload decode to JSON objects."""

    ENTITIES = ("JWT_TOKEN",)
    KEYWORDS = ("eyj",)

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        for match in _JWT.finditer(view.text):
            header_seg, payload_seg, _ = match.group(1).split(".", 2)
            header = _b64json(header_seg)
            payload = _b64json(payload_seg)
            if header is None or payload is None or not ({"alg", "typ", "kid"} & header.keys()):
                continue
            if str(payload.get("sub")) in _JWT_EXAMPLE_SUBJECTS and "name" in payload:
                continue
            yield Hit("JWT_TOKEN", match.start(1), match.end(1), 0.9)


_DB_SCHEMES = (
    "postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis", "rediss",
    "amqp", "amqps", "mssql", "sqlserver", "oracle", "cockroachdb", "clickhouse", "couchdb",
    "neo4j", "neo4j+s", "db2", "snowflake", "cassandra", "memcached", "elasticsearch",
)  # fmt: skip
_URL_CREDS = re.compile(
    r"(?<![A-Za-z0-9+.-])((?:jdbc:)?([a-z][a-z0-9+.-]{1,20})://)"
    r"([^\s:/@<>|\"'`]{0,128}):([^\s<>|\"'`]{1,200})@([^\s@<>|\"'`/]{1,253})",
    re.IGNORECASE,
)
# Values that stand for a password in docs and templates.
TRIVIAL_PASSWORDS = frozenset(
    {"password", "pass", "passwd", "pwd", "pw", "secret", "user", "username", "changeme",
     "mypassword", "yourpassword", "dbpassword", "db_password", "hunter2", "root", "admin",
     "test", "postgres", "mysql", "guest"}
)  # fmt: skip


def _password_value_ok(value: str, *, strict: bool) -> bool:
    """Whether a value in password position is a real password, not prose or a template."""
    value = value.strip("'\"`")
    if len(value) < (6 if strict else 3) or len(value) > 128:
        return False
    lowered = value.lower()
    if lowered in TRIVIAL_PASSWORDS or lowered in COMMON_WORDS or is_placeholder(value):
        return False
    if lowered.startswith(("http", "www.", "/", "~/")):
        return False
    if not strict:
        return True
    has_digit = any(c.isdigit() for c in value)
    has_symbol = any(c in "!@#$%^&*+=?~_;<>[](){}|\\" for c in value)
    inner_upper = any(c.isupper() for c in value[1:]) and any(c.islower() for c in value)
    return (has_digit and not value.isdigit()) or has_symbol or inner_upper or (
        value.isdigit() and len(value) >= 6
    )


_URL_QUERY_PASSWORD = re.compile(
    r"(?<![A-Za-z0-9+.-])(?:jdbc:)?([a-z][a-z0-9+.-]{1,20})://[^\s?<>|\"'`]{1,500}\?"
    r"[^\s<>|\"'`]{0,500}?(?<=[?&;])(?:password|pwd|pass)=([^\s&;<>|\"'`]{1,200})",
    re.IGNORECASE,
)


class GuardDatabaseUrlRecognizer(PiiRecognizer):
    """Connection URLs with an inline password (``postgres://user:pw@host``).

    Database schemes report ``DATABASE_PASSWORD``; other schemes with inline
    credentials (``https://user:pw@host``) report ``PASSWORD``.
    """

    ENTITIES = ("DATABASE_PASSWORD", "PASSWORD")
    KEYWORDS = ("://",)

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        for match in _URL_CREDS.finditer(view.text):
            scheme = match.group(2).lower()
            password = match.group(4)
            if not _password_value_ok(password, strict=False) or password == match.group(3):
                continue
            if scheme in _DB_SCHEMES or match.group(1).lower().startswith("jdbc:"):
                yield Hit("DATABASE_PASSWORD", match.start(), match.end(), 0.9)
            elif scheme in ("http", "https", "ftp", "ftps", "sftp", "smtp", "smtps", "ldap",
                            "ldaps", "ssh", "git", "svn", "imap", "imaps", "socks5"):
                yield Hit("PASSWORD", match.start(), match.end(), 0.8)
        for match in _URL_QUERY_PASSWORD.finditer(view.text):
            scheme = match.group(1).lower()
            if not _password_value_ok(match.group(2), strict=False):
                continue
            kind = "DATABASE_PASSWORD" if scheme in _DB_SCHEMES else "PASSWORD"
            yield Hit(kind, match.start(), match.end(), 0.85)


COMMON_WORDS = words(
    """a an the is in on at to of for and or but not no yes it its this that these those be
    been was were are am will would should could can may might must shall do does did done
    same usual old new default reset expired incorrect wrong required sensitive case protected
    here there where what which who whom whose why how when then than also just only still
    see check ask dm me my mine your yours our ours their theirs his her hers him them they we
    you i he she set changed rotated saved stored shared sent empty blank null none nil true
    false hidden secret private manager vault 1password lastpass bitwarden keychain keepass
    policy rules requirements length complexity strength field prompt dialog screen page form
    link email sms text below above attached pinned thread channel doc docs wiki confluence
    notion standard temporary temp one-time onetime otp login signin sign-in authentication
    locked unlocked requirement hint strong weak valid invalid updated update change rotate
    missing please same-as-before"""
)

_PW_KEY = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Za-z0-9]{1,20}[_.-])?(?:pass(?:word|wd|phrase|code)?|pwd|pw)"
    r"(?:[_.-][A-Za-z0-9]{1,20})?(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_PW_GLUE = re.compile(
    r"""["'\]]{0,2}(?:\s{1,3}(?:for|to|of|on)\s{1,3}(?:the\s{1,3}|my\s{1,3}|our\s{1,3})?"""
    r"""[\w.@-]{1,40}(?:\s{1,3}[\w.@-]{1,40}){0,2})?\s{0,3}(?:[:=]{1,2}|=>|->|\bis\b|\bwas\b|\bis\s+now\b|\bis\s+still\b|"""
    r"""\bset\s+to\b|\bchanged\s+to\b|\s)\s{0,3}["'`]?([^\s"'`]{3,128})""",
    re.IGNORECASE,
)
_LOGIN_PAIR = re.compile(
    r"(?<![A-Za-z0-9])(?:login|logins|creds|credentials|credential|user/pass|u/p|"
    r"username/password|user\s?name and password|login and password)"
    r"\s{0,3}(?:is|are|:|=|-)?\s{0,3}[`'\"]?([^\s/`'\"]{2,64})\s{0,2}/\s{0,2}([^\s`'\"]{3,128})",
    re.IGNORECASE,
)
_PW_NAME_EXCLUDE = re.compile(
    r"(?i)(?:passport|passenger|bypass|compass|passthrough|pass_?through|passive|"
    r"password_?(?:reset|policy|length|hash|field|manager|strength|expir\w*|hint|rules?|url|"
    r"prompt|changed|less)|pw_?(?:hash|policy)|pass(?:es|ed|ing)|passcode_?length)"
)


def _trim_value(value: str) -> str:
    while value and value[-1] in ".,;:)]}>":
        value = value[:-1]
    return value


class GuardPasswordRecognizer(PiiRecognizer):
    """Passwords given in context: ``password: …``, ``pw is …``, ``login: bob / …``.

    The value must look like a password (digits, symbols or mixed case), not a
    word of prose ("the password is case sensitive") or a template.
    """

    ENTITIES = ("PASSWORD",)
    KEYWORDS = ("pass", "pw", "pwd", "login", "creds", "credential", "u/p")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        text = view.text
        for match in _PW_KEY.finditer(text):
            name = match.group(0)
            if _PW_NAME_EXCLUDE.search(name):
                continue
            glue = _PW_GLUE.match(text, match.end(), min(len(text), match.end() + 120))
            if not glue:
                continue
            value = _trim_value(glue.group(1))
            if not _password_value_ok(value, strict=True):
                continue
            start = glue.start(1)
            yield Hit("PASSWORD", start, start + len(value), 0.85)
        for match in _LOGIN_PAIR.finditer(text):
            value = _trim_value(match.group(2))
            if _password_value_ok(value, strict=True):
                yield Hit("PASSWORD", match.start(2), match.start(2) + len(value), 0.8)


_API_KEY_NAME = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Za-z0-9]{1,30}[_.-]){0,3}"
    r"(?:api[ _.-]?key|apikey|api[ _.-]?token|api[ _.-]?secret|access[ _.-]?token|access[_.-]?key|"
    r"auth[ _.-]?token|auth[_.-]?key|secret[ _.-]?key|client[ _.-]?secret|app[_.-]?secret|"
    r"private[_.-]?token|refresh[_.-]?token|session[_.-]?token|bearer|x-api-key|token|secret|"
    r"signing[_.-]?key|encryption[_.-]?key|master[_.-]?key|webhook[_.-]?secret|"
    r"credentials?|authorization)(?:[_.-][A-Za-z0-9]{1,20}){0,2}(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_API_NAME_EXCLUDE = re.compile(
    r"(?i)(?:public|publishable|pub[_.-]|sha|hash|commit|digest|checksum|etag|integrity|csrf|"
    r"xsrf|page[_.-]?token|next[_.-]?token|pagination|continuation|cursor|idempotency|"
    r"request|trace|max[_.-]?tokens?|tokens?[_.-]?(?:count|limit|id|type|url|uri|name|len|"
    r"length|ttl|expir\w*|file|path|endpoint|header|usage|budget)|secret[_.-]?(?:name|ref|arn|"
    r"id|path|manager)|key[_.-]?(?:id|name|ref|arn|path|file|type|size|length|usage)|"
    r"tokenizer|tokens$|secrets$)"
)
_API_GLUE = re.compile(
    r"""["'\]]{0,2}\s{0,3}(?:[:=]{1,2}|=>|->|\bis\b|\s)\s{0,3}(?:bearer\s+|token\s+|basic\s+)?"""
    r"""["'`]?([A-Za-z0-9_\-./+=~]{12,512})""",
    re.IGNORECASE,
)


class GuardGenericApiKeyRecognizer(PiiRecognizer):
    """API keys and tokens in assignment context (``api_key=…``, ``token: …``, ``Bearer …``).

    Like gitleaks' generic rule: a key-like name, an assignment, and a value
    with high entropy that mixes letters and digits. Names of public values
    and hashes (``public_key``, ``sha``, ``page_token``, ``max_tokens``) are
    skipped, and so are templates and placeholders.
    """

    ENTITIES = ("GENERIC_API_KEY",)
    KEYWORDS = ("key", "token", "secret", "bearer", "credential", "authorization")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterator[Hit]:
        text = view.text
        for match in _API_KEY_NAME.finditer(text):
            if _API_NAME_EXCLUDE.search(match.group(0)):
                continue
            glue = _API_GLUE.match(text, match.end(), min(len(text), match.end() + 600))
            if not glue:
                continue
            value = _trim_value(glue.group(1)).rstrip("=") or glue.group(1)
            if not _api_value_ok(value):
                continue
            start = glue.start(1)
            yield Hit("GENERIC_API_KEY", start, start + len(_trim_value(glue.group(1))), 0.8)


def _api_value_ok(value: str) -> bool:
    if len(value) < 16 or is_placeholder(value):
        return False
    if value.lower().startswith(("http", "www.", "/", "./", "../", "process.env", "os.environ")):
        return False
    if not any(c.isalpha() for c in value):
        return False
    if not any(c.isdigit() for c in value) and not (
        len(value) >= 32 and char_classes(value) >= 2 and shannon_entropy(value) >= 4.0
    ):
        return False  # a letters-only value must be long and random to be a key
    if re.fullmatch(r"v?\d+(?:\.\d+)+(?:[-+.\w]*)", value):  # a version string
        return False
    if value.count(".") >= 2 and not value.startswith("eyJ") and "_" not in value:
        # dotted identifiers such as com.example.Service or a.b.c names
        parts = value.split(".")
        if all(p.isidentifier() and not any(c.isdigit() for c in p) for p in parts):
            return False
    return shannon_entropy(value) >= (3.0 if is_hex(value.replace("-", "")) else 3.5)


CREDENTIAL_RECOGNIZERS: tuple[type[PiiRecognizer], ...] = (
    GuardAwsAccessKeyRecognizer,
    GuardAwsSecretKeyRecognizer,
    GuardSlackTokenRecognizer,
    GuardSlackWebhookRecognizer,
    GuardGithubTokenRecognizer,
    GuardStripeKeyRecognizer,
    GuardGoogleApiKeyRecognizer,
    GuardPrivateKeyRecognizer,
    GuardJwtRecognizer,
    GuardDatabaseUrlRecognizer,
    GuardPasswordRecognizer,
    GuardGenericApiKeyRecognizer,
)
