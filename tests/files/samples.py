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
        r, g, b = pixels[x, y]  # type: ignore[misc]
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
