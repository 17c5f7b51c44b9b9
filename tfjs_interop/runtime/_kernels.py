"""The compiled kernels (numba, cached on disk). Imported only by ``compiled`` when numba is installed.

``lstm``, ``gru`` and ``simple_rnn`` run every step of a small batch in machine code, with the numbers of the NumPy
loop: float32 values, the recurrent product summed in float64 and rounded once (as TF.js's CPU backend does), the
same activation formulas. Each sample's row is updated in place; a masked sample keeps its states and emits the
held output (``held``: 0 zeros, 1 the previous state's first part, 2 the previous output).

tanh (and sigmoid, as 0.5·tanh(x/2) + 0.5) is a rational approximation (Eigen's ``generic_fast_tanh_float``, as
ONNX Runtime's MLAS uses), within 4e-7 of the exact value, which unlike a libm call vectorizes: libm's tanhf would
cost more than the arithmetic around it.
"""

import numpy as np
from numba import njit

F32 = np.float32


@njit(cache=True)
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


@njit(cache=True)
def activate(x, kind):
    """The activations of ``compiled.ACTIVATION_CODES``, in place on a 1-D float32 array (the test on ``kind`` stays
    outside the loops, so that they vectorize)."""
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


@njit(cache=True)
def recurrent_product(h, kernel, first, count, acc):
    """acc[:count] = h · kernel[:, first:first + count], summed in float64."""
    acc[:count] = 0.0
    for k in range(h.shape[0]):
        hk = np.float64(h[k])
        row = kernel[k, first:first + count]
        for j in range(count):
            acc[j] += hk * row[j]


@njit(cache=True)
def emit(t, b, new_h, h, keep, held, seq, last):
    """Commit sample b's step: the new h (or, where masked, keep h and emit the held output)."""
    kept = keep.shape[0] == 0 or keep[t, b]
    for j in range(new_h.shape[0]):
        if kept:
            h[b, j] = new_h[j]
            last[b, j] = new_h[j]
        elif held == 0:
            last[b, j] = F32(0)
        elif held == 1:
            last[b, j] = h[b, j]
        if seq.shape[0] > 0:
            seq[t, b, j] = last[b, j]
    return kept


@njit(cache=True)
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


@njit(cache=True)
def lstm(projected, kernel, h, c, keep, held, act, rec, seq, last):
    steps, batch, width = projected.shape
    units = width // 4
    acc = np.empty(width, np.float64)
    z, new_h, new_c = np.empty(width, F32), np.empty(units, F32), np.empty(units, F32)
    for t in range(steps):
        for b in range(batch):
            recurrent_product(h[b], kernel, 0, width, acc)
            for j in range(width):
                z[j] = projected[t, b, j] + F32(acc[j])
            lstm_row(z, c[b], new_c, new_h, act, rec)
            if emit(t, b, new_h, h, keep, held, seq, last):
                c[b] = new_c


@njit(cache=True)
def gru_row(x, inner, recurrent_bias, reset_after, h, kernel, acc, zr, hh, new_h, act, rec):
    """One sample's GRU step from x·W + b (3u) and inner = h·U (3u, or 2u without reset_after)."""
    units = h.shape[0]
    for j in range(2 * units):
        zr[j] = x[j] + (inner[j] + recurrent_bias[j])
    activate(zr, rec)
    if reset_after:
        for j in range(units):
            hh[j] = zr[units + j] * (inner[2 * units + j] + recurrent_bias[2 * units + j])
    else:
        for j in range(units):
            hh[j] = zr[units + j] * h[j]
        recurrent_product(hh, kernel, 2 * units, units, acc)
        for j in range(units):
            hh[j] = F32(acc[j])
    for j in range(units):
        hh[j] = hh[j] + x[2 * units + j]
    activate(hh, act)
    for j in range(units):
        new_h[j] = zr[j] * h[j] + (F32(1) - zr[j]) * hh[j]


@njit(cache=True)
def gru(projected, kernel, recurrent_bias, reset_after, h, keep, held, act, rec, seq, last):
    steps, batch, width = projected.shape
    units = width // 3
    acc = np.empty(width, np.float64)
    inner, zr = np.empty(width, F32), np.empty(2 * units, F32)
    hh, new_h = np.empty(units, F32), np.empty(units, F32)
    for t in range(steps):
        for b in range(batch):
            count = width if reset_after else 2 * units
            recurrent_product(h[b], kernel, 0, count, acc)
            for j in range(count):
                inner[j] = F32(acc[j])
            gru_row(projected[t, b], inner, recurrent_bias, reset_after, h[b], kernel, acc, zr, hh, new_h, act, rec)
            emit(t, b, new_h, h, keep, held, seq, last)


@njit(cache=True)
def simple_rnn(projected, kernel, h, keep, held, act, seq, last):
    steps, batch, units = projected.shape
    acc = np.empty(units, np.float64)
    new_h = np.empty(units, F32)
    for t in range(steps):
        for b in range(batch):
            recurrent_product(h[b], kernel, 0, units, acc)
            for j in range(units):
                new_h[j] = F32(acc[j]) + projected[t, b, j]
            activate(new_h, act)
            emit(t, b, new_h, h, keep, held, seq, last)
