"""The compiled time loops (numba, cached on disk). Imported only by ``compiled`` when numba is installed.

One function per cell runs every step of a small batch in machine code, with the numbers of the NumPy loop:
float32 values, the recurrent product summed in float64 and rounded once (as TF.js's CPU backend does), the same
activation formulas. Each sample's row is updated in place; a masked sample keeps its states and emits the held
output (``held``: 0 zeros, 1 the previous state's first part, 2 the previous output).
"""

import numpy as np
from numba import njit

F32 = np.float32


@njit(cache=True)
def activate(x, kind):
    """The activations of ``compiled.ACTIVATION_CODES`` on a float32 scalar."""
    if kind == 1:
        return np.tanh(x)
    if kind == 2:
        return F32(0.5) * np.tanh(F32(0.5) * x) + F32(0.5)
    if kind == 3:
        return min(max(x * F32(0.2) + F32(0.5), F32(0)), F32(1))
    if kind == 4:
        return min(max(x + F32(3), F32(0)), F32(6)) / F32(6)
    if kind == 5:
        return max(x, F32(0))
    return x


@njit(cache=True)
def recurrent_product(h, kernel, first, count, acc):
    """acc[:count] = h · kernel[:, first:first + count], summed in float64."""
    acc[:count] = 0.0
    for k in range(h.shape[0]):
        hk = np.float64(h[k])
        for j in range(count):
            acc[j] += hk * kernel[k, first + j]


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
def lstm(projected, kernel, h, c, keep, held, act, rec, seq, last):
    steps, batch, width = projected.shape
    units = width // 4
    acc = np.empty(width, np.float64)
    new_h, new_c = np.empty(units, F32), np.empty(units, F32)
    for t in range(steps):
        for b in range(batch):
            recurrent_product(h[b], kernel, 0, width, acc)
            x = projected[t, b]
            for j in range(units):
                i = activate(x[j] + F32(acc[j]), rec)
                f = activate(x[units + j] + F32(acc[units + j]), rec)
                g = activate(x[2 * units + j] + F32(acc[2 * units + j]), act)
                o = activate(x[3 * units + j] + F32(acc[3 * units + j]), rec)
                new_c[j] = f * c[b, j] + i * g
                new_h[j] = o * activate(new_c[j], act)
            if emit(t, b, new_h, h, keep, held, seq, last):
                c[b] = new_c


@njit(cache=True)
def gru(projected, kernel, recurrent_bias, reset_after, h, keep, held, act, rec, seq, last):
    steps, batch, width = projected.shape
    units = width // 3
    acc = np.empty(width, np.float64)
    z, rh, new_h = np.empty(units, F32), np.empty(units, F32), np.empty(units, F32)
    for t in range(steps):
        for b in range(batch):
            x = projected[t, b]
            recurrent_product(h[b], kernel, 0, width if reset_after else 2 * units, acc)
            for j in range(units):
                z[j] = activate(x[j] + (F32(acc[j]) + recurrent_bias[j]), rec)
                r = activate(x[units + j] + (F32(acc[units + j]) + recurrent_bias[units + j]), rec)
                if reset_after:
                    rh[j] = r * (F32(acc[2 * units + j]) + recurrent_bias[2 * units + j])
                else:
                    rh[j] = r * h[b, j]
            if not reset_after:
                recurrent_product(rh, kernel, 2 * units, units, acc)
                for j in range(units):
                    rh[j] = F32(acc[j])
            for j in range(units):
                hh = activate(rh[j] + x[2 * units + j], act)
                new_h[j] = z[j] * h[b, j] + (F32(1) - z[j]) * hh
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
                new_h[j] = activate(F32(acc[j]) + projected[t, b, j], act)
            emit(t, b, new_h, h, keep, held, seq, last)
