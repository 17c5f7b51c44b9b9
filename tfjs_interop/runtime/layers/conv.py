"""1D convolution and pooling over (batch, steps, channels) inputs, with TF's padding rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InputError
from ...facts import KerasFacts, TfjsFacts, frozen
from ..activations import get_activation
from .base import (
    Layer,
    Options,
    Shape,
    engine_option,
    invalid,
    positive_int,
    refuse_lora,
    register,
    shape_error,
    unsupported,
)

_DATA_FORMATS = ("channels_last", "channels_first")


def _one_int(value: Any) -> int | None:
    """An int given as ``3`` or ``[3]`` (configs write both), or None when it is neither."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value <= 0:
        return None
    return int(value)


def _check_one_int(value: Any, layer: str, class_name: str, key: str) -> None:
    if _one_int(value) is None:
        raise invalid(layer, class_name, key, "a positive integer or a list of one", value)


def check_choice(value: Any, choices: tuple, layer: str, class_name: str, key: str) -> None:
    if value not in choices:
        raise invalid(layer, class_name, key, f"one of {list(choices)}", value)


def output_length(length: int | None, window: int, stride: int, padding: str) -> int | None:
    """Steps out of a window sliding over ``length`` steps: TF's conv_output_length."""
    if length is None:
        return None
    if padding in ("same", "causal"):
        return -(-length // stride)
    return (length - window) // stride + 1 if length >= window else 0


def _pad_left(length: int, window: int, stride: int, padding: str) -> int:
    """Steps added before the first: TF puts the smaller half of the padding first; causal pads only before."""
    if padding == "causal":
        return window - 1
    if padding == "same":
        out = -(-length // stride)
        return max((out - 1) * stride + window - length, 0) // 2
    return 0


def windows(length: int, window: int, stride: int, padding: str, dilation: int = 1) -> np.ndarray:
    """Input indices (out, k) of each tap of each window; out-of-range ones stand for padding."""
    span = (window - 1) * dilation + 1
    out = output_length(length, span, stride, padding)
    start = np.arange(out) * stride - _pad_left(length, span, stride, padding)
    return start[:, None] + np.arange(window)[None, :] * dilation


# --- convolution -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Conv1DOptions(Options):
    filters: int | None = None
    kernel_size: int | list | None = None
    strides: int | list = 1
    padding: str = "valid"
    dilation_rate: int | list = 1
    activation: str | None = None
    use_bias: bool = True
    data_format: str = "channels_last"
    groups: int = 1
    lora_rank: int | None = None

    def validate(self, layer: str, class_name: str) -> None:
        positive_int(self.filters, layer, class_name, "filters")
        for key in ("kernel_size", "strides", "dilation_rate"):
            _check_one_int(getattr(self, key), layer, class_name, key)
        check_choice(self.padding, ("valid", "same", "causal"), layer, class_name, "padding")
        check_choice(self.data_format, _DATA_FORMATS, layer, class_name, "data_format")
        if _one_int(self.strides) > 1 and _one_int(self.dilation_rate) > 1:
            raise invalid(layer, class_name, "strides", "1 when dilation_rate > 1", self.strides)
        if self.data_format != "channels_last":
            raise unsupported(layer, class_name, f"data_format={self.data_format!r}", "'channels_last'")
        if self.groups != 1:
            raise unsupported(layer, class_name, f"groups={self.groups!r}", "groups=1")
        refuse_lora(self.lora_rank, layer, class_name)


@register("Conv1D")
class Conv1D(Layer):
    """y = act(conv(x, kernel) + bias); kernel [k, in, filters], computed as im2col and one matmul."""
    keras = KerasFacts(hard_sigmoid_gates=frozen({"activation": (0,)}))
    tfjs = TfjsFacts(allowed=frozen({"padding": ("valid", "same"), "groups": (1,)}), fresh_shape=True)

    Options = Conv1DOptions

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        o = self.options
        self.k, self.stride, self.dilation = _one_int(o.kernel_size), _one_int(o.strides), _one_int(o.dilation_rate)
        self.activation = get_activation(o.activation, name)

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise shape_error(self, "an input (batch, steps, channels) with known channels", input_shape)
        self.kernel = self.add_weight("kernel", (self.k, input_shape[-1], self.options.filters))
        self.bias = self.add_weight("bias", (self.options.filters,)) if self.options.use_bias else None
        self.output_shape(input_shape)

    def output_shape(self, input_shape: Shape) -> Shape:
        span = (self.k - 1) * self.dilation + 1
        steps = output_length(input_shape[1], span, self.stride, self.options.padding)
        if steps == 0:
            raise shape_error(self, f"at least {span} steps for a dilated kernel of {span}", input_shape)
        return (input_shape[0], steps, self.options.filters)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        batch, length, channels = inputs.shape
        idx = windows(length, self.k, self.stride, self.options.padding, self.dilation)  # (out, k)
        if idx.size == 0:
            raise InputError(f"layer {self.name!r} (Conv1D): an input of {length} steps is shorter than the "
                             f"dilated kernel ({(self.k - 1) * self.dilation + 1} steps)")
        x = np.concatenate([np.zeros((batch, 1, channels)), inputs.astype(np.float64)], axis=1)
        cols = x[:, np.where((idx >= 0) & (idx < length), idx + 1, 0), :]  # (B, out, k, C); index 0 = padding
        w = self.kernel.value.astype(np.float64).reshape(-1, self.options.filters)  # (k·C, F)
        y = (cols.reshape(batch, idx.shape[0], -1) @ w).astype(np.float32)  # (B, out, F)
        if self.bias is not None:
            y = y + self.bias.value
        return self.activation(y)


# --- pooling -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pooling1DOptions(Options):
    pool_size: int | list = 2
    strides: int | list | None = None
    padding: str = "valid"
    data_format: str = "channels_last"

    def validate(self, layer: str, class_name: str) -> None:
        _check_one_int(self.pool_size, layer, class_name, "pool_size")
        if self.strides is not None:
            _check_one_int(self.strides, layer, class_name, "strides")
        check_choice(self.padding, ("valid", "same"), layer, class_name, "padding")
        check_choice(self.data_format, _DATA_FORMATS, layer, class_name, "data_format")


class Pooling1D(Layer):
    """Max or mean over windows of steps; ``same`` padding never counts the padded steps."""

    Options = Pooling1DOptions

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        self.k = _one_int(self.options.pool_size)
        self.stride = self.k if self.options.strides is None else _one_int(self.options.strides)
        self.channels_first = self.options.data_format == "channels_first"

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 3:
            raise shape_error(self, "an input of rank 3", input_shape)
        self.output_shape(input_shape)

    def output_shape(self, input_shape: Shape) -> Shape:
        batch, steps, channels = (input_shape[0], input_shape[2], input_shape[1]) if self.channels_first \
            else input_shape
        out = output_length(steps, self.k, self.stride, self.options.padding)
        if out == 0:
            raise shape_error(self, f"at least {self.k} steps", input_shape)
        return (batch, channels, out) if self.channels_first else (batch, out, channels)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        x = np.swapaxes(inputs, 1, 2) if self.channels_first else inputs  # (B, T, C)
        idx = windows(x.shape[1], self.k, self.stride, self.options.padding)  # (out, k)
        if idx.size == 0:
            raise InputError(f"layer {self.name!r} ({self.class_name}): an input of {x.shape[1]} steps is "
                             f"shorter than the pool ({self.k})")
        inside = (idx >= 0) & (idx < x.shape[1])
        values = x[:, np.clip(idx, 0, x.shape[1] - 1), :].astype(np.float64)  # (B, out, k, C)
        y = self.pool(values, inside[None, :, :, None]).astype(np.float32)
        return np.swapaxes(y, 1, 2) if self.channels_first else y

    def pool(self, values: np.ndarray, inside: np.ndarray) -> np.ndarray:
        """Reduce (B, out, k, C) windows over k, ignoring taps where ``inside`` is False."""
        raise NotImplementedError


@register("MaxPooling1D")
class MaxPooling1D(Pooling1D):
    def pool(self, values: np.ndarray, inside: np.ndarray) -> np.ndarray:
        return np.where(inside, values, -np.inf).max(axis=2)


@register("AveragePooling1D")
class AveragePooling1D(Pooling1D):
    def pool(self, values: np.ndarray, inside: np.ndarray) -> np.ndarray:
        return np.where(inside, values, 0).sum(axis=2) / inside.sum(axis=2)


# --- global pooling ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GlobalPooling1DOptions(Options):
    data_format: str = "channels_last"
    keepdims: bool = False
    masked_mean: bool = engine_option(True)  # Keras averages unmasked steps only; TF.js ignores the mask

    def validate(self, layer: str, class_name: str) -> None:
        check_choice(self.data_format, _DATA_FORMATS, layer, class_name, "data_format")


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

