"""Test files, generated: screenshots and photos (Pillow, DejaVu Sans from the
``fonts-dejavu-core`` system package, or Pillow's own font), PDFs (fpdf2),
text files, and hostile files (a corrupt PNG, a zip bomb named ``.png``, a PNG
decompression bomb, a 200-page PDF).

Each ``Sample`` says what a scan must find in it (``kinds``), so the tests and
``bench/files.py`` share one generated set. The planted values are test values
(a Luhn-valid card number, an SSN in a valid range, the IBAN from the IBAN
spec's example, a made-up AWS key pair).
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

CARD = "4539 1488 0343 6467"
SSN = "536-22-8471"
IBAN = "DE89 3704 0044 0532 0130 00"
AWS_KEY = "AKIAZ7QH3KXW5RT2LMNP"
AWS_SECRET = "q8Vd2LrT0xK4mZ9nB7wY1cF5hJ3sG6pA8eU2iO4t"
PLANTED = (CARD, SSN, IBAN, AWS_KEY, AWS_SECRET, CARD.replace(" ", ""), IBAN.replace(" ", ""))

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")


@dataclass(frozen=True)
class Sample:
    name: str
    data: bytes
    mimetype: str
    kinds: frozenset[str]  # what a scan must find; empty: clean
    pages: int = 1  # images and PDF pages, for throughput
    group: str = ""  # the photo class (``photo_set``), for per-class figures


@cache
def font_path(bold: bool = False) -> str | None:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in FONT_DIRS:
        if (Path(folder) / name).exists():
            return str(Path(folder) / name)
    return None


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = font_path(bold)
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)  # Pillow's bundled scalable font


# ---- images -------------------------------------------------------------------------


def screenshot(lines: list[str], *, size: tuple[int, int] = (1280, 720), font_size: int = 14,
               dark: bool = False) -> Image.Image:
    """A UI-like screenshot: a sidebar, a header bar, rows of text at screen size."""
    bg, fg, bar = ((30, 31, 34), (220, 221, 222), (52, 55, 60)) if dark else \
        ((255, 255, 255), (29, 28, 29), (245, 245, 247))
    image = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 220, size[1]), fill=(63, 14, 64))
    for i, channel in enumerate(("# general", "# payroll", "# random", "# eng-ops")):
        draw.text((16, 60 + 28 * i), channel, fill=(220, 200, 220), font=font(font_size))
    draw.rectangle((220, 0, size[0], 44), fill=bar)
    draw.text((236, 12), "Employee records - Sheet1", fill=fg, font=font(font_size + 2, bold=True))
    y = 70
    for line in lines:
        draw.text((240, y), line, fill=fg, font=font(font_size))
        y += int(font_size * 1.9)
    return image


def photo(lines: list[str], *, angle: float = 2.0, noise: int = 18, font_size: int = 30,
          blur: float = 0.6, seed: int = 7) -> Image.Image:
    """A photo of a document: off-white card on a darker desk, rotated, noisy, soft."""
    rng = random.Random(seed)
    card = Image.new("RGB", (1000, 140 + len(lines) * int(font_size * 1.6)), (236, 232, 222))
    draw = ImageDraw.Draw(card)
    draw.text((40, 30), "UNITED STATES", fill=(40, 40, 90), font=font(font_size + 6, bold=True))
    y = 100
    for line in lines:
        draw.text((40, y), line, fill=(30, 30, 30), font=font(font_size))
        y += int(font_size * 1.6)
    desk = Image.new("RGB", (card.width + 160, card.height + 160), (92, 74, 60))
    desk.paste(card, (80, 80))
    desk = desk.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=(92, 74, 60))
    pixels = desk.load()
    assert pixels is not None
    for _ in range(desk.width * desk.height // 6):
        x, y = rng.randrange(desk.width), rng.randrange(desk.height)
        r, g, b = pixels[x, y]
        d = rng.randint(-noise, noise)
        pixels[x, y] = (max(0, min(255, r + d)), max(0, min(255, g + d)), max(0, min(255, b + d)))
    return desk.filter(ImageFilter.GaussianBlur(blur))


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


SCREENSHOT_PII = ["Name            Card number               Expiry",
                  f"Dana Whitfield  Card: {CARD}     04/28",
                  "Status: approved, payment pending review"]
RECEIPT_CLEAN = ["RECEIPT  #004417", "2x Flat white          7.80", "1x Croissant           3.20",
                 "Paid by card  **** 1234", "Total                 11.00", "Thank you!"]
SSN_CARD = ["SOCIAL SECURITY", f"SSN {SSN}", "ESTHER MORALES"]
CLEAN_CARD = ["LIBRARY CARD", "Member since 2019", "ESTHER MORALES"]


def screenshot_png(quality: str = "high") -> bytes:
    if quality == "high":
        return encode(screenshot(SCREENSHOT_PII, size=(2560, 1440), font_size=28), "PNG")
    return encode(screenshot(SCREENSHOT_PII, font_size=13), "PNG")


def ssn_photo_jpeg(quality: str = "high") -> bytes:
    if quality == "high":
        return encode(photo(SSN_CARD, angle=1.5, noise=12, blur=0.4), "JPEG", quality=88)
    return encode(photo(SSN_CARD, angle=3.0, noise=30, font_size=22, blur=0.9), "JPEG", quality=55)


def receipt_png(quality: str = "high") -> bytes:
    size, font_size = ((2560, 1440), 28) if quality == "high" else ((1280, 720), 13)
    return encode(screenshot(RECEIPT_CLEAN, size=size, font_size=font_size), "PNG")


def clean_photo_jpeg(quality: str = "high") -> bytes:
    if quality == "high":
        return encode(photo(CLEAN_CARD, angle=1.5, noise=12, blur=0.4), "JPEG", quality=88)
    return encode(photo(CLEAN_CARD, angle=3.0, noise=30, font_size=22, blur=0.9), "JPEG", quality=55)


# ---- photo-like images: one class per way a photo defeats plain OCR -------------------

# A Luhn-valid card whose first digit a photo turns into a look-alike letter
# (Tesseract reads an embossed "4" as "A", "5" as "S"): drawn as the letter, the
# way the OCR text comes out.
CARD_LOOKALIKE = "A539 1488 0343 6467"
CARD2 = "5425 2334 3010 9903"  # Luhn-valid Mastercard range
CARD2_LOOKALIKE = "S425 2334 3Ol0 99O3"
# 16 digits that fail Luhn, also drawn with look-alike letters: never a card.
NOT_A_CARD = "4S39 l488 O343 6468"
NOT_A_CARD_PLAIN = "4539 1488 0343 6468"


def document(lines: list[str], *, size: tuple[int, int] = (720, 230), font_size: int = 24,
             bg: tuple[int, int, int] = (250, 250, 246), fg: tuple[int, int, int] = (25, 25, 30),
             ) -> Image.Image:
    """A card or a note: a few lines of text on a plain background."""
    image = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(image)
    y = max(8, (size[1] - int(font_size * 1.7) * len(lines)) // 2)
    for line in lines:
        draw.text((max(12, size[0] // 20), y), line, fill=fg, font=font(font_size))
        y += int(font_size * 1.7)
    return image


def speckle(image: Image.Image, amount: int, seed: int = 11) -> Image.Image:
    """Sensor-like noise: a third of the pixels moved by up to ``amount`` levels."""
    rng = random.Random(seed)
    image = image.copy()
    pixels = image.load()
    assert pixels is not None
    for _ in range(image.width * image.height // 3):
        x, y = rng.randrange(image.width), rng.randrange(image.height)
        value = pixels[x, y]
        assert isinstance(value, tuple)  # an RGB image's pixel
        d = rng.randint(-amount, amount)
        pixels[x, y] = tuple(max(0, min(255, c + d)) for c in value)
    return image


def _tilt(image: Image.Image, angle: float, fill: tuple[int, int, int]) -> Image.Image:
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


def photo_image(group: str, lines: list[str]) -> bytes:
    """``lines`` drawn the way photo class ``group`` spoils them."""
    if group == "light-on-dark":
        image = document(lines, bg=(32, 36, 48), fg=(214, 212, 200))
        return encode(speckle(image, 30).filter(ImageFilter.GaussianBlur(0.7)), "JPEG", quality=60)
    if group == "low-contrast":
        image = document(lines, font_size=22, bg=(172, 170, 162), fg=(138, 136, 128))
        return encode(speckle(image, 24).filter(ImageFilter.GaussianBlur(0.6)), "JPEG", quality=60)
    if group == "small-text":  # a wide screenshot at 1x: ~7 px high letters
        return encode(document(lines, size=(1900, 110), font_size=10), "PNG")
    if group == "rotated-90":
        return encode(speckle(document(lines), 16).rotate(90, expand=True), "JPEG", quality=70)
    if group == "rotated-180":
        return encode(speckle(document(lines), 16).rotate(180), "JPEG", quality=70)
    if group == "skewed":
        return encode(_tilt(speckle(document(lines), 16), 7.0, (250, 250, 246)), "JPEG", quality=70)
    if group == "jpeg-q30":
        image = document(lines, size=(600, 190), font_size=17).filter(ImageFilter.GaussianBlur(0.5))
        return encode(speckle(image, 20), "JPEG", quality=30)
    if group == "look-alike-digit":
        return encode(speckle(document(lines), 12), "JPEG", quality=75)
    raise ValueError(group)


PHOTO_GROUPS = ("light-on-dark", "low-contrast", "small-text", "rotated-90", "rotated-180", "skewed",
                "jpeg-q30", "look-alike-digit")


LOOKALIKE_OF = {"0": "O", "1": "l", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B"}


def _luhn_complete(body: str) -> str:
    """``body`` plus the Luhn check digit that makes it valid."""
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


def _grouped(digits: str) -> str:
    return " ".join(digits[i:i + 4] for i in range(0, len(digits), 4))


def card_number(rng: random.Random) -> str:
    """A Luhn-valid Visa or Mastercard number, grouped by four."""
    prefix = rng.choice(["4", "4", "51", "52", "53", "54", "55"])
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(15 - len(prefix)))
    return _grouped(_luhn_complete(body))


def not_a_card(rng: random.Random) -> str:
    """16 digits in a card's range and grouping that fail Luhn, two of them drawn
    as look-alike letters (what a misread photo of a non-card looks like)."""
    digits = card_number(rng).replace(" ", "")
    digits = digits[:-1] + str((int(digits[-1]) + rng.randrange(1, 10)) % 10)
    chars = list(digits)
    for index in rng.sample([i for i, c in enumerate(chars) if c in LOOKALIKE_OF], k=2):
        chars[index] = LOOKALIKE_OF[chars[index]]
    return _grouped("".join(chars))


def lookalike_first(number: str) -> str:
    """The card as a photo's OCR reads it: its first digit a look-alike letter."""
    return LOOKALIKE_OF.get(number[0], number[0]) + number[1:]


