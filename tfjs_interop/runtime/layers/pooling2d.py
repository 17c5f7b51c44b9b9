"""2-D pooling (max, average; windowed and global) over images, channels last or first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InputError
from ...facts import TfjsFacts, frozen
from .base import Layer, Options, Shape, register, shape_error
from .windowed import AveragePooling, MaxPooling, PoolOptions
from .windows import DATA_FORMATS, check_choice


@dataclass(frozen=True)
class Pooling2DOptions(PoolOptions):
    rank = 2


@register("MaxPooling2D")
class MaxPooling2D(MaxPooling):
    tfjs = TfjsFacts(fresh_shape=True)

    Options = Pooling2DOptions


@register("AveragePooling2D")
class AveragePooling2D(AveragePooling):
    tfjs = TfjsFacts(fresh_shape=True)

    Options = Pooling2DOptions


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
