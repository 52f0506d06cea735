"""Logging for every process, services and operator alike: one record per line on
stderr, as JSON (``PIIGUARD_LOG_FORMAT=json``, for a log pipeline) or as text for
a person at a terminal (``text``, the default).

Each record carries the time, level, component, logger and message, every field
the caller passed with ``extra=`` (``workspace``, ``fingerprint`` …), and the
current trace and span ids (OpenTelemetry's logging instrumentation), so a log
line leads to its trace.

Log calls pass kinds, counts, ids and offsets, never message text or tokens;
:class:`RedactSecrets` is a last line of defence, a filter on the handler, for
exception texts from libraries (an HTTP client may echo a header).
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["json", "text"]

_SECRET_SHAPES = re.compile(
    r"(xox[a-z]-[A-Za-z0-9-]+|xoxe\.[A-Za-z0-9.-]+|Bearer\s+\S+|gh[pousr]_[A-Za-z0-9]+)"
)

# What every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName", "otelSpanID", "otelTraceID", "otelTraceSampled",
    "otelServiceName", "trace_id", "span_id", "component",
}


# Characters that would end a log line or rewrite it on a terminal: C0/C1 controls,
# DEL, and Unicode's line and paragraph separators.
_LINE_BREAKERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def redact_secrets(text: str) -> str:
    return _SECRET_SHAPES.sub("[redacted]", text)


def one_line(text: str) -> str:
    """``text`` with every control character escaped (``\\n``, ``\\x1b``): a value
    that reaches a log line (an id from a request) can never forge another line.
    (JSON lines escape them by themselves.)"""
    return _LINE_BREAKERS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra=`` fields of a record."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class RedactSecrets(logging.Filter):
    """Replaces token-shaped strings in the message, its arguments and string
    ``extra=`` fields before any formatter sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_secrets(record.getMessage())
        record.args = None
        for key, value in extra_fields(record).items():
            if isinstance(value, str):
                setattr(record, key, redact_secrets(value))
        return True


class TraceIds(logging.Filter):
    """``trace_id`` / ``span_id`` on every record: from OpenTelemetry's logging
    instrumentation (``otelTraceID``), empty outside a span."""

    def filter(self, record: logging.LogRecord) -> bool:
        trace_id = getattr(record, "otelTraceID", "0")
        span_id = getattr(record, "otelSpanID", "0")
        record.trace_id = "" if trace_id in ("0", None) else trace_id
        record.span_id = "" if span_id in ("0", None) else span_id
        return True


class _Component(logging.Filter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def filter(self, record: logging.LogRecord) -> bool:
        record.component = self.component
        return True


class JsonLines(JsonFormatter):
    """``{"time", "level", "component", "logger", "message", "trace_id", "span_id", ...extra}``."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(component)s %(name)s %(message)s %(trace_id)s %(span_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            reserved_attrs=sorted(_STANDARD - {"message", "asctime", "trace_id", "span_id", "component"}),
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )

    def formatException(self, ei: Any) -> str:
        return redact_secrets(str(super().formatException(ei)))


class TextLines(logging.Formatter):
    """``<time> <LEVEL> <component> <logger>: <message> key=value ... trace=<id>``."""

    def format(self, record: logging.LogRecord) -> str:
        line = (f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')} {record.levelname:<7} "
                f"{getattr(record, 'component', '')} {record.name}: {one_line(record.getMessage())}")
        fields = extra_fields(record)
        if fields:
            line += " " + " ".join(f"{k}={one_line(str(v))}" for k, v in sorted(fields.items()))
        trace_id = getattr(record, "trace_id", "")
        if trace_id:
            line += f" trace={trace_id}"
        if record.exc_info:
            line += " | " + " | ".join(one_line(part) for part in
                                       self.formatException(record.exc_info).splitlines())
        return redact_secrets(line)


def _instrument_logging() -> None:
    """Let OpenTelemetry put trace and span ids on every record (it wraps the
    record factory; it does not touch handlers or formats)."""
    try:
        from opentelemetry.instrumentation.logging import LoggingInstrumentor
    except ImportError:  # pragma: no cover - part of the base dependencies
        return
    instrumentor = LoggingInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(set_logging_format=False, inject_trace_context=True)


def handler(component: str, log_format: LogFormat = "text") -> logging.Handler:
    """A stderr handler with our filters and format."""
    out = logging.StreamHandler(sys.stderr)
    out.addFilter(_Component(component))
    out.addFilter(TraceIds())
    out.addFilter(RedactSecrets())
    out.setFormatter(JsonLines() if log_format == "json" else TextLines())
    return out


def configure(component: str, level: str = "INFO", log_format: LogFormat = "text") -> None:
    """Install the one handler on the root logger (replacing any other there)."""
    _instrument_logging()
    root = logging.getLogger()
    root.handlers[:] = [handler(component, log_format)]
    root.setLevel(level.upper())
    # Third-party loggers that would print payloads or tokens at debug level.
    for noisy in ("slack_sdk", "nats", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Presidio warns about every recognizer of a language we do not load.
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