def iban_de(rng: random.Random) -> str:
    """A valid German IBAN (mod-97), grouped by four."""
    bban = "".join(str(rng.randrange(10)) for _ in range(18))
    check = 98 - int(bban + "131400") % 97
    return _grouped(f"DE{check:02d}{bban}")


def photo_set(count: int = 1, seed: int = 2024) -> list[Sample]:
    """Per photo class, ``count`` images with a number to find and ``count``
    clean look-alikes that must stay clean: for cards, a 16-digit number that
    fails Luhn drawn with look-alike letters; for the tilted pay slip (an IBAN),
    an IBAN whose check digits fail. ``count=1`` is the tests' fixed set."""
    rng = random.Random(seed)
    out: list[Sample] = []
    for group in PHOTO_GROUPS:
        for n in range(count):
            card = CARD if n == 0 else card_number(rng)
            if group == "look-alike-digit":
                card = CARD_LOOKALIKE if n == 0 else lookalike_first(card)
            wrong = NOT_A_CARD if n == 0 else not_a_card(rng)
            pii = ["Corporate card", f"Card number {card}", "Valid thru 04/28"]
            clean = ["Loyalty card", f"Card number {wrong}", "Valid thru 04/28"]
            kind = "CREDIT_CARD"
            if group == "skewed":  # an IBAN on a tilted pay slip
                iban = IBAN if n == 0 else iban_de(rng)
                bad = iban[:-1] + str((int(iban[-1]) + 1) % 10)
                pii = ["Pay slip, March", f"IBAN {iban}", "Jonas Weber"]
                clean = ["Pay slip, March", f"IBAN {bad}", "Jonas Weber"]
                kind = "IBAN_CODE"
            suffix = f"-{n + 1}" if count > 1 else ""
            out.append(Sample(f"{group}{suffix}.jpg", photo_image(group, pii), "image/jpeg",
                              frozenset({kind}), group=group))
            out.append(Sample(f"{group}{suffix}-clean.jpg", photo_image(group, clean), "image/jpeg",
                              frozenset(), group=group))
    return out


