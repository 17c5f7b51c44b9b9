"""3-D convolution, transposed convolution and pooling over (batch, depth, rows, cols, channels) volumes (or
channels first): video clips, scans. The maths is the rank-generic one of ``windowed`` (one GEMM per block of
samples over gathered windows; col2im for the transpose), with TF's padding rules along each axis.

TF.js 4.22's Conv3DTranspose, like its Conv2DTranspose, passes no dilation to its kernel (its config drops
``dilationRate``) and has no ``output_padding``. TF.js's 3-D kernels (conv3d, its transpose, maxPool3d, avgPool3d)
do not clamp ``same`` padding at 0 as TF and its own 2-D kernels do: where a window is smaller than its stride the
total can be negative, and TF.js then starts each window later (``unclamped_same``; tfjs-core's
``get3DPadAndOutInfo``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...facts import KerasFacts, TfjsFacts, frozen
from .base import register
from .windowed import AveragePooling, Conv, ConvOptions, ConvTranspose, MaxPooling, PoolOptions, TransposeOptions
from .windows import int_tuple

UNCLAMPED = ("TF.js's 3-D kernels do not clamp same padding at 0: where a window is smaller than its stride, the "
             "padding can be negative and TF.js starts each window later than Keras does, so Keras would compute "
             "other numbers (use a window at least as large as the stride, or valid padding)")


def shifts_windows(config: dict) -> bool:
    """Whether TF.js's same padding can shift a window of this config (one smaller than its stride somewhere)."""
    window = int_tuple(config.get("kernel_size") or config.get("pool_size") or 2, 3)
    strides = int_tuple(config.get("strides") or window, 3)
    dilation = int_tuple(config.get("dilation_rate") or 1, 3) or (1, 1, 1)
    return (config.get("padding") == "same" and window is not None and strides is not None
            and any((k - 1) * d + 1 < s for k, d, s in zip(window, dilation, strides)))


def _tfjs(behaviour: dict, **facts: object) -> TfjsFacts:
    """The TF.js facts of a 3-D class: its behaviour, its unclamped same padding, which Keras cannot express."""
    return TfjsFacts(behaviour=frozen({**behaviour, "unclamped_same": True}), fresh_shape=True,
                     keras_inexpressible=UNCLAMPED, keras_inexpressible_when=shifts_windows, **facts)


@dataclass(frozen=True)
class Conv3DOptions(ConvOptions):
    rank = 3


@register("Conv3D")
class Conv3D(Conv):
    """y = act(conv3d(x, kernel) + bias); kernel [kd, kh, kw, in, filters]."""
    keras = KerasFacts(hard_sigmoid_gates=frozen({"activation": (0,)}))
    tfjs = _tfjs({}, allowed=frozen({"groups": (1,)}))

    Options = Conv3DOptions


@dataclass(frozen=True)
class Conv3DTransposeOptions(TransposeOptions):
    rank = 3


@register("Conv3DTranspose")
class Conv3DTranspose(ConvTranspose):
    """y = act(conv3d_transpose(x, kernel) + bias); kernel [kd, kh, kw, filters, in]."""
    keras = KerasFacts(dropped_keys=("groups",))  # tf.keras writes Conv3D's groups (always 1); Keras 3 refuses it
    tfjs = _tfjs({"dilation_ignored": True}, allowed=frozen({"output_padding": (None,)}))

    Options = Conv3DTransposeOptions


@dataclass(frozen=True)
class Pooling3DOptions(PoolOptions):
    rank = 3


@register("MaxPooling3D")
class MaxPooling3D(MaxPooling):
    tfjs = _tfjs({})

    Options = Pooling3DOptions


@register("AveragePooling3D")
class AveragePooling3D(AveragePooling):
    tfjs = _tfjs({})

    Options = Pooling3DOptions
