"""How Keras writes the file: the H5 layer_names attribute split into chunks, weights-only files."""

from __future__ import annotations

from .inputs import floats
from .registry import case


@case(2, 3, description="250 layers with long names before an LSTM: the H5 layer_names attribute is split into "
                        "chunks (layer_names0, layer_names1, ...)")
def chunked_layer_names(keras, rng):
    L = keras.layers
    x = keras.Input((5, 3))
    y = x
    for i in range(250):
        y = L.Activation("linear", name=f"identity_{i:03d}_" + "x" * 280)(y)
    y = L.LSTM(4, name="lstm_after_long_names")(y)
    return keras.Model(x, y), [floats(rng, 2, 5, 3)]


@case(2, 3, description="Weights-only: the topology as model.to_json() beside save_weights() output",
      weights_only=True)
def weights_only(keras, rng):
    L = keras.layers
    x = keras.Input((6, 5))
    y = L.Bidirectional(L.LSTM(7, return_sequences=True))(x)
    y = L.GRU(5)(y)
    return keras.Model(x, y), [floats(rng, 3, 6, 5)]