# ---- PDFs ---------------------------------------------------------------------------


def _pdf(pages: list[list[str]]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


PAYSLIP = ["ACME Corp - Pay slip, March", "Employee: Jonas Weber", "Gross pay: 4,200.00 EUR",
           f"Paid to account IBAN: {IBAN}", "Thank you for your work."]
ORDERS = ["ACME Corp - Order confirmation", "Order number: 100234-7781", "Invoice: INV-2024-00451",
          "Items: 3 x cable, 1 x adapter", "Total: 54.20 EUR"]


def text_pdf() -> bytes:
    return _pdf([PAYSLIP])


def clean_pdf() -> bytes:
    return _pdf([ORDERS])


def scanned_pdf(quality: str = "high", lines: list[str] | None = None) -> bytes:
    """An image-only PDF: a page scanned to an image, no text layer."""
    from fpdf import FPDF

    scale = 2 if quality == "high" else 1
    page = Image.new("L", (850 * scale, 1100 * scale), 250)
    draw = ImageDraw.Draw(page)
    y = 80 * scale
    for line in lines or PAYSLIP:
        draw.text((70 * scale, y), line, fill=20, font=font(17 * scale))
        y += 34 * scale
    page = page.rotate(0.8, resample=Image.Resampling.BICUBIC, fillcolor=250)
    if quality != "high":
        page = page.filter(ImageFilter.GaussianBlur(0.5))
    pdf = FPDF(unit="pt", format=(612, 792))
    pdf.add_page()
    pdf.image(page, x=0, y=0, w=612, h=792)
    return bytes(pdf.output())


def long_pdf(pages: int = 200) -> bytes:
    return _pdf([[f"Catalogue page {n}", "Items: cable, adapter, hub", f"Order ref {100000 + n}"]
                 for n in range(1, pages + 1)])


# ---- documents with pictures: a screenshot pasted into a report -----------------------


def card_picture(number: str = CARD) -> bytes:
    """A small screenshot of a card number, the kind pasted into a document."""
    return encode(document(["Payment details", f"Card number {number}"], size=(620, 160), font_size=22),
                  "PNG")


def docx_with_picture(picture: bytes) -> bytes:
    import docx
    from docx.shared import Inches

    document_ = docx.Document()
    document_.add_paragraph("Expense report, March. Receipts attached below.")
    document_.add_picture(io.BytesIO(picture), width=Inches(4))
    document_.add_paragraph("Approved by the team lead.")
    out = io.BytesIO()
    document_.save(out)
    return out.getvalue()


def xlsx_with_picture(picture: bytes) -> bytes:
    """A workbook whose second sheet holds the picture (its text is clean)."""
    import openpyxl
    from openpyxl.drawing.image import Image as SheetImage

    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.title = "Summary"
    first.append(["item", "amount"])
    first.append(["travel", 420])
    second = workbook.create_sheet("Receipts")
    second.append(["see picture"])
    second.add_image(SheetImage(io.BytesIO(picture)), "B3")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def pdf_with_picture(picture: bytes, logo_pages: int = 0) -> bytes:
    """A text PDF (a real text layer) with a small picture on its second page,
    after ``logo_pages`` pages that each show the same logo."""
    from fpdf import FPDF

    logo = encode(document(["ACME"], size=(160, 60), font_size=20), "PNG")
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.cell(0, 8, "Expense report, March", new_x="LMARGIN", new_y="NEXT")
    for n in range(logo_pages):
        pdf.add_page()
        pdf.cell(0, 8, f"Expense report, section {n + 1}", new_x="LMARGIN", new_y="NEXT")
        pdf.image(io.BytesIO(logo), x=150, y=10, w=40)
    pdf.add_page()
    for line in ("Receipts attached below.", "Approved by the team lead."):
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    pdf.image(io.BytesIO(picture), x=20, y=50, w=90)  # ~12 % of the page
    return bytes(pdf.output())


# ---- text ---------------------------------------------------------------------------


def env_file() -> bytes:
    return (f"# production settings\nDATABASE_HOST=db.internal\nAWS_ACCESS_KEY_ID={AWS_KEY}\n"
            f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}\nLOG_LEVEL=info\n").encode()


def clean_env_file() -> bytes:
    return b"# local settings\nDATABASE_HOST=localhost\nDEBUG=true\nLOG_LEVEL=debug\nWORKERS=4\n"


# ---- hostile ------------------------------------------------------------------------


def corrupt_png() -> bytes:
    good = screenshot_png("low")
    return good[:60] + bytes(random.Random(3).randrange(256) for _ in range(4000))


def zip_bomb(uncompressed: int = 256 * 1024 * 1024) -> bytes:
    """A zip whose one member expands to ``uncompressed`` bytes of zeros (~1000:1)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive, \
            archive.open("image.png", "w", force_zip64=True) as member:
        block = b"\0" * (1024 * 1024)
        for _ in range(uncompressed // len(block)):
            member.write(block)
    return out.getvalue()


def png_bomb(side: int = 40_000) -> bytes:
    """A valid 1-bit PNG of ``side`` x ``side`` pixels of zeros: tiny file, huge image."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw_row = b"\0" * (1 + (side + 7) // 8)
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(raw_row * 1000) for _ in range(side // 1000)]
    parts.append(compressor.flush())
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b""))


