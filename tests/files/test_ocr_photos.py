"""OCR that survives photos: each photo class read end to end by the real
Tesseract (generated images, small), the image clean-up steps on their own, and
the letter-for-digit mapping that only checksums may confirm."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from piiguard.detection.engine import DetectionEngine
from piiguard.detection.files import ocr, preprocess
from piiguard.detection.files.extract import PageText, extract
from piiguard.detection.files.limits import Limits
from piiguard.detection.files.ocr_text import canonical, digit_variant, scan_pages
from tests.files import samples

from .conftest import requires_tesseract


def found(engine: DetectionEngine, data: bytes, **options: bool) -> set[str]:
    result = extract(data, Limits(), ocr_variants=options.get("variants", True))
    assert not result.reason, result.reason
    pages = scan_pages(engine, result.texts, digit_variants=options.get("mapping", True))
    return {f.entity_type for page in pages for f in page.findings}


# ---- every photo class, end to end ----------------------------------------------------


@requires_tesseract
@pytest.mark.parametrize("sample", samples.photo_set(), ids=lambda s: s.name)
def test_photo_classes_found_and_look_alikes_clean(engine: DetectionEngine, sample: samples.Sample) -> None:
    assert found(engine, sample.data) == set(sample.kinds)


@requires_tesseract
def test_upside_down_photo_needs_the_rotation(engine: DetectionEngine) -> None:
    """The plain reading of an upside-down card finds nothing; the variants do."""
    data = samples.photo_image("rotated-180", ["Corporate card", f"Card number {samples.CARD}"])
    assert found(engine, data, variants=False) == set()
    readings = ocr.read(Image.open(io.BytesIO(data)), timeout=60, extra_time=30)
    assert readings[0].variant == "rotated"
    assert found(engine, data) == {"CREDIT_CARD"}


@requires_tesseract
def test_sideways_text_is_turned(engine: DetectionEngine) -> None:
    for angle in (90, 270):
        image = samples.document(["Corporate card", f"Card number {samples.CARD2}"])
        image = image.rotate(angle, expand=True)
        assert found(engine, samples.encode(image, "PNG")) == {"CREDIT_CARD"}, angle


@requires_tesseract
def test_first_digit_read_as_a_letter_is_caught_by_the_mapping(engine: DetectionEngine) -> None:
    data = samples.photo_image("look-alike-digit", ["Card number " + samples.CARD2_LOOKALIKE])
    assert found(engine, data, mapping=False) == set()
    assert found(engine, data) == {"CREDIT_CARD"}


@requires_tesseract
def test_noise_as_strong_as_the_contrast_is_softened(engine: DetectionEngine) -> None:
    """Grey on grey under sensor noise: every median-filtered variant misreads a
    digit of this card (an 8 for a 5); the enlarged, blurred one reads it right."""
    card = "5147 2576 7952 0113"
    data = samples.photo_image("low-contrast", ["Corporate card", f"Card number {card}",
                                                "Valid thru 04/28"])
    readings = ocr.read(Image.open(io.BytesIO(data)), timeout=60, extra_time=30)
    right = [r.variant for r in readings if canonical(card) in canonical(r.text)]
    assert right == ["softened"]
    assert found(engine, data) == {"CREDIT_CARD"}


def test_soften_enlarges_within_the_pixel_bound() -> None:
    gray = Image.new("L", (400, 100), 170)
    assert preprocess.soften(gray, 10_000_000).size == (800, 200)
    assert preprocess.soften(gray, 40_000).size == (400, 100)  # no room: blurred only


@requires_tesseract
def test_no_time_for_variants_keeps_the_base_reading() -> None:
    data = samples.photo_image("rotated-180", ["Card number " + samples.CARD])
    readings = ocr.read(Image.open(io.BytesIO(data)), timeout=60, extra_time=0)
    assert [r.variant for r in readings] == ["base"]


@requires_tesseract
def test_clean_screenshot_is_read_once() -> None:
    image = samples.document(["Quarterly planning", "Owner: Dana Whitfield"], size=(900, 200), font_size=26)
    readings = ocr.read(image, timeout=60, extra_time=30)
    assert [r.variant for r in readings] == ["base"] and readings[0].good


# ---- image clean-up -------------------------------------------------------------------


def _lines_image(angle: float = 0.0, dark: bool = False) -> Image.Image:
    bg, fg = (0, 235) if dark else (245, 20)
    image = Image.new("L", (800, 300), bg)
    draw = ImageDraw.Draw(image)
    for row in range(5):
        draw.text((40, 30 + row * 50), "Lorem ipsum dolor sit amet 1234 5678", fill=fg, font=samples.font(26))
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=bg)


@pytest.mark.parametrize("angle", [-9.0, -5.0, 0.0, 3.0, 7.5])
def test_skew_angle_by_projection_profile(angle: float) -> None:
    assert preprocess.skew_angle(_lines_image(angle)) == pytest.approx(angle, abs=0.6)


def test_skew_of_a_blank_image_is_zero() -> None:
    assert preprocess.skew_angle(Image.new("L", (600, 400), 200)) == 0.0


def test_polarity() -> None:
    assert preprocess.is_dark(_lines_image(dark=True))
    assert not preprocess.is_dark(_lines_image())
    # A light document on a dark desk that covers most of the photo: the text is dark.
    desk = Image.new("L", (1400, 900), 40)
    desk.paste(_lines_image(), (300, 300))
    assert not preprocess.is_dark(desk)
    assert preprocess.normalise_polarity(_lines_image(dark=True)).getpixel((5, 5)) == 255


def test_otsu_threshold_splits_two_levels() -> None:
    histogram = [0] * 256
    histogram[40], histogram[200] = 1000, 9000
    assert 40 <= preprocess.otsu_threshold(histogram) < 200


def test_stretch_and_threshold() -> None:
    grey = Image.new("L", (100, 40), 150)
    ImageDraw.Draw(grey).rectangle((10, 10, 50, 30), fill=120)
    stretched = preprocess.stretch(grey)
    assert stretched.getextrema() == (0, 255)
    binary = preprocess.threshold(preprocess.denoise(grey))
    assert binary.getextrema() == (0, 255) and not any(binary.histogram()[1:255])


def test_upscale_is_bounded_by_pixels() -> None:
    image = Image.new("L", (1000, 1000), 255)
    assert preprocess.upscale(image, 4.0, 4_000_000).size == (2000, 2000)
    assert preprocess.upscale(image, 1.0, 4_000_000) is image


# ---- letter-for-digit mapping ---------------------------------------------------------


def test_mapping_in_digit_contexts_only() -> None:
    variant = digit_variant("Card A539 l488 O343 6467, Order: SOLD, IBAN DE89 37O4")
    assert variant is not None
    assert variant.text == "Card 4539 1488 0343 6467, Order: SOLD, IBAN DE89 3704"
    assert digit_variant("Is it OS or BIOS? Sold out.") is None
    assert digit_variant("number'4539 1488") is None  # nothing to rewrite
    # A check letter at the end of a short id is a letter (a DNI, an NIE).
    assert digit_variant("DNI 12345678Z, NIE X1234567L") is None
    # a lower-case a read for a 4, in a digit group only ("a" the word stays)
    variant = digit_variant("Card number 5366 3144 4294 a1 72")
    assert variant is not None and variant.text == "Card number 5366 3144 4294 41 72"
    assert digit_variant("that is a card, a plan and a half") is None


def test_mapping_keeps_offsets_into_the_original() -> None:
    text = "Card: 4539. 1488 0343 646B)"
    variant = digit_variant(text)
    assert variant is not None and variant.text == "Card: 4539 1488 0343 6468)"
    start = variant.text.index("4539")
    end = variant.text.index("6468") + 4
    assert variant.original_span(start, end) == (text.index("4539"), text.index("646B") + 4)
    assert variant.touches_change(start, end) and not variant.touches_change(0, 4)


def _ocr_page(text: str, page: int = 1) -> PageText:
    return PageText(page, text, "ocr")


def _kinds(engine: DetectionEngine, *texts: PageText) -> list[str]:
    return [f.entity_type for page in scan_pages(engine, list(texts)) for f in page.findings]


def test_mapped_card_and_iban_are_found_with_original_offsets(engine: DetectionEngine) -> None:
    text = f"Corporate card\nCard number {samples.CARD_LOOKALIKE}\nValid thru 04/28\n"
    [page] = scan_pages(engine, [_ocr_page(text)])
    [finding] = page.findings
    assert finding.entity_type == "CREDIT_CARD"
    assert text[finding.start:finding.end] == samples.CARD_LOOKALIKE
    assert _kinds(engine, _ocr_page("Paid to IBAN DE89 37O4 OO44 O532 O13O OO")) == ["IBAN_CODE"]
    # Compact, glued to its country code: the engine's registry-aware repair.
    assert _kinds(engine, _ocr_page("IBAN DE8937O4OO44O532O13OOO")) == ["IBAN_CODE"]
    # "$" for a 5: a photo's reading of a Mastercard.
    assert _kinds(engine, _ocr_page("Card number $425 2334 3010 9903")) == ["CREDIT_CARD"]


def test_mapping_never_reports_what_no_checksum_confirms(engine: DetectionEngine) -> None:
    # 16 digits that fail Luhn, with look-alike letters.
    assert _kinds(engine, _ocr_page(f"Card number {samples.NOT_A_CARD}")) == []
    # An SSN has no check digit: the mapping adds nothing to what the text as
    # read gives (whatever the engine itself makes of it).
    for text in ("SSN 536-22-847l", "SSN S36-ZZ-847l", "call +1 (4l5) SSS-0l99"):
        as_read = scan_pages(engine, [_ocr_page(text)], digit_variants=False)
        assert _kinds(engine, _ocr_page(text)) == [f.entity_type for p in as_read for f in p.findings]
    # Look-alikes in an id that is not a number at all.
    assert _kinds(engine, _ocr_page("Serial SOLD-B00K-IS0S build 12 passed")) == []


def test_mapping_applies_to_ocr_text_only(engine: DetectionEngine) -> None:
    # (The engine's own checksum-vouched repair applies to every text; the OCR
    # rewrite — "$" for 5, specks — to OCR readings only.)
    for text in ("Card number $425 2334 3010 9903", "Card number 4539. 1488 0343 6467"):
        assert _kinds(engine, PageText(0, text, "text")) == []
        assert _kinds(engine, _ocr_page(text)) == ["CREDIT_CARD"]


def test_one_value_read_twice_on_a_page_counts_once(engine: DetectionEngine) -> None:
    readings = [_ocr_page(f"Card {samples.CARD}"), _ocr_page(f"Card number {samples.CARD_LOOKALIKE}.")]
    assert _kinds(engine, *readings) == ["CREDIT_CARD"]
    # On two pages it is two findings; twice in one reading, twice.
    assert _kinds(engine, _ocr_page(f"Card {samples.CARD}", 1), _ocr_page(f"Card {samples.CARD}", 2)) == \
        ["CREDIT_CARD", "CREDIT_CARD"]
    assert _kinds(engine, _ocr_page(f"Card {samples.CARD}\nagain: card {samples.CARD}")) == \
        ["CREDIT_CARD", "CREDIT_CARD"]


def test_canonical_value() -> None:
    assert canonical("A539 1488-O343") == canonical("4539 1488 0343") == "453914880343"


def _data(words: list[tuple[str, float]]) -> dict[str, list[object]]:
    return {"text": [w for w, _ in words], "conf": [c for _, c in words],
            "height": [30] * len(words), "width": [20 * len(w) for w, _ in words],
            "block_num": [1] * len(words), "par_num": [1] * len(words),
            "line_num": [1] * len(words), "left": [i * 200 for i in range(len(words))]}


def test_a_reading_is_good_only_when_its_numbers_read_well() -> None:
    """Prose read confidently with a number read poorly (a 3 for a 5) is not a good
    reading: the variants go on while the budget lasts."""
    prose = [("Corporate", 96.0), ("card", 95.0), ("number", 96.0)]
    confident = ocr._reading("base", _data([*prose, ("5545", 95.0), ("8833", 93.0)]))
    doubtful = ocr._reading("base", _data([*prose, ("5545", 95.0), ("3367", 41.0)]))
    no_numbers = ocr._reading("base", _data(prose))
    assert confident.good and no_numbers.good
    assert doubtful.confidence >= ocr.GOOD_CONFIDENCE - 15 and not doubtful.good
    assert doubtful.digit_confidence < ocr.DIGIT_CONFIDENCE


def test_strong_median_removes_heavier_speckle() -> None:
    """A 3x3 clump of noise survives the 3x3 median; the 5x5 one removes it."""
    image = Image.new("L", (40, 40), 200)
    for x in range(19, 22):
        for y in range(19, 22):
            image.putpixel((x, y), 0)
    assert preprocess.denoise(image).getpixel((20, 20)) == 0
    assert preprocess.denoise(image, size=5).getpixel((20, 20)) == 200
