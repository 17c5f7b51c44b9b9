"""The command line as users of TF Serving, ONNX Runtime and Unix tools expect it, run as the installed command:
JSON in and out, machine-readable summaries, outputs by name, progress on a terminal only, clean exits."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import TFJS_FIXTURES

TFJS_INTEROP = str(Path(sys.executable).with_name("tfjs-interop"))
SEED = TFJS_FIXTURES / "seed_lstm"
KERAS = TFJS_FIXTURES.parent / "keras"
MULTI = KERAS / "k2_multi_io_merges" / "model.h5"
X = np.load(SEED / "call0_input0.npy")
Y = np.load(SEED / "call0_output0.npy")


def _cli(*args: object, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([TFJS_INTEROP, *map(str, args)], capture_output=True, text=True, timeout=180, cwd=cwd,
                          input=stdin)


def _ok(*args: object, **kwargs) -> subprocess.CompletedProcess:
    result = _cli(*args, **kwargs)
    assert result.returncode == 0, result.stderr
    return result


def _error(*args: object, **kwargs) -> str:
    result = _cli(*args, **kwargs)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr


# -- JSON in and out -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("request_body,answer_key", [
    ({"instances": X.tolist()}, "predictions"),
    ({"inputs": X.tolist()}, "outputs"),
    ({"inputs": {"input1": X.tolist()}}, "outputs"),
    (X.tolist(), "predictions"),
])
def test_predict_takes_tf_serving_json_and_answers_in_its_form(tmp_path, request_body, answer_key):
    (tmp_path / "x.json").write_text(json.dumps(request_body))
    _ok("predict", SEED, "--input", tmp_path / "x.json", "--output", tmp_path / "y.json")
    answer = json.loads((tmp_path / "y.json").read_text())
    assert list(answer) == [answer_key]
    np.testing.assert_allclose(np.array(answer[answer_key], np.float32), Y, atol=1e-5, rtol=0)


def test_predict_json_on_stdin_and_stdout():
    result = _ok("predict", SEED, "--input", "-", "--output", "-", stdin=json.dumps({"instances": X.tolist()}))
    np.testing.assert_allclose(np.array(json.loads(result.stdout)["predictions"], np.float32), Y, atol=1e-5, rtol=0)


def _multi_inputs() -> tuple[np.ndarray, np.ndarray]:
    return (np.load(MULTI.parent / "call0_input0.npy"), np.load(MULTI.parent / "call0_input1.npy"))


def test_several_inputs_and_outputs_by_name_in_rows_and_columns(tmp_path):
    a, b = _multi_inputs()
    want = [np.load(MULTI.parent / f"call0_output{k}.npy") for k in range(2)]
    rows = {"instances": [{"a": a[i].tolist(), "b": b[i].tolist()} for i in range(len(a))]}
    result = _ok("predict", MULTI, "--input", "-", "--output", "-", stdin=json.dumps(rows))
    predictions = json.loads(result.stdout)["predictions"]
    assert len(predictions) == len(a) and set(predictions[0]) == {"out1", "out2"}
    for k, name in enumerate(("out1", "out2")):
        np.testing.assert_allclose(np.array([p[name] for p in predictions], np.float32), want[k], atol=1e-5)
    columns = {"inputs": {"a": a.tolist(), "b": b.tolist()}}
    result = _ok("predict", MULTI, "-i", "-", "-o", "-", "--outputs", "out2", stdin=json.dumps(columns))
    np.testing.assert_allclose(np.array(json.loads(result.stdout)["outputs"], np.float32), want[1], atol=1e-5)


def test_outputs_pick_and_order_outputs_by_name(tmp_path):
    a, b = _multi_inputs()
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    _ok("predict", MULTI, "--input", tmp_path / "a.npy", tmp_path / "b.npy", "--outputs", "out2", "out1",
        "--output", tmp_path / "y.npz")
    with np.load(tmp_path / "y.npz") as y:
        np.testing.assert_allclose(y["output_0"], np.load(MULTI.parent / "call0_output1.npy"), atol=1e-5)
        np.testing.assert_allclose(y["output_1"], np.load(MULTI.parent / "call0_output0.npy"), atol=1e-5)
    _ok("predict", MULTI, "--input", tmp_path / "a.npy", "--input", tmp_path / "b.npy", "--outputs", "out1",
        "--output", tmp_path / "one.npy")
    np.testing.assert_allclose(np.load(tmp_path / "one.npy"), np.load(MULTI.parent / "call0_output0.npy"), atol=1e-5)
    assert "no output named 'nope'; the outputs are ['out1', 'out2']" in _error(
        "predict", MULTI, "-i", tmp_path / "a.npy", tmp_path / "b.npy", "--outputs", "nope", "-o", tmp_path / "z.npz")


@pytest.mark.parametrize("body,message", [
    ('{"instances": [[1, 2], [3]]}', "not a rectangular array of numbers"),
    ('{"instances": [{"input1": 1, "other": 2}]}', "unknown input(s) ['other']"),
    ('{"instances": [{"x": 1}]}', "instance 0 has no input 'input1'"),
    ('{"rows": []}', 'expected {"instances": [...]}'),
    ('{"instances": [["a"]]}', "must hold numbers"),
    ("not json", "invalid JSON"),
])
def test_bad_json_inputs_are_one_line_errors(body, message):
    assert message in _error("predict", SEED, "--input", "-", "--output", "-", stdin=body)


def test_a_plain_list_for_several_inputs_says_how_to_name_them():
    assert "give objects by input name" in _error("predict", MULTI, "-i", "-", "-o", "-", stdin="[[1]]")


def test_summary_json_lists_inputs_in_order_with_shapes_and_dtypes(tmp_path):
    summary = json.loads(_ok("summary", MULTI, "--json").stdout)
    assert [(s["name"], s["shape"], s["dtype"]) for s in summary["inputs"]] == [
        ("a", [None, 6, 4], "float32"), ("b", [None, 6, 4], "float32")]
    assert [s["name"] for s in summary["outputs"]] == ["out1", "out2"]
    model = tfjs_interop.load(MULTI)
    assert summary["total_params"] == model.count_params() == 413
    assert [layer["name"] for layer in summary["layers"]] == [layer.name for layer in model.layers]
    assert sum(layer["params"] for layer in summary["layers"]) == 413
    _ok("summary", SEED, "--json", "--output", tmp_path / "deep" / "s.json")
    seed = json.loads((tmp_path / "deep" / "s.json").read_text())
    assert seed["layers"][1] == {"name": "lstm_LSTM1", "class_name": "LSTM", "params": 5248,
                                 "output_shapes": [[[None, 10, 32]]]}


def test_reports_as_json_on_stdout_with_dash(tmp_path):
    _ok("golden", "record", SEED, "--input", SEED / "call0_input0.npy", "--output", tmp_path / "g.npz")
    result = _ok("golden", "check", SEED, tmp_path / "g.npz", "--json", "-")
    assert json.loads(result.stdout)["passed"] is True and not (Path.cwd() / "-").exists()


# -- one spelling per option ---------------------------------------------------------------------------------------
def test_input_and_output_spellings_are_the_same_on_every_command(tmp_path):
    np.savez(tmp_path / "x.npz", input1=X)
    for flag in ("--input", "--inputs", "-i"):
        _ok("predict", SEED, flag, SEED / "call0_input0.npy", "--out", tmp_path / "y.npy")
        _ok("golden", "record", SEED, flag, SEED / "call0_input0.npy", "--output", tmp_path / "g.npz")
    for flag in ("--output", "--out", "-o"):
        _ok("golden", "record", SEED, "--input", tmp_path / "x.npz", flag, tmp_path / "g2.npz")
    assert _ok("verify", SEED, "--against", tmp_path / "g2.npz").stdout.strip().endswith("PASSED")


def test_weights_on_verify_and_golden(tmp_path):
    """A topology JSON with a weights-only file, from the command line (Keras's recorded outputs pass)."""
    case = KERAS / "k3_weights_only"
    config, weights = case / "model_config.json", case / "model.weights.h5"
    _ok("golden", "record", config, "--weights", weights, "--input", case / "call0_input0.npy", "--output",
        tmp_path / "g.npz")
    recorded = tfjs_interop.golden.read_golden(tmp_path / "g.npz")
    np.testing.assert_allclose(next(iter(recorded.outputs.values())), np.load(case / "call0_output0.npy"),
                               atol=1e-5, rtol=0)
    assert _ok("golden", "check", config, tmp_path / "g.npz", "--weights", weights).stdout.strip().endswith("PASSED")
    assert _ok("verify", config, "--weights", weights, "--against", tmp_path / "g.npz").returncode == 0
    assert "holds no weights" in _error("golden", "check", config, tmp_path / "g.npz")


# -- every destination checked before any work ---------------------------------------------------------------------
def test_a_bad_output_path_is_refused_before_reading_inputs(tmp_path):
    """stdin is left open and empty: reading the inputs would block, so a prompt error proves the order."""
    (tmp_path / "file").write_text("x")
    cases = [("predict", SEED, "-i", "-", "-o", tmp_path / "file" / "y.npy"),
             ("predict", SEED, "-i", "-", "-o", tmp_path / "y.onnx"),
             ("predict", MULTI, "-i", "-", "-o", tmp_path / "y.npy"),
             ("golden", "record", SEED, "-i", "-", "-o", tmp_path / "file" / "g.npz")]
    messages = ["is a file, not a folder", "must end in .npy, .npz or .json", "gives 2 outputs ['out1', 'out2']",
                "is a file, not a folder"]
    for args, message in zip(cases, messages):
        process = subprocess.Popen([TFJS_INTEROP, *map(str, args)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        try:
            _, stderr = process.communicate(timeout=60)
        finally:
            process.kill()
        assert process.returncode == 2 and message in stderr, stderr


def test_missing_parent_folders_are_created(tmp_path):
    _ok("predict", SEED, "-i", SEED / "call0_input0.npy", "-o", tmp_path / "a" / "b" / "y.npy")
    _ok("convert", SEED, tmp_path / "c" / "d" / "m.keras")
    np.testing.assert_allclose(np.load(tmp_path / "a" / "b" / "y.npy"), Y, atol=1e-5)
    assert (tmp_path / "c" / "d" / "m.keras").is_file()


def test_errors_name_flags_not_python_arguments(tmp_path):
    assert "--max-bytes" in _error("summary", SEED, "--max-bytes", "1000")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("x")
    stderr = _error("convert", SEED, tmp_path / "out")
    assert "--overwrite" in stderr and "is not empty" in stderr
    assert "--weights FILE" in _error("summary", KERAS / "k3_weights_only" / "model_config.json")


def test_temporary_names_never_reach_messages():
    from argparse import Namespace

    from tfjs_interop.cli import _without_temp_names

    args = Namespace(destination="web")
    message = "/data/.web.k2j3h4.tmp/group1-shard1of1.bin: No space left on device"
    assert _without_temp_names(message, args) == "web: No space left on device"
    assert _without_temp_names("'/x/.m.keras.abc.tmp' exists", args) == "'web' exists"


# -- progress bars ------------------------------------------------------------------------------------------------
def _run_on_a_terminal(*args: object) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal (stdout a pipe); return the exit status and what the terminal got."""
    main, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a new pty is 0 columns wide
    process = subprocess.Popen([TFJS_INTEROP, *map(str, args)], stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    process.communicate(timeout=60)
    os.close(main)
    return process.returncode, seen.decode(errors="replace")


@pytest.mark.needs("tqdm")
def test_predict_draws_a_bar_on_a_terminal_only(tmp_path):
    args = ("predict", SEED, "-i", SEED / "call0_input0.npy", "--batch-size", "1", "-o", tmp_path / "y.npy")
    status, terminal = _run_on_a_terminal(*args)
    assert status == 0 and "predict:" in terminal and "batch/s" in terminal and "0/3" in terminal, terminal
    status, terminal = _run_on_a_terminal(*args, "--quiet")
    assert status == 0 and terminal == ""
    result = _ok(*args)  # stderr a pipe: nothing drawn
    assert result.stderr == ""


@pytest.mark.needs("tqdm")
def test_model_predict_verbose_as_keras(capsys):
    model = tfjs_interop.load(SEED)
    np.testing.assert_array_equal(model.predict(X, batch_size=1, verbose=1), model.predict(X, batch_size=1, verbose=0))
    assert "| 0/3 [" in capsys.readouterr().err  # a bar, forced
    model.predict(X, batch_size=1)  # "auto": stderr is not a terminal here
    assert capsys.readouterr().err == ""
    model.predict(X, batch_size=1, verbose=2)
    assert capsys.readouterr().err.startswith("predict: 3/3 batches - ")
    with pytest.raises(tfjs_interop.InputError, match="verbose must be 'auto', 0, 1 or 2, got 3"):
        model.predict(X, verbose=3)


def test_verbose_1_without_tqdm_prints_one_line(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if the progress extra were not installed
    tfjs_interop.load(SEED).predict(X, batch_size=1, verbose=1)
    assert capsys.readouterr().err.startswith("predict: 3/3 batches - ")


# -- clean exits ---------------------------------------------------------------------------------------------------
def test_ctrl_c_prints_one_line_and_exits_130(tmp_path):
    process = subprocess.Popen([TFJS_INTEROP, "predict", str(SEED), "-i", "-", "-o", str(tmp_path / "y.npy")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)  # loaded, waiting for stdin
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130 and stderr == "tfjs-interop: interrupted\n", stderr


def test_ctrl_c_while_the_command_line_imports_is_one_line_and_130(monkeypatch, capsys):
    """The command's modules take a few tenths of a second to import: a Ctrl-C then gave a traceback and -2."""
    import importlib.abc

    from tfjs_interop import entry

    class Interrupting(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "tfjs_interop.cli":
                raise KeyboardInterrupt
            return None

    monkeypatch.delitem(sys.modules, "tfjs_interop.cli", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Interrupting(), *sys.meta_path])
    assert entry.main() == 130
    assert capsys.readouterr().err == "tfjs-interop: interrupted\n"


def test_a_closed_pipe_ends_silently():
    x = np.random.default_rng(0).normal(size=(400, 10, 8)).tolist()
    process = subprocess.Popen([TFJS_INTEROP, "predict", str(SEED), "-i", "-", "-o", "-"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        process.stdin.write(json.dumps(x).encode())
        process.stdin.close()
        assert process.stdout.read(100).startswith(b'{"predictions": [[[')  # then stop reading, like `| head`
        process.stdout.close()
        process.wait(timeout=120)
        stderr = process.stderr.read()
    finally:
        process.kill()
    assert process.returncode == 141 and stderr == b"", stderr


def test_a_warning_is_one_line_without_python_source(tmp_path):
    from tests.support import http_site

    server = http_site.serve(http_site.fixture_site(tmp_path / "site"))
    url = f"http://127.0.0.1:{server.server_port}/files/seed_lstm/model.json"
    try:
        _ok("summary", url, "--cache-dir", tmp_path / "cache")
    finally:
        http_site.stop(server)
    result = _ok("summary", url, "--cache-dir", tmp_path / "cache")
    assert result.stderr.startswith("tfjs-interop: warning: ") and "using the cached copy" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "warnings.warn" not in result.stderr
    assert "Total params: 5,248" in result.stdout
