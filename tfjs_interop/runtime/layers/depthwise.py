"""Depthwise and depthwise-separable 2-D convolutions (DepthwiseConv2D, SeparableConv2D).

Each input channel is convolved with its own ``depth_multiplier`` filters (kernel [kh, kw, C, M], output channel
``c·M + m``); SeparableConv2D then mixes the C·M channels with a 1×1 pointwise kernel [1, 1, C·M, filters].
TF.js 4.22's DepthwiseConv2D passes no dilation to its kernel: for TF.js files the normaliser says so
(``dilation_ignored``) and the runtime computes the undilated convolution TF.js computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...facts import KerasFacts, TfjsFacts, frozen
from .base import Options, Shape, engine_option, invalid, positive_int, register, shape_error
from .conv import check_choice, output_length
from .conv2d import (
    DATA_FORMATS,
    WindowedConv2D,
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
class DepthwiseConv2DOptions(Options):
    kernel_size: int | list | None = None
    strides: int | list = 1
    padding: str = "valid"
    depth_multiplier: int = 1
    dilation_rate: int | list = 1
    activation: str | None = None
    use_bias: bool = True
    data_format: str = "channels_last"
    dilation_ignored: bool = engine_option(False)  # TF.js computes without the dilation it saves

    def validate(self, layer: str, class_name: str) -> None:
        for key in ("kernel_size", "strides", "dilation_rate"):
            check_int_tuple(getattr(self, key), 2, layer, class_name, key)
        positive_int(self.depth_multiplier, layer, class_name, "depth_multiplier")
        check_choice(self.padding, ("valid", "same"), layer, class_name, "padding")
        check_choice(self.data_format, DATA_FORMATS, layer, class_name, "data_format")
        if (max(int_tuple(self.strides, 2)) > 1 and max(int_tuple(self.dilation_rate, 2)) > 1
                and not self.dilation_ignored):
            raise invalid(layer, class_name, "strides", "1 when dilation_rate > 1", self.strides)


@dataclass(frozen=True)
class SeparableConv2DOptions(DepthwiseConv2DOptions):
    filters: int | None = None

    def validate(self, layer: str, class_name: str) -> None:
        positive_int(self.filters, layer, class_name, "filters")
        super().validate(layer, class_name)


@register("DepthwiseConv2D")
class DepthwiseConv2D(WindowedConv2D):
    """y = act(depthwise(x) + bias); kernel [kh, kw, C, M], bias [C·M]."""
    keras = KerasFacts(dropped_keys=("groups",))  # tf.keras writes Conv2D's groups (always 1); Keras 3 refuses it
    tfjs = TfjsFacts(behaviour=frozen({"dilation_ignored": True}), fresh_shape=True)

    Options = DepthwiseConv2DOptions

    def build(self, input_shape: Shape) -> None:
        channels = self.input_channels(input_shape)
        self.depthwise_kernel = self.add_weight("depthwise_kernel",
                                                (*self.kernel_size, channels, self.options.depth_multiplier))
        self.build_rest(channels)
        self.output_shape(input_shape)

    def build_rest(self, channels: int) -> None:
        """The weights after the depthwise kernel."""
        self.bias = self.add_weight("bias", (channels * self.options.depth_multiplier,)) \
            if self.options.use_bias else None

    def out_channels(self, channels: int) -> int:
        return channels * self.options.depth_multiplier

    def output_shape(self, input_shape: Shape) -> Shape:
        spatial, channels = spatial_shape(input_shape, self.channels_first)
        out = tuple(output_length(n, s, st, self.options.padding)
                    for n, s, st in zip(spatial, self.spans(), self.strides))
        if 0 in out:
            raise shape_error(self, f"an image of at least {self.spans()}", input_shape)
        return with_spatial(input_shape[0], out, self.out_channels(channels), self.channels_first)

    def depthwise(self, x: np.ndarray) -> np.ndarray:
        """The depthwise convolution of channels-last images: (B, oh, ow, C·M), float32."""
        if self.options.padding == "valid" and any(n < s for n, s in zip(x.shape[1:3], self.spans())):
            raise shape_error(self, f"an image of at least {self.spans()}", x.shape)
        kernel = self.depthwise_kernel.value  # (kh, kw, C, M)
        blocks = []
        for part in sample_blocks(x.shape[0], 4 * x[0].size * kernel.shape[0] * kernel.shape[1]):
            cols, _ = gather_windows(x[part], self.kernel_size, self.strides, self.options.padding, self.dilation)
            y = np.einsum("bijpqc,pqcm->bijcm", cols, kernel, optimize=True)  # (b, oh, ow, C, M)
            blocks.append(y.reshape(*y.shape[:3], -1))
        return np.concatenate(blocks) if len(blocks) != 1 else blocks[0]

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        y = self.mix(self.depthwise(to_channels_last(np.asarray(inputs, dtype=np.float32), self.channels_first)))
        if self.bias is not None:
            y = y + self.bias.value
        return from_channels_last(self.activation(y.astype(np.float32, copy=False)), self.channels_first)

    def mix(self, y: np.ndarray) -> np.ndarray:
        """What follows the depthwise step (nothing here)."""
        return y


@register("SeparableConv2D")
class SeparableConv2D(DepthwiseConv2D):
    """y = act(pointwise(depthwise(x)) + bias); pointwise kernel [1, 1, C·M, filters], bias [filters]."""
    keras = KerasFacts(dropped_keys=("groups",))  # tf.keras writes Conv2D's groups (always 1); Keras 3 refuses it
    # tf.keras writes a kernel_* initializer, regularizer and constraint into SeparableConv2D, which TF.js refuses.
    tfjs = TfjsFacts(fresh_shape=True, dropped_keys=("kernel_initializer", "kernel_regularizer", "kernel_constraint"),
                     refusal=lambda config, rank: _channels_first_bias_refusal(config))

    Options = SeparableConv2DOptions

    def build_rest(self, channels: int) -> None:
        filters = self.options.filters
        self.pointwise_kernel = self.add_weight("pointwise_kernel", (1, 1, channels * self.options.depth_multiplier,
                                                                     filters))
        self.bias = self.add_weight("bias", (filters,)) if self.options.use_bias else None

    def out_channels(self, channels: int) -> int:
        return self.options.filters

    def mix(self, y: np.ndarray) -> np.ndarray:
        return y @ self.pointwise_kernel.value.reshape(y.shape[-1], -1)  # (B, oh, ow, filters)


def _channels_first_bias_refusal(config: dict) -> tuple[str, str] | None:
    """TF.js adds a channels_first SeparableConv2D's bias along the wrong axis."""
    if config.get("data_format") == "channels_first" and config.get("use_bias") is not False:
        return ("TF.js adds a channels_first SeparableConv2D's bias along the wrong axis (it fails, or adds it by row)",
                "use channels_last, or use_bias=False")
    return None
