"""Values in a secret's position: a real secret, or a reference, a label, a mask?

Engineers rarely paste a secret where a key name says one should be; far more
often the value *points at* a secret (``${DB_PASS}``, ``process.env.TOKEN``,
``{{ .Values.password }}``), stands in for one (``changeme``, ``<your-token>``,
``****``), or is something else entirely (a UI label, a hostname, a file path,
a type annotation). :func:`judge_value` answers, for a value and the class of
its key, whether the value is a secret; the same order of checks as
detect-secrets' filters and gitleaks' allowlists, written for chat text.
"""

from __future__ import annotations

import hashlib
import html
import re
from functools import lru_cache
from importlib import resources

from piiguard.detection.recognizers.secret_keys import KeyClass
from piiguard.detection.recognizers.validation import (
    char_classes,
    is_hex,
    is_placeholder,
    shannon_entropy,
    words,
)

# Interpolations and references in every template / shell / CI syntax we meet.
_REFERENCE = re.compile(
    r"""^(?:\$\{|\#\{|\$\(|\$\$?[A-Za-z_]\w*$|%[A-Za-z_][\w.]*%|\{\{|\{%|<%|@[A-Za-z_][\w.]*@?$|
    \$_(?:POST|GET|ENV|SERVER|REQUEST|COOKIE|SESSION)\b|
    (?:process\.env|import\.meta\.env|os\.environ|os\.getenv|env|ENV|Env|secrets|vars|
    settings|config|conf|cfg|params|props|this|self|ctx|context|args|opts|options|input|
    inputs|request|req|Deno\.env|System\.getenv|Environment\.GetEnvironmentVariable|
    getenv|get_secret|secret_manager|vault|ssm|keyring|ConfigurationManager)[.\[(:]|
    !(?i:ref|sub|getatt|importvalue|secret|vault|env|encrypted|sops)\b|arn:aws[\w-]*:|
    (?:vault|ssm|secretsmanager|keyvault|op|gcp-secret|azure-keyvault|sops)://|
    ENC\[|AQICAH|file:|env:|secret:)""",
    re.VERBOSE,
)
# A call or attribute path written as code: getPassword(), cfg.db.password, secrets["X"].
_CODE_REFERENCE = re.compile(
    r"^[A-Za-z_$][\w$]*(?:(?:\.|::|->)[A-Za-z_$][\w$]*)*(?:\(.*\)|\[.*\])?$"
)
_DOTTED = re.compile(r"^[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)+$")
_HOSTPORT = re.compile(
    r"^(?:localhost|(?:[a-z0-9-]+\.)+[a-z]{2,24}|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]|"
    r"[a-z0-9-]+(?=:\d))"
    r"(?::\d{1,5})?(?:/[\w./-]*)?$",
    re.IGNORECASE,
)
_PATH = re.compile(r"^(?:[~.]{0,2}/|[A-Za-z]:\\|\\\\|[\w.-]+/[\w./-]+$)")
_FILE_NAME = re.compile(
    r"^[\w.-]+\.(?:pem|key|crt|cer|p12|pfx|jks|json|ya?ml|txt|env|ini|conf|cfg|toml|xml|"
    r"properties|asc|gpg|pub|der|csv|log|sh|py|js|ts)$",
    re.IGNORECASE,
)
_URL = re.compile(r"^[a-z][a-z0-9+.-]{1,20}://", re.IGNORECASE)
_MASK_RUN = re.compile(r"[*•#●·]{3,}|[xX]{4,}|\.{3,}|…|_{4,}|-{4,}|0{8,}")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_VERSION = re.compile(r"^v?\d+(?:\.\d+)+(?:[-+.\w]*)$")
_SEQUENTIAL = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiop", "asdfghjkl")

