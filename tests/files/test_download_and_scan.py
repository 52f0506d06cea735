"""Download (bounded, authenticated, Slack hosts only), the scanner's outcome per
policy, and the per-file lines of the author's DM."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import pytest

from piiguard.action.notice import compose, files_summary
from piiguard.detection.engine import DetectionEngine
from piiguard.detection.files.download import download, resolve, trusted
from piiguard.detection.files.limits import Unscannable
from piiguard.detection.files.scanner import FileScanner
from piiguard.errors import DownloadError
from piiguard.natsserver import free_port
from piiguard.policy import DEFAULT_POLICY, MessageSettings, policy_from_mapping
from piiguard.v1 import detection_pb2, event_pb2
from tests.files import samples
from tests.support.slack_standin import SlackStandIn

from .conftest import requires_tesseract


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


def fetch(url: str, slack: SlackStandIn, *, max_bytes: int = 1 << 20, token: str = "xoxb-t") -> bytes:
    async def run() -> bytes:
        async with aiohttp.ClientSession() as session:
            got = await download(session, url, token=token, api_url=slack.api_url, max_bytes=max_bytes)
            return got.data
    return asyncio.run(run())


def test_resolve_and_trust() -> None:
    api = "https://slack.com/api/"
    assert resolve("/files-pri/T1-F1/download/a.png", api) == "https://slack.com/files-pri/T1-F1/download/a.png"
    assert resolve("https://files.slack.com/x", api) == "https://files.slack.com/x"
    assert trusted("https://files.slack.com/x", api)
    assert not trusted("https://evil.example/x", api)
    assert not trusted("https://slack.com.evil.example/x", api)
    assert trusted("http://127.0.0.1:9/f", "http://127.0.0.1:8/api/")


def test_download_sends_the_bot_token_and_resolves_relative_urls(slack: SlackStandIn) -> None:
    url = slack.serve_file("FDL1/a.txt", b"hello", "text/plain")
    assert fetch(url, slack) == b"hello"
    assert fetch(url.removeprefix(slack.base_url), slack) == b"hello"
    calls = [c for c in slack.calls("files.download") if c.args["path"] == "FDL1/a.txt"]
    assert {c.token for c in calls} == {"xoxb-t"}


def test_download_limits_and_failures(slack: SlackStandIn) -> None:
    url = slack.serve_file("FDL2/big.bin", b"x" * 5000, "application/octet-stream")
    with pytest.raises(Unscannable, match="larger than the 4096-byte limit"):
        fetch(url, slack, max_bytes=4096)
    with pytest.raises(Unscannable, match="not available"):
        fetch(f"{slack.base_url}/files/missing", slack)
    with pytest.raises(Unscannable, match="outside Slack"):
        fetch("https://example.org/f.png", slack)
    with pytest.raises(Unscannable, match="no download URL"):
        fetch("", slack)
    with pytest.raises(DownloadError):  # nothing listens there: transient, retried
        fetch(f"http://127.0.0.1:{free_port()}/f", slack)


def ref(slack: SlackStandIn, name: str, data: bytes, mimetype: str) -> event_pb2.FileRef:
    url = slack.serve_file(f"FSC/{name}", data, mimetype)
    return event_pb2.FileRef(id=f"F-{name}", name=name, mimetype=mimetype, size=len(data),
                             url_private_download=url)


@requires_tesseract
def test_scanner_findings_carry_file_and_page(slack: SlackStandIn, engine: DetectionEngine) -> None:
    scanner = FileScanner(slack.api_url, "xoxb-t")
    file_ref = ref(slack, "scan.pdf", samples.scanned_pdf("low"), "application/pdf")
    outcome = asyncio.run(scanner.scan(file_ref, DEFAULT_POLICY, engine))
    assert [(f.entity_type, f.file_id, f.file_name, f.page) for f in outcome.findings] == \
        [("IBAN_CODE", "F-scan.pdf", "scan.pdf", 1)]
    assert (outcome.scan.detected_type, outcome.scan.method, outcome.scan.pages, outcome.scan.scanned) == \
        ("pdf", "pdf-ocr", 1, True)
    assert [(k.entity_type, k.count) for k in outcome.scan.kinds] == [("IBAN_CODE", 1)]


def test_unscannable_action_comes_from_the_policy(slack: SlackStandIn, engine: DetectionEngine) -> None:
    scanner = FileScanner(slack.api_url, "xoxb-t")
    bomb = ref(slack, "bomb.png", samples.zip_bomb(16 * 1024 * 1024), "image/png")
    outcome = asyncio.run(scanner.scan(bomb, DEFAULT_POLICY, engine))
    assert [(f.entity_type, f.action) for f in outcome.findings] == \
        [("UNSCANNABLE_FILE", detection_pb2.ENTITY_ACTION_NOTIFY)]
    assert (outcome.scan.scanned, outcome.scan.reason) == (False, "archive (zip) not scanned")

    quiet = policy_from_mapping({"actions": {"rules": {"UNSCANNABLE_FILE": "ignore"}}})
    assert asyncio.run(scanner.scan(bomb, quiet, engine)).findings == []
    strict = policy_from_mapping({"actions": {"rules": {"UNSCANNABLE_FILE": "delete"}}})
    assert asyncio.run(scanner.scan(bomb, strict, engine)).findings[0].action == \
        detection_pb2.ENTITY_ACTION_DELETE


def test_oversized_file_is_not_downloaded_and_disabled_scanning(slack: SlackStandIn,
                                                                engine: DetectionEngine) -> None:
    scanner = FileScanner(slack.api_url, "xoxb-t")
    big = event_pb2.FileRef(id="FBIG", name="big.mov", size=10**9,
                            url_private_download=f"{slack.base_url}/files/FBIG")
    outcome = asyncio.run(scanner.scan(big, DEFAULT_POLICY, engine))
    assert outcome.scan.reason == f"larger than the {DEFAULT_POLICY.detection.files.max_bytes}-byte limit"
    assert not [c for c in slack.calls("files.download") if c.args["path"] == "FBIG"]
    off = policy_from_mapping({"detection": {"files": {"enabled": False}}})
    outcome = asyncio.run(scanner.scan(big, off, engine))
    assert outcome.findings == [] and outcome.scan.reason == "file scanning disabled by policy"


def test_dm_lists_each_file_with_its_kinds() -> None:
    event = event_pb2.Event(event_id="Ev1", channel_id="C1", ts="1.2", text="see attached", files=[
        event_pb2.FileRef(id="F1", name="passport.jpg"),
        event_pb2.FileRef(id="F2", name="<notes>.pdf"),
        event_pb2.FileRef(id="F3", name="cat.png"),
    ])
    result = detection_pb2.DetectionResult(
        event_id="Ev1", verdict=detection_pb2.VERDICT_DELETE,
        findings=[
            detection_pb2.Finding(entity_type="US_PASSPORT", file_id="F1", file_name="passport.jpg", page=1),
            detection_pb2.Finding(entity_type="US_SSN", file_id="F1", file_name="passport.jpg", page=1),
            detection_pb2.Finding(entity_type="UNSCANNABLE_FILE", file_id="F2", file_name="<notes>.pdf"),
        ],
        files=[detection_pb2.FileScan(file_id="F2", reason="encrypted PDF")],
    )
    assert files_summary(event, result) == [
        "*Files:*",
        "• passport.jpg: passport number and US social security number",
        "• &lt;notes&gt;.pdf: could not be scanned (encrypted PDF)",
        "• cat.png: nothing found",
    ]
    fallback, blocks, metadata = compose(event, result, MessageSettings())
    assert "passport.jpg" not in fallback and "passport number" in fallback
    assert any("passport.jpg: " in b.get("text", {}).get("text", "") for b in blocks)
    assert metadata["event_payload"]["kinds"] == "UNSCANNABLE_FILE,US_PASSPORT,US_SSN"
