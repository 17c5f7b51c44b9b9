"""A smoke run of scripts/bench.py on its smallest case: it runs, checks engines agree, writes its tables.

It asserts nothing about speed (speed claims come from the script's own runs, quoted in the README).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.fixtures import ROOT

BENCH = ROOT / "scripts" / "bench.py"


def test_bench_quick_run_writes_agreeing_results(tmp_path):
    command = [sys.executable, str(BENCH), "--quick", "--only", "lstm_b1_", "--tf-python", "", "--no-cold-start",
               "--threads", "1", "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "bench.json").read_text())
    [run] = report["runs"]
    [case] = run["cases"]
    assert case["case"]["name"] == "lstm_b1_t10_8x32" and not case["problems"]
    for engine in ("ours", "ours_numpy"):
        assert case["engines"][engine]["median_ms"] > 0 and case["engines"][engine]["max_abs_diff"] <= 1e-4
    assert "| lstm_b1_t10_8x32 |" in (tmp_path / "bench.md").read_text()


@pytest.mark.needs("dask", "distributed")
def test_bench_dask_smoke_run_writes_its_table(tmp_path):
    """scripts/bench_dask.py on a few thousand sequences: it runs one process and clusters of 1 and 2 workers,
    checks they agree bit for bit (it raises otherwise) and writes its table."""
    script = BENCH.parent / "bench_dask.py"
    command = [sys.executable, str(script), "--sequences", "3000", "--chunk", "1000", "--rounds", "1",
               "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "bench_dask.json").read_text())
    assert set(report["sequences_per_s"]) == {"one local process", "LocalCluster, 1 worker",
                                              "LocalCluster, 2 workers"}
    assert all(v > 0 for v in report["sequences_per_s"].values())
    assert "| LocalCluster, 2 workers |" in (tmp_path / "bench_dask.md").read_text()
