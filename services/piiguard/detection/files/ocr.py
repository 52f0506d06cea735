"""OCR: Tesseract (the ``tesseract-ocr`` system package) through pytesseract.

Chosen over RapidOCR (ONNX models in its wheel) by measurement on the generated
test set — see docs/files.md. Tesseract runs as its own process (pytesseract
spawns ``tesseract``), with a timeout, single-threaded (``OMP_THREAD_LIMIT=1``):
on a shared two-core machine one thread per page is faster than contention.
"""

from __future__ import annotations

import itertools
import os
import subprocess

from PIL import Image, ImageOps

from piiguard.detection.files.limits import Unscannable

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

# Screenshots at 1x have ~11-14 px text; Tesseract is most accurate around
# 25-35 px, so small images are scaled up before OCR (measured: docs/files.md).
TARGET_MIN_WIDTH = 1800
MAX_UPSCALE = 2.5
MAX_OCR_PIXELS = 40_000_000


def available() -> bool:
    try:
        import pytesseract

        pytesseract.get_tesseract_version()
    except Exception:
        return False
    return True


def prepare(image: Image.Image) -> Image.Image:
    """Grayscale, upscaled when small, flattened onto white when transparent."""
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    gray = image.convert("L")
    width, height = gray.size
    if width < TARGET_MIN_WIDTH:
        scale = min(MAX_UPSCALE, TARGET_MIN_WIDTH / max(width, 1))
        if (width * scale) * (height * scale) <= MAX_OCR_PIXELS:
            gray = gray.resize((round(width * scale), round(height * scale)), Image.Resampling.LANCZOS)
    # Light text on a dark background (dark-mode screenshots) reads better inverted.
    histogram = gray.histogram()
    dark = sum(histogram[:128])
    if dark > sum(histogram[128:]):
        gray = ImageOps.invert(gray)
    return gray


# A gap between two words wider than this share of the line's word height is a
# column break (a table, a spreadsheet): it becomes a tab, so numbers in
# neighbouring columns do not read as one long number.
COLUMN_GAP = 0.9


def ocr(image: Image.Image, timeout: float) -> str:
    """The text Tesseract reads in ``image``; ``Unscannable`` if it overruns ``timeout``."""
    import pytesseract

    if timeout <= 0:
        raise Unscannable("time budget exceeded")
    try:
        data = pytesseract.image_to_data(prepare(image), lang="eng", config="--psm 3",
                                         timeout=max(1.0, timeout), output_type=pytesseract.Output.DICT)
        return layout(data)
    except RuntimeError as exc:  # pytesseract: "Tesseract process timeout"
        if "timeout" in str(exc).lower():
            raise Unscannable("time budget exceeded") from None
        raise Unscannable("OCR failed") from None
    except (pytesseract.TesseractError, subprocess.SubprocessError, OSError):
        raise Unscannable("OCR failed") from None


def layout(data: dict[str, list]) -> str:
    """Tesseract's words (``image_to_data``) back into lines: words on a line joined
    by a space, or a tab across a column-wide gap; blocks separated by a blank line."""
    lines: dict[tuple[int, int, int], list[tuple[int, int, int, str]]] = {}
    for i, word in enumerate(data.get("text", [])):
        word = str(word).strip()
        if not word:
            continue
        key = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        lines.setdefault(key, []).append(
            (int(data["left"][i]), int(data["width"][i]), int(data["height"][i]), word)
        )
    out: list[str] = []
    previous_block = None
    for (block, _par, _line), words in sorted(lines.items()):
        if previous_block is not None and block != previous_block:
            out.append("")
        previous_block = block
        words.sort()
        heights = sorted(h for _, _, h, _ in words)
        height = heights[len(heights) // 2] or 1
        parts = [words[0][3]]
        for (left, width, _, _), (next_left, _, _, word) in itertools.pairwise(words):
            gap = next_left - (left + width)
            parts.append("\t" if gap > COLUMN_GAP * height else " ")
            parts.append(word)
        out.append("".join(parts))
    return "\n".join(out) + ("\n" if out else "")
