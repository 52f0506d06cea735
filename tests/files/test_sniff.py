"""The type comes from the content, never the name."""

from __future__ import annotations

import io

import docx
import openpyxl
import pytest

from piiguard.detection.files.sniff import decode_text, sniff
from tests.files import samples


def _docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("hello")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active.append(["a", 1])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize("data,kind", [
    (samples.screenshot_png("low"), "png"),
    (samples.ssn_photo_jpeg("low"), "jpeg"),
    (samples.encode(samples.screenshot(["x"], size=(400, 100)), "GIF"), "gif"),
    (samples.encode(samples.screenshot(["x"], size=(400, 100)), "WEBP"), "webp"),
    (samples.encode(samples.screenshot(["x"], size=(400, 100)), "TIFF"), "tiff"),
    (samples.encode(samples.screenshot(["x"], size=(400, 100)), "BMP"), "bmp"),
    (samples.text_pdf(), "pdf"),
    (samples.env_file(), "text"),
    ("naïve café, déjà vu\n".encode(), "text"),
    ("\ufeffutf-16 text".encode("utf-16"), "text"),
    (b'{"json": true, "n": [1, 2, 3]}', "text"),
    (b"", "empty"),
    (bytes(range(256)) * 20, "binary"),
    (samples.zip_bomb(8 * 1024 * 1024), "zip"),
    (b"\x1f\x8b\x08\x00" + b"\0" * 40, "gzip"),
    (_docx(), "docx"),
    (_xlsx(), "xlsx"),
])
def test_sniff(data: bytes, kind: str) -> None:
    assert sniff(data) == kind


def test_decode_text_handles_boms_and_latin1() -> None:
    assert decode_text("\ufeffhi".encode()) == "hi"
    assert decode_text("hi".encode("utf-16")) == "hi"
    assert decode_text("café".encode("latin-1")) == "café"
