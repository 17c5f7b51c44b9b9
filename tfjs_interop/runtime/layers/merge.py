"""Merge layers: element-wise sums, products, extremes and means, concatenation, batch dot products."""

from __future__ import annotations

import string
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ...errors import ModelFormatError
from ...facts import KerasFacts, TfjsFacts, TfjsMasking, frozen
from .base import Layer, Options, Shape, engine_option, invalid, register, shape_error, unsupported

_F32 = np.float32
_L2_EPSILON = 1e-7  # TF.js l2Normalize: x / sqrt(max(sum(x²), 1e-7)); Keras 2 clamps at 1e-12 instead

# Keras 3 combines the masks of merges otherwise than Keras 2 (see each class).
KERAS3_MASKS = KerasFacts(keras3_behaviour=frozen({"keras3_masks": True}))
KERAS3_MASKED_VALUES = KerasFacts(keras3_behaviour=frozen({"keras3_masks": True}), keras3_masked_values=True)


def _as_list(inputs: Any) -> list:
    """A merge layer's inputs (or shapes) as a list: a single one arrives unwrapped from the executor."""
    return list(inputs) if isinstance(inputs, list) else [inputs]


def _broadcast_shapes(layer: Layer, shape1: Shape, shape2: Shape) -> Shape:
    """Keras ``_compute_elemwise_op_output_shape``: shapes without the batch axis, aligned on the right."""
    if len(shape1) < len(shape2):
        shape1, shape2 = shape2, shape1
    out = list(shape1[:len(shape1) - len(shape2)])
    for i, j in zip(shape1[len(shape1) - len(shape2):], shape2, strict=True):
        if i is None or j is None:
            out.append(None)
        elif i == 1 or j == 1:
            out.append(j if i == 1 else i)
        elif i != j:
            raise ModelFormatError(f"layer {layer.name!r} ({layer.class_name}): inputs have incompatible "
                                   f"shapes {shape1} and {shape2}")
        else:
            out.append(i)
    return tuple(out)


def _and_masks(masks: list) -> np.ndarray | None:
    """Keras 2 ``_Merge.compute_mask``: None if every mask is None, else the AND of the given masks."""
    given = [np.asarray(m, dtype=bool) for m in masks if m is not None]
    return np.logical_and.reduce(given) if given else None


def _or_masks(masks: list) -> np.ndarray | None:
    """Keras 3 ``Merge.compute_mask``: None if any mask is None, else the OR of the masks."""
    if any(m is None for m in masks):
        return None
    return np.logical_or.reduce([np.asarray(m, dtype=bool) for m in masks])


@dataclass(frozen=True)
class MergeOptions(Options):
    keras3_masks: bool = engine_option(False)  # Keras 3's mask rule rather than Keras 2's


