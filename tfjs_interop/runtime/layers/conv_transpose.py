"""The transposed 2-D convolution (Conv2DTranspose): each input pixel spreads ``x · kernel[p, q]ᵀ`` over the
output window it maps to.

One GEMM gives every tap's contribution, (B·H·W, C) @ (C, kh·kw·F); the taps are then added into the output with
one strided slice each (col2im, a loop over the kh·kw taps, never over pixels: ``windowed.ConvTranspose``). Output
sizes follow Keras's ``deconv_output_length`` and TF's padding placement (``same`` puts the smaller half of the
padding first). TF.js 4.22 passes no dilation to its kernel (nor sizes the output with it): for TF.js files the
normaliser says so (``dilation_ignored``), and ``output_padding`` is Keras's only.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...facts import KerasFacts, TfjsFacts, frozen
from .base import register
from .windowed import ConvTranspose, TransposeOptions
from .windows import transposed_length  # noqa: F401  (its former home)


@dataclass(frozen=True)
class Conv2DTransposeOptions(TransposeOptions):
    rank = 2


@register("Conv2DTranspose")
class Conv2DTranspose(ConvTranspose):
    """y = act(conv2d_transpose(x, kernel) + bias); kernel [kh, kw, filters, in]."""
    keras = KerasFacts(dropped_keys=("groups",))  # tf.keras writes Conv2D's groups (always 1); Keras 3 refuses it
    tfjs = TfjsFacts(behaviour=frozen({"dilation_ignored": True}),
                     allowed=frozen({"output_padding": (None,)}), fresh_shape=True)

    Options = Conv2DTransposeOptions
