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

from piiguard.detection.recognizers.assignments import STEMS, Assignment, assignments
from piiguard.detection.recognizers.base import Hit, PiiRecognizer
from piiguard.detection.recognizers.context import TextView, word_pattern
from piiguard.detection.recognizers.secret_keys import KeyClass, classify_key
from piiguard.detection.recognizers.secret_values import (
    COMMON_WORDS,
    is_masked,
    is_published_client_key,
    is_reference,
    is_stand_in,
    judge_value,
)
from piiguard.detection.recognizers.token_formats import (
    GuardVendorTokenRecognizer,
    has_vendor_prefix,
)
from piiguard.detection.recognizers.validation import (
    char_classes,
    is_hex,
    is_placeholder,
    looks_random,
    shannon_entropy,
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
    # a bare "secret" is not AWS context: api_secret = <40 chars> is some other vendor's
    ("aws", "secret_access_key", "aws_secret_access_key", "secretaccesskey",
     "secret access key", "aws_secret_key", "amazon", "iam", "s3"),
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
    r"|xapp-\d{12}-[A-Za-z0-9/+]{24}"  # the older app-token shape
    r")(?![A-Za-z0-9/+-])"
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
            if is_published_client_key(match.group(1)):
                continue  # a vendor's published sample key (Firebase SDK docs)
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
            # a body ends at the next BEGIN line too, so a run of BEGIN lines stays linear
            next_begin = _PEM_BEGIN.search(text, match.end(), limit)
            if next_begin:
                limit = next_begin.start()
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
    {"password", "pass", "passwd", "pwd", "pw", "user", "username", "changeme",
     "mypassword", "yourpassword", "dbpassword", "db_password", "hunter2", "root", "admin",
     "test", "postgres", "mysql", "guest"}
)  # fmt: skip


_CALL = re.compile(r"[A-Za-z_$][A-Za-z_.$]*\(")  # a function call written as code
_ATTRIBUTE_PATH = re.compile(r"[A-Za-z_$][A-Za-z_$]*(?:\.[A-Za-z_$][A-Za-z_$]*)+[\[(]?$")
# A key name inside an interpolation (${DB_PASSWORD:?required}) names a variable.
_INSIDE_REFERENCE = re.compile(r"(?:\$\{|\$\(|\$|%|\{\{\s?|#\{)$")
# ...unless it is a variable being assigned (Perl / PHP / shell: ``$password = 'v'``).
_VARIABLE_ASSIGNED = re.compile(r"[\w.\-]*\s{0,3}(?:=(?![=~])|:=)")
# A reference's default value is a literal (Spring ``${db.password:v}``, shell
# ``${DB_PASS:-v}``): judged like a value assigned to that name.
_REFERENCE_DEFAULT = re.compile(r"\$\{([A-Za-z0-9_.\-]{1,80}):[-=]?([^{}\s$?+][^{}\s$]{0,127})\}")


def _referenced(text: str, key_start: int, key_end: int) -> bool:
    """Whether a key name sits inside an interpolation or reference (it names a
    variable), not counting a variable that is being assigned (``$pw = 'v'``)."""
    opener = _INSIDE_REFERENCE.search(text, max(0, key_start - 3), key_start)
    if opener is None:
        return False
    return not (opener.group(0) == "$" and _VARIABLE_ASSIGNED.match(text, key_end))


_IDENTIFIED_BY = re.compile(
    r"\bIDENTIFIED\s+(?:WITH\s+\w+\s+)?BY\s+(?:PASSWORD\s+)?(['\"])([^'\"\n]{1,128})\1",
    re.IGNORECASE,
)


