"""Encoder-decoders: return_state feeding a decoder's initial_state, unmasked and masked."""

from __future__ import annotations

from .inputs import floats, tokens
from .registry import case


@case(2, 3, description="Functional encoder-decoder: LSTM(return_state) feeds the decoder LSTM's initial_state; two "
                        "inputs, two outputs (decoder softmax and encoder h)")
def encoder_decoder(keras, rng):
    L = keras.layers
    enc_in = keras.Input((8, 5), name="encoder_in")
    dec_in = keras.Input((6, 4), name="decoder_in")
    _, h, c = L.LSTM(10, return_state=True, name="encoder")(enc_in)
    y = L.LSTM(10, return_sequences=True, name="decoder")(dec_in, initial_state=[h, c])
    y = L.Dense(3, activation="softmax", name="probs")(y)
    return keras.Model([enc_in, dec_in], [y, h]), [floats(rng, 4, 8, 5), floats(rng, 4, 6, 4)]


@case(2, 3, description="Embedding(mask_zero) encoder with GRU return_state feeding a masked GRU decoder's "
                        "initial_state")
def masked_encoder_decoder(keras, rng):
    L = keras.layers
    enc_in = keras.Input((9,), dtype="int32")
    dec_in = keras.Input((7,), dtype="int32")
    embed = L.Embedding(30, 6, mask_zero=True)
    _, h = L.GRU(8, return_state=True)(embed(enc_in))
    y = L.GRU(8, return_sequences=True)(embed(dec_in), initial_state=h)
    y = L.Dense(30)(y)
    return keras.Model([enc_in, dec_in], y), [tokens(rng, 6, 9, 30), tokens(rng, 6, 7, 30)]
