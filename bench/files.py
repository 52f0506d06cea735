"""File-scanning benchmark: extraction + detection throughput and recall of the
planted PII on the generated test set, at two image qualities, and per photo
class before vs after the photo preprocessing.

Usage::

    python bench/files.py [--repeat N] [--photos N] [--compare-python PATH]

Photo classes (``tests/files/samples.py``: ``photo_set``): light-on-dark,
low-contrast, small-text, rotated-90, rotated-180, skewed (an IBAN), jpeg-q30,
look-alike-digit (a card whose first digit OCR reads as a letter); ``--photos N``
images with a number and N clean look-alikes per class (a Luhn-failing
16-digit number drawn with look-alike letters; an IBAN with wrong check
digits). Each image is extracted and detected twice in the same run:
**before** (one plain Tesseract reading, as before the photo variants; no
letter-for-digit mapping) and **after** (the production path: variants within
the time budget, mapping confirmed by checksums). Per class: recall (images
whose number is found), precision (flagged images that hold a number), pages/s;
then the totals and the throughput ratio after / before.

For each quality (``high``: 2560x1440 screenshots, 88% JPEG photos, ~200-dpi
scans; ``low``: 1280x720 screenshots with 13 px text, noisy 55% JPEG photos
rotated 3 degrees, ~100-dpi blurred scans) it runs every sample of
``tests/files/samples.py`` through the production path — the extraction child
process (``extract_in_child``: sniff, text layer or Tesseract OCR) and
``DetectionEngine.scan_many`` on the default policy — and prints: images/pages
per second (OCR'd items only, and all files), recall of the planted kinds,
false positives on the clean look-alikes.

``--compare-python`` names the interpreter of a venv where ``rapidocr-onnxruntime``
is installed (it is not a dependency of PII Guard): the same images and scanned
pages are then also OCR'd by RapidOCR (ONNX models shipped in its wheel), with
the same detection, for the comparison in docs/files.md. Prints no file content.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import struct
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "services"), str(ROOT)]

from piiguard.detection.engine import DetectionEngine  # noqa: E402
from piiguard.detection.files.extract import Extraction  # noqa: E402
from piiguard.detection.files.limits import Limits  # noqa: E402
from piiguard.detection.files.scanner import extract_in_child  # noqa: E402
from piiguard.policy import DEFAULT_POLICY  # noqa: E402
from tests.files import samples  # noqa: E402

# The alternative engine, run in another interpreter: length-prefixed PNG in,
# one JSON line out ({"text", "seconds"}). Loads its models once.
RAPIDOCR_HELPER = r"""
import io, json, struct, sys, time
from PIL import Image
import numpy as np
from rapidocr_onnxruntime import RapidOCR
engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
stdin, stdout = sys.stdin.buffer, sys.stdout
while True:
    head = stdin.read(4)
    if len(head) < 4:
        break
    data = stdin.read(struct.unpack(">I", head)[0])
    image = np.array(Image.open(io.BytesIO(data)).convert("RGB"))
    started = time.perf_counter()
    result, _ = engine(image)
    seconds = time.perf_counter() - started
    # Rebuild lines: boxes sorted top to bottom, joined left to right.
    # Same column rule as PII Guard's Tesseract layout: a gap wider than 0.9 x the
    # line height is a tab, a narrower one a space.
    rows = []
    for box, text, _score in result or []:
        top = min(p[1] for p in box); left = min(p[0] for p in box)
        right = max(p[0] for p in box); h = max(p[1] for p in box) - top
        for row in rows:
            if abs(row[0] - top) < h * 0.6:
                row[1].append((left, right, h, text)); break
        else:
            rows.append([top, [(left, right, h, text)]])
    lines = []
    for _, words in sorted(rows, key=lambda r: r[0]):
        words.sort()
        line = words[0][3]
        for prev, word in zip(words, words[1:]):
            line += ("\t" if word[0] - prev[1] > 0.9 * word[2] else " ") + word[3]
        lines.append(line)
    stdout.write(json.dumps({"text": "\n".join(lines), "seconds": seconds}) + "\n")
    stdout.flush()
