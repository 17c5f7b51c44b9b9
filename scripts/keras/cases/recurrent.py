"""LSTM, GRU (reset_after both ways) and SimpleRNN: activations (hard_sigmoid across Keras 2 and 3), go_backwards,
stacking, biases."""

from __future__ import annotations

from .inputs import floats, padded
from .registry import case


@case(2, 3, description="LSTM(16, return_sequences, dropout) -> Dense(4, tanh); inputs of varied scale")
def lstm_seq_dense(keras, rng):
    L = keras.layers
    x = keras.Input((10, 8), name="series")
    y = L.LSTM(16, return_sequences=True, dropout=0.2, recurrent_dropout=0.1, name="lstm")(x)
    y = L.Dense(4, activation="tanh", name="head")(y)
    return keras.Model(x, y, name="lstm_seq_dense"), [floats(rng, 5, 10, 8, scale=1.5)]


@case(2, 3, description="hard_sigmoid as LSTM recurrent and output activation and in a Dense: the formula changed "
                        "between Keras 2 (clip(0.2x+0.5)) and Keras 3 (relu6(x+3)/6); inputs scaled to reach both")
def lstm_hard_sigmoid(keras, rng):
    L = keras.layers
    x = keras.Input((9, 5))
    y = L.LSTM(12, activation="hard_sigmoid", recurrent_activation="hard_sigmoid", return_sequences=True)(x)
    y = L.Dense(6, activation="hard_sigmoid")(y)
    return keras.Model(x, y), [floats(rng, 4, 9, 5, scale=4.0)]


@case(2, 3, description="LSTM go_backwards, no bias, unit_forget_bias; stacked LSTM returning the last output")
def lstm_backwards_stacked(keras, rng):
    L = keras.layers
    model = keras.Sequential([
        keras.Input((7, 6)),
        L.LSTM(9, go_backwards=True, return_sequences=True, use_bias=False),
        L.LSTM(7, unit_forget_bias=False),
        L.Dense(3, activation="softmax"),
    ], name="stacked")
    return model, [floats(rng, 3, 7, 6)]


@case(2, 3, description="GRU reset_after=True: the cuDNN-compatible GRU with a (2, 3u) bias")
def gru_reset_after(keras, rng):
    L = keras.layers
    x = keras.Input((8, 5))
    y = L.GRU(12, reset_after=True, return_sequences=True)(x)
    y = L.GRU(6, reset_after=True, go_backwards=True)(y)
    return keras.Model(x, y), [floats(rng, 4, 8, 5, scale=1.5)]


@case(2, 3, description="GRU reset_after=False (TF.js's GRU), with hard_sigmoid recurrent activation")
def gru_reset_before(keras, rng):
    L = keras.layers
    x = keras.Input((8, 5))
    y = L.GRU(10, reset_after=False, recurrent_activation="hard_sigmoid", return_sequences=True)(x)
    return keras.Model(x, y), [floats(rng, 4, 8, 5, scale=2.0)]


@case(2, 3, description="SimpleRNN relu (sequences) -> SimpleRNN tanh (last)")
def simple_rnn(keras, rng):
    L = keras.layers
    x = keras.Input((6, 4))
    y = L.SimpleRNN(10, activation="relu", return_sequences=True)(x)
    y = L.SimpleRNN(6)(y)
    return keras.Model(x, y), [floats(rng, 5, 6, 4)]


@case(2, 3, description="Softmax-family recurrent activations act on each gate alone: Masking -> LSTM "
                        "recurrent_activation softmax, GRU (reset_after both ways) softmax and log_softmax; "
                        "TimeDistributed(LSTM recurrent_activation log_softmax, activation softmax); pre-, post- "
                        "and inner padding; two inputs, four outputs")
def rnn_softmax_gates(keras, rng):
    L = keras.layers
    seq, grid = keras.Input((6, 3), name="seq"), keras.Input((2, 5, 3), name="grid")
    masked = L.Masking(name="masking")(seq)
    outs = [L.LSTM(4, recurrent_activation="softmax", return_sequences=True, name="lstm")(masked),
            L.GRU(3, recurrent_activation="softmax", return_sequences=True, name="gru_after")(masked),
            L.GRU(3, recurrent_activation="log_softmax", reset_after=False, return_sequences=True,
                  name="gru_before")(masked),
            L.TimeDistributed(L.LSTM(3, recurrent_activation="log_softmax", activation="softmax",
                                     return_sequences=True, name="inner"), name="td")(grid)]
    return keras.Model([seq, grid], outs), [padded(rng, 6, 6, 3), floats(rng, 6, 2, 5, 3)]
