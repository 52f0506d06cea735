"""The type of a file from its content (magic bytes), never from its name.

A ``.png`` that is really a zip is a zip; a ``.txt`` that is really a PDF is a PDF.
"""

from __future__ import annotations

import io
import zipfile

IMAGE_TYPES = frozenset({"png", "jpeg", "gif", "webp", "tiff", "bmp"})
ARCHIVE_TYPES = frozenset({"zip", "gzip", "bzip2", "xz", "7z", "rar", "zstd"})

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"BM", "bmp"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),  # legacy .doc/.xls, or encrypted OOXML
)


def sniff(data: bytes) -> str:
    """``png``, ``jpeg``, ``gif``, ``webp``, ``tiff``, ``bmp``, ``pdf``, ``docx``,
    ``xlsx``, ``zip`` (any other zip), an archive type, ``ole``, ``text``, ``empty``
    or ``binary`` (unknown)."""
    if not data:
        return "empty"
    head = data[:16]
    if head[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _zip_kind(data)
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            if kind == "bmp" and len(data) < 26:
                continue
            return kind
    if _looks_like_text(data[:64 * 1024]):
        return "text"
    return "binary"


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return "zip"
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return "zip"


def _looks_like_text(sample: bytes) -> bool:
    if sample.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in sample:
        return False
    try:
        decoded = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sample's end is still text.
        if exc.start < len(sample) - 4:
            try:
                decoded = sample.decode("latin-1")
            except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes anything
                return False
            return _printable_ratio(decoded) > 0.95
        decoded = sample[: exc.start].decode("utf-8")
    return _printable_ratio(decoded) > 0.9


def _printable_ratio(text: str) -> float:
    if not text:
        return 1.0
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\r\t\f")
    return printable / len(text)


def decode_text(data: bytes) -> str:
    """A text file's content as str (UTF-8/UTF-16 by BOM, else UTF-8, else Latin-1)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
