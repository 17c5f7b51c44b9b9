"""One runtime layer against a float64 reference: build it with given weights, draw inputs, compare."""

from __future__ import annotations

import math

import numpy as np

from tfjs_interop.runtime.layers import build_layer

RNG = np.random.default_rng(20240611)
ATOL = 2e-6


def make(class_name: str, config: dict, input_shape, weights=(), name: str = "layer", engine=None):
    """Build a layer for ``input_shape`` (batch None) and set its weights, in Keras order (``engine``: as
    ``build_layer`` takes it)."""
    layer = build_layer(class_name, name, config, engine)
    layer.ensure_built(input_shape)
    assert [tuple(v.shape) for v in layer.weights] == [np.shape(w) for w in weights]
    for variable, value in zip(layer.weights, weights):
        variable.value = np.asarray(value, dtype=np.float32)
    return layer


def rand(*shape, low=-2.0, high=2.0) -> np.ndarray:
    """Uniform float32 values in [low, high) from the suite's one generator."""
    return RNG.uniform(low, high, size=shape).astype(np.float32)


def close(ours, reference, atol=ATOL):
    """Assert a float32 result of the reference's shape within ``atol`` of the float64 reference."""
    assert ours.dtype == np.float32, ours.dtype
    assert ours.shape == np.shape(reference), (ours.shape, np.shape(reference))
    err = float(np.max(np.abs(ours.astype(np.float64) - reference))) if ours.size else 0.0
    assert err <= atol, f"max abs difference {err:.3g} > {atol:g}"


def tf_pads(size: int, span: int, stride: int, padding: str) -> tuple[int, int]:
    """(output size, padding before) of a window of ``span`` sliding over ``size`` steps, by TF's rule, from its
    definition (the float64 references of the windowed layers)."""
    if padding == "valid":
        return (size - span) // stride + 1, 0
    out = math.ceil(size / stride)
    return out, max((out - 1) * stride + span - size, 0) // 2
