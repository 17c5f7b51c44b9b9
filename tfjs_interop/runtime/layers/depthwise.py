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
from .base import Shape, engine_option, positive_int, register
from .windowed import WindowedConv, WindowOptions
from .windows import gather_windows, in_blocks, spatial_shape, to_channels_last, with_spatial


@dataclass(frozen=True)
class DepthwiseConv2DOptions(WindowOptions):
    rank = 2

    depth_multiplier: int = 1
    dilation_ignored: bool = engine_option(False)  # TF.js computes without the dilation it saves

    def validate(self, layer: str, class_name: str) -> None:
        super().validate(layer, class_name)
        positive_int(self.depth_multiplier, layer, class_name, "depth_multiplier")


@dataclass(frozen=True)
class SeparableConv2DOptions(DepthwiseConv2DOptions):
    filters: int | None = None

    def validate(self, layer: str, class_name: str) -> None:
        positive_int(self.filters, layer, class_name, "filters")
        super().validate(layer, class_name)


@register("DepthwiseConv2D")
class DepthwiseConv2D(WindowedConv):
    """y = act(depthwise(x) + bias); kernel [kh, kw, C, M], bias [C·M]."""
    keras = KerasFacts(dropped_keys=("groups",))  # tf.keras writes Conv2D's groups (always 1); Keras 3 refuses it
    tfjs = TfjsFacts(behaviour=frozen({"dilation_ignored": True}), fresh_shape=True)

    Options = DepthwiseConv2DOptions

    def build(self, input_shape: Shape) -> None:
        channels = self.input_channels(input_shape)
        self.depthwise_kernel = self.add_weight("depthwise_kernel",
                                                (*self.kernel_size, channels, self.options.depth_multiplier),
                                                constraint=self.config.get("depthwise_constraint"))
        self.build_rest(channels)
        self.output_shape(input_shape)

    def build_rest(self, channels: int) -> None:
        """The weights after the depthwise kernel."""
        self.bias = self.add_weight("bias", (channels * self.options.depth_multiplier,),
                                    constraint=self.config.get("bias_constraint")) if self.options.use_bias else None

    def out_channels(self, channels: int) -> int:
        return channels * self.options.depth_multiplier

    def output_shape(self, input_shape: Shape) -> Shape:
        _, channels = spatial_shape(input_shape, self.channels_first)
        return with_spatial(input_shape[0], self.out_sizes(input_shape), self.out_channels(channels),
                            self.channels_first)

    def depthwise(self, x: np.ndarray) -> np.ndarray:
        """The depthwise convolution of channels-last images: (B, oh, ow, C·M), float32."""
        self.check_fits(x.shape[1:3])
        kernel = self.depthwise_kernel.value  # (kh, kw, C, M)
        return in_blocks(x, 4 * x[0].size * kernel.shape[0] * kernel.shape[1], self._depthwise)

    def _depthwise(self, x: np.ndarray) -> np.ndarray:
        cols, _ = gather_windows(x, self.kernel_size, self.strides, self.options.padding, self.dilation)
        # The im2col copy, batch second-innermost in memory: einsum's summation order on that layout is the one
        # the fixtures pinned (when the windows were gathered by fancy indexing, which laid them out so).
        cols = np.moveaxis(np.ascontiguousarray(np.moveaxis(cols, 0, -2)), -2, 0)
        y = np.einsum("bijpqc,pqcm->bijcm", cols, self.depthwise_kernel.value, optimize=True)  # (b, oh, ow, C, M)
        return y.reshape(*y.shape[:3], -1)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        return self.finish(self.mix(self.depthwise(to_channels_last(np.asarray(inputs, dtype=np.float32),
                                                                    self.channels_first))))

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
                                                                     filters),
                                                constraint=self.config.get("pointwise_constraint"))
        self.bias = self.add_weight("bias", (filters,), constraint=self.config.get("bias_constraint")) \
            if self.options.use_bias else None

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
