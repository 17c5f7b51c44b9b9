"""The optional compiled time loop: numba runs the steps of a small batch without going back to Python.

At a small batch the NumPy loop spends its time in the ~15 NumPy calls each step makes, not in arithmetic; the
kernels of ``_kernels`` run the whole loop in machine code (compiled once and cached on disk by numba). They are
used when numba is installed (the ``fast`` extra), the cell is a single LSTM, GRU or SimpleRNN cell with
activations they know, any mask is the usual one per sample and step, and ``batch * units²`` (the work of a
step's recurrent product) is at most ``MAX_STEP_WORK``: beyond that the NumPy loop's BLAS products are faster
(measured on 2 cores: batch 1 up to 256 units, batch 16 up to 64). Anything else runs the NumPy loop.

(Fusing each step's element-wise work in numba after NumPy's BLAS product, for large batches, was tried and measured
no faster than the NumPy loop: NumPy's vectorised tanh is hard to beat there.)

``TFJS_INTEROP_COMPILED=0`` in the environment, or ``set_compiled(False)``, forces the NumPy loop.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from functools import cache, partial
from typing import Any

import numpy as np

ENV_SWITCH = "TFJS_INTEROP_COMPILED"
MAX_STEP_WORK = 1 << 16
ACTIVATION_CODES = {"linear": 0, None: 0, "tanh": 1, "sigmoid": 2, "hard_sigmoid": 3, "hard_sigmoid_keras3": 4,
                    "relu": 5}
HELD_OUTPUT = {"zeros": 0, "state": 1, "previous": 2}

_forced: bool | None = None


def set_compiled(enabled: bool | None) -> None:
    """Use the compiled loop when possible (True), never (False), or decide from the environment (None)."""
    global _forced
    _forced = enabled


@cache
def compiled_available() -> bool:
    """True when numba is installed (nothing is imported to find out)."""
    return importlib.util.find_spec("numba") is not None


def compiled_enabled() -> bool:
    """Whether RNNs may use the compiled loop: ``set_compiled``, else ``TFJS_INTEROP_COMPILED``, else installed."""
    if _forced is not None:
        return _forced and compiled_available()
    if os.environ.get(ENV_SWITCH, "").strip().lower() in ("0", "false", "no", "off"):
        return False
    return compiled_available()


@cache
def _kernels() -> Any:
    from . import _kernels as kernels  # imports numba: only when a compiled loop first runs

    return kernels


def compiled_loop(cell: Any, batch: int, step_masks: np.ndarray | None, held: str) -> Callable | None:
    """The compiled loop for ``cell`` (with RNN ``_loop``'s signature), or None where the NumPy loop must run.

    Args:
        cell: the RNN's cell.
        batch: the batch size.
        step_masks: the (time, batch, 1) step masks, or None.
        held: what a masked step outputs, a key of ``HELD_OUTPUT``.
    """
    kind = getattr(cell, "compiled_kind", None)
    if kind is None or batch * cell.units**2 > MAX_STEP_WORK or not compiled_enabled():
        return None
    options = cell.options
    if options.activation not in ACTIVATION_CODES or options.recurrent_activation not in ACTIVATION_CODES:
        return None
    if step_masks is not None and (step_masks.ndim != 3 or step_masks.shape[1:] != (batch, 1)):
        return None  # an odd mask from TF.js's executor: the NumPy loop reads it by rnn()'s rule
    return partial(_run, cell, kind, HELD_OUTPUT[held])


def _run(cell: Any, kind: str, held: int, x: np.ndarray, step_masks: np.ndarray | None, states: list[np.ndarray],
         sequence: bool) -> tuple[np.ndarray | None, np.ndarray, list[np.ndarray]]:
    steps, batch, units = x.shape[0], x.shape[1], cell.units
    projected = np.ascontiguousarray(cell.project(x), dtype=np.float32)  # (time, batch, gates * units)
    kernel = np.ascontiguousarray(cell.recurrent_kernel.value, dtype=np.float32)
    keep = np.zeros((0, 0), bool) if step_masks is None else np.ascontiguousarray(step_masks[:steps, :, 0])
    seq = np.empty((steps if sequence else 0, batch, units), np.float32)
    last = np.zeros((batch, units), np.float32)
    act = ACTIVATION_CODES[cell.options.activation]
    rec = ACTIVATION_CODES[cell.options.recurrent_activation]
    kernels = _kernels()
    if kind == "lstm":
        kernels.lstm(projected, kernel, states[0], states[1], keep, held, act, rec, seq, last)
    elif kind == "gru":
        kernels.gru(projected, kernel, _recurrent_bias(cell), cell.options.reset_after, states[0], keep, held, act,
                    rec, seq, last)
    else:
        kernels.simple_rnn(projected, kernel, states[0], keep, held, act, seq, last)
    return (seq if sequence else None), last, states


def _recurrent_bias(cell: Any) -> np.ndarray:
    """GRU's bias on the recurrent side (reset_after), else zeros."""
    if cell.options.reset_after and cell.bias is not None:
        return np.ascontiguousarray(cell.bias.value[1], dtype=np.float32)
    return np.zeros(3 * cell.units, np.float32)