# ---- the set ------------------------------------------------------------------------


def pii_and_clean(quality: str = "high") -> list[Sample]:
    """The planted-PII set and a clean look-alike of each."""
    return [
        Sample("screenshot.png", screenshot_png(quality), "image/png", frozenset({"CREDIT_CARD"})),
        Sample("ssn-photo.jpg", ssn_photo_jpeg(quality), "image/jpeg", frozenset({"US_SSN"})),
        Sample("payslip.pdf", text_pdf(), "application/pdf", frozenset({"IBAN_CODE"})),
        Sample("payslip-scan.pdf", scanned_pdf(quality), "application/pdf", frozenset({"IBAN_CODE"})),
        Sample("prod.env", env_file(), "text/plain", frozenset({"AWS_ACCESS_KEY", "AWS_SECRET_KEY"})),
        Sample("receipt.png", receipt_png(quality), "image/png", frozenset()),
        Sample("library-card.jpg", clean_photo_jpeg(quality), "image/jpeg", frozenset()),
        Sample("orders.pdf", clean_pdf(), "application/pdf", frozenset()),
        Sample("orders-scan.pdf", scanned_pdf(quality, ORDERS), "application/pdf", frozenset()),
        Sample("local.env", clean_env_file(), "text/plain", frozenset()),
    ]
