"""Limits of file scanning, and the outcome of a file that cannot be scanned.

Policy settings (``detection.files``) are per workspace; the constants here are
hard safety limits that hold whatever the policy says.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the extraction child imports this module: keep it light
    from piiguard.policy import FileLimits

UNSCANNABLE_FILE = "UNSCANNABLE_FILE"

# Hard safety limits (not policy): what an archive-based format (DOCX, XLSX) may
# expand to, how much text one file may yield, the child's address space.
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_ZIP_RATIO = 200  # uncompressed / compressed of one member: beyond this it is a bomb
MAX_TEXT_CHARS = 2_000_000  # extracted text per file handed to detection
MAX_XLSX_CELLS = 500_000
CHILD_MEMORY_BYTES = 2 * 1024 * 1024 * 1024
DOWNLOAD_TIMEOUT = 60.0  # seconds for one file's whole download
OCR_DPI = 200  # scanned PDF pages are rendered at this resolution for OCR
TEXT_LAYER_MIN_CHARS = 16  # a PDF page with fewer characters of text is OCR'd


class Unscannable(Exception):
    """The file (or part of it) cannot be scanned. ``reason`` is a short phrase
    about the file's shape (never its content), e.g. ``encrypted PDF``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    # Defaults mirror piiguard.policy.FileLimits (a test checks they agree).
    max_bytes: int = 20 * 1024 * 1024
    max_pages: int = 30
    time_budget: float = 60.0
    max_pixels: int = 50_000_000

    @classmethod
    def from_policy(cls, files: FileLimits) -> Limits:
        return cls(max_bytes=files.max_bytes, max_pages=files.max_pages,
                   time_budget=files.time_budget, max_pixels=files.max_pixels)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)
