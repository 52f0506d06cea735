"""Image clean-up before OCR: what a photo or a poor screenshot needs so Tesseract
can read it.

Pure functions on Pillow images (numpy for the skew search). Each one fixes one
thing photos get wrong:

- ``grayscale``: transparency flattened onto white, one channel;
- ``stretch``: contrast stretched to the full range (grey text on grey paper);
- ``normalise_polarity``: light text on a dark background inverted, so text is
  always dark on light (Tesseract's training data);
- ``skew_angle`` / ``deskew``: the tilt of the text lines by projection profile
  (the angle at which the rows of ink are sharpest), up to ±``MAX_SKEW`` degrees;
- ``denoise`` / ``threshold``: median filter, 3x3 or a stronger 5x5 (JPEG
  blocks, sensor noise), Otsu's threshold;
- ``soften``: enlarged then Gaussian-blurred, for noise as strong as the contrast;
- ``upscale``: small text scaled towards the size Tesseract reads best.

Rotations by 90/180/270 degrees are Tesseract's orientation detection's job
(``ocr.orientation``): a projection profile cannot tell upside-down text.
"""

from __future__ import annotations

import math

from PIL import Image, ImageFilter, ImageOps

MAX_SKEW = 15.0  # degrees searched either way; beyond this it is a rotation, not a skew
MIN_SKEW = 0.4  # below this Tesseract copes and a rotation would only blur
SKEW_SAMPLE_WIDTH = 900  # the skew search runs on a copy this wide (speed)
CLEAR_STROKES = 1.5  # strokes one way this many times the other say the text's polarity
STRETCH_CUTOFF = 1.0  # percent of darkest / lightest pixels ignored when stretching


def grayscale(image: Image.Image) -> Image.Image:
    """One 8-bit channel; transparent areas become white (screenshots with alpha)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("L")


def stretch(gray: Image.Image) -> Image.Image:
    """Contrast stretched so the darkest ink is black and the paper white."""
    return ImageOps.autocontrast(gray, cutoff=STRETCH_CUTOFF)


def is_dark(gray: Image.Image) -> bool:
    """Whether the text is lighter than what surrounds it (dark mode, a white
    number embossed on a dark card).

    Judged by the strokes first: on a denoised copy, pixels much lighter than
    their neighbourhood against pixels much darker. Thin strokes are far from
    their local mean, the background next to them is not, and the edge of a
    dark desk around a light document counts both ways equally. When the
    strokes do not clearly say (few of them, or as many each way), the
    background decides: the larger side of Otsu's split.
    """
    histogram = gray.histogram()
    level = otsu_threshold(histogram)
    background_dark = sum(histogram[:level + 1]) > sum(histogram[level + 1:])
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy ships with spaCy
        return background_dark
    sample = denoise(_sample(gray))
    pixels = np.asarray(sample, dtype=np.int16)
    local = np.asarray(sample.filter(ImageFilter.BoxBlur(8)), dtype=np.int16)
    darker = int(np.count_nonzero(pixels < local - 40))
    lighter = int(np.count_nonzero(pixels > local + 40))
    if darker + lighter >= 200:
        if lighter > CLEAR_STROKES * darker:
            return True
        if darker > CLEAR_STROKES * lighter:
            return False
    return background_dark


def _sample(gray: Image.Image) -> Image.Image:
    """A copy at most ``SKEW_SAMPLE_WIDTH`` wide, for the cheap whole-image measures."""
    if gray.width <= SKEW_SAMPLE_WIDTH:
        return gray
    ratio = SKEW_SAMPLE_WIDTH / gray.width
    return gray.resize((SKEW_SAMPLE_WIDTH, max(1, round(gray.height * ratio))), Image.Resampling.BILINEAR)


def normalise_polarity(gray: Image.Image) -> Image.Image:
    """Dark text on a light background, whatever the source (dark mode inverted)."""
    return ImageOps.invert(gray) if is_dark(gray) else gray


def otsu_threshold(histogram: list[int]) -> int:
    """Otsu's threshold of a 256-bin histogram: the grey level that best splits
    ink from paper (maximal between-class variance)."""
    total = sum(histogram)
    if not total:
        return 127
    sum_all = sum(i * h for i, h in enumerate(histogram))
    weight_back = 0
    sum_back = 0.0
    best, best_level = -1.0, 127
    for level, count in enumerate(histogram):
        weight_back += count
        if weight_back == 0:
            continue
        weight_fore = total - weight_back
        if weight_fore == 0:
            break
        sum_back += level * count
        mean_back = sum_back / weight_back
        mean_fore = (sum_all - sum_back) / weight_fore
        between = weight_back * weight_fore * (mean_back - mean_fore) ** 2
        if between > best:
            best, best_level = between, level
    return best_level


def denoise(gray: Image.Image, size: int = 3) -> Image.Image:
    """Median-filtered (``size`` x ``size``, odd): removes JPEG speckle and sensor
    noise, keeps stroke edges; 5 for heavy noise on low-contrast photos. Done at
    the source resolution, before upscaling enlarges the noise too."""
    return gray.filter(ImageFilter.MedianFilter(size))


SOFTEN_FACTOR = 2.0  # the image is enlarged this much before the blur...
SOFTEN_RADIUS = 2.5  # ...of this Gaussian radius, in pixels of the enlarged image


def soften(gray: Image.Image, max_pixels: int) -> Image.Image:
    """Enlarged, then Gaussian-blurred: grey text on grey paper under sensor noise,
    where the noise is as strong as the contrast and a median filter keeps specks
    that turn one digit into another. The blur averages each stroke with the
    noise around it; enlarging first keeps the strokes wider than the blur
    (measured on the low-contrast photos: docs/files.md)."""
    larger = upscale(gray, SOFTEN_FACTOR, max_pixels)
    return larger.filter(ImageFilter.GaussianBlur(SOFTEN_RADIUS))


def threshold(gray: Image.Image) -> Image.Image:
    """Pure black text on pure white, split at Otsu's threshold."""
    level = otsu_threshold(gray.histogram())
    return gray.point(lambda v: 255 if v > level else 0)


