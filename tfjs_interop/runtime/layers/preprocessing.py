"""Preprocessing layers browser and Keras models carry: Rescaling, Resizing, CenterCrop, CategoryEncoding,
RandomWidth.

TF.js 4.22 computes two of them otherwise than Keras, and the normaliser says so for TF.js files:
CenterCrop samples its box with ``cropAndResize`` (nearest) and moves a one-column margin to the left edge
(``tfjs_crop_and_resize``); Resizing, and CenterCrop to a larger size, fail in TF.js's ``predict`` (their call
hands ``resizeBilinear`` the list of inputs), so TF.js files holding them are refused with that reason.
RandomWidth fails there the same way (called alone on a tensor it resizes at random, training or not); in Keras
it is the identity at inference, and Keras 3 has no such class any more (tf_keras has).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InputError, UnsupportedLayerError
from ...facts import KerasFacts, TfjsFacts, frozen
from .base import (
    InputValues,
    Layer,
    Options,
    Shape,
    engine_option,
    invalid,
    is_number,
    positive_int,
    register,
    shape_error,
    unsupported,
)
from .spatial2d import resize_bilinear
from .windows import DATA_FORMATS, check_choice, from_channels_last, to_channels_last

TFJS_LIST_BUG = ("TF.js 4.22 fails here in predict (its call hands resizeBilinear the list of inputs: \"Error in "
                 "resizeBilinear: x must be rank 3 or 4, but got rank 1\")")


@dataclass(frozen=True)
class RescalingOptions(Options):
    scale: Any = 1.0
    offset: Any = 0.0

    def validate(self, layer: str, class_name: str) -> None:
        for key in ("scale", "offset"):
            value = getattr(self, key)
            items = value if isinstance(value, list) else [value]
            if not items or not all(is_number(v) for v in items):
                raise invalid(layer, class_name, key, "a number or a list of numbers", value)


@register("Rescaling")
class Rescaling(Layer):
    """y = x · scale + offset in float32 (integer inputs are cast first); lists broadcast over the last axis."""

    Options = RescalingOptions

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        scale = np.asarray(self.options.scale, dtype=np.float32)
        return np.asarray(inputs).astype(np.float32) * scale + np.asarray(self.options.offset, dtype=np.float32)


def aspect_crop(height: int, width: int, target: tuple[int, int]) -> tuple[slice, slice]:
    """Keras's ``crop_to_aspect_ratio``: the centred box of the target's aspect ratio, as Keras computes it."""
    crop_h = max(min(height, int(np.float32(width * target[0]) / np.float32(target[1]))), 1)
    crop_w = max(min(width, int(np.float32(height * target[1]) / np.float32(target[0]))), 1)
    top, left = int(np.float32(height - crop_h) / 2), int(np.float32(width - crop_w) / 2)
    return slice(top, top + crop_h), slice(left, left + crop_w)


def resize_nearest(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """TensorFlow's nearest resize (half-pixel centres, float32 index arithmetic) of channels-last images."""
    rows = [np.minimum(np.floor((np.arange(new, dtype=np.float32) + np.float32(0.5)) * np.float32(old / new)),
                       old - 1).astype(np.intp) for old, new in zip(x.shape[1:3], size)]
    return x[:, rows[0]][:, :, rows[1]]


def keras_resize(x: np.ndarray, size: tuple[int, int], interpolation: str, crop_to_aspect: bool) -> np.ndarray:
    """Keras's image resize of channels-last images (``tf.image.resize``, no antialiasing)."""
    if crop_to_aspect:
        rows, cols = aspect_crop(x.shape[1], x.shape[2], size)
        x = x[:, rows, cols]
    if interpolation == "nearest":
        return resize_nearest(x, size)
    return resize_bilinear(x, size, half_pixel=True)


