"""Seeded inputs that fit a model's input specs, for checking a model when the user gives none.

Float inputs are standard normal. An input read by an Embedding or CategoryEncoding (directly or through Reshape
layers) gets integers inside its vocabulary; when that Embedding has ``mask_zero`` or the input goes through a
Masking layer, the sequences are padded: by turns at the end (post), at the start (pre) and not at all, so that
masks are exercised both ways.
"""

from __future__ import annotations

import numpy as np

from .runtime.layers.base import InputValues
from .runtime.model import Model, TensorSpec
from .topology import TensorRef

DEFAULT_BATCH = 4
DEFAULT_STEPS = 5  # for dimensions the model leaves free (None)
PAD_STEPS = 2  # sequences this long or shorter are left unpadded
PAD_PATTERNS = ("post", "pre", "none")


def sample_inputs(model: Model, seed: int = 0, batch: int = DEFAULT_BATCH) -> list[np.ndarray]:
    """One array per model input, in input order, seeded and fitting each input's shape and dtype.

    Args:
        model: the runtime model.
        seed: seed of NumPy's generator; the same seed gives the same arrays.
        batch: samples, unless the model fixes its batch size.
    """
    rng = np.random.default_rng(seed)
    return [_sample(spec, _use(model, spec.name), rng, batch) for spec in model.inputs]


def _use(model: Model, input_name: str) -> InputValues:
    """What the layers reading an input tell about its values (the smallest vocabulary, a padding value)."""
    vocabulary, pad = None, None
    for hint in _readers(model, input_name):
        if hint.vocabulary is not None:
            vocabulary = hint.vocabulary if vocabulary is None else min(vocabulary, hint.vocabulary)
        if hint.pad_value is not None:
            pad = hint.pad_value
    return InputValues(vocabulary, pad)


def _readers(model: Model, name: str) -> list[InputValues]:
    """What the layers reading ``name``'s output tell, looking through layers that keep the values (Reshape)."""
    found = []
    for spec in model.topology.layers:
        if any(call.args and call.args[0] == TensorRef(name) for call in spec.calls):
            hint = model.get_layer(spec.name).input_values()
            if hint is not None and hint.passes_through:
                found += _readers(model, spec.name)
            elif hint is not None:
                found.append(hint)
    return found


def _sample(spec: TensorSpec, use: InputValues, rng: np.random.Generator, batch: int) -> np.ndarray:
    shape = tuple(batch if i == 0 and d is None else DEFAULT_STEPS if d is None else d
                  for i, d in enumerate(spec.shape))
    if use.vocabulary is not None:
        low = 1 if use.pad_value == 0.0 else 0
        values = rng.integers(low, max(use.vocabulary, low + 1), size=shape)
    elif spec.dtype in ("int32", "bool"):
        values = rng.integers(0, 2 if spec.dtype == "bool" else 10, size=shape)
    else:
        values = rng.standard_normal(shape)
    values = values.astype(spec.dtype)
    if use.pad_value is not None and values.ndim >= 2 and values.shape[1] > PAD_STEPS:
        _pad(values, use.pad_value)
    return values


def _pad(values: np.ndarray, pad_value: float) -> None:
    """Pad sample i's sequence (axis 1) by PAD_PATTERNS[i % 3]: post, pre or not at all, PAD_STEPS steps."""
    values[...] = pad_rows(values, pad_value, PAD_PATTERNS, count=PAD_STEPS)


def pad_rows(x: np.ndarray, value: object, layouts: tuple[str, ...], first: int = 0,
             count: int | None = None) -> np.ndarray:
    """A copy of ``x`` whose row r is padded along the time axis (axis 1) with ``value`` as
    ``layouts[(first + r) % len(layouts)]`` says: ``post`` (the last ``count`` steps; default half the steps, at
    least one), ``pre`` (the first ``count``), ``inner`` (every other step inside), ``all`` or ``none``."""
    x = x.copy()
    if x.ndim < 2:
        return x
    for row in range(x.shape[0]):
        x[row, _padded_steps(layouts[(first + row) % len(layouts)], x.shape[1], count)] = value
    return x


def _padded_steps(layout: str, steps: int, count: int | None) -> slice:
    half = max(1, steps // 2) if count is None else count
    return {"post": slice(steps - half, None), "pre": slice(0, half), "inner": slice(1, max(steps - 1, 1), 2),
            "all": slice(None), "none": slice(0, 0)}[layout]
