"""The two engines' scheduling and mask rules on one graph: TF.js's executor against Keras's.

The TF.js behaviour itself is pinned by fixtures made with TF.js (stale_mask_*); these tests check that the
Keras rules stay Keras's, and that a mask TF.js could not apply gets a clear error.
"""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_interop
from tests.support.modelfiles import functional, input_layer, layer, write_model
from tfjs_interop.errors import InputError
from tfjs_interop.formats.tfjs.reader import read_tfjs
from tfjs_interop.loading import model_from_file
from tfjs_interop.topology import Dialect, Engine

RNG = np.random.default_rng(3)


def _autoencoder(tmp_path, steps=6, repeat=6):
    layers = [input_layer("ids", [None, steps], "int32"),
              layer("Embedding", "emb", [["ids", 0, 0]], input_dim=10, output_dim=3, mask_zero=True),
              layer("LSTM", "enc", [["emb", 0, 0]], units=4, recurrent_activation="sigmoid"),
              layer("RepeatVector", "rep", [["enc", 0, 0]], n=repeat),
              layer("LSTM", "dec", [["rep", 0, 0]], units=2, return_sequences=True, recurrent_activation="sigmoid")]
    weights = {"emb/embeddings": RNG.normal(size=(10, 3)), "enc/kernel": RNG.normal(size=(3, 16)),
               "enc/recurrent_kernel": RNG.normal(size=(4, 16)), "enc/bias": RNG.normal(size=16),
               "dec/kernel": RNG.normal(size=(4, 8)), "dec/recurrent_kernel": RNG.normal(size=(2, 8)),
               "dec/bias": RNG.normal(size=8)}
    weights = {k: v.astype(np.float32) for k, v in weights.items()}
    return write_model(tmp_path, functional(layers, ["ids"], ["dec"]), weights)


def test_keras_engine_leaves_an_unmasked_decoder_unmasked(tmp_path):
    path = _autoencoder(tmp_path)
    ids = np.array([[1, 2, 3, 4, 5, 6], [1, 2, 3, 0, 0, 0]], np.int32)
    tfjs = tfjs_interop.load(path).predict(ids)
    keras = model_from_file(read_tfjs(path), Dialect.TFJS, Engine.KERAS).predict(ids)
    np.testing.assert_allclose(tfjs[0], keras[0], atol=1e-6)  # nothing masked in row 0
    assert np.all(tfjs[1, 3:] == tfjs[1, 2])  # TF.js: the encoder's stale mask holds the decoder's output
    assert np.abs(keras[1, 3:] - keras[1, 2]).max() > 1e-4  # Keras: the decoder runs every step


def test_a_stale_mask_shorter_than_the_sequence_is_a_clear_error(tmp_path):
    model = tfjs_interop.load(_autoencoder(tmp_path, steps=3, repeat=5))
    with pytest.raises(InputError, match=r"layer 'dec' \(LSTM\) received a mask of shape \(1, 3\)"):
        model.predict(np.array([[1, 2, 0]], np.int32))


def test_engine_options_come_from_the_engine_never_from_the_file():
    """A file naming an engine option (``masked_output_from_state``...) does not set it: only the engine that runs
    the model does, from the layer class's facts."""
    from tfjs_interop.engines import KERAS3, TFJS
    from tfjs_interop.runtime.layers import build_layer
    from tfjs_interop.runtime.layers.base import engine_option_names

    assert {"masked_output_from_state", "half_pixel_centers", "keras3_masks"} <= engine_option_names()
    smuggled = {"units": 2, "masked_output_from_state": True}
    assert build_layer("LSTM", "l", smuggled).options.masked_output_from_state is False
    assert build_layer("LSTM", "l", {"units": 2}, TFJS).options.masked_output_from_state is True
    assert build_layer("Add", "a", {"keras3_masks": True}).options.keras3_masks is False
    assert build_layer("Add", "a", {}, KERAS3).options.keras3_masks is True


def test_a_misspelt_behaviour_fact_fails_when_the_class_is_registered():
    from dataclasses import dataclass

    from tfjs_interop.facts import TfjsFacts, frozen
    from tfjs_interop.runtime.layers.base import Layer, Options, engine_option, register

    @dataclass(frozen=True)
    class SomeOptions(Options):
        corner_sampling: bool = engine_option(False)

    class Some(Layer):
        Options = SomeOptions
        tfjs = TfjsFacts(behaviour=frozen({"corner_sampleing": True}))

    with pytest.raises(TypeError, match="corner_sampleing"):
        register("SomeTestOnlyLayer")(Some)