def skew_angle(gray: Image.Image) -> float:
    """The tilt of the text lines in degrees (counter-clockwise positive), or 0.0
    when there is no clear answer.

    Projection profile: the ink pixels are projected onto the vertical axis at
    each candidate angle; at the text's own angle the lines fall into few rows
    and the gaps into empty ones, so the sum of squared row counts peaks.
    Coarse search in 1° steps, then 0.1° around the best.
    """
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy ships with spaCy
        return 0.0
    sample = _sample(gray)
    pixels = np.asarray(sample, dtype=np.int16)
    # Ink: clearly darker than its neighbourhood (robust to shading and a desk
    # around the document, where a global threshold would call the desk ink).
    local = np.asarray(sample.filter(ImageFilter.BoxBlur(8)), dtype=np.int16)
    ys, xs = np.nonzero(pixels < local - 24)
    if len(ys) < 200:
        return 0.0
    ys = ys.astype(np.float64)
    xs = xs.astype(np.float64)
    height = sample.height + sample.width  # room for every projected row

    def sharpness(angle: float) -> float:
        theta = math.radians(angle)
        rows = (ys * math.cos(theta) + xs * math.sin(theta) + sample.width).astype(np.int64)
        counts = np.bincount(rows, minlength=height + sample.width)
        return float(np.dot(counts, counts))

    coarse = [float(a) for a in range(-int(MAX_SKEW), int(MAX_SKEW) + 1)]
    scores = {a: sharpness(a) for a in coarse}
    best = max(scores, key=lambda a: scores[a])
    fine = [best + step / 10 for step in range(-10, 11)]
    scores.update({a: sharpness(a) for a in fine})
    best = max(scores, key=lambda a: scores[a])
    # A flat profile (no lines: a photo, a logo) has no meaningful peak.
    baseline = sorted(scores[a] for a in coarse)[len(coarse) // 2]
    if scores[best] < baseline * 1.15:
        return 0.0
    # Image rows grow downwards, so a line rising to the right (a
    # counter-clockwise tilt) projects sharpest at a positive angle.
    return best if abs(best) >= MIN_SKEW else 0.0


def deskew(gray: Image.Image, angle: float) -> Image.Image:
    """``gray`` rotated by ``-angle`` so its text lines are level; corners white."""
    if not angle:
        return gray
    return gray.rotate(-angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


def rotate(gray: Image.Image, degrees: int) -> Image.Image:
    """A quarter-turn rotation (counter-clockwise), lossless."""
    turns = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
             270: Image.Transpose.ROTATE_270}
    return gray.transpose(turns[degrees % 360]) if degrees % 360 in turns else gray


def upscale(gray: Image.Image, factor: float, max_pixels: int) -> Image.Image:
    """``gray`` enlarged by ``factor``, at most to ``max_pixels``; unchanged if ≤ 1."""
    factor = min(factor, math.sqrt(max_pixels / max(gray.width * gray.height, 1)))
    if factor <= 1.05:
        return gray
    return gray.resize((round(gray.width * factor), round(gray.height * factor)),
                       Image.Resampling.LANCZOS)
