"""OCR: Tesseract (the ``tesseract-ocr`` system package) through pytesseract.

Chosen over RapidOCR (ONNX models in its wheel) by measurement on the generated
test set — see docs/files.md. Tesseract runs as its own process (pytesseract
spawns ``tesseract``), with a timeout, single-threaded (``OMP_THREAD_LIMIT=1``):
on a shared two-core machine one thread per page is faster than contention.

Photos are not screenshots: light text on dark, grey on grey, tilted, upside
down, small, full of JPEG noise. ``read`` therefore reads an image as a small
number of *variants* and keeps the good readings:

1. **base**: grayscale, contrast stretched, dark mode inverted, deskewed by
   projection profile, small images upscaled. A clean screenshot stops here
   (confident words of a readable size: one Tesseract run, as before).
2. **upscaled**: when the words read are small (< ``SMALL_TEXT_PX``) but read
   with some confidence, the image scaled so text is ~``TARGET_TEXT_PX`` high.
3. **rotated**: when the reading looks turned (low confidence, or words taller
   than wide), Tesseract's orientation detection (OSD) is asked for a
   90/180/270° turn, and the turned image read. On a reading that is mere
   noise this waits until after the denoised variant (OSD guesses on noise).
4. **denoised**: median filter at the source resolution, then as base.
5. **smoothed**: a stronger (5x5) median filter, then as base: grey text on
   grey paper under sensor noise, where a 3x3 median leaves the speckle that
   turns a stroke of a digit into another digit.
6. **softened**: enlarged 2x, then a Gaussian blur, then as base: when the noise
   is as strong as the contrast, even a 5x5 median keeps the specks that turn an
   ``8`` into a ``5``; a blur on the enlarged strokes averages them away.
7. **binarised**: denoised, then Otsu's threshold.

A reading is good enough to stop only when its digit words are confident too:
a page whose words read well but whose numbers do not (a ``3`` for a ``5`` in
a card number) goes on through the variants while the budget lasts.

Variants beyond the base one run only within ``extra_time`` (the page's share of the file's
time budget) and ``MAX_VARIANT_PIXELS``. Every reading whose confident content
comes near the best one is kept; detection scans each (a value read right in
any of them counts, and the scanner counts a value read twice once).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps

from piiguard.detection.files import preprocess
from piiguard.detection.files.limits import Unscannable

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

# Screenshots at 1x have ~11-14 px text; Tesseract is most accurate around
# 25-35 px, so small images are scaled up before OCR (measured: docs/files.md).
TARGET_MIN_WIDTH = 1800
MAX_UPSCALE = 2.5
MAX_OCR_PIXELS = 40_000_000
# A variant is never larger than this (a photo's variants cost time, not recall).
MAX_VARIANT_PIXELS = 12_000_000
# A reading is good enough to stop when its words average this confidence...
GOOD_CONFIDENCE = 85.0
# ...and are at least this tall (median height in pixels of the image read).
SMALL_TEXT_PX = 14
TARGET_TEXT_PX = 32
MAX_TEXT_UPSCALE = 4.0
# Below this mean confidence (or with vertical words) orientation is asked for.
TURN_BELOW_CONFIDENCE = 60.0
# A reading below this mean confidence is noise (denoised before anything else);
# small text is only enlarged when read at least this well (enlarging noise is
# slow and reads nothing).
NOISE_CONFIDENCE = 20.0
TEXT_CONFIDENCE = 50.0
# Tesseract's orientation answer is trusted above this confidence.
OSD_MIN_CONFIDENCE = 1.0
# A reading's words holding digits must average this confidence for it to be good
# (the numbers are what detection needs; prose may read well while they do not).
DIGIT_CONFIDENCE = 90.0
# Other readings are kept when their confident characters reach this share of
# the best reading's (a wrong orientation reads as low-confidence garbage).
KEEP_SHARE = 0.5


def available() -> bool:
    try:
        import pytesseract

        pytesseract.get_tesseract_version()
    except Exception:
        return False
    return True


@dataclass(frozen=True)
class Reading:
    """One variant's text and how well Tesseract read it."""

    variant: str  # base | rotated | denoised | smoothed | softened | binarised | upscaled
    text: str
    score: float  # confident characters: sum of len(word) x confidence over words
    confidence: float  # mean word confidence (0-100); 0 when no word was read
    word_height: int  # median word height in pixels of the image read; 0 when none
    vertical: bool = False  # most words taller than wide: text turned by 90 degrees
    digit_confidence: float = 100.0  # mean confidence of words with 2+ digits (100: none)

    @property
    def good(self) -> bool:
        return (self.confidence >= GOOD_CONFIDENCE and self.word_height >= SMALL_TEXT_PX
                and not self.vertical and self.digit_confidence >= DIGIT_CONFIDENCE)


