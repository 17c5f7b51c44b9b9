"""The options and computations the convolutions and pooling layers share, for any rank: a layer class sets its
``Options`` (whose ``rank`` says how many spatial axes it slides over) and its facts; the maths is here once.

* :class:`Conv` — y = act(conv(x, kernel) + bias), kernel [*k, in, filters]: one GEMM per block of samples over the
  gathered windows, (b·prod(out), prod(k)·C) @ (prod(k)·C, filters).
* :class:`ConvTranspose` — kernel [*k, filters, in]: one GEMM gives every tap's contribution, (b·prod(in), C) @
  (C, prod(k)·filters), spread over the output by col2im.
* :class:`Pooling` — max or mean over windows; ``same`` padding never counts the padded taps (as TF).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ...errors import InputError
from ..activations import get_activation, get_exact_in_place_activation
from .base import Layer, Options, Shape, engine_option, invalid, positive_int, refuse_lora, shape_error, unsupported
from .windows import (
    AXES,
    DATA_FORMATS,
    check_choice,
    check_int_tuple,
    from_channels_last,
    gather_windows,
    im2col,
    in_blocks,
    int_tuple,
    output_sizes,
    scatter_windows,
    spans,
    spatial_shape,
    to_channels_last,
    transposed_length,
    with_spatial,
)


@dataclass(frozen=True)
class WindowOptions(Options):
    """A kernel sliding over ``rank`` spatial axes: sizes as one int or ``rank`` of them."""

    rank: ClassVar[int] = 2
    paddings: ClassVar[tuple[str, ...]] = ("valid", "same")
    strides_with_dilation: ClassVar[bool] = False  # whether Keras takes strides and dilation together

    kernel_size: int | list | None = None
    strides: int | list = 1
    padding: str = "valid"
    dilation_rate: int | list = 1
    activation: str | None = None
    use_bias: bool = True
    data_format: str = "channels_last"
    unclamped_same: bool = engine_option(False)  # TF.js's 3-D kernels: see windows.same_padding_before

    def validate(self, layer: str, class_name: str) -> None:
        for key in ("kernel_size", "strides", "dilation_rate"):
            check_int_tuple(getattr(self, key), self.rank, layer, class_name, key)
        check_choice(self.padding, self.paddings, layer, class_name, "padding")
        check_choice(self.data_format, DATA_FORMATS, layer, class_name, "data_format")
        if (not self.strides_with_dilation and not getattr(self, "dilation_ignored", False)
                and max(int_tuple(self.strides, self.rank)) > 1 and max(int_tuple(self.dilation_rate, self.rank)) > 1):
            raise invalid(layer, class_name, "strides", "1 when dilation_rate > 1", self.strides)


@dataclass(frozen=True)
class ConvOptions(WindowOptions):
    """A convolution's config (Conv1D, Conv2D, Conv3D)."""

    filters: int | None = None
    groups: int = 1
    lora_rank: int | None = None

    def validate(self, layer: str, class_name: str) -> None:
        positive_int(self.filters, layer, class_name, "filters")
        super().validate(layer, class_name)
        if self.groups != 1:
            raise unsupported(layer, class_name, f"groups={self.groups!r}", "groups=1")
        refuse_lora(self.lora_rank, layer, class_name)


@dataclass(frozen=True)
class TransposeOptions(WindowOptions):
    """A transposed convolution's config (Conv2DTranspose, Conv3DTranspose)."""

    strides_with_dilation: ClassVar[bool] = True

    filters: int | None = None
    output_padding: int | list | None = None
    dilation_ignored: bool = engine_option(False)  # TF.js computes without the dilation it saves

    def validate(self, layer: str, class_name: str) -> None:
        positive_int(self.filters, layer, class_name, "filters")
        super().validate(layer, class_name)
        if self.output_padding is not None:
            pads = non_negative_tuple(self.output_padding, self.rank)
            if pads is None or any(p >= s for p, s in zip(pads, int_tuple(self.strides, self.rank))):
                raise invalid(layer, class_name, "output_padding", "non-negative integers smaller than the strides",
                              self.output_padding)


