"""Keras 3 operations recorded in functional graphs (``keras.ops.*`` applied to symbolic tensors).

Keras 3 saves them as graph nodes of their own: ``Embedding(mask_zero=True)`` and ``Masking`` make their masks
with ``not_equal`` (and ``any``), and the next layer receives the mask as an explicit ``mask=`` tensor. The
runtime registers them as ``op.<Name>``; a call's non-tensor positional arguments arrive as ``constants``.
Merge layers record theirs too: ``Concatenate.compute_mask`` (keras/src/layers/merging/concatenate.py) gives an
unmasked input ``ones_like(x, dtype="bool")``, brings a lower-rank mask to its input's rank with
``logical_or(expand_dims(mask, -1), zeros_like(x, dtype="bool"))``, joins them with ``ops.concatenate(masks,
axis)`` and reduces with ``any(axis=-1)``; the other merges (base_merge.py) ``logical_or`` their masks.
Only element-wise comparisons, logic, reductions of booleans, casts and those shape operations are provided: what
masks need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ModelFormatError
from ...facts import KerasFacts, TfjsFacts
from ...topology import OP_PREFIX
from .base import Layer, Options, Shape, invalid, is_int, is_number, register

NOT_IN_TFJS = TfjsFacts(registered=False)  # Keras 3's operations: TF.js has no layer for any

_BINARY = {"NotEqual": np.not_equal, "Equal": np.equal, "Greater": np.greater, "GreaterEqual": np.greater_equal,
           "Less": np.less, "LessEqual": np.less_equal, "LogicalAnd": np.logical_and, "LogicalOr": np.logical_or}
_REDUCE = {"Any": np.any, "All": np.all}
_CASTS = ("bool", "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
          "uint64")


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
        if self.axis is not None and not all(is_int(a) for a in axes):
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


def operation(cls: type[Layer]) -> type[Layer]:
    """Register ``cls`` as the Keras 3 operation of its own name (``op.ExpandDims`` for ``ExpandDims``)."""
    return register(OP_PREFIX + cls.__name__)(cls)


@operation
class LogicalNot(Layer):
    tfjs = NOT_IN_TFJS

    def call(self, inputs: Any, mask: Any = None, constants: dict | None = None, **kwargs: Any) -> np.ndarray:
        (x,) = positional(self, inputs, constants, 1)
        return np.logical_not(x)


@dataclass(frozen=True)
class ResultDtypeOptions(Options):
    """The dtype of an operation's result; null: its input's."""

    dtype: Any = None

    def validate(self, layer: str, class_name: str) -> None:
        if self.dtype is not None and self.dtype not in _CASTS:
            raise invalid(layer, class_name, "dtype", f"null or one of {', '.join(_CASTS)}", self.dtype)


@operation
class ConvertToTensor(Layer):
    """``ops.convert_to_tensor``: Keras 3 records it on the mask an Attention layer passes on."""

    tfjs = NOT_IN_TFJS
    Options = ResultDtypeOptions

    def call(self, inputs: Any, mask: Any = None, constants: dict | None = None, **kwargs: Any) -> np.ndarray:
        (x,) = positional(self, inputs, constants, 1)
        return np.asarray(x) if self.options.dtype is None else np.asarray(x).astype(self.options.dtype)


@dataclass(frozen=True)
class CastOptions(Options):
    dtype: Any = None

    def validate(self, layer: str, class_name: str) -> None:
        if self.dtype not in _CASTS:
            raise invalid(layer, class_name, "dtype", f"one of {', '.join(_CASTS)}", self.dtype)


@operation
class Cast(Layer):
    tfjs = NOT_IN_TFJS
    Options = CastOptions

    def call(self, inputs: Any, mask: Any = None, constants: dict | None = None, **kwargs: Any) -> np.ndarray:
        (x,) = positional(self, inputs, constants, 1)
        return np.asarray(x).astype(self.options.dtype)


@dataclass(frozen=True)
class ExpandDimsOptions(Options):
    axis: Any = None

    def validate(self, layer: str, class_name: str) -> None:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        if not axes or not all(is_int(a) for a in axes):
            raise invalid(layer, class_name, "axis", "an integer or a list of integers", self.axis)


@operation
class ExpandDims(Layer):
    """``ops.expand_dims(x, axis)``: new axes of size 1 at ``axis`` (an integer or several; negative ones count
    from the end of the output, as ``operation_utils.compute_expand_dims_output_shape`` and NumPy place them)."""

    tfjs = NOT_IN_TFJS
    Options = ExpandDimsOptions

    def _axes(self, rank: int) -> tuple[int, ...]:
        axis = self.options.axis
        axes = axis if isinstance(axis, list) else [axis]
        out_rank = rank + len(axes)
        if not all(-out_rank <= a < out_rank for a in axes) or len({a % out_rank for a in axes}) < len(axes):
            raise invalid(self.name, self.class_name, "axis", f"distinct axes within the output's rank {out_rank}",
                          axis)
        return tuple(sorted(a % out_rank for a in axes))

    def output_shape(self, input_shape: Shape) -> Shape:
        axes = self._axes(len(input_shape))
        sizes = iter(input_shape)
        return tuple(1 if i in axes else next(sizes) for i in range(len(input_shape) + len(axes)))

    def call(self, inputs: Any, mask: Any = None, constants: dict | None = None, **kwargs: Any) -> np.ndarray:
        (x,) = positional(self, inputs, constants, 1)
        x = np.asarray(x)
        return np.expand_dims(x, self._axes(x.ndim))


class FillLike(Layer):
    """A tensor of the input's shape filled with one value, of ``dtype`` (the input's when null)."""

    tfjs = NOT_IN_TFJS
    Options = ResultDtypeOptions
    value = 0

    def call(self, inputs: Any, mask: Any = None, constants: dict | None = None, **kwargs: Any) -> np.ndarray:
        (x,) = positional(self, inputs, constants, 1)
        x = np.asarray(x)
        return np.full(x.shape, self.value, dtype=self.options.dtype or x.dtype)


@operation
class ZerosLike(FillLike):
    value = 0


@operation
class OnesLike(FillLike):
    value = 1


@dataclass(frozen=True)
class ConcatenateOptions(Options):
    axis: int = 0  # ops.concatenate's default; Concatenate.compute_mask passes the layer's axis

    def validate(self, layer: str, class_name: str) -> None:
        if isinstance(self.axis, bool):
            raise invalid(layer, class_name, "axis", "an integer", self.axis)


@operation
class Concatenate(Layer):
    """``ops.concatenate(xs, axis)``, a class of its own beside the Concatenate layer: it takes one list of
    tensors, passes on no mask, and gives the dtype Keras's ``result_type`` gives (bool for masks)."""

    tfjs = NOT_IN_TFJS
    keras = KerasFacts(list_argument=True)
    Options = ConcatenateOptions

    def _axis(self, shapes: list[Shape]) -> int:
        rank = len(shapes[0])
        if {len(s) for s in shapes} != {rank} or not -rank <= self.options.axis < rank:
            raise invalid(self.name, self.class_name, "axis", f"an axis of tensors of one rank, not {shapes}",
                          self.options.axis)
        axis = self.options.axis % rank
        for sizes in zip(*[s[:axis] + s[axis + 1:] for s in shapes]):
            if len(set(sizes) - {None}) > 1:
                raise ModelFormatError(f"layer {self.name!r} ({self.class_name}) joins tensors of shapes {shapes}: "
                                       f"their sizes must match except on axis {self.options.axis}")
        return axis

    def output_shape(self, input_shape: Shape | list[Shape]) -> Shape:
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        axis = self._axis(shapes)
        sizes = [s[axis] for s in shapes]
        out = list(shapes[0])
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def call(self, inputs: Any, mask: Any = None, constants: dict | None = None, **kwargs: Any) -> np.ndarray:
        if constants:
            raise ModelFormatError(f"layer {self.name!r} ({self.class_name}) joins tensors only; the call gives "
                                   f"constants {sorted(constants)}")
        tensors = [np.asarray(x) for x in (inputs if isinstance(inputs, list) else [inputs])]
        return np.concatenate(tensors, axis=self._axis([x.shape for x in tensors])).astype(_result_type(tensors),
                                                                                           copy=False)


def _result_type(tensors: list[np.ndarray]) -> np.dtype:
    """Keras's ``result_type`` where it differs from NumPy's: integers and floats give the float (float32, not
    NumPy's float64, unless a float64 is joined)."""
    kinds = {x.dtype for x in tensors}
    result = np.result_type(*kinds)
    if result == np.float64 and np.dtype(np.float64) not in kinds:
        return max((k for k in kinds if k.kind == "f"), key=lambda k: k.itemsize, default=np.dtype(np.float32))
    return result


def _broadcast(a: Shape, b: Shape) -> Shape:
    if len(a) < len(b):
        a, b = b, a
    tail = [x if y == 1 else y if x == 1 or x is None else x for x, y in zip(a[len(a) - len(b):], b)]
    return tuple(a[:len(a) - len(b)]) + tuple(tail)


for _name, _function in _BINARY.items():
    register(OP_PREFIX + _name)(type(_name, (BinaryOp,), {"function": staticmethod(_function), "tfjs": NOT_IN_TFJS}))
for _name, _function in _REDUCE.items():
    register(OP_PREFIX + _name)(type(_name, (ReduceOp,), {"function": staticmethod(_function), "tfjs": NOT_IN_TFJS}))
