"""Key names: is ``mySecretString`` / ``db_pass`` / ``X-Api-Key`` the name of a secret?

A key name is split into words (camelCase, snake_case, kebab-case, dots,
glued compounds such as ``apikey`` or ``dbpassword``), then judged by its
*head*: the last meaningful word, after neutral suffixes (``string``,
``value``, ``b64``, ``prod``) are dropped. ``passwordLabel`` ends in ``label``
and names a UI string; ``token_url`` names a URL; ``public_key`` is public by
design. Only a head that is a secret word makes the key a secret's name, so
the value classifier is asked about ``genericToken`` and ``user_auth`` but
not about ``tokenizer`` or ``password_policy``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from piiguard.detection.recognizers.validation import words


class KeyClass(Enum):
    PASSWORD = "password"  # a human-chosen secret: judged leniently by shape
    TOKEN = "token"  # a machine-made secret: judged by length and entropy
    CREDENTIALS = "credentials"  # user:password pairs or either part (creds, auth)
    WEAK_KEY = "weak_key"  # a bare ``key``: only a clearly random value counts


@dataclass(frozen=True, slots=True)
class KeyVerdict:
    """What a key name says about its value."""

    klass: KeyClass
    database: bool  # the name mentions a database (db_password -> DATABASE_PASSWORD)
    aws: bool  # the name mentions AWS (aws_secret_access_key -> AWS_SECRET_KEY)


_PASSWORD_WORDS = words("password passwd pass pwd pw passphrase passcode passwort contrasena "
                        "contraseña senha pword pswd psw")
_TOKEN_WORDS = words("secret secrets token apikey apitoken authtoken accesstoken bearer "
                     "authorization cookie sig signature secretkey privatekey clientsecret "
                     "apisecret appsecret authkey accesskey masterkey webhooksecret jwt pat "
                     "sas connectionstring connstr dsn")
_CREDENTIAL_WORDS = words("creds cred credential credentials auth login userpass basicauth")
# Words that, before "key", make it a secret's key: api key, private key, secret key...
_KEY_QUALIFIERS = words("api secret private access auth app client master signing encryption "
                        "encrypt decryption crypto hmac license licence service account storage "
                        "admin subscription shared primary secondary consumer merchant "
                        "session root deploy ssh gpg pgp aes rsa write read")
# Suffixes that keep the head: mySecretString, api_key_b64, DB_PASSWORD_PROD.
_NEUTRAL_SUFFIXES = words("string str value val raw plain plaintext b64 base64 hex enc "
                          "encoded encrypted secure prod production dev development staging "
                          "stage test testing live local default current new old main "
                          "confirm confirmation again repeat v1 v2 v3 override data "
                          "var env literal text txt bytes")
# A head word that names something about a secret, not the secret itself.
_NOT_VALUE_HEADS = words(
    "label labels title text placeholder hint prompt message msg error errors description desc "
    "help tooltip caption header heading button btn field fields input inputs icon class "
    "style css name names id ids type types kind length len size min max minimum maximum "
    "count limit limits url uri urls endpoint endpoints host hostname port file files path "
    "paths dir directory location loc ref reference arn policy policies rule rules pattern "
    "regex format validator validation validate strength expiry expires expiration expire "
    "ttl age lifetime timeout hash hashed digest salt checksum algorithm alg algo mode "
    "enabled enable disabled disable required optional flag flags rotation rotate reset "
    "forgot forget change changed manager store provider providers vault usage budget "
    "cursor page prefix suffix version schema column table metadata meta config "
    "configuration settings setting option options param params parameter parameters "
    "handler callback fn func function method request response status state error reason "
    "lock locked attempts attempt history changes strategy generator generate encoder "
    "decoder parser validator factory builder service client helper util utils mask "
    "masked regexp visible visibility toggle show hide reveal widget form dialog modal "
    "screen view component container wrapper box area section element key_id keyid "
    "endpoint issuer audience scope scopes grant grants claims claim index indices "
    "refresher refreshed expired exists found missing present check checked count "
    "template bucket topic queue channel"
)
# Words that, anywhere in the name, say the value is public or not a secret at all.
_NOT_SECRET_WORDS = words(
    "public publishable pub csrf xsrf pagination paging next previous prev continuation "
    "page cursor tokenizer tokenize tokenized tokens_count sha sha1 sha256 md5 integrity etag "
    "idempotency trace tracing span request max_tokens maxtokens keyboard keypress keydown "
    "keyup keystroke keycode hotkey monkey turkey donkey hockey whiskey jockey keynote "
    "primary_key foreign_key sort_key partition_key cache_key cachekey dedupe dedup "
    "object_key s3_key bucket_key lookup map_key dict_key row_key keyspace keyword "
    "keywords passport passenger bypass compass passthrough passive passes passed passing "
    "compassion impasse surpass overpass underpass bootstrap pwa authored author authors "
    "authority oauth2_redirect redirect callback_url client_id clientid app_id appid "
    "account_id accountid secretary fingerprint thumbprint"
)
_DATABASE_WORDS = words("db database databases mysql postgres postgresql pg psql mariadb mongo "
                        "mongodb redis sql mssql sqlserver oracle jdbc datasource cassandra "
                        "couchdb elastic elasticsearch neo4j rds dynamo snowflake clickhouse "
                        "supabase sqlalchemy")

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_GLUED = re.compile(
    r"(password|passwd|passphrase|passcode|secret|token|apikey|credentials?|creds|pwd|pass)$"
)


@lru_cache(maxsize=8192)
def split_key(name: str) -> tuple[str, ...]:
    """``mySecretString`` -> (my, secret, string); ``DB_PASS`` -> (db, pass)."""
    parts: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", name):
        if not chunk:
            continue
        for word in _CAMEL.findall(chunk):
            parts.extend(_unglue(word.lower()))
    return tuple(parts)


def _unglue(word: str) -> list[str]:
    """Split a glued compound: dbpassword -> db password; apikey -> api key."""
    if word.endswith("key") and word[:-3] in _KEY_QUALIFIERS:
        return [word[:-3], "key"]
    if word in _PASSWORD_WORDS or word in _TOKEN_WORDS or word in _CREDENTIAL_WORDS:
        return [word]
    match = _GLUED.search(word)
    if match and match.start() >= 2 and word not in _NOT_SECRET_WORDS:
        head = word[: match.start()]
        return [*_unglue(head), match.group(1)]
    return [word]


@lru_cache(maxsize=8192)
def classify_key(name: str) -> KeyVerdict | None:
    """The class of secret a key names, or None when it names no secret."""
    lowered = name.lower().strip("-_.$@:")
    if not lowered or lowered in _NOT_SECRET_WORDS:
        return None
    parts = split_key(name)
    if not parts or any(p in _NOT_SECRET_WORDS for p in parts):
        return None
    joined = "_".join(parts)
    if any(w in joined for w in ("max_token", "token_count", "primary_key", "public_key")):
        return None
    head_index = len(parts) - 1
    while head_index > 0 and (parts[head_index] in _NEUTRAL_SUFFIXES
                              or parts[head_index].isdigit()):
        head_index -= 1
    head = parts[head_index]
    if head in _NOT_VALUE_HEADS:
        return None
    before = parts[:head_index]
    database = any(p in _DATABASE_WORDS for p in parts)
    aws = "aws" in parts or "amazon" in parts
    if head in _PASSWORD_WORDS:
        if head in ("pass", "pw") and before and before[-1] in ("by", "boarding", "hall", "day"):
            return None
        return KeyVerdict(KeyClass.PASSWORD, database, aws)
    if head in _TOKEN_WORDS:
        return KeyVerdict(KeyClass.TOKEN, database, aws)
    if head in _CREDENTIAL_WORDS:
        return KeyVerdict(KeyClass.CREDENTIALS, database, aws)
    if head == "key":
        if before and (before[-1] in _KEY_QUALIFIERS or before[-1] in _TOKEN_WORDS):
            return KeyVerdict(KeyClass.TOKEN, database, aws)
        if not before or (len(before) == 1 and len(before[0]) <= 12):
            # "key", "stripeKey", "x-key": a key of some service, or a map key
            return KeyVerdict(KeyClass.WEAK_KEY, database, aws)
    return None
