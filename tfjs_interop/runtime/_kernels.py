"""The compiled kernels (numba, cached on disk). Imported only by ``compiled`` when numba is installed.

Two kinds, both releasing the GIL (threads split a batch by handing each kernel its own rows):

- the whole time loop of a small batch (``lstm``, ``gru``, ``simple_rnn``): the input projections of a block of
  steps by ``_gemm.matmul``, then each sample's recurrent product by ``_gemm.row_product`` (a one-row tile) and its
  gates in one branch-free loop over its units;
- one step's gates of a large batch (``*_gates``, over rows ``b0:b1``), after the step's recurrent product: one pass
  over the gate array instead of NumPy's ~15. Where ``_gemm.FAST`` holds, ``*_steps`` run the whole loop of a
  large batch, the projections of a block of steps and each step's product by ``_gemm.matmul``; elsewhere NumPy's
  BLAS makes them, one call per step.

Each sample's step (its gates, its commit) and the activations are ``_cell_steps``', which the loops inline.

Values are float32 and the formulas are the NumPy loop's. Each sample's row is updated in place; a masked sample
keeps its states and emits the held output (``held``: 0 zeros, 1 the previous state's first part, 2 the previous
output). ``keep`` is the (time, batch) step mask, or an empty array when there is none; ``seq`` the (time, batch,
units) outputs, or empty when only the last is wanted.

No fast-math flag, not even FMA contraction: LLVM runs a vector loop where the arrays cannot overlap and a scalar
loop where they might, and with contraction allowed the two fused ``f·c + i·g`` differently, so the bits depended
on where the heap put the arrays (``tests/unit/test_kernel_determinism.py``). Each operation rounds once; the fused
multiply-adds of tanh's polynomials are explicit instructions (``_cell_steps.muladd``), the same in both loops.
"""

import sys

import numpy as np
from numba import njit

from ._cell_steps import (  # noqa: F401 (scripts/activation_ulps.py takes tanh and OPTIONS from here)
    F32,
    OPTIONS,
    activate,
    emit,
    gru_sample_gates,
    gru_sample_new_h,
    gru_sample_reset_after,
    lstm_sample,
    sigmoid,
    tanh,
)

# compiled reaches the GEMM (FAST, matmul, pack, pack_bias) through this module
from ._gemm import FAST, PANEL, ROW_PANELS, check_row, matmul, pack, pack_bias, row_product  # noqa: F401
from ._kernel_cache import stamp_with_sources
from ._sync import meet

PROJECTION_FLOATS = 1 << 18  # x·W + b is made for blocks of steps of at most this many floats (1 MB), which are
# still in L2 when their steps read them (one 50-step block of a 256-sample LSTM was 52 MB, written to memory,
# read back, and page-faulted into a fresh allocation by every call: 17 % of the whole loop)


