"""2-D convolution over (batch, rows, cols, channels) images (or channels first), with TF's padding rules.

The convolution is one GEMM per block of samples: the windows are gathered by index (im2col, padding taps read a
zero row) into (B·out_h·out_w, k_h·k_w·C) and multiplied by the kernel reshaped to (k_h·k_w·C, filters), in
float32 as TF.js's CPU kernel and TensorFlow compute it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InputError
from ...facts import KerasFacts, TfjsFacts, frozen
from ..activations import get_activation
from .base import Layer, Options, Shape, invalid, positive_int, refuse_lora, register, shape_error, unsupported
from .conv import check_choice, output_length, windows

DATA_FORMATS = ("channels_last", "channels_first")
IM2COL_BYTES = 32 << 20  # the gathered windows of as many samples as fit here are one GEMM


def int_tuple(value: Any, rank: int) -> tuple[int, ...] | None:
    """``value`` as ``rank`` positive ints (configs write ``3``, ``[3]`` or ``[3, 3]``), or None when it is not."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(items) == 1:
        items = items * rank
    if len(items) != rank or not all(_positive(v) for v in items):
        return None
    return tuple(int(v) for v in items)


def _positive(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and int(value) == value and value > 0


def check_int_tuple(value: Any, rank: int, layer: str, class_name: str, key: str) -> tuple[int, ...]:
    """``value`` as ``rank`` positive ints, or the Keras-style error."""
    out = int_tuple(value, rank)
    if out is None:
        raise invalid(layer, class_name, key, f"a positive integer or a list of {rank}", value)
    return out


def to_channels_last(x: np.ndarray, channels_first: bool) -> np.ndarray:
    """(B, C, *spatial) -> (B, *spatial, C) when ``channels_first``; else ``x`` itself."""
    return np.moveaxis(x, 1, -1) if channels_first else x


def from_channels_last(y: np.ndarray, channels_first: bool) -> np.ndarray:
    """The inverse of :func:`to_channels_last`."""
    return np.moveaxis(y, -1, 1) if channels_first else y


def spatial_shape(shape: Shape, channels_first: bool) -> tuple[Shape, Any]:
    """(spatial sizes, channels) of a (B, ..., C) or (B, C, ...) shape."""
    return (tuple(shape[2:]), shape[1]) if channels_first else (tuple(shape[1:-1]), shape[-1])


def with_spatial(batch: Any, spatial: tuple, channels: Any, channels_first: bool) -> Shape:
    """The shape of a tensor with these spatial sizes and channels, in the layer's data format."""
    return (batch, channels, *spatial) if channels_first else (batch, *spatial, channels)


def gather_windows(x: np.ndarray, kernel: tuple, strides: tuple, padding: str, dilation: tuple,
                   fill: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The windows of a channels-last image batch: values (B, oh, ow, kh, kw, C) and a (oh, ow, kh, kw) mask of
    the taps inside the image (taps in the padding read ``fill``)."""
    batch, height, width, channels = x.shape
    rows = windows(height, kernel[0], strides[0], padding, dilation[0])  # (oh, kh)
    cols = windows(width, kernel[1], strides[1], padding, dilation[1])  # (ow, kw)
    inside_r, inside_c = (rows >= 0) & (rows < height), (cols >= 0) & (cols < width)
    padded = np.full((batch, height + 1, width + 1, channels), fill, dtype=x.dtype)
    padded[:, 1:, 1:, :] = x  # row 0 and column 0 stand for every padding tap
    r = np.where(inside_r, rows + 1, 0)[:, None, :, None]  # (oh, 1, kh, 1)
    c = np.where(inside_c, cols + 1, 0)[None, :, None, :]  # (1, ow, 1, kw)
    inside = inside_r[:, None, :, None] & inside_c[None, :, None, :]  # (oh, ow, kh, kw)
    return padded[:, r, c, :], inside


def sample_blocks(batch: int, bytes_per_sample: int) -> list[slice]:
    """Slices of the batch whose gathered windows stay within ``IM2COL_BYTES`` (at least one sample each)."""
    step = max(1, IM2COL_BYTES // max(1, bytes_per_sample))
    return [slice(i, min(i + step, batch)) for i in range(0, batch, step)]


def check_conv2d_options(options: Any, layer: str, class_name: str) -> None:
    """Raise for the options of a 2-D convolution (``filters``, ``kernel_size``, ``strides``, ``dilation_rate``,
    ``padding``, ``data_format``) that cannot be right, in Keras's words."""
    positive_int(options.filters, layer, class_name, "filters")
    for key in ("kernel_size", "strides", "dilation_rate"):
        check_int_tuple(getattr(options, key), 2, layer, class_name, key)
    check_choice(options.padding, ("valid", "same"), layer, class_name, "padding")
    check_choice(options.data_format, DATA_FORMATS, layer, class_name, "data_format")
    if max(int_tuple(options.strides, 2)) > 1 and max(int_tuple(options.dilation_rate, 2)) > 1:
        raise invalid(layer, class_name, "strides", "1 when dilation_rate > 1", options.strides)


def convolve2d(x: np.ndarray, kernel: np.ndarray, strides: tuple, padding: str, dilation: tuple) -> np.ndarray:
    """The 2-D convolution of a channels-last image batch (B, H, W, C) with a (kh, kw, C, F) kernel, no bias:
    (B, oh, ow, F), one im2col GEMM per block of samples."""
    w = kernel.reshape(-1, kernel.shape[-1])  # (kh·kw·C, F), rows in (kh, kw, C) order
    spans = [(k - 1) * d + 1 for k, d in zip(kernel.shape[:2], dilation)]
    out = [output_length(n, s, st, padding) for n, s, st in zip(x.shape[1:3], spans, strides)]
    blocks, per_sample = [], 4 * out[0] * out[1] * w.shape[0]
    for part in sample_blocks(x.shape[0], per_sample):
        cols, _ = gather_windows(x[part], kernel.shape[:2], strides, padding, dilation)
        b, oh, ow = cols.shape[:3]
        blocks.append((cols.reshape(b * oh * ow, -1) @ w).reshape(b, oh, ow, -1))  # (b, oh, ow, F)
    return np.concatenate(blocks) if len(blocks) != 1 else blocks[0]


@dataclass(frozen=True)
class Conv2DOptions(Options):
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
        check_conv2d_options(self, layer, class_name)
        if self.groups != 1:
            raise unsupported(layer, class_name, f"groups={self.groups!r}", "groups=1")
        refuse_lora(self.lora_rank, layer, class_name)


class WindowedConv2D(Layer):
    """What the 2-D convolutions share: kernel size, strides and dilation (none where the normaliser says the
    engine ignores it, ``dilation_ignored``), data format and activation."""

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        o = self.options
        self.kernel_size, self.strides = int_tuple(o.kernel_size, 2), int_tuple(o.strides, 2)
        self.dilation = (1, 1) if getattr(o, "dilation_ignored", False) else int_tuple(o.dilation_rate, 2)
        self.channels_first = o.data_format == "channels_first"
        self.activation = get_activation(o.activation, name)

    def input_channels(self, input_shape: Shape) -> int:
        """The channels of a rank-4 input, or the error for any other."""
        channels = spatial_shape(input_shape, self.channels_first)[1] if len(input_shape) == 4 else None
        if channels is None:
            raise shape_error(self, "an input (batch, rows, cols, channels) with known channels", input_shape)
        return channels

    def spans(self) -> tuple[int, int]:
        """The dilated kernel's extent along rows and cols."""
        return tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation))


