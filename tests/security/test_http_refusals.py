"""Bad requests to ingest's public endpoint get a clear 4xx, one WARNING line and
no traceback — whatever is malformed (headers, bytes, JSON, the payload's shape)
and however slowly it arrives. Against the real ingest process."""

from __future__ import annotations

import copy
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import slack_events
from tests.support.pipeline import Pipeline

from .conftest import LogMark, post, sign, start_services

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

READ_TIMEOUT = 2.0
MAX_CONNECTIONS = 40


@pytest.fixture(scope="module")
def ingest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    pipeline = start_services(
        tmp_path_factory.mktemp("http-refusals"), ("ingest",),
        extra_env={"PIIGUARD_HTTP_READ_TIMEOUT": f"{READ_TIMEOUT}s",
                   "PIIGUARD_HTTP_MAX_CONNECTIONS": str(MAX_CONNECTIONS)},
    )
    pid = pipeline.processes["ingest"].pid
    try:
        yield pipeline
        assert pipeline.processes["ingest"].poll() is None, "ingest died"
        assert pipeline.processes["ingest"].pid == pid
        output = pipeline.log_path("ingest").read_text(errors="replace")
        assert "Traceback" not in output
        assert " ERROR " not in output
    finally:
        pipeline.stop()


def valid_payload(**event: Any) -> dict[str, Any]:
    return slack_events.message_event("nothing to see here", **event)


def signed_json(value: Any) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(value).encode()
    return body, sign(body)


def with_field(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    payload = valid_payload()
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return payload


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def raw_signed(text: str) -> tuple[bytes, dict[str, str]]:
    body = text.encode("utf-8")
    return body, sign(body)


NOT_UTF8 = b'\xff\xfe{"type": "event_callback"}'


def bad(request: tuple[bytes, dict[str, str]]) -> tuple[bytes, dict[str, str], set[int]]:
    """A signed request whose payload is malformed: 400."""
    return (*request, {400})


def cases() -> dict[str, tuple[bytes, dict[str, str], set[int]]]:
    body = json.dumps(valid_payload()).encode()
    verification = json.dumps({"type": "url_verification", "challenge": "c" * 16}).encode()
    now = str(int(time.time()))
    envelope = valid_payload()
    return {
        "no signature headers": (body, {"Content-Type": "application/json"}, {401}),
        "empty timestamp": (body, {**sign(body), "X-Slack-Request-Timestamp": ""}, {401}),
        "non-numeric timestamp": (body, {**sign(body, "soon"), "X-Slack-Request-Timestamp": "soon"}, {401}),
        "underscored timestamp": (body, sign(body, f"{now[:4]}_{now[4:]}"), {401}),
        "huge timestamp": (body, sign(body, "9" * 5000), {401}),
        "signature not hex": (body, {**sign(body), "X-Slack-Signature": "v0=zz"}, {401}),
        "wrong signature": (body, {**sign(body), "X-Slack-Signature": "v0=" + "0" * 64}, {401}),
        "stale timestamp": (body, sign(body, str(int(time.time()) - 3600)), {401}),
        "unsigned url_verification": (verification, {"Content-Type": "application/json"}, {401}),
        "non-UTF-8 body": (NOT_UTF8, sign(NOT_UTF8), {400}),
        "not JSON": (b"{not json", sign(b"{not json"), {400}),
        "JSON list": bad(signed_json([1, 2, 3])),
        "type missing": bad(signed_json({"event": {}})),
        "files: 7": bad(signed_json(with_field(("event", "files"), 7))),
        "files of numbers": bad(signed_json(with_field(("event", "files"), [1, 2]))),
        "user as a list": bad(signed_json(with_field(("event", "user"), ["U1", "U2"]))),
        "user as an object": bad(signed_json(with_field(("event", "user"), {"id": "U1"}))),
        "text as a number": bad(signed_json(with_field(("event", "text"), 12))),
        "channel as a list": bad(signed_json(with_field(("event", "channel"), ["C1"]))),
        "ts as a number": bad(signed_json(with_field(("event", "ts"), 1700000000.1))),
        "authorizations: 5": bad(signed_json(with_field(("authorizations",), 5))),
        "authorizations of strings": bad(signed_json(with_field(("authorizations",), ["x"]))),
        "event as a string": bad(signed_json(with_field(("event",), "message"))),
        "event_time NaN": bad(raw_signed(json.dumps(envelope).replace(
            f'"event_time": {envelope["event_time"]}', '"event_time": NaN'))),
        "event_time Infinity": bad(raw_signed(json.dumps(envelope).replace(
            f'"event_time": {envelope["event_time"]}', '"event_time": Infinity'))),
        "event_time -Infinity": bad(raw_signed(json.dumps(envelope).replace(
            f'"event_time": {envelope["event_time"]}', '"event_time": -Infinity'))),
        "event_time 1e300": bad(signed_json(with_field(("event_time",), 1e300))),
        "event_time negative": bad(signed_json(with_field(("event_time",), -5))),
        "deep nesting": bad(raw_signed('{"type": "event_callback", "x": ' + nested(100_000) + "}")),
        "moderate nesting": bad(raw_signed('{"type": "event_callback", "x": ' + nested(200) + "}")),
        "lone surrogate in text": bad(raw_signed(json.dumps(valid_payload()).replace(
            "nothing to see here", "nothing \\ud800 here"))),
        "lone surrogate in a key": bad(raw_signed(json.dumps(valid_payload()).replace(
            '"api_app_id"', '"api\\udfff_app_id"'))),
        "event_id with a newline": bad(signed_json(with_field(
            ("event_id",), "Ev1\n2026-01-01T00:00:00 INFO    ingest forged: accepted"))),
        "channel with a newline": bad(signed_json(with_field(("event", "channel"), "C1\nforged"))),
        "file id not a string": bad(signed_json(with_field(("event", "files"), [{"id": 5}]))),
        "too large": (b"{" + b" " * (2 * 1024 * 1024) + b"}", sign(b"{}", now), {413}),
    }


# Signatures carry a timestamp that ingest accepts for five minutes, so the cases are
# signed when a test runs, not when the module is collected (a long suite would
# make every signed case stale, and 400 cases answer 401).
CASE_NAMES = list(cases())


@pytest.mark.parametrize("name", CASE_NAMES)
def test_bad_request_is_a_clear_refusal_with_one_warning(ingest: Pipeline, name: str) -> None:
    body, headers, expected = cases()[name]
    if name == "too large":
        headers = {**headers, "Content-Length": str(len(body))}
    mark = LogMark(ingest.log_path("ingest"))
    answer = post(ingest, body, headers)
    assert answer.status in expected, (name, answer)
    assert isinstance(answer.body, dict) and answer.body.get("error"), answer.body
    warnings = mark.wait_for_lines(lambda line: " WARNING " in line)
    time.sleep(0.2)  # anything else it would log about this request is written by now
    logged = [line for line in mark.lines() if "auth.test" not in line]  # start-up, not this request
    assert len([line for line in logged if " WARNING " in line]) == 1, logged
    assert not [line for line in logged if " ERROR " in line or "Traceback" in line], logged
    assert warnings and "forged" not in warnings[0].split("refused", 1)[0]
    assert not any(line.startswith("2026-01-01T00:00:00") for line in logged)  # no forged line


def test_a_good_request_is_still_accepted(ingest: Pipeline) -> None:
    body, headers = signed_json({"type": "url_verification", "challenge": "abc"})
    answer = post(ingest, body, headers)
    assert (answer.status, answer.body) == (200, {"challenge": "abc"})


# -- fuzz -----------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children,
                                                                      max_size=4),
    max_leaves=12,
)
TEMPLATE = valid_payload(extra={"files": [{"id": "F1", "name": "a.txt", "mimetype": "text/plain",
                                           "size": 3, "url_private_download": "https://files.slack.com/x"}]})


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += _paths(child, (*prefix, index))
    return out


