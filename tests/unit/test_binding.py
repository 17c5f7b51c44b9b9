"""Binding file weights to layer weights by the names each writer gives them."""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_interop
from tests.support.modelfiles import functional, input_layer, layer, write_model
from tfjs_interop.errors import WeightsError

RNG = np.random.default_rng(7)


def _bidi_model(tmp_path, names, order=range(6)):
    inner = {"class_name": "LSTM", "config": {"name": "lstm", "units": 2, "recurrent_activation": "sigmoid"}}
    topology = functional([input_layer("x", [None, 3, 2]), layer("Bidirectional", "bidirectional", [["x", 0, 0]],
                                                                 layer=inner, merge_mode="concat")],
                          ["x"], ["bidirectional"])
    shapes = [(2, 8), (2, 8), (8,)] * 2
    values = [RNG.normal(size=s).astype(np.float32) for s in shapes]
    weights = {names[i]: values[i] for i in order}  # written to the file in this order
    return write_model(tmp_path, topology, weights), values


KERAS2_BIDI = [f"bidirectional/{direction}_lstm/lstm_cell/{kind}:0" for direction in ("forward", "backward")
               for kind in ("kernel", "recurrent_kernel", "bias")]


@pytest.mark.parametrize("order", [list(range(6)), [3, 4, 5, 0, 1, 2], [5, 0, 4, 1, 3, 2]])
def test_keras2_names_bind_by_direction_and_kind_in_any_order(tmp_path, order):
    path, values = _bidi_model(tmp_path, KERAS2_BIDI, order)
    for got, want in zip(tfjs_interop.load(path).get_weights(), values):
        np.testing.assert_array_equal(got, want)


def test_layer_names_that_prefix_each_other_do_not_mix(tmp_path):
    layers = [input_layer("x", [None, 2]), layer("Dense", "dense", [["x", 0, 0]], units=2),
              layer("Dense", "dense_1", [["dense", 0, 0]], units=2)]
    w = {name: RNG.normal(size=s).astype(np.float32) for name, s in
         [("dense_1/kernel", (2, 2)), ("dense_1/bias", (2,)), ("dense/kernel", (2, 2)), ("dense/bias", (2,))]}
    model = tfjs_interop.load(write_model(tmp_path, functional(layers, ["x"], ["dense_1"]), w))
    got = model.get_weights()
    for value, name in zip(got, ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]):
        np.testing.assert_array_equal(value, w[name])


def test_missing_weight_names_layer_expectation_and_what_was_found(tmp_path):
    layers = [input_layer("x", [None, 2]), layer("Dense", "d", [["x", 0, 0]], units=3)]
    path = write_model(tmp_path, functional(layers, ["x"], ["d"]), {"d/kernel": np.ones((2, 3), np.float32)})
    with pytest.raises(WeightsError, match=r"layer 'd' \(Dense\) expects weight 'bias' of shape \[3\].*d/kernel"):
        tfjs_interop.load(path)


def test_unclaimed_weight_is_reported(tmp_path):
    layers = [input_layer("x", [None, 2]), layer("Dense", "d", [["x", 0, 0]], units=3, use_bias=False)]
    path = write_model(tmp_path, functional(layers, ["x"], ["d"]), {"d/kernel": np.ones((2, 3), np.float32),
                                                                    "other/bias": np.ones(3, np.float32)})
    with pytest.raises(WeightsError, match=r"'other/bias'.*match no weight"):
        tfjs_interop.load(path)


def test_set_weights_checks_count_and_shapes(tmp_path):
    path, values = _bidi_model(tmp_path, KERAS2_BIDI)
    model = tfjs_interop.load(path)
    with pytest.raises(WeightsError, match="expects 6 weight"):
        model.set_weights(values[:5])
    with pytest.raises(WeightsError, match=r"expected \[2, 8\], found \[8, 2\]"):
        model.set_weights([values[0].T] + values[1:])
    model.set_weights([v * 2 for v in values])
    np.testing.assert_array_equal(model.get_weights()[0], values[0] * 2)


def test_stacked_cells_bind_by_tfjs_cell_index_whatever_the_file_order(tmp_path):
    cell = {"class_name": "SimpleRNNCell", "config": {"units": 3}}
    cells = {"class_name": "StackedRNNCells", "config": {"cells": [cell, cell]}}
    layers = [input_layer("x", [None, 4, 3]), layer("RNN", "rnn", [["x", 0, 0]], cell=cells)]
    names = [f"rnn/RNNCell_{i}/{kind}" for i in (1, 0) for kind in ("kernel", "recurrent_kernel", "bias")]
    values = {name: RNG.normal(size=(3,) if name.endswith("bias") else (3, 3)).astype(np.float32) for name in names}
    model = tfjs_interop.load(write_model(tmp_path, functional(layers, ["x"], ["rnn"]), values))
    expected = [values[f"rnn/RNNCell_{i}/{kind}"] for i in (0, 1) for kind in ("kernel", "recurrent_kernel", "bias")]
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_array_equal(got, want)


def test_a_layer_does_not_claim_the_weights_of_a_layer_named_below_it(tmp_path):
    layers = [input_layer("x", [None, 2]), layer("Dense", "a", [["x", 0, 0]], units=2),
              layer("Dense", "a/b", [["a", 0, 0]], units=2)]
    w = {name: RNG.normal(size=s).astype(np.float32) for name, s in
         [("a/b/kernel", (2, 2)), ("a/b/bias", (2,)), ("a/kernel", (2, 2)), ("a/bias", (2,))]}
    model = tfjs_interop.load(write_model(tmp_path, functional(layers, ["x"], ["a/b"]), w))
    for value, name in zip(model.get_weights(), ["a/kernel", "a/bias", "a/b/kernel", "a/b/bias"]):
        np.testing.assert_array_equal(value, w[name])
