"""Test helpers for the live comparisons with real Keras 3 (TensorFlow). Importing this module imports Keras, or
skips the importing test module without it (fails it where TFJS_INTEROP_REQUIRE_TF=1): see ``requires``."""

from __future__ import annotations

import numpy as np

from .requires import module

keras = module("keras")


def keras_predict(keras_model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Call a Keras model on arrays in input order; one array per output."""
    outputs = keras_model(inputs if len(inputs) > 1 else inputs[0], training=False)
    return [np.asarray(keras.ops.convert_to_numpy(y)) for y in keras.tree.flatten(outputs)]


def reset_keras_states(keras_model) -> None:
    """Reset every stateful layer of a Keras model."""
    for layer in keras_model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_states()