"""


def ocr_items(sample: samples.Sample) -> list[bytes]:
    """The images a scan OCRs in ``sample`` (an image; a scanned PDF's pages rendered), as PNG."""
    from PIL import Image

    if sample.name.endswith((".png", ".jpg")):
        out = io.BytesIO()
        Image.open(io.BytesIO(sample.data)).save(out, "PNG")
        return [out.getvalue()]
    if sample.name.endswith("-scan.pdf"):
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(sample.data)
        images = []
        for page in pdf:
            out = io.BytesIO()
            page.render(scale=200 / 72, grayscale=True).to_pil().save(out, "PNG")
            images.append(out.getvalue())
        return images
    return []


def run_tesseract(engine: DetectionEngine, quality: str, repeat: int) -> dict[str, float]:
    items = samples.pii_and_clean(quality)
    found_planted = planted = false_pos = ocr_pages = 0
    ocr_seconds = all_seconds = 0.0
    for _ in range(repeat):
        for sample in items:
            started = time.perf_counter()
            extraction: Extraction = asyncio.run(extract_in_child(sample.data, Limits()))
            outcomes = engine.scan_many([t.text for t in extraction.texts]) if extraction.texts else []
            elapsed = time.perf_counter() - started
            all_seconds += elapsed
            if any(t.method == "ocr" for t in extraction.texts):
                ocr_seconds += elapsed
                ocr_pages += len({t.page for t in extraction.texts if t.method == "ocr"})
            kinds = {f.entity_type for o in outcomes for f in o.findings}
            planted += len(sample.kinds)
            found_planted += len(kinds & sample.kinds)
            false_pos += bool(kinds - sample.kinds)
    return {"files": len(items) * repeat, "ocr_pages": ocr_pages,
            "ocr_pages_per_s": ocr_pages / ocr_seconds if ocr_seconds else 0.0,
            "files_per_s": len(items) * repeat / all_seconds,
            "recall": found_planted / planted, "false_positive_files": false_pos}


def run_alternative(python: str, engine: DetectionEngine, quality: str, repeat: int) -> dict[str, float]:
    helper = subprocess.Popen([python, "-c", RAPIDOCR_HELPER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert helper.stdin and helper.stdout
    ocr_samples = [s for s in samples.pii_and_clean(quality) if ocr_items(s)]
    found_planted = planted = false_pos = pages = 0
    seconds = 0.0
    try:
        warm = ocr_items(ocr_samples[0])[0]  # model load is not timed
        helper.stdin.write(struct.pack(">I", len(warm)) + warm)
        helper.stdin.flush()
        helper.stdout.readline()
        for _ in range(repeat):
            for sample in ocr_samples:
                texts = []
                started = time.perf_counter()
                for image in ocr_items(sample):
                    helper.stdin.write(struct.pack(">I", len(image)) + image)
                    helper.stdin.flush()
                    texts.append(json.loads(helper.stdout.readline())["text"])
                    pages += 1
                kinds = {f.entity_type for o in engine.scan_many(texts) for f in o.findings}
                seconds += time.perf_counter() - started
                planted += len(sample.kinds)
                found_planted += len(kinds & sample.kinds)
                false_pos += bool(kinds - sample.kinds)
    finally:
        helper.stdin.close()
        helper.wait(10)
    return {"ocr_pages": pages, "ocr_pages_per_s": pages / seconds if seconds else 0.0,
            "recall": found_planted / planted if planted else 0.0, "false_positive_files": false_pos}


def run_tesseract_ocr_only(engine: DetectionEngine, quality: str, repeat: int) -> dict[str, float]:
    """Tesseract on exactly the items the alternative gets (images + rendered scans)."""
    from PIL import Image

    from piiguard.detection.files import ocr

    ocr_samples = [s for s in samples.pii_and_clean(quality) if ocr_items(s)]
    found_planted = planted = false_pos = pages = 0
    seconds = 0.0
    for _ in range(repeat):
        for sample in ocr_samples:
            started = time.perf_counter()
            texts = [ocr.ocr(Image.open(io.BytesIO(i)), 60) for i in ocr_items(sample)]
            pages += len(texts)
            kinds = {f.entity_type for o in engine.scan_many(texts) for f in o.findings}
            seconds += time.perf_counter() - started
            planted += len(sample.kinds)
            found_planted += len(kinds & sample.kinds)
            false_pos += bool(kinds - sample.kinds)
    return {"ocr_pages": pages, "ocr_pages_per_s": pages / seconds,
            "recall": found_planted / planted, "false_positive_files": false_pos}


def run_photos(engine: DetectionEngine, count: int) -> dict[str, dict[str, dict[str, float]]]:
    """Per photo class and mode (before / after): found, planted, flagged, true
    flags, pages, seconds. Extraction in-process for both modes (same cost model)."""
    from piiguard.detection.files.extract import extract
    from piiguard.detection.files.ocr_text import scan_pages

    figures: dict[str, dict[str, dict[str, float]]] = {}
    # The ordinary set's OCR'd files too: what the variants cost where plain OCR
    # already did well (screenshots, scans).
    ordinary = [replace(s, group=f"screens+scans {quality}") for quality in ("high", "low")
                for s in samples.pii_and_clean(quality) if s.name.endswith((".png", ".jpg", "-scan.pdf"))]
    for sample in samples.photo_set(count) + ordinary:
        for mode, enabled in (("before", False), ("after", True)):
            row = figures.setdefault(sample.group, {}).setdefault(mode, dict.fromkeys(
                ("found", "planted", "flagged", "true_flags", "pages", "seconds"), 0.0))
            started = time.perf_counter()
            extraction = extract(sample.data, Limits(), ocr_variants=enabled)
            pages = scan_pages(engine, extraction.texts, digit_variants=enabled)
            row["seconds"] += time.perf_counter() - started
            kinds = {f.entity_type for page in pages for f in page.findings}
            row["pages"] += 1
            row["planted"] += bool(sample.kinds)
            row["found"] += bool(sample.kinds) and sample.kinds <= kinds
            row["flagged"] += bool(kinds)
            row["true_flags"] += bool(kinds) and bool(sample.kinds)
    return figures


def _photo_cells(row: dict[str, float]) -> str:
    recall = row["found"] / row["planted"] if row["planted"] else 0.0
    precision = f"{row['true_flags'] / row['flagged']:>6.0%}" if row["flagged"] else f"{'-':>6}"
    return f"{recall:>7.0%} {precision} {row['pages'] / row['seconds']:>8.2f}"


def print_photos(figures: dict[str, dict[str, dict[str, float]]]) -> None:
    print(f"{'class':20} {'before: recall':>14} {'prec':>6} {'pages/s':>8}   {'after: recall':>13} "
          f"{'prec':>6} {'pages/s':>8}   {'time ratio':>10}")
    total = {mode: dict.fromkeys(("found", "planted", "flagged", "true_flags", "pages", "seconds"), 0.0)
             for mode in ("before", "after")}
    for group, modes in figures.items():
        if not group.startswith("screens"):
            for mode, row in modes.items():
                for key, value in row.items():
                    total[mode][key] += value
        ratio = modes["after"]["seconds"] / modes["before"]["seconds"]
        print(f"{group:20} {_photo_cells(modes['before']):>30}   {_photo_cells(modes['after']):>29}   "
              f"{ratio:>9.2f}x")
    ratio = total["after"]["seconds"] / total["before"]["seconds"]
    cells = f"{_photo_cells(total['before']):>30}   {_photo_cells(total['after']):>29}"
    print(f"{'all photo classes':20} {cells}   {ratio:>9.2f}x")
    before, after = total["before"], total["after"]
    print(f"recall {before['found'] / before['planted']:.1%} -> {after['found'] / after['planted']:.1%}; "
          f"false flags {before['flagged'] - before['true_flags']:.0f} -> "
          f"{after['flagged'] - after['true_flags']:.0f} of {after['pages'] - after['planted']:.0f} clean; "
          f"throughput after/before = {1 / ratio:.2f} (time x{ratio:.2f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--photos", type=int, default=3, help="images per photo class (and as many clean)")
    parser.add_argument("--compare-python", help="interpreter with rapidocr-onnxruntime installed")
    args = parser.parse_args(argv)

    engine = DetectionEngine(DEFAULT_POLICY)
    engine.scan("warm up 4539 1488 0343 6467")
    print(f"file scanning, production path (child process + Tesseract + detection), repeat={args.repeat}")
    print(f"{'quality':8} {'files':>5} {'OCR pages':>9} {'OCR pages/s':>11} {'files/s':>8} "
          f"{'recall':>7} {'false+ files':>12}")
    for quality in ("high", "low"):
        r = run_tesseract(engine, quality, args.repeat)
        print(f"{quality:8} {r['files']:>5} {r['ocr_pages']:>9} {r['ocr_pages_per_s']:>11.2f} "
              f"{r['files_per_s']:>8.2f} {r['recall']:>7.1%} {r['false_positive_files']:>12}")
    if args.photos:
        print(f"\nphoto classes: {args.photos} with a number + {args.photos} clean per class; "
              "extraction in-process + detection; before = plain OCR, after = photo variants + mapping")
        print_photos(run_photos(engine, args.photos))
    if args.compare_python:
        print("\nOCR engines on the same images and rendered scans (OCR + detection, in-process timing)")
        print(f"{'engine':10} {'quality':8} {'pages':>5} {'pages/s':>8} {'recall':>7} {'false+ files':>12}")
        for quality in ("high", "low"):
            t = run_tesseract_ocr_only(engine, quality, args.repeat)
            a = run_alternative(args.compare_python, engine, quality, args.repeat)
            for name, r in (("tesseract", t), ("rapidocr", a)):
                print(f"{name:10} {quality:8} {r['ocr_pages']:>5} {r['ocr_pages_per_s']:>8.2f} "
                      f"{r['recall']:>7.1%} {r['false_positive_files']:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
