"""MultiHeadAttention against a float64 reference written from Keras's definition (loops over heads, query and key
steps); the Keras fixtures (k*_mha_*) pin Keras's own numbers, and the tests here what they show of Keras 3 and
tf_keras. TF.js has no such class (test_attention.py: save_tfjs refuses it)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import KERAS_FIXTURES, assert_matches, expected
from tests.support.layers import close, make, rand
from tfjs_interop.engines import KERAS2, KERAS3
from tfjs_interop.runtime.model import Model


def mha_reference(q, v, k, w, heads, key_dim, keep=None, fully_masked="uniform"):
    """Keras's MultiHeadAttention on (B, T, F) inputs, one head and step at a time; ``keep`` (B, Tq, Tv) the
    allowed pairs; a fully masked row gives tf_keras's weights ("uniform": the scores plus -1e9 in float32, equal
    where the scores lie within 32 of each other) or zeros ("zeros")."""
    wq, bq, wk, bk, wv, bv, wo, bo = (np.asarray(x, dtype=np.float64) for x in w)
    batch, tq, tv = q.shape[0], q.shape[1], v.shape[1]
    out = np.zeros((batch, tq, *wo.shape[2:]))
    for b, i in np.ndindex(batch, tq):
        context = np.zeros((heads, wv.shape[2]))
        for n in range(heads):
            qi = (q[b, i] @ wq[:, n] + bq[n]) / math.sqrt(key_dim)
            allowed = [j for j in range(tv) if keep is None or keep[b, i, j]]
            if not allowed:  # tf_keras adds -1e9 to every score in float32, which keeps them apart by 64s
                values = [v[b, j] @ wv[:, n] + bv[n] for j in range(tv)]
                scores = [np.float32(qi @ (k[b, j] @ wk[:, n] + bk[n])) + np.float32(-1e9) for j in range(tv)]
                weights = [math.exp(float(s) - float(max(scores))) for s in scores]
                uniform = sum(wt * x for wt, x in zip(weights, values)) / sum(weights)
                context[n] = uniform if fully_masked == "uniform" else 0
                continue
            scores = [qi @ (k[b, j] @ wk[:, n] + bk[n]) for j in allowed]
            top = max(scores)
            weights = [math.exp(s - top) for s in scores]
            context[n] = sum(wt * (v[b, j] @ wv[:, n] + bv[n]) for wt, j in zip(weights, allowed)) / sum(weights)
        out[b, i] = np.tensordot(context, wo, axes=([0, 1], [0, 1])) + bo
    return out


def _weights(query_features, value_features, key_features, heads, key_dim, value_dim, out):
    return [rand(query_features, heads, key_dim), rand(heads, key_dim), rand(key_features, heads, key_dim),
            rand(heads, key_dim), rand(value_features, heads, value_dim), rand(heads, value_dim),
            rand(heads, value_dim, *out), rand(*out)]


def test_cross_attention_with_key_masks_and_causal_mask_matches_the_reference():
    q, v, k = rand(2, 4, 3), rand(2, 5, 2), rand(2, 5, 6)
    w = _weights(3, 2, 6, 2, 3, 4, (3, 2))
    config = {"num_heads": 2, "key_dim": 3, "value_dim": 4, "output_shape": [3, 2]}
    layer = make("MultiHeadAttention", config, [(None, 4, 3), (None, 5, 2), (None, 5, 6)], w)
    q_mask = np.array([[1, 1, 0, 1], [0, 1, 1, 1]], bool)
    v_mask = np.array([[1, 0, 1, 1, 0], [0, 0, 0, 0, 0]], bool)  # the second sample: every value masked
    k_mask = np.array([[1, 1, 1, 0, 1], [1, 1, 1, 1, 1]], bool)
    keep = q_mask[:, :, None] & v_mask[:, None, :] & k_mask[:, None, :] & np.tril(np.ones((4, 5), bool))[None]
    ours = layer.call([q, v, k], mask=[q_mask, v_mask, k_mask], use_causal_mask=True)
    close(ours, mha_reference(q, v, k, w, 2, 3, keep), atol=1e-4)


def test_explicit_attention_mask_and_no_bias():
    q, v = rand(3, 4, 5), rand(3, 6, 5)
    w = _weights(5, 5, 5, 3, 2, 2, (5,))
    keep = rand(3, 4, 6) > 0
    layer = make("MultiHeadAttention", {"num_heads": 3, "key_dim": 2, "use_bias": False},
                 [(None, 4, 5), (None, 6, 5)], [x for i, x in enumerate(w) if i % 2 == 0])
    no_bias = [x if i % 2 == 0 else np.zeros_like(x) for i, x in enumerate(w)]
    close(layer.call([q, v], attention_mask=keep), mha_reference(q, v, v, no_bias, 3, 2, keep), atol=1e-4)


@pytest.mark.parametrize(("engine", "fully_masked"), [(KERAS2, "uniform"), (KERAS3, "zeros")])
def test_fully_masked_rows_follow_the_engine_on_the_softmax_path(engine, fully_masked):
    """With returned scores (or dropout), Keras 3's Softmax zeroes a fully masked row's weights; tf_keras's
    -1e9 gives it uniform weights (k2/k3_mha_cross_key record both)."""
    q, v = rand(2, 3, 4), rand(2, 5, 4)
    w = _weights(4, 4, 4, 2, 3, 3, (4,))
    layer = make("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, [(None, 3, 4), (None, 5, 4)], w,
                 engine=engine)
    q_mask = np.array([[1, 0, 1], [1, 1, 1]], bool)
    v_mask = np.array([[1, 1, 0, 1, 1], [1, 1, 1, 1, 1]], bool)
    out, scores = layer.call([q, v], mask=[q_mask, v_mask], return_attention_scores=True)
    keep = q_mask[:, :, None] & v_mask[:, None, :]
    close(out, mha_reference(q, v, v, w, 2, 3, keep, fully_masked), atol=1e-4)
    assert scores.shape == (2, 2, 3, 5)
    np.testing.assert_allclose(scores[0, :, 1], 0.0 if fully_masked == "zeros" else 0.2, atol=1e-7)


def test_keras_fixtures_record_both_engines_on_fully_masked_rows():
    """The real libraries at padded query steps of the attention with dropout (its Softmax path in Keras 3): Keras 3
    zeroes the weights, so every such step gives the output projection's bias, the same in every sample; tf_keras
    averages each sample's values. Both our loads give each library's."""
    for generation, alike in (("k3", True), ("k2", False)):
        case = KERAS_FIXTURES / f"{generation}_mha_cross_key"
        tokens = np.load(case / "call0_input0.npy")
        dropped = np.load(case / "call0_output3.npy")  # (batch, 6, 5)
        padded = dropped[tokens == 0]
        assert len(np.unique(np.nonzero(tokens == 0)[0])) > 1
        assert np.allclose(padded, padded[0], atol=1e-6) == alike
        assert_matches(tfjs_interop.load(case / "model.keras"), case)


@pytest.mark.parametrize(("name", "output"), [("mha_shared_encoder", 0), ("mha_parallel_chain", 1)])
def test_keras3_removes_the_masks_of_the_tensors_it_reads(name, output):
    """Run as tf_keras runs them (every attention masked), these models miss Keras 3's recorded numbers; with
    Keras 3's order and its run-time masks they give them (and tf_keras's own files tf_keras's)."""
    case = KERAS_FIXTURES / f"k3_{name}"
    model = tfjs_interop.load(case / "model.keras")
    assert_matches(model, case)
    masked_everywhere = Model(model.topology, KERAS2)
    masked_everywhere.set_weights(model.get_weights())
    inputs = [np.load(case / name) for name in expected(case)["calls"][0]["inputs"]]
    recorded = np.load(case / f"call0_output{output}.npy")
    ours = masked_everywhere.predict(inputs if len(inputs) > 1 else inputs[0])[output]
    assert np.max(np.abs(ours - recorded)) > 1e-2
    assert_matches(tfjs_interop.load(KERAS_FIXTURES / f"k2_{name}" / "model.h5"), KERAS_FIXTURES / f"k2_{name}")


