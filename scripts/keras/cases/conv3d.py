"""Volumes and video clips: Conv3D, Conv3DTranspose, MaxPooling3D and AveragePooling3D (channels_last and
channels_first), a clip classifier (Conv3D -> MaxPooling3D -> Reshape -> LSTM), and what TF.js cannot compute."""

from __future__ import annotations

from .inputs import floats
from .registry import case


@case(2, 3, description="Conv3D (valid; even kernel, strided, same, relu; dilated, same, tanh; strided, no bias, "
                        "sigmoid), MaxPooling3D (valid; same) and AveragePooling3D (strided, same); seven outputs")
def conv3d_options(keras, rng):
    L = keras.layers
    x = keras.Input((5, 6, 7, 2))
    a = L.Conv3D(3, 3)(x)
    b = L.Conv3D(2, (2, 3, 2), strides=(1, 2, 2), padding="same", activation="relu")(x)
    c = L.Conv3D(2, 2, dilation_rate=(2, 1, 2), padding="same", activation="tanh")(x)
    d = L.Conv3D(3, (1, 2, 3), strides=2, use_bias=False, activation="sigmoid")(x)
    e = L.MaxPooling3D(2)(b)
    f = L.MaxPooling3D((2, 3, 2), strides=(1, 2, 1), padding="same")(x)
    g = L.AveragePooling3D(3, strides=2, padding="same")(c)
    return keras.Model(x, [a, b, c, d, e, f, g]), [floats(rng, 3, 5, 6, 7, 2)]


@case(2, 3, description="Conv3DTranspose: strides 2 same, relu; kernel [3,2,2] strides [2,3,1] valid; kernel 2 "
                        "strides 3 (gaps); AveragePooling3D after it; four outputs")
def conv3d_transpose(keras, rng):
    L = keras.layers
    x = keras.Input((3, 4, 3, 2))
    a = L.Conv3DTranspose(3, 3, strides=2, padding="same", activation="relu")(x)
    b = L.Conv3DTranspose(2, (3, 2, 2), strides=(2, 3, 1))(x)
    c = L.Conv3DTranspose(2, 2, strides=3)(x)
    return keras.Model(x, [a, b, c, L.AveragePooling3D(2)(a)]), [floats(rng, 3, 3, 4, 3, 2)]


@case(2, 3, description="channels_first Conv3D (strided, same), Conv3DTranspose, MaxPooling3D and "
                        "AveragePooling3D (same), recorded in graph mode (as predict runs them); three outputs")
def conv3d_channels_first(keras, rng):
    L = keras.layers
    cf = "channels_first"
    x = keras.Input((2, 5, 6, 7))
    y = L.Conv3D(4, (2, 3, 2), strides=(1, 2, 1), padding="same", data_format=cf, activation="relu")(x)
    y = L.MaxPooling3D(2, data_format=cf)(y)
    z = L.AveragePooling3D((2, 2, 3), strides=1, padding="same", data_format=cf)(x)
    t = L.Conv3DTranspose(2, 2, strides=2, data_format=cf)(y)
    return keras.Model(x, [y, z, t]), [floats(rng, 3, 2, 5, 6, 7)]


@case(2, 3, description="A clip classifier on video [6 frames, 8, 8, 1]: Conv3D -> MaxPooling3D -> Conv3D -> "
                        "AveragePooling3D -> Reshape -> LSTM -> Dense(softmax)")
def conv3d_video_lstm(keras, rng):
    L = keras.layers
    x = keras.Input((6, 8, 8, 1), name="clip")
    y = L.Conv3D(4, 3, padding="same", activation="relu")(x)
    y = L.MaxPooling3D((1, 2, 2))(y)
    y = L.Conv3D(6, 3, padding="same", activation="relu")(y)
    y = L.AveragePooling3D((1, 2, 2))(y)
    y = L.Reshape((6, 2 * 2 * 6))(y)
    y = L.LSTM(5)(y)
    y = L.Dense(3, activation="softmax")(y)
    return keras.Model(x, y), [floats(rng, 3, 6, 8, 8, 1)]


@case(2, 3, description="What TF.js cannot compute: Conv3DTranspose with output_padding and with dilation (which "
                        "tf_keras, like TF.js, drops from the config and computes without); same-padded Conv3D and "
                        "MaxPooling3D windows smaller than their strides (Keras pads nothing where TF.js's negative "
                        "padding starts them later); four outputs")
def conv3d_keras_only(keras, rng):
    L = keras.layers
    x = keras.Input((3, 4, 3, 2))
    a = L.Conv3DTranspose(3, 3, strides=2, padding="same", output_padding=1)(x)
    b = L.Conv3DTranspose(2, 2, dilation_rate=2)(x)
    c = L.Conv3D(2, 1, strides=2, padding="same")(x)
    d = L.MaxPooling3D((1, 1, 2), strides=(2, 2, 3), padding="same")(x)
    return keras.Model(x, [a, b, c, d]), [floats(rng, 3, 3, 4, 3, 2)]
