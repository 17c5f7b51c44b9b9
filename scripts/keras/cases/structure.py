"""Graph structure: several inputs and outputs with a shared layer and merges, RNN over stacked cells, a nested
Sequential behind Masking."""

from __future__ import annotations

from .inputs import floats, padded
from .registry import case


@case(2, 3, description="Two inputs, two outputs: a shared LSTM, Concatenate, Add, Multiply, Subtract, ELU(alpha), "
                        "Softmax on axis 1, LayerNormalization")
def multi_io_merges(keras, rng):
    L = keras.layers
    a = keras.Input((6, 4), name="a")
    b = keras.Input((6, 4), name="b")
    shared = L.LSTM(5, return_sequences=True, name="shared")
    sa, sb = shared(a), shared(b)
    joined = L.Concatenate(name="joined")([sa, sb])
    diff = L.Subtract(name="diff")([sa, sb])
    mixed = L.Add()([L.Multiply()([sa, sb]), diff])
    mixed = L.ELU(alpha=0.5)(mixed)
    mixed = L.Softmax(axis=1)(mixed)
    out1 = L.Dense(3, name="out1")(L.LayerNormalization()(joined))
    out2 = L.LSTM(4, name="out2")(mixed)
    return keras.Model([a, b], [out1, out2]), [floats(rng, 3, 6, 4), floats(rng, 3, 6, 4)]


@case(2, 3, description="RNN over stacked cells (LSTMCell, GRUCell, SimpleRNNCell) returning sequences and states")
def rnn_stacked_cells(keras, rng):
    L = keras.layers
    x = keras.Input((7, 4))
    cells = [L.LSTMCell(8), L.GRUCell(6), L.SimpleRNNCell(5)]
    out = L.RNN(cells, return_sequences=True, return_state=True)(x)
    try:  # the first cell's [h, c] as one nested output, which the file lists as a nested list
        model = keras.Model(x, out[:2])
    except ValueError:  # Keras 3.3 takes flat outputs only
        model = keras.Model(x, [out[0], *out[1]])
    return model, [floats(rng, 3, 7, 4)]


@case(2, 3, description="A Sequential model nested in a functional one, behind Masking: nested models and masks")
def nested_sequential_masked(keras, rng):
    L = keras.layers
    inner = keras.Sequential([keras.Input((8, 4)), L.LSTM(6, return_sequences=True), L.Dense(3)], name="inner")
    x = keras.Input((8, 4))
    y = inner(L.Masking(0.0)(x))
    y = L.GlobalAveragePooling1D()(y)
    return keras.Model(x, y), [padded(rng, 6, 8, 4)]
