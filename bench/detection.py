"""Detection benchmark: PII Guard's engine against stock Presidio, same messages, same run.

Usage::

    python bench/detection.py [--limit N] [--corpus FILE ...] [--families GLOB] [--skip-stock]
                              [--skip-scan] [--scan-lines N] [--errors]

Three reports, all measured in one run:

1. **Development corpus** (``bench/data/corpus.jsonl``, ``hard_cases.jsonl``: the
   cases the recognizers were developed on): every message through
   ``DetectionEngine(DEFAULT_POLICY).scan_many`` and through a default Presidio
   ``AnalyzerEngine`` on the same spaCy model (verdict under the same policy and
   threshold): precision, recall and F1 of the delete verdict, false deletions,
   recall per kind, DM names every kind, messages per second on one core.
2. **Generalisation** (every ``bench/data/families/*.jsonl``): rows carry a
   template ``family``, a ``source`` (``generated`` or ``public:<project>``) and
   ``heldout``. Figures per group (cards, bank, government ids, secrets, health,
   clean) are printed for the development families, for the held-out families,
   and for each public detector suite apart: recall of the delete verdict, false
   deletions, kinds named right (deleted messages whose DM names every kind).
   Rows with ``presets`` are scanned under a policy enabling those presets.
3. **The whole ``piiguard scan`` command** against a stock-Presidio scan command on
   the same JSON lines (both full processes, model loading included): CPU seconds
   and wall seconds, the throughput ratio, and each process's peak memory.

Writes nothing; prints the figures, with ``MISS`` where a target is not met.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

# One core: keep numpy / BLAS from spreading spaCy's work over threads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "services"))

from piiguard.policy import DEFAULT_POLICY, EntityAction, Verdict  # noqa: E402

DEFAULT_CORPORA = (HERE / "data" / "corpus.jsonl", HERE / "data" / "hard_cases.jsonl")
DEFAULT_FAMILIES = str(HERE / "data" / "families" / "*.jsonl")
TARGETS = {"f1": 0.97, "false_deletion": 0.005, "kind_recall": 0.95, "named": 0.95, "ratio": 10.0,
           "group_recall": 0.97}
GROUPS = ("card", "bank", "government_id", "secret", "health", "clean")
_KIND_GROUP = {
    "CREDIT_CARD": "card", "IBAN_CODE": "bank", "US_BANK_NUMBER": "bank",
    "MEDICAL_CONDITION": "health", "MEDICAL_RECORD_NUMBER": "health",
}  # fmt: skip
_ID_KINDS = {"US_SSN", "US_ITIN", "US_PASSPORT", "US_DRIVER_LICENSE", "UK_NHS", "BR_CPF",
             "BR_CNPJ", "UK_NINO", "CA_SIN", "IN_AADHAAR", "IN_PAN", "ES_NIF", "ES_NIE",
             "IT_FISCAL_CODE", "AU_TFN"}


def group_of(row: dict) -> str:
    """The report group of a row: its own when it names one, else by its kinds."""
    if row.get("group") in GROUPS:
        return str(row["group"])
    if not row["delete"]:
        return "clean"
    for kind in row["kinds"]:
        if kind in _KIND_GROUP:
            return _KIND_GROUP[kind]
        if kind in _ID_KINDS:
            return "government_id"
    return "secret"


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


def show_errors(rows: list[dict], result: Result, limit: int = 200) -> None:
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


# -- generalisation report --------------------------------------------------------------


def load_families(pattern: str) -> list[dict]:
    rows: list[dict] = []
    for path in sorted(glob.glob(pattern)):
        for line in Path(path).read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                row.setdefault("source", "generated")
                row.setdefault("heldout", False)
                row.setdefault("family", Path(path).stem)
                row["_file"] = Path(path).name
                rows.append(row)
    return rows


def split_of(row: dict) -> str:
    source = str(row.get("source", "generated"))
    if source.startswith("public"):
        return source
    return "held-out families" if row.get("heldout") else "development families"


def scan_rows(rows: list[dict]) -> list[tuple[set[str], bool]]:
    """(kinds acted on, deleted) per row, each row under its presets' policy."""
    from piiguard.detection.engine import DetectionEngine
    from piiguard.policy import policy_from_mapping

    by_presets: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_presets[tuple(sorted(row.get("presets", ())))].append(index)
    out: list[tuple[set[str], bool]] = [(set(), False)] * len(rows)
    for presets, indexes in by_presets.items():
        policy = policy_from_mapping({"detection": {"presets": list(presets)}}) if presets else (
            DEFAULT_POLICY)
        engine = DetectionEngine(policy)
        for index, outcome in zip(
            indexes, engine.scan_many([rows[i]["text"] for i in indexes]), strict=True
        ):
            out[index] = (set(outcome.kinds), outcome.verdict is Verdict.DELETE)
    return out


