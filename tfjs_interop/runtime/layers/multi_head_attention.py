"""Keras's MultiHeadAttention, as Keras 3 and tf.keras compute it; TF.js has no such class.

The call takes ``query, value[, key]`` (key defaults to value), each ``(batch, *steps, features)``, as separate
tensors (Keras 3 and tf.keras write them positionally or by name; ``arranged_call`` puts them in that order), and
optionally an ``attention_mask`` (batch, Tq, Tv). Query, key and value are projected per head by EinsumDense
kernels ``(features, heads, dim)``; the scores ``q · kᵀ / sqrt(key_dim)`` over the attention axes are masked (the
query's, value's and key's Keras masks, the causal mask and the attention mask, ANDed as Keras's
``_compute_attention_mask`` does) and softmaxed; the output projection ``(heads, value_dim, *output_shape)`` maps
the weighted values back. The output carries the query's mask.

How a masked score leaves the softmax is the engines' difference, and shows only on fully masked rows (a padded
query step, or a sample whose values are all padding):

- tf.keras adds ``-1e9`` to masked scores in float32 (``softmax_robust_masking``: sets them to -1e9): a fully masked
  row averages the values uniformly (its scores, rounded to multiples of 64 near -1e9, mostly tie).
- Keras 3 runs ``ops.dot_product_attention`` for 3-D inputs without dropout or returned scores (masked scores set to
  ``-0.7 * 3.38953e38``: a fully masked row averages uniformly), else its Softmax layer, which sets masked scores to
  -1e9 and zeroes masked weights afterwards (a fully masked row gives zeros).
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InputError
from ...facts import KerasFacts, TfjsFacts, frozen
from ...topology import Call
from .base import (
    Layer,
    Options,
    Shape,
    check_rate,
    engine_option,
    invalid,
    positive_int,
    register,
    shape_error,
    unsupported,
)

KERAS2_ADDED = np.float32(-1e9)  # tf.keras's Softmax adds this to masked scores (in float32)
KERAS3_SOFTMAX_MASKED = -1e9  # Keras 3's Softmax layer sets masked scores to this
KERAS3_DOT_PRODUCT_MASKED = float(np.float32(3.38953e38 * -0.7))  # ops.dot_product_attention's (TF backend)
TENSOR_ARGUMENTS = ("query", "value", "key")
TF_KERAS_SHAPE_KEYS = ("query_shape", "key_shape", "value_shape", "softmax_robust_masking")
KERAS3_DIFFERS = ("Keras 3 zeroes the attention weights of a fully masked query row where its Softmax layer computes "
                  "them (with dropout, returned scores or inputs of more than 3 dimensions) and tf.keras averages "
                  "the values, and removes the masks of the tensors it reads from the attention layers Keras 3 runs "
                  "after it")


def _axes(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, int) else tuple(value)


@dataclass(frozen=True)
class MultiHeadAttentionOptions(Options):
    num_heads: int = 0
    key_dim: int = 0
    value_dim: int | None = None
    dropout: float = 0.0
    use_bias: bool = True
    output_shape: Any = None
    attention_axes: Any = None
    use_gate: bool = False
    sliding_window: int | None = None
    flash_attention: Any = None
    softmax_robust_masking: bool = False  # tf.keras only
    masked_softmax: str = engine_option("keras2")  # whose masked softmax (module docstring)

    def validate(self, layer: str, class_name: str) -> None:
        positive_int(self.num_heads, layer, class_name, "num_heads")
        positive_int(self.key_dim, layer, class_name, "key_dim")
        if self.value_dim is not None:
            positive_int(self.value_dim, layer, class_name, "value_dim")
        check_rate(self.dropout, layer, class_name, "dropout")
        for key in ("output_shape", "attention_axes"):
            value = getattr(self, key)
            items = [value] if isinstance(value, int) else value
            if value is not None and (not isinstance(items, (list, tuple)) or not all(
                    isinstance(i, int) and not isinstance(i, bool) for i in items)):
                raise invalid(layer, class_name, key, "an integer or a list of integers", value)
        if self.output_shape is not None and any(d <= 0 for d in _axes(self.output_shape)):
            raise invalid(layer, class_name, "output_shape", "positive sizes", self.output_shape)
        if self.use_gate:
            raise unsupported(layer, class_name, "use_gate=True", "use_gate false")
        if self.sliding_window is not None:
            raise unsupported(layer, class_name, f"sliding_window={self.sliding_window!r}", "sliding_window null")
        if self.flash_attention:
            raise unsupported(layer, class_name, "flash_attention=True", "flash_attention null or false")


@register("MultiHeadAttention")
class MultiHeadAttention(Layer):
    """Multi-head dot-product attention with Keras's EinsumDense projections (module docstring)."""
    tfjs = TfjsFacts(registered=False)
    keras = KerasFacts(keras3_behaviour=frozen({"masked_softmax": "keras3"}), dropped_keys=TF_KERAS_SHAPE_KEYS,
                       call_arguments=TENSOR_ARGUMENTS, keras3_clears_input_masks=True, keras3_differs=KERAS3_DIFFERS,
                       keras3_children=frozen({"query": "query_dense", "key": "key_dense", "value": "value_dense",
                                               "attention_output": "output_dense"}))

    Options = MultiHeadAttentionOptions
    supports_masking = True

    # -- the call as the file gives it ----------------------------------------------------------------------
    def arranged_call(self, call: Call) -> Call:
        """Query, value and key as positional tensors in that order, however the file passed them."""
        return call.positional(TENSOR_ARGUMENTS)

    # -- shapes and weights ---------------------------------------------------------------------------------
    def _shapes(self, input_shape: Any) -> list[Shape]:
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        if len(shapes) not in (2, 3) or any(not isinstance(s, tuple) or len(s) < 3 for s in shapes):
            raise shape_error(self, "query and value (and key), each (batch, steps..., features)", input_shape)
        query, value = shapes[:2]
        key = shapes[2] if len(shapes) > 2 else value
        if len(query) != len(value) or len(key) != len(value):
            raise shape_error(self, "query, value and key of one rank", input_shape)
        if tuple(value[1:-1]) != tuple(key[1:-1]):
            raise shape_error(self, "value and key equal in all but their last dimension", input_shape)
        if any(s[-1] is None for s in (query, value, key)):
            raise shape_error(self, "inputs with known features", input_shape)
        return [query, value, key]

    def build(self, input_shape: Any) -> None:
        query, value, key = self._shapes(input_shape)
        o = self.options
        heads, value_dim = o.num_heads, o.value_dim or o.key_dim
        self.rank = len(query) + 1  # of the projected tensors (batch, steps..., heads, dim)
        self.attention_axes = self._attention_axes(self.rank)
        out = _axes(o.output_shape) or (query[-1],)
        self.projections = {}
        for name, features, dim in (("query", query[-1], o.key_dim), ("key", key[-1], o.key_dim),
                                    ("value", value[-1], value_dim)):
            self.projections[name] = self._dense(name, (features, heads, dim), (heads, dim))
        self.projections["attention_output"] = self._dense("attention_output", (heads, value_dim, *out), out)

    def _dense(self, name: str, kernel: Shape, bias: Shape) -> tuple:
        return (self.add_weight(f"{name}/kernel", kernel),
                self.add_weight(f"{name}/bias", bias) if self.options.use_bias else None)

    def _attention_axes(self, rank: int) -> tuple[int, ...]:
        axes = _axes(self.options.attention_axes)
        if axes is None:
            return tuple(range(1, rank - 2))
        axes = tuple(a if a >= 0 else rank - 1 + a for a in axes)
        if any(not 1 <= a < rank - 2 for a in axes) or len(set(axes)) != len(axes):
            raise shape_error(self, f"attention_axes {self.options.attention_axes} among the steps axes of inputs "
                                    f"of rank {rank - 1}", axes)
        return axes

    def output_shape(self, input_shape: Any) -> Shape:
        query = self._shapes(input_shape)[0]
        out = _axes(self.options.output_shape) or (query[-1],)
        return (*query[:-1], *out)

    def call_output_shape(self, input_shape: Any, kwargs: dict) -> Shape | list[Shape]:
        shape = self.output_shape(input_shape)
        if not kwargs.get("return_attention_scores"):
            return shape
        query, value, _ = self._shapes(input_shape)
        batch = [d for i, d in enumerate(query[:-1]) if i not in self.attention_axes]
        scores = (*batch, self.options.num_heads, *(query[a] for a in self.attention_axes),
                  *(value[a] for a in self.attention_axes))
        return [shape, scores]

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        return mask[0] if isinstance(mask, list) else mask

    # -- computation ----------------------------------------------------------------------------------------
    def call(self, inputs: Any, mask: Any = None, attention_mask: Any = None, use_causal_mask: bool = False,
             return_attention_scores: bool = False, **kwargs: Any) -> Any:
        if not isinstance(inputs, list) or len(inputs) not in (2, 3):
            raise InputError(f"layer {self.name!r} ({self.class_name}) takes query and value (and key) tensors, "
                             f"found {1 if not isinstance(inputs, list) else len(inputs)}")
        query, value = (np.asarray(x, dtype=np.float32) for x in inputs[:2])
        key = np.asarray(inputs[2], dtype=np.float32) if len(inputs) > 2 else value
        if key.shape[1:-1] != value.shape[1:-1]:
            raise InputError(f"layer {self.name!r} ({self.class_name}): key and value have shapes {key.shape} and "
                             f"{value.shape}, which differ in more than their last dimension")
        masks = (mask if isinstance(mask, list) else [mask]) + [None] * 3
        keep = self._keep(query, value, masks[0], masks[1], masks[2] if len(inputs) > 2 else None,
                          attention_mask, use_causal_mask)
        q, k, v = (self._project(name, x) for name, x in (("query", query), ("key", key), ("value", value)))
        product, combine, softmax_axes = _equations(self.rank, self.attention_axes)
        scores = np.einsum(product, k, q * np.float64(1.0 / math.sqrt(float(self.options.key_dim))))
        weights = self._masked_softmax(scores.astype(np.float32), keep, softmax_axes, return_attention_scores)
        attended = np.einsum(combine, weights, v)  # (batch, steps..., heads, value_dim)
        output = self._output(attended).astype(np.float32)
        return [output, weights.astype(np.float32)] if return_attention_scores else output

    def _project(self, name: str, x: np.ndarray) -> np.ndarray:
        kernel, bias = self.projections[name]
        y = np.tensordot(x.astype(np.float64), kernel.value.astype(np.float64), axes=([-1], [0]))
        return (y + bias.value if bias is not None else y).astype(np.float32).astype(np.float64)

    def _output(self, attended: np.ndarray) -> np.ndarray:
        kernel, bias = self.projections["attention_output"]
        y = np.tensordot(attended.astype(np.float32).astype(np.float64), kernel.value.astype(np.float64),
                         axes=([-2, -1], [0, 1]))
        return y + bias.value if bias is not None else y

    def _keep(self, query: np.ndarray, value: np.ndarray, query_mask: Any, value_mask: Any, key_mask: Any,
              attention_mask: Any, causal: bool) -> np.ndarray | None:
        """Keras's ``_compute_attention_mask``: the allowed (query, key) pairs, broadcastable to (B, Tq, Tv),
        or None for no mask. tf.keras leaves an explicit attention mask alone when no other applies (its softmax
        then adds ``(1 - mask) * -1e9``): such a mask is returned as float32 numbers."""
        auto = None
        for m, axis in ((query_mask, -1), (value_mask, -2), (key_mask, -2)):
            if m is not None:
                m = np.expand_dims(np.asarray(m).astype(bool), axis)
                auto = m if auto is None else auto & m
        if causal:
            steps = np.arange(query.shape[1])[:, None] >= np.arange(value.shape[1])[None, :]
            auto = steps[None] if auto is None else auto & steps[None]
        if attention_mask is not None:
            attention_mask = np.asarray(attention_mask)
            if auto is None and self.options.masked_softmax == "keras2":
                return attention_mask.astype(np.float32)
            attention_mask = attention_mask.astype(bool)
        if auto is None:
            return attention_mask
        return auto if attention_mask is None else attention_mask & auto

    def _masked_softmax(self, scores: np.ndarray, keep: np.ndarray | None, axes: tuple[int, ...],
                        returns_scores: bool) -> np.ndarray:
        """The softmax of float32 ``scores`` over ``axes`` with masked scores as the engine sets them."""
        zero_masked = False
        if keep is not None:
            for _ in range(scores.ndim - keep.ndim):  # Keras expands from the heads axis
                keep = np.expand_dims(keep, -len(self.attention_axes) * 2 - 1)
            if self.options.masked_softmax == "keras3":
                dot_product = self.rank == 4 and not self.options.dropout and not returns_scores
                fill = KERAS3_DOT_PRODUCT_MASKED if dot_product else KERAS3_SOFTMAX_MASKED
                zero_masked = not dot_product
                scores = np.where(keep, scores.astype(np.float64), fill)
            elif self.options.softmax_robust_masking:
                keep = keep if keep.dtype == bool else keep > 0.5
                scores = np.where(keep, scores, KERAS2_ADDED)
            else:
                scores = scores + (np.float32(1.0) - keep.astype(np.float32)) * KERAS2_ADDED
        scores = scores.astype(np.float64)
        e = np.exp(scores - scores.max(axis=axes, keepdims=True))
        weights = e / e.sum(axis=axes, keepdims=True)
        return np.where(keep, weights, 0.0) if zero_masked else weights


def _equations(rank: int, attention_axes: tuple[int, ...]) -> tuple[str, str, tuple[int, ...]]:
    """Keras's einsum equations for projected tensors of ``rank`` (batch, steps..., heads, dim): key × query ->
    scores (batch dims and heads, query attention axes, key attention axes), scores × value -> (like the query);
    and the scores' softmax axes."""
    letters = string.ascii_lowercase
    target = letters[:rank]
    batch = [i for i in range(rank - 1) if i not in attention_axes]
    source = list(target)
    for n, axis in enumerate(attention_axes):
        source[axis] = letters[rank + n]
    source = "".join(source)
    product = "".join([target[i] for i in batch] + [target[i] for i in attention_axes]
                      + [source[i] for i in attention_axes])
    count = len(attention_axes)
    softmax_axes = tuple(range(len(product) - count, len(product)))
    return f"{source},{target}->{product}", f"{product},{source}->{target}", softmax_axes
