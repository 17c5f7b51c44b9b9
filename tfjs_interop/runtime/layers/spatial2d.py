"""Layers that move pixels without weights: ZeroPadding2D, Cropping2D, UpSampling2D; and the image resizing
they (and Resizing) share, with TF.js's and TensorFlow's pixel-centre conventions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...facts import TfjsFacts, frozen
from .base import Layer, Options, Shape, engine_option, invalid, register, shape_error, unsupported
from .windows import (
    DATA_FORMATS,
    check_choice,
    check_int_tuple,
    from_channels_last,
    spatial_shape,
    to_channels_last,
    with_spatial,
)

INTERPOLATIONS = ("nearest", "bilinear")


def _non_negative(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and int(value) == value and value >= 0


def edge_pairs(value: Any, layer: str, class_name: str, key: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) from ``p``, ``[h, w]`` or ``[[t, b], [l, r]]`` (Keras and TF.js forms)."""
    if _non_negative(value):
        value = [value, value]
    if isinstance(value, (list, tuple)) and len(value) == 2:
        pairs = [[v, v] if _non_negative(v) else v for v in value]
        if all(isinstance(p, (list, tuple)) and len(p) == 2 and all(_non_negative(i) for i in p) for p in pairs):
            return tuple((int(a), int(b)) for a, b in pairs)
    raise invalid(layer, class_name, key, "a non-negative integer, 2 of them, or 2 pairs of them", value)


class _Spatial(Layer):
    """A weightless layer over rank-4 images in either data format."""

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 4:
            raise shape_error(self, "an input of rank 4 (batch, rows, cols, channels)", input_shape)
        self.output_shape(input_shape)

    @property
    def channels_first(self) -> bool:
        return self.options.data_format == "channels_first"


@dataclass(frozen=True)
class ZeroPadding2DOptions(Options):
    padding: Any = 1
    data_format: str = "channels_last"

    def validate(self, layer: str, class_name: str) -> None:
        edge_pairs(self.padding, layer, class_name, "padding")
        check_choice(self.data_format, DATA_FORMATS, layer, class_name, "data_format")


@register("ZeroPadding2D")
class ZeroPadding2D(_Spatial):
    """Adds rows and columns of zeros around each image."""
    tfjs = TfjsFacts(fresh_shape=True)

    Options = ZeroPadding2DOptions

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        self.pads = edge_pairs(self.options.padding, name, class_name, "padding")

    def output_shape(self, input_shape: Shape) -> Shape:
        spatial, channels = spatial_shape(input_shape, self.channels_first)
        out = tuple(None if n is None else n + a + b for n, (a, b) in zip(spatial, self.pads))
        return with_spatial(input_shape[0], out, channels, self.channels_first)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        widths = [(0, 0), (0, 0), *self.pads] if self.channels_first else [(0, 0), *self.pads, (0, 0)]
        return np.pad(inputs, widths)


@dataclass(frozen=True)
class Cropping2DOptions(Options):
    cropping: Any = 0
    data_format: str = "channels_last"

    def validate(self, layer: str, class_name: str) -> None:
        edge_pairs(self.cropping, layer, class_name, "cropping")
        check_choice(self.data_format, DATA_FORMATS, layer, class_name, "data_format")


@register("Cropping2D")
class Cropping2D(_Spatial):
    """Removes rows and columns from the edges of each image."""
    tfjs = TfjsFacts(fresh_shape=True)

    Options = Cropping2DOptions

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        self.crops = edge_pairs(self.options.cropping, name, class_name, "cropping")

    def output_shape(self, input_shape: Shape) -> Shape:
        spatial, channels = spatial_shape(input_shape, self.channels_first)
        out = tuple(None if n is None else n - a - b for n, (a, b) in zip(spatial, self.crops))
        if any(n is not None and n <= 0 for n in out):
            raise shape_error(self, f"an image larger than the cropping {self.crops}", input_shape)
        return with_spatial(input_shape[0], out, channels, self.channels_first)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        first = 2 if self.channels_first else 1
        index = [slice(None)] * 4
        for axis, (a, b) in zip((first, first + 1), self.crops):
            if inputs.shape[axis] - a - b <= 0:
                raise shape_error(self, f"an image larger than the cropping {self.crops}", inputs.shape)
            index[axis] = slice(a, inputs.shape[axis] - b)
        return inputs[tuple(index)]


