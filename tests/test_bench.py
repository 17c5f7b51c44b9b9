"""A smoke run of scripts/bench.py on its smallest case: it runs, checks engines agree, writes its tables.

It asserts nothing about speed (speed claims come from the script's own runs, quoted in the README).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "scripts" / "bench.py"


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
