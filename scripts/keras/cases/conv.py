"""Convolutions and pooling: Conv1D front ends, Conv2D / pooling / padding / cropping / upsampling (channels_last
and channels_first), DepthwiseConv2D, SeparableConv2D, Conv2DTranspose, and what TF.js cannot compute of them."""

from __future__ import annotations

from .inputs import floats
from .registry import case


@case(2, 3, description="Conv1D (causal, dilated; same, elu) + BatchNormalization + Max/AveragePooling1D front end "
                        "-> LSTM -> GlobalMaxPooling1D and GlobalAveragePooling1D heads")
def conv_front_end(keras, rng):
    L = keras.layers
    x = keras.Input((24, 3))
    y = L.Conv1D(8, 3, padding="causal", dilation_rate=2)(x)
    y = L.BatchNormalization()(y)
    y = L.Activation("relu")(y)
    y = L.MaxPooling1D(2)(y)
    y = L.Conv1D(6, 3, padding="same", activation="elu")(y)
    y = L.AveragePooling1D(2, padding="same")(y)
    y = L.LSTM(8, return_sequences=True)(y)
    a = L.GlobalMaxPooling1D()(y)
    b = L.GlobalAveragePooling1D()(y)
    y = L.Concatenate()([a, b])
    y = L.Dense(2, activation="softmax")(y)
    return keras.Model(x, y), [floats(rng, 4, 24, 3)]


@case(2, 3, description="Conv2D (valid; same, even kernel, strided; dilated), Max/AveragePooling2D (valid, same), "
                        "ZeroPadding2D, Cropping2D, UpSampling2D nearest, global pooling; six outputs")
def conv2d_front_ends(keras, rng):
    L = keras.layers
    x = keras.Input((11, 10, 3))
    a = L.Conv2D(6, 3, activation="relu")(x)
    a = L.MaxPooling2D(2, padding="same")(a)
    b = L.Conv2D(4, (4, 2), strides=2, padding="same", activation="tanh")(x)
    b = L.AveragePooling2D((3, 2), strides=1, padding="same")(b)
    c = L.Conv2D(3, 2, dilation_rate=(2, 3), padding="same", use_bias=False)(L.ZeroPadding2D(((0, 2), (1, 0)))(x))
    c = L.Cropping2D(((1, 0), (2, 1)))(c)
    d = L.UpSampling2D((2, 3))(L.AveragePooling2D(3)(x))
    return keras.Model(x, [a, b, c, d, L.GlobalAveragePooling2D()(b), L.GlobalMaxPooling2D()(c)]), \
        [floats(rng, 3, 11, 10, 3)]


@case(2, 3, description="channels_first Conv2D, MaxPooling2D, AveragePooling2D (same), ZeroPadding2D, Cropping2D, "
                        "UpSampling2D and GlobalAveragePooling2D, recorded in graph mode (as predict runs them)")
def image_ops_channels_first(keras, rng):
    L = keras.layers
    cf = "channels_first"
    x = keras.Input((3, 9, 8))
    y = L.Conv2D(5, (3, 2), strides=(1, 2), padding="same", data_format=cf, activation="relu")(x)
    y = L.ZeroPadding2D((1, 2), data_format=cf)(y)
    y = L.MaxPooling2D(2, data_format=cf)(y)
    z = L.AveragePooling2D(3, strides=2, padding="same", data_format=cf)(x)
    z = L.Cropping2D(((1, 0), (0, 1)), data_format=cf)(L.UpSampling2D(2, data_format=cf)(z))
    return keras.Model(x, [y, z, L.GlobalAveragePooling2D(data_format=cf)(y)]), [floats(rng, 3, 3, 9, 8)]


@case(2, 3, description="UpSampling2D bilinear: Keras samples at pixel centres (TF.js at pixel corners)")
def upsampling_bilinear(keras, rng):
    L = keras.layers
    x = keras.Input((4, 5, 2))
    return keras.Model(x, [L.UpSampling2D((2, 3), interpolation="bilinear")(x),
                           L.UpSampling2D(3, interpolation="bilinear")(x)]), [floats(rng, 2, 4, 5, 2)]


@case(2, 3, description="DepthwiseConv2D (depth_multiplier 2, same, relu; strided valid) and SeparableConv2D "
                        "(depth_multiplier 2, strides 2, same; dilated, no bias); four outputs")
def depthwise_separable(keras, rng):
    L = keras.layers
    x = keras.Input((9, 8, 3))
    a = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu")(x)
    b = L.DepthwiseConv2D((2, 3), strides=2)(x)
    c = L.SeparableConv2D(6, 3, depth_multiplier=2, strides=2, padding="same")(x)
    d = L.SeparableConv2D(4, 2, dilation_rate=2, use_bias=False, activation="tanh")(a)
    return keras.Model(x, [a, b, c, d]), [floats(rng, 3, 9, 8, 3)]


@case(2, 3, description="Conv2DTranspose: strides 2 same, relu; kernel [3,2] strides [2,3] valid; kernel 2 strides 3 "
                        "(gaps); channels_first; four outputs")
def conv_transpose(keras, rng):
    L = keras.layers
    x = keras.Input((4, 5, 3))
    a = L.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")(x)
    b = L.Conv2DTranspose(3, (3, 2), strides=(2, 3))(x)
    c = L.Conv2DTranspose(2, 2, strides=3)(x)
    d = L.Conv2DTranspose(2, 3, strides=2, padding="same", data_format="channels_first")(L.Permute((3, 1, 2))(x))
    return keras.Model(x, [a, b, c, d]), [floats(rng, 3, 4, 5, 3)]


@case(2, 3, description="What TF.js cannot compute: a dilated DepthwiseConv2D, Conv2DTranspose with output_padding and "
                        "with dilation; three outputs")
def conv2d_variants_keras_only(keras, rng):
    L = keras.layers
    x = keras.Input((6, 7, 2))
    a = L.DepthwiseConv2D(2, dilation_rate=2, padding="same", depth_multiplier=2)(x)
    b = L.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1)(x)
    c = L.Conv2DTranspose(2, 2, dilation_rate=2)(x)
    return keras.Model(x, [a, b, c]), [floats(rng, 3, 6, 7, 2)]
