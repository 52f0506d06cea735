"""Text from a file's bytes, per page, by the type its content shows.

Runs inside the extraction child process (``worker``). Every decoder error
becomes ``Unscannable`` with a short reason about the file's shape; partial
results (a page limit reached, the time budget spent half-way) keep the text
of what was read and carry the reason for the rest.
"""

from __future__ import annotations

import io
import time
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from piiguard.detection.files import ocr
from piiguard.detection.files.limits import (
    MAX_TEXT_CHARS,
    MAX_UNZIPPED_BYTES,
    MAX_XLSX_CELLS,
    MAX_ZIP_RATIO,
    OCR_DPI,
    TEXT_LAYER_MIN_CHARS,
    Limits,
    Unscannable,
)
from piiguard.detection.files.sniff import ARCHIVE_TYPES, IMAGE_TYPES, decode_text, sniff


@dataclass
class PageText:
    page: int  # 1-based page / frame / sheet; 0 for a file without pages
    text: str
    method: str  # text | pdf-text | ocr | docx | xlsx


@dataclass
class Extraction:
    detected_type: str
    method: str = "none"
    pages: int = 0
    texts: list[PageText] = field(default_factory=list)
    reason: str = ""  # non-empty: (part of) the file was not scanned

    @property
    def pages_scanned(self) -> int:
        return len({t.page for t in self.texts})

    def as_dict(self) -> dict[str, object]:
        return {
            "detected_type": self.detected_type, "method": self.method, "pages": self.pages,
            "reason": self.reason,
            "texts": [{"page": t.page, "text": t.text, "method": t.method} for t in self.texts],
        }

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> Extraction:
        texts = raw.get("texts") or []
        assert isinstance(texts, list)
        return cls(
            detected_type=str(raw.get("detected_type") or "binary"),
            method=str(raw.get("method") or "none"),
            pages=int(raw.get("pages") or 0),  # type: ignore[call-overload]
            reason=str(raw.get("reason") or ""),
            texts=[PageText(int(t["page"]), str(t["text"]), str(t["method"])) for t in texts],
        )


class _Clock:
    def __init__(self, budget: float) -> None:
        self.deadline = time.monotonic() + budget

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def spent(self) -> bool:
        return self.remaining() <= 0


def extract(data: bytes, limits: Limits) -> Extraction:
    """The text of ``data``. Never raises for a bad file: the reason is in the result."""
    kind = sniff(data)
    result = Extraction(detected_type=kind)
    clock = _Clock(limits.time_budget)
    try:
        if kind in IMAGE_TYPES:
            _image(data, limits, clock, result)
        elif kind == "pdf":
            _pdf(data, limits, clock, result)
        elif kind == "text":
            _text(data, result)
        elif kind == "docx":
            _docx(data, result)
        elif kind == "xlsx":
            _xlsx(data, result)
        elif kind in ARCHIVE_TYPES:
            raise Unscannable(f"archive ({kind}) not scanned")
        elif kind == "ole":
            raise Unscannable("legacy Office or encrypted document")
        elif kind == "empty":
            result.method = "text"
        else:
            raise Unscannable("unsupported file type")
    except Unscannable as exc:
        result.reason = exc.reason
    except MemoryError:
        result.reason = "too large to decode"
    except Exception as exc:  # a malformed file: any decoder error is the file's, not ours
        result.reason = f"unreadable {kind} ({type(exc).__name__})"
    if result.reason and not result.texts:
        result.method = "none"
    _cap_text(result)
    return result


def _cap_text(result: Extraction) -> None:
    total = 0
    for i, page in enumerate(result.texts):
        if total + len(page.text) > MAX_TEXT_CHARS:
            page.text = page.text[: MAX_TEXT_CHARS - total]
            del result.texts[i + 1:]
            result.reason = result.reason or f"text beyond {MAX_TEXT_CHARS} characters not scanned"
            return
        total += len(page.text)


# ---- images -------------------------------------------------------------------------


def _open_image(data: bytes, limits: Limits):
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise Unscannable("image too large (decompression bomb)") from None
    except Image.DecompressionBombWarning:
        raise Unscannable("image too large (decompression bomb)") from None
    width, height = image.size
    if width * height > limits.max_pixels:
        raise Unscannable("image too large (decompression bomb)")
    return image


def _image(data: bytes, limits: Limits, clock: _Clock, result: Extraction) -> None:
    from PIL import Image, ImageSequence

    image = _open_image(data, limits)
    frames = int(getattr(image, "n_frames", 1) or 1)
    result.pages = frames
    result.method = "ocr"
    for index, frame in enumerate(ImageSequence.Iterator(image), start=1):
        if index > limits.max_pages:
            result.reason = f"frames beyond {limits.max_pages} not scanned ({frames} frames)"
            break
        if clock.spent():
            result.reason = f"time budget exceeded after {index - 1} of {frames} frames"
            break
        try:
            frame.load()
        except Image.DecompressionBombError:
            raise Unscannable("image too large (decompression bomb)") from None
        result.texts.append(PageText(index, ocr.ocr(frame.copy(), clock.remaining()), "ocr"))


