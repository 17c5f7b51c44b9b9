"""One sample's step of each cell kind, and the activations: the pieces the compiled loops (``_kernels``) inline.

Values are float32 and the formulas are the NumPy loop's; see ``_kernels`` for why no fast-math flag is set.
tanh (and sigmoid, as 0.5·tanh(x/2) + 0.5) is a rational approximation (Eigen's ``generic_fast_tanh_float``, as
ONNX Runtime's MLAS uses), branch-free, so that the loops over units vectorise where a libm call would stay scalar;
its polynomials, like Eigen's, are evaluated by fused multiply-adds where the CPU has FMA (``muladd``).
"""

import sys

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ._gemm import FMA
from ._kernel_cache import stamp_with_sources

F32 = np.float32
OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}


@intrinsic
def muladd(typingctx, a, b, c):
    """a·b + c of float32s: one fused multiply-add (one rounding) where the CPU has FMA, else a multiply and an add.
    An explicit instruction, not a contraction LLVM may choose, so a vector loop and its scalar fallback give the
    same bits. In tanh it made the LSTM gate pass 1.4-1.5x faster than a multiply and an add (and tanh's worst
    error on [-9, 9] 4.3 ulp instead of 6.2)."""

    def codegen(context, builder, signature, args):
        if not FMA:  # llvm.fma would be a libm call per lane
            return builder.fadd(builder.fmul(args[0], args[1]), args[2])
        f = ir.FloatType()
        return builder.call(builder.module.declare_intrinsic("llvm.fma", [f], ir.FunctionType(f, [f, f, f])), args)

    return types.float32(types.float32, types.float32, types.float32), codegen


@njit(**OPTIONS)
def tanh(x):
    """tanh of a float32, by Eigen's rational approximation on [-7.9053, 7.9053] (beyond, tanh is ±1 in float32)."""
    x = min(max(x, F32(-7.90531110763549805)), F32(7.90531110763549805))
    x2 = x * x
    p = muladd(F32(-2.76076847742355e-16), x2, F32(2.00018790482477e-13))
    p = muladd(p, x2, F32(-8.60467152213735e-11))
    p = muladd(p, x2, F32(5.12229709037114e-08))
    p = muladd(p, x2, F32(1.48572235717979e-05))
    p = muladd(p, x2, F32(6.37261928875436e-04))
    p = muladd(p, x2, F32(4.89352455891786e-03))
    q = muladd(F32(1.19825839466702e-06), x2, F32(1.18534705686654e-04))
    q = muladd(q, x2, F32(2.26843463243900e-03))
    q = muladd(q, x2, F32(4.89352518554385e-03))
    return x * p / q


@njit(inline="always", **OPTIONS)
def sigmoid(x):
    """sigmoid of a float32 as 0.5·tanh(x/2) + 0.5 (``tanh``'s approximation)."""
    return muladd(F32(0.5), tanh(F32(0.5) * x), F32(0.5))


@njit(inline="always", **OPTIONS)
def activation(x, kind):
    """One value through the activation ``kind`` (for loops that mix activations; ``activate`` vectorises
    better where one activation covers a row)."""
    if kind == 1:
        return tanh(x)
    if kind == 2:
        return sigmoid(x)
    if kind == 3:
        return min(max(x * F32(0.2) + F32(0.5), F32(0)), F32(1))
    if kind == 4:
        return min(max(x + F32(3), F32(0)), F32(6)) / F32(6)
    if kind == 5:
        return max(x, F32(0))
    return x


@njit(**OPTIONS)
def activate(x, kind):
    """The activations of ``cell_kernels.ACTIVATION_CODES``, in place on a 1-D float32 array (the test on ``kind`` stays
    outside the loops, so that they vectorise)."""
    n = x.shape[0]
    if kind == 1:
        for j in range(n):
            x[j] = tanh(x[j])
    elif kind == 2:
        for j in range(n):
            x[j] = sigmoid(x[j])
    elif kind == 3:
        for j in range(n):
            x[j] = min(max(x[j] * F32(0.2) + F32(0.5), F32(0)), F32(1))
    elif kind == 4:
        for j in range(n):
            x[j] = min(max(x[j] + F32(3), F32(0)), F32(6)) / F32(6)
    elif kind == 5:
        for j in range(n):
            x[j] = max(x[j], F32(0))


@njit(**OPTIONS)
def emit(t, b, new_h, h, keep, held, seq, last):
    """Commit sample b's step: the new h (or, where masked, keep h and emit the held output)."""
    kept = keep.shape[0] == 0 or keep[t, b]
    units = new_h.shape[0]
    if kept:
        for j in range(units):
            h[b, j] = new_h[j]
            last[b, j] = new_h[j]
    elif held == 0:
        for j in range(units):
            last[b, j] = F32(0)
    elif held == 1:
        for j in range(units):
            last[b, j] = h[b, j]
    if seq.shape[0] > 0:
        for j in range(units):
            seq[t, b, j] = last[b, j]
    return kept


