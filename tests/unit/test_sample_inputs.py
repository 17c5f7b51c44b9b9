"""sample_inputs: seeded inputs that fit a model, inside Embedding vocabularies, padded for masked models."""

from __future__ import annotations

import numpy as np

import tfjs_interop
from tests.support.fixtures import TFJS_FIXTURES
from tfjs_interop.sample_inputs import PAD_STEPS, sample_inputs


def test_embedding_inputs_are_inside_the_vocabulary_and_padded_both_ways():
    model = tfjs_interop.load(TFJS_FIXTURES / "embedding_mask_lstm")
    embedding = next(layer for layer in model.layers if layer.class_name == "Embedding")
    (x,) = sample_inputs(model, seed=3)
    assert x.dtype == np.dtype(model.inputs[0].dtype) and x.shape[0] == 4
    assert x.min() >= 0 and x.max() < embedding.options.input_dim
    assert (x[0, -PAD_STEPS:] == 0).all() and (x[0, :-PAD_STEPS] != 0).all()  # post-padded
    assert (x[1, :PAD_STEPS] == 0).all() and (x[1, PAD_STEPS:] != 0).all()  # pre-padded
    assert (x[2] != 0).all()
    model.predict(x)


def test_masking_inputs_are_padded_with_the_mask_value():
    model = tfjs_interop.load(TFJS_FIXTURES / "masking_lstm_seq")
    masking = next(layer for layer in model.layers if layer.class_name == "Masking")
    (x,) = sample_inputs(model)
    assert (x[0, -PAD_STEPS:] == masking.options.mask_value).all()
    assert (x[1, :PAD_STEPS] == masking.options.mask_value).all()


def test_same_seed_same_inputs_and_fixed_sizes_kept():
    model = tfjs_interop.load(TFJS_FIXTURES / "lstm_stateful")  # batch size fixed by the model
    a, b, c = sample_inputs(model, seed=1), sample_inputs(model, seed=1), sample_inputs(model, seed=2)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == tuple(d for d in model.inputs[0].shape)


def test_one_array_per_input_in_input_order():
    model = tfjs_interop.load(TFJS_FIXTURES / "multi_io_shared_lstm")
    arrays = sample_inputs(model)
    assert [a.shape[1:] for a in arrays] == [spec.shape[1:] for spec in model.inputs]
