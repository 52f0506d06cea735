"""Bearer tokens of external Ingest API callers.

``PIIGUARD_INGEST_API_TOKENS_FILE`` (in a cluster, mounted from a Secret) holds
one ``<caller-name> <token>`` per line; ``#`` starts a comment. The file is
re-read when it changes, so a token is rotated by rewriting the Secret: add the
new token under the same caller name, move the caller over, remove the old one.
Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import re
from pathlib import Path

from piiguard.errors import ConfigError
from piiguard.settings import Settings

TOKENS_FILE_ENV = "PIIGUARD_INGEST_API_TOKENS_FILE"
CALLER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
MIN_TOKEN_CHARS = 16  # a guessable token is no authentication


def parse_tokens(text: str) -> list[tuple[str, str]]:
    entries: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or not CALLER_NAME.fullmatch(parts[0]):
            raise ConfigError(f"{TOKENS_FILE_ENV}: line {number} is not '<caller-name> <token>'")
        if len(parts[1]) < MIN_TOKEN_CHARS:
            raise ConfigError(f"{TOKENS_FILE_ENV}: line {number}: token shorter than "
                              f"{MIN_TOKEN_CHARS} characters")
        entries.append((parts[0], parts[1]))
    return entries


class TokenFile:
    """The callers' tokens, re-read when the file's modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._entries: list[tuple[str, bytes]] = []
        self._load()

    @classmethod
    def from_settings(cls, config: Settings) -> TokenFile | None:
        path = config.ingest_api_tokens_file
        if path is None:
            return None
        if not path.is_file():
            raise ConfigError(f"{TOKENS_FILE_ENV}: no such file ({path.name})")
        return cls(path)

    def _load(self) -> None:
        stat = self.path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        entries = parse_tokens(self.path.read_text(encoding="utf-8", errors="replace"))
        self._entries = [(name, token.encode()) for name, token in entries]
        self._stamp = stamp

    def caller_for(self, token: str) -> str | None:
        """The caller a token belongs to, or ``None``."""
        try:
            self._load()
        except (OSError, ConfigError):
            pass  # a half-written file during rotation: keep the tokens we had
        offered = token.encode()
        found: str | None = None
        for name, known in self._entries:  # no early exit: timing says nothing
            if hmac.compare_digest(offered, known):
                found = name
        return found


def bearer_token(metadata: tuple[tuple[str, str | bytes], ...] | None) -> str | None:
    for key, value in metadata or ():
        if key.lower() == "authorization":
            text = value.decode(errors="replace") if isinstance(value, bytes) else value
            scheme, _, token = text.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None