def test_attention_over_two_axes_of_4d_inputs_is_keras():
    case = KERAS_FIXTURES / "k3_mha_axes"
    assert expected(case)["inputs"][0]["shape"] == [None, 3, 4, 5]
    assert_matches(tfjs_interop.load(case / "model.keras"), case)


@pytest.mark.parametrize(("config", "words"), [
    ({"use_gate": True}, "use_gate=True is not supported"),
    ({"sliding_window": 2}, "sliding_window=2 is not supported"),
    ({"num_heads": 0}, "num_heads"),
    ({"output_shape": "big"}, "output_shape"),
])
def test_options_it_cannot_honour_are_refused(config, words):
    with pytest.raises(tfjs_interop.TfjsInteropError, match=words):
        make("MultiHeadAttention", {"num_heads": 2, "key_dim": 2, **config}, [(None, 3, 4), (None, 5, 4)])


def test_inputs_it_cannot_take_are_refused():
    with pytest.raises(tfjs_interop.ModelFormatError, match="attention_axes"):
        make("MultiHeadAttention", {"num_heads": 1, "key_dim": 2, "attention_axes": [3]}, [(None, 3, 4), (None, 3, 4)])
    with pytest.raises(tfjs_interop.ModelFormatError, match="value and key equal"):
        make("MultiHeadAttention", {"num_heads": 1, "key_dim": 2}, [(None, 3, 4), (None, 5, 4), (None, 6, 4)])


def test_keras3_weights_sit_in_its_projection_groups(tmp_path):
    """save_keras writes each projection where Keras 3 keeps it (query_dense/vars/0...), named as Keras names it."""
    import zipfile

    import h5py

    model = tfjs_interop.load(KERAS_FIXTURES / "k3_mha_bilstm_self" / "model.keras")
    tfjs_interop.save_keras(model, tmp_path / "out.keras")
    with zipfile.ZipFile(tmp_path / "out.keras") as archive:
        archive.extract("model.weights.h5", tmp_path)
    with h5py.File(tmp_path / "model.weights.h5") as h5:
        group = h5["layers/multi_head_attention"]
        assert sorted(group) == ["key_dense", "output_dense", "query_dense", "value_dense", "vars"]
        assert group["query_dense/vars"].attrs["name"] == "query"
        assert group["output_dense/vars/0"].shape == (2, 4, 10)
        assert len(group["vars"]) == 0
