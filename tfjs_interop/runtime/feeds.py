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
    return np.ascontiguousarray(array, dtype=spec.dtype)


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