# Stand-ins for a secret in docs, templates, tests and type annotations.
STAND_INS = words(
    """password passwd pass pwd pw secrets token apikey api_key key value values
    changeme change_me changeit letmein secret123 password1 password123 passw0rd p@ssword
    p@ssw0rd example examples sample samples test testing tests demo dummy fake mock foo bar
    baz foobar qux placeholder redacted removed hidden omitted masked none null nil undefined
    nan true false yes no on off enabled disabled required optional default string str
    text int integer number bool boolean bytes char varchar any object secretstr
    securestring secret_string string? required_field tbd todo fixme n/a na xxx xxxx
    admin root user username guest postgres mysql mongo redis sa test123 abc123
    123456 12345678 123456789 1234567890 qwerty hunter2 s3cr3t s3cret pa55word pa$$word
    mypassword yourpassword mysecret yoursecret mytoken yourtoken myapikey yourapikey
    your_password your_secret your_token your_api_key my_password my_secret my_token
    secret_key secretkey access_key accesskey auth_token authtoken api_token apitoken
    client_secret clientsecret private_key privatekey bearer basic token_here key_here
    insert_here replace_me replaceme fill_me_in fillmein supersecret topsecret
    not_a_secret notasecret notsecret none_set unset empty blank"""
)
# Words of prose around a password ("the password is the same / in the vault").
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
# Words a label or an instruction holds, never a passphrase ("enter your password").
_INSTRUCTION_WORDS = words(
    """enter type choose confirm repeat provide input insert use using from with via by as
    stored kept env environment file config password passphrase passwd secret token key
    value here new current account user admin"""
)
_STAND_IN_MARKERS = ("example", "sample", "placeholder", "changeme", "change_me", "dummy",
                     "redacted", "replace", "insert", "your_", "your-", "yourkey", "yourtoken",
                     "yoursecret", "fixme", "todo", "notreal", "not_real", "not-real", "fake")
_TYPE_ANNOTATIONS = re.compile(
    r"^(?:Optional|Union|List|Dict|Secret|SecretStr|SecretBytes|str|bytes|String|string|"
    r"number|int|char|Option)(?:\[.*\]|<.*>|\?)?$"
)


