"""Preprocessing layers: Rescaling, Resizing, CenterCrop, CategoryEncoding."""

from __future__ import annotations

import numpy as np

from .registry import case


@case(2, 3, description="Rescaling, Resizing (bilinear down and up, nearest, crop_to_aspect_ratio) and CenterCrop "
                        "(smaller and larger than the image) on images; seven outputs")
def image_preprocessing(keras, rng):
    L = keras.layers
    x = keras.Input((7, 9, 2))
    scaled = L.Rescaling(1 / 127.5, offset=-1.0)(x)
    outs = [scaled, L.Resizing(4, 6)(scaled), L.Resizing(10, 12)(scaled),
            L.Resizing(5, 3, interpolation="nearest")(scaled), L.Resizing(4, 4, crop_to_aspect_ratio=True)(scaled),
            L.CenterCrop(4, 5)(scaled), L.CenterCrop(9, 6)(scaled)]
    return keras.Model(x, outs), [(rng.uniform(0, 255, (2, 7, 9, 2))).astype(np.float32)]


@case(2, 3, description="CategoryEncoding multi_hot, count and one_hot over integer ids; three outputs")
def category_encoding(keras, rng):
    L = keras.layers
    ids = keras.Input((5,), dtype="int32")
    one = keras.Input((1,), dtype="int32")
    outs = [L.CategoryEncoding(7)(ids), L.CategoryEncoding(7, output_mode="count")(ids),
            L.CategoryEncoding(7, output_mode="one_hot")(one)]
    return keras.Model([ids, one], outs), [rng.integers(0, 7, (4, 5)).astype(np.int32),
                                          rng.integers(0, 7, (4, 1)).astype(np.int32)]


@case(2, description="RandomWidth (tf_keras only: Keras 3 removed the class): factor 0.3 bilinear with a seed, "
                     "[-0.2, 0.4] nearest, the identity at inference, between a Conv2D and a pooling head")
def random_width(keras, rng):
    L = keras.layers
    x = keras.Input((6, 7, 2), name="image")
    y = L.Conv2D(3, 3, padding="same", name="conv")(x)
    y = L.RandomWidth(0.3, seed=5, name="widen")(y)
    y = L.RandomWidth([-0.2, 0.4], interpolation="nearest", name="narrow")(y)
    y = L.GlobalAveragePooling2D(name="pool")(y)
    return keras.Model(x, L.Dense(2, name="head")(y)), [rng.uniform(-1, 1, (3, 6, 7, 2)).astype(np.float32)]