PATHS = _paths(TEMPLATE)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(PATHS), JSON), min_size=1, max_size=3))
def test_fuzzed_signed_payloads_never_fail_the_server(ingest: Pipeline, edits: list[Any]) -> None:
    payload = copy.deepcopy(TEMPLATE)
    payload["event"]["channel"] = "CFUZZ"  # not consumed: a fuzz case never reaches Slack
    for path, value in edits:
        target: Any = payload
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    body = json.dumps(payload).encode()
    answer = post(ingest, body, sign(body))
    assert answer.status in (200, 400), (answer, payload)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=2048), st.booleans())
def test_fuzzed_bytes_are_refused(ingest: Pipeline, body: bytes, signed: bool) -> None:
    headers = sign(body) if signed else {"Content-Type": "application/json"}
    answer = post(ingest, body, headers)
    assert 400 <= answer.status < 500, answer


# -- slow and crowded clients -------------------------------------------------------

def _connect(pipeline: Pipeline) -> socket.socket:
    return socket.create_connection(("127.0.0.1", pipeline.http_port), timeout=30)


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closed ``sock`` within ``seconds``, and what it sent."""
    sock.settimeout(0.25)
    received = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            return True, received
        if not chunk:
            return True, received
        received += chunk
    return False, received


def test_half_sent_headers_are_cut_off(ingest: Pipeline) -> None:
    sock = _connect(ingest)
    try:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Slack-Req")
        closed, _ = _closed_within(sock, READ_TIMEOUT + 5)
        assert closed
    finally:
        sock.close()


def test_a_body_trickled_byte_by_byte_is_cut_off(ingest: Pipeline) -> None:
    body = json.dumps(valid_payload()).encode()
    headers = sign(body)
    head = (f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()
    sock = _connect(ingest)
    started = time.monotonic()
    try:
        sock.sendall(head)
        sock.settimeout(0.05)
        answer = b""
        for byte in body:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            closed, got = _closed_within(sock, 0.5)  # one byte every half second, then wait
            answer += got
            if closed or answer:
                break
            assert time.monotonic() - started < READ_TIMEOUT + 5, "still reading the body"
        assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    finally:
        sock.close()


def test_a_thousand_half_open_connections_do_not_hold_the_port(ingest: Pipeline) -> None:
    socks = []
    try:
        for _ in range(1000):
            sock = _connect(ingest)
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")
            socks.append(sock)
        # Beyond the cap, connections are turned away at once ...
        busy = [s for s in socks[MAX_CONNECTIONS + 10:MAX_CONNECTIONS + 20]]
        for sock in busy:
            closed, got = _closed_within(sock, 5)
            # 503 and closed (or reset, when our unread half-header was still in its buffer)
            assert closed and (not got or got.startswith(b"HTTP/1.1 503")), got[:60]
        # ... and the ones held open are closed once their headers are overdue.
        for sock in socks[:MAX_CONNECTIONS]:
            closed, _ = _closed_within(sock, READ_TIMEOUT + 10)
            assert closed
    finally:
        for sock in socks:
            sock.close()
    body, headers = signed_json({"type": "url_verification", "challenge": "after"})
    deadline = time.monotonic() + 20
    while True:
        answer = post(ingest, body, headers)
        if answer.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (answer.status, answer.body) == (200, {"challenge": "after"})


def test_ingest_log_has_no_traceback(ingest: Pipeline) -> None:
    text = Path(ingest.log_path("ingest")).read_text(errors="replace")
    assert "Traceback" not in text and " ERROR " not in text
