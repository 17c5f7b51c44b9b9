"""Window arithmetic of any rank (1-D steps, 2-D images, 3-D volumes), with TF's padding rules.

Convolutions and pooling gather their windows by index (im2col: padding taps read one extra zero, or ``-inf``,
row per axis) into (B, *out, *kernel, C); the convolutions then make one GEMM of them per block of samples, the
blocks bounded by ``IM2COL_BYTES``. The transposed convolutions spread one GEMM's taps back over the output with
one strided slice per kernel tap (col2im). Layers see channels-last arrays; the two data formats meet here.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .base import Shape, invalid

DATA_FORMATS = ("channels_last", "channels_first")
IM2COL_BYTES = 32 << 20  # the gathered windows of as many samples as fit here are one GEMM
TAP_MAJOR_CHANNELS = 16  # up to this many input channels im2col gathers tap by tap into rows of the input
GATHER_BYTES = 1 << 20  # windows are gathered by a flat index where it and the gathered rows fit here
AXES = {1: "(batch, steps, channels)", 2: "(batch, rows, cols, channels)", 3: "(batch, depth, rows, cols, channels)"}


def check_choice(value: Any, choices: tuple, layer: str, class_name: str, key: str) -> None:
    """Raise the Keras-style error unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise invalid(layer, class_name, key, f"one of {list(choices)}", value)


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


# --- data formats -------------------------------------------------------------------------------------------

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


# --- sliding windows ----------------------------------------------------------------------------------------

