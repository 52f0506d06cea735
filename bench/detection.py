"""Detection benchmark: PII Guard's engine against stock Presidio, same messages, same run.

Usage::

    python bench/detection.py [--limit N] [--corpus FILE ...] [--skip-stock] [--errors]

Reads the labeled corpus (``bench/data/*.jsonl``), scans every message with
``DetectionEngine(DEFAULT_POLICY).scan_many`` and with a default Presidio
``AnalyzerEngine`` on the spaCy small model (verdict under the same default
policy and score threshold), and prints, for both: message-level precision,
recall and F1 of the delete verdict, false-deletion rate on clean messages,
recall per kind, the share of deleted messages whose DM names every kind
present, and messages per second on one core. Writes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

# One core: keep numpy / BLAS from spreading spaCy's work over threads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "services"))

from piiguard.policy import DEFAULT_POLICY, EntityAction, Verdict  # noqa: E402

DEFAULT_CORPORA = (HERE / "data" / "corpus.jsonl", HERE / "data" / "hard_cases.jsonl")
TARGETS = {"f1": 0.97, "false_deletion": 0.005, "kind_recall": 0.95, "named": 0.95, "ratio": 10.0}


def load(paths: Sequence[Path], limit: int | None) -> list[dict]:
    rows: list[dict] = []
    for path in paths:
        if path.exists():
            rows += [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    if limit and limit < len(rows):
        # an even sample across the corpus, so every group stays represented
        step = len(rows) / limit
        rows = [rows[int(i * step)] for i in range(limit)]
    return rows


class Result:
    def __init__(self, name: str, kinds: list[set[str]], verdicts: list[bool], seconds: float):
        self.name, self.kinds, self.verdicts, self.seconds = name, kinds, verdicts, seconds


def run_ours(texts: list[str]) -> tuple[Result, float]:
    from piiguard.detection.engine import DetectionEngine

    engine = DetectionEngine(DEFAULT_POLICY)
    engine.scan_many(texts[:20])  # warm-up: imports, lazy regex compiles
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.process_time()
    outcomes = engine.scan_many(texts)
    seconds = time.process_time() - start
    return Result(
        "PII Guard",
        [set(o.kinds) for o in outcomes],
        [o.verdict is Verdict.DELETE for o in outcomes],
        seconds,
    ), rss_mb


def run_stock(texts: list[str]) -> Result:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from piiguard.detection.engine import SPACY_MODEL
    from piiguard.offline import use_bundled_data

    use_bundled_data()
    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
    }).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
    threshold = DEFAULT_POLICY.detection.threshold_for
    for text in texts[:20]:
        analyzer.analyze(text=text, language="en")
    kinds: list[set[str]] = []
    start = time.process_time()
    for text in texts:
        results = analyzer.analyze(text=text, language="en")
        kinds.append({
            r.entity_type for r in results
            if r.score >= threshold(r.entity_type)
            and DEFAULT_POLICY.action_for(r.entity_type) is not EntityAction.IGNORE
        })
    seconds = time.process_time() - start
    verdicts = [DEFAULT_POLICY.verdict_for(k) is Verdict.DELETE for k in kinds]
    return Result("stock Presidio", kinds, verdicts, seconds)


def metrics(rows: list[dict], result: Result) -> dict:
    truth = [bool(r["delete"]) for r in rows]
    tp = sum(t and p for t, p in zip(truth, result.verdicts, strict=True))
    fp = sum(p and not t for t, p in zip(truth, result.verdicts, strict=True))
    fn = sum(t and not p for t, p in zip(truth, result.verdicts, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    clean = [i for i, r in enumerate(rows) if not r["delete"]]
    false_deletion = sum(result.verdicts[i] for i in clean) / len(clean) if clean else 0.0
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row, found in zip(rows, result.kinds, strict=True):
        for kind in row["kinds"]:
            per_kind[kind][1] += 1
            per_kind[kind][0] += kind in found
    deleted_right = [i for i, r in enumerate(rows) if r["delete"] and result.verdicts[i]]
    named = sum(set(rows[i]["kinds"]) <= result.kinds[i] for i in deleted_right)
    return {
        "precision": precision, "recall": recall, "f1": f1, "false_deletion": false_deletion,
        "kind_recall": {k: v[0] / v[1] for k, v in sorted(per_kind.items())},
        "named": named / len(deleted_right) if deleted_right else 0.0,
        "per_second": len(rows) / result.seconds if result.seconds else float("inf"),
    }


def mark(ok: bool) -> str:
    return "ok" if ok else "MISS"


def report(rows: list[dict], ours: dict, stock: dict | None, rss_mb: float) -> None:
    def row(label: str, key: str, fmt: Callable[[float], str], ok: Callable[[float], bool] | None
            = None) -> None:
        theirs = fmt(stock[key]) if stock else "-"
        flag = f"  {mark(ok(ours[key]))}" if ok else ""
        print(f"  {label:<38}{fmt(ours[key]):>12}{theirs:>16}{flag}")

    pct = "{:.1%}".format
    num = "{:.3f}".format
    deletes = sum(1 for r in rows if r["delete"])
    print(f"\nmessages: {len(rows)} ({deletes} to delete, {len(rows) - deletes} to keep)")
    print(f"  {'':<38}{'PII Guard':>12}{'stock Presidio':>16}")
    row("delete precision", "precision", num)
    row("delete recall", "recall", num)
    row("delete F1 (target >= 0.97)", "f1", num, lambda v: v >= TARGETS["f1"])
    row("false deletions on clean (<= 0.5%)", "false_deletion", pct,
        lambda v: v <= TARGETS["false_deletion"])
    row("DM names every kind (>= 0.95)", "named", num, lambda v: v >= TARGETS["named"])
    row("messages / second, one core", "per_second", "{:,.0f}".format)
    print("\n  recall per kind (target >= 0.95)")
    for kind, value in ours["kind_recall"].items():
        theirs = f"{stock['kind_recall'].get(kind, 0.0):.3f}" if stock else "-"
        ok = value >= TARGETS["kind_recall"]
        print(f"    {kind:<36}{value:>12.3f}{theirs:>16}  {mark(ok)}")
    print(f"\n  resident memory with the model loaded: {rss_mb:.0f} MB (target < 400 MB)")
    if stock:
        ratio = ours["per_second"] / stock["per_second"]
        print(f"\nthroughput ratio vs stock Presidio: {ratio:.1f}x  "
              f"({mark(ratio >= TARGETS['ratio'])}, target >= 10x)")


def show_errors(rows: list[dict], result: Result, limit: int = 60) -> None:
    shown = Counter[str]()
    for row, kinds, verdict in zip(rows, result.kinds, result.verdicts, strict=True):
        missing = set(row["kinds"]) - kinds - {"STRIPE_TEST_KEY"} if verdict else set()
        if verdict != row["delete"] or missing:
            shown[row.get("group", "?")] += 1
            if sum(shown.values()) <= limit:
                label = "FALSE DELETE" if verdict and not row["delete"] else (
                    "MISSED" if not verdict else f"UNNAMED {sorted(missing)}")
                print(f"[{label}] {row.get('id')} want={row['kinds']} got={sorted(kinds)}: "
                      f"{row['text'][:160]!r}")
    print("errors by group:", dict(shown))


def main() -> None:
    parser = argparse.ArgumentParser(description="PII Guard detection benchmark")
    parser.add_argument("--limit", type=int, default=None, help="scan at most N messages")
    parser.add_argument("--corpus", type=Path, nargs="*", default=list(DEFAULT_CORPORA))
    parser.add_argument("--skip-stock", action="store_true", help="do not run stock Presidio")
    parser.add_argument("--errors", action="store_true", help="print our misclassifications")
    args = parser.parse_args()
    rows = load(args.corpus, args.limit)
    if not rows:
        sys.exit("no messages: generate bench/data/corpus.jsonl first")
    texts = [r["text"] for r in rows]
    ours, rss_mb = run_ours(texts)
    stock = None if args.skip_stock else run_stock(texts)
    if args.errors:
        show_errors(rows, ours)
    report(rows, metrics(rows, ours), metrics(rows, stock) if stock else None, rss_mb)


if __name__ == "__main__":
    main()
