"""Log lines: JSON (or text) with every ``extra=`` field, trace and span ids inside a
span, and token-shaped strings redacted wherever they appear."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from piiguard import logs

TOKEN = "xoxb-1234-5678-abcdef"


@pytest.fixture
def capture() -> Iterator[tuple[io.StringIO, logging.Logger]]:
    logs._instrument_logging()
    stream = io.StringIO()
    handler = logs.handler("detection", "json")
    handler.setStream(stream)  # type: ignore[attr-defined]
    logger = logging.getLogger("piiguard.test.logs")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield stream, logger
    logger.handlers.clear()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_extra_fields_are_kept(capture: tuple[io.StringIO, logging.Logger]) -> None:
    stream, log = capture
    log.info("policy updated", extra={"workspace": "T1", "fingerprint": "ab12"})
    [record] = lines(stream)
    assert record["message"] == "policy updated" and record["level"] == "INFO"
    assert record["workspace"] == "T1" and record["fingerprint"] == "ab12"
    assert record["component"] == "detection" and record["logger"] == "piiguard.test.logs"


def test_a_record_inside_a_span_carries_its_ids(capture: tuple[io.StringIO, logging.Logger]) -> None:
    stream, log = capture
    provider = TracerProvider()
    with provider.get_tracer("test").start_as_current_span("detection process") as span:
        log.warning("slow scan")
        context = span.get_span_context()
    log.warning("outside")
    inside, outside = lines(stream)
    assert inside["trace_id"] == format(context.trace_id, "032x")
    assert inside["span_id"] == format(context.span_id, "016x")
    assert outside["trace_id"] == "" and outside["span_id"] == ""
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_tokens_are_redacted_in_messages_arguments_extras_and_tracebacks(
    capture: tuple[io.StringIO, logging.Logger],
) -> None:
    stream, log = capture
    log.warning("refused %s", TOKEN, extra={"header": f"Bearer {TOKEN}"})
    try:
        raise RuntimeError(f"client said {TOKEN}")
    except RuntimeError:
        log.exception("call failed")
    text = stream.getvalue()
    assert TOKEN not in text and text.count("[redacted]") >= 3
    assert "Traceback" in lines(stream)[1]["exc_info"]  # type: ignore[operator]


def test_the_text_format_keeps_the_same_fields() -> None:
    stream = io.StringIO()
    handler = logs.handler("ingest", "text")
    handler.setStream(stream)  # type: ignore[attr-defined]
    record = logging.LogRecord("piiguard.x", logging.INFO, __file__, 1, "policy removed %s", ("now",), None)
    record.workspace = "T9"
    handler.handle(record)
    line = stream.getvalue().strip()
    assert line.endswith("INFO    ingest piiguard.x: policy removed now workspace=T9")
