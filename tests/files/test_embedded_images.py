"""Pictures inside documents are read too: an image on a PDF text page, the
pictures of a DOCX and an XLSX, each finding saying where the picture was;
within the file's limits (count, pixels, time)."""

from __future__ import annotations

import asyncio
import io
import zipfile

import pytest

from piiguard.detection.engine import DetectionEngine
from piiguard.detection.files.extract import extract
from piiguard.detection.files.limits import Limits
from piiguard.detection.files.ocr_text import scan_pages
from piiguard.detection.files.scanner import FileScanner
from piiguard.policy import DEFAULT_POLICY
from piiguard.v1 import event_pb2
from tests.files import samples
from tests.support.slack_standin import SlackStandIn

from .conftest import requires_tesseract

PII = samples.card_picture()
CLEAN = samples.card_picture(samples.NOT_A_CARD_PLAIN)


def findings(engine: DetectionEngine, data: bytes) -> list[tuple[str, int, str]]:
    result = extract(data, Limits())
    assert not result.reason, result.reason
    return [(f.entity_type, page.page.page, page.page.location)
            for page in scan_pages(engine, result.texts) for f in page.findings]


@requires_tesseract
def test_picture_on_a_pdf_text_page(engine: DetectionEngine) -> None:
    data = samples.pdf_with_picture(PII)
    result = extract(data, Limits())
    assert (result.method, result.pages) == ("pdf-text+ocr", 2)
    assert findings(engine, data) == [("CREDIT_CARD", 2, "image 1 on page 2")]
    assert findings(engine, samples.pdf_with_picture(CLEAN)) == []


@requires_tesseract
def test_a_logo_on_every_page_is_read_once(engine: DetectionEngine) -> None:
    data = samples.pdf_with_picture(PII, logo_pages=4)
    result = extract(data, Limits(max_pages=10))
    assert not result.reason
    assert sorted({t.location for t in result.texts if t.method == "ocr"}) == \
        ["image 1 on page 2", "image 1 on page 6"]
    assert [(f.entity_type, page.page.page) for page in scan_pages(engine, result.texts)
            for f in page.findings] == [("CREDIT_CARD", 6)]


@requires_tesseract
def test_pictures_in_docx_and_xlsx(engine: DetectionEngine) -> None:
    docx = samples.docx_with_picture(PII)
    assert extract(docx, Limits()).method == "docx+ocr"
    assert findings(engine, docx) == [("CREDIT_CARD", 0, "word/media/image1.png")]
    xlsx = samples.xlsx_with_picture(PII)
    result = extract(xlsx, Limits())
    assert (result.method, result.pages) == ("xlsx+ocr", 2)
    assert findings(engine, xlsx) == [("CREDIT_CARD", 2, "xl/media/image1.png")]  # the "Receipts" sheet
    assert findings(engine, samples.docx_with_picture(CLEAN)) == []
    assert findings(engine, samples.xlsx_with_picture(CLEAN)) == []


@requires_tesseract
def test_scanner_findings_say_where_the_picture_was(engine: DetectionEngine) -> None:
    with SlackStandIn() as slack:
        data = samples.docx_with_picture(PII)
        url = slack.serve_file("FEMB/report.docx", data, "application/vnd.openxmlformats")
        ref = event_pb2.FileRef(id="F-emb", name="report.docx", size=len(data), url_private_download=url)
        outcome = asyncio.run(FileScanner(slack.api_url, "xoxb-t").scan(ref, DEFAULT_POLICY, engine))
    assert [(f.entity_type, f.file_name, f.location) for f in outcome.findings] == \
        [("CREDIT_CARD", "report.docx", "word/media/image1.png")]
    assert (outcome.scan.method, outcome.scan.scanned) == ("docx+ocr", True)


def _with_member(data: bytes, name: str, member: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr(name, member)
    return out.getvalue()


def test_picture_limits_count_and_pixels() -> None:
    plain = samples.docx_with_picture(PII)
    bomb = _with_member(plain, "word/media/image9.png", samples.png_bomb(20_000))
    result = extract(bomb, Limits(max_pixels=50_000_000, time_budget=30))
    assert result.reason == "embedded image: image too large (decompression bomb)"
    assert any(t.method == "docx" for t in result.texts)  # the document's text is still scanned

    many = plain
    for n in range(2, 5):
        many = _with_member(many, f"word/media/extra{n}.png", CLEAN)
    result = extract(many, Limits(max_pages=2))
    assert result.reason == "embedded images beyond 2 not scanned"
    assert sorted({t.location for t in result.texts if t.method == "ocr"}) == \
        ["word/media/extra2.png", "word/media/extra3.png"]
    late = extract(many, Limits(time_budget=0.0001))
    assert late.reason == "time budget exceeded after 0 of 4 embedded images"


@pytest.mark.parametrize("vector", [b"\x01\x00\x00\x00" + b"\x00" * 60, b"<svg xmlns='x'/>"])
def test_vector_pictures_are_skipped(vector: bytes) -> None:
    data = _with_member(samples.docx_with_picture(PII), "word/media/logo.emf", vector)
    plain = extract(samples.docx_with_picture(PII), Limits(max_pages=1))
    assert extract(data, Limits(max_pages=1)).reason == plain.reason == ""
