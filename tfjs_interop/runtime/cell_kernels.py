"""What the compiled kernels take of a cell, and how each kernel is called: the cell's weights packed for the
compiled GEMM once per set of weight arrays (``cell_weights``), and per cell kind the calls of the whole loop of a
small batch (``WHOLE``, bound to the weights), the large-batch loop on the compiled GEMM (``STEPS``) and on NumPy's
BLAS (``BLAS_STEPS``). ``compiled`` decides which runs; ``k`` is the kernels' module (``_kernels``), which imports
numba.

Every call takes time-major ``x`` (time, batch, features), the states (updated in place), the step mask ``keep``
(time, batch; empty: none), what a masked step outputs (``held``), the time-major outputs ``seq`` (empty steps:
only the last is wanted) and the last outputs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from . import pool
from .workspace import scratch

ACTIVATION_CODES = {"linear": 0, None: 0, "tanh": 1, "sigmoid": 2, "hard_sigmoid": 3, "hard_sigmoid_keras3": 4,
                    "relu": 5}


@dataclasses.dataclass(frozen=True)
class CellWeights:
    """What the kernels take of a cell besides the data, made once per set of its weight arrays (``cell_weights``).

    ``u`` is the recurrent kernel (contiguous, for BLAS), or its z and r columns then ``u_h`` its h columns (a GRU
    without reset_after); ``packed_*`` are the same for ``_gemm`` (``w``, the input kernel, and ``bias``, the input
    bias, only there): the whole loop of small batches uses them on every CPU, the large-batch loop where
    ``_gemm.FAST`` holds."""

    arrays: tuple  # the weight arrays these were made from
    kind: str  # the cell's compiled_kind
    codes: tuple[int, int]  # ACTIVATION_CODES of the activation and the recurrent activation
    u: np.ndarray
    u_h: np.ndarray | None
    recurrent_bias: np.ndarray | None  # GRU: its bias on the recurrent side (zeros without reset_after)
    packed_w: np.ndarray
    packed_bias: np.ndarray
    packed_u: np.ndarray
    packed_u_h: np.ndarray
    zeros: np.ndarray  # a zero bias for the recurrent products
    whole: Callable = None  # type: ignore[assignment]  # (x, states, keep, held, seq, last): the whole loop, bound (WHOLE)
    parts: dict = dataclasses.field(default_factory=dict)  # thread count -> each part's weights (part_weights)


def cell_weights(k: Any, cell: Any) -> CellWeights:
    """``cell``'s ``CellWeights``, made again only when one of its weight arrays was replaced (weights are never
    written in place: ``layers.base.assign`` stores read-only arrays)."""
    made = cell.compiled_cache.get("weights")
    bias = cell.bias
    if made is not None and made.arrays[0] is cell.kernel.value and made.arrays[1] is cell.recurrent_kernel.value \
            and made.arrays[2] is (None if bias is None else bias.value):
        return made
    made = cell.compiled_cache["weights"] = _make_cell_weights(k, cell, _weight_arrays(cell))
    return made


def _weight_arrays(cell: Any) -> tuple:
    return cell.kernel.value, cell.recurrent_kernel.value, None if cell.bias is None else cell.bias.value


def _make_cell_weights(k: Any, cell: Any, arrays: tuple) -> CellWeights:
    options, units, kind = cell.options, cell.units, cell.compiled_kind
    kernel = np.ascontiguousarray(arrays[1], dtype=np.float32)
    split = kind == "gru" and not options.reset_after  # two products per step: z and r, then h
    u, u_h = (kernel[:, :2 * units], kernel[:, 2 * units:]) if split else (kernel, None)
    u, u_h = np.ascontiguousarray(u), None if u_h is None else np.ascontiguousarray(u_h)
    recurrent_bias = _recurrent_bias(cell) if kind == "gru" else None
    codes = ACTIVATION_CODES[options.activation], ACTIVATION_CODES[options.recurrent_activation]
    width = cell.projected_width
    made = CellWeights(arrays, kind, codes, u, u_h, recurrent_bias, k.pack(np.asarray(arrays[0], np.float32)),
                        k.pack_bias(cell.input_bias, width), k.pack(u), k.pack(u_h if split else u[:, :0]),
                        k.pack_bias(None, width))
    return dataclasses.replace(made, whole=WHOLE[kind](k, made))


def part_weights(k: Any, w: CellWeights, cell: Any, parts: int) -> tuple:
    """For each of ``parts`` threads (``_run_unit_parts``): its units u0:u1, and W, b and U packed for their
    columns in every gate; made once per thread count."""
    made = w.parts.get(parts)
    if made is None:
        units, bias, kernel = cell.units, cell.input_bias, np.asarray(w.arrays[0], np.float32)
        made = []
        for i in range(parts):
            u0, u1 = units * i // parts, units * (i + 1) // parts
            columns = np.concatenate([np.arange(g * units + u0, g * units + u1) for g in range(cell.gates)])
            made.append((u0, u1, k.pack(kernel[:, columns]),
                         k.pack_bias(None if bias is None else np.asarray(bias, np.float32)[columns], columns.size),
                         k.pack(w.u[:, columns]), k.pack_bias(None, columns.size)))
        w.parts[parts] = made = tuple(made)
    return made


def _whole_lstm(k: Any, w: CellWeights) -> Callable:
    """The whole loop of a small batch with ``w`` bound: ``run(x, states, keep, held, seq, last)`` (the usual call
    at batch 1 is a few microseconds: each attribute read and argument counts)."""
    lstm, packed_w, bias, packed_u, zeros, (act, rec) = k.lstm, w.packed_w, w.packed_bias, w.packed_u, w.zeros, w.codes

    def run(x, states, keep, held, seq, last):
        lstm(x, packed_w, bias, packed_u, zeros, states[0], states[1], keep, held, act, rec, seq, last)
    return run


def _whole_gru(k: Any, w: CellWeights) -> Callable:
    gru, packed_w, bias, packed_u, packed_h, zeros, (act, rec) = (k.gru, w.packed_w, w.packed_bias, w.packed_u,
                                                                  w.packed_u_h, w.zeros, w.codes)
    recurrent_bias, reset_after = w.recurrent_bias, w.u_h is None

    def run(x, states, keep, held, seq, last):
        gru(x, packed_w, bias, packed_u, packed_h, zeros, recurrent_bias, reset_after, states[0], keep, held, act, rec,
            seq, last)
    return run


def _whole_simple_rnn(k: Any, w: CellWeights) -> Callable:
    simple_rnn, packed_w, bias, packed_u, zeros, act = k.simple_rnn, w.packed_w, w.packed_bias, w.packed_u, w.zeros, \
        w.codes[0]

    def run(x, states, keep, held, seq, last):
        simple_rnn(x, packed_w, bias, packed_u, zeros, states[0], keep, held, act, seq, last)
    return run


def _steps_lstm(k, w, x, states, keep, held, seq, last, helper=None) -> None:
    z = scratch(_share("steps.z", helper), (x.shape[1], w.u.shape[1]))
    _launch(k.lstm_steps, "post_lstm_steps", helper,
            (x, w.packed_w, w.packed_bias, w.packed_u, w.zeros, *states, keep, held, *w.codes, seq, last, z))


def _steps_gru(k, w, x, states, keep, held, seq, last, helper=None) -> None:
    batch, units = x.shape[1], states[0].shape[1]
    if w.u_h is None:  # reset_after
        inner = scratch(_share("steps.z", helper), (batch, 3 * units))
        _launch(k.gru_steps_reset_after, "post_gru_steps_reset_after", helper,
                (x, w.packed_w, w.packed_bias, w.packed_u, w.zeros, w.recurrent_bias, states[0], keep, held, *w.codes,
                 seq, last, inner))
        return
    zr, rh, hh = (scratch(_share(key, helper), (batch, n * units))
                  for key, n in (("steps.zr", 2), ("steps.rh", 1), ("steps.hh", 1)))
    _launch(k.gru_steps_before, "post_gru_steps_before", helper,
            (x, w.packed_w, w.packed_bias, w.packed_u, w.packed_u_h, w.zeros, states[0], keep, held, *w.codes, seq,
             last, zr, rh, hh))


def _steps_simple_rnn(k, w, x, states, keep, held, seq, last, helper=None) -> None:
    z = scratch(_share("steps.z", helper), (x.shape[1], w.u.shape[1]))
    _launch(k.simple_rnn_steps, "post_simple_rnn_steps", helper,
            (x, w.packed_w, w.packed_bias, w.packed_u, w.zeros, states[0], keep, held, w.codes[0], seq, last, z))


def _share(key: str, helper: Any) -> str:
    """A scratch array's key for the caller's share, or for a helper's (the caller's thread holds both)."""
    return key if helper is None else f"{key}.{helper.index}"


def _launch(kernel: Callable, poster: str, helper: Any, args: tuple) -> None:
    """``kernel(*args)`` on this thread, or handed to ``helper`` (``pool``) by the ``_helpers`` function
    ``poster``."""
    if helper is None:
        kernel(*args)
    else:
        helper.post(getattr(pool.compiled(), poster), args)


def _blas_lstm(k, w, projected, states, keep, held, seq, last) -> None:
    (h, c), batch = states, projected.shape[1]
    z = scratch("steps.z", (batch, w.u.shape[1]))
    for t in range(projected.shape[0]):
        np.matmul(h, w.u, out=z)
        k.lstm_gates(t, z, projected[t], h, c, keep, held, *w.codes, seq, last, 0, batch)


def _blas_gru(k, w, projected, states, keep, held, seq, last) -> None:
    h, batch, units = states[0], projected.shape[1], states[0].shape[1]
    if w.u_h is None:  # reset_after
        inner = scratch("steps.z", (batch, 3 * units))
        for t in range(projected.shape[0]):
            np.matmul(h, w.u, out=inner)
            k.gru_gates_reset_after(t, inner, projected[t], w.recurrent_bias, h, keep, held, *w.codes, seq, last, 0,
                                    batch)
        return
    zr, rh, hh = (scratch(key, (batch, n * units)) for key, n in (("steps.zr", 2), ("steps.rh", 1), ("steps.hh", 1)))
    for t in range(projected.shape[0]):
        np.matmul(h, w.u, out=zr)
        k.gru_gates_before(t, zr, projected[t], h, rh, w.codes[1], 0, batch)
        np.matmul(rh, w.u_h, out=hh)
        k.gru_gates_after(t, zr, hh, projected[t], h, keep, held, w.codes[0], seq, last, 0, batch)


def _blas_simple_rnn(k, w, projected, states, keep, held, seq, last) -> None:
    h, batch = states[0], projected.shape[1]
    z = scratch("steps.z", (batch, w.u.shape[1]))
    for t in range(projected.shape[0]):
        np.matmul(h, w.u, out=z)
        k.simple_rnn_gates(t, z, projected[t], h, keep, held, w.codes[0], seq, last, 0, batch)


WHOLE = {"lstm": _whole_lstm, "gru": _whole_gru, "simple_rnn": _whole_simple_rnn}  # small batches
STEPS = {"lstm": _steps_lstm, "gru": _steps_gru, "simple_rnn": _steps_simple_rnn}  # large, products by _gemm
BLAS_STEPS = {"lstm": _blas_lstm, "gru": _blas_gru, "simple_rnn": _blas_simple_rnn}  # large, by BLAS


def _recurrent_bias(cell: Any) -> np.ndarray:
    """GRU's bias on the recurrent side (reset_after), else zeros."""
    if getattr(cell.options, "reset_after", False) and cell.bias is not None:
        return np.ascontiguousarray(cell.bias.value[1], dtype=np.float32)
    return np.zeros(3 * cell.units, np.float32)