@register("Conv2D")
class Conv2D(WindowedConv2D):
    """y = act(conv2d(x, kernel) + bias); kernel [kh, kw, in, filters]."""
    keras = KerasFacts(hard_sigmoid_gates=frozen({"activation": (0,)}))
    tfjs = TfjsFacts(allowed=frozen({"groups": (1,)}), fresh_shape=True)

    Options = Conv2DOptions

    def build(self, input_shape: Shape) -> None:
        channels = self.input_channels(input_shape)
        self.kernel = self.add_weight("kernel", (*self.kernel_size, channels, self.options.filters))
        self.bias = self.add_weight("bias", (self.options.filters,)) if self.options.use_bias else None
        self.output_shape(input_shape)

    def output_shape(self, input_shape: Shape) -> Shape:
        spatial, _ = spatial_shape(input_shape, self.channels_first)
        out = tuple(output_length(n, s, st, self.options.padding)
                    for n, s, st in zip(spatial, self.spans(), self.strides))
        if 0 in out:
            raise shape_error(self, f"an image of at least {self.spans()} for a dilated kernel of that size",
                              input_shape)
        return with_spatial(input_shape[0], out, self.options.filters, self.channels_first)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        x = to_channels_last(np.asarray(inputs, dtype=np.float32), self.channels_first)
        if any(n < s for n, s in zip(x.shape[1:3], self.spans())) and self.options.padding == "valid":
            raise InputError(f"layer {self.name!r} (Conv2D): an image of {x.shape[1:3]} is smaller than the "
                             f"dilated kernel {self.spans()}")
        y = convolve2d(x, self.kernel.value, self.strides, self.options.padding, self.dilation)
        if self.bias is not None:
            y = y + self.bias.value
        return from_channels_last(self.activation(y.astype(np.float32, copy=False)), self.channels_first)