@dataclass(frozen=True)
class _Source:
    """The image to read and the geometry found on it, from which every variant
    is built the same way (so a rotation found once applies to all)."""

    gray: Image.Image  # grayscale, already turned upright by ``turn``
    skew: float  # degrees, measured on ``gray``
    turn: int = 0

    @classmethod
    def of(cls, gray: Image.Image, turn: int = 0) -> _Source:
        upright = preprocess.rotate(gray, turn)
        level = preprocess.normalise_polarity(preprocess.stretch(upright))
        return cls(upright, preprocess.skew_angle(level), turn)

    def build(self, *, denoise: bool = False, threshold: bool = False,
              strong: bool = False, soften: bool = False) -> Image.Image:
        gray = self.gray
        if soften:
            gray = preprocess.soften(_fit(gray), MAX_VARIANT_PIXELS)
        elif denoise:  # before anything scales the noise up with the text
            # a variant is never larger than MAX_VARIANT_PIXELS
            gray = preprocess.denoise(_fit(gray), size=5 if strong else 3)
        gray = preprocess.normalise_polarity(preprocess.stretch(gray))
        gray = preprocess.deskew(gray, self.skew)
        gray = _upscale_small(gray, MAX_VARIANT_PIXELS if denoise or threshold or soften
                              else MAX_OCR_PIXELS)
        if threshold:
            gray = preprocess.threshold(gray)
        return gray


def _upscale_small(gray: Image.Image, max_pixels: int) -> Image.Image:
    width, height = gray.size
    if width < TARGET_MIN_WIDTH:
        scale = min(MAX_UPSCALE, TARGET_MIN_WIDTH / max(width, 1))
        if (width * scale) * (height * scale) <= max_pixels:
            gray = gray.resize((round(width * scale), round(height * scale)), Image.Resampling.LANCZOS)
    return gray


def prepare(image: Image.Image) -> Image.Image:
    """The base variant's image: grayscale, stretched, dark text on light, level,
    upscaled when small."""
    return _source(image).build()


def _source(image: Image.Image) -> _Source:
    return _Source.of(preprocess.grayscale(image))


def prepare_plain(image: Image.Image) -> Image.Image:
    """The image as read before the photo variants existed (grayscale, upscaled
    when small, dark mode inverted): the baseline ``bench/files.py`` compares with."""
    gray = _upscale_small(preprocess.grayscale(image), MAX_OCR_PIXELS)
    histogram = gray.histogram()
    return ImageOps.invert(gray) if sum(histogram[:128]) > sum(histogram[128:]) else gray


def ocr(image: Image.Image, timeout: float) -> str:
    """The base reading of ``image`` only; ``Unscannable`` if it overruns ``timeout``."""
    return _read(prepare(image), "base", timeout).text


def read(image: Image.Image, timeout: float, extra_time: float = 0.0, *,
         variants: bool = True) -> list[Reading]:
    """The good readings of ``image``, best first (at least the base reading).

    ``timeout``: what the whole call may take (the file's remaining budget);
    ``extra_time``: how long variants beyond the base one may take in all;
    ``variants=False``: the plain reading only (the benchmark's baseline).
    """
    if not variants:
        return [_read(prepare_plain(image), "plain", timeout)]
    called = time.monotonic()
    source = _source(image)
    base_image = source.build()
    readings = [_read(base_image, "base", timeout)]
    extras_from = time.monotonic()

    def room() -> float:
        now = time.monotonic()
        return min(extra_time - (now - extras_from), timeout - (now - called))

    best_image, best = base_image, readings[0]

    def consider(gray: Image.Image, variant: str) -> bool:
        nonlocal best_image, best
        reading = _try(gray, variant, room())
        if reading is None:
            return False
        readings.append(reading)
        if reading.score > best.score and not reading.vertical:
            best_image, best = gray, reading
            return True
        return False

    def small(reading: Reading) -> bool:
        return 0 < reading.word_height < SMALL_TEXT_PX

    def enlarge() -> None:
        factor = min(MAX_TEXT_UPSCALE, TARGET_TEXT_PX / best.word_height)
        larger = preprocess.upscale(best_image, factor, MAX_VARIANT_PIXELS)
        if larger is not best_image:
            consider(larger, "upscaled")

    def poorly_turned(reading: Reading) -> bool:
        return reading.vertical or 0 < reading.confidence < TURN_BELOW_CONFIDENCE

    turn_tried = False

    def try_turn() -> None:
        nonlocal source, turn_tried
        turn_tried = True
        turn = orientation(best_image, room())
        if turn:
            turned = _Source.of(source.gray, turn)
            if consider(turned.build(denoise=best.variant == "denoised"), "rotated"):
                source = turned

    # Small but confidently read text first: it is why a clean screenshot reads poorly.
    if small(best) and best.confidence >= TEXT_CONFIDENCE and room() > 0:
        enlarge()
    # Upside-down or sideways text reads as words of some confidence, or as
    # words taller than wide. Noise reads as near-zero confidence: denoise
    # first then, since orientation detection on noise guesses.
    if poorly_turned(best) and best.confidence >= NOISE_CONFIDENCE and room() > 0:
        try_turn()
    if not best.good and room() > 0:
        consider(source.build(denoise=True), "denoised")
    if not turn_tried and poorly_turned(best) and room() > 0:
        try_turn()
    if not best.good and room() > 0:
        consider(source.build(denoise=True, strong=True), "smoothed")
    if not best.good and room() > 0:
        consider(source.build(soften=True), "softened")
    if not best.good and room() > 0:
        consider(source.build(denoise=True, threshold=True), "binarised")
    if small(best) and best.variant != "upscaled" and best.confidence >= TEXT_CONFIDENCE and room() > 0:
        enlarge()
    return _keep(readings)


