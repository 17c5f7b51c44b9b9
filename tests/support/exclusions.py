"""The one table of fixtures left out of a check, and why: every test that runs "each fixture" asks here.

``EXCLUDED`` maps a fixture's folder name to the checks it is left out of. The value says why; for the refusals
(``LOAD``, ``SAVE_KERAS``) it is what the refusal's message must match, so the test that skips a case elsewhere
asserts the refusal here. A new fixture that some check cannot take gets one line below, not an edit per test.
"""

from __future__ import annotations

from pathlib import Path

# The checks a fixture can be left out of.
LOAD = "load"  # the runtime refuses the model: the layer class the error names
SAVE_KERAS = "save_keras"  # save_keras refuses it (no Keras layer computes it so): a regex of the error's message
KERAS_DIFFERS = "keras_differs"  # Keras computes the same topology otherwise than TF.js recorded: why
KERAS_EAGER = "keras_eager"  # Keras's eager call differs from its own predict(), which is taken as Keras's answer
VERIFY = "verify"  # verify refuses it (it compares with Keras 3, which cannot express it): a regex of the message
SAVE_TFJS = "save_tfjs"  # save_tfjs refuses it (TF.js would reload other numbers): a regex of the error's message

_STALE_MASK = "TF.js's stale mask kwargs"
_BIDI_ZEROS = "Keras makes a Bidirectional's RNNs output zeros at masked steps"
_MERGE_RULE = "TF.js merges masks by its own rule"
_MHA_KERAS3 = r"\(MultiHeadAttention: Keras 3 zeroes .*differ from Keras 2's"
_CROP_AND_RESIZE = r"\(CenterCrop\).*cropAndResize"  # TF.js's CenterCrop goes through cropAndResize

EXCLUDED: dict[str, dict[str, str]] = {
    # TF.js fixtures
    "upsampling2d_bilinear": {SAVE_KERAS: r"\(UpSampling2D\).*pixel corners"},  # TF.js's bilinear: pixel corners
    "center_crop": {SAVE_KERAS: _CROP_AND_RESIZE},
    "conv3d_same_unclamped": {SAVE_KERAS: r"\(Conv3D\).*do not clamp same padding"},  # TF.js's 3-D same padding
    "preprocessing_front_end": {SAVE_KERAS: _CROP_AND_RESIZE},
    "batch_norm_axis1": {KERAS_DIFFERS: "TF.js applies BatchNormalization parameters by flat position on a "
                                        "non-last axis"},
    "embedding_mask_bidi": {KERAS_DIFFERS: _BIDI_ZEROS},
    "stateful_bidirectional_lstm": {KERAS_DIFFERS: _BIDI_ZEROS},
    "masking_bidi_lstm_seq": {KERAS_DIFFERS: _BIDI_ZEROS},
    "embedding_mask_global_avg_pool": {KERAS_DIFFERS: "TF.js's GlobalAveragePooling1D ignores the mask"},
    "masked_decoder_initial_state": {KERAS_DIFFERS: "TF.js outputs the initial state at leading masked steps"},
    "merge_masked_branches": {KERAS_DIFFERS: _MERGE_RULE},
    "merged_mask_rnn": {KERAS_DIFFERS: _MERGE_RULE},
    "nested_functional_masked": {KERAS_DIFFERS: "TF.js passes no masks into a nested model"},
    "repeat_call_stale_mask": {KERAS_DIFFERS: _STALE_MASK},
    "softmax_stale_mask_broadcast": {KERAS_DIFFERS: _STALE_MASK},
    "stale_mask_autoencoder": {KERAS_DIFFERS: _STALE_MASK},
    "stale_mask_longer_than_sequence": {KERAS_DIFFERS: _STALE_MASK},
    "stale_mask_through_conv": {KERAS_DIFFERS: _STALE_MASK},
    "stale_mask_two_branches": {KERAS_DIFFERS: _STALE_MASK},
    "stateful_return_state_both_used": {KERAS_DIFFERS: "TF.js runs a stateful layer once per output used"},
    "td_rnn_stale_mask": {KERAS_DIFFERS: _STALE_MASK},
    # TF.js constrains the weights it loads: a MinMaxNorm of rate 0.7 moves the loaded bias again on every load.
    "constraints_trained_lstm_dense": {SAVE_TFJS: r"layer 'lstm_LSTM1' weight 'bias' has the constraint MinMaxNorm"},
    # TensorFlow 2.21 has no CPU kernel for a channels_first Conv2D; called eagerly, Keras 3 runs it through oneDNN,
    # which gives other numbers (0.92 off here) than Keras's own predict() (graph mode, converted to NHWC) and than
    # the same layer channels_last.
    "conv2d_channels_first": {KERAS_EAGER: "eager channels_first Conv2D runs through oneDNN"},
    # Keras fixtures
    # tf.keras's LSTM(activation="hard_sigmoid"): the 0.2x + 0.5 form also acts on the cell state, where no
    # rescaling of the weights can turn it into Keras 3's hard_sigmoid.
    "k2_lstm_hard_sigmoid": {SAVE_KERAS: "hard_sigmoid"},
    # Keras 3 gives Add([unmasked, masked]) no mask, Keras 2 the masked input's: no Keras 3 file keeps Keras 2's rule.
    "k2_audit_merge_masks": {SAVE_KERAS: r"\(Add\).*Keras 3 the OR"},
    # Keras 3 ORs the masks a Concatenate joins (an unmasked input's all true), Keras 2 ANDs them: the same.
    "k2_concat_masked_branches": {SAVE_KERAS: r"\(Concatenate\).*Keras 3 the OR"},
    "k2_concat_masked_unmasked": {SAVE_KERAS: r"\(Concatenate\).*Keras 3 the OR"},
    # Keras 3's MultiHeadAttention zeroes fully masked rows on its Softmax path (tf_keras averages them) and removes
    # the masks of the tensors it reads for the layers Keras 3 runs after it: these tf_keras models would change.
    "k2_mha_cross_key": {SAVE_KERAS: _MHA_KERAS3},
    "k2_mha_parallel_chain": {SAVE_KERAS: _MHA_KERAS3},
    "k2_mha_shared_encoder": {SAVE_KERAS: _MHA_KERAS3},
    "k2_mha_through_dense": {SAVE_KERAS: _MHA_KERAS3},
    # Keras 3 removed RandomWidth (tf_keras has it).
    "k2_random_width": {SAVE_KERAS: r"\(RandomWidth\): Keras 3 has no RandomWidth",
                        VERIFY: r"\(RandomWidth\): Keras 3 has no RandomWidth"},
}