class Merge(Layer):
    """Base of element-wise merges: inputs of lower rank get size-1 axes after the batch axis (Keras)."""

    Options = MergeOptions
    supports_masking = True
    min_inputs, max_inputs = 1, None

    def build(self, input_shape: Shape | list[Shape]) -> None:
        count = len(_as_list(input_shape))
        if count < self.min_inputs or self.max_inputs is not None and count > self.max_inputs:
            wanted = (f"exactly {self.min_inputs}" if self.max_inputs == self.min_inputs
                      else f"at least {self.min_inputs}")
            raise ModelFormatError(f"layer {self.name!r} ({self.class_name}) must be called on {wanted} "
                                   f"inputs, received {count}")
        self.output_shape(input_shape)

    def output_shape(self, input_shape: Shape | list[Shape]) -> Shape:
        shapes = _as_list(input_shape)
        out = shapes[0][1:]
        for shape in shapes[1:]:
            out = _broadcast_shapes(self, out, shape[1:])
        batch = {s[0] for s in shapes} - {None}
        return (batch.pop() if len(batch) == 1 else None, *out)

    def call(self, inputs: Any, mask: Any = None, **kwargs: Any) -> np.ndarray:
        arrays = [np.asarray(x, dtype=_F32) for x in _as_list(inputs)]
        rank = max(x.ndim for x in arrays)
        masks = _as_list(mask) if self.options.keras3_masks and mask is not None else []
        # Keras 3 reads the masks of the inputs that need no reshaping (the reshaped ones lose theirs).
        masks = [None if m is None or x.ndim < rank else np.broadcast_to(np.asarray(m, bool)[..., None], x.shape)
                 for x, m in zip(arrays, masks)]
        arrays = [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in arrays]
        if any(m is not None for m in masks):
            return self.merge_masked(arrays, masks)
        return self.merge(arrays)

    def merge(self, arrays: list[np.ndarray]) -> np.ndarray:
        """Combine inputs of equal rank (float32, broadcastable)."""
        raise NotImplementedError

    def merge_masked(self, arrays: list[np.ndarray], masks: list[np.ndarray | None]) -> np.ndarray:
        """Keras 3's merge of inputs some of which carry masks (brought to the inputs' shapes); most ignore them."""
        return self.merge(arrays)

    def compute_mask(self, inputs: Any, mask: Any) -> np.ndarray | None:
        if mask is None:
            return None
        return _or_masks(_as_list(mask)) if self.options.keras3_masks else _and_masks(_as_list(mask))


@register("Add")
class Add(Merge):
    tfjs = TfjsFacts(masking=TfjsMasking.MERGE)
    keras = KERAS3_MASKS

    def merge(self, arrays: list[np.ndarray]) -> np.ndarray:
        out = arrays[0]
        for x in arrays[1:]:
            out = out + x
        return out


@register("Subtract")
class Subtract(Merge):
    tfjs = TfjsFacts(masking=TfjsMasking.MERGE, registered=False,
                     fix="TF.js 4.22 has no Subtract layer; rebuild a - b as Add()([a, n]) with n = b negated (e.g. a "
                         "Dense layer with kernel -I and no bias)")
    keras = KERAS3_MASKS

    min_inputs = max_inputs = 2

    def merge(self, arrays: list[np.ndarray]) -> np.ndarray:
        return arrays[0] - arrays[1]


@register("Multiply")
class Multiply(Merge):
    tfjs = TfjsFacts(masking=TfjsMasking.MERGE)
    keras = KERAS3_MASKED_VALUES

    def merge(self, arrays: list[np.ndarray]) -> np.ndarray:
        out = arrays[0]
        for x in arrays[1:]:
            out = out * x
        return out


    def merge_masked(self, arrays: list[np.ndarray], masks: list[np.ndarray | None]) -> np.ndarray:
        """Keras 3: masked entries count as 1; when every input has a mask, entries none keeps are 0."""
        every = all(m is not None for m in masks)
        out, kept = None, None
        for x, m in zip(arrays, masks):
            if m is not None:
                x = np.where(m, x, _F32(1))
                kept = m if kept is None else kept | m
            out = x if out is None else out * x
        return np.where(kept, out, _F32(0)) if every else out


@register("Average")
class Average(Merge):
    tfjs = TfjsFacts(masking=TfjsMasking.MERGE)
    keras = KERAS3_MASKS

    def merge(self, arrays: list[np.ndarray]) -> np.ndarray:
        out = arrays[0]
        for x in arrays[1:]:
            out = out + x
        return out * _F32(1 / len(arrays))  # TF.js multiplies by 1/n in float32


def _masked_extreme(op: np.ufunc, arrays: list[np.ndarray], masks: list[np.ndarray | None]) -> np.ndarray:
    """Keras 3 ``_apply_merge_op_and_or_mask``: a masked entry takes the other side's value before ``op``."""
    out, kept = arrays[0], masks[0]
    for x, m in zip(arrays[1:], masks[1:]):
        if m is not None:
            x = np.where(m, x, out)
        if kept is not None:
            out = np.where(kept, out, x)
        kept = kept | m if kept is not None and m is not None else None
        out = op(out, x)
    return out


