"""Key/value assignments in every syntax engineers paste: one tokenizer, not one regex each.

The scan is anchored on *key stems* (``pass``, ``pwd``, ``secret``, ``token``,
``key``, ``auth``, ``cred``...). From each stem it expands to the whole key
token, reads what wraps the key (quotes, ``<tag>``, ``--flag``, ``:symbol``,
``["…"]``) and what follows it (an operator, a closing tag, a call's comma, a
``value="…"`` attribute, the end of the line), then reads the value: a quoted
string, or a bare run cut at its delimiter (``;`` in connection strings,
``&`` in query strings, ``,``/``)``/``}`` in code). So ``DB_PASS=…``,
``"apiKey": "…"``, ``password: …`` (YAML), ``<password>…</password>``,
``<add key="Token" value="…"/>``, ``setProperty("X_TOKEN", "…")``,
``os.environ["API_KEY"] = "…"``, ``:password => "…"``, ``--token …``,
``Authorization: Bearer …``, ``Password=…;`` and a value on the next line
all come out as the same :class:`Assignment`. What the key *means* and
whether the value *is* a secret are judged elsewhere (``secret_keys``,
``secret_values``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

STEMS = ("pass", "pwd", "pw", "psw", "secret", "token", "key", "auth", "cred", "bearer",
         "cookie", "sig", "senha", "contrase", "jwt", "dsn",
         # a personal access token as a word of a key (ado_pat, GITLAB_PAT_X)
         "_pat", "pat_")
_STEM = re.compile("|".join(STEMS), re.IGNORECASE)
_KEY_CHAR = re.compile(r"[A-Za-z0-9_.\-]")
_MAX_KEY = 80

# What may follow a key: an operator (not ==, !=, <=, >=), for flags also a space.
_OPERATOR = re.compile(
    r"""[ \t]*(?P<close>["'`\]]{0,2}|&quot;)[ \t]*"""
    r"""(?P<op>:=|=>|->|\+=|\?=|\|\|=|<-|(?<![=!<>])=(?!=)|:(?!:)|,)[ \t]*"""
)
_AUTH_SCHEME = re.compile(r"(?i)(bearer|token|basic|digest|apikey|api-key|key|sso-key|"
                          r"ghp|hmac|otp|negotiate)\s+")
# A quoted value ends at its own closing quote only: strong passwords hold the other
# quote characters (``'`123QWERasdf'``, ``"7`D'}/vY…"``).
_QUOTED = re.compile(r"""(?P<q>["'`])(?P<v>(?:(?!(?P=q))[^\n]){0,512})(?P=q)""")
# A value in an escaped string (JSON or a language literal holding code): \"v\"
_ESCAPED_QUOTED = re.compile(r"""\\(?P<q>["'])(?P<v>[^"'\\\n]{1,512})\\(?P=q)""")
# A comparison with a literal: ``if creds.Secret != "open-sesame"``, ``token === 'v'``.
_COMPARISON = re.compile(r"""[ \t]*(?:["'`\]]{1,2})?[ \t]*(?:===?|!==?)[ \t]*(?=["'`])""")
_BARE = re.compile(r"""[^\s"'`,;&)(}{\]\[<>|=]{1,512}={0,3}""")
_XML_CLOSE = re.compile(r"([^<>\n]{1,512})</")
_ATTR_VALUE = re.compile(r"""["']\s+(?:value|val|secret|password|content)\s*=\s*(["'])([^"'\n]{0,512})\1""",
                         re.IGNORECASE)
_NAME_FIELD = re.compile(r"""(?:\bname|\bkey|"name"|"key"|'name')\s*[:=]\s*["']?$""")
_VALUE_FIELD = re.compile(
    r"""["']?\s*,?\s*(?:\r?\n[ \t-]*)?["']?(?:value|val)["']?\s*[:=]\s*"""
)
_TYPE_THEN_VALUE = re.compile(r"[A-Za-z_][\w.]*(?:\[[\w\[\], .|]*\]|<[\w<>, .?]*>)?\??[ \t]*=(?!=)[ \t]*")
_BLOCK_SCALAR = re.compile(r"[|>][-+]?[ \t]*(?=\r?\n)")
_SETTER = re.compile(r"""\(\s*(["'])([^"'\n]{1,512})\1\s*\)""")
_HCL_DEFAULT = re.compile(
    r"""\s*\{[^{}]{0,200}?\b(?:default|value|sensitive_value)\s*=\s*(["'])([^"'\n]{1,512})\1"""
)
_DSL_VALUE = re.compile(r"""[ \t]+(["'])([^"'\n]{1,512})\1""")
# `key value` as a whole line (Redis, nginx, sshd, Apache directives): one bare token
# after the key, then the end of the line or a `#` comment.
_DIRECTIVE = re.compile(r"[ \t]+([^\s\"'`#][^\s\"'`]{0,511})[ \t]*(?:[ \t]#[^\n]*)?(?=\r?\n|$)")
_DIRECTIVE_START = re.compile(r"(?:^|\n)[ \t]*$")
_NEXT_LINE = re.compile(r"[ \t]*\r?\n[ \t]*([^\s]{1,512})[ \t]*(?:\r?\n|$)")


@dataclass(frozen=True, slots=True)
class Assignment:
    key: str
    key_start: int
    value: str  # as written, quotes kept so the classifier knows it was quoted
    start: int  # span of the value without its quotes
    end: int
    # "operator", "xml", "attribute", "call", "flag", "header", "next_line", "setter",
    # "block", "dsl", "name_value", "basic", "comparison" (``== "v"``, a quoted literal),
    # "directive" (``requirepass v`` as a whole line)
    syntax: str


def _key_span(text: str, pos: int) -> tuple[int, int]:
    start = pos
    while start > 0 and pos - start < _MAX_KEY and _KEY_CHAR.match(text[start - 1]):
        start -= 1
    end = pos
    while end < len(text) and end - pos < _MAX_KEY and _KEY_CHAR.match(text[end]):
        end += 1
    while end > start and text[end - 1] in ".-":  # "password." ends a sentence
        end -= 1
    return start, end


def assignments(
    text: str, limit: int = 2000, key_filter: Callable[[str], object] | None = None
) -> Iterator[Assignment]:
    """Every key/value assignment whose key holds a secret stem, in order.

    ``key_filter`` (a key name -> truthy) skips reading values of keys that
    cannot name a secret, so a text full of ``key`` words stays cheap.
    """
    seen: set[int] = set()
    for stem in _STEM.finditer(text):
        k_start, k_end = _key_span(text, stem.start())
        if k_start in seen or k_end <= k_start:
            continue
        seen.add(k_start)
        if len(seen) > limit:
            return
        key = text[k_start:k_end]
        flag = key.startswith("-")
        key_name = key.lstrip("-")
        if key_filter is not None and not key_filter(key_name):
            continue
        found = _read(text, k_start, k_end, key_name, flag)
        if found is not None:
            yield found


def _read(text: str, k_start: int, k_end: int, key: str, flag: bool) -> Assignment | None:
    before = text[max(0, k_start - 1) : k_start]
    # <password>value</password>
    if before == "<" and text[k_end : k_end + 1] == ">":
        match = _XML_CLOSE.match(text, k_end + 1)
        if match:
            return Assignment(key, k_start, match.group(1), match.start(1), match.end(1), "xml")
        return None
    # <add key="DbPassword" value="..."/> and <property name="password" value="..."/>
    if before in ("\"", "'"):
        attr = _ATTR_VALUE.match(text, k_end)
        if attr:
            return Assignment(key, k_start, attr.group(1) + attr.group(2) + attr.group(1),
                              attr.start(2), attr.end(2), "attribute")
        if re.match(r"""\s*>""", text[k_end + 1 : k_end + 3]) and re.search(
            r"""(?:name|key)\s*=\s*["']$""", text[max(0, k_start - 12) : k_start]
        ):  # <property name="password">value</property>
            close = text.find(">", k_end)
            match = _XML_CLOSE.match(text, close + 1)
            if match:
                return Assignment(key, k_start, match.group(1), match.start(1), match.end(1),
                                  "xml")
    if flag:
        match = re.compile(r"(?:=|[ \t]+)").match(text, k_end)
        if not match:
            return None
        return _value(text, match.end(), key, k_start, "flag")
    # a key given as a name field, its value in a sibling field (Kubernetes env lists,
    # ECS/Compose "name"/"value" pairs): - name: API_SECRET ⏎ value: "…"
    if _NAME_FIELD.search(text, max(0, k_start - 12), k_start):
        sibling = _VALUE_FIELD.match(text, k_end)
        if sibling:
            return _value(text, sibling.end(), key, k_start, "name_value")
    setter = _SETTER.match(text, k_end)
    if setter and before not in ("\"", "'", "`"):
        # setPassword("v"), withToken('v'), .password("v"): the key is the method's name
        return Assignment(key, k_start, setter.group(1) + setter.group(2) + setter.group(1),
                          setter.start(2), setter.end(2), "setter")
    if before in ("\"", "'") and text[k_end : k_end + 1] == before:
        block = _HCL_DEFAULT.match(text, k_end + 1)
        if block:  # variable "db_password" { default = "v" }
            return Assignment(key, k_start, block.group(1) + block.group(2) + block.group(1),
                              block.start(2), block.end(2), "block")
    comparison = _COMPARISON.match(text, k_end)
    if comparison is not None:
        found = _value(text, comparison.end(), key, k_start, "comparison")
        return found if found is not None and found.value[:1] in "\"'`" else None
    op = _OPERATOR.match(text, k_end)
    if op is None:
        # Groovy / Gradle / netrc-style DSLs: `password 'v'`, `token "v"` (quoted only)
        dsl = _DSL_VALUE.match(text, k_end)
        if dsl and before not in ("\"", "'", "`"):
            return _value(text, dsl.start(1), key, k_start, "dsl")
        # A config directive alone on its line: `requirepass v` (Redis), `masterauth v`
        directive = _DIRECTIVE.match(text, k_end)
        if directive and _DIRECTIVE_START.search(text, max(0, k_start - 40), k_start):
            return Assignment(key, k_start, directive.group(1), directive.start(1),
                              directive.end(1), "directive")
        return None
    if op.group("op") == ",":
        # a call's arguments: setProperty("X_TOKEN", "...") — the key must be quoted
        if not op.group("close") or before not in ("\"", "'", "`"):
            return None
        return _value(text, op.end(), key, k_start, "call")
    if op.group("op") == ":" and before == "" and k_start > 0:
        pass
    at = op.end()
    block = _BLOCK_SCALAR.match(text, at)
    if block and op.group("op") == ":":
        at = block.end()  # YAML block scalar: password: | ⏎ value
    rest = text[at : at + 2]
    if rest[:1] in ("\n", "\r") or at >= len(text):
        match = _NEXT_LINE.match(text, at)
        if match and op.group("op") in (":", "="):
            return Assignment(key, k_start, match.group(1), match.start(1), match.end(1),
                              "next_line")
        return None
    if op.group("op") == ":":
        typed = _TYPE_THEN_VALUE.match(text, at)
        if typed:  # val dbPassword: String = "…", password: str = "…"
            return _value(text, typed.end(), key, k_start, "operator")
    return _value(text, at, key, k_start, "header" if op.group("op") == ":" else "operator")


def _value(text: str, at: int, key: str, k_start: int, syntax: str) -> Assignment | None:
    # Ruby/Python prefixes: r"...", b'...', f"...", @"..."
    if text[at : at + 1] in ("r", "b", "f", "@", "u") and text[at + 1 : at + 2] in ("\"", "'"):
        at += 1
    scheme = _AUTH_SCHEME.match(text, at)
    if scheme and scheme.group(1).lower() in ("bearer", "token", "basic", "digest", "sso-key",
                                              "apikey", "api-key", "hmac", "negotiate"):
        at = scheme.end()
        if scheme.group(1).lower() == "basic":
            return _basic(text, at, key, k_start)
    escaped = _ESCAPED_QUOTED.match(text, at)
    if escaped:
        q = escaped.group("q")
        return Assignment(key, k_start, q + escaped.group("v") + q, escaped.start("v"),
                          escaped.end("v"), syntax)
    quoted = _QUOTED.match(text, at)
    if quoted:
        inner_start, inner_end = quoted.span("v")
        inner = quoted.group("v")
        scheme = _AUTH_SCHEME.match(inner)
        if scheme and scheme.group(1).lower() in ("bearer", "token", "basic"):
            if scheme.group(1).lower() == "basic":
                return _basic(text, inner_start + scheme.end(), key, k_start)
            inner_start += scheme.end()
            q = quoted.group("q")
            return Assignment(key, k_start, q + text[inner_start:inner_end] + q,
                              inner_start, inner_end, syntax)
        return Assignment(key, k_start, quoted.group(0), inner_start, inner_end, syntax)
    bare = _BARE.match(text, at)
    if not bare:
        return None
    value = bare.group(0)
    while value and value[-1] in ".:":
        value = value[:-1]
    if not value:
        return None
    return Assignment(key, k_start, value, bare.start(), bare.start() + len(value), syntax)


def _basic(text: str, at: int, key: str, k_start: int) -> Assignment | None:
    """``Authorization: Basic <base64 user:password>``: the encoded pair is the secret."""
    match = re.compile(r"[A-Za-z0-9+/=]{8,512}").match(text, at)
    if not match:
        return None
    try:
        decoded = base64.b64decode(match.group(0) + "=" * (-len(match.group(0)) % 4),
                                   validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if ":" not in decoded:
        return None
    return Assignment(key, k_start, decoded, match.start(), match.end(), "basic")
