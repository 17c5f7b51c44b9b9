"""The command line, run as a user would: ``python -m tfjs_interop ...`` in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import ROOT, TFJS_FIXTURES
from tests.support.modelfiles import functional, input_layer, layer, write_model

SEED = TFJS_FIXTURES / "seed_lstm"


TFJS_INTEROP = str(Path(sys.executable).with_name("tfjs-interop"))  # the installed command, as a user runs it


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TFJS_INTEROP, *args], capture_output=True, text=True, timeout=120)


def test_summary_prints_the_table():
    result = _cli("summary", str(SEED))
    assert result.returncode == 0, result.stderr
    assert "(None, 10, 32)" in result.stdout and "Total params: 5,248" in result.stdout


def test_predict_writes_npy(tmp_path):
    out = tmp_path / "y.npy"
    result = _cli("predict", str(SEED), "--input", str(SEED / "call0_input0.npy"), "--output", str(out))
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(np.load(out), np.load(SEED / "call0_output0.npy"), atol=1e-5)


def test_predict_reads_npz_by_name_and_writes_npz(tmp_path):
    x = np.load(SEED / "call0_input0.npy")
    np.savez(tmp_path / "x.npz", input1=x)
    result = _cli("predict", str(SEED / "model.json"), "-i", str(tmp_path / "x.npz"), "-o", str(tmp_path / "y.npz"),
                  "--batch-size", "1")
    assert result.returncode == 0, result.stderr
    with np.load(tmp_path / "y.npz") as y:
        np.testing.assert_allclose(y["output_0"], np.load(SEED / "call0_output0.npy"), atol=1e-5)


@pytest.mark.parametrize("args,message", [
    (["summary", "no/such/folder"], "no such model file"),
    (["predict", str(SEED), "--input", str(SEED / "group1-shard1of1.bin"), "--output", "y.npy"], "must be .npy"),
])
def test_errors_are_one_line_without_traceback(args, message):
    result = _cli(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("content", [b"not an array", b"PK\x03\x04broken zip"])
def test_unreadable_input_files_are_one_line_errors(tmp_path, content):
    suffix = ".npz" if content.startswith(b"PK") else ".npy"
    (tmp_path / f"x{suffix}").write_bytes(content)
    result = _cli("predict", str(SEED), "--input", str(tmp_path / f"x{suffix}"), "--output", str(tmp_path / "y.npy"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"not a readable {suffix} file" in result.stderr


def test_wrong_input_shape_is_a_clear_error(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 10, 7), np.float32))
    result = _cli("predict", str(SEED), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy"))
    assert result.returncode == 2
    assert "expected shape (None, 10, 8), found (2, 10, 7)" in result.stderr


@pytest.mark.parametrize("command", [[], ["summary"], ["predict"], ["convert"]])
def test_help(command):
    result = _cli(*command, "--help")
    assert result.returncode == 0 and "usage: tfjs-interop" in result.stdout


def test_convert_writes_a_tfjs_folder_with_quantization_shards_and_metadata(tmp_path):
    (tmp_path / "meta.json").write_text('{"labels": ["a", "b"]}')
    out = tmp_path / "web"
    result = _cli("convert", str(SEED), str(out), "--quantize", "uint16=lstm*/kernel,lstm*/recurrent_kernel",
                  "--quantize", "float16", "--shard-size", "4000", "--metadata", str(tmp_path / "meta.json"))
    assert result.returncode == 0, result.stderr
    assert "model.json and 3 weight file(s)" in result.stdout
    document = json.loads((out / "model.json").read_text())
    quantized = {w["name"]: w["quantization"]["dtype"] for w in document["weightsManifest"][0]["weights"]}
    assert quantized == {"lstm_LSTM1/kernel": "uint16", "lstm_LSTM1/recurrent_kernel": "uint16",
                         "lstm_LSTM1/bias": "float16"}
    assert document["userDefinedMetadata"] == {"labels": ["a", "b"]}
    y = tfjs_interop.load(out).predict(np.load(SEED / "call0_input0.npy"))
    np.testing.assert_allclose(y, np.load(SEED / "call0_output0.npy"), atol=1e-3)


def test_convert_refuses_a_non_empty_folder_unless_overwrite(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("x")
    result = _cli("convert", str(SEED), str(tmp_path / "out"))
    assert result.returncode == 2 and "--overwrite" in result.stderr
    assert _cli("convert", str(SEED), str(tmp_path / "out"), "--overwrite").returncode == 0
    assert (tmp_path / "out" / "model.json").is_file() and not (tmp_path / "out" / "x").exists()


def test_convert_refusal_is_one_line_and_writes_nothing(tmp_path):
    gru = layer("GRU", "g", [["x", 0, 0]], units=2, reset_after=True)
    weights = {"g/kernel": np.ones((3, 6), np.float32), "g/recurrent_kernel": np.ones((2, 6), np.float32),
               "g/bias": np.ones((2, 6), np.float32)}
    src = write_model(tmp_path / "src", functional([input_layer("x", [None, 4, 3]), gru], ["x"], ["g"]), weights)
    result = _cli("convert", str(src), str(tmp_path / "out"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "'g' (GRU)" in result.stderr and "retrain with reset_after=False" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_convert_rejects_tfjs_flags_for_keras_output(tmp_path):
    result = _cli("convert", str(SEED), str(tmp_path / "m.h5"), "--quantize", "uint8")
    assert result.returncode == 2 and "--quantize applies to TF.js output only" in result.stderr


@pytest.mark.tensorflow
def test_verify_passes_prints_the_table_and_writes_json(tmp_path):
    report = tmp_path / "report.json"
    result = _cli("verify", str(SEED), "--json", str(report))
    assert result.returncode == 0, result.stderr
    assert "PASSED" in result.stdout and "max abs err" in result.stdout
    data = json.loads(report.read_text())
    assert data["passed"] is True and data["against"].startswith("tensorflow")


@pytest.mark.tensorflow
def test_verify_takes_inputs_from_npz(tmp_path):
    inputs = tmp_path / "x.npz"
    np.savez(inputs, input1=np.load(SEED / "call0_input0.npy"))
    result = _cli("verify", str(SEED), "--inputs", str(inputs))
    assert result.returncode == 0, result.stderr
    assert "inputs generated" not in result.stdout


@pytest.mark.tensorflow
def test_verify_mismatch_exits_1(monkeypatch, capsys, tmp_path):
    from tfjs_interop import cli
    from tfjs_interop.runtime.layers.cells import LSTMCell

    project = LSTMCell.project  # the input projection: both the NumPy and the compiled loop use it
    monkeypatch.setattr(LSTMCell, "project", lambda self, x, **kw: project(self, x, **kw) + np.float32(1e-3))
    assert cli.main(["verify", str(SEED), "--json", str(tmp_path / "r.json")]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "first divergent layer: lstm_LSTM1" in out
    assert json.loads((tmp_path / "r.json").read_text())["first_divergent_layer"] == "lstm_LSTM1"


def test_verify_against_a_golden_record(tmp_path):
    golden = tmp_path / "g.npz"
    assert _cli("golden", "record", str(SEED), "--inputs", str(SEED / "call0_input0.npy"), "--out",
                str(golden)).returncode == 0
    result = _cli("verify", str(SEED), "--against", str(golden))
    assert result.returncode == 0 and "PASSED" in result.stdout and "g.npz" in result.stdout


def test_verify_usage_errors_exit_2(tmp_path):
    result = _cli("verify", str(SEED), "--against", "somewhere.txt")
    assert result.returncode == 2 and "--against" in result.stderr
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not a zip")
    result = _cli("verify", str(SEED), "--inputs", str(bad))
    assert result.returncode == 2 and "x.npz" in result.stderr


def test_convert_works_in_both_directions(tmp_path):
    """TF.js folder -> .keras -> TF.js folder and Keras .h5 -> TF.js folder, from the command line. (The seed
    model's TF.js hard_sigmoid is written to Keras 3 by rescaling weights; back to TF.js, Keras 3's hard_sigmoid is
    refused, so the round trip uses a sigmoid model.)"""
    case = TFJS_FIXTURES / "lstm_relu_sigmoid"
    x = np.load(case / "call0_input0.npy")
    want = np.load(case / "call0_output0.npy")
    assert _cli("convert", str(case), str(tmp_path / "m.keras")).returncode == 0
    assert _cli("convert", str(tmp_path / "m.keras"), str(tmp_path / "web")).returncode == 0
    np.testing.assert_allclose(tfjs_interop.load(tmp_path / "web").predict(x), want, atol=1e-5, rtol=0)
    keras_case = ROOT / "fixtures" / "keras" / "k2_lstm_seq_dense"
    result = _cli("convert", str(keras_case / "model.h5"), str(tmp_path / "from_keras"))
    assert result.returncode == 0, result.stderr
    y = tfjs_interop.load(tmp_path / "from_keras").predict(np.load(keras_case / "call0_input0.npy"))
    np.testing.assert_allclose(y, np.load(keras_case / "call0_output0.npy"), atol=1e-5, rtol=0)


def test_an_npz_naming_some_inputs_but_not_all_is_refused_not_taken_in_order(tmp_path):
    """Two inputs of one shape, the file naming one of them right and the other wrongly: taken in the file's
    order, input 1 would silently have received input 2's values."""
    from tfjs_interop.errors import InputError
    from tfjs_interop.formats.golden_file import read_input_file

    a, b = np.zeros((1, 2), np.float32), np.ones((1, 2), np.float32)
    np.savez(tmp_path / "x.npz", input2=b, inputl=a)
    with pytest.raises(InputError, match=r"missing \['input1'\]; no input is called \['inputl'\]"):
        read_input_file(tmp_path / "x.npz", ["input1", "input2"])
    np.savez(tmp_path / "extra.npz", input1=a, input2=b, labels=a)
    with pytest.raises(InputError, match=r"no input is called \['labels'\]"):
        read_input_file(tmp_path / "extra.npz", ["input1", "input2"])
    np.savez(tmp_path / "named.npz", input2=b, input1=a)
    assert list(read_input_file(tmp_path / "named.npz", ["input1", "input2"])) == ["input1", "input2"]
    np.savez(tmp_path / "positional.npz", a, b)  # arr_0, arr_1: in order
    got = read_input_file(tmp_path / "positional.npz", ["input1", "input2"])
    assert isinstance(got, list) and np.array_equal(got[0], a) and np.array_equal(got[1], b)


def test_json_inputs_take_nan_and_infinity_as_json_outputs_write_them():
    """``predict --output y.json`` writes NaN and Infinity (as TF Serving answers); ``--input`` read them back
    as invalid JSON before."""
    from tfjs_interop.json_io import format_outputs, parse_inputs

    text = format_outputs({"y": np.array([[np.nan, np.inf, -np.inf, 1.5]], np.float32)}, "inputs")
    arrays, form = parse_inputs(text.replace('"outputs"', '"inputs"').encode(), ["x"], "y.json")
    assert form == "inputs" and np.array_equal(arrays["x"], [[np.nan, np.inf, -np.inf, 1.5]], equal_nan=True)