def non_negative_tuple(value: Any, rank: int) -> tuple[int, ...] | None:
    """``value`` as ``rank`` non-negative ints (one int stands for all), or None when it is not."""
    items = list(value) if isinstance(value, (list, tuple)) else [value] * rank
    ok = len(items) == rank and all(not isinstance(v, bool) and isinstance(v, int) and v >= 0 for v in items)
    return tuple(items) if ok else None


@dataclass(frozen=True)
class PoolOptions(Options):
    """A pooling layer's config: windows of ``pool_size``, strides the pool size unless given."""

    rank: ClassVar[int] = 2

    pool_size: int | list = 2
    strides: int | list | None = None
    padding: str = "valid"
    data_format: str = "channels_last"
    unclamped_same: bool = engine_option(False)  # TF.js's 3-D kernels: see windows.same_padding_before

    def validate(self, layer: str, class_name: str) -> None:
        check_int_tuple(self.pool_size, self.rank, layer, class_name, "pool_size")
        if self.strides is not None:
            check_int_tuple(self.strides, self.rank, layer, class_name, "strides")
        check_choice(self.padding, ("valid", "same"), layer, class_name, "padding")
        check_choice(self.data_format, DATA_FORMATS, layer, class_name, "data_format")


# --- layers -------------------------------------------------------------------------------------------------

class WindowedConv(Layer):
    """What the convolutions share: kernel size, strides and dilation (none where the engine ignores it,
    ``dilation_ignored``), data format and activation, over ``Options.rank`` spatial axes."""

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        o, rank = self.options, self.Options.rank
        self.kernel_size, self.strides = int_tuple(o.kernel_size, rank), int_tuple(o.strides, rank)
        self.dilation = (1,) * rank if getattr(o, "dilation_ignored", False) else int_tuple(o.dilation_rate, rank)
        self.channels_first = o.data_format == "channels_first"
        self.activation = get_activation(o.activation, name)
        self._activate_owned = get_exact_in_place_activation(o.activation, name)  # for finish(owned=True)

    def input_channels(self, input_shape: Shape) -> int:
        """The channels of an input of the layer's rank, or the error for any other."""
        rank = self.Options.rank
        channels = spatial_shape(input_shape, self.channels_first)[1] if len(input_shape) == rank + 2 else None
        if channels is None:
            raise shape_error(self, f"an input {AXES[rank]} with known channels", input_shape)
        return channels

    def conv_bias(self) -> Any:
        """The bias of ``filters`` (with ``use_bias``), after the kernel."""
        return self.add_weight("bias", (self.options.filters,), constraint=self.config.get("bias_constraint")) \
            if self.options.use_bias else None

    def spans(self) -> tuple[int, ...]:
        """The dilated kernel's extent along each spatial axis."""
        return spans(self.kernel_size, self.dilation)

    def out_sizes(self, input_shape: Shape) -> tuple:
        """The output's spatial sizes; the error when the input is smaller than the dilated kernel."""
        out = output_sizes(spatial_shape(input_shape, self.channels_first)[0], self.spans(), self.strides,
                           self.options.padding)
        if 0 in out:
            raise shape_error(self, f"an input of at least {_sizes(self.spans())} for a dilated kernel of that "
                              "size", input_shape)
        return out

    def check_fits(self, spatial: tuple) -> None:
        """InputError when an input's spatial sizes are smaller than the dilated kernel (``valid`` padding)."""
        if self.options.padding == "valid" and any(n < s for n, s in zip(spatial, self.spans())):
            raise InputError(f"layer {self.name!r} ({self.class_name}): an input of {_sizes(spatial)} is smaller "
                             f"than the dilated kernel ({_sizes(self.spans())})")

    def finish(self, y: np.ndarray, owned: bool = False) -> np.ndarray:
        """Bias, activation (float32) and the data format of a channels-last result; ``owned``: ``y`` is a float32
        array the call made, which the bias and the activation may overwrite (the same bits without a pass and an
        allocation each: a CRNN's 3 MB of Conv2D outputs at batch 64 were 12 % of its predict)."""
        if owned:
            if self.bias is not None:
                _add_bias(y, self.bias.value)
            return from_channels_last(self._activate_owned(y), self.channels_first)
        if self.bias is not None:
            y = y + self.bias.value
        return from_channels_last(self.activation(y.astype(np.float32, copy=False)), self.channels_first)


