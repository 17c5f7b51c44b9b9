"""Hostile and broken TF.js model files: each gets one of our errors, quickly, without reading outside the model's
folder or allocating what a file merely declares. README "Hostile and broken inputs" lists these cases."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tfjs_interop
from tests.support.modelfiles import functional, input_layer, layer, write_model
from tfjs_interop.errors import LimitError, ModelFormatError, SecurityError, TfjsInteropError, WeightsError
from tfjs_interop.formats.tfjs.reader import decode_model_json

KERNEL = np.arange(8, dtype=np.float32).reshape(4, 2) / 8 - 0.25
BIAS = np.array([0.5, -0.5], np.float32)


def _dense(tmp_path, units=2, shape=(None, 4), **config):
    topology = functional([input_layer("x", list(shape)), layer("Dense", "d", [["x", 0, 0]], units=units, **config)],
                          ["x"], ["d"])
    return write_model(tmp_path, topology, {"d/kernel": KERNEL, "d/bias": BIAS})


def _edit(path, change):
    """Rewrite model.json after ``change(document)``."""
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))
    return path


def _entry(document, i=0):
    return document["weightsManifest"][0]["weights"][i]


def _never_fetch(path):
    raise AssertionError(f"fetched {path!r}: the manifest should have been refused first")


def test_the_dense_helper_model_loads(tmp_path):
    np.testing.assert_allclose(tfjs_interop.load(_dense(tmp_path)).predict(np.ones((1, 4), np.float32)),
                               np.ones((1, 4)) @ KERNEL + BIAS, rtol=1e-6)


# --- JSON ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,message", [
    ('{"modelTopology": {', "invalid JSON"),
    ('{"modelTopology": Infinity, "weightsManifest": []}', "invalid JSON.*Infinity"),
    ('{"modelTopology": -NaN, "weightsManifest": []}', "invalid JSON"),
    (b"\xff\xfe{}", "invalid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"weightsManifest": []}', "missing required key 'modelTopology'"),
    ('{"modelTopology": [], "weightsManifest": []}', "modelTopology must be an object"),
    ('{"modelTopology": {"class_name": "Model"}, "weightsManifest": {}}', "weightsManifest must be a list"),
    ('{"format": "graph-model", "modelTopology": {}, "weightsManifest": []}', "graph models cannot be read"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"modelTopology": ' + "[" * 200 + "]" * 200 + ', "weightsManifest": []}', "over 128 levels"),
])
def test_broken_json_is_a_format_error(tmp_path, text, message):
    (tmp_path / "model.json").write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ModelFormatError, match=message):
        tfjs_interop.load(tmp_path)


@pytest.mark.parametrize("change,message", [
    (lambda d: _entry(d).pop("shape"), "shape must be a list"),
    (lambda d: _entry(d).__setitem__("name", 7), "name must be a non-empty string"),
    (lambda d: d["weightsManifest"][0].__setitem__("paths", "group1-shard1of1.bin"), "paths must be a list"),
    (lambda d: d["weightsManifest"].__setitem__(0, "w.bin"), r"weightsManifest\[0\] must be an object"),
    (lambda d: d["modelTopology"]["config"].__setitem__("layers", {"d": 1}), "needs a 'layers' list"),
    (lambda d: d["modelTopology"].__setitem__("keras_version", 4), "keras_version must be a string"),
    (lambda d: d["modelTopology"]["config"]["layers"][1].__setitem__("inbound_nodes", "x"), "expected a list"),
    (lambda d: d["modelTopology"]["config"]["layers"][1]["config"].__setitem__("units", "2"), "`units`"),
])
def test_missing_and_mistyped_keys_are_format_errors(tmp_path, change, message):
    with pytest.raises(ModelFormatError, match=message):
        tfjs_interop.load(_edit(_dense(tmp_path), change))


def test_deep_but_legal_nesting_gives_our_error_not_a_recursion_error(tmp_path):
    inner = {"class_name": "Dense", "config": {"name": "inner", "units": 2}}
    for i in range(60):  # about 120 levels of JSON, under the limit
        inner = {"class_name": "TimeDistributed", "config": {"name": f"td{i}", "layer": inner}}
    td = {"name": "td", "class_name": "TimeDistributed", "config": {"name": "td", "layer": inner},
          "inbound_nodes": [[["x", 0, 0, {}]]]}
    path = write_model(tmp_path, functional([input_layer("x", [None, 3, 4]), td], ["x"], ["td"]), {})
    with pytest.raises(TfjsInteropError):
        tfjs_interop.load(path)


# --- paths -----------------------------------------------------------------------------------------------------

def test_symlink_pointing_outside_the_folder_is_refused(tmp_path):
    outside = tmp_path / "secret.bin"
    outside.write_bytes(KERNEL.tobytes() + BIAS.tobytes())
    path = _dense(tmp_path / "model")
    shard = tmp_path / "model" / "group1-shard1of1.bin"
    shard.unlink()
    shard.symlink_to(outside)
    with pytest.raises(SecurityError, match="leaves the model's folder"):
        tfjs_interop.load(path)


def test_symlink_inside_the_folder_is_followed(tmp_path):
    path = _dense(tmp_path)
    (tmp_path / "group1-shard1of1.bin").rename(tmp_path / "real.bin")
    (tmp_path / "group1-shard1of1.bin").symlink_to(tmp_path / "real.bin")
    assert tfjs_interop.load(path).count_params() == 10


@pytest.mark.parametrize("bad", ["C:\\weights.bin", "c:weights.bin", "\\\\server\\share\\w.bin",
                                 "file:///etc/passwd", "..", "sub/../.."])
def test_more_paths_leaving_the_folder_are_refused(tmp_path, bad):
    path = _edit(_dense(tmp_path / "m"), lambda d: d["weightsManifest"][0].__setitem__("paths", [bad]))
    with pytest.raises(SecurityError, match="must be relative|leaves the model's folder"):
        tfjs_interop.load(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_shard_is_refused_without_blocking(tmp_path):
    path = _dense(tmp_path)
    (tmp_path / "group1-shard1of1.bin").unlink()
    os.mkfifo(tmp_path / "group1-shard1of1.bin")
    with pytest.raises(WeightsError, match="not a regular file"):
        tfjs_interop.load(path)


def test_a_folder_named_as_shard_is_refused(tmp_path):
    path = _dense(tmp_path)
    (tmp_path / "group1-shard1of1.bin").unlink()
    (tmp_path / "group1-shard1of1.bin").mkdir()
    with pytest.raises(WeightsError, match="not a regular file"):
        tfjs_interop.load(path)


# --- shapes and sizes --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,error,message", [
    ([2**62, 2**62], LimitError, f"declares at least {4 * 2**124} bytes"),
    ([10**12], LimitError, "over the limit of 2147483648 bytes"),
    ([1] * 33, ModelFormatError, "at most 32 sizes"),
    ([4, -2], ModelFormatError, "non-negative integers"),
    ([4, True], ModelFormatError, "non-negative integers"),
])
def test_absurd_shapes_are_refused_before_any_shard_is_read(shape, error, message):
    document = {"modelTopology": {"class_name": "Model", "config": {}},
                "weightsManifest": [{"paths": ["w.bin"], "weights": [{"name": "w", "shape": shape,
                                                                      "dtype": "float32"}]}]}
    with pytest.raises(error, match=message):
        decode_model_json(document, "model.json", _never_fetch)


def test_shape_exceeding_the_bytes_present_names_weight_and_sizes(tmp_path):
    path = _edit(_dense(tmp_path), lambda d: _entry(d).__setitem__("shape", [1000, 1000]))
    with pytest.raises(WeightsError, match=r"'d/kernel' \(float32, shape \[1000, 1000\]\) needs 4000000 bytes.*"
                                           r"hold only 40 bytes"):
        tfjs_interop.load(path)


def test_truncated_shard(tmp_path):
    path = _dense(tmp_path)
    shard = tmp_path / "group1-shard1of1.bin"
    shard.write_bytes(shard.read_bytes()[:-3])
    with pytest.raises(WeightsError, match=r"'d/bias'.*needs 8 bytes.*group1-shard1of1.bin"):
        tfjs_interop.load(path)


def test_oversized_shard(tmp_path):
    path = _dense(tmp_path)
    with open(tmp_path / "group1-shard1of1.bin", "ab") as shard:
        shard.write(b"\0" * 5)
    with pytest.raises(WeightsError, match="hold 45 bytes but the manifest declares 40"):
        tfjs_interop.load(path)


def test_a_model_json_over_its_size_limit_is_refused_unread(tmp_path, monkeypatch):
    path = _dense(tmp_path)
    monkeypatch.setattr("tfjs_interop.formats.tfjs.reader.MAX_JSON_BYTES", 100)
    with pytest.raises(ModelFormatError, match=r"model.json is \d+ bytes, over the limit of 100 for such a file"):
        tfjs_interop.load(path)


def test_files_over_max_bytes_are_refused(tmp_path):
    path = _dense(tmp_path)
    size = path.stat().st_size
    with pytest.raises(LimitError, match="weight file 'group1-shard1of1.bin' takes the model past the limit"):
        tfjs_interop.load(path, max_bytes=size + 20)
    with pytest.raises(LimitError, match="model.json takes the model past the limit of 100 bytes"):
        tfjs_interop.load(path, max_bytes=100)
    assert tfjs_interop.load(path, max_bytes=size + 40).count_params() == 10


def test_declared_weights_over_max_bytes_are_refused_before_reading(tmp_path):
    path = _dense(tmp_path)
    (tmp_path / "group1-shard1of1.bin").unlink()  # never read: the manifest alone is over the limit
    with pytest.raises(LimitError, match="declares at least 40 bytes of weights, over the limit of 39 bytes"):
        decode_model_json(json.loads(path.read_text()), str(path), _never_fetch, max_bytes=39)


@pytest.mark.parametrize("max_bytes", [0, -1, 1.5, True])
def test_max_bytes_must_be_a_positive_integer(tmp_path, max_bytes):
    with pytest.raises(ValueError, match="max_bytes must be a positive integer"):
        tfjs_interop.load(_dense(tmp_path), max_bytes=max_bytes)


# --- dtypes and quantization -------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype,data", [
    ("string", b"\0\0\0\0" * 8),
    ("complex64", np.zeros(8, np.complex64).tobytes()),
])
def test_non_numeric_weights_are_refused_when_bound(tmp_path, dtype, data):
    path = _edit(_dense(tmp_path), lambda d: _entry(d).__setitem__("dtype", dtype))
    (tmp_path / "group1-shard1of1.bin").write_bytes(data + BIAS.tobytes())
    with pytest.raises(WeightsError, match=f"'kernel' must hold numbers, found an array of (object|{dtype})"):
        tfjs_interop.load(path)


@pytest.mark.parametrize("quantization,message", [
    ({"dtype": "uint8", "scale": 0.1}, r"quantization.min must be a finite number, found None"),
    ({"dtype": "uint8", "min": 0.1}, r"quantization.scale must be a finite number, found None"),
    ({"dtype": "uint8", "scale": float("nan"), "min": 0}, "quantization.scale must be a finite number, found nan"),
    ({"dtype": "uint8", "scale": 0.1, "min": float("-inf")}, "quantization.min must be a finite number"),
    ({"dtype": "uint8", "scale": -0.1, "min": 0}, "quantization.scale must not be negative"),
    ({"dtype": "uint8", "scale": "0.1", "min": 0}, "quantization.scale must be a finite number"),
    ({"dtype": "uint16", "scale": 1, "min": 0, "original_dtype": "int32"}, "original_dtype 'int32' contradicts"),
    ({"dtype": "float16", "original_dtype": "bool"}, "original_dtype 'bool' contradicts"),
    ({"dtype": "int8", "scale": 1, "min": 0}, "quantization must name a dtype"),
    ({"scale": 1, "min": 0}, "quantization must name a dtype"),
    ("uint8", "quantization must name a dtype"),
])
def test_nonsensical_quantization_is_refused(quantization, message):
    document = {"modelTopology": {"class_name": "Model", "config": {}},
                "weightsManifest": [{"paths": ["w.bin"], "weights": [
                    {"name": "w", "shape": [2], "dtype": "float32", "quantization": quantization}]}]}
    with pytest.raises(ModelFormatError, match=message):
        decode_model_json(document, "model.json", _never_fetch)


def test_quantized_bool_is_refused():
    document = {"modelTopology": {"class_name": "Model", "config": {}}, "weightsManifest": [{"paths": ["w.bin"],
                "weights": [{"name": "w", "shape": [2], "dtype": "bool",
                             "quantization": {"dtype": "uint8", "scale": 1, "min": 0}}]}]}
    with pytest.raises(ModelFormatError, match="only float32 and int32 tensors can be quantized, found bool"):
        decode_model_json(document, "model.json", _never_fetch)


# --- topology and configs ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("config,message", [
    ({"units": 10**12}, r"layer 'd' \(Dense\) outputs shape \(None, 1000000000000\), 4000000000000 bytes per sample"),
    ({"units": 2**70}, "bytes per sample, over the limit"),
    ({"shape": (None, 10**12)}, r"layer 'x' \(InputLayer\) outputs shape \(None, 1000000000000\)"),
    ({"shape": (None, 2**31, 2**31)}, "InputLayer"),
])
def test_absurd_sizes_in_configs_are_refused_without_allocating(tmp_path, config, message):
    with pytest.raises(LimitError, match=message):
        tfjs_interop.load(_dense(tmp_path, **config))


def test_repeat_vector_of_a_trillion_steps_is_refused_at_load(tmp_path):
    topology = functional([input_layer("x", [None, 4]), layer("RepeatVector", "r", [["x", 0, 0]], n=10**12)],
                          ["x"], ["r"])
    with pytest.raises(LimitError, match=r"'r' \(RepeatVector\) outputs shape \(None, 1000000000000, 4\)"):
        tfjs_interop.load(write_model(tmp_path, topology, {}))


def test_max_bytes_also_bounds_layer_outputs(tmp_path):
    topology = functional([input_layer("x", [None, 4]), layer("RepeatVector", "r", [["x", 0, 0]], n=1000)],
                          ["x"], ["r"])
    path = write_model(tmp_path, topology, {})
    assert tfjs_interop.load(path).outputs[0].shape == (None, 1000, 4)
    with pytest.raises(LimitError, match="16000 bytes per sample, over the limit of 15999 bytes"):
        tfjs_interop.load(path, max_bytes=15999)


def test_huge_batch_size_in_the_input_shape_allocates_nothing(tmp_path):
    model = tfjs_interop.load(_dense(tmp_path, shape=(10**12, 4)))
    with pytest.raises(tfjs_interop.InputError, match=r"expected shape \(1000000000000, 4\), found \(1, 4\)"):
        model.predict(np.ones((1, 4), np.float32))


def test_units_contradicting_the_kernel(tmp_path):
    with pytest.raises(WeightsError, match=r"layer 'd'.*'kernel'.*expected \[4, 3\], found \[4, 2\]"):
        tfjs_interop.load(_dense(tmp_path, units=3))


def _chain(n, reverse=False):
    layers = [layer("Activation", f"a{i}", [[f"a{i - 1}" if i else "x", 0, 0]], activation="relu") for i in range(n)]
    return functional([input_layer("x", [None, 4])] + (layers[::-1] if reverse else layers), ["x"], [f"a{n - 1}"])


def test_a_long_chain_of_layers_is_refused_not_a_recursion_error(tmp_path):
    with pytest.raises(LimitError, match="'a500' is 501 calls deep, over the limit of 500"):
        tfjs_interop.load(write_model(tmp_path, _chain(2000), {}))


def test_a_long_chain_listed_backwards_is_refused_quickly(tmp_path):
    with pytest.raises(LimitError, match="nested more than 500 deep"):
        tfjs_interop.load(write_model(tmp_path, _chain(1000, reverse=True), {}))


def test_a_chain_at_the_depth_limit_loads_and_runs(tmp_path):
    assert sys.getrecursionlimit() >= 1000
    model = tfjs_interop.load(write_model(tmp_path, _chain(499), {}))
    np.testing.assert_array_equal(model.predict(np.array([[-1, 0, 2, 3]], np.float32)), [[0, 0, 2, 3]])


def test_too_many_layers_are_refused(tmp_path):
    topology = functional([input_layer("x", [None, 4])] + [layer("Activation", f"a{i}", [["x", 0, 0]],
                                                                 activation="relu") for i in range(5000)],
                          ["x"], ["a0"])
    with pytest.raises(LimitError, match="5001 layers, over the limit of 4096"):
        tfjs_interop.load(write_model(tmp_path, topology, {}))


def test_cycle_through_a_shared_layer_is_refused(tmp_path):
    looped = {**layer("Dense", "d", None, units=4), "inbound_nodes": [[["x", 0, 0, {}]], [["d", 1, 0, {}]]]}
    topology = functional([input_layer("x", [None, 4]), looped], ["x"], [["d", 1, 0]])
    with pytest.raises(ModelFormatError, match="cycle|never made"):
        tfjs_interop.load(write_model(tmp_path, topology, {}))


def test_an_input_layer_that_is_not_a_model_input(tmp_path):
    topology = functional([input_layer("x", [None, 4]), input_layer("y", [None, 4]),
                           layer("Add", "a", [["x", 0, 0], ["y", 0, 0]])], ["x"], ["a"])
    with pytest.raises(ModelFormatError, match="input layer 'y' is used but is not one of the model's inputs"):
        tfjs_interop.load(write_model(tmp_path, topology, {}))


def test_sequential_with_a_non_list_input_shape(tmp_path):
    topology = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 2, "input_shape": 4}}]}}
    with pytest.raises(ModelFormatError, match="no batch_input_shape"):
        tfjs_interop.load(write_model(tmp_path, topology, {"d/kernel": KERNEL, "d/bias": BIAS}))


def test_the_cli_reports_a_limit_in_one_line(tmp_path):
    path = _dense(tmp_path)
    result = subprocess.run([sys.executable, "-m", "tfjs_interop", "summary", str(path), "--max-bytes", "100"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"tfjs-interop: error: {path}: model.json takes the model past the limit of 100 bytes "
        f"({path.stat().st_size} more bytes, 100 left); pass a larger max_bytes (--max-bytes) to allow it"]