@dataclass(frozen=True)
class UpSampling2DOptions(Options):
    size: int | list = 2
    data_format: str = "channels_last"
    interpolation: str = "nearest"
    half_pixel_centers: bool = engine_option(True)  # TensorFlow's resize; TF.js samples at pixel corners

    def validate(self, layer: str, class_name: str) -> None:
        check_int_tuple(self.size, 2, layer, class_name, "size")
        check_choice(self.data_format, DATA_FORMATS, layer, class_name, "data_format")
        if self.interpolation not in INTERPOLATIONS:
            raise unsupported(layer, class_name, f"interpolation={self.interpolation!r}",
                              ", ".join(repr(i) for i in INTERPOLATIONS))


@register("UpSampling2D")
class UpSampling2D(_Spatial):
    """Enlarges each image by whole factors, repeating pixels (nearest) or interpolating them (bilinear)."""
    tfjs = TfjsFacts(behaviour=frozen({"half_pixel_centers": False}),
                     allowed=frozen({"interpolation": ("nearest", "bilinear")}), fresh_shape=True,
                     keras_inexpressible="TF.js's bilinear upsampling samples at pixel corners (align_corners=False, "
                                         "no half-pixel centres), Keras's at pixel centres, so Keras would compute "
                                         "other numbers (use interpolation 'nearest', which both compute alike)",
                     keras_inexpressible_when=frozen({"interpolation": "bilinear"}))

    Options = UpSampling2DOptions

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        self.size = check_int_tuple(self.options.size, 2, name, class_name, "size")

    def output_shape(self, input_shape: Shape) -> Shape:
        spatial, channels = spatial_shape(input_shape, self.channels_first)
        out = tuple(None if n is None else n * s for n, s in zip(spatial, self.size))
        return with_spatial(input_shape[0], out, channels, self.channels_first)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        x = to_channels_last(np.asarray(inputs), self.channels_first)
        out = (x.shape[1] * self.size[0], x.shape[2] * self.size[1])
        if self.options.interpolation == "nearest":
            y = x.repeat(self.size[0], axis=1).repeat(self.size[1], axis=2)
        else:
            y = resize_bilinear(x, out, self.options.half_pixel_centers)
        return from_channels_last(y, self.channels_first)


def _bilinear_taps(old: int, new: int, half_pixel: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower index, upper index, weight of the upper) of each output row: TF's and TF.js's formulas."""
    scale = old / new
    i = np.arange(new, dtype=np.float64)
    source = (i + 0.5) * scale - 0.5 if half_pixel else i * scale
    lower = np.maximum(np.floor(source), 0)
    upper = np.minimum(np.ceil(source), old - 1)
    return lower.astype(np.intp), upper.astype(np.intp), (source - lower).astype(np.float32)


def resize_bilinear(x: np.ndarray, size: tuple[int, int], half_pixel: bool) -> np.ndarray:
    """Bilinear resize of channels-last images (B, H, W, C) to ``size``, without antialiasing.

    ``half_pixel`` samples at pixel centres (TensorFlow's ``tf.image.resize``); otherwise at pixel corners with
    ``align_corners=False`` (TF.js's ``resizeBilinear`` default).
    """
    x = np.asarray(x, dtype=np.float32)
    top, bottom, dy = _bilinear_taps(x.shape[1], size[0], half_pixel)
    left, right, dx = _bilinear_taps(x.shape[2], size[1], half_pixel)
    dx = dx[None, None, :, None]
    upper, lower = x[:, top], x[:, bottom]  # (B, new_h, W, C)
    upper = upper[:, :, left] + (upper[:, :, right] - upper[:, :, left]) * dx
    lower = lower[:, :, left] + (lower[:, :, right] - lower[:, :, left]) * dx
    return upper + (lower - upper) * dy[None, :, None, None]