def _password_value_ok(value: str, *, strict: bool, literal: bool = False) -> bool:
    """Whether a value in password position is a real password, not prose or a template.
    ``literal``: the value is a literal where it stands (a command-line argument), so a
    bare identifier is not read as a variable of code."""
    value = value.strip("'\"`")
    if len(value) < (6 if strict else 3) or len(value) > 128:
        return False
    lowered = value.lower()
    if lowered in TRIVIAL_PASSWORDS or is_placeholder(value) or is_stand_in(value):
        return False
    # Words of prose ("the password is secret / the same / in the vault") only
    # count where prose can follow; a URI's or a connection string's password
    # field holds a value, whatever the word (``user:secret@host``).
    if strict and lowered in COMMON_WORDS:
        return False
    if is_reference(value, quoted=literal) or is_masked(value) or _CALL.match(value) or (
        _ATTRIBUTE_PATH.match(value)
    ):
        return False  # ${DB_PASS}, %DB_PASS%, getPassword(), hash(pw), ****
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
            if is_reference(password, quoted=True) or is_masked(password):
                continue  # user:${DB_PASS}@host, user:****@host
            if scheme in _DB_SCHEMES or match.group(1).lower().startswith("jdbc:"):
                yield Hit("DATABASE_PASSWORD", match.start(), match.end(), 0.9)
            else:  # every other scheme with inline credentials: https, ftp, amqp, ldap...
                yield Hit("PASSWORD", match.start(), match.end(), 0.8)
        for match in _URL_QUERY_PASSWORD.finditer(view.text):
            scheme = match.group(1).lower()
            if not _password_value_ok(match.group(2), strict=False) or is_reference(
                match.group(2), quoted=True
            ):
                continue
            kind = "DATABASE_PASSWORD" if scheme in _DB_SCHEMES else "PASSWORD"
            yield Hit(kind, match.start(), match.end(), 0.85)


_PW_KEY = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Za-z0-9]{1,20}[_.-])?(?:pass(?:word|wd|phrase|code)?|pwd|pw)"
    r"(?:[_.-][A-Za-z0-9]{1,20})?(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_PW_GLUE = re.compile(
    r"""["'\]]{0,2}(?:\s{1,3}(?:for|to|of|on)\s{1,3}(?:the\s{1,3}|my\s{1,3}|our\s{1,3})?"""
    # what the password is for, up to three words, quoted or not ("for user 'pg'"),
    # never swallowing the verb that introduces the value
    r"""["'`]?[\w.@-]{1,40}["'`]?(?:\s{1,3}(?!(?:is|was|set|changed)\b)["'`]?[\w.@-]{1,40}["'`]?){0,2})?"""
    r"""\s{0,3}(?:[:=]{1,2}|=>|->|\bis\s+now\b|\bis\s+still\b|\bis\b|\bwas\b|"""
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


# ``Password=v;Database=x``: a value ends where the next field of its string starts.
_CONNECTION_FIELD_END = re.compile(r";(?=[A-Za-z][\w ]{0,30}=)")


def _trim_value(value: str) -> str:
    while value and value[-1] in ".,;:)]}>":
        value = value[:-1]
    return value


# ``KEY=value`` alone on its line (dotenv, ini, properties, shell; ``export`` and a
# comment's ``#`` allowed before it, a `` # comment`` after it): there the value is a
# literal string, never a variable of code, whatever its shape.
_LITERAL_LINE_BEFORE = re.compile(r"^[ \t]*(?:#[ \t]*)?(?:export[ \t]+)?$")
_LITERAL_LINE_AFTER = re.compile(r"[ \t]*(?:[ \t]#.*)?$")


def _literal_line(text: str, found: Assignment) -> bool:
    if found.syntax != "operator" or found.value[:1] in "\"'`":
        return False
    key_end = found.key_start + len(found.key)
    if text[key_end : found.start] != "=":  # no spaces around "=": not code's assignment
        return False
    line_start = text.rfind("\n", 0, found.key_start) + 1
    line_end = text.find("\n", found.end)
    line_end = len(text) if line_end < 0 else line_end
    return bool(_LITERAL_LINE_BEFORE.match(text[line_start : found.key_start])
                and _LITERAL_LINE_AFTER.fullmatch(text[found.end : line_end].rstrip("\r")))


