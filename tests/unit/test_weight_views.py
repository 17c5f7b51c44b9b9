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


def test_a_stored_weight_never_changes_in_place():
    """The compiled kernels pack each weight array once, so a stored weight must not change under them: a
    caller's writable array, or a read-only view of one, is stored as a read-only copy; views of a file's
    bytes stay views."""
    from tfjs_interop.runtime.layers.base import Variable, assign

    class Layer:
        name = "dense"

    writable = np.arange(6, dtype=np.float32).reshape(2, 3)
    view = writable.view()
    view.flags.writeable = False
    shard = np.frombuffer(writable.tobytes(), np.float32).reshape(2, 3)
    stored = []
    for value, copied in ((writable, True), (view, True), (shard, False)):
        variable = Variable("kernel", (2, 3))
        assign(Layer(), variable, value, "test")
        assert not variable.value.flags.writeable
        assert np.shares_memory(variable.value, value) is not copied
        stored.append(variable.value)
    writable *= 2  # the caller changes its array (and so the view's values)
    assert all(np.array_equal(value, np.arange(6).reshape(2, 3)) for value in stored)