def output_length(length: int | None, window: int, stride: int, padding: str) -> int | None:
    """Steps out of a window sliding over ``length`` steps: TF's conv_output_length."""
    if length is None:
        return None
    if padding in ("same", "causal"):
        return -(-length // stride)
    return (length - window) // stride + 1 if length >= window else 0


def output_sizes(spatial: tuple, spans: tuple, strides: tuple, padding: str) -> tuple:
    """:func:`output_length` along each spatial axis."""
    return tuple(output_length(n, s, st, padding) for n, s, st in zip(spatial, spans, strides))


def spans(kernel: tuple, dilation: tuple) -> tuple[int, ...]:
    """The extent of a dilated kernel along each axis."""
    return tuple((k - 1) * d + 1 for k, d in zip(kernel, dilation))


def same_padding_before(total: int, clamp: bool = True) -> int:
    """The padding put before the first step of ``total``: TF puts the smaller half first. A window smaller than
    its stride can leave a negative total; TF pads nothing then, where TF.js's 3-D kernels (``clamp`` False) put
    the negative half first, starting each window later."""
    return (max(total, 0) if clamp else total) // 2


def _pad_left(length: int, window: int, stride: int, padding: str, clamp: bool = True) -> int:
    """Steps added before the first (``same``: see :func:`same_padding_before`); causal pads only before."""
    if padding == "causal":
        return window - 1
    if padding == "same":
        out = -(-length // stride)
        return same_padding_before((out - 1) * stride + window - length, clamp)
    return 0


def windows(length: int, window: int, stride: int, padding: str, dilation: int = 1, clamp: bool = True
            ) -> np.ndarray:
    """Input indices (out, k) of each tap of each window; out-of-range ones stand for padding."""
    span = (window - 1) * dilation + 1
    out = output_length(length, span, stride, padding)
    start = np.arange(out) * stride - _pad_left(length, span, stride, padding, clamp)
    return start[:, None] + np.arange(window)[None, :] * dilation


def gather_windows(x: np.ndarray, kernel: tuple, strides: tuple, padding: str, dilation: tuple,
                   fill: float = 0.0, clamp: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The windows of a channels-last batch (B, *spatial, C): values (B, *out, *kernel, C), a strided view of the
    padded input (reshaping it makes the im2col copy), and a (*out, *kernel) mask of the taps inside the input
    (taps in the padding read ``fill``; ``clamp``: see :func:`same_padding_before`)."""
    rank, spatial = len(kernel), x.shape[1:-1]
    taps = _taps(spatial, kernel, strides, padding, dilation, clamp)
    inside = np.ones((1,) * 2 * rank, bool)
    for axis, (n, t) in enumerate(zip(spatial, taps)):
        shape = [1] * (2 * rank)
        shape[axis], shape[rank + axis] = t.shape
        inside = inside & ((t >= 0) & (t < n)).reshape(shape)
    if any(t.size == 0 for t in taps):
        return np.zeros((x.shape[0], *(t.shape[0] for t in taps), *kernel, x.shape[-1]), x.dtype), inside
    x = _padded_to_taps(x, taps, fill)
    view = np.lib.stride_tricks.sliding_window_view(x, spans(kernel, dilation), axis=tuple(range(1, 1 + rank)))
    view = view[(slice(None), *(slice(None, None, s) for s in strides), slice(None),
                 *(slice(None, None, d) for d in dilation))]  # (B, *out, C, *kernel)
    return np.moveaxis(view, 1 + rank, -1), inside


def im2col(x: np.ndarray, kernel: tuple, strides: tuple, padding: str, dilation: tuple,
           clamp: bool = True) -> np.ndarray:
    """The windows of a channels-last batch (B, *spatial, C) as GEMM rows (B·prod(out), prod(kernel)·C), taps in
    (*kernel, C) order, padding read as zeros: the values of :func:`gather_windows`. Where they and one sample's
    flat index of them are small (``GATHER_BYTES``; the index remembered per shape), gathered by that index in one
    ``take`` from the samples followed by a zero (where padding taps point): a 3×3 kernel over one 50×32 image with
    the GEMM 45 -> 21 µs, over 4 of them 224 -> 62 µs.

    Else by one strided copy per tap: 2.5-3x faster than reshaping gather's view, which NumPy copies element by
    element when C is small (a 3×3 kernel over 50×32 single-channel images: 37 against 93 µs for one, 0.43
    against 1.3 ms for 64). Up to ``TAP_MAJOR_CHANNELS`` channels the copies fill a tap-major (prod(kernel)·C,
    B·prod(out)) array, each row a run of the input, and the rows returned are its transpose (a view BLAS takes as
    it is); with more, rows of C values each (the rows themselves). Measured with the GEMM, 3×3 over 50×32 images:
    64 of 1 channel 3.6 -> 2.5 ms, 16 of 2 channels 1.5 -> 0.38 ms, 16 of 8 3.3 -> 1.6 ms, of 16 channels 5.2 ->
    4.8; 8 of 64 channels 7 against 49 ms the other way round."""
    spatial, channels = x.shape[1:-1], x.shape[-1]
    taps = _taps(spatial, kernel, strides, padding, dilation, clamp)
    out = tuple(t.shape[0] for t in taps)
    rows, width = x.shape[0] * math.prod(out), math.prod(kernel) * channels
    index = _window_index(tuple(spatial), tuple(kernel), tuple(strides), padding, tuple(dilation), bool(clamp),
                          channels)
    if index is not None and 0 < rows * width * x.itemsize <= GATHER_BYTES:  # one gather from each sample and a
        # zero after it (for more rows the copies tap by tap measured as fast or faster: 1.4 against 1.8 ms for 64)
        flat = np.concatenate((x.reshape(x.shape[0], -1), np.zeros((x.shape[0], 1), x.dtype)), axis=1)
        return np.take(flat, index, axis=1).reshape(rows, width)
    tap_major = channels <= TAP_MAJOR_CHANNELS
    cols = np.zeros((*kernel, channels, x.shape[0], *out) if tap_major else (x.shape[0], *out, *kernel, channels),
                    x.dtype)
    if cols.size:
        x = _padded_to_taps(x, taps, 0.0)
        source = np.moveaxis(x, -1, 0) if tap_major else x  # (C, B, *spatial) or (B, *spatial, C)
        for tap in np.ndindex(*kernel):  # window o's tap k sits at o·stride + k·dilation of the padded input
            window = tuple(slice(k * d, k * d + (o - 1) * s + 1, s) for k, d, o, s in zip(tap, dilation, out, strides))
            if tap_major:
                cols[tap] = source[(slice(None), slice(None), *window)]
            else:
                cols[(slice(None),) * (1 + len(out)) + tap] = source[(slice(None), *window)]
    return cols.reshape(width, rows).T if tap_major else cols.reshape(rows, width)


def _taps(spatial: tuple, kernel: tuple, strides: tuple, padding: str, dilation: tuple, clamp: bool) -> tuple:
    """Per axis, the input index (out, k) of each tap of each window; read-only, remembered per shape and
    options (making them was 9 of a 1-sample Conv2D's 60 µs)."""
    return _made_taps(tuple(spatial), tuple(kernel), tuple(strides), padding, tuple(dilation), bool(clamp))


@functools.lru_cache(maxsize=256)
def _made_taps(spatial: tuple, kernel: tuple, strides: tuple, padding: str, dilation: tuple, clamp: bool) -> tuple:
    taps = tuple(windows(n, k, s, padding, d, clamp) for n, k, s, d in zip(spatial, kernel, strides, dilation))
    for t in taps:
        t.flags.writeable = False
    return taps


@functools.lru_cache(maxsize=64)
def _window_index(spatial: tuple, kernel: tuple, strides: tuple, padding: str, dilation: tuple, clamp: bool,
                  channels: int) -> np.ndarray | None:
    """For ``im2col``: where each of one sample's window values sits in the sample (B, *spatial, C) flattened, as
    (prod(out), prod(kernel)·C); a padding tap points one past the sample's last value (a zero ``im2col`` puts
    there). None where that index would pass ``GATHER_BYTES`` (the copies tap by tap serve large windows as
    fast, without an index)."""
    taps = _made_taps(spatial, kernel, strides, padding, dilation, clamp)
    out = tuple(t.shape[0] for t in taps)
    if math.prod(out) * math.prod(kernel) * channels * np.dtype(np.intp).itemsize > GATHER_BYTES:
        return None
    rank = len(taps)
    index = np.zeros((*out, *kernel, 1), np.intp)
    inside = np.ones(index.shape, bool)
    step = channels
    for axis in reversed(range(rank)):  # (*spatial, C) in C order: each axis's index times its stride
        shape = [1] * (2 * rank + 1)
        shape[axis], shape[rank + axis] = taps[axis].shape
        index += (taps[axis] * step).reshape(shape)
        inside &= ((taps[axis] >= 0) & (taps[axis] < spatial[axis])).reshape(shape)
        step *= spatial[axis]
    index = np.where(inside, index + np.arange(channels), step)  # step: the sample's size, the zero's place
    index = np.ascontiguousarray(index.reshape(math.prod(out), math.prod(kernel) * channels))
    index.flags.writeable = False
    return index


def _padded_to_taps(x: np.ndarray, taps: tuple, fill: float) -> np.ndarray:
    """``x`` cropped and padded (with ``fill``) to the taps' extent per axis: index 0 is the first window's first
    tap."""
    spatial = x.shape[1:-1]
    first, last = [int(t[0, 0]) for t in taps], [int(t[-1, -1]) for t in taps]
    x = x[(slice(None), *(slice(max(a, 0), min(b, n - 1) + 1) for a, b, n in zip(first, last, spatial)))]
    pads = [(max(-a, 0), max(b - n + 1, 0)) for a, b, n in zip(first, last, spatial)]
    if all(p == (0, 0) for p in pads):
        return x
    padded = np.full((x.shape[0], *(n + a + b for n, (a, b) in zip(x.shape[1:-1], pads)), x.shape[-1]), fill,
                     x.dtype)
    padded[(slice(None), *(slice(a, a + n) for n, (a, _) in zip(x.shape[1:-1], pads)))] = x
    return padded


def sample_blocks(batch: int, bytes_per_sample: int) -> list[slice]:
    """Slices of the batch whose gathered windows stay within ``IM2COL_BYTES`` (at least one sample each)."""
    step = max(1, IM2COL_BYTES // max(1, bytes_per_sample))
    return [slice(i, min(i + step, batch)) for i in range(0, batch, step)]


def in_blocks(x: np.ndarray, bytes_per_sample: int, compute: Any) -> np.ndarray:
    """``compute`` over blocks of the samples of ``x`` (see :func:`sample_blocks`), concatenated."""
    blocks = [compute(x[part]) for part in sample_blocks(x.shape[0], bytes_per_sample)]
    return np.concatenate(blocks) if len(blocks) != 1 else blocks[0]


# --- transposed windows -------------------------------------------------------------------------------------

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


def scatter_windows(taps: np.ndarray, strides: tuple, dilation: tuple, out: tuple, padding: str,
                    clamp: bool = True) -> np.ndarray:
    """col2im: add each tap of (B, *in, *kernel, F) into the output it maps to, one strided slice per tap, and cut
    the (B, *out, F) output from the full result (``same`` cuts as :func:`same_padding_before` pads: a negative
    cut, TF.js's 3-D one, starts the output before the full result, on zeros)."""
    rank = len(strides)
    spatial, kernel = taps.shape[1:1 + rank], taps.shape[1 + rank:1 + 2 * rank]
    full = [(n - 1) * s + (k - 1) * d + 1 for n, k, s, d in zip(spatial, kernel, strides, dilation)]
    before = [0 if padding == "valid" else same_padding_before(f - o, clamp) for f, o in zip(full, out)]
    lead = [max(-b, 0) for b in before]  # zeros ahead of the full result
    result = np.zeros((taps.shape[0], *(a + max(f, b + o) for a, f, b, o in zip(lead, full, before, out)),
                       taps.shape[-1]), taps.dtype)
    for tap in np.ndindex(*kernel):
        target = (slice(None), *(slice(a + p * d, a + p * d + (n - 1) * s + 1, s)
                                 for a, p, d, n, s in zip(lead, tap, dilation, spatial, strides)))
        result[target] += taps[(slice(None), *[slice(None)] * rank, *tap)]
    return result[(slice(None), *(slice(a + b, a + b + o) for a, b, o in zip(lead, before, out)))]
