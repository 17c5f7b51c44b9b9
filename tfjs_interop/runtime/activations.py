"""Activation functions by their (snake_case) names, computed in float32.

``hard_sigmoid`` is TF.js's and Keras 2's ``clip(0.2x + 0.5, 0, 1)``; Keras 3's ``relu6(x + 3) / 6`` is
``hard_sigmoid_keras3`` (the topology normaliser picks the name from the writer).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import UnsupportedLayerError

Activation = Callable[[np.ndarray], np.ndarray]
_F32 = np.float32
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_erf = np.vectorize(math.erf, otypes=[np.float64])


def sigmoid(x: np.ndarray) -> np.ndarray:
    # exp(-|x|) never overflows; both branches share it.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def hard_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.clip(x * _F32(0.2) + _F32(0.5), 0, 1).astype(x.dtype, copy=False)


def hard_sigmoid_keras3(x: np.ndarray) -> np.ndarray:
    return (np.clip(x + _F32(3), 0, 6) / _F32(6)).astype(x.dtype, copy=False)


def softplus(x: np.ndarray) -> np.ndarray:
    return (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype, copy=False)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    return np.where(x > 0, x, _F32(alpha) * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)


def selu(x: np.ndarray) -> np.ndarray:
    return (_F32(_SELU_SCALE) * elu(x, _SELU_ALPHA)).astype(x.dtype, copy=False)


def gelu(x: np.ndarray) -> np.ndarray:
    """The exact form, x·Φ(x), as TF.js ``gelu`` and Keras ``gelu(approximate=False)``."""
    return (0.5 * x * (1 + _erf(x.astype(np.float64) / math.sqrt(2)))).astype(x.dtype)


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """The tanh approximation, as TF.js ``gelu_new``."""
    x64 = x.astype(np.float64)
    return (0.5 * x64 * (1 + np.tanh(math.sqrt(2 / math.pi) * (x64 + 0.044715 * x64**3)))).astype(x.dtype)


def swish(x: np.ndarray) -> np.ndarray:
    return x * sigmoid(x)


def hard_swish(x: np.ndarray) -> np.ndarray:
    return x * hard_sigmoid_keras3(x)


def mish(x: np.ndarray) -> np.ndarray:
    return x * np.tanh(softplus(x))


def relu6(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0, 6)


ACTIVATIONS: dict[str, Activation] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "relu6": relu6,
    "elu": elu,
    "selu": selu,
    "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "hard_sigmoid_keras3": hard_sigmoid_keras3,
    "softplus": softplus,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "tanh": np.tanh,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "gelu": gelu,
    "gelu_new": gelu_tanh,
    "swish": swish,
    "silu": swish,
    "hard_silu": hard_swish,
    "hard_swish": hard_swish,
    "mish": mish,
    "exponential": np.exp,
    "leaky_relu": lambda x: np.where(x > 0, x, _F32(0.2) * x),
    "log_sigmoid": lambda x: -softplus(-x),
    "tanh_shrink": lambda x: x - np.tanh(x),
}


# Activations whose value at one element depends on its whole row (the last axis): a cell applies them to each
# gate's block alone, as TF.js and Keras do (they split the gates first), never to gates side by side.
ROW_WISE = frozenset({"softmax", "log_softmax"})


def _sigmoid_(x: np.ndarray) -> np.ndarray:
    # 0.5·tanh(x/2) + 0.5: the same function, in place, without exp overflowing; within 1 ulp of ``sigmoid``.
    x *= _F32(0.5)
    np.tanh(x, out=x)
    x *= _F32(0.5)
    x += _F32(0.5)
    return x


def _hard_sigmoid_(x: np.ndarray) -> np.ndarray:
    x *= _F32(0.2)
    x += _F32(0.5)
    np.minimum(x, _F32(1), out=x)  # minimum and maximum: np.clip's own overhead dominates small arrays
    return np.maximum(x, _F32(0), out=x)


def _hard_sigmoid_keras3_(x: np.ndarray) -> np.ndarray:
    x += _F32(3)
    np.minimum(x, _F32(6), out=x)
    np.maximum(x, _F32(0), out=x)
    x /= _F32(6)
    return x


# In-place forms of the activations recurrent cells use at every step (the others go through a temporary).
IN_PLACE: dict[str, Activation] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, _F32(0), out=x),
    "sigmoid": _sigmoid_,
    "hard_sigmoid": _hard_sigmoid_,
    "hard_sigmoid_keras3": _hard_sigmoid_keras3_,
    "tanh": lambda x: np.tanh(x, out=x),
}


def get_exact_in_place_activation(name: str | None, layer: str, key: str = "activation") -> Activation:
    """The activation ``name`` in place where its in-place form gives :func:`get_activation`'s very bits (linear,
    relu), else :func:`get_activation`'s function: for a caller that owns its argument and uses the result."""
    if name in (None, "linear", "relu"):
        return IN_PLACE[name or "linear"]
    return get_activation(name, layer, key)


def get_in_place_activation(name: str | None, layer: str, key: str = "activation") -> Activation:
    """Like :func:`get_activation`, but the function overwrites its argument with the result (and returns it)."""
    if name is None or name in IN_PLACE:
        return IN_PLACE[name or "linear"]
    function = get_activation(name, layer, key)

    def in_place(x: np.ndarray) -> np.ndarray:
        x[...] = function(x)
        return x

    return in_place


def get_activation(name: str | None, layer: str, key: str = "activation") -> Activation:
    """The activation function called ``name`` (None means linear).

    Raises:
        UnsupportedLayerError: naming the layer and listing the known activations.
    """
    if name is None:
        return ACTIVATIONS["linear"]
    try:
        return ACTIVATIONS[name]
    except KeyError:
        known = sorted({display_name(n) for n in ACTIVATIONS})
        raise UnsupportedLayerError(f"layer {layer!r}: {key} {display_name(name)!r} is not supported; supported "
                                    f"activations: {', '.join(known)}") from None


def display_name(name: str) -> str:
    """An activation's name as files and users write it (the runtime's ``hard_sigmoid_keras3`` is Keras 3's
    ``hard_sigmoid``)."""
    return "hard_sigmoid" if name == "hard_sigmoid_keras3" else name