def group_figures(rows: Iterable[tuple[dict, tuple[set[str], bool]]]) -> dict[str, dict]:
    figures: dict[str, dict] = {}
    for row, (kinds, deleted) in rows:
        g = figures.setdefault(group_of(row), {"pos": 0, "hit": 0, "neg": 0, "fd": 0, "named": 0})
        if row["delete"]:
            g["pos"] += 1
            g["hit"] += deleted
            g["named"] += deleted and set(row["kinds"]) <= kinds
        else:
            g["neg"] += 1
            g["fd"] += deleted
    return figures


def _not_secrets() -> dict[str, str]:
    """Suite examples that are not secrets by issue #14's own definition, reviewed
    by hand (``*.not_secrets.tsv`` beside the suites): id -> class."""
    found: dict[str, str] = {}
    for path in sorted(Path(__file__).resolve().parent.glob("data/families/*.not_secrets.tsv")):
        for line in path.read_text("utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                example, klass, *_ = line.split("\t")
                found[example] = klass
    return found


NOT_SECRETS = _not_secrets()


def report_generalisation(rows: list[dict], results: list[tuple[set[str], bool]]) -> None:
    splits: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        splits[split_of(row)].append(index)
    order = sorted(splits, key=lambda s: (s != "development families", s != "held-out families", s))
    print("\ngeneralisation: figures per group, development families next to held-out ones")
    print(f"  {'split / group':<44}{'msgs':>6}{'recall':>9}{'false del':>11}{'kinds right':>13}")
    for split in order:
        indexes = splits[split]
        figures = group_figures((rows[i], results[i]) for i in indexes)
        families = len({rows[i]["family"] for i in indexes})
        print(f"  {split} ({families} families)")
        total = {"pos": 0, "hit": 0, "neg": 0, "fd": 0, "named": 0}
        for group in GROUPS:
            if group not in figures:
                continue
            f = figures[group]
            for key in total:
                total[key] += f[key]
            _print_group(f"    {group}", f)
        _print_group("    all", total, overall=True)
        excluded = [i for i in indexes if rows[i].get("id") in NOT_SECRETS]
        if excluded:  # the suite's own labels, then the definition of a secret
            kept = [i for i in indexes if rows[i].get("id") not in NOT_SECRETS]
            figures = group_figures((rows[i], results[i]) for i in kept)
            for group in GROUPS:
                if group in figures:
                    # references, dummies, stand-ins: see the .not_secrets.tsv file
                    _print_group(f"    {group}, without {len(excluded)} non-secrets",
                                 figures[group])
    files: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if "_file" in row:
            files[row["_file"]].append(index)
    if files:
        print("  by family file (every group together)")
        for name, indexes in sorted(files.items()):
            figures = group_figures((rows[i], results[i]) for i in indexes)
            total = {k: sum(f[k] for f in figures.values()) for k in ("pos", "hit", "neg", "fd",
                                                                       "named")}
            _print_group(f"    {name}", total, overall=True)


def _print_group(label: str, f: dict, overall: bool = False) -> None:
    n = f["pos"] + f["neg"]
    recall = f"{f['hit'] / f['pos']:.3f}" if f["pos"] else "-"
    fd = f"{f['fd'] / f['neg']:.1%}" if f["neg"] else "-"
    named = f"{f['named'] / f['hit']:.3f}" if f["hit"] else "-"
    flags = []
    if f["pos"] and f["hit"] / f["pos"] < TARGETS["group_recall"] and not overall:
        flags.append("recall MISS")
    if f["neg"] and f["fd"] / f["neg"] > TARGETS["false_deletion"]:
        flags.append("false-del MISS")
    if f["hit"] and f["named"] / f["hit"] < TARGETS["named"]:
        flags.append("kinds MISS")
    print(f"  {label:<44}{n:>6}{recall:>9}{fd:>11}{named:>13}  {' '.join(flags) or 'ok'}")


def show_family_errors(rows: list[dict], results: list[tuple[set[str], bool]],
                       limit: int = 400) -> None:
    shown = Counter[str]()
    for row, (kinds, deleted) in zip(rows, results, strict=True):
        wrong = deleted != row["delete"] or (deleted and not set(row["kinds"]) <= kinds)
        if wrong:
            shown[row["family"]] += 1
            if sum(shown.values()) <= limit:
                label = "FALSE DELETE" if deleted and not row["delete"] else (
                    "MISSED" if not deleted else "UNNAMED")
                print(f"[{label}] {row['family']} want={row['kinds']} got={sorted(kinds)}: "
                      f"{row['text'][:140]!r}")
    print("family errors:", dict(shown))


# -- the whole command -------------------------------------------------------------------


def stock_scan_main() -> int:
    """A stock-Presidio ``scan``: the same JSON lines in, a verdict line out per message."""
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
    out = sys.stdout
    for line in sys.stdin:
        record = json.loads(line)
        results = analyzer.analyze(text=record["text"], language="en")
        kinds = sorted({r.entity_type for r in results if r.score >= threshold(r.entity_type)})
        verdict = DEFAULT_POLICY.verdict_for(kinds).value
        out.write(json.dumps({"id": record.get("id"), "verdict": verdict,
                              "entities": [{"type": k} for k in kinds]}) + "\n")
    return 0


def _run_command(argv: list[str], input_path: str) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak RSS MB, output lines) of one whole process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(HERE.parent / "services"), os.environ.get("PYTHONPATH", "")])}
    with open(input_path, "rb") as stdin, tempfile.TemporaryFile() as stdout:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL,
                                env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        lines = sum(1 for _ in stdout)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed with exit code {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, lines


def report_whole_command(texts: list[str], lines: int) -> None:
    repeated = [texts[i % len(texts)] for i in range(max(lines, len(texts)))]
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as fh:
        for index, text in enumerate(repeated):
            fh.write(json.dumps({"id": index, "text": text}, ensure_ascii=False) + "\n")
        path = fh.name
    try:
        ours = _run_command([sys.executable, "-m", "piiguard", "scan"], path)
        stock = _run_command([sys.executable, str(Path(__file__).resolve()), "--stock-scan"], path)
    finally:
        os.unlink(path)
    n = len(repeated)
    print(f"\nthe whole command on {n} JSON lines (process start and model load included)")
    print(f"  {'':<30}{'CPU s':>9}{'wall s':>9}{'msgs/CPU s':>12}{'peak MB':>9}")
    for label, (wall, cpu, rss, out_lines) in (("piiguard scan", ours), ("stock Presidio scan", stock)):
        note = "" if out_lines == n else f"  ({out_lines} lines out)"
        print(f"  {label:<30}{cpu:>9.1f}{wall:>9.1f}{n / cpu:>12,.0f}{rss:>9.0f}{note}")
    ratio = stock[1] / ours[1]
    print(f"  throughput ratio (CPU): {ratio:.1f}x ({mark(ratio >= TARGETS['ratio'])}, "
          f"target >= 10x); wall-clock ratio {stock[0] / ours[0]:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description="PII Guard detection benchmark")
    parser.add_argument("--limit", type=int, default=None, help="scan at most N messages")
    parser.add_argument("--corpus", type=Path, nargs="*", default=list(DEFAULT_CORPORA))
    parser.add_argument("--skip-stock", action="store_true", help="do not run stock Presidio")
    parser.add_argument("--errors", action="store_true", help="print our misclassifications")
    parser.add_argument("--families", default=DEFAULT_FAMILIES,
                        help="glob of family files for the generalisation report ('' to skip)")
    parser.add_argument("--skip-scan", action="store_true",
                        help="do not time the whole piiguard scan command")
    parser.add_argument("--scan-lines", type=int, default=8000,
                        help="JSON lines fed to both whole commands (the corpus, repeated)")
    parser.add_argument("--stock-scan", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stock_scan:
        sys.exit(stock_scan_main())
    rows = load(args.corpus, args.limit)
    if not rows:
        sys.exit("no messages: generate bench/data/corpus.jsonl first")
    texts = [r["text"] for r in rows]
    ours, rss_mb = run_ours(texts)
    stock = None if args.skip_stock else run_stock(texts)
    if args.errors:
        show_errors(rows, ours)
    report(rows, metrics(rows, ours), metrics(rows, stock) if stock else None, rss_mb)
    family_rows = load_families(args.families) if args.families else []
    if family_rows:
        dev = [{**r, "family": f"dev:{r.get('group', '?')}", "source": "generated",
                "heldout": False} for r in rows]
        everything = dev + family_rows
        results = scan_rows(everything)
        if args.errors:
            show_family_errors(family_rows, results[len(dev):])
        report_generalisation(everything, results)
    if not args.skip_scan and not args.skip_stock:
        report_whole_command(texts + [r["text"] for r in family_rows], args.scan_lines)


if __name__ == "__main__":
    main()
