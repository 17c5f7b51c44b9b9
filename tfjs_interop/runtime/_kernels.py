"""The compiled kernels (numba, cached on disk). Imported only by ``compiled`` when numba is installed.

Two kinds, both releasing the GIL (threads split a batch by handing each kernel its own rows):

- the whole time loop of a small batch (``lstm``, ``gru``, ``simple_rnn``): the input projections of a block of
  steps by ``_gemm.matmul``, then each sample's recurrent product by ``_gemm.row_product`` (a one-row tile) and its
  gates in one branch-free loop over its units;
- one step's gates of a large batch (``*_gates``, over rows ``b0:b1``), after the step's recurrent product: one pass
  over the gate array instead of NumPy's ~15. Where ``_gemm.FAST`` holds, ``*_steps`` run the whole loop of a
  large batch, each step's product by ``_gemm.matmul``; elsewhere NumPy's BLAS makes it, one call per step.

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

# compiled reaches the GEMM (FAST, matmul, pack, pack_bias) through this module
from ._gemm import FAST, PANEL, ROW_PANELS, check_row, matmul, pack, pack_bias, row_product  # noqa: F401
from ._sync import meet

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


PROJECTION_FLOATS = 1 << 21  # the whole loop projects blocks of steps of at most this many floats (8 MB)


@njit(**OPTIONS)
def projection_blocks(x, width):
    """For the whole loop over time-major ``x``: the flat (time·batch, features) rows, the steps per block, and a
    buffer for one block's x·W + b."""
    steps, batch = x.shape[0], x.shape[1]
    block = max(1, min(steps, PROJECTION_FLOATS // max(1, batch * width)))
    return x.reshape(steps * batch, x.shape[2]), block, np.empty((block * batch, width), F32)


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
def lstm(x, packed_w, bias, packed_u, zeros, h, c, keep, held, act, rec, seq, last):
    """The whole loop of a small batch over time-major ``x``: x·W + b for a block of steps by ``matmul``, then
    each sample's h·U by ``row_product`` and its gates (``lstm_sample``); W, U and b packed."""
    steps, batch, width = x.shape[0], x.shape[1], 4 * h.shape[1]
    flat, block, projections = projection_blocks(x, width)
    z, scratch = np.empty(width, F32), np.empty(PANEL * ROW_PANELS, F32)
    if batch:
        check_row(h[0], packed_u, zeros, z, scratch)  # every sample's operands have the same shapes
    for t in range(steps):
        if t % block == 0:
            stop = min(steps, t + block)
            matmul(flat[t * batch:stop * batch], packed_w, bias, projections[:(stop - t) * batch])
        for b in range(batch):
            row_product(h[b], packed_u, zeros, z, scratch)
            lstm_sample(z, projections[(t % block) * batch + b], c[b], h[b], last[b], keep.shape[0] == 0 or keep[t, b],
                        held, act, rec)
            if seq.shape[0] > 0:
                seq[t, b] = last[b]


@njit(**OPTIONS)
def lstm_part(x, packed_w, bias, packed_u, zeros, hs, c, act, rec, seq, last, sync, u0, parts):
    """One of ``parts`` threads' share of one sample's whole loop from ``hs[0]``, no mask: units u0:u0 + len(c) of
    every gate, W, U and b packed for those columns (so ``lstm``'s bits). ``hs`` holds this step's h and the next,
    in turn; after each step the parts meet at the counter at ``sync``. False if the others did not come."""
    steps, u1, width = x.shape[0], u0 + c.shape[0], 4 * c.shape[0]
    flat, block, projections = projection_blocks(x, width)
    z, scratch = np.empty(width, F32), np.empty(PANEL * ROW_PANELS, F32)
    check_row(hs[0], packed_u, zeros, z, scratch)
    for t in range(steps):
        if t % block == 0:
            stop = min(steps, t + block)
            matmul(flat[t:stop], packed_w, bias, projections[:stop - t])
        row_product(hs[t % 2], packed_u, zeros, z, scratch)
        lstm_sample(z, projections[t % block], c, hs[(t + 1) % 2, u0:u1], last[0, u0:u1], True, 0, act, rec)
        if seq.shape[0] > 0:
            seq[t, 0, u0:u1] = last[0, u0:u1]
        if not meet(sync, parts * (t + 1)):
            return False
    return True


@njit(**OPTIONS)
def lstm_gates(t, z, projected, h, c, keep, held, act, rec, seq, last, b0, b1):
    """Step t of a large batch, from z = h·U (batch, 4u) made by BLAS or ``_gemm`` (read only): each sample's gates
    in one loop over its units (``lstm_sample``), at 8 to 1024 units as fast as a loop per gate or faster."""
    for b in range(b0, b1):
        lstm_sample(z[b], projected[t, b], c[b], h[b], last[b], keep.shape[0] == 0 or keep[t, b], held, act, rec)
        if seq.shape[0] > 0:
            seq[t, b] = last[b]


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
def gru(x, packed_w, bias, packed_u, packed_h, zeros, recurrent_bias, reset_after, h, keep, held, act, rec, seq,
        last):
    """The whole loop of a small batch over time-major ``x``, as ``lstm``'s: ``packed_u`` is U
    (reset_after) or its z and r columns, ``packed_h`` then U's h columns."""
    steps, batch, units = x.shape[0], x.shape[1], h.shape[1]
    flat, block, projections = projection_blocks(x, 3 * units)
    inner, rh, hh = np.empty(3 * units, F32), np.empty(units, F32), np.empty(units, F32)
    scratch = np.empty(PANEL * ROW_PANELS, F32)
    if batch:  # every sample's operands have the same shapes
        check_row(h[0], packed_u, zeros, inner if reset_after else inner[:2 * units], scratch)
        if not reset_after:
            check_row(rh, packed_h, zeros, hh, scratch)
    for t in range(steps):
        if t % block == 0:
            stop = min(steps, t + block)
            matmul(flat[t * batch:stop * batch], packed_w, bias, projections[:(stop - t) * batch])
        for b in range(batch):
            projected = projections[(t % block) * batch + b]
            kept = keep.shape[0] == 0 or keep[t, b]
            if reset_after:
                row_product(h[b], packed_u, zeros, inner, scratch)
                gru_sample_reset_after(projected, inner, recurrent_bias, h[b], last[b], kept, held, act, rec)
            else:
                row_product(h[b], packed_u, zeros, inner[:2 * units], scratch)
                gru_sample_gates(projected, inner, h[b], rh, rec)
                row_product(rh, packed_h, zeros, hh, scratch)
                gru_sample_new_h(projected, inner, hh, h[b], last[b], kept, held, act)
            if seq.shape[0] > 0:
                seq[t, b] = last[b]


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


@njit(**OPTIONS)
def gru_gates_reset_after(t, inner, projected, recurrent_bias, h, keep, held, act, rec, seq, last, b0, b1):
    """Step t of a large reset_after batch, from inner = h·U (batch, 3u) made by BLAS or ``_gemm``."""
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
    """Step t of a large batch without reset_after, first half: zr = rec(x + h·U_zr) in place (h·U_zr made by BLAS
    or ``_gemm``), rh = r·h for the second product."""
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
    """Second half: hh = (r·h)·U_h (made by BLAS or ``_gemm``, overwritten), the new h."""
    units = h.shape[1]
    new_h = np.empty(units, F32)
    for b in range(b0, b1):
        gru_new_h(projected[t, b], zr[b], h[b], hh[b], new_h, act)
        emit(t, b, new_h, h, keep, held, seq, last)


@njit(**OPTIONS)
def simple_rnn(x, packed_w, bias, packed_u, zeros, h, keep, held, act, seq, last):
    """The whole loop of a small batch over time-major ``x``, as ``lstm``'s."""
    steps, batch, units = x.shape[0], x.shape[1], h.shape[1]
    flat, block, projections = projection_blocks(x, units)
    new_h, scratch = np.empty(units, F32), np.empty(PANEL * ROW_PANELS, F32)
    if batch:
        check_row(h[0], packed_u, zeros, new_h, scratch)  # every sample's operands have the same shapes
    for t in range(steps):
        if t % block == 0:
            stop = min(steps, t + block)
            matmul(flat[t * batch:stop * batch], packed_w, bias, projections[:(stop - t) * batch])
        for b in range(batch):
            projected = projections[(t % block) * batch + b]
            row_product(h[b], packed_u, zeros, new_h, scratch)
            for j in range(units):
                new_h[j] += projected[j]
            activate(new_h, act)
            emit(t, b, new_h, h, keep, held, seq, last)


@njit(**OPTIONS)
def simple_rnn_gates(t, z, projected, h, keep, held, act, seq, last, b0, b1):
    """Step t of a large batch, from z = h·U made by BLAS or ``_gemm``."""
    units = h.shape[1]
    for b in range(b0, b1):
        zb = z[b]
        for j in range(units):
            zb[j] += projected[t, b, j]
        activate(zb, act)
        emit(t, b, zb, h, keep, held, seq, last)


@njit(**OPTIONS)
def lstm_steps(projected, packed, zeros, h, c, keep, held, act, rec, seq, last, z):
    """The whole loop of a large batch: each step's z = h·U by ``matmul`` (U packed), then ``lstm_gates``."""
    batch = h.shape[0]
    for t in range(projected.shape[0]):
        matmul(h, packed, zeros, z)
        lstm_gates(t, z, projected, h, c, keep, held, act, rec, seq, last, 0, batch)


@njit(**OPTIONS)
def gru_steps_reset_after(projected, packed, zeros, recurrent_bias, h, keep, held, act, rec, seq, last, inner):
    batch = h.shape[0]
    for t in range(projected.shape[0]):
        matmul(h, packed, zeros, inner)
        gru_gates_reset_after(t, inner, projected, recurrent_bias, h, keep, held, act, rec, seq, last, 0, batch)


@njit(**OPTIONS)
def gru_steps_before(projected, packed_zr, packed_h, zeros, h, keep, held, act, rec, seq, last, zr, rh, hh):
    batch = h.shape[0]
    for t in range(projected.shape[0]):
        matmul(h, packed_zr, zeros, zr)
        gru_gates_before(t, zr, projected, h, rh, rec, 0, batch)
        matmul(rh, packed_h, zeros, hh)
        gru_gates_after(t, zr, hh, projected, h, keep, held, act, seq, last, 0, batch)


@njit(**OPTIONS)
def simple_rnn_steps(projected, packed, zeros, h, keep, held, act, seq, last, z):
    batch = h.shape[0]
    for t in range(projected.shape[0]):
        matmul(h, packed, zeros, z)
        simple_rnn_gates(t, z, projected, h, keep, held, act, seq, last, 0, batch)
