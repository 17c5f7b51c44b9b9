"""Convolutional front ends feeding recurrent layers: a CRNN on a spectrogram, TimeDistributed convolutions -> GRU."""

from __future__ import annotations

from .inputs import floats
from .registry import case


@case(2, 3, description="A CRNN on a spectrogram: Conv2D -> BatchNormalization -> MaxPooling2D -> Conv2D -> "
                        "MaxPooling2D -> Reshape -> Bidirectional(LSTM) -> Dense(softmax) per frame")
def crnn_spectrogram(keras, rng):
    L = keras.layers
    x = keras.Input((20, 16, 1), name="spectrogram")
    y = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    y = L.BatchNormalization()(y)
    y = L.MaxPooling2D(2)(y)
    y = L.Conv2D(12, 3, padding="same", activation="relu")(y)
    y = L.MaxPooling2D((1, 2))(y)
    y = L.Reshape((10, 4 * 12))(y)
    y = L.Bidirectional(L.LSTM(8, return_sequences=True))(y)
    y = L.Dense(6, activation="softmax")(y)
    return keras.Model(x, y), [floats(rng, 3, 20, 16, 1)]


@case(2, 3, description="Image sequences: TimeDistributed(Conv2D) -> TimeDistributed(MaxPooling2D) -> "
                        "TimeDistributed(GlobalAveragePooling2D) -> GRU(reset_after=False) -> Dense")
def td_conv2d_gru(keras, rng):
    L = keras.layers
    x = keras.Input((6, 9, 9, 2))
    y = L.TimeDistributed(L.Conv2D(5, 3, activation="relu"))(x)
    y = L.TimeDistributed(L.MaxPooling2D(2))(y)
    y = L.TimeDistributed(L.GlobalAveragePooling2D())(y)
    y = L.GRU(7, reset_after=False)(y)
    y = L.Dense(3)(y)
    return keras.Model(x, y), [floats(rng, 3, 6, 9, 9, 2)]