@njit(inline="always", **OPTIONS)
def lstm_sample(zb, pb, cb, hb, lb, kept, held, act, rec):
    """One sample's step from z = h·U (zb) and x·W + b (pb): its c, h and output in place, or (masked) the held
    output.

    The loop of a kept sample is compiled once for each usual pair of activations (tanh with sigmoid, TF.js's
    hard_sigmoid or Keras 3's), where the activations are constants and the loop has no branch, so that it
    vectorises (measured: 2.1x faster at 32 units); other pairs take the same loop with the kinds tested inside."""
    if not kept:
        hold(hb, lb, held)
    elif act == 1 and rec == 2:
        lstm_units(zb, pb, cb, hb, lb, 1, 2)
    elif act == 1 and rec == 3:
        lstm_units(zb, pb, cb, hb, lb, 1, 3)
    elif act == 1 and rec == 4:
        lstm_units(zb, pb, cb, hb, lb, 1, 4)
    else:
        lstm_units(zb, pb, cb, hb, lb, act, rec)


@njit(inline="always", **OPTIONS)
def lstm_units(zb, pb, cb, hb, lb, act, rec):
    """One kept sample's step: z = h·U (zb) + x·W + b (pb) -> the new c, h and output, in place."""
    units = cb.shape[0]
    for j in range(units):
        i = activation(zb[j] + pb[j], rec)
        f = activation(zb[units + j] + pb[units + j], rec)
        g = activation(zb[2 * units + j] + pb[2 * units + j], act)
        o = activation(zb[3 * units + j] + pb[3 * units + j], rec)
        new_c = f * cb[j] + i * g
        new_h = o * activation(new_c, act)
        cb[j] = new_c
        hb[j] = new_h
        lb[j] = new_h


@njit(inline="always", **OPTIONS)
def gru_sample_reset_after(pb, ib, rb, hb, lb, kept, held, act, rec):
    """One sample's reset_after step from x·W + b (pb) and h·U (ib): h' = z·h + (1 - z)·act(x_h + r·(h·U_h + b_rh))
    with z, r = rec(x_zr + (h·U_zr + b_rzr)), in place; one loop over the units, compiled branch-free for the
    usual activation pairs (as ``lstm_sample``)."""
    if not kept:
        hold(hb, lb, held)
    elif act == 1 and rec == 2:
        gru_units_reset_after(pb, ib, rb, hb, lb, 1, 2)
    elif act == 1 and rec == 3:
        gru_units_reset_after(pb, ib, rb, hb, lb, 1, 3)
    elif act == 1 and rec == 4:
        gru_units_reset_after(pb, ib, rb, hb, lb, 1, 4)
    else:
        gru_units_reset_after(pb, ib, rb, hb, lb, act, rec)


@njit(inline="always", **OPTIONS)
def gru_units_reset_after(pb, ib, rb, hb, lb, act, rec):
    units = hb.shape[0]
    for j in range(units):
        z = activation(pb[j] + (ib[j] + rb[j]), rec)
        r = activation(pb[units + j] + (ib[units + j] + rb[units + j]), rec)
        hh = activation(r * (ib[2 * units + j] + rb[2 * units + j]) + pb[2 * units + j], act)
        new_h = z * hb[j] + (F32(1) - z) * hh
        hb[j] = new_h
        lb[j] = new_h


@njit(inline="always", **OPTIONS)
def gru_sample_gates(pb, ib, hb, rh, rec):
    """A sample's z and r without reset_after: ib[:2u] = rec(x_zr + h·U_zr) in place, rh = r·h."""
    if rec == 2:
        gru_units_gates(pb, ib, hb, rh, 2)
    elif rec == 3:
        gru_units_gates(pb, ib, hb, rh, 3)
    elif rec == 4:
        gru_units_gates(pb, ib, hb, rh, 4)
    else:
        gru_units_gates(pb, ib, hb, rh, rec)


@njit(inline="always", **OPTIONS)
def gru_units_gates(pb, ib, hb, rh, rec):
    units = hb.shape[0]
    for j in range(units):
        ib[j] = activation(ib[j] + pb[j], rec)
        r = activation(ib[units + j] + pb[units + j], rec)
        ib[units + j] = r
        rh[j] = r * hb[j]


@njit(inline="always", **OPTIONS)
def gru_sample_new_h(pb, ib, hh, hb, lb, kept, held, act):
    """Then h' = z·h + (1 - z)·act(x_h + (r·h)·U_h) (hh), in place."""
    if not kept:
        hold(hb, lb, held)
    elif act == 1:
        gru_units_new_h(pb, ib, hh, hb, lb, 1)
    else:
        gru_units_new_h(pb, ib, hh, hb, lb, act)


@njit(inline="always", **OPTIONS)
def gru_units_new_h(pb, ib, hh, hb, lb, act):
    units = hb.shape[0]
    for j in range(units):
        h_new = ib[j] * hb[j] + (F32(1) - ib[j]) * activation(hh[j] + pb[2 * units + j], act)
        hb[j] = h_new
        lb[j] = h_new


@njit(inline="always", **OPTIONS)
def hold(hb, lb, held):
    """A masked sample's output: zeros (0), the previous state's first part (1) or the previous output (2)."""
    if held == 0:
        lb[:] = F32(0)
    elif held == 1:
        lb[:] = hb


stamp_with_sources(sys.modules[__name__])  # before any kernel loads from the cache (``_kernel_cache``)
