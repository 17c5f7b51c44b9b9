"""Masks: Embedding(mask_zero) and Masking in front of Bidirectional, stacked recurrent layers and TimeDistributed;
pre-, post- and inner padding; masks joined by Concatenate (Keras 3 records Concatenate.compute_mask's ops:
ExpandDims, ZerosLike, OnesLike, LogicalOr, ops.concatenate, Any)."""

from __future__ import annotations

from .inputs import floats, padded, tokens
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


@case(2, 3, description="Concatenate([Embedding(mask_zero)(ids), Dense(Embedding), Masking(floats)]) -> "
                        "LSTM(return_sequences) -> GRU -> Dense: two masks joined (Keras 3 ORs them, Keras 2 ANDs); "
                        "pre-, post- and inner padding, a sample masked at every step")
def concat_masked_branches(keras, rng):
    L = keras.layers
    ids = keras.Input((9,), dtype="int32", name="ids")
    feats = keras.Input((9, 3), name="feats")
    e = L.Embedding(30, 5, mask_zero=True)(ids)
    y = L.Concatenate()([e, L.Dense(4)(e), L.Masking(0.0)(feats)])
    y = L.LSTM(6, return_sequences=True)(y)
    y = L.GRU(4)(y)
    y = L.Dense(2)(y)
    x = padded(rng, 6, 9, 3)
    x[-1] = 0
    return keras.Model([ids, feats], y), [tokens(rng, 6, 9, 30), x]


@case(2, 3, description="Concatenate([Masking(floats), Dense(floats)]) -> Bidirectional(LSTM(return_sequences)) -> "
                        "SimpleRNN: a masked and an unmasked input joined (Keras 3's mask is then all true, Keras 2's "
                        "the masked input's)")
def concat_masked_unmasked(keras, rng):
    L = keras.layers
    a = keras.Input((8, 4), name="masked")
    b = keras.Input((8, 2), name="plain")
    y = L.Concatenate()([L.Masking(0.0)(a), L.Dense(3, activation="tanh")(b)])
    y = L.Bidirectional(L.LSTM(5, return_sequences=True))(y)
    y = L.SimpleRNN(3)(y)
    x = padded(rng, 6, 8, 4)
    x[-1] = 0
    return keras.Model([a, b], y), [x, floats(rng, 6, 8, 2)]


@case(3, description="Concatenate(axis=1) of Embedding(mask_zero) steps and Dense steps -> LSTM(return_sequences): "
                     "masks joined along time (Keras 3 broadcasts each to its input's shape; Keras 2 cannot join "
                     "them); pre- and post-padding, a sample whose ids are all padding")
def concat_masks_over_time(keras, rng):
    L = keras.layers
    ids = keras.Input((7,), dtype="int32", name="ids")
    steps = keras.Input((4, 3), name="steps")
    y = L.Concatenate(axis=1)([L.Embedding(20, 5, mask_zero=True)(ids), L.Dense(5)(steps)])
    y = L.LSTM(4, return_sequences=True)(y)
    y = L.TimeDistributed(L.Dense(2))(y)
    return keras.Model([ids, steps], y), [tokens(rng, 6, 7, 20), floats(rng, 6, 4, 3)]