# The Keras fixture files TF.js runs as Keras does, written by save_tfjs and run in the real TF.js. save_tfjs
# refuses the others (GRU reset_after, Keras 3 hard_sigmoid, causal padding, Subtract, masked Bidirectional
# sequences, masks into nested models, a (batch, time) mask on images: tests/unit/test_tfjs_writer.py), or TF.js
# would compute them otherwise.
TFJS_RUNS_AS_KERAS = [f"{g}_{name}/{file}" for name in (
    "chunked_layer_names", "encoder_decoder", "lstm_backwards_stacked", "lstm_seq_dense", "masking_recurrent_stack",
    "simple_rnn", "timedistributed_masked", "conv2d_front_ends", "image_ops_channels_first", "crnn_spectrogram",
    "td_conv2d_gru", "depthwise_separable", "conv_transpose", "convlstm2d_return_state", "convlstm2d_masked",
    "convlstm2d_stack", "convlstm2d_bidirectional", "conv3d_options", "conv3d_transpose", "conv3d_channels_first",
    "conv3d_video_lstm")
                      for g in ("k2", "k3") for file in ("model.h5", "model.keras")]
TFJS_RUNS_AS_KERAS += [f"k2_{name}/{file}" for name in ("lstm_hard_sigmoid", "gru_reset_before", "convlstm2d_options")
                       for file in ("model.h5", "model.keras")]


def excluded_from(check: str) -> dict[str, str]:
    """The fixtures left out of ``check``, each with its reason (or the refusal's message)."""
    return {name: checks[check] for name, checks in EXCLUDED.items() if check in checks}


def kept(cases: list[Path], *checks: str) -> list[Path]:
    """The case folders left out of none of ``checks``."""
    return [case for case in cases if not any(check in EXCLUDED.get(case.name, {}) for check in checks)]
