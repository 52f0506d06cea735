"""Text from a file's bytes, per page, by the type its content shows.

Runs inside the extraction child process (``worker``). Every decoder error
becomes ``Unscannable`` with a short reason about the file's shape; partial
results (a page limit reached, the time budget spent half-way) keep the text
of what was read and carry the reason for the rest.
"""

from __future__ import annotations

import hashlib
import io
import time
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from piiguard.detection.files import ocr
from piiguard.detection.files.limits import (
    MAX_TEXT_CHARS,
    MAX_UNZIPPED_BYTES,
    MAX_XLSX_CELLS,
    MAX_ZIP_RATIO,
    MIN_EMBEDDED_PIXELS,
    MIN_EMBEDDED_SIDE,
    OCR_DPI,
    OCR_EXTRA_SHARE,
    TEXT_LAYER_MIN_CHARS,
    Limits,
    Unscannable,
)
from piiguard.detection.files.sniff import ARCHIVE_TYPES, IMAGE_TYPES, decode_text, sniff

if TYPE_CHECKING:  # Pillow is imported lazily: the child loads only what a file needs
    from PIL.Image import Image as PILImage


@dataclass
class PageText:
    page: int  # 1-based page / frame / sheet; 0 for a file without pages
    text: str
    method: str  # text | pdf-text | ocr | docx | xlsx
    # An embedded image's place: "image 2 on page 3", "word/media/image1.png"; "" otherwise.
    location: str = ""


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
            "texts": [{"page": t.page, "text": t.text, "method": t.method, "location": t.location}
                      for t in self.texts],
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
            texts=[PageText(int(t["page"]), str(t["text"]), str(t["method"]), str(t.get("location") or ""))
                   for t in texts],
        )


class _Clock:
    def __init__(self, budget: float, variants: bool = True) -> None:
        self.deadline = time.monotonic() + budget
        self.variants = variants  # photo variants in OCR (off: the benchmark's baseline)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def spent(self) -> bool:
        return self.remaining() <= 0


def extract(data: bytes, limits: Limits, *, ocr_variants: bool = True) -> Extraction:
    """The text of ``data``. Never raises for a bad file: the reason is in the result.

    ``ocr_variants=False`` reads each image once, as before the photo variants
    (``bench/files.py`` measures the difference)."""
    kind = sniff(data)
    result = Extraction(detected_type=kind)
    clock = _Clock(limits.time_budget, ocr_variants)
    try:
        if kind in IMAGE_TYPES:
            _image(data, limits, clock, result)
        elif kind == "pdf":
            _pdf(data, limits, clock, result)
        elif kind == "text":
            _text(data, result)
        elif kind == "docx":
            _docx(data, result)
            _office_images(data, "word/media/", limits, clock, result)
        elif kind == "xlsx":
            _xlsx(data, result)
            _office_images(data, "xl/media/", limits, clock, result)
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


def _open_image(data: bytes, limits: Limits) -> PILImage:
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
        _ocr_page(frame.copy(), index, min(frames, limits.max_pages) - index + 1, clock, result.texts)


def _ocr_page(image: PILImage, number: int, pages_left: int, clock: _Clock, texts: list[PageText],
              location: str = "") -> None:
    """OCR one image into ``texts`` (one ``PageText`` per good reading).

    The photo variants (``ocr.read``) may use up to ``OCR_EXTRA_SHARE`` of this
    page's fair share of the remaining budget, so a 30-page scan of photos still
    reaches its last page: variants are dropped, pages are not.
    """
    share = clock.remaining() / max(pages_left, 1)
    readings = ocr.read(image, clock.remaining(), extra_time=share * OCR_EXTRA_SHARE,
                        variants=clock.variants)
    texts.extend(PageText(number, reading.text, "ocr", location) for reading in readings)


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
        embedded = _Embedded(limits.max_pages)
        for index in range(min(pages, limits.max_pages)):
            if clock.spent():
                result.reason = f"time budget exceeded after {index} of {pages} pages"
                break
            page = pdf[index]
            try:
                texts = _pdf_page(page, index + 1, min(pages, limits.max_pages) - index, limits, clock,
                                  pdfium_c, embedded)
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
        result.reason = result.reason or embedded.reason
        result.method = {
            frozenset(): "pdf-text", frozenset({"pdf-text"}): "pdf-text", frozenset({"ocr"}): "pdf-ocr",
        }.get(frozenset(methods), "pdf-text+ocr")
    finally:
        pdf.close()


