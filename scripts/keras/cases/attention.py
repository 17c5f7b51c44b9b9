"""Attention and AdditiveAttention, masked (mask_zero) and not, causal."""

from __future__ import annotations

from .inputs import floats, tokens
from .registry import case


@case(2, 3, description="Attention over a BiLSTM: Embedding(mask_zero) -> Bidirectional(LSTM) -> Attention (dot, "
                        "use_scale; concat score) and AdditiveAttention (query = a Dense of the sequence), masks from "
                        "mask_zero; three outputs")
def attention_bilstm(keras, rng):
    L = keras.layers
    ids = keras.Input((9,), dtype="int32", name="tokens")
    seq = L.Bidirectional(L.LSTM(6, return_sequences=True))(L.Embedding(30, 8, mask_zero=True)(ids))
    query = L.Dense(12, activation="tanh")(seq)
    dot = L.Attention(use_scale=True)([query, seq])
    concat = L.Attention(score_mode="concat")([query, seq, query])
    additive = L.AdditiveAttention()([query, seq])
    pooled = L.GlobalAveragePooling1D()(additive)
    return keras.Model(ids, [dot, concat, pooled]), [tokens(rng, 4, 9, 30)]  # no empty row: its mean is NaN


@case(2, 3, description="Attention without masks: causal dot attention, AdditiveAttention without scale, on two "
                        "float inputs; two outputs")
def attention_plain(keras, rng):
    L = keras.layers
    q = keras.Input((5, 4))
    v = keras.Input((7, 4))
    causal = L.Attention()([q, q], use_causal_mask=True)
    additive = L.AdditiveAttention(use_scale=False)([q, v])
    return keras.Model([q, v], [causal, additive]), [floats(rng, 3, 5, 4), floats(rng, 3, 7, 4)]
