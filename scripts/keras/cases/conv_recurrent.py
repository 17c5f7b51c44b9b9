"""Convolutional front ends feeding recurrent layers (a CRNN, TimeDistributed convolutions -> GRU) and ConvLSTM2D."""

from __future__ import annotations

from .inputs import floats, padded
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


def _images(rng, batch, steps, rows, cols, channels, pixels=()):
    """Image sequences whose padded steps (pre, post and inner, as ``padded``) and listed pixels (b, t, r, c) are
    zero vectors, for Masking(0)."""
    x = padded(rng, batch, steps, rows * cols * channels).reshape(batch, steps, rows, cols, channels)
    for b, t, r, c in pixels:
        x[b, t, r, c] = 0
    return x


@case(2, 3, description="ConvLSTM2D(3, [3,2], strides [2,1], same, relu, hard_sigmoid (Keras 2's and 3's differ), "
                        "return_sequences) and ConvLSTM2D(2, 2, dilation 2, go_backwards, no bias, sigmoid) on one "
                        "input; two outputs")
def convlstm2d_options(keras, rng):
    L = keras.layers
    x = keras.Input((4, 7, 6, 2))
    y1 = L.ConvLSTM2D(3, (3, 2), strides=(2, 1), padding="same", activation="relu",
                      recurrent_activation="hard_sigmoid", return_sequences=True)(x)
    y2 = L.ConvLSTM2D(2, 2, dilation_rate=2, go_backwards=True, use_bias=False, recurrent_activation="sigmoid",
                      unit_forget_bias=False)(x)
    return keras.Model(x, [y1, y2]), [floats(rng, 3, 4, 7, 6, 2, scale=1.5)]


@case(2, 3, description="ConvLSTM2D(3, 3, same) return_state: the last output, h and c as three outputs")
def convlstm2d_return_state(keras, rng):
    L = keras.layers
    x = keras.Input((5, 4, 4, 2))
    outputs = L.ConvLSTM2D(3, 3, padding="same", return_state=True)(x)
    return keras.Model(x, outputs), [floats(rng, 2, 5, 4, 4, 2)]


@case(2, 3, description="Masking(0) on images -> ConvLSTM2D(3, 3, same, return_sequences): a per-pixel mask "
                        "(batch, time, rows, cols), whole steps (pre, post, inner) and single pixels masked")
def convlstm2d_masked(keras, rng):
    L = keras.layers
    x = keras.Input((6, 4, 5, 2))
    y = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True)(L.Masking(0.0)(x))
    pixels = [(0, 5, 1, 2), (1, 0, 3, 4), (2, 3, 2, 2), (3, 1, 0, 0)]
    return keras.Model(x, y), [_images(rng, 4, 6, 4, 5, 2, pixels)]


@case(3, description="A (batch, time) mask on images: Masking(0) -> TimeDistributed(Reshape) -> ConvLSTM2D(2, 3, "
                     "same, return_sequences) (Keras broadcasts each step's flag over the image; tf_keras's Reshape "
                     "refuses the mask)")
def convlstm2d_step_mask(keras, rng):
    L = keras.layers
    x = keras.Input((6, 20))
    images = L.TimeDistributed(L.Reshape((2, 5, 2)))(L.Masking(0.0)(x))
    y = L.ConvLSTM2D(2, 3, padding="same", return_sequences=True)(images)
    return keras.Model(x, y), [padded(rng, 4, 6, 20)]


@case(2, 3, description="A ConvLSTM2D stack: ConvLSTM2D(4, 3, same, return_sequences) -> ConvLSTM2D(3, 2, "
                        "return_sequences) -> TimeDistributed(GlobalAveragePooling2D) -> LSTM(3) -> Dense(2); and "
                        "the second ConvLSTM2D's last frame -> Flatten -> Dense(3, softmax)")
def convlstm2d_stack(keras, rng):
    L = keras.layers
    x = keras.Input((5, 6, 6, 1))
    y = L.ConvLSTM2D(4, 3, padding="same", return_sequences=True)(x)
    seq = L.ConvLSTM2D(3, 2, return_sequences=True)(y)
    head1 = L.Dense(2)(L.LSTM(3)(L.TimeDistributed(L.GlobalAveragePooling2D())(seq)))
    head2 = L.Dense(3, activation="softmax")(L.Flatten()(L.ConvLSTM2D(2, 3, activation="tanh")(seq)))
    return keras.Model(x, [head1, head2]), [floats(rng, 3, 5, 6, 6, 1)]


@case(2, 3, description="Bidirectional(ConvLSTM2D(2, 3, same, return_sequences)), merge concat, and "
                        "Bidirectional(ConvLSTM2D(2, 2)) merge sum of its last outputs")
def convlstm2d_bidirectional(keras, rng):
    L = keras.layers
    x = keras.Input((3, 4, 4, 2))
    y1 = L.Bidirectional(L.ConvLSTM2D(2, 3, padding="same", return_sequences=True))(x)
    y2 = L.Bidirectional(L.ConvLSTM2D(2, 2), merge_mode="sum")(x)
    return keras.Model(x, [y1, y2]), [floats(rng, 2, 3, 4, 4, 2)]
