"""A Notion page's files through detection's file pipeline: the real poller reads
the page through the real notion-client from the stand-in, detection's
FileScanner downloads (no token to a pre-signed URL, a fresh URL when it expired,
external files only from allowed hosts) and extracts in its child process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from piiguard.detection.engine import DetectionEngine
from piiguard.detection.files.notion_files import NotionFiles
from piiguard.detection.files.scanner import FileOutcome, FileScanner
from piiguard.ingest.notion.poller import NotionPoller, file_ref
from piiguard.kinds import UNSCANNABLE_FILE
from piiguard.notion_api import open_client
from piiguard.policy import DEFAULT_POLICY, Policy
from piiguard.v1 import event_pb2
from tests.files import samples
from tests.files.conftest import requires_tesseract
from tests.support.notion_standin import NotionStandIn, paragraph, title


@pytest.fixture()
def notion() -> Iterator[NotionStandIn]:
    with NotionStandIn() as standin:
        yield standin


@pytest.fixture(scope="module")
def engine() -> DetectionEngine:
    return DetectionEngine(DEFAULT_POLICY)


def policy(hosts: tuple[str, ...] = ()) -> Policy:
    return Policy.model_validate({"notion": {"databases": ["0" * 32], "allowExternalFileHosts": list(hosts)}})


async def page_files(notion: NotionStandIn, page_id: str) -> list[event_pb2.FileRef]:
    """The FileRefs the poller puts in the page's Event."""
    from piiguard.ingest.notion.content import property_files

    async with open_client(notion.token, notion.base_url) as api:
        poller = NotionPoller(None, None, api, list)  # type: ignore[arg-type]
        page = await api.pages.retrieve(page_id=page_id)
        _, blocks = await poller.body(page_id)
        return [file_ref(page_id, n, f) for n, f in enumerate([*property_files(page), *blocks], start=1)]


async def scan_all(notion: NotionStandIn, refs: list[event_pb2.FileRef], engine: DetectionEngine,
                   the_policy: Policy) -> list[FileOutcome]:
    async with open_client(notion.token, notion.base_url) as api:
        scanner = FileScanner("http://127.0.0.1:9", "xoxb-not-for-notion", notion=NotionFiles(api))
        return [await scanner.scan(ref, the_policy, engine) for ref in refs]


def kinds(outcome: FileOutcome) -> set[str]:
    return {f.entity_type for f in outcome.findings}


@requires_tesseract
def test_hosted_files_are_fetched_without_a_token_and_expired_urls_refreshed(
        notion: NotionStandIn, engine: DetectionEngine) -> None:
    _, (source,) = notion.add_database()
    author = notion.add_user(email="ana@example.com")
    payslip = notion.hosted_file("payslip.pdf", samples.text_pdf(), "application/pdf")
    photo = notion.hosted_file("IMG_0042.jpeg", samples.ssn_photo_jpeg(), "image/jpeg")
    page = notion.add_page(source, {"Name": title("HR case"), "Attachments": notion.files(payslip)},
                           [paragraph("see the photo"), notion.file_block("image", photo)], created_by=author)
    refs = asyncio.run(page_files(notion, page))
    assert [(r.name, r.notion.hosting, bool(r.notion.block_id)) for r in refs] == [
        ("payslip.pdf", "file", False), ("", "file", True)]
    notion.advance(3601)  # both URLs the page handed out have expired
    pdf, image = asyncio.run(scan_all(notion, refs, engine, policy()))
    assert kinds(pdf) == {"IBAN_CODE"} and pdf.scan.detected_type == "pdf" and pdf.scan.scanned
    assert kinds(image) == {"US_SSN"} and image.scan.method.startswith("ocr")
    for file in (payslip, photo):
        downloads = notion.downloads(file)
        assert len(downloads) == 2  # refused once (expired), then the fresh URL
        assert all(d.token == "" for d in downloads)  # never the Notion (or Slack) token
    # Fresh URLs came from the block and the page property, read again.
    assert notion.calls("GET", f"/v1/blocks/{refs[1].notion.block_id}")
    assert notion.calls("GET", f"/v1/pages/{page}/properties/{refs[0].notion.property_id}")


def test_external_files_are_fetched_only_from_allowed_hosts(notion: NotionStandIn,
                                                            engine: DetectionEngine) -> None:
    _, (source,) = notion.add_database()
    author = notion.add_user(email="ana@example.com")
    outside = notion.external_file("notes.txt", f"card {samples.CARD}".encode(), "text/plain")
    page = notion.add_page(source, {"Name": title("Ext")}, [notion.file_block("file", outside)],
                           created_by=author)
    (ref,) = asyncio.run(page_files(notion, page))
    assert ref.name == "notes.txt" and ref.notion.hosting == "external"
    (refused,) = asyncio.run(scan_all(notion, [ref], engine, policy()))
    assert kinds(refused) == {UNSCANNABLE_FILE} and "allowExternalFileHosts" in refused.scan.reason
    assert notion.downloads(outside) == []  # never fetched
    (fetched,) = asyncio.run(scan_all(notion, [ref], engine, policy(("127.0.0.1",))))
    assert kinds(fetched) == {"CREDIT_CARD"} and len(notion.downloads(outside)) == 1
