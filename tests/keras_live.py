"""Test helpers for the live comparisons with real Keras 3 (TensorFlow), and what the TF.js fixtures show about
where TF.js's engine and Keras compute differently for the same topology."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402  (after quieting TensorFlow's log)
import numpy as np  # noqa: E402

# Fixtures whose recorded TF.js outputs Keras does not reproduce for the same topology, with why (README).
TFJS_ENGINE_DIFFERS = {
    "batch_norm_axis1": "TF.js applies BatchNormalization parameters by flat position on a non-last axis",
    "embedding_mask_bidi": "Keras makes a Bidirectional's RNNs output zeros at masked steps",
    "masking_bidi_lstm_seq": "Keras makes a Bidirectional's RNNs output zeros at masked steps",
    "embedding_mask_global_avg_pool": "TF.js's GlobalAveragePooling1D ignores the mask",
    "masked_decoder_initial_state": "TF.js outputs the initial state at leading masked steps",
    "merge_masked_branches": "TF.js merges masks by its own rule",
    "merged_mask_rnn": "TF.js merges masks by its own rule",
    "nested_functional_masked": "TF.js passes no masks into a nested model",
    "repeat_call_stale_mask": "TF.js's stale mask kwargs",
    "softmax_stale_mask_broadcast": "TF.js's stale mask kwargs",
    "stale_mask_autoencoder": "TF.js's stale mask kwargs",
    "stale_mask_longer_than_sequence": "TF.js's stale mask kwargs",
    "stale_mask_through_conv": "TF.js's stale mask kwargs",
    "stale_mask_two_branches": "TF.js's stale mask kwargs",
    "stateful_return_state_both_used": "TF.js runs a stateful layer once per output used",
    "td_rnn_stale_mask": "TF.js's stale mask kwargs",
}


def keras_predict(keras_model, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Call a Keras model on arrays in input order; one array per output."""
    outputs = keras_model(inputs if len(inputs) > 1 else inputs[0], training=False)
    return [np.asarray(keras.ops.convert_to_numpy(y)) for y in keras.tree.flatten(outputs)]


def reset_keras_states(keras_model) -> None:
    for layer in keras_model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_states()
