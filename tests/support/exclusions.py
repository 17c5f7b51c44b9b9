"""The fixtures left out of a check, and why (one table for every test)."""

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