class _Image(Layer):
    """A layer over rank-4 images, channels last (or first, for Keras 3's ``data_format``)."""

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 4:
            raise shape_error(self, "an input of rank 4 (batch, rows, cols, channels)", input_shape)

    @property
    def channels_first(self) -> bool:
        return self.options.data_format == "channels_first"

    def output_shape(self, input_shape: Shape) -> Shape:
        size = (self.options.height, self.options.width)
        if self.channels_first:
            return (input_shape[0], input_shape[1], *size)
        return (input_shape[0], *size, input_shape[3])

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        x = to_channels_last(np.asarray(inputs, dtype=np.float32), self.channels_first)
        return from_channels_last(self.compute(x), self.channels_first)

    def compute(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError


@dataclass(frozen=True)
class ResizingOptions(Options):
    height: int | None = None
    width: int | None = None
    interpolation: str = "bilinear"
    crop_to_aspect_ratio: bool = False
    pad_to_aspect_ratio: bool = False
    data_format: str = "channels_last"
    fails_in_tfjs: bool = engine_option(False)

    def validate(self, layer: str, class_name: str) -> None:
        positive_int(self.height, layer, class_name, "height")
        positive_int(self.width, layer, class_name, "width")
        check_choice(self.data_format, DATA_FORMATS, layer, class_name, "data_format")
        if self.fails_in_tfjs:
            raise unsupported(layer, class_name, f"Resizing in a TF.js model: {TFJS_LIST_BUG}",
                              "Resizing in Keras files")
        if self.interpolation not in ("bilinear", "nearest"):
            raise unsupported(layer, class_name, f"interpolation={self.interpolation!r}", "'bilinear', 'nearest'")
        if self.pad_to_aspect_ratio:
            raise unsupported(layer, class_name, "pad_to_aspect_ratio=True", "pad_to_aspect_ratio false")


@register("Resizing")
class Resizing(_Image):
    """Resizes each image to (height, width), optionally cropping it to that aspect ratio first (Keras)."""
    tfjs = TfjsFacts(behaviour=frozen({"fails_in_tfjs": True}),
                     cannot_run="TF.js 4.22's Resizing fails in predict (its call hands resizeBilinear the list "
                                "of inputs)", fix="resize the images before they reach the model")

    Options = ResizingOptions

    def compute(self, x: np.ndarray) -> np.ndarray:
        o = self.options
        return keras_resize(x, (o.height, o.width), o.interpolation, o.crop_to_aspect_ratio)


@dataclass(frozen=True)
class CenterCropOptions(Options):
    height: int | None = None
    width: int | None = None
    data_format: str = "channels_last"
    tfjs_crop_and_resize: bool = engine_option(False)  # TF.js samples the box with cropAndResize

    def validate(self, layer: str, class_name: str) -> None:
        positive_int(self.height, layer, class_name, "height")
        positive_int(self.width, layer, class_name, "width")
        check_choice(self.data_format, DATA_FORMATS, layer, class_name, "data_format")


@register("CenterCrop")
class CenterCrop(_Image):
    """The centred (height, width) box of each image; an image smaller than that is resized (Keras: after
    cropping it to the target's aspect ratio)."""
    tfjs = TfjsFacts(behaviour=frozen({"tfjs_crop_and_resize": True}), overwrites_input_shape=True,
                     keras_inexpressible="TF.js's CenterCrop samples its box with cropAndResize and moves a one-column "
                                         "margin to the left edge, which Keras's exact crop does not")

    Options = CenterCropOptions

    def compute(self, x: np.ndarray) -> np.ndarray:
        size, (in_h, in_w) = (self.options.height, self.options.width), x.shape[1:3]
        if self.options.tfjs_crop_and_resize:
            return self._tfjs_crop(x, size)
        if in_h >= size[0] and in_w >= size[1]:
            top, left = (in_h - size[0]) // 2, (in_w - size[1]) // 2
            return x[:, top:top + size[0], left:left + size[1]]
        return keras_resize(x, size, "bilinear", crop_to_aspect=True)

    def _tfjs_crop(self, x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """TF.js's CenterCrop: ``cropAndResize`` nearest over a float32 box normalised by the image size."""
        in_h, in_w = x.shape[1:3]
        top = math.floor((in_h - size[0]) / 2) if in_h != size[0] else 0
        left = math.floor((in_w - size[1]) / 2) if in_w != size[1] else 0
        left = 1 if in_w != size[1] and left == 0 else left  # TF.js's own rule
        if top < 0 or left < 0:
            raise InputError(f"layer {self.name!r} (CenterCrop): a crop larger than the image: {TFJS_LIST_BUG}")
        rows = _crop_taps(top, size[0], in_h)
        cols = _crop_taps(left, size[1], in_w)
        y = x[:, np.clip(rows, 0, in_h - 1)][:, :, np.clip(cols, 0, in_w - 1)]
        inside = ((rows >= 0) & (rows < in_h))[None, :, None, None] & ((cols >= 0) & (cols < in_w))[None, None, :, None]
        return np.where(inside, y, np.float32(0))


def _crop_taps(start: int, crop: int, size: int) -> np.ndarray:
    """The source index of each output row of ``cropAndResize`` nearest (TF.js's CPU kernel; -1 outside)."""
    low, high = np.float32(start / size), np.float32((crop + start) / size)  # the box is a float32 tensor
    if crop > 1:
        source = float(low) * (size - 1) + np.arange(crop) * ((float(high) - float(low)) * (size - 1) / (crop - 1))
    else:
        source = np.full(1, 0.5 * (float(low) + float(high)) * (size - 1))
    taps = np.floor(source + 0.5).astype(np.intp)  # Math.round
    return np.where((source < 0) | (source > size - 1), -1, taps)


@dataclass(frozen=True)
class CategoryEncodingOptions(Options):
    num_tokens: int | None = None
    output_mode: str = "multi_hot"
    sparse: bool = False

    def validate(self, layer: str, class_name: str) -> None:
        positive_int(self.num_tokens, layer, class_name, "num_tokens")
        if self.output_mode not in ("multi_hot", "one_hot", "count"):
            raise unsupported(layer, class_name, f"output_mode={self.output_mode!r}", "'multi_hot', 'one_hot', "
                              "'count'")
        if self.sparse:
            raise unsupported(layer, class_name, "sparse=True", "dense outputs")


@register("CategoryEncoding")
class CategoryEncoding(Layer):
    """Integer ids in [0, num_tokens) -> per-sample multi-hot or count vectors, or one-hot vectors."""
    tfjs = TfjsFacts(overwrites_input_shape=True)

    Options = CategoryEncodingOptions

    def input_values(self) -> InputValues:
        return InputValues(vocabulary=self.options.num_tokens)

    def output_shape(self, input_shape: Shape) -> Shape:
        n, mode = self.options.num_tokens, self.options.output_mode
        if mode == "one_hot" and len(input_shape) > 1 and input_shape[-1] != 1:
            return (*input_shape, n)
        return (*input_shape[:-1], n) if len(input_shape) > 1 else (input_shape[0], n)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        ids, n = np.asarray(inputs).astype(np.int64), self.options.num_tokens  # floats truncate, as a cast does
        if ids.size and (ids.min() < 0 or ids.max() >= n):
            raise InputError(f"layer {self.name!r} (CategoryEncoding): ids must be in [0, {n}) (num_tokens={n}), "
                             f"found {int(ids.min())}..{int(ids.max())}")
        one_hot = (ids[..., None] == np.arange(n)).astype(np.float32)
        if self.options.output_mode == "one_hot":
            return one_hot[..., 0, :] if ids.ndim > 1 and ids.shape[-1] == 1 else one_hot
        if ids.ndim == 1:
            return one_hot
        counts = one_hot.sum(axis=-2)
        return counts if self.options.output_mode == "count" else np.minimum(counts, 1)


# tf_keras's interpolations (image_utils.get_interpolation); TF.js 4.22's RandomWidth takes the first two only.
KERAS_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian",
                        "mitchellcubic")
TFJS_INTERPOLATIONS = ("bilinear", "nearest")


@dataclass(frozen=True)
class RandomWidthOptions(Options):
    factor: Any = None
    interpolation: str = "bilinear"
    seed: Any = None
    fails_in_tfjs: bool = engine_option(False)

    def validate(self, layer: str, class_name: str) -> None:
        _check_width_factor(self.factor, layer, class_name)
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise invalid(layer, class_name, "seed", "an integer or null", self.seed)
        check_choice(self.interpolation, KERAS_INTERPOLATIONS, layer, class_name, "interpolation")
        if self.fails_in_tfjs:
            raise unsupported(layer, class_name, f"RandomWidth in a TF.js model: {TFJS_LIST_BUG}",
                              "RandomWidth in Keras 2 (tf_keras) files")


def _check_width_factor(factor: Any, layer: str, class_name: str) -> None:
    """TF.js's (and tf_keras's) rules: a positive number f (the range [-f, f]) or two numbers [lower, upper],
    neither below -1, lower not above upper."""
    if isinstance(factor, list) and len(factor) == 2 and all(is_number(v) for v in factor):
        lower, upper = factor
    elif is_number(factor) and factor > 0:
        lower, upper = -factor, factor
    else:
        raise invalid(layer, class_name, "factor", "a positive number or a list of 2 numbers", factor)
    if lower < -1 or upper < -1:
        raise invalid(layer, class_name, "factor", "values of at least -1 (the range is [-factor, factor] for one "
                      "number)", factor)
    if upper < lower:
        raise invalid(layer, class_name, "factor", "a lower bound not above the upper bound", factor)


def _no_keras3_random_width(config: dict, layer: str) -> tuple[str, dict]:
    raise UnsupportedLayerError(
        f"layer {layer!r} (RandomWidth): Keras 3 has no RandomWidth class (tf_keras 2.x has; Keras 3 removed it), "
        "so no Keras 3 file can hold it; it is the identity at inference: rebuild the model without it")


@register("RandomWidth")
class RandomWidth(Layer):
    """Keras's inference form: the identity (``training`` is false in ``predict``; the random width resize runs in
    training only). TF.js 4.22 cannot run it in ``predict``: TF.js files holding it are refused."""
    tfjs = TfjsFacts(behaviour=frozen({"fails_in_tfjs": True}), allowed=frozen({"interpolation": TFJS_INTERPOLATIONS}),
                     cannot_run="TF.js 4.22's RandomWidth fails in predict (its call hands resizeBilinear the list "
                                "of inputs), builds a rank-3 output shape [null, -1, width] that no later layer "
                                "takes, and called alone on a tensor resizes at random, training or not",
                     fix="drop the layer (it is the identity at inference in Keras)")
    keras = KerasFacts(keras3_spelling=_no_keras3_random_width)

    Options = RandomWidthOptions

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) not in (3, 4):
            raise shape_error(self, "images of rank 4 (batch, rows, cols, channels), or 3", input_shape)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        return inputs
