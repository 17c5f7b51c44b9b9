"""The compiled kernels (numba, cached on disk). Imported only by ``compiled`` when numba is installed.

Two kinds, both over the rows ``b0:b1`` of a batch (so that threads can share a batch) and both releasing the GIL:

- the whole time loop of a small batch (``lstm``, ``gru``, ``simple_rnn``): each sample's recurrent product is a
  contiguous loop over the kernel's rows (``kernel[k, :]``, which LLVM vectorises), summed in the
  precision of the ``acc`` buffer the caller passes (float32, as BLAS and the NumPy loop sum; float64 is kept for
  measuring, see the README's Performance section);
- one step's gates of a large batch (``*_gates``), after NumPy's BLAS has made the step's recurrent product: one
  pass over the gate array instead of NumPy's ~15.

Values are float32 and the formulas are the NumPy loop's. Each sample's row is updated in place; a masked sample
keeps its states and emits the held output (``held``: 0 zeros, 1 the previous state's first part, 2 the previous
output). ``keep`` is the (time, batch) step mask, or an empty array when there is none; ``seq`` the (time, batch,
units) outputs, or empty when only the last is wanted.

tanh (and sigmoid, as 0.5·tanh(x/2) + 0.5) is a rational approximation (Eigen's ``generic_fast_tanh_float``, as
ONNX Runtime's MLAS uses), branch-free, so that the gate loops vectorise where a libm call would stay scalar.
No fast-math flag, not even FMA contraction: LLVM runs a vector loop where the arrays cannot overlap and a scalar
loop where they might, and with contraction allowed the two fused ``f·c + i·g`` differently, so the bits depended
on where the heap put the arrays (``tests/unit/test_kernel_determinism.py``). Each operation rounds once.
"""

import numpy as np
from numba import njit

F32 = np.float32
OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**OPTIONS)
def tanh(x):
    """tanh of a float32, by Eigen's rational approximation on [-7.9053, 7.9053] (beyond, tanh is ±1 in float32)."""
    x = min(max(x, F32(-7.90531110763549805)), F32(7.90531110763549805))
    x2 = x * x
    p = F32(-2.76076847742355e-16)
    p = p * x2 + F32(2.00018790482477e-13)
    p = p * x2 + F32(-8.60467152213735e-11)
    p = p * x2 + F32(5.12229709037114e-08)
    p = p * x2 + F32(1.48572235717979e-05)
    p = p * x2 + F32(6.37261928875436e-04)
    p = p * x2 + F32(4.89352455891786e-03)
    q = F32(1.19825839466702e-06)
    q = q * x2 + F32(1.18534705686654e-04)
    q = q * x2 + F32(2.26843463243900e-03)
    q = q * x2 + F32(4.89352518554385e-03)
    return x * p / q


@njit(inline="always", **OPTIONS)
def activation(x, kind):
    """One value through the activation ``kind`` (for loops that mix activations; ``activate`` vectorises
    better where one activation covers a row)."""
    if kind == 1:
        return tanh(x)
    if kind == 2:
        return F32(0.5) * tanh(F32(0.5) * x) + F32(0.5)
    if kind == 3:
        return min(max(x * F32(0.2) + F32(0.5), F32(0)), F32(1))
    if kind == 4:
        return min(max(x + F32(3), F32(0)), F32(6)) / F32(6)
    if kind == 5:
        return max(x, F32(0))
    return x


@njit(**OPTIONS)
def activate(x, kind):
    """The activations of ``compiled.ACTIVATION_CODES``, in place on a 1-D float32 array (the test on ``kind`` stays
    outside the loops, so that they vectorise)."""
    n = x.shape[0]
    if kind == 1:
        for j in range(n):
            x[j] = tanh(x[j])
    elif kind == 2:
        for j in range(n):
            x[j] = F32(0.5) * tanh(F32(0.5) * x[j]) + F32(0.5)
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
def recurrent_product(h, kernel, first, count, acc):
    """acc[:count] = h · kernel[:, first:first + count], summed in acc's precision."""
    for j in range(count):
        acc[j] = 0
    zero = acc[0]  # 0 in acc's type: h[k] + zero is h[k] in acc's precision
    for k in range(h.shape[0]):
        hk = h[k] + zero
        for j in range(count):
            acc[j] += hk * kernel[k, first + j]


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