def _pdf_page(page: Any, number: int, pages_left: int, limits: Limits, clock: _Clock, pdfium_c: Any,
              embedded: _Embedded) -> list[PageText]:
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range() or ""
    finally:
        textpage.close()
    texts = [PageText(number, text, "pdf-text")] if text.strip() else []
    if len(text.strip()) >= TEXT_LAYER_MIN_CHARS and _images_cover(page, pdfium_c) <= 0.25:
        # A text page with a photo, a pasted screenshot, a logo: the text
        # layer does not hold what the images show, so each image is read.
        _pdf_images(page, number, pages_left, limits, clock, pdfium_c, embedded, texts)
    else:
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
            _ocr_page(image, number, pages_left, clock, texts)
        finally:
            bitmap.close()
    return texts


class _Embedded:
    """The count limit on images embedded in a file (``maxPages`` of them are
    read), and the first reason one of them could not be."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.read = 0
        self.reason = ""
        self.digests: set[bytes] = set()

    def repeated(self, raw: bytes) -> bool:
        """Whether this picture (by its encoded bytes) was read already: a logo
        on every page of a report is read once, and counted once."""
        digest = hashlib.blake2b(raw, digest_size=16).digest()
        if digest in self.digests:
            return True
        self.digests.add(digest)
        return False

    def take(self) -> bool:
        if self.read >= self.limit:
            self.fail(f"embedded images beyond {self.limit} not scanned")
            return False
        self.read += 1
        return True

    def fail(self, reason: str) -> None:
        self.reason = self.reason or reason


def _pdf_images(page: Any, number: int, pages_left: int, limits: Limits, clock: _Clock, pdfium_c: Any,
                embedded: _Embedded, texts: list[PageText]) -> None:
    """OCR each image object of a text page, at the image's own resolution."""
    try:
        objects = list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))
    except Exception:
        embedded.fail(f"images on page {number} unreadable")
        return
    ordinal = 0
    for position, obj in enumerate(objects):
        try:
            width, height = obj.get_px_size()
        except Exception:
            continue
        if min(width, height) < MIN_EMBEDDED_SIDE or width * height < MIN_EMBEDDED_PIXELS:
            continue  # a rule, a bullet, an icon: no text to read
        ordinal += 1
        try:
            raw = bytes(obj.get_data(decode_simple=False))
        except Exception:
            raw = b""
        if raw and embedded.repeated(raw):
            continue
        if not embedded.take():
            return
        if width * height > limits.max_pixels:
            embedded.fail("embedded image too large (decompression bomb)")
            continue
        if clock.spent():
            raise Unscannable("time budget exceeded")
        try:
            bitmap = obj.get_bitmap(render=True)
        except Exception:
            embedded.fail(f"image {ordinal} on page {number} unreadable")
            continue
        try:
            image = bitmap.to_pil()
            _ocr_page(image, number, pages_left + len(objects) - position - 1, clock, texts,
                      location=f"image {ordinal} on page {number}")
        finally:
            bitmap.close()


def _images_cover(page: Any, pdfium_c: Any) -> float:
    """Share of the page covered by image objects (scans, embedded photos)."""
    try:
        width, height = page.get_size()
        area = 0.0
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
            left, bottom, right, top = obj.get_bounds()
            area += max(0.0, right - left) * max(0.0, top - bottom)
        return float(area / max(width * height, 1.0))
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


