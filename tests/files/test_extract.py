"""Extraction per type, and the outcome of every hostile or over-limit file."""

from __future__ import annotations

import asyncio
import io
import zipfile

import docx
import openpyxl
import pytest
from fpdf import FPDF

from piiguard.detection.engine import DetectionEngine
from piiguard.detection.files import scanner
from piiguard.detection.files.extract import extract
from piiguard.detection.files.limits import Limits, Unscannable
from piiguard.detection.files.scanner import extract_in_child
from piiguard.policy import FileLimits
from tests.files import samples

from .conftest import requires_tesseract


def kinds(engine: DetectionEngine, data: bytes, limits: Limits | None = None) -> set[str]:
    result = extract(data, limits or Limits())
    assert not result.reason, result.reason
    return {f.entity_type for page in result.texts for f in engine.scan(page.text).findings}


def test_limits_defaults_match_the_policy_model() -> None:
    assert Limits.from_policy(FileLimits()) == Limits()


@requires_tesseract
@pytest.mark.parametrize("sample", samples.pii_and_clean("low"), ids=lambda s: s.name)
def test_planted_pii_found_and_look_alikes_clean(engine: DetectionEngine, sample: samples.Sample) -> None:
    assert kinds(engine, sample.data) == set(sample.kinds)


@requires_tesseract
def test_pages_and_methods() -> None:
    scanned = extract(samples.scanned_pdf("low"), Limits())
    assert (scanned.detected_type, scanned.method, scanned.pages, scanned.pages_scanned) == \
        ("pdf", "pdf-ocr", 1, 1)
    text = extract(samples.text_pdf(), Limits())
    assert (text.method, text.texts[0].page, text.texts[0].method) == ("pdf-text", 1, "pdf-text")
    image = extract(samples.screenshot_png("low"), Limits())
    assert (image.detected_type, image.method, image.pages) == ("png", "ocr", 1)
    env = extract(samples.env_file(), Limits())
    assert (env.detected_type, env.method, env.texts[0].page) == ("text", "text", 0)


@requires_tesseract
def test_dark_mode_screenshot_and_webp(engine: DetectionEngine) -> None:
    dark = samples.screenshot(samples.SCREENSHOT_PII, font_size=13, dark=True)
    assert "CREDIT_CARD" in kinds(engine, samples.encode(dark, "PNG"))
    assert "CREDIT_CARD" in kinds(engine, samples.encode(dark, "WEBP", quality=80))


def test_docx_and_xlsx(engine: DetectionEngine) -> None:
    document = docx.Document()
    document.add_paragraph("Payroll change")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "SSN"
    table.rows[0].cells[1].text = samples.SSN
    out = io.BytesIO()
    document.save(out)
    assert kinds(engine, out.getvalue()) == {"US_SSN"}

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["name", "iban"])
    sheet.append(["Jonas Weber", samples.IBAN])
    out = io.BytesIO()
    workbook.save(out)
    result = extract(out.getvalue(), Limits())
    assert (result.detected_type, result.method, result.pages) == ("xlsx", "xlsx", 1)
    assert kinds(engine, out.getvalue()) == {"IBAN_CODE"}


def test_corrupt_png() -> None:
    result = extract(samples.corrupt_png(), Limits())
    assert result.reason.startswith("unreadable png") and result.method == "none"


def test_zip_bomb_named_png_is_never_expanded() -> None:
    result = extract(samples.zip_bomb(), Limits())
    assert (result.detected_type, result.reason) == ("zip", "archive (zip) not scanned")


def test_png_decompression_bomb() -> None:
    assert extract(samples.png_bomb(), Limits()).reason == "image too large (decompression bomb)"


def test_docx_zip_bomb() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:document/>")
        archive.writestr("word/media/bomb.bin", b"\0" * (64 * 1024 * 1024))
    result = extract(out.getvalue(), Limits())
    assert (result.detected_type, result.reason) == ("docx", "compression ratio too high (zip bomb)")


def test_page_limit_scans_the_first_pages_and_says_so() -> None:
    result = extract(samples.long_pdf(200), Limits(max_pages=30))
    assert (result.pages, result.pages_scanned) == (200, 30)
    assert result.reason == "pages beyond 30 not scanned (200 pages)"


def test_encrypted_pdf() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, "payroll")
    pdf.set_encryption(owner_password="owner", user_password="user")
    assert extract(bytes(pdf.output()), Limits()).reason == "encrypted PDF"


def test_unsupported_and_empty() -> None:
    assert extract(bytes(range(256)) * 20, Limits()).reason == "unsupported file type"
    empty = extract(b"", Limits())
    assert (empty.detected_type, empty.reason) == ("empty", "")


def test_time_budget_in_the_child() -> None:
    result = asyncio.run(extract_in_child(samples.scanned_pdf("low"), Limits(time_budget=0.001)))
    assert result.reason.startswith("time budget exceeded") and not result.texts


def test_child_overrunning_its_budget_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scanner, "KILL_GRACE", 0.0)
    with pytest.raises(Unscannable, match="time budget exceeded"):
        asyncio.run(extract_in_child(samples.scanned_pdf("low"), Limits(time_budget=0.01)))


def test_hostile_file_in_the_child() -> None:
    result = asyncio.run(extract_in_child(samples.png_bomb(), Limits()))
    assert result.reason == "image too large (decompression bomb)"
