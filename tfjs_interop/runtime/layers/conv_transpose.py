"""The transposed 2-D convolution (Conv2DTranspose): each input pixel spreads ``x · kernel[p, q]ᵀ`` over the
output window it maps to.

One GEMM gives every tap's contribution, (B·H·W, C) @ (C, kh·kw·F); the taps are then added into the output with
one strided slice each (col2im, a loop over the kh·kw taps, never over pixels). Output sizes follow Keras's
``deconv_output_length`` and TF's padding placement (``same`` puts the smaller half of the padding first).
TF.js 4.22 passes no dilation to its kernel (nor sizes the output with it): for TF.js files the normaliser says so
(``dilation_ignored``), and ``output_padding`` is Keras's only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...facts import KerasFacts, TfjsFacts, frozen
from .base import Options, Shape, engine_option, invalid, positive_int, register
from .conv import check_choice
from .conv2d import (
    DATA_FORMATS,
    WindowedConv2D,
    check_int_tuple,
    from_channels_last,
    int_tuple,
    spatial_shape,
    to_channels_last,
    with_spatial,
)


def transposed_length(size: int | None, kernel: int, stride: int, padding: str, output_padding: int | None,
                      dilation: int = 1) -> int | None:
    """The output size of a transposed convolution along one axis (Keras's ``deconv_output_length``)."""
    if size is None:
        return None
    span = (kernel - 1) * dilation + 1
    if output_padding is None:
        return size * stride + (max(span - stride, 0) if padding == "valid" else 0)
    pad = span // 2 if padding == "same" else 0
    return (size - 1) * stride + span - 2 * pad + output_padding


@dataclass(frozen=True)
class Conv2DTransposeOptions(Options):
    filters: int | None = None
    kernel_size: int | list | None = None
    strides: int | list = 1
    padding: str = "valid"
    output_padding: int | list | None = None
    dilation_rate: int | list = 1
    activation: str | None = None
    use_bias: bool = True
    data_format: str = "channels_last"
    dilation_ignored: bool = engine_option(False)  # TF.js computes without the dilation it saves

    def validate(self, layer: str, class_name: str) -> None:
        positive_int(self.filters, layer, class_name, "filters")
        for key in ("kernel_size", "strides", "dilation_rate"):
            check_int_tuple(getattr(self, key), 2, layer, class_name, key)
        check_choice(self.padding, ("valid", "same"), layer, class_name, "padding")
        check_choice(self.data_format, DATA_FORMATS, layer, class_name, "data_format")
        if self.output_padding is not None:
            pads = _non_negative_pair(self.output_padding)
            if pads is None or any(p >= s for p, s in zip(pads, int_tuple(self.strides, 2))):
                raise invalid(layer, class_name, "output_padding", "non-negative integers smaller than the strides",
                              self.output_padding)


def _non_negative_pair(value: Any) -> tuple[int, int] | None:
    items = list(value) if isinstance(value, (list, tuple)) else [value, value]
    ok = len(items) == 2 and all(not isinstance(v, bool) and isinstance(v, int) and v >= 0 for v in items)
    return tuple(items) if ok else None


@register("Conv2DTranspose")
class Conv2DTranspose(WindowedConv2D):
    """y = act(conv2d_transpose(x, kernel) + bias); kernel [kh, kw, filters, in]."""
    keras = KerasFacts(dropped_keys=("groups",))  # tf.keras writes Conv2D's groups (always 1); Keras 3 refuses it
    tfjs = TfjsFacts(behaviour=frozen({"dilation_ignored": True}),
                     allowed=frozen({"output_padding": (None,)}), fresh_shape=True)

    Options = Conv2DTransposeOptions

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        padding = self.options.output_padding
        self.output_padding = (None, None) if padding is None else _non_negative_pair(padding)

    def build(self, input_shape: Shape) -> None:
        channels = self.input_channels(input_shape)
        self.kernel = self.add_weight("kernel", (*self.kernel_size, self.options.filters, channels))
        self.bias = self.add_weight("bias", (self.options.filters,)) if self.options.use_bias else None

    def sizes(self, spatial: tuple) -> tuple:
        return tuple(transposed_length(n, k, s, self.options.padding, op, d) for n, k, s, op, d in
                     zip(spatial, self.kernel_size, self.strides, self.output_padding, self.dilation))

    def output_shape(self, input_shape: Shape) -> Shape:
        spatial, _ = spatial_shape(input_shape, self.channels_first)
        return with_spatial(input_shape[0], self.sizes(spatial), self.options.filters, self.channels_first)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        x = to_channels_last(np.asarray(inputs, dtype=np.float32), self.channels_first)
        batch, height, width, channels = x.shape
        (kh, kw), (sh, sw), (dh, dw), filters = self.kernel_size, self.strides, self.dilation, self.options.filters
        out_h, out_w = self.sizes((height, width))
        w = np.moveaxis(self.kernel.value, -1, 0).reshape(channels, -1)  # (C, kh·kw·F)
        taps = (x.reshape(-1, channels) @ w).reshape(batch, height, width, kh, kw, filters)
        full_h, full_w = (height - 1) * sh + (kh - 1) * dh + 1, (width - 1) * sw + (kw - 1) * dw + 1
        top, left = self._before(full_h, out_h), self._before(full_w, out_w)
        full = np.zeros((batch, max(full_h, top + out_h), max(full_w, left + out_w), filters), np.float32)
        for p in range(kh):
            for q in range(kw):
                full[:, p * dh:p * dh + (height - 1) * sh + 1:sh, q * dw:q * dw + (width - 1) * sw + 1:sw] += \
                    taps[:, :, :, p, q]
        y = full[:, top:top + out_h, left:left + out_w]
        if self.bias is not None:
            y = y + self.bias.value
        return from_channels_last(self.activation(y), self.channels_first)

    def _before(self, full: int, out: int) -> int:
        """Rows cut before the output: TF's ``same`` puts the smaller half of the cut first; ``valid`` none."""
        return 0 if self.options.padding == "valid" else max(full - out, 0) // 2