def _rows(sheet: Any) -> Iterator[tuple[object, ...]]:
    yield from sheet.iter_rows(values_only=True)


# ---- images embedded in DOCX / XLSX -------------------------------------------------


def _office_images(data: bytes, prefix: str, limits: Limits, clock: _Clock, result: Extraction) -> None:
    """OCR the pictures of a DOCX (``word/media/``) or XLSX (``xl/media/``): a
    pasted screenshot or a photographed card is text the document's XML lacks.

    The zip was checked for bombs before (``_check_zip``); each picture is
    sniffed (vector formats such as EMF/WMF hold no photo and are skipped) and
    opened under ``maxPixels``; at most ``maxPages`` pictures per file.
    """
    if result.reason:
        return  # the document's own text hit a limit: that is the reason shown
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        pictures: list[zipfile.ZipInfo] = []
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if not info.filename.startswith(prefix) or info.is_dir():
                continue
            with archive.open(info) as member:
                if sniff(member.read(1024)) in IMAGE_TYPES:
                    pictures.append(info)
        if not pictures:
            return
        sheets = _xlsx_picture_sheets(archive) if prefix == "xl/media/" else {}
        embedded = _Embedded(limits.max_pages)
        before = len(result.texts)
        for n, info in enumerate(pictures):
            if not embedded.take():
                break
            if clock.spent():
                embedded.fail(f"time budget exceeded after {n} of {len(pictures)} embedded images")
                break
            try:
                image = _open_image(archive.read(info), limits)
                image.load()
            except Unscannable as exc:
                embedded.fail(f"embedded image: {exc.reason}")
                continue
            except Exception:
                embedded.fail("unreadable embedded image")
                continue
            try:
                _ocr_page(image, sheets.get(info.filename, 0), len(pictures) - n, clock, result.texts,
                          location=info.filename)
            except Unscannable as exc:
                if exc.reason == "time budget exceeded":
                    embedded.fail(f"time budget exceeded after {n} of {len(pictures)} embedded images")
                    break
                embedded.fail(f"embedded image: {exc.reason}")
        if len(result.texts) > before:
            result.method += "+ocr"
        result.reason = result.reason or embedded.reason


_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_SHEET_RID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _rels(archive: zipfile.ZipFile, part: str) -> dict[str, str]:
    """A part's relationships: id -> target part path (resolved), from its ``.rels``."""
    import posixpath
    from xml.etree import ElementTree

    folder, name = posixpath.split(part)
    try:
        root = ElementTree.fromstring(archive.read(posixpath.join(folder, "_rels", name + ".rels")))
    except (KeyError, ElementTree.ParseError):
        return {}
    out: dict[str, str] = {}
    for rel in root.iter(_RELS):
        target = str(rel.get("Target") or "")
        if rel.get("TargetMode") == "External" or not target:
            continue
        # Absolute targets ("/xl/media/image1.png") are from the package root.
        path = target[1:] if target.startswith("/") else posixpath.join(folder, target)
        out[str(rel.get("Id"))] = posixpath.normpath(path)
    return out


def _xlsx_picture_sheets(archive: zipfile.ZipFile) -> dict[str, int]:
    """Picture part -> the 1-based number of the sheet it is drawn on (workbook
    order, as the sheets' text pages are numbered)."""
    from xml.etree import ElementTree

    try:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    except (KeyError, ElementTree.ParseError):
        return {}
    targets = _rels(archive, "xl/workbook.xml")
    out: dict[str, int] = {}
    sheets = [el for el in workbook.iter() if el.tag.endswith("}sheet")]
    for number, sheet in enumerate(sheets, start=1):
        part = targets.get(str(sheet.get(_SHEET_RID)))
        if not part:
            continue
        for drawing in _rels(archive, part).values():
            for picture in _rels(archive, drawing).values():
                out.setdefault(picture, number)
    return out