def _compared_secret(found: Assignment, klass: KeyClass, bare: str) -> Hit | None:
    """``if password == "v"`` / ``creds.Secret != 'v'``: a credential checked against a
    literal is that credential, written into the code. Only a password's, a token's
    or credentials' name counts (``key == "Escape"`` is a keyboard), and the literal
    must look made up: digits, or symbols beyond ``_`` (``state == "revoked_token"``)."""
    if klass is KeyClass.WEAK_KEY:
        return None
    if not judge_value(found.value, KeyClass.PASSWORD, quoted=True):
        return None
    if not (any(c.isdigit() for c in bare) or any(not c.isalnum() and c != "_" for c in bare)):
        return None
    return Hit(_secret_kind(klass), found.start, found.end, 0.8)


def _quoted_word(text: str, start: int, end: int) -> bool:
    """``the password is "centipede"``: a word in quotes after a password's name is
    given as the value, not said in prose; any such word of six letters or more that
    is not a stand-in, a default or a word of prose ("the password is 'required'")."""
    quote = text[start - 1 : start]
    if not quote or quote not in "\"'`" or text[end : end + 1] != quote:
        return False
    value = text[start:end]
    return (len(value) >= 6 and value.lower() not in COMMON_WORDS
            and _password_value_ok(value, strict=False))


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
            if _PW_NAME_EXCLUDE.search(name) or _referenced(text, match.start(), match.end()):
                continue
            glue = _PW_GLUE.match(text, match.end(), min(len(text), match.end() + 120))
            if not glue:
                continue
            value = _trim_value(_CONNECTION_FIELD_END.split(glue.group(1), 1)[0])
            start = glue.start(1)
            if not (_password_value_ok(value, strict=True)
                    or _quoted_word(text, start, start + len(value))):
                continue
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
    r"""["'`]?([A-Za-z0-9_\-./+~]{12,512}={0,3})""",
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
    if is_reference(value, quoted=True) or is_masked(value) or is_published_client_key(value):
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


_DB_COMMAND = re.compile(
    r"(?<![\w-])(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump|mongo|mongosh|mongodump|"
    r"mongorestore|psql|pg_dump|redis-cli|sqlcmd|bcp|clickhouse-client|cqlsh)(?![\w-])",
    re.IGNORECASE,
)
_SHORT_PW_FLAG = re.compile(
    r"(?<![\w-])-(?:p|P|a)(?:(?P<glued>[^\s'\"-][^\s'\"]{2,127}|'[^'\n]{3,128}'|\"[^\"\n]{3,128}\")"
    r"|[ \t]+(?P<spaced>'[^'\n]{3,128}'|\"[^\"\n]{3,128}\"|[^\s'\"-][^\s'\"]{2,127}))"
)
_USER_PASS_FLAG = re.compile(
    r"(?<![\w-])(?:-u|--user|--proxy-user)[ \t=]+['\"]?[^\s:'\"]{1,64}:([^\s'\"]{3,128})"
)
_USER_THEN_PASSWORD = re.compile(
    r"(?<![\w-])(?:-u|-U|--username|--user)[ \t]+\S{1,100}[ \t]+(?:-p|--password|-P)[ \t]+"
    r"('[^'\n]{3,128}'|\"[^\"\n]{3,128}\"|[^\s'\"-][^\s'\"]{2,127})"
)
_CONNECTION_STRING = re.compile(
    r"(?i)(?:^|;)\s*(?:server|data source|host|database|initial catalog|uid|user id)\s*=[^;]{1,200};"
)
_SSHPASS = re.compile(r"(?<![\w-])(?:sshpass|psexec(?:\.exe)?|paexec|winexe|smbclient)(?![\w-])",
                      re.IGNORECASE)


# A JSON-RPC call: its method's name and its first string parameter.
_RPC_METHOD = re.compile(r'"method"\s*:\s*"([A-Za-z0-9_.:/-]{1,80})"')
_RPC_PARAMS = re.compile(r'"params"\s*:\s*\[\s*"([^"\\\n]{1,512})"')


