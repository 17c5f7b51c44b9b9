"""2-D pooling (max, average; windowed and global) over images, channels last or first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InputError
from ...facts import TfjsFacts, frozen
from .base import Layer, Options, Shape, register, shape_error
from .conv import check_choice, output_length
from .conv2d import (
    DATA_FORMATS,
    check_int_tuple,
    from_channels_last,
    gather_windows,
    int_tuple,
    sample_blocks,
    spatial_shape,
    to_channels_last,
    with_spatial,
)


@dataclass(frozen=True)
class Pooling2DOptions(Options):
    pool_size: int | list = 2
    strides: int | list | None = None
    padding: str = "valid"
    data_format: str = "channels_last"

    def validate(self, layer: str, class_name: str) -> None:
        check_int_tuple(self.pool_size, 2, layer, class_name, "pool_size")
        if self.strides is not None:
            check_int_tuple(self.strides, 2, layer, class_name, "strides")
        check_choice(self.padding, ("valid", "same"), layer, class_name, "padding")
        check_choice(self.data_format, DATA_FORMATS, layer, class_name, "data_format")


class Pooling2D(Layer):
    """Max or mean over windows of pixels; ``same`` padding never counts the padded pixels (as TF)."""

    Options = Pooling2DOptions

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        self.pool = int_tuple(self.options.pool_size, 2)
        self.strides = self.pool if self.options.strides is None else int_tuple(self.options.strides, 2)
        self.channels_first = self.options.data_format == "channels_first"

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 4:
            raise shape_error(self, "an input of rank 4 (batch, rows, cols, channels)", input_shape)
        self.output_shape(input_shape)

    def output_shape(self, input_shape: Shape) -> Shape:
        spatial, channels = spatial_shape(input_shape, self.channels_first)
        out = tuple(output_length(n, k, s, self.options.padding) for n, k, s in zip(spatial, self.pool, self.strides))
        if 0 in out:
            raise shape_error(self, f"an image of at least {self.pool}", input_shape)
        return with_spatial(input_shape[0], out, channels, self.channels_first)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        x = to_channels_last(np.asarray(inputs, dtype=np.float32), self.channels_first)
        if self.options.padding == "valid" and any(n < k for n, k in zip(x.shape[1:3], self.pool)):
            raise InputError(f"layer {self.name!r} ({self.class_name}): an image of {x.shape[1:3]} is smaller "
                             f"than the pool {self.pool}")
        per_sample = 4 * x.shape[1] * x.shape[2] * x.shape[3] * self.pool[0] * self.pool[1]
        blocks = []
        for part in sample_blocks(x.shape[0], per_sample):
            values, inside = gather_windows(x[part], self.pool, self.strides, self.options.padding, (1, 1),
                                            fill=self.fill)
            blocks.append(self.reduce(values, inside[None, :, :, :, :, None]))  # (b, oh, ow, C)
        y = np.concatenate(blocks) if len(blocks) != 1 else blocks[0]
        return from_channels_last(y.astype(np.float32, copy=False), self.channels_first)

    fill = 0.0

    def reduce(self, values: np.ndarray, inside: np.ndarray) -> np.ndarray:
        """Reduce (b, oh, ow, kh, kw, C) windows over (kh, kw), counting only taps where ``inside``."""
        raise NotImplementedError


@register("MaxPooling2D")
class MaxPooling2D(Pooling2D):
    tfjs = TfjsFacts(fresh_shape=True)
    fill = -np.inf

    def reduce(self, values: np.ndarray, inside: np.ndarray) -> np.ndarray:
        return values.max(axis=(3, 4))


@register("AveragePooling2D")
class AveragePooling2D(Pooling2D):
    tfjs = TfjsFacts(fresh_shape=True)
    def reduce(self, values: np.ndarray, inside: np.ndarray) -> np.ndarray:
        total = values.sum(axis=(3, 4), dtype=np.float64)
        return total / inside.sum(axis=(3, 4))


@dataclass(frozen=True)
class GlobalPooling2DOptions(Options):
    data_format: str = "channels_last"
    keepdims: bool = False

    def validate(self, layer: str, class_name: str) -> None:
        check_choice(self.data_format, DATA_FORMATS, layer, class_name, "data_format")


class GlobalPooling2D(Layer):
    """Reduces the two spatial axes; ``keepdims`` (Keras) keeps them as size 1."""

    Options = GlobalPooling2DOptions

    @property
    def axes(self) -> tuple[int, int]:
        return (2, 3) if self.options.data_format == "channels_first" else (1, 2)

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 4:
            raise shape_error(self, "an input of rank 4 (batch, rows, cols, channels)", input_shape)

    def output_shape(self, input_shape: Shape) -> Shape:
        if self.options.keepdims:
            return tuple(1 if i in self.axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in self.axes)


@register("GlobalAveragePooling2D")
class GlobalAveragePooling2D(GlobalPooling2D):
    tfjs = TfjsFacts(allowed=frozen({"keepdims": (False,)}))
    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        y = np.asarray(inputs).mean(axis=self.axes, dtype=np.float64, keepdims=self.options.keepdims)
        return y.astype(np.float32)


@register("GlobalMaxPooling2D")
class GlobalMaxPooling2D(GlobalPooling2D):
    tfjs = TfjsFacts(allowed=frozen({"keepdims": (False,)}))
    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        if 0 in (inputs.shape[a] for a in self.axes):
            raise InputError(f"layer {self.name!r} (GlobalMaxPooling2D): cannot take a maximum over an empty image")
        return np.asarray(inputs).max(axis=self.axes, keepdims=self.options.keepdims)