@njit(**OPTIONS)
def lstm_row(z, c, new_c, new_h, act, rec):
    """z = x·W + b + h·U of one sample (4u): the new c and h."""
    units = c.shape[0]
    activate(z[:2 * units], rec)
    activate(z[2 * units:3 * units], act)
    activate(z[3 * units:], rec)
    for j in range(units):
        new_c[j] = z[units + j] * c[j] + z[j] * z[2 * units + j]
        new_h[j] = new_c[j]
    activate(new_h, act)
    for j in range(units):
        new_h[j] *= z[3 * units + j]


@njit(**OPTIONS)
def lstm(projected, kernel, h, c, keep, held, act, rec, seq, last, acc, b0, b1):
    steps, width = projected.shape[0], projected.shape[2]
    units = width // 4
    z, new_h, new_c = np.empty(width, F32), np.empty(units, F32), np.empty(units, F32)
    for t in range(steps):
        for b in range(b0, b1):
            recurrent_product(h[b], kernel, 0, width, acc)
            for j in range(width):
                z[j] = projected[t, b, j] + F32(acc[j])
            lstm_row(z, c[b], new_c, new_h, act, rec)
            if emit(t, b, new_h, h, keep, held, seq, last):
                c[b] = new_c


@njit(**OPTIONS)
def lstm_gates(t, z, projected, h, c, keep, held, act, rec, seq, last, b0, b1):
    """Step t of a large batch, from z = h·U (batch, 4u) made by BLAS; z is read only.

    Each sample's gates in one loop over its units (``lstm_gates_fused``): measured at 8 to 1024 units as fast as
    or faster than ``lstm_row``'s loop per gate (its ~10 short loops cost more in overhead than in arithmetic at
    32 units; the two are within 10 % from 256 on), with the same bits."""
    lstm_gates_fused(t, z, projected, h, c, keep, held, act, rec, seq, last, b0, b1)


@njit(**OPTIONS)
def lstm_gates_fused(t, z, projected, h, c, keep, held, act, rec, seq, last, b0, b1):
    """``lstm_gates`` with one loop over each sample's units, every gate of unit j at once.

    The loop of a kept sample is compiled once for each usual pair of activations (tanh with sigmoid, TF.js's
    hard_sigmoid or Keras 3's), where the activations are constants and the loop has no branch, so that it
    vectorises (measured: 2.1x faster at 32 units); other pairs take the same loop with the kinds tested inside."""
    units = c.shape[1]
    for b in range(b0, b1):
        zb, pb, cb, hb, lb = z[b], projected[t, b], c[b], h[b], last[b]
        if not (keep.shape[0] == 0 or keep[t, b]):
            for j in range(units):
                if held == 0:
                    lb[j] = F32(0)
                elif held == 1:
                    lb[j] = hb[j]
        elif act == 1 and rec == 2:
            lstm_units(zb, pb, cb, hb, lb, 1, 2)
        elif act == 1 and rec == 3:
            lstm_units(zb, pb, cb, hb, lb, 1, 3)
        elif act == 1 and rec == 4:
            lstm_units(zb, pb, cb, hb, lb, 1, 4)
        else:
            lstm_units(zb, pb, cb, hb, lb, act, rec)
        if seq.shape[0] > 0:
            for j in range(units):
                seq[t, b, j] = lb[j]


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


@njit(**OPTIONS)
def gru_gates_zr(x, inner, recurrent_bias, zr, rec):
    """Gates z and r of one sample: zr = rec(x·W + b + (h·U + b_r)) over the first 2u."""
    for j in range(zr.shape[0]):
        zr[j] = x[j] + (inner[j] + recurrent_bias[j])
    activate(zr, rec)


@njit(**OPTIONS)
def gru_new_h(x, zr, h, hh, new_h, act):
    """h' = z·h + (1 - z)·act(x_h + hh)."""
    units = h.shape[0]
    for j in range(units):
        hh[j] = hh[j] + x[2 * units + j]
    activate(hh, act)
    for j in range(units):
        new_h[j] = zr[j] * h[j] + (F32(1) - zr[j]) * hh[j]