def _keep(readings: list[Reading]) -> list[Reading]:
    ranked = sorted(readings, key=lambda r: (r.vertical, -r.score))
    top = ranked[0].score
    kept: list[Reading] = []
    texts: set[str] = set()
    for reading in ranked:
        if reading is not ranked[0] and (reading.score < KEEP_SHARE * top or reading.vertical):
            continue
        if reading.text in texts:
            continue
        texts.add(reading.text)
        kept.append(reading)
    return kept


def _fit(gray: Image.Image) -> Image.Image:
    """``gray`` scaled down to ``MAX_VARIANT_PIXELS`` when larger."""
    pixels = gray.width * gray.height
    if pixels <= MAX_VARIANT_PIXELS:
        return gray
    ratio = (MAX_VARIANT_PIXELS / pixels) ** 0.5
    return gray.resize((round(gray.width * ratio), round(gray.height * ratio)), Image.Resampling.LANCZOS)


def orientation(gray: Image.Image, timeout: float) -> int:
    """Degrees to turn ``gray`` counter-clockwise so its text is upright (0, 90,
    180, 270), by Tesseract's OSD; 0 when it cannot tell (too little text)."""
    import pytesseract

    if timeout <= 0.2:
        return 0
    try:
        answer = pytesseract.image_to_osd(_fit(gray), config="--psm 0", timeout=max(1.0, timeout),
                                          output_type=pytesseract.Output.DICT)
    except (RuntimeError, pytesseract.TesseractError, subprocess.SubprocessError, OSError):
        return 0
    try:
        rotate = int(answer.get("rotate", 0)) % 360
        confidence = float(answer.get("orientation_conf", 0.0))
    except (TypeError, ValueError):
        return 0
    if confidence < OSD_MIN_CONFIDENCE or rotate not in (90, 180, 270):
        return 0
    # OSD's "rotate" is clockwise; ``preprocess.rotate`` turns counter-clockwise.
    return (360 - rotate) % 360


def _try(gray: Image.Image, variant: str, timeout: float) -> Reading | None:
    """A variant's reading, or None when it ran out of time (the base one stands)."""
    if timeout <= 0.2:
        return None
    try:
        return _read(gray, variant, timeout)
    except Unscannable:
        return None


def _read(gray: Image.Image, variant: str, timeout: float) -> Reading:
    import pytesseract

    if timeout <= 0:
        raise Unscannable("time budget exceeded")
    try:
        data = pytesseract.image_to_data(gray, lang="eng", config="--psm 3",
                                         timeout=max(1.0, timeout), output_type=pytesseract.Output.DICT)
    except RuntimeError as exc:  # pytesseract: "Tesseract process timeout"
        if "timeout" in str(exc).lower():
            raise Unscannable("time budget exceeded") from None
        raise Unscannable("OCR failed") from None
    except (pytesseract.TesseractError, subprocess.SubprocessError, OSError):
        raise Unscannable("OCR failed") from None
    return _reading(variant, data)


def _reading(variant: str, data: dict[str, list[Any]]) -> Reading:
    words = [(str(w).strip(), float(c), int(h), int(wd))
             for w, c, h, wd in zip(data.get("text", []), data.get("conf", []), data.get("height", []),
                                    data.get("width", []), strict=False)
             if str(w).strip()]
    confidences = [max(0.0, c) for _, c, _, _ in words]
    heights = sorted(h for _, _, h, _ in words)
    long_words = [(h, wd) for w, _, h, wd in words if len(w) >= 3]
    tall = sum(1 for h, wd in long_words if h > wd)
    digit_words = [max(0.0, c) for w, c, _, _ in words if sum(ch.isdigit() for ch in w) >= 2]
    return Reading(
        variant=variant,
        text=layout(data),
        score=sum(len(w) * max(0.0, c) / 100 for w, c, _, _ in words),
        confidence=sum(confidences) / len(confidences) if confidences else 0.0,
        word_height=heights[len(heights) // 2] if heights else 0,
        vertical=bool(long_words) and tall * 2 > len(long_words),
        digit_confidence=sum(digit_words) / len(digit_words) if digit_words else 100.0,
    )


# A gap between two words wider than this share of the line's word height is a
# column break (a table, a spreadsheet): it becomes a tab, so numbers in
# neighbouring columns do not read as one long number.
COLUMN_GAP = 0.9


def layout(data: dict[str, list[Any]]) -> str:
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