def _secret_kind(klass: KeyClass) -> str:
    """The kind a secret's name gives its value when nothing more says what it is."""
    return "PASSWORD" if klass in (KeyClass.PASSWORD, KeyClass.CREDENTIALS) else "GENERIC_API_KEY"


class GuardSecretAssignmentRecognizer(PiiRecognizer):
    """A secret assigned to a secret's name, in any config, code, header or CLI syntax.

    ``assignments`` extracts key/value pairs (``key = v``, ``key: v``, XML,
    attributes, call arguments, ``--flag v``, headers, next-line values);
    ``secret_keys`` splits the key into words and says which kind of secret
    it names (or none: ``passwordLabel``, ``token_url``, ``public_key``);
    ``secret_values`` rejects references, templates, masks, labels, hosts
    and published client keys, and judges the rest by shape and entropy.
    Short password flags of database clients (``mysql -pS3cret``) and
    ``sshpass -p`` are read here too.
    """

    ENTITIES = ("PASSWORD", "DATABASE_PASSWORD", "GENERIC_API_KEY", "AWS_SECRET_KEY")
    KEYWORDS = (*STEMS, "sshpass", "psexec", "paexec", " -p", " -a ", " -u", "--user",
                "identified")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        text = view.text
        for match in _IDENTIFIED_BY.finditer(text):  # SQL: CREATE USER x IDENTIFIED BY '…'
            if judge_value(match.group(2), KeyClass.PASSWORD, quoted=True):
                yield Hit("PASSWORD", match.start(2), match.end(2), 0.85)
        for found in assignments(text, key_filter=classify_key):
            key_end = found.key_start + len(found.key)
            if _referenced(text, found.key_start, key_end):
                continue
            hit = self._judge(found, text)
            if hit is not None:
                yield hit
        if "${" in text:
            yield from self._reference_defaults(text)
        if '"params"' in text:
            yield from self._rpc_params(text)
        yield from self._short_flags(text)
        yield from self._user_flags(text)

    @staticmethod
    def _judge(found: Assignment, text: str) -> Hit | None:
        verdict = classify_key(found.key)
        if verdict is None:
            return None
        klass = KeyClass.CREDENTIALS if found.syntax == "basic" else verdict.klass
        value = found.value
        bare = value.strip("'\"`")
        if has_vendor_prefix(bare) and klass is not KeyClass.PASSWORD:
            return None  # the vendor's own rule names it (GITHUB_TOKEN, SLACK_TOKEN...)
        if found.syntax == "comparison":
            return _compared_secret(found, verdict.klass, bare)
        if _literal_line(text, found):
            value = f'"{bare}"'  # KEY=value in dotenv / ini / shell: a literal, as if quoted
        if klass in (KeyClass.PASSWORD, KeyClass.CREDENTIALS):
            # A password by name is a PASSWORD (DB_PASSWORD=… included); a database
            # client's command line or an ADO/ODBC connection string is a database's.
            line_start = text.rfind("\n", 0, found.key_start) + 1
            line_end = text.find("\n", found.end)
            line = text[line_start : len(text) if line_end < 0 else line_end]
            connection = bool(_CONNECTION_STRING.search(line))
            database = connection or bool(_DB_COMMAND.search(line))
            # In a connection string the field says it is a password, as in a URI:
            # any value that is not a template, reference, mask or the field's own
            # name is one (``Password=secret;``), whatever its shape.
            if not (judge_value(value, klass) or (
                connection and _password_value_ok(bare, strict=False)
            )):
                return None
            kind = "DATABASE_PASSWORD" if database else "PASSWORD"
            return Hit(kind, found.start, found.end, 0.85)
        if not judge_value(value, klass):
            return None
        if verdict.aws and len(bare) == 40 and _B64_40.fullmatch(bare):
            return Hit("AWS_SECRET_KEY", found.start, found.end, 0.85)
        return Hit("GENERIC_API_KEY", found.start, found.end, 0.8)

    @staticmethod
    def _rpc_params(text: str) -> Iterable[Hit]:
        """A JSON-RPC call named for a secret (``"method": "auth.login_with_api_key",
        "params": ["v"]``): its first parameter is that secret, judged as its value."""
        for method in _RPC_METHOD.finditer(text):
            verdict = classify_key(re.split(r"[./:]", method.group(1))[-1])
            if verdict is None or verdict.klass is KeyClass.WEAK_KEY:
                continue
            around = (max(0, method.start() - 300), min(len(text), method.end() + 300))
            params = _RPC_PARAMS.search(text, *around)  # before or after, in the same call
            if params is None or not judge_value(f'"{params.group(1)}"', verdict.klass,
                                                  quoted=True):
                continue
            yield Hit(_secret_kind(verdict.klass), params.start(1), params.end(1), 0.8)

    @staticmethod
    def _reference_defaults(text: str) -> Iterable[Hit]:
        """``${db.password:v}``: the default of a reference to a secret's name is a
        literal written into the file, so it is judged as that secret's value."""
        for match in _REFERENCE_DEFAULT.finditer(text):
            verdict = classify_key(match.group(1))
            if verdict is None:
                continue
            value = match.group(2)
            if has_vendor_prefix(value) and verdict.klass is not KeyClass.PASSWORD:
                continue
            if not judge_value(value, verdict.klass, quoted=False):
                continue
            yield Hit(_secret_kind(verdict.klass), match.start(2), match.end(2), 0.85)

    @staticmethod
    def _user_flags(text: str) -> Iterable[Hit]:
        """``curl -u user:pw``, ``--user user:pw``, and ``-u user -p pw`` on any command line."""
        for match in _USER_PASS_FLAG.finditer(text):
            secret = match.group(1)
            if judge_value(secret, KeyClass.PASSWORD, quoted=True):
                yield Hit("PASSWORD", match.start(1), match.end(1), 0.8)
        for match in _USER_THEN_PASSWORD.finditer(text):
            raw = match.group(1)
            if judge_value(raw, KeyClass.PASSWORD, quoted=raw[:1] in "'\"") or judge_value(
                raw, KeyClass.TOKEN
            ):
                start, end = match.span(1)
                if raw[:1] in "'\"":
                    start, end = start + 1, end - 1
                line_start = text.rfind("\n", 0, match.start()) + 1
                command = _DB_COMMAND.search(text, line_start, match.start())
                if command and command.group(0).lower().startswith(("mysql", "mariadb")) and (
                    match.group(0).rstrip(raw).rstrip().endswith("-p")
                ):
                    continue  # "mysql -u root -p orders": -p prompts, the next word is the db
                yield Hit("DATABASE_PASSWORD" if command else "PASSWORD", start, end, 0.8)

    @staticmethod
    def _short_flags(text: str) -> Iterable[Hit]:
        for command in (*_DB_COMMAND.finditer(text), *_SSHPASS.finditer(text)):
            line_end = text.find("\n", command.end())
            line_end = len(text) if line_end < 0 else line_end
            for flag in _SHORT_PW_FLAG.finditer(text, command.end(), line_end):
                group = "glued" if flag.group("glued") else "spaced"
                raw = flag.group(group)
                flag_char = text[flag.start() + 1]
                if flag_char == "P" and raw.isdigit():
                    continue  # -P 3306 is a port
                if flag_char == "a" and not command.group(0).lower().startswith("redis"):
                    continue
                if group == "spaced" and flag_char == "p" and not (
                    _SSHPASS.match(command.group(0)) or raw[:1] in "'\""
                ):
                    continue  # "mysql -p dbname": -p prompts, the next word is the database
                # The password flag of sshpass / psexec, or a glued -pVALUE, says
                # what its value is: as in a URI, any value that is not a template,
                # reference, mask or stand-in is a password, whatever its shape.
                field = bool(_SSHPASS.match(command.group(0))) or group == "glued"
                if not (judge_value(raw, KeyClass.PASSWORD) or (
                    field and _password_value_ok(raw, strict=False, literal=True)
                )):
                    continue
                start, end = flag.span(group)
                if raw[:1] in "'\"":
                    start, end = start + 1, end - 1
                kind = "PASSWORD" if _SSHPASS.match(command.group(0)) else "DATABASE_PASSWORD"
                yield Hit(kind, start, end, 0.85)