def _add_bias(y: np.ndarray, bias: np.ndarray) -> None:
    """y += bias along y's last axis, in place, in rows of its last two axes: a bias of a few filters broadcast
    alone makes NumPy's inner loop that short (a 50×32 image of 8 filters: 7.6 against 2.5 µs)."""
    if y.ndim >= 3 and y.flags.c_contiguous:
        rows = y.reshape(-1, y.shape[-2] * y.shape[-1])
        rows += np.tile(bias, y.shape[-2])
    else:
        y += bias


def _sizes(sizes: tuple) -> str:
    """Spatial sizes as an error names them: ``5 steps`` along one axis, ``(5, 4)`` along more."""
    return f"{sizes[0]} steps" if len(sizes) == 1 else str(tuple(sizes))


class Conv(WindowedConv):
    """y = act(conv(x, kernel) + bias); kernel [*k, in, filters]."""

    gemm_dtype: ClassVar[type] = np.float32  # the precision of the GEMM (and of the gathered windows)

    def build(self, input_shape: Shape) -> None:
        channels = self.input_channels(input_shape)
        self.kernel = self.add_weight("kernel", (*self.kernel_size, channels, self.options.filters),
                                      constraint=self.config.get("kernel_constraint"))
        self.bias = self.conv_bias()
        self.output_shape(input_shape)

    def output_shape(self, input_shape: Shape) -> Shape:
        return with_spatial(input_shape[0], self.out_sizes(input_shape), self.options.filters, self.channels_first)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        x = to_channels_last(np.asarray(inputs, dtype=np.float32), self.channels_first)
        self.check_fits(x.shape[1:-1])
        y = convolve(x, self.kernel.value, self.strides, self.options.padding, self.dilation,
                     clamp=not self.options.unclamped_same, dtype=self.gemm_dtype)
        return self.finish(y.astype(np.float32, copy=False), owned=True)  # convolve's result is fresh


def convolve(x: np.ndarray, kernel: np.ndarray, strides: tuple, padding: str, dilation: tuple, clamp: bool = True,
             dtype: type = np.float32) -> np.ndarray:
    """The convolution of a channels-last batch (B, *spatial, C) with a (*k, C, F) kernel, no bias: (B, *out, F),
    one im2col GEMM in ``dtype`` per block of samples (``clamp``: see ``windows.same_padding_before``)."""
    size = kernel.shape[:-2]
    w = kernel.astype(dtype, copy=False).reshape(-1, kernel.shape[-1])  # (prod(k)·C, F)
    out = output_sizes(x.shape[1:-1], spans(size, dilation), strides, padding)
    per_sample = np.dtype(dtype).itemsize * math.prod(out) * w.shape[0]

    def gemm(part: np.ndarray) -> np.ndarray:
        cols = im2col(part.astype(dtype, copy=False), size, strides, padding, dilation, clamp=clamp)  # (b·out, k·C)
        return (cols @ w).reshape(part.shape[0], *out, -1)

    return in_blocks(x, per_sample, gemm)


