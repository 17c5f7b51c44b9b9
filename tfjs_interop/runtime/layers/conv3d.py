"""3-D convolution, transposed convolution and pooling over (batch, depth, rows, cols, channels) volumes (or
channels first): video clips, scans. The maths is the rank-generic one of ``windowed`` (one GEMM per block of
samples over gathered windows; col2im for the transpose), with TF's padding rules along each axis.

TF.js 4.22's Conv3DTranspose, like its Conv2DTranspose, passes no dilation to its kernel (its config drops
``dilationRate``) and has no ``output_padding``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...facts import KerasFacts, TfjsFacts, frozen
from .base import register
from .windowed import AveragePooling, Conv, ConvOptions, ConvTranspose, MaxPooling, PoolOptions, TransposeOptions


@dataclass(frozen=True)
class Conv3DOptions(ConvOptions):
    rank = 3


@register("Conv3D")
class Conv3D(Conv):
    """y = act(conv3d(x, kernel) + bias); kernel [kd, kh, kw, in, filters]."""
    keras = KerasFacts(hard_sigmoid_gates=frozen({"activation": (0,)}))
    tfjs = TfjsFacts(allowed=frozen({"groups": (1,)}), fresh_shape=True)

    Options = Conv3DOptions


@dataclass(frozen=True)
class Conv3DTransposeOptions(TransposeOptions):
    rank = 3


@register("Conv3DTranspose")
class Conv3DTranspose(ConvTranspose):
    """y = act(conv3d_transpose(x, kernel) + bias); kernel [kd, kh, kw, filters, in]."""
    keras = KerasFacts(dropped_keys=("groups",))  # tf.keras writes Conv3D's groups (always 1); Keras 3 refuses it
    tfjs = TfjsFacts(behaviour=frozen({"dilation_ignored": True}),
                     allowed=frozen({"output_padding": (None,)}), fresh_shape=True)

    Options = Conv3DTransposeOptions


@dataclass(frozen=True)
class Pooling3DOptions(PoolOptions):
    rank = 3


@register("MaxPooling3D")
class MaxPooling3D(MaxPooling):
    tfjs = TfjsFacts(fresh_shape=True)

    Options = Pooling3DOptions


@register("AveragePooling3D")
class AveragePooling3D(AveragePooling):
    tfjs = TfjsFacts(fresh_shape=True)

    Options = Pooling3DOptions
