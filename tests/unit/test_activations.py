"""Every activation against a float64 reference written from its definition."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tfjs_interop.errors import UnsupportedLayerError
from tfjs_interop.runtime.activations import ACTIVATIONS, get_activation

X = np.concatenate([np.linspace(-9, 9, 181), [-80.0, -20.0, 0.0, 20.0, 80.0]]).reshape(2, -1).astype(np.float32)


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


_ALPHA, _SCALE = 1.6732632423543772, 1.0507009873554805
REFERENCES = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.minimum(np.maximum(x, 0), 6),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: _SCALE * np.where(x > 0, x, _ALPHA * np.expm1(np.minimum(x, 0))),
    "sigmoid": _sig,
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    "hard_sigmoid_keras3": lambda x: np.clip(x + 3, 0, 6) / 6,
    "softplus": _softplus,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "tanh": np.tanh,
    "softmax": _softmax,
    "log_softmax": lambda x: np.log(_softmax(x)),
    "gelu": lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2))),
    "gelu_new": lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
    "swish": lambda x: x * _sig(x),
    "silu": lambda x: x * _sig(x),
    "hard_silu": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "hard_swish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "exponential": lambda x: np.exp(np.minimum(x, 80)),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "log_sigmoid": lambda x: -_softplus(-x),
    "tanh_shrink": lambda x: x - np.tanh(x),
}


def test_every_activation_has_a_reference():
    assert set(REFERENCES) == set(ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_activation_matches_float64_reference(name):
    x = X if name != "exponential" else np.clip(X, -80, 80)
    ours = get_activation(name, "layer")(x)
    want = REFERENCES[name](x.astype(np.float64))
    assert ours.dtype == np.float32 and ours.shape == x.shape
    finite = np.isfinite(want)
    np.testing.assert_allclose(ours[finite], want[finite], rtol=2e-6, atol=2e-6)
    assert np.all(np.isfinite(ours) == finite)


def test_unknown_activation_names_the_layer_and_lists_known_ones():
    with pytest.raises(UnsupportedLayerError, match=r"layer 'dense_1': activation 'gelu_fast' .*supported .*tanh"):
        get_activation("gelu_fast", "dense_1")


def test_unknown_activation_message_names_no_internal_activation():
    """The runtime's internal 'hard_sigmoid_keras3' is shown as the hard_sigmoid files name (issue 11)."""
    with pytest.raises(UnsupportedLayerError, match="'bogus' is not supported") as info:
        get_activation("bogus", "d")
    assert "keras3" not in str(info.value) and "hard_sigmoid" in str(info.value)
