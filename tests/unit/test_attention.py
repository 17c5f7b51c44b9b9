"""Attention and AdditiveAttention against float64 references written from Keras's definitions (loops over query and
key steps); the Keras fixtures (k*_attention_*) pin Keras's own numbers. TF.js has no attention classes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import KERAS_FIXTURES
from tests.support.layers import close, make, rand


def attention_reference(q, v, k, score, q_mask=None, v_mask=None, causal=False):
    """softmax over allowed key steps of score(q_i, k_j), times v; zero at masked query steps."""
    batch, tq, tv = q.shape[0], q.shape[1], v.shape[1]
    out = np.zeros((batch, tq, v.shape[2]))
    for b, i in np.ndindex(batch, tq):
        allowed = [j for j in range(tv) if (v_mask is None or v_mask[b, j]) and (not causal or j <= i)]
        if allowed:  # (Keras's -1e9 gives uniform weights over all steps when none is allowed)
            scores = [score(q[b, i].astype(np.float64), k[b, j].astype(np.float64)) for j in allowed]
            top = max(scores)
            weights = [math.exp(s - top) for s in scores]
            out[b, i] = sum(w * v[b, j] for w, j in zip(weights, allowed)) / sum(weights)
        else:
            out[b, i] = v[b].mean(axis=0)
        if q_mask is not None and not q_mask[b, i]:
            out[b, i] = 0
    return out


def test_dot_attention_with_scale_masks_and_a_causal_mask():
    q, v = rand(2, 4, 3), rand(2, 5, 3)
    q_mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
    v_mask = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 1]], bool)
    layer = make("Attention", {"use_scale": True}, [(None, 4, 3), (None, 5, 3)], [np.float32(0.7)])
    close(layer.call([q, v], mask=[q_mask, v_mask]),
          attention_reference(q, v, v, lambda a, b: 0.7 * float(a @ b), q_mask, v_mask), atol=1e-5)
    assert layer.compute_mask([q, v], [q_mask, v_mask]) is q_mask
    causal = make("Attention", {}, [(None, 4, 3), (None, 4, 3)])
    close(causal.call([q, q], use_causal_mask=True), attention_reference(q, q, q, lambda a, b: float(a @ b),
                                                                          causal=True), atol=1e-5)


def test_concat_attention_with_a_separate_key():
    q, v, k = rand(2, 3, 4), rand(2, 5, 2), rand(2, 5, 4)
    layer = make("Attention", {"score_mode": "concat", "use_scale": True}, [(None, 3, 4), (None, 5, 2), (None, 5, 4)],
                 [np.float32(0.5), np.float32(1.3)])
    close(layer.call([q, v, k]),
          attention_reference(q, v, k, lambda a, b: 1.3 * float(np.tanh(0.5 * (a + b)).sum())), atol=1e-5)
    assert layer.output_shape([(None, 3, 4), (None, 5, 2), (None, 5, 4)]) == (None, 3, 2)


def test_additive_attention_with_and_without_scale():
    q, v = rand(2, 3, 4), rand(2, 6, 4)
    v_mask = np.array([[1, 1, 0, 1, 0, 1], [1, 0, 0, 0, 0, 0]], bool)
    scale = rand(4)
    layer = make("AdditiveAttention", {}, [(None, 3, 4), (None, 6, 4)], [scale])
    close(layer.call([q, v], mask=[None, v_mask]),
          attention_reference(q, v, v, lambda a, b: float((scale * np.tanh(a + b)).sum()), v_mask=v_mask), atol=1e-5)
    plain = make("AdditiveAttention", {"use_scale": False}, [(None, 3, 4), (None, 6, 4)])
    close(plain.call([q, v]), attention_reference(q, v, v, lambda a, b: float(np.tanh(a + b).sum())), atol=1e-5)


def test_options_attention_cannot_honour_are_refused():
    with pytest.raises(tfjs_interop.UnsupportedLayerError, match="score_mode='general'"):
        make("Attention", {"score_mode": "general"}, [(None, 3, 4), (None, 5, 4)])
    layer = make("Attention", {}, [(None, 3, 4), (None, 5, 4)])
    with pytest.raises(tfjs_interop.UnsupportedLayerError, match="return_attention_scores"):
        layer.call([rand(1, 3, 4), rand(1, 5, 4)], return_attention_scores=True)


@pytest.mark.parametrize("case", ["k2_attention_plain", "k3_attention_plain", "k2_mha_causal_shapes",
                                  "k3_mha_causal_shapes"])
def test_save_tfjs_refuses_attention_clearly(case, tmp_path):
    model = tfjs_interop.load(KERAS_FIXTURES / case / "model.keras")
    with pytest.raises(tfjs_interop.UnsupportedLayerError,
                       match=r"\((Additive|MultiHead)?Attention\).*TF.js cannot deserialise"):
        tfjs_interop.save_tfjs(model, tmp_path / "out")
    assert not (tmp_path / "out").exists()