@lru_cache(maxsize=1)
def _public_key_digests() -> frozenset[str]:
    """SHA-256 digests of client keys their vendors publish in SDKs and docs.

    Kept as digests: the list is matched by value (as gitleaks allowlists
    them) without shipping key-shaped strings that other scanners would flag.
    """
    text = (resources.files("piiguard.detection.recognizers") / "data" /
            "public_client_keys.sha256").read_text("utf-8")
    return frozenset(line.split()[0] for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def is_published_client_key(value: str) -> bool:
    return hashlib.sha256(value.encode("utf-8")).hexdigest() in _public_key_digests()


def unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"`":
        value = value[1:-1]
    return value


def is_reference(value: str, *, quoted: bool) -> bool:
    """An interpolation or a reference to where the secret lives, not the secret."""
    if _REFERENCE.match(value):
        return True
    if "${" in value or "{{" in value or "#{" in value or "$(" in value:
        return True
    if not quoted and _CODE_REFERENCE.match(value):
        has_digit = any(c.isdigit() for c in value)
        code_like = ("." in value or "(" in value or "[" in value or "_" in value
                     or "::" in value or "->" in value or _camel(value))
        if "(" in value or "[" in value:
            return True  # getPassword(), secrets["X"]
        if code_like and not has_digit:
            return True  # cfg.db.password, userPassword, DB_PASS_VAR
    return False


def _camel(value: str) -> bool:
    return bool(re.match(r"^[a-z]+(?:[A-Z][a-z0-9]+)+$", value))


def is_masked(value: str) -> bool:
    return bool(_MASK_RUN.search(value)) or (len(value) >= 3 and len(set(value)) == 1)


def is_stand_in(value: str) -> bool:
    lowered = value.lower()
    if lowered in STAND_INS or lowered.strip("<>[](){}") in STAND_INS:
        return True
    if any(marker in lowered for marker in _STAND_IN_MARKERS):
        return True
    if _TYPE_ANNOTATIONS.match(value):
        return True
    return is_placeholder(value)


def is_label(value: str) -> bool:
    """UI text: "Password:", "Enter your API key", "Secret Key"."""
    if value.endswith((":", "?", "…")) or value.endswith("...") or "\n" in value:
        return True
    if " " in value.strip():
        tokens = value.split()
        return all(t.isalpha() or t.rstrip(":.,!?").isalpha() for t in tokens)
    return False


def is_not_a_value(value: str) -> bool:
    """Hostnames, ports, paths, file names, URLs, versions, numbers: not secrets."""
    if _URL.match(value) or _PATH.match(value) or _FILE_NAME.match(value):
        return True
    if _HOSTPORT.match(value) and not any(c.isupper() for c in value):
        return True
    if _VERSION.match(value):
        return True
    return value.isdigit() and len(value) <= 5


def is_sequential(value: str) -> bool:
    lowered = value.lower()
    return len(lowered) >= 6 and any(lowered in seq or lowered in seq[::-1] for seq in _SEQUENTIAL)


def judge_value(raw: str, klass: KeyClass, *, quoted: bool | None = None) -> bool:
    """Whether a value in a secret's position is a secret (never logs or keeps it)."""
    if quoted is None:
        quoted = len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"`"
    value = unquote(raw)
    if "&" in value and ";" in value:
        value = html.unescape(value)
    if not value or len(value) > 512:
        return False
    if is_reference(value, quoted=quoted) or is_masked(value) or is_stand_in(value):
        return False
    if klass is KeyClass.PASSWORD and quoted and " " in value:
        return passphrase(value)
    if is_label(value) or is_not_a_value(value) or is_sequential(value):
        return False
    if is_published_client_key(value):
        return False
    if klass is KeyClass.PASSWORD:
        return password_shaped(value, quoted=quoted)
    if klass is KeyClass.CREDENTIALS:
        if ":" in value:
            user, _, secret = value.partition(":")
            return bool(user) and password_shaped(secret, quoted=True)
        return token_shaped(value) or password_shaped(value, quoted=quoted, strict=True)
    if klass is KeyClass.WEAK_KEY:
        return (len(value) >= 20 and not is_hex(value) and char_classes(value) >= 3
                and shannon_entropy(value) >= 4.0 and not _UUID.match(value))
    return token_shaped(value) or (quoted and chosen_secret(value))


# Punctuation no name, path, host or identifier holds: a value with one, quoted under a
# secret's name, was typed as a secret (``secret: "development#product"``).
_SECRET_PUNCTUATION = frozenset("!@#$%^&*+=?~;|<>()[]{}")


def chosen_secret(value: str) -> bool:
    """A human-chosen secret under a token's name (a JWT or session secret): long
    enough, with punctuation that a Kubernetes Secret's or a file's name never holds
    (``existingSecret: "my-app-secret"`` is a name, not a secret)."""
    return (len(value) >= 10 and any(c in _SECRET_PUNCTUATION for c in value)
            and password_shaped(value, quoted=True))


def passphrase(value: str) -> bool:
    """``password = 'correct horse battery staple'``: two to five lower-case words,
    quoted under a password's name, none of them a word of prose or of a label
    (``'Enter your password'``, ``'not set'``, ``'see vault'`` stay labels)."""
    tokens = value.split(" ")
    return (2 <= len(tokens) <= 5 and len(value) >= 8
            and all(t.isalpha() and t.islower() and len(t) >= 2 for t in tokens)
            and not any(t in COMMON_WORDS or t in _INSTRUCTION_WORDS or t in STAND_INS
                        for t in tokens))


def password_shaped(value: str, *, quoted: bool, strict: bool = False) -> bool:
    """A human-chosen password: not a word of prose, a template or a trivial default."""
    if len(value) < 6 or len(value) > 128 or any(c.isspace() for c in value):
        return False
    if value.lower() in STAND_INS:
        return False
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    has_symbol = any(not c.isalnum() for c in value)
    inner_upper = any(c.isupper() for c in value[1:]) and any(c.islower() for c in value)
    if value.isdigit():
        return len(value) >= 6 and len(set(value)) >= 3 and not strict
    if has_alpha and (has_digit or has_symbol or inner_upper):
        return shannon_entropy(value) >= 2.2
    # letters only, one case: a real password only when quoted and long enough
    return quoted and not strict and len(value) >= 8 and shannon_entropy(value) >= 2.8


def token_shaped(value: str) -> bool:
    """A machine-made secret: long, random, letters and digits."""
    if len(value) < 12 or any(c.isspace() for c in value):
        return False
    if not any(c.isalpha() for c in value):
        return len(value) >= 20 and shannon_entropy(value) >= 3.0  # long numeric secrets
    if _DOTTED.match(value) and not any(c.isdigit() for c in value):
        return False  # com.example.Service
    if not any(c.isdigit() for c in value):
        return len(value) >= 24 and char_classes(value) >= 2 and shannon_entropy(value) >= 4.0
    hexish = is_hex(value.replace("-", ""))
    return shannon_entropy(value) >= (3.0 if hexish else 3.3)
