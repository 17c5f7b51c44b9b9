"""The weightsManifest decoder: dtypes, shards, quantization, and the errors for bytes that disagree."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tfjs_interop
from tests.support.modelfiles import functional, input_layer, layer, write_model
from tfjs_interop.errors import ModelFormatError, SecurityError, WeightsError
from tfjs_interop.formats.tfjs.manifest import decode_group, dequantize, parse_manifest, read_weights


def _group(weights, paths=("w.bin",)):
    return parse_manifest([{"paths": list(paths), "weights": weights}], "model.json")[0]


def test_decodes_float32_int32_bool_in_order():
    f = np.arange(6, dtype="<f4").reshape(2, 3) - 2.5
    i = np.array([-7, 0, 2**31 - 1], dtype="<i4")
    b = np.array([True, False, True])
    group = _group([{"name": "f", "shape": [2, 3], "dtype": "float32"},
                    {"name": "i", "shape": [3], "dtype": "int32"},
                    {"name": "b", "shape": [3], "dtype": "bool"}])
    out = decode_group(group, f.tobytes() + i.tobytes() + b.astype("u1").tobytes())
    np.testing.assert_array_equal(out["f"], f)
    np.testing.assert_array_equal(out["i"], i)
    np.testing.assert_array_equal(out["b"], b)
    assert out["f"].dtype == np.float32 and out["i"].dtype == np.int32 and out["b"].dtype == bool


def test_strings_are_length_prefixed():
    data = b"".join(len(s).to_bytes(4, "little") + s for s in [b"ab", b"", b"xyz"])
    out = decode_group(_group([{"name": "s", "shape": [3], "dtype": "string"}]), data)
    assert list(out["s"]) == [b"ab", b"", b"xyz"]


def test_a_tensor_may_straddle_shards():
    values = np.linspace(-1, 1, 10, dtype="<f4")
    data = values.tobytes()
    shards = {"a.bin": data[:13], "b.bin": data[13:]}
    groups = parse_manifest([{"paths": ["a.bin", "b.bin"],
                              "weights": [{"name": "w", "shape": [10], "dtype": "float32"}]}], "m.json")
    np.testing.assert_array_equal(read_weights(groups, shards.__getitem__)["w"], values)


def test_optimizer_entries_are_skipped():
    groups = parse_manifest([{"paths": ["a.bin"], "weights": [
        {"name": "w", "shape": [1], "dtype": "float32"},
        {"name": "iter", "shape": [], "dtype": "int32", "group": "optimizer"}]}], "m.json")
    data = np.float32(3).tobytes() + np.int32(5).tobytes()
    assert list(read_weights(groups, lambda _: data)) == ["w"]


@pytest.mark.parametrize("dtype,scale,minimum", [("uint8", 0.01, -1.27), ("uint16", 1e-4, -3.0)])
def test_affine_dequantization_is_q_times_scale_plus_min(dtype, scale, minimum):
    q = np.array([0, 1, 127, 255], dtype=dtype)
    entry = {"name": "w", "shape": [4], "dtype": "float32",
             "quantization": {"dtype": dtype, "scale": scale, "min": minimum}}
    out = decode_group(_group([entry]), q.tobytes())["w"]
    np.testing.assert_array_equal(out, (q.astype(np.float64) * scale + minimum).astype(np.float32))


def test_int32_dequantization_rounds_halves_up_like_javascript():
    q = np.array([1, 3, 5], dtype="u1")
    out = dequantize(q, parse_manifest([{"paths": [], "weights": [{"name": "w", "shape": [3], "dtype": "int32",
                     "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}}]}], "m")[0].entries[0]
                     .quantization, "int32")
    np.testing.assert_array_equal(out, [0, 1, 2])  # -0.5 -> 0, 0.5 -> 1, 1.5 -> 2


def test_float16_dequantization():
    values = np.array([0.5, -2.25, 65504, 6e-8], dtype="<f2")
    entry = {"name": "w", "shape": [4], "dtype": "float32", "quantization": {"dtype": "float16"}}
    out = decode_group(_group([entry]), values.tobytes())["w"]
    np.testing.assert_array_equal(out, values.astype(np.float32))


def test_short_shard_names_the_weight_and_the_file():
    group = _group([{"name": "a", "shape": [2], "dtype": "float32"},
                    {"name": "lstm/kernel", "shape": [4], "dtype": "float32"}], paths=("s1.bin", "s2.bin"))
    with pytest.raises(WeightsError, match=r"'lstm/kernel'.*needs 16 bytes.*'s2.bin'"):
        decode_group(group, b"\0" * 12, [8, 4])


def test_extra_bytes_are_reported():
    with pytest.raises(WeightsError, match="4 bytes are not described"):
        decode_group(_group([{"name": "a", "shape": [1], "dtype": "float32"}]), b"\0" * 8)


@pytest.mark.parametrize("entry,message", [
    ({"name": "w", "shape": [2], "dtype": "float64"}, "unknown dtype"),
    ({"name": "w", "shape": [-1], "dtype": "float32"}, "non-negative"),
    ({"name": "w", "shape": "2", "dtype": "float32"}, "shape must be a list"),
    ({"name": "", "shape": [1], "dtype": "float32"}, "non-empty string"),
    ({"name": "w", "shape": [1], "dtype": "float32", "quantization": {"dtype": "uint4"}}, "quantization"),
    ({"name": "w", "shape": [1], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": None,
                                                                      "min": 0}}, "scale"),
    ({"name": "w", "shape": [1], "dtype": {"float": 32}}, "unknown dtype"),
    ({"name": "w", "shape": [1], "dtype": "float32", "quantization": {"dtype": ["uint8"]}}, "quantization"),
    ({"name": "w", "shape": [1], "dtype": "int32", "quantization": {"dtype": "float16"}}, "float32 weights only"),
    ({"name": "w", "shape": [2.0], "dtype": "float32"}, "non-negative integers"),
])
def test_invalid_entries_are_refused(entry, message):
    with pytest.raises(ModelFormatError, match=message):
        _group([entry])


def _seed_like(tmp_path):
    topology = functional([input_layer("x", [None, 4]), layer("Dense", "d", [["x", 0, 0]], units=2)], ["x"], ["d"])
    return write_model(tmp_path, topology, {"d/kernel": np.ones((4, 2), np.float32),
                                            "d/bias": np.array([0.5, -0.5], np.float32)})


def test_missing_shard_names_the_file(tmp_path):
    path = _seed_like(tmp_path)
    (tmp_path / "group1-shard1of1.bin").unlink()
    with pytest.raises(WeightsError, match="group1-shard1of1.bin"):
        tfjs_interop.load(path)


@pytest.mark.parametrize("bad", ["../outside.bin", "/etc/passwd", "https://example.com/w.bin", "w\0.bin",
                                 "sub/../../outside.bin"])
def test_paths_outside_the_model_folder_are_refused(tmp_path, bad):
    path = _seed_like(tmp_path / "model")
    document = json.loads(path.read_text())
    document["weightsManifest"][0]["paths"] = [bad]
    path.write_text(json.dumps(document))
    with pytest.raises(SecurityError, match="model's folder|NUL byte"):
        tfjs_interop.load(path)


def test_weight_of_wrong_shape_names_layer_and_shapes(tmp_path):
    topology = functional([input_layer("x", [None, 4]), layer("Dense", "d", [["x", 0, 0]], units=2)], ["x"], ["d"])
    path = write_model(tmp_path, topology, {"d/kernel": np.ones((3, 2), np.float32),
                                            "d/bias": np.zeros(2, np.float32)})
    with pytest.raises(WeightsError, match=r"layer 'd'.*kernel.*\[4, 2\]"):
        tfjs_interop.load(path)


def test_nan_in_model_json_is_refused(tmp_path):
    path = _seed_like(tmp_path)
    path.write_text(path.read_text().replace('"units": 2', '"units": NaN'))
    with pytest.raises(ModelFormatError, match="NaN"):
        tfjs_interop.load(path)