@njit(**OPTIONS)
def gru(projected, kernel, recurrent_bias, reset_after, h, keep, held, act, rec, seq, last, acc, b0, b1):
    steps, width = projected.shape[0], projected.shape[2]
    units = width // 3
    inner, zr = np.empty(width, F32), np.empty(2 * units, F32)
    hh, new_h = np.empty(units, F32), np.empty(units, F32)
    count = width if reset_after else 2 * units
    for t in range(steps):
        for b in range(b0, b1):
            x = projected[t, b]
            recurrent_product(h[b], kernel, 0, count, acc)
            for j in range(count):
                inner[j] = F32(acc[j])
            gru_gates_zr(x, inner, recurrent_bias, zr, rec)
            if reset_after:
                for j in range(units):
                    hh[j] = zr[units + j] * (inner[2 * units + j] + recurrent_bias[2 * units + j])
            else:
                for j in range(units):
                    hh[j] = zr[units + j] * h[b, j]
                recurrent_product(hh, kernel, 2 * units, units, acc)
                for j in range(units):
                    hh[j] = F32(acc[j])
            gru_new_h(x, zr, h[b], hh, new_h, act)
            emit(t, b, new_h, h, keep, held, seq, last)


@njit(**OPTIONS)
def gru_gates_reset_after(t, inner, projected, recurrent_bias, h, keep, held, act, rec, seq, last, b0, b1):
    """Step t of a large reset_after batch, from inner = h·U (batch, 3u) made by BLAS."""
    units = h.shape[1]
    zr, hh, new_h = np.empty(2 * units, F32), np.empty(units, F32), np.empty(units, F32)
    for b in range(b0, b1):
        x = projected[t, b]
        gru_gates_zr(x, inner[b], recurrent_bias, zr, rec)
        for j in range(units):
            hh[j] = zr[units + j] * (inner[b, 2 * units + j] + recurrent_bias[2 * units + j])
        gru_new_h(x, zr, h[b], hh, new_h, act)
        emit(t, b, new_h, h, keep, held, seq, last)


@njit(**OPTIONS)
def gru_gates_before(t, zr, projected, h, rh, rec, b0, b1):
    """Step t of a large batch without reset_after, first half: zr = rec(x + h·U_zr) in place (BLAS made h·U_zr),
    rh = r·h for the second product."""
    units = h.shape[1]
    for b in range(b0, b1):
        zrb = zr[b]
        for j in range(2 * units):
            zrb[j] += projected[t, b, j]
        activate(zrb, rec)
        for j in range(units):
            rh[b, j] = zrb[units + j] * h[b, j]


@njit(**OPTIONS)
def gru_gates_after(t, zr, hh, projected, h, keep, held, act, seq, last, b0, b1):
    """Second half: hh = (r·h)·U_h (made by BLAS, overwritten), the new h."""
    units = h.shape[1]
    new_h = np.empty(units, F32)
    for b in range(b0, b1):
        gru_new_h(projected[t, b], zr[b], h[b], hh[b], new_h, act)
        emit(t, b, new_h, h, keep, held, seq, last)


@njit(**OPTIONS)
def simple_rnn(projected, kernel, h, keep, held, act, seq, last, acc, b0, b1):
    steps, units = projected.shape[0], projected.shape[2]
    new_h = np.empty(units, F32)
    for t in range(steps):
        for b in range(b0, b1):
            recurrent_product(h[b], kernel, 0, units, acc)
            for j in range(units):
                new_h[j] = F32(acc[j]) + projected[t, b, j]
            activate(new_h, act)
            emit(t, b, new_h, h, keep, held, seq, last)


@njit(**OPTIONS)
def simple_rnn_gates(t, z, projected, h, keep, held, act, seq, last, b0, b1):
    """Step t of a large batch, from z = h·U made by BLAS."""
    units = h.shape[1]
    for b in range(b0, b1):
        zb = z[b]
        for j in range(units):
            zb[j] += projected[t, b, j]
        activate(zb, act)
        emit(t, b, zb, h, keep, held, seq, last)
