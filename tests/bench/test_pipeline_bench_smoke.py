"""Smoke test of ``bench/pipeline.py``: it runs end to end, on minimal settings, and
prints its table and the ratio line. No timing is asserted: performance figures
live in the benchmark's printed ratio (docs/benchmarks.md), not in unit tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A few seconds of load per system; the rest is starting the processes.
SMOKE_ARGS = [
    "--quick", "--rate", "30", "--duration", "1.5", "--step-duration", "1.5", "--max-steps", "1",
    "--bisections", "0", "--confirm", "0", "--match-duration", "0", "--drain", "3",
    "--pipeline-start-rate", "20", "--baseline-start-rate", "10",
]

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def test_pipeline_bench_prints_its_figures_and_the_ratio() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "pipeline.py"), *SMOKE_ARGS],
        capture_output=True, text=True, timeout=80, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    out = result.stdout
    assert "end-to-end throughput ratio (pipeline / inline baseline):" in out, out + result.stderr[-2000:]
    for label in ("ingest ack p50 / p99 / max", "Slack deadline misses (>3 s)", "event-to-delete p50 / p99",
                  "max sustained end-to-end events/s"):
        assert label in out
    assert "pipeline" in out and "inline baseline" in out
