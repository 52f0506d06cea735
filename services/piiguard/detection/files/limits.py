"""Limits of file scanning, and the outcome of a file that cannot be scanned.

Policy settings (``detection.files``) are per workspace; the constants here are
hard safety limits that hold whatever the policy says.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from piiguard.errors import Unscannable as Unscannable  # re-exported: the files package's outcome
from piiguard.kinds import UNSCANNABLE_FILE as UNSCANNABLE_FILE  # re-exported for the files package

if TYPE_CHECKING:  # the extraction child imports this module: keep it light
    from piiguard.policy import FileLimits

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
# An image embedded in a PDF page smaller than this (a rule, a bullet, an icon)
# holds no text worth reading.
MIN_EMBEDDED_SIDE = 24
MIN_EMBEDDED_PIXELS = 4000
# OCR variants of a poor photo (rotated, denoised, ...) may take this share of
# a page's fair share of the remaining time budget.
OCR_EXTRA_SHARE = 0.6


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
