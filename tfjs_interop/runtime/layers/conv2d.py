"""2-D convolution over (batch, rows, cols, channels) images (or channels first), with TF's padding rules.

The convolution is one GEMM per block of samples (``windowed.Conv``): the windows are gathered by index (im2col,
padding taps read a zero row) into (B·out_h·out_w, k_h·k_w·C) and multiplied by the kernel reshaped to
(k_h·k_w·C, filters), in float32 as TF.js's CPU kernel and TensorFlow compute it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...facts import KerasFacts, TfjsFacts, frozen
from .base import positive_int, register
from .windowed import Conv, ConvOptions, WindowedConv, WindowOptions, convolve
from .windows import (  # noqa: F401  (the 2-D layers' helpers had their home here)
    DATA_FORMATS,
    IM2COL_BYTES,
    check_int_tuple,
    from_channels_last,
    gather_windows,
    int_tuple,
    sample_blocks,
    spatial_shape,
    to_channels_last,
    with_spatial,
)

WindowedConv2D = WindowedConv  # its former name


def check_conv2d_options(options: Any, layer: str, class_name: str) -> None:
    """A 2-D convolution's checks (``ConvOptions``'s) on options of another family (ConvLSTM2D's cell, whose
    options declare ``WindowOptions``'s class variables)."""
    positive_int(options.filters, layer, class_name, "filters")
    WindowOptions.validate(options, layer, class_name)


def convolve2d(x: np.ndarray, kernel: np.ndarray, strides: tuple, padding: str, dilation: tuple) -> np.ndarray:
    """The 2-D convolution of channels-last images (B, H, W, C) with a (kh, kw, C, F) kernel, no bias."""
    return convolve(x, kernel, strides, padding, dilation)


@dataclass(frozen=True)
class Conv2DOptions(ConvOptions):
    rank = 2


@register("Conv2D")
class Conv2D(Conv):
    """y = act(conv2d(x, kernel) + bias); kernel [kh, kw, in, filters]."""
    keras = KerasFacts(hard_sigmoid_gates=frozen({"activation": (0,)}))
    tfjs = TfjsFacts(allowed=frozen({"groups": (1,)}), fresh_shape=True)

    Options = Conv2DOptions
