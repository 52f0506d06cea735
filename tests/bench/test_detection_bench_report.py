"""The detection benchmark's generalisation report: family files are read, rows are
scanned under their presets, and figures are split by development / held-out /
public source and by group. No figure is asserted: those live in the printed report."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("detection_bench", ROOT / "bench" / "detection.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_family_files_follow_the_format() -> None:
    files = sorted((ROOT / "bench" / "data" / "families").glob("*.jsonl"))
    assert files
    groups = {"card", "bank", "government_id", "secret", "health", "clean"}
    for path in files:
        for line in path.read_text("utf-8").splitlines():
            row = json.loads(line)
            assert {"text", "kinds", "delete", "family"} <= row.keys(), path.name
            assert row.get("group", "clean") in groups, (path.name, row.get("group"))
            assert bool(row["delete"]) == bool(row["kinds"]) or not row["delete"], path.name


def test_report_splits_by_source_and_group(bench, tmp_path: Path, capsys) -> None:
    rows = [
        {"text": "card 4539 1488 0343 6467", "kinds": ["CREDIT_CARD"], "delete": True,
         "group": "card", "family": "f-card", "heldout": True},
        {"text": "meu CPF é 529.982.247-25", "kinds": ["BR_CPF"], "delete": True,
         "group": "government_id", "family": "f-cpf", "heldout": True, "presets": ["br"]},
        {"text": "order 4539 1488 0343 6468", "kinds": [], "delete": False, "group": "clean",
         "family": "f-neg", "source": "public:example", "heldout": True},
    ]
    (tmp_path / "x.jsonl").write_text("\n".join(json.dumps(r) for r in rows), "utf-8")
    loaded = bench.load_families(str(tmp_path / "*.jsonl"))
    results = bench.scan_rows(loaded)
    assert [deleted for _kinds, deleted in results] == [True, True, False]
    assert results[1][0] == {"BR_CPF"}  # scanned under the row's preset
    bench.report_generalisation(loaded, results)
    out = capsys.readouterr().out
    assert "held-out families (2 families)" in out
    assert "public:example (1 families)" in out
    assert "government_id" in out