# ---- PDF ----------------------------------------------------------------------------


def _pdf(data: bytes, limits: Limits, clock: _Clock, result: Extraction) -> None:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise Unscannable("encrypted PDF") from None
        raise Unscannable("unreadable pdf") from None
    try:
        pages = len(pdf)
        result.pages = pages
        methods: set[str] = set()
        for index in range(min(pages, limits.max_pages)):
            if clock.spent():
                result.reason = f"time budget exceeded after {index} of {pages} pages"
                break
            page = pdf[index]
            try:
                texts = _pdf_page(page, index + 1, limits, clock, pdfium_c)
            except Unscannable as exc:
                if exc.reason == "time budget exceeded":
                    result.reason = f"time budget exceeded after {index} of {pages} pages"
                    break
                raise
            finally:
                page.close()
            for text in texts:
                methods.add(text.method)
                result.texts.append(text)
        else:
            if pages > limits.max_pages:
                result.reason = f"pages beyond {limits.max_pages} not scanned ({pages} pages)"
        result.method = {
            frozenset(): "pdf-text", frozenset({"pdf-text"}): "pdf-text", frozenset({"ocr"}): "pdf-ocr",
        }.get(frozenset(methods), "pdf-text+ocr")
    finally:
        pdf.close()


def _pdf_page(page, number: int, limits: Limits, clock: _Clock, pdfium_c) -> list[PageText]:
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range() or ""
    finally:
        textpage.close()
    texts = [PageText(number, text, "pdf-text")] if text.strip() else []
    if len(text.strip()) < TEXT_LAYER_MIN_CHARS or _images_cover(page, pdfium_c) > 0.25:
        width, height = page.get_size()  # points
        scale = OCR_DPI / 72
        pixels = width * height * scale * scale
        if pixels > limits.max_pixels:
            scale *= (limits.max_pixels / pixels) ** 0.5
        if width * scale < 50 or height * scale < 50:
            return texts
        bitmap = page.render(scale=scale, grayscale=True)
        try:
            image = bitmap.to_pil()
            texts.append(PageText(number, ocr.ocr(image, clock.remaining()), "ocr"))
        finally:
            bitmap.close()
    return texts


def _images_cover(page, pdfium_c) -> float:
    """Share of the page covered by image objects (scans, embedded photos)."""
    try:
        width, height = page.get_size()
        area = 0.0
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
            left, bottom, right, top = obj.get_bounds()
            area += max(0.0, right - left) * max(0.0, top - bottom)
        return area / max(width * height, 1.0)
    except Exception:
        return 0.0


# ---- text, DOCX, XLSX ---------------------------------------------------------------


def _text(data: bytes, result: Extraction) -> None:
    result.method = "text"
    result.texts.append(PageText(0, decode_text(data), "text"))


def _check_zip(data: bytes) -> None:
    """Refuse a zip that would expand beyond the safety limits (a zip bomb)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = 0
            for info in archive.infolist():
                total += info.file_size
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > 1024 * 1024 and ratio > MAX_ZIP_RATIO:
                    raise Unscannable("compression ratio too high (zip bomb)")
                if info.flag_bits & 0x1:
                    raise Unscannable("encrypted document")
            if total > MAX_UNZIPPED_BYTES:
                raise Unscannable("expands beyond the size limit (zip bomb)")
    except zipfile.BadZipFile:
        raise Unscannable("unreadable zip container") from None


def _docx(data: bytes, result: Extraction) -> None:
    import docx

    _check_zip(data)
    document = docx.Document(io.BytesIO(data))
    result.method = "docx"
    result.pages = 1
    lines: list[str] = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append("\t".join(cell.text for cell in row.cells))
    for section in document.sections:
        for part in (section.header, section.footer):
            lines.extend(p.text for p in part.paragraphs)
    result.texts.append(PageText(0, "\n".join(lines), "docx"))


def _xlsx(data: bytes, result: Extraction) -> None:
    import openpyxl

    _check_zip(data)
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        result.method = "xlsx"
        cells = 0
        sheets = workbook.worksheets
        result.pages = len(sheets)
        for number, sheet in enumerate(sheets, start=1):
            lines: list[str] = []
            for row in _rows(sheet):
                cells += len(row)
                if cells > MAX_XLSX_CELLS:
                    result.reason = f"cells beyond {MAX_XLSX_CELLS} not scanned"
                    break
                lines.append("\t".join("" if v is None else str(v) for v in row))
            result.texts.append(PageText(number, "\n".join(lines), "xlsx"))
            if result.reason:
                break
    finally:
        workbook.close()


def _rows(sheet) -> Iterator[tuple[object, ...]]:
    yield from sheet.iter_rows(values_only=True)
