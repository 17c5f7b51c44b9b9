"""Keras's dot-product and additive attention layers (Attention, AdditiveAttention), as Keras 3 and tf.keras compute
them; TF.js has no such classes.

Inputs ``[query, value]`` or ``[query, value, key]`` (key defaults to value). Scores (B, Tq, Tv) are turned into
weights by a softmax after subtracting 1e9 (in float32, as Keras) where the value is masked or, with
``use_causal_mask``, where the key comes after the query; the output ``weights @ value`` is zeroed at masked query
steps, and the query's mask passes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InputError
from ...facts import KerasFacts, TfjsFacts
from .base import Layer, Options, Shape, check_rate, register, shape_error, unsupported

MASKED_SCORE = np.float32(1e9)  # Keras subtracts this from masked scores (65504 under float16, not supported)


@dataclass(frozen=True)
class AttentionOptions(Options):
    use_scale: bool = False
    score_mode: str = "dot"
    dropout: float = 0.0
    causal: bool = False  # tf.keras's older name for use_causal_mask

    def validate(self, layer: str, class_name: str) -> None:
        if self.score_mode not in ("dot", "concat"):
            raise unsupported(layer, class_name, f"score_mode={self.score_mode!r}", "'dot', 'concat'")
        check_rate(self.dropout, layer, class_name, "dropout")


@dataclass(frozen=True)
class AdditiveAttentionOptions(AttentionOptions):
    use_scale: bool = True


class BaseAttention(Layer):
    """What both attention layers share: inputs, masks, the masked softmax and the weighted sum."""

    supports_masking = True

    def build(self, input_shape: list[Shape]) -> None:
        if not isinstance(input_shape, list) or len(input_shape) not in (2, 3) or \
                any(len(s) != 3 for s in input_shape):
            raise shape_error(self, "[query, value] or [query, value, key], each (batch, steps, features)",
                              input_shape)
        self.build_scores(input_shape[0][-1])

    def build_scores(self, dim: int | None) -> None:
        """Declare the weights of the score function."""

    def output_shape(self, input_shape: list[Shape]) -> Shape:
        return (*input_shape[0][:-1], input_shape[1][-1])

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        return mask[0] if isinstance(mask, list) else None

    def scores(self, query: np.ndarray, key: np.ndarray) -> np.ndarray:
        """(B, Tq, Tv) scores of every query step against every key step."""
        raise NotImplementedError

    def call(self, inputs: list[np.ndarray], mask: Any = None, use_causal_mask: bool = False,
             return_attention_scores: bool = False, **kwargs: Any) -> np.ndarray:
        if return_attention_scores:
            raise unsupported(self.name, self.class_name, "return_attention_scores=True", "the attention output")
        query, value = (np.asarray(x, dtype=np.float32) for x in inputs[:2])
        key = np.asarray(inputs[2], dtype=np.float32) if len(inputs) > 2 else value
        if key.shape[1] != value.shape[1]:
            raise InputError(f"layer {self.name!r} ({self.class_name}): key and value have {key.shape[1]} and "
                             f"{value.shape[1]} steps")
        masks = mask if isinstance(mask, list) else [None, None]
        scores = self.scores(query, key).astype(np.float32)  # (B, Tq, Tv)
        allowed = np.ones(scores.shape, dtype=bool)
        if len(masks) > 1 and masks[1] is not None:
            allowed &= np.asarray(masks[1], dtype=bool)[:, None, :]
        if use_causal_mask or self.options.causal:
            allowed &= np.tril(np.ones(scores.shape[1:], dtype=bool))[None]
        scores = scores - MASKED_SCORE * (~allowed)
        scores = scores.astype(np.float64)
        weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
        weights /= weights.sum(axis=-1, keepdims=True)
        out = weights @ value.astype(np.float64)  # (B, Tq, dim_v)
        if masks[0] is not None:
            out *= np.asarray(masks[0], dtype=bool)[:, :, None]
        return out.astype(np.float32)


@register("Attention")
class Attention(BaseAttention):
    """Luong attention: scores q · kᵀ (times ``scale`` with use_scale), or with ``score_mode="concat"``
    ``concat_score_weight · Σ tanh(scale · (q + k))``."""
    tfjs = TfjsFacts(registered=False)
    keras = KerasFacts(keras3_mask_argument=True)

    Options = AttentionOptions

    def build_scores(self, dim: int | None) -> None:
        self.scale = self.add_weight("scale", ()) if self.options.use_scale else None
        concat = self.options.score_mode == "concat"
        self.concat_score_weight = self.add_weight("concat_score_weight", ()) if concat else None

    def scores(self, query: np.ndarray, key: np.ndarray) -> np.ndarray:
        if self.concat_score_weight is None:
            scores = query @ np.swapaxes(key, 1, 2)
            return scores * self.scale.value if self.scale is not None else scores
        total = query[:, :, None, :] + key[:, None, :, :]  # (B, Tq, Tv, dim)
        if self.scale is not None:
            total = self.scale.value * total
        return self.concat_score_weight.value * np.tanh(total).sum(axis=-1)


@register("AdditiveAttention")
class AdditiveAttention(BaseAttention):
    """Bahdanau attention: scores Σ scale · tanh(q + k) over features (scale a weight per feature, or 1)."""
    tfjs = TfjsFacts(registered=False)
    keras = KerasFacts(keras3_mask_argument=True)

    Options = AdditiveAttentionOptions

    def build_scores(self, dim: int | None) -> None:
        if self.options.use_scale and dim is None:
            raise shape_error(self, "a query with known features (for the scale)", dim)
        self.scale = self.add_weight("scale", (dim,)) if self.options.use_scale else None

    def scores(self, query: np.ndarray, key: np.ndarray) -> np.ndarray:
        tanh = np.tanh(query[:, :, None, :] + key[:, None, :, :])  # (B, Tq, Tv, dim)
        return (tanh * self.scale.value if self.scale is not None else tanh).sum(axis=-1)
