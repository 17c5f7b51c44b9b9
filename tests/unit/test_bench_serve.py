"""A smoke run of scripts/bench_serve.py: its servers start, answer TF.js's numbers, and stop with status 0.

It asserts nothing about speed (the README quotes the script's own runs).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.fixtures import ROOT

BENCH = ROOT / "scripts" / "bench_serve.py"


@pytest.mark.needs("starlette", "uvicorn")
def test_bench_serve_quick_run_writes_its_table(tmp_path):
    command = [sys.executable, str(BENCH), "--seconds", "0.3", "--concurrency", "1,4", "--no-keras",
               "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "bench_serve.json").read_text())
    assert set(report["servers"]) == {"ours", "ours, batching"}
    assert report["exit_statuses"] == {"ours": 0, "ours, batching": 0}
    for label, cells in report["servers"].items():
        assert report["max_abs_diff_vs_tfjs"][label] <= 1e-5
        for cell in cells.values():
            assert cell["requests"] > 0 and cell["errors"] == 0 and cell["p99_ms"] >= cell["p50_ms"] > 0
    assert "| ours, batching |" in (tmp_path / "bench_serve.md").read_text()
