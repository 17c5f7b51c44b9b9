"""Weights are decoded without copies: float32 tensors are views of the shard bytes (unless misaligned)."""

from __future__ import annotations

import numpy as np

from tfjs_interop.formats.tfjs.manifest import decode_group, parse_manifest


def _group(weights):
    return parse_manifest([{"paths": ["w.bin"], "weights": weights}], "model.json")[0]


def test_float32_weights_are_read_only_views_of_the_shard():
    kernel = np.arange(12, dtype="<f4").reshape(3, 4) / 7
    data = kernel.tobytes() + np.array([5, -6], "<i4").tobytes()
    group = _group([{"name": "k", "shape": [3, 4], "dtype": "float32"}, {"name": "n", "shape": [2], "dtype": "int32"}])
    decoded = decode_group(group, data)
    assert np.array_equal(decoded["k"], kernel) and decoded["n"].tolist() == [5, -6]
    assert np.shares_memory(decoded["k"], np.frombuffer(data, np.uint8))
    assert not decoded["k"].flags.writeable


def test_a_misaligned_tensor_is_copied_into_an_aligned_array():
    values = np.array([1.5, -2.25, 3.125], "<f4")
    data = b"\x01" + values.tobytes()  # one bool, then float32 at byte 1
    group = _group([{"name": "b", "shape": [1], "dtype": "bool"}, {"name": "f", "shape": [3], "dtype": "float32"}])
    decoded = decode_group(group, data)
    assert decoded["f"].flags.aligned and np.array_equal(decoded["f"], values)
    assert decoded["b"].tolist() == [True]