class ConvTranspose(WindowedConv):
    """y = act(conv_transpose(x, kernel) + bias); kernel [*k, filters, in]."""

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        padding, rank = self.options.output_padding, self.Options.rank
        self.output_padding = (None,) * rank if padding is None else non_negative_tuple(padding, rank)

    def build(self, input_shape: Shape) -> None:
        channels = self.input_channels(input_shape)
        self.kernel = self.add_weight("kernel", (*self.kernel_size, self.options.filters, channels),
                                      constraint=self.config.get("kernel_constraint"))
        self.bias = self.conv_bias()

    def sizes(self, spatial: tuple) -> tuple:
        return tuple(transposed_length(n, k, s, self.options.padding, op, d) for n, k, s, op, d in
                     zip(spatial, self.kernel_size, self.strides, self.output_padding, self.dilation))

    def output_shape(self, input_shape: Shape) -> Shape:
        spatial, _ = spatial_shape(input_shape, self.channels_first)
        return with_spatial(input_shape[0], self.sizes(spatial), self.options.filters, self.channels_first)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        x = to_channels_last(np.asarray(inputs, dtype=np.float32), self.channels_first)
        out = self.sizes(x.shape[1:-1])
        w = np.moveaxis(self.kernel.value, -1, 0).reshape(x.shape[-1], -1)  # (C, prod(k)·F)
        per_sample = 4 * (math.prod(x.shape[1:-1]) * w.shape[1] + math.prod(out) * self.options.filters)
        return self.finish(in_blocks(x, per_sample, lambda part: self._col2im(part, w, out)))

    def _col2im(self, x: np.ndarray, w: np.ndarray, out: tuple) -> np.ndarray:
        taps = (x.reshape(-1, x.shape[-1]) @ w).reshape(*x.shape[:-1], *self.kernel_size, self.options.filters)
        return scatter_windows(taps, self.strides, self.dilation, out, self.options.padding,
                               not self.options.unclamped_same)


class Pooling(Layer):
    """Max or mean over windows of ``Options.rank`` spatial axes; ``reduce`` says which."""

    fill: ClassVar[float] = 0.0  # what a padding tap reads

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        rank = self.Options.rank
        self.pool = int_tuple(self.options.pool_size, rank)
        self.strides = self.pool if self.options.strides is None else int_tuple(self.options.strides, rank)
        self.channels_first = self.options.data_format == "channels_first"

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != self.Options.rank + 2:
            raise shape_error(self, f"an input of rank {self.Options.rank + 2} {AXES[self.Options.rank]}",
                              input_shape)
        self.output_shape(input_shape)

    def output_shape(self, input_shape: Shape) -> Shape:
        spatial, channels = spatial_shape(input_shape, self.channels_first)
        out = output_sizes(spatial, self.pool, self.strides, self.options.padding)
        if 0 in out:
            raise shape_error(self, f"an input of at least {self.pool}", input_shape)
        return with_spatial(input_shape[0], out, channels, self.channels_first)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        x = to_channels_last(np.asarray(inputs, dtype=np.float32), self.channels_first)
        if self.options.padding == "valid" and any(n < k for n, k in zip(x.shape[1:-1], self.pool)):
            raise InputError(f"layer {self.name!r} ({self.class_name}): an input of {x.shape[1:-1]} is smaller "
                             f"than the pool {self.pool}")
        y = in_blocks(x, 4 * x[0].size * math.prod(self.pool), self._pool)
        return from_channels_last(y.astype(np.float32, copy=False), self.channels_first)

    def _pool(self, x: np.ndarray) -> np.ndarray:
        rank = self.Options.rank
        values, inside = gather_windows(x, self.pool, self.strides, self.options.padding, (1,) * rank,
                                        fill=self.fill, clamp=not self.options.unclamped_same)
        # values (b, *out, *pool, C), inside (*out, *pool)
        return self.reduce(values, inside[None, ..., None], tuple(range(1 + rank, 1 + 2 * rank)))

    def reduce(self, values: np.ndarray, inside: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        """Reduce (b, *out, *pool, C) windows over ``axes``, counting only taps where ``inside``."""
        raise NotImplementedError


class MaxPooling(Pooling):
    """The maximum of each window's real taps (padding reads ``-inf``)."""

    fill = -np.inf

    def reduce(self, values: np.ndarray, inside: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        return values.max(axis=axes)


class AveragePooling(Pooling):
    """The mean of each window's real taps (summed in float64, as TF.js's CPU kernel sums in doubles)."""

    def reduce(self, values: np.ndarray, inside: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        return np.ascontiguousarray(values).sum(axis=axes, dtype=np.float64) / inside.sum(axis=axes)
