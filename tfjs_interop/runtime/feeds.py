"""A model's inputs as a call receives them: checked against the input's spec and converted."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from .layers.base import Shape


def as_feed(value: Any, spec: Any) -> np.ndarray:
    """``value`` as the model input ``spec`` (a ``TensorSpec``) takes it: a contiguous array of its dtype, or the
    InputError naming the input, what it expects and what it found."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise InputError(f"input {spec.name!r}: cannot make an array of it: {exc}") from None
    if array.dtype.kind not in "biuf":
        raise InputError(f"input {spec.name!r}: expected numbers, found an array of {array.dtype}")
    if not fits(array.shape, spec.shape):
        raise InputError(f"input {spec.name!r}: expected shape {shape_str(spec.shape)}, found {array.shape}")
    if spec.dtype == "int32" and not np.can_cast(array.dtype, np.int32):
        _check_int32_values(array, spec.name)
    return np.ascontiguousarray(array, dtype=spec.dtype)


def _check_int32_values(array: np.ndarray, name: str) -> None:
    """Values an int32 input can hold (floats are truncated, as TF.js makes an int32 tensor of them): the
    conversion would wrap others silently (2**32 + 5 read as 5) and turn NaN into -2**31."""
    if not array.size:
        return
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise InputError(f"input {name!r}: expected int32 values, found NaN or infinity in an array of {array.dtype}")
    low, high = array.min(), array.max()
    if low <= _INT32_BELOW or high >= _INT32_ABOVE:
        raise InputError(f"input {name!r}: expected int32 values ({_INT32_BELOW + 1} to {_INT32_ABOVE - 1}), found "
                         f"{low if low <= _INT32_BELOW else high}")


_INT32_BELOW, _INT32_ABOVE = -(2**31) - 1, 2**31  # int32 holds what lies strictly between


def fits(found: tuple, expected: Shape) -> bool:
    """Whether an array's shape is ``expected``'s (None: any size). A loop: ``all()`` over a generator was half
    of a batch-1 input's checks."""
    if len(found) != len(expected):
        return False
    for d, a in zip(expected, found):
        if d is not None and d != a:
            return False
    return True


def shape_str(shape: Shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
