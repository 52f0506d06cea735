"""Logging for every process: one line per record, key=value fields, to stderr.

Log calls pass kinds, counts, ids and offsets, never message text or tokens;
``redact_secrets`` is a last line of defence for exception texts from libraries
(an HTTP client may echo a header).
"""

from __future__ import annotations

import logging
import os
import re
import sys

_SECRET_SHAPES = re.compile(
    r"(xox[a-z]-[A-Za-z0-9-]+|xoxe\.[A-Za-z0-9.-]+|Bearer\s+\S+|gh[pousr]_[A-Za-z0-9]+)"
)


def redact_secrets(text: str) -> str:
    return _SECRET_SHAPES.sub("[redacted]", text)


class _Formatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = (
            f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')} {record.levelname:<7} "
            f"{self.service} {record.name}: {record.getMessage()}"
        )
        if record.exc_info:
            line += " | " + self.formatException(record.exc_info).replace("\n", " | ")
        return redact_secrets(line)


def configure(service: str, level: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or os.environ.get("PIIGUARD_LOG_LEVEL", "INFO")).upper())
    # Third-party loggers that would print payloads or tokens at debug level.
    for noisy in ("slack_sdk", "nats", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Presidio warns about every recognizer of a language we do not load.
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