# Credential constructors whose arguments are positional: the password is the
# argument after the user name (.NET NetworkCredential, DirectoryEntry, Java
# PasswordAuthentication, Python's HTTPBasicAuth / smtplib login / requests auth tuples).
_CREDENTIAL_CALL = re.compile(
    r"(?:NetworkCredential|DirectoryEntry|PasswordAuthentication|HTTPBasicAuth|HTTPDigestAuth|"
    r"getConnection|\bauth\s*=\s*|"
    r"BasicAuth|UsernamePasswordCredentials|UsernamePasswordCredential|\.login|"
    r"\bauth\s*=\s*)\s*\(\s*"
    r"(?:(?:\"[^\"\n]{0,200}\"|'[^'\n]{0,200}'|[A-Za-z_][\w.]{0,60})\s*,\s*)?"  # a url/path first
    r"(?:\"[^\"\n]{1,100}\"|'[^'\n]{1,100}')\s*,\s*"  # the user
    r"(?:new\s+String\s*\(\s*)?(?:\"(?P<dq>[^\"\n]{1,128})\"|'(?P<sq>[^'\n]{1,128})')",  # the password
)
_PGPASS = re.compile(
    r"(?m)^[ \t]*[\w.*-]{1,253}:(?:\d{2,5}|\*):[\w*-]{1,63}:[\w*.@-]{1,63}:(\S{1,128})[ \t]*$"
)
_B64_PEM = re.compile(r"(?<![A-Za-z0-9+/])LS0tLS1CRUdJTi[A-Za-z0-9+/=]{40,20000}")


