"""Masks: Embedding(mask_zero) and Masking in front of Bidirectional, stacked recurrent layers and TimeDistributed;
pre-, post- and inner padding."""

from __future__ import annotations

from .inputs import padded, tokens
from .registry import case


@case(2, 3, description="Embedding(mask_zero) -> Bidirectional(LSTM, return_sequences, concat) -> "
                        "TimeDistributed(Dense); pre-, post- and inner padding: masked steps of a Bidirectional")
def bidi_lstm_embedding_mask(keras, rng):
    L = keras.layers
    x = keras.Input((12,), dtype="int32", name="tokens")
    y = L.Embedding(40, 8, mask_zero=True)(x)
    y = L.Bidirectional(L.LSTM(8, return_sequences=True))(y)
    y = L.TimeDistributed(L.Dense(3))(y)
    return keras.Model(x, y), [tokens(rng, 6, 12, 40)]


@case(2, 3, description="Masking -> Bidirectional(GRU reset_after, merge sum) last output; padded float inputs")
def bidi_gru_masking(keras, rng):
    L = keras.layers
    x = keras.Input((10, 4))
    y = L.Masking(0.0)(x)
    y = L.Bidirectional(L.GRU(6), merge_mode="sum")(y)
    y = L.Dense(2)(y)
    return keras.Model(x, y), [padded(rng, 6, 10, 4)]


@case(2, 3, description="Masking -> LSTM(return_sequences) -> GRU(reset_after=False) -> SimpleRNN: masks through a "
                        "stack, pre-, post- and inner padding")
def masking_recurrent_stack(keras, rng):
    L = keras.layers
    x = keras.Input((10, 5))
    y = L.Masking(0.0)(x)
    y = L.LSTM(8, return_sequences=True)(y)
    y = L.GRU(6, return_sequences=True, reset_after=False)(y)
    y = L.SimpleRNN(4)(y)
    return keras.Model(x, y), [padded(rng, 6, 10, 5)]


@case(2, 3, description="Masking -> TimeDistributed(Dense) -> LSTM(return_sequences) -> TimeDistributed(Dense): "
                        "the mask passes through TimeDistributed")
def timedistributed_masked(keras, rng):
    L = keras.layers
    x = keras.Input((8, 3))
    y = L.Masking(0.0)(x)
    y = L.TimeDistributed(L.Dense(5, activation="relu"))(y)
    y = L.LSTM(6, return_sequences=True)(y)
    y = L.TimeDistributed(L.Dense(2))(y)
    return keras.Model(x, y), [padded(rng, 6, 8, 3)]