@register("Maximum")
class Maximum(Merge):
    tfjs = TfjsFacts(masking=TfjsMasking.MERGE)
    keras = KERAS3_MASKED_VALUES

    def merge(self, arrays: list[np.ndarray]) -> np.ndarray:
        return np.maximum.reduce(np.broadcast_arrays(*arrays))

    def merge_masked(self, arrays: list[np.ndarray], masks: list[np.ndarray | None]) -> np.ndarray:
        return _masked_extreme(np.maximum, arrays, masks)


@register("Minimum")
class Minimum(Merge):
    tfjs = TfjsFacts(masking=TfjsMasking.MERGE)
    keras = KERAS3_MASKED_VALUES

    def merge(self, arrays: list[np.ndarray]) -> np.ndarray:
        return np.minimum.reduce(np.broadcast_arrays(*arrays))

    def merge_masked(self, arrays: list[np.ndarray], masks: list[np.ndarray | None]) -> np.ndarray:
        return _masked_extreme(np.minimum, arrays, masks)


# --- concatenation -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConcatenateOptions(Options):
    axis: int = -1
    keras3_masks: bool = engine_option(False)  # Keras 3 ORs the joined masks over the last axis; Keras 2 ANDs

    def validate(self, layer: str, class_name: str) -> None:
        if not isinstance(self.axis, int) or isinstance(self.axis, bool):
            raise invalid(layer, class_name, "axis", "an integer", self.axis)


@register("Concatenate")
class Concatenate(Layer):
    """Joins inputs of equal rank along ``axis``."""
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER)
    keras = replace(KERAS3_MASKS, keras3_mask_op_names=(  # its compute_mask's operations
        "ones_like", "expand_dims", "zeros_like", "logical_or", "concatenate", "any"))

    Options = ConcatenateOptions
    supports_masking = True

    def build(self, input_shape: Shape | list[Shape]) -> None:
        shapes = _as_list(input_shape)
        ranks = {len(s) for s in shapes}
        axis = self.options.axis
        if len(ranks) != 1 or not -len(shapes[0]) <= axis < len(shapes[0]):
            raise self._shape_error(shapes)
        rests = [s[:axis % len(s)] + s[axis % len(s) + 1:] for s in shapes]
        for sizes in zip(*rests, strict=True):
            if len(set(sizes) - {None}) > 1:
                raise self._shape_error(shapes)

    def _shape_error(self, shapes: list[Shape]) -> ModelFormatError:
        return shape_error(self, f"inputs of one rank with matching sizes except on axis {self.options.axis}",
                           shapes)

    def output_shape(self, input_shape: Shape | list[Shape]) -> Shape:
        shapes = _as_list(input_shape)
        axis = self.options.axis % len(shapes[0])
        sizes = [s[axis] for s in shapes]
        out = list(shapes[0])
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def call(self, inputs: Any, mask: Any = None, **kwargs: Any) -> np.ndarray:
        return np.concatenate(_as_list(inputs), axis=self.options.axis)

    def compute_mask(self, inputs: Any, mask: Any) -> np.ndarray | None:
        """Keras ``Concatenate.compute_mask``: unmasked inputs count as all-True, masks are brought to
        the inputs' rank (a trailing axis of 1; Keras 3 broadcasts it to the input's shape, ``logical_or`` with
        ``zeros_like(x)``, so masks join along a time axis too), joined along ``axis``, then ANDed over the last
        axis (Keras 2; Keras 3 ORs them).
        """
        masks = _as_list(mask) if mask is not None else []
        if all(m is None for m in masks):
            return None
        full = []
        for x, m in zip(_as_list(inputs), masks, strict=True):
            if m is None:
                full.append(np.ones(np.shape(x), dtype=bool))
            else:
                m = np.asarray(m, dtype=bool)
                if m.ndim < np.ndim(x):
                    m = np.broadcast_to(m[..., None], np.shape(x)) if self.options.keras3_masks else m[..., None]
                full.append(m)
        try:
            joined = np.concatenate(full, axis=self.options.axis)
        except ValueError:
            raise unsupported(self.name, self.class_name, f"masks of shapes {[f.shape for f in full]} (Keras 2 "
                              f"and TF.js cannot concatenate them along axis {self.options.axis} either)",
                              "masks on all inputs, or on none, when joining along a time axis") from None
        return np.any(joined, axis=-1) if self.options.keras3_masks else np.all(joined, axis=-1)


