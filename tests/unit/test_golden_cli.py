"""``tfjs-interop golden record|check``, run as a user would (a subprocess); exit 0 pass, 1 mismatch, 2 errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import ROOT, TFJS_FIXTURES
from tfjs_interop import golden
from tfjs_interop.formats.files import model_files


def _cli(*args, cwd=None) -> subprocess.CompletedProcess:
    command = str(Path(sys.executable).with_name("tfjs-interop"))  # the installed command, as a user runs it
    return subprocess.run([command, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.fixture
def model(tmp_path):
    return shutil.copytree(TFJS_FIXTURES / "seed_lstm", tmp_path / "model")


def test_record_then_check_passes(tmp_path, model):
    result = _cli("golden", "record", model, "--inputs", model / "call0_input0.npy", "--out", tmp_path / "g.npz",
                  "--atol", "2e-5", "--rtol", "0")
    assert result.returncode == 0, result.stderr
    assert "recorded 1 output(s) (lstm_LSTM1 [3, 10, 32]) and 2 model file hash(es)" in result.stdout
    record = golden.read_golden(tmp_path / "g.npz")
    assert (record.atol, record.rtol) == (2e-5, 0.0)
    result = _cli("golden", "check", model, tmp_path / "g.npz", "--json", tmp_path / "report.json")
    assert result.returncode == 0, result.stderr
    assert "against g.npz (atol=2e-05, rtol=0)" in result.stdout and result.stdout.strip().endswith("PASSED")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["passed"] is True and report["against"] == "g.npz" and report["outputs"][0]["name"] == "lstm_LSTM1"


def test_record_defaults_to_golden_npz_beside_the_model_where_check_looks(tmp_path, model):
    result = _cli("golden", "record", "model", "-i", "model/call0_input0.npy", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "golden.npz").exists() and golden.check(model, model / "golden.npz").passed
    assert tfjs_interop.load(model, check=True) is not None
    result = _cli("golden", "check", "model", cwd=tmp_path)
    assert result.returncode == 0 and "against golden.npz" in result.stdout


def test_check_exits_1_with_the_table_after_a_weight_change(tmp_path, model):
    path = golden.record(model, model / "call0_input0.npy", tmp_path / "g.npz")
    shard = model_files(model)[1]
    values = np.frombuffer(shard.read_bytes(), "<f4").copy()
    values[0] += 0.5
    shard.write_bytes(values.tobytes())
    result = _cli("golden", "check", model, path, "--json", tmp_path / "report.json")
    assert result.returncode == 1, result.stderr
    assert "FAIL" in result.stdout and "changed since the record" in result.stdout
    assert result.stdout.strip().endswith("FAILED")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["passed"] is False and report["max_abs_error"] > 1e-3


def test_record_reads_an_npz_of_named_inputs(tmp_path):
    case = TFJS_FIXTURES / "multi_io_shared_lstm"
    a, b = np.load(case / "call0_input0.npy"), np.load(case / "call0_input1.npy")
    np.savez(tmp_path / "x.npz", seq_b=b, seq_a=a)
    result = _cli("golden", "record", case, "--inputs", tmp_path / "x.npz", "--out", tmp_path / "g.npz")
    assert result.returncode == 0, result.stderr
    record = golden.read_golden(tmp_path / "g.npz")
    np.testing.assert_array_equal(record.inputs["seq_a"], a)
    np.testing.assert_allclose(record.outputs["head_ab"], np.load(case / "call0_output1.npy"), atol=1e-5, rtol=0)


def test_record_reads_one_npy_per_input_in_order(tmp_path):
    case = TFJS_FIXTURES / "multi_io_shared_lstm"
    result = _cli("golden", "record", case, "--inputs", case / "call0_input0.npy", case / "call0_input1.npy",
                  "--out", tmp_path / "g.npz")
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(golden.read_golden(tmp_path / "g.npz").inputs["seq_b"],
                                  np.load(case / "call0_input1.npy"))


@pytest.mark.parametrize("args,message", [
    (["golden", "check", "{model}", "{model}/model.json"], "does not start with a zip signature"),
    (["golden", "check", "{model}", "{tmp}/missing.npz"], "no such golden file"),
    (["golden", "record", "{model}", "--inputs", "{model}/group1-shard1of1.bin"], "must be .npy"),
    (["golden", "record", "{model}", "--inputs", "{model}/call0_input0.npy", "--atol", "-1"], "atol must be"),
    (["golden", "record", "{tmp}/nothing", "--inputs", "{model}/call0_input0.npy"], "no such model file"),
])
def test_errors_exit_2_on_one_line(tmp_path, model, args, message):
    result = _cli(*(a.format(model=model, tmp=tmp_path) for a in args), cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [["golden"], ["golden", "record", "m"], ["golden", "check"]])
def test_usage_errors_exit_2(args):
    result = _cli(*args)
    assert result.returncode == 2 and "usage: tfjs-interop golden" in result.stderr


def test_a_weights_file_given_apart_is_hashed_in_the_record(tmp_path):
    """With --weights, only the topology JSON was hashed: a changed weights file was never named."""
    from tfjs_interop import golden
    from tfjs_interop.cli import main

    folder = tmp_path / "m"
    shutil.copytree(ROOT / "fixtures" / "keras" / "k3_weights_only", folder)
    config, weights = folder / "model_config.json", folder / "model.weights.h5"
    inputs = sorted(folder.glob("call0_input*.npy"))
    record = tmp_path / "g.npz"
    assert main(["golden", "record", str(config), "--weights", str(weights), "--input", *map(str, inputs),
                 "--output", str(record)]) == 0
    assert set(golden.read_golden(record).files) == {"model_config.json", "model.weights.h5"}
