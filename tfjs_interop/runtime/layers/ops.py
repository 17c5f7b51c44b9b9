"""Keras 3 operations recorded in functional graphs (``keras.ops.*`` applied to symbolic tensors).

Keras 3 saves them as graph nodes of their own: ``Embedding(mask_zero=True)`` and ``Masking`` make their masks
with ``not_equal`` (and ``any``), and the next layer receives the mask as an explicit ``mask=`` tensor. The
runtime registers them as ``op.<Name>``; a call's non-tensor positional arguments arrive as ``constants``.
Only element-wise comparisons, logic, reductions of booleans and casts are provided: what masks need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ModelFormatError
from ...facts import TfjsFacts
from ...topology import OP_PREFIX
from .base import Layer, Options, Shape, invalid, is_number, register

NOT_IN_TFJS = TfjsFacts(registered=False)  # Keras 3's operations: TF.js has no layer for any

_BINARY = {"NotEqual": np.not_equal, "Equal": np.equal, "Greater": np.greater, "GreaterEqual": np.greater_equal,
           "Less": np.less, "LessEqual": np.less_equal, "LogicalAnd": np.logical_and, "LogicalOr": np.logical_or}
_REDUCE = {"Any": np.any, "All": np.all}
_CASTS = ("bool", "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8")


def positional(op: Layer, inputs: Any, constants: dict | None, count: int) -> list:
    """An operation's positional arguments: its tensors, with the constants put back in their places."""
    tensors = list(inputs) if isinstance(inputs, list) else [inputs]
    constants = constants or {}
    args = [constants[i] if i in constants else (tensors.pop(0) if tensors else None) for i in range(count)]
    if tensors or any(a is None for a in args):
        raise ModelFormatError(f"layer {op.name!r} ({op.class_name}) takes {count} arguments; the call gives "
                               f"{len(inputs) if isinstance(inputs, list) else 1} tensor(s) and constants "
                               f"{sorted(constants)}")
    for value in constants.values():
        if not (is_number(value) or isinstance(value, bool)):
            raise invalid(op.name, op.class_name, "constant argument", "a number", value)
    return args


class BinaryOp(Layer):
    """An element-wise comparison or logical operation of two tensors (or a tensor and a constant)."""

    function: Any = None

    def output_shape(self, input_shape: Shape | list[Shape]) -> Shape:
        shapes = [s for s in (input_shape if isinstance(input_shape, list) else [input_shape])]
        return shapes[0] if len(shapes) == 1 else _broadcast(shapes[0], shapes[1])

    def call(self, inputs: Any, mask: Any = None, constants: dict | None = None, **kwargs: Any) -> np.ndarray:
        a, b = positional(self, inputs, constants, 2)
        return self.function(a, b)


@dataclass(frozen=True)
class ReduceOptions(Options):
    axis: Any = None
    keepdims: bool = False

    def validate(self, layer: str, class_name: str) -> None:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        if self.axis is not None and not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise invalid(layer, class_name, "axis", "an integer, a list of integers or null", self.axis)


class ReduceOp(Layer):
    """``any`` / ``all`` over axes."""

    Options = ReduceOptions
    function: Any = None

    def _axes(self, rank: int) -> tuple[int, ...]:
        axis = self.options.axis
        axes = range(rank) if axis is None else (axis if isinstance(axis, list) else [axis])
        normalised = tuple(sorted(a % rank for a in axes)) if rank else ()
        if any(not -rank <= a < rank for a in (axes if axis is not None else [])):
            raise invalid(self.name, self.class_name, "axis", f"axes within rank {rank}", axis)
        return normalised

    def output_shape(self, input_shape: Shape) -> Shape:
        axes = self._axes(len(input_shape))
        if self.options.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def call(self, inputs: Any, mask: Any = None, constants: dict | None = None, **kwargs: Any) -> np.ndarray:
        (x,) = positional(self, inputs, constants, 1)
        return self.function(x, axis=self._axes(x.ndim), keepdims=self.options.keepdims)


@register(OP_PREFIX + "LogicalNot")
class LogicalNot(Layer):
    tfjs = NOT_IN_TFJS

    def call(self, inputs: Any, mask: Any = None, constants: dict | None = None, **kwargs: Any) -> np.ndarray:
        (x,) = positional(self, inputs, constants, 1)
        return np.logical_not(x)


@dataclass(frozen=True)
class ConvertToTensorOptions(Options):
    dtype: Any = None

    def validate(self, layer: str, class_name: str) -> None:
        if self.dtype is not None and self.dtype not in _CASTS:
            raise invalid(layer, class_name, "dtype", f"null or one of {', '.join(_CASTS)}", self.dtype)


@register(OP_PREFIX + "ConvertToTensor")
class ConvertToTensor(Layer):
    """``ops.convert_to_tensor``: Keras 3 records it on the mask an Attention layer passes on."""

    tfjs = NOT_IN_TFJS
    Options = ConvertToTensorOptions

    def call(self, inputs: Any, mask: Any = None, constants: dict | None = None, **kwargs: Any) -> np.ndarray:
        (x,) = positional(self, inputs, constants, 1)
        return np.asarray(x) if self.options.dtype is None else np.asarray(x).astype(self.options.dtype)


@dataclass(frozen=True)
class CastOptions(Options):
    dtype: Any = None

    def validate(self, layer: str, class_name: str) -> None:
        if self.dtype not in _CASTS:
            raise invalid(layer, class_name, "dtype", f"one of {', '.join(_CASTS)}", self.dtype)


@register(OP_PREFIX + "Cast")
class Cast(Layer):
    tfjs = NOT_IN_TFJS
    Options = CastOptions

    def call(self, inputs: Any, mask: Any = None, constants: dict | None = None, **kwargs: Any) -> np.ndarray:
        (x,) = positional(self, inputs, constants, 1)
        return np.asarray(x).astype(self.options.dtype)


def _broadcast(a: Shape, b: Shape) -> Shape:
    if len(a) < len(b):
        a, b = b, a
    tail = [x if y == 1 else y if x == 1 or x is None else x for x, y in zip(a[len(a) - len(b):], b)]
    return tuple(a[:len(a) - len(b)]) + tuple(tail)


for _name, _function in _BINARY.items():
    register(OP_PREFIX + _name)(type(_name, (BinaryOp,), {"function": staticmethod(_function), "tfjs": NOT_IN_TFJS}))
for _name, _function in _REDUCE.items():
    register(OP_PREFIX + _name)(type(_name, (ReduceOp,), {"function": staticmethod(_function), "tfjs": NOT_IN_TFJS}))
