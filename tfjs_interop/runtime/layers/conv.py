"""1D convolution and pooling over (batch, steps, channels) inputs, with TF's padding rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InputError
from ...facts import KerasFacts, TfjsFacts, frozen
from .base import Layer, Options, Shape, engine_option, register, shape_error, unsupported
from .windowed import AveragePooling, Conv, ConvOptions, MaxPooling, PoolOptions
from .windows import DATA_FORMATS, check_choice, output_length, windows  # noqa: F401  (their old home)

# --- convolution -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Conv1DOptions(ConvOptions):
    rank = 1
    paddings = ("valid", "same", "causal")

    def validate(self, layer: str, class_name: str) -> None:
        super().validate(layer, class_name)
        if self.data_format != "channels_last":
            raise unsupported(layer, class_name, f"data_format={self.data_format!r}", "'channels_last'")


@register("Conv1D")
class Conv1D(Conv):
    """y = act(conv(x, kernel) + bias); kernel [k, in, filters], computed as im2col and one matmul (in float64)."""
    keras = KerasFacts(hard_sigmoid_gates=frozen({"activation": (0,)}))
    tfjs = TfjsFacts(allowed=frozen({"padding": ("valid", "same"), "groups": (1,)}), fresh_shape=True)

    Options = Conv1DOptions
    gemm_dtype = np.float64


# --- pooling -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pooling1DOptions(PoolOptions):
    rank = 1


@register("MaxPooling1D")
class MaxPooling1D(MaxPooling):
    Options = Pooling1DOptions


@register("AveragePooling1D")
class AveragePooling1D(AveragePooling):
    Options = Pooling1DOptions


# --- global pooling ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GlobalPooling1DOptions(Options):
    data_format: str = "channels_last"
    keepdims: bool = False
    masked_mean: bool = engine_option(True)  # Keras averages unmasked steps only; TF.js ignores the mask

    def validate(self, layer: str, class_name: str) -> None:
        check_choice(self.data_format, DATA_FORMATS, layer, class_name, "data_format")


class GlobalPooling1D(Layer):
    """Reduces the steps axis (1, or 2 with channels_first); the mask stops here."""

    Options = GlobalPooling1DOptions

    @property
    def steps_axis(self) -> int:
        return 2 if self.options.data_format == "channels_first" else 1

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 3:
            raise shape_error(self, "an input of rank 3", input_shape)

    def output_shape(self, input_shape: Shape) -> Shape:
        if self.options.keepdims:
            return tuple(1 if i == self.steps_axis else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i != self.steps_axis)

    def compute_mask(self, inputs: Any, mask: Any) -> None:
        return None


@register("GlobalAveragePooling1D")
class GlobalAveragePooling1D(GlobalPooling1D):
    """The mean over steps; with a mask, over the unmasked steps only (Keras; TF.js ignores masks here)."""
    tfjs = TfjsFacts(behaviour=frozen({"masked_mean": False}), allowed=frozen({"keepdims": (False,)}))
    keras = KerasFacts(keras3_mask_argument=True)

    supports_masking = True

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        x, axis, keep = inputs.astype(np.float64), self.steps_axis, self.options.keepdims
        if mask is None or not self.options.masked_mean:
            return x.mean(axis=axis, keepdims=keep).astype(np.float32)
        weights = np.expand_dims(np.asarray(mask, dtype=np.float64), 3 - axis)  # (B, T, 1) or (B, 1, T)
        with np.errstate(invalid="ignore", divide="ignore"):  # a fully masked sample gives NaN, as in Keras
            y = (x * weights).sum(axis=axis, keepdims=keep) / weights.sum(axis=axis, keepdims=keep)
        return y.astype(np.float32)


@register("GlobalMaxPooling1D")
class GlobalMaxPooling1D(GlobalPooling1D):
    """The maximum over steps (masks are ignored, as in Keras and TF.js)."""
    tfjs = TfjsFacts(allowed=frozen({"keepdims": (False,)}))

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        if inputs.shape[self.steps_axis] == 0:
            raise InputError(f"layer {self.name!r} (GlobalMaxPooling1D): cannot take a maximum over 0 steps")
        return inputs.max(axis=self.steps_axis, keepdims=self.options.keepdims)