# --- batch dot products ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DotOptions(Options):
    axes: int | list | None = None
    normalize: bool = False

    def validate(self, layer: str, class_name: str) -> None:
        axes = self.axes if isinstance(self.axes, (list, tuple)) else [self.axes]
        if len(axes) not in (1, 2) or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise invalid(layer, class_name, "axes", "an integer or a list of two integers", self.axes)


@register("Dot")
class Dot(Layer):
    """Keras ``batch_dot`` of two inputs: contracts ``x`` axis a0 with ``y`` axis a1, sample by sample.

    The output keeps x's other axes, then y's other non-batch axes; a rank-1 result becomes (batch, 1).
    """
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER)

    Options = DotOptions
    supports_masking = True

    def _axes(self, shapes: list[Shape]) -> tuple[int, int]:
        axes = self.options.axes if isinstance(self.options.axes, (list, tuple)) else [self.options.axes] * 2
        a0, a1 = (a % len(s) for a, s in zip(axes, shapes, strict=True))
        if a0 == 0 or a1 == 0:
            raise invalid(self.name, self.class_name, "axes", "non-batch axes (batch_dot cannot use axis 0)",
                          self.options.axes)
        return a0, a1

    def build(self, input_shape: Shape | list[Shape]) -> None:
        shapes = _as_list(input_shape)
        if len(shapes) != 2 or min(len(s) for s in shapes) < 2:
            raise shape_error(self, "2 inputs of rank >= 2", shapes)
        a0, a1 = self._axes(shapes)
        d0, d1 = shapes[0][a0], shapes[1][a1]
        if d0 is not None and d1 is not None and d0 != d1:
            raise shape_error(self, f"axis {a0} of the first input and axis {a1} of the second to have one "
                                    "size", shapes)

    def output_shape(self, input_shape: list[Shape]) -> Shape:
        (x, y), (a0, a1) = input_shape, self._axes(input_shape)
        out = x[:a0] + x[a0 + 1:] + y[1:a1] + y[a1 + 1:]
        return out if len(out) > 1 else (*out, 1)

    def call(self, inputs: list[np.ndarray], mask: Any = None, **kwargs: Any) -> np.ndarray:
        x, y = (np.asarray(v, dtype=np.float64) for v in inputs)
        a0, a1 = self._axes([x.shape, y.shape])
        if self.options.normalize:
            x, y = _l2_normalize(x, a0), _l2_normalize(y, a1)
        letters = iter(string.ascii_letters[2:])
        xs = ["a"] + [next(letters) for _ in range(1, x.ndim)]
        ys = ["a"] + [next(letters) for _ in range(1, y.ndim)]
        xs[a0] = ys[a1] = "b"  # "a" is the batch axis, "b" the contracted one
        kept = "a" + "".join(c for c in xs[1:] if c != "b") + "".join(c for c in ys[1:] if c != "b")
        out = np.einsum(f"{''.join(xs)},{''.join(ys)}->{kept}", x, y)
        return (out[:, None] if out.ndim == 1 else out).astype(_F32)

    def compute_mask(self, inputs: Any, mask: Any) -> None:
        return None


def _l2_normalize(x: np.ndarray, axis: int) -> np.ndarray:
    return x / np.sqrt(np.maximum(np.sum(x * x, axis=axis, keepdims=True), _L2_EPSILON))