@njit(**OPTIONS)
def projection_blocks(x, width):
    """For a loop over time-major ``x``: the flat (time·batch, features) rows, the steps per block, and a buffer
    for one block's x·W + b (``projected_step``)."""
    steps, batch = x.shape[0], x.shape[1]
    block = max(1, min(steps, PROJECTION_FLOATS // max(1, batch * width)))
    return x.reshape(steps * batch, x.shape[2]), block, np.empty((block * batch, width), F32)


@njit(inline="always", **OPTIONS)
def projected_step(t, flat, packed_w, bias, projections, block, batch):
    """Step t's x·W + b, (batch, width) rows of ``projections``, which the block's first step makes for the block."""
    i = t % block
    if i == 0:
        stop = min(flat.shape[0], (t + block) * batch)
        matmul(flat[t * batch:stop], packed_w, bias, projections[:stop - t * batch])
    return projections[i * batch:(i + 1) * batch]


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
        projected = projected_step(t, flat, packed_w, bias, projections, block, batch)
        for b in range(batch):
            row_product(h[b], packed_u, zeros, z, scratch, (t * batch + b) % 2 == 1)
            lstm_sample(z, projected[b], c[b], h[b], last[b], keep.shape[0] == 0 or keep[t, b], held, act, rec)
            if seq.shape[0] > 0:
                seq[t, b] = last[b]


@njit(**OPTIONS)
def lstm_pair(xf, xb, pw_f, bias_f, pu_f, pw_b, bias_b, pu_b, zeros, sf, sb, act, rec, seq_f, seq_b):
    """A Bidirectional's two LSTMs over a small batch from zero states, no mask: ``lstm``'s loop for each (the same
    bits), their steps taken in turn in one call. ``xf`` and ``xb`` are each direction's time-major inputs (the
    backward one's reversed), ``sf`` and ``sb`` their h, c and last output (3, batch, units), ``seq_f`` and
    ``seq_b`` their time-major outputs."""
    steps, batch, width = xf.shape[0], xf.shape[1], 4 * sf.shape[2]
    flat_f, block, proj_f = projection_blocks(xf, width)
    flat_b, _, proj_b = projection_blocks(xb, width)
    zf, zb, scratch = np.empty(width, F32), np.empty(width, F32), np.empty(PANEL * ROW_PANELS, F32)
    if batch:  # every sample's operands have the same shapes
        check_row(sf[0, 0], pu_f, zeros, zf, scratch)
        check_row(sb[0, 0], pu_b, zeros, zb, scratch)
    for t in range(steps):
        pf = projected_step(t, flat_f, pw_f, bias_f, proj_f, block, batch)
        pb = projected_step(t, flat_b, pw_b, bias_b, proj_b, block, batch)
        for b in range(batch):
            backwards = (t * batch + b) % 2 == 1
            row_product(sf[0, b], pu_f, zeros, zf, scratch, backwards)
            row_product(sb[0, b], pu_b, zeros, zb, scratch, backwards)
            lstm_sample(zf, pf[b], sf[1, b], sf[0, b], sf[2, b], True, 0, act, rec)
            lstm_sample(zb, pb[b], sb[1, b], sb[0, b], sb[2, b], True, 0, act, rec)
            if seq_f.shape[0] > 0:
                seq_f[t, b] = sf[2, b]
                seq_b[t, b] = sb[2, b]


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
        projected = projected_step(t, flat, packed_w, bias, projections, block, 1)
        row_product(hs[t % 2], packed_u, zeros, z, scratch, t % 2 == 1)
        lstm_sample(z, projected[0], c, hs[(t + 1) % 2, u0:u1], last[0, u0:u1], True, 0, act, rec)
        if seq.shape[0] > 0:
            seq[t, 0, u0:u1] = last[0, u0:u1]
        if not meet(sync, parts * (t + 1)):
            return False
    return True


@njit(**OPTIONS)
def lstm_gates(t, z, projected, h, c, keep, held, act, rec, seq, last, b0, b1):
    """Step t of a large batch, from z = h·U (batch, 4u) made by BLAS or ``_gemm`` (read only) and the step's
    x·W + b (``projected``, likewise): each sample's gates in one loop over its units (``lstm_sample``), at 8 to
    1024 units as fast as a loop per gate or faster. The other ``*_gates`` take their arguments alike."""
    for b in range(b0, b1):
        lstm_sample(z[b], projected[b], c[b], h[b], last[b], keep.shape[0] == 0 or keep[t, b], held, act, rec)
        if seq.shape[0] > 0:
            seq[t, b] = last[b]


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
        step = projected_step(t, flat, packed_w, bias, projections, block, batch)
        for b in range(batch):
            projected = step[b]
            kept = keep.shape[0] == 0 or keep[t, b]
            if reset_after:
                row_product(h[b], packed_u, zeros, inner, scratch, (t * batch + b) % 2 == 1)
                gru_sample_reset_after(projected, inner, recurrent_bias, h[b], last[b], kept, held, act, rec)
            else:
                row_product(h[b], packed_u, zeros, inner[:2 * units], scratch, (t * batch + b) % 2 == 1)
                gru_sample_gates(projected, inner, h[b], rh, rec)
                row_product(rh, packed_h, zeros, hh, scratch, (t * batch + b) % 2 == 1)
                gru_sample_new_h(projected, inner, hh, h[b], last[b], kept, held, act)
            if seq.shape[0] > 0:
                seq[t, b] = last[b]


@njit(**OPTIONS)
def gru_gates_reset_after(t, inner, projected, recurrent_bias, h, keep, held, act, rec, seq, last, b0, b1):
    """Step t of a large reset_after batch, from inner = h·U (batch, 3u): each sample as the whole loop's."""
    for b in range(b0, b1):
        gru_sample_reset_after(projected[b], inner[b], recurrent_bias, h[b], last[b], keep.shape[0] == 0 or keep[t, b],
                               held, act, rec)
        if seq.shape[0] > 0:
            seq[t, b] = last[b]


@njit(**OPTIONS)
def gru_gates_before(t, zr, projected, h, rh, rec, b0, b1):
    """Step t of a large batch without reset_after, first half: zr = rec(x + h·U_zr) in place (h·U_zr made by BLAS
    or ``_gemm``), rh = r·h for the second product."""
    for b in range(b0, b1):
        gru_sample_gates(projected[b], zr[b], h[b], rh[b], rec)


@njit(**OPTIONS)
def gru_gates_after(t, zr, hh, projected, h, keep, held, act, seq, last, b0, b1):
    """Second half: from hh = (r·h)·U_h (made by BLAS or ``_gemm``), the new h."""
    for b in range(b0, b1):
        gru_sample_new_h(projected[b], zr[b], hh[b], h[b], last[b], keep.shape[0] == 0 or keep[t, b], held, act)
        if seq.shape[0] > 0:
            seq[t, b] = last[b]


@njit(**OPTIONS)
def simple_rnn(x, packed_w, bias, packed_u, zeros, h, keep, held, act, seq, last):
    """The whole loop of a small batch over time-major ``x``, as ``lstm``'s."""
    steps, batch, units = x.shape[0], x.shape[1], h.shape[1]
    flat, block, projections = projection_blocks(x, units)
    new_h, scratch = np.empty(units, F32), np.empty(PANEL * ROW_PANELS, F32)
    if batch:
        check_row(h[0], packed_u, zeros, new_h, scratch)  # every sample's operands have the same shapes
    for t in range(steps):
        step = projected_step(t, flat, packed_w, bias, projections, block, batch)
        for b in range(batch):
            projected = step[b]
            row_product(h[b], packed_u, zeros, new_h, scratch, (t * batch + b) % 2 == 1)
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
            zb[j] += projected[b, j]
        activate(zb, act)
        emit(t, b, zb, h, keep, held, seq, last)


@njit(**OPTIONS)
def lstm_steps(x, packed_w, bias, packed_u, zeros, h, c, keep, held, act, rec, seq, last, z):
    """The whole loop of a large batch over time-major ``x``: x·W + b for a block of steps (``projected_step``),
    each step's z = h·U by ``matmul``, then ``lstm_gates``; W, U and b packed."""
    batch = h.shape[0]
    flat, block, projections = projection_blocks(x, z.shape[1])
    for t in range(x.shape[0]):
        projected = projected_step(t, flat, packed_w, bias, projections, block, batch)
        matmul(h, packed_u, zeros, z)
        lstm_gates(t, z, projected, h, c, keep, held, act, rec, seq, last, 0, batch)


@njit(**OPTIONS)
def gru_steps_reset_after(x, packed_w, bias, packed_u, zeros, recurrent_bias, h, keep, held, act, rec, seq, last,
                          inner):
    batch = h.shape[0]
    flat, block, projections = projection_blocks(x, inner.shape[1])
    for t in range(x.shape[0]):
        projected = projected_step(t, flat, packed_w, bias, projections, block, batch)
        matmul(h, packed_u, zeros, inner)
        gru_gates_reset_after(t, inner, projected, recurrent_bias, h, keep, held, act, rec, seq, last, 0, batch)


@njit(**OPTIONS)
def gru_steps_before(x, packed_w, bias, packed_zr, packed_h, zeros, h, keep, held, act, rec, seq, last, zr, rh, hh):
    batch = h.shape[0]
    flat, block, projections = projection_blocks(x, 3 * h.shape[1])
    for t in range(x.shape[0]):
        projected = projected_step(t, flat, packed_w, bias, projections, block, batch)
        matmul(h, packed_zr, zeros, zr)
        gru_gates_before(t, zr, projected, h, rh, rec, 0, batch)
        matmul(rh, packed_h, zeros, hh)
        gru_gates_after(t, zr, hh, projected, h, keep, held, act, seq, last, 0, batch)


@njit(**OPTIONS)
def simple_rnn_steps(x, packed_w, bias, packed_u, zeros, h, keep, held, act, seq, last, z):
    batch = h.shape[0]
    flat, block, projections = projection_blocks(x, z.shape[1])
    for t in range(x.shape[0]):
        projected = projected_step(t, flat, packed_w, bias, projections, block, batch)
        matmul(h, packed_u, zeros, z)
        simple_rnn_gates(t, z, projected, h, keep, held, act, seq, last, 0, batch)


stamp_with_sources(sys.modules[__name__])  # before any kernel loads from the cache (``_kernel_cache``)
