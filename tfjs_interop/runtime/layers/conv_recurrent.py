"""Convolutional recurrent layers: ConvLSTM2D over (batch, time, rows, cols, channels) sequences of images, and its
cell.

The RNN layer (``recurrent``) owns the time loop, masks, direction and states; the cell is an LSTM cell whose input
and recurrent products are 2-D convolutions (``conv2d.convolve2d``): the input one with the layer's strides,
padding and dilation, projected for many steps at once, the recurrent one always ``same`` with stride 1 over the
previous output. Gates i, f, c, o sit on the last axis of the kernel (kh, kw, in, 4·filters), of the recurrent
kernel (kh, kw, filters, 4·filters) and of the bias (4·filters). The cell works channels last; a channels-first
layer moves the channels axis at its boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ...facts import KerasFacts, TfjsFacts, TfjsMasking, frozen
from .base import Layer, Options, Shape, register, shape_error, unsupported
from .cells import CELLS, LSTMCell
from .conv import output_length
from .conv2d import check_conv2d_options, convolve2d, int_tuple
from .recurrent import RNN


@dataclass(frozen=True)
class ConvLSTM2DCellOptions(Options):
    rank: ClassVar[int] = 2  # WindowOptions's class variables: conv2d.check_conv2d_options reads them
    paddings: ClassVar[tuple[str, ...]] = ("valid", "same")
    strides_with_dilation: ClassVar[bool] = False

    filters: int | None = None
    kernel_size: int | list | None = None
    strides: int | list = 1
    padding: str = "valid"
    data_format: str = "channels_last"
    dilation_rate: int | list = 1
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    use_bias: bool = True

    @property
    def units(self) -> int:
        return self.filters

    def validate(self, layer: str, class_name: str) -> None:
        check_conv2d_options(self, layer, class_name)


class ConvLSTM2DCell(LSTMCell):
    """An LSTM step over images: z = conv(x, W) + b + conv_same(h, U); c' = f·c + i·act(z_c), h' = o·act(c')."""

    compiled_kind = None  # the compiled kernels know matrix products only
    Options = ConvLSTM2DCellOptions

    def __init__(self, layer: str, class_name: str, config: dict):
        super().__init__(layer, class_name, config)
        o = self.options
        self.kernel_size, self.strides = int_tuple(o.kernel_size, 2), int_tuple(o.strides, 2)
        self.dilation = int_tuple(o.dilation_rate, 2)

    def build(self, layer: Layer, input_dim: int, prefix: str) -> None:
        width = self.gates * self.units
        self.add_weights(layer, prefix, (*self.kernel_size, input_dim, width),
                         (*self.kernel_size, self.units, width), (width,))

    def output_dims(self, step_shape: tuple) -> tuple:
        """(rows', cols', filters) for a channels-last (rows, cols, channels) image."""
        spans = [(k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation)]
        return (*(output_length(n, s, st, self.options.padding)
                  for n, s, st in zip(step_shape[:2], spans, self.strides)), self.units)

    def project(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The input side of every gate, ``conv(x, W) + b``: (..., rows, cols, C) -> (..., rows', cols', 4·filters)."""
        images = x.reshape(-1, *x.shape[-3:])  # every step of every sample is one image of one convolution
        projected = convolve2d(images, self.kernel.value, self.strides, self.options.padding, self.dilation)
        if self.bias is not None:
            projected += self.bias.value
        return projected.reshape(*x.shape[:-3], *projected.shape[1:])

    def workspace(self, batch: int) -> dict[str, np.ndarray]:
        return {}

    def recurrent_side(self, h: np.ndarray, work: dict) -> np.ndarray:
        """``conv_same(h, U)``: (batch, rows', cols', filters) -> (batch, rows', cols', 4·filters)."""
        return convolve2d(h, self.recurrent_kernel.value, (1, 1), "same", (1, 1))


CELLS["ConvLSTM2DCell"] = ConvLSTM2DCell  # TF.js registers the cell (its RNN cannot run it on images: see README)


@register("ConvLSTM2D")
class ConvLSTM2D(RNN):
    """An RNN of ConvLSTM2DCell over (batch, time, rows, cols, channels) inputs (or channels first)."""
    keras = KerasFacts(gates=4, hard_sigmoid_gates=frozen({"recurrent_activation": (0, 1, 3)}), states=2,
                       keras3_mask_argument=True)
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER,
                     behaviour=frozen({"masked_output_from_state": True, "step_mask_rank_rule": True}),
                     allowed=frozen({"unroll": (False,)}))

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        self.channels_first = self.cell.options.data_format == "channels_first"

    def make_cell(self, config: dict) -> ConvLSTM2DCell:
        return ConvLSTM2DCell(self.name, self.class_name, config)

    def _channels_last(self, shape: Shape) -> Shape:
        """(batch, time, C, rows, cols) -> (batch, time, rows, cols, C) when channels first."""
        return (*shape[:2], *shape[3:], shape[2]) if self.channels_first else tuple(shape)

    def _layout(self, shape: Shape) -> Shape:
        """A channels-last shape (..., rows, cols, C) in the layer's data format."""
        return (*shape[:-3], shape[-1], *shape[-3:-1]) if self.channels_first else tuple(shape)

    def build(self, input_shape: Shape | list[Shape]) -> None:
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        if len(shape) != 5 or self._channels_last(shape)[-1] is None:
            raise shape_error(self, "an input (batch, time, rows, cols, channels) with known channels", shape)
        self.cell.build(self, self._channels_last(shape)[-1], "")
        if 0 in self.cell.output_dims(self._channels_last(shape)[2:]):
            raise shape_error(self, "images at least as large as the dilated kernel", shape)

    def output_shape(self, input_shape: Shape | list[Shape]) -> Shape | list[Shape]:
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        shapes = super().output_shape(self._channels_last(shape))
        return [self._layout(s) for s in shapes] if isinstance(shapes, list) else self._layout(shapes)

    def call(self, inputs: Any, mask: Any = None, initial_state: Any = None, training: Any = None,
             **kwargs: Any) -> Any:
        if isinstance(inputs, list):  # Keras 2.2 / TF.js style: initial states follow the input
            inputs, initial_state = inputs[0], inputs[1:] or initial_state
        x = np.asarray(inputs, dtype=np.float32)
        if self.channels_first:
            mask = mask[0] if isinstance(mask, list) else mask
            if mask is not None and np.ndim(mask) > 2:
                raise unsupported(self.name, self.class_name, f"a mask of shape {np.shape(mask)} with "
                                  "data_format='channels_first'", "masks of shape (batch, time)")
            x = np.moveaxis(x, 2, -1)
            if initial_state is not None:
                given = initial_state if isinstance(initial_state, list) else [initial_state]
                initial_state = [np.moveaxis(np.asarray(s, np.float32), 1, -1) for s in given]
        outputs = super().call(x, mask=mask, initial_state=initial_state, training=training, **kwargs)
        if not self.channels_first:
            return outputs
        if isinstance(outputs, list):
            return [_channels_first(o) for o in outputs]
        return _channels_first(outputs)


def _channels_first(y: np.ndarray) -> np.ndarray:
    """A channels-last output (batch, [time,] rows, cols, C) with its channels moved after batch and time."""
    return np.moveaxis(y, -1, y.ndim - 3)