class GuardCredentialCallRecognizer(PiiRecognizer):
    """Passwords passed positionally to credential constructors, and base64-wrapped PEM keys.

    ``new NetworkCredential("svc", "…")`` names no key for its password, so the
    assignment tokenizer cannot see it; the constructor's signature does. A PEM
    private key is often pasted base64-encoded (Kubernetes ``Secret`` data,
    CI variables): ``LS0tLS1CRUdJTi…`` decodes to ``-----BEGIN …``.
    """

    ENTITIES = ("PASSWORD", "PRIVATE_KEY", "DATABASE_PASSWORD")
    KEYWORDS = ("credential", "directoryentry", "passwordauthentication", "basicauth",
                "digestauth", ".login", "auth", "ls0tls1crudjti", "getconnection", ":")

    def find(self, view: TextView, nlp_artifacts: Any) -> Iterable[Hit]:
        text = view.text
        for match in _CREDENTIAL_CALL.finditer(text):
            group = "dq" if match.group("dq") is not None else "sq"
            if judge_value(match.group(group), KeyClass.PASSWORD, quoted=True):
                yield Hit("PASSWORD", match.start(group), match.end(group), 0.85)
        for match in _PGPASS.finditer(text):  # ~/.pgpass: host:port:db:user:password
            if judge_value(match.group(1), KeyClass.PASSWORD, quoted=True):
                yield Hit("DATABASE_PASSWORD", match.start(1), match.end(1), 0.8)
        for match in _B64_PEM.finditer(text):
            blob = match.group(0)
            try:
                decoded = base64.b64decode(blob[: len(blob) - len(blob) % 4]).decode("ascii", "replace")
            except (binascii.Error, ValueError):
                continue
            if _PEM_BEGIN.search(decoded[:80]) and len(decoded) > 120:
                yield Hit("PRIVATE_KEY", match.start(), match.end(), 0.9)


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
    GuardSecretAssignmentRecognizer,
    GuardVendorTokenRecognizer,
    GuardCredentialCallRecognizer,
)
