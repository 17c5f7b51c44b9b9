"""The optional compiled time loop (numba): the steps of an RNN without going back to Python for each.

Two paths, both with the NumPy loop's float32 numbers (see ``_kernels``):

- small batches (``WHOLE_LOOP_BATCH``, ``WHOLE_LOOP_WORK``): numba runs the whole time loop, the products by the
  compiled GEMM (``_gemm``: one-row tiles); at these sizes the NumPy loop spends its time in the ~15 NumPy calls
  each step makes. ``zero_state_run`` is its entry for the usual call (zero states, no mask), without the
  general set-up, and ``zero_state_pair`` a Bidirectional LSTM's (both directions in one call);
- larger batches: each step's recurrent product by the compiled GEMM where the CPU has AVX-512 or AVX2 with FMA
  (``_gemm.FAST``: the whole loop in numba), else by NumPy's BLAS, one call per step; then one compiled pass over
  the gate array does the rest of the step (instead of NumPy's ~15 passes).

They are used for a single LSTM, GRU or SimpleRNN cell with activations they know and the usual mask (one per
sample and step). Anything else runs the NumPy loop.

Start-up: importing numba and loading its cached kernels costs ~0.3–0.5 s and ~50 MB, more than a one-shot run of a
small model takes in all. So by default a call runs compiled only when it alone saves more than that
(``_saving_s`` ≥ ``LOAD_COST_S``): the choice depends on the call's size and the process's settings, never on
what the process ran before, so a call gives the same bits in every process (a Dask worker, a pickled copy, a
fresh CLI run) however long it has lived. ``warm_up()`` (a server, at start), ``set_compiled(True)`` or
``TFJS_INTEROP_COMPILED=1`` use the kernels for every call they apply to; ``TFJS_INTEROP_COMPILED=0`` or
``set_compiled(False)`` never.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable
from functools import cache, partial
from typing import Any

import numpy as np

from ..errors import LimitError
from . import pool, threads
from .cell_kernels import ACTIVATION_CODES, BLAS_STEPS, STEPS, CellWeights, cell_weights, part_weights
from .workspace import MIN_BYTES

ENV_SWITCH = "TFJS_INTEROP_COMPILED"
WHOLE_LOOP_BATCH = 4  # batches up to which numba runs the whole loop; beyond, BLAS makes the products
WHOLE_LOOP_WORK = 1 << 18  # ... and batch · units² up to which (a bigger recurrent kernel is BLAS's business)
LOAD_COST_S = 0.4  # importing numba and loading the cached kernels (measured: 0.3–0.5 s on 2 shared cores)
STEP_OVERHEAD_S = 15e-6  # what the NumPy loop spends per step in Python and NumPy calls, beyond arithmetic
ELEMENT_S = 2e-9  # what its gate passes spend per element of a step's gate array, beyond one fused pass
MIN_ROWS_PER_THREAD = 8  # a batch is split over threads in slices of at least this many samples
MIN_SLICE_WORK = 1 << 22  # ... and recurrent multiply-adds (~0.1-0.2 ms): less does not pay for starting a thread
MIN_HELPER_SLICE_WORK = 1 << 18  # ... or for handing the slice to a helper (``pool``: a few µs)
MIN_PART_STEP_WORK = 1 << 15  # one sample's units are shared by threads in parts of at least this many recurrent
# multiply-adds per step (a 128-unit LSTM's halves: ~1 µs, against well under 1 µs for the threads to meet)
HELD_OUTPUT = {"zeros": 0, "state": 1, "previous": 2}

_SWITCH_VALUES = {"0": False, "false": False, "no": False, "off": False, "1": True, "true": True, "yes": True,
                  "on": True}  # TFJS_INTEROP_COMPILED's spellings; anything else: the start-up rule
_NO_MASK = np.zeros((0, 0), bool)  # the kernels' "no step mask" (never written)
_UNDECIDED = object()
DECISIONS_KEPT = 256  # zero_state_run's decisions kept per cell
_forced: bool | None = None
_environment: bool | None = None  # TFJS_INTEROP_COMPILED as read at import or by set_compiled(None)
_load_lock = threading.Lock()
_warmed = False  # warm_up() was called: every call uses the kernels (until set_compiled)


def set_compiled(enabled: bool | None) -> None:
    """Use the compiled loop wherever it applies, loading numba now (True), never (False), or as the environment
    and the start-up rule decide (None)."""
    global _forced, _warmed
    _forced, _warmed = enabled, False
    if enabled is None:
        _read_environment()
    if enabled and compiled_available():
        _kernels()


def warm_up() -> bool:
    """Load numba's kernels now and use them for every call from now on (e.g. when a server starts), unless
    disabled; True when they are loaded."""
    global _warmed
    if not compiled_enabled():
        return False
    _kernels()
    _warmed = True
    return True


@cache
def compiled_available() -> bool:
    """True when numba is installed (nothing is imported to find out)."""
    return importlib.util.find_spec("numba") is not None


def _read_environment() -> None:
    """Read ``TFJS_INTEROP_COMPILED`` (at import, and by ``set_compiled(None)``; not per call)."""
    global _environment
    _environment = _SWITCH_VALUES.get(os.environ.get(ENV_SWITCH, "").strip().lower())


def _switch() -> bool | None:
    return _forced if _forced is not None else _environment


def compiled_enabled() -> bool:
    """Whether RNNs may use the compiled loop: ``set_compiled``, else ``TFJS_INTEROP_COMPILED``, else installed."""
    return _switch() is not False and compiled_available()


def kernels_loaded() -> bool:
    """Whether numba's kernels are loaded in this process."""
    return _kernels.cache_info().currsize > 0


@cache
def _kernels() -> Any:
    with _load_lock:
        from . import _kernels as kernels  # imports numba

    return kernels


def _saving_s(batch: int, steps: int, width: int) -> float:
    """The time a compiled run is estimated to save over the NumPy loop."""
    return steps * (STEP_OVERHEAD_S + batch * width * ELEMENT_S)


def _worth_loading(batch: int, steps: int, width: int, switch: bool | None) -> bool:
    """The start-up rule (see the module's docstring): asked for, or this call alone pays for loading."""
    return _warmed or switch is True or _saving_s(batch, steps, width) >= LOAD_COST_S


def _min_rows_per_thread(cell: Any, steps: int, work: int | None = None) -> int:
    """The fewest samples a thread's slice of the batch may hold, for ``work`` recurrent multiply-adds at least
    (``MIN_SLICE_WORK``: a measured 2-thread run of a 32-sample, 10-step, 32-unit LSTM was 2.7x slower split in
    two over threads started per call, 0.39 against 0.145 ms, than on one thread)."""
    per_sample = max(1, steps * cell.gates * cell.units**2)
    return max(MIN_ROWS_PER_THREAD, -(-(MIN_SLICE_WORK if work is None else work) // per_sample))


def compiled_loop(cell: Any, batch: int, step_masks: np.ndarray | None, held: str,
                  steps: int = 1) -> Callable | None:
    """The compiled loop for ``cell`` (with RNN ``_loop``'s signature), or None where the NumPy loop must run.

    Args:
        cell: the RNN's cell.
        batch: the batch size.
        step_masks: the (time, batch, 1) step masks, or None.
        held: what a masked step outputs, a key of ``HELD_OUTPUT``.
        steps: the number of time steps (for the start-up rule).
    """
    if not _applies(cell, batch, steps):
        return None
    if step_masks is not None and (step_masks.ndim != 3 or step_masks.shape[1:] != (batch, 1)):
        return None  # an odd mask from TF.js's executor: the NumPy loop reads it by rnn()'s rule
    return partial(_run, cell, cell.compiled_kind, HELD_OUTPUT[held], _whole(cell, batch))


def zero_state_run(cell: Any, batch: int, steps: int) -> Callable | None:
    """The usual call's loop (zero states, no mask) for ``cell`` at this batch and number of steps, where the
    compiled loop applies and its states are small (the whole loop of a small batch; a larger batch's while its
    states hold less than ``MIN_BYTES``), else None: ``run(x, sequence, out)`` over time-major contiguous float32
    ``x``, giving what ``_run`` gives (fresh states), without the layer's general set-up: at batch 1 a server's
    call is mostly set-up (the kernel takes ~5 µs, each NumPy call ~0.2–0.6). Decided once per (batch, steps) and
    compiled-use setting (``_applies`` alone took ~1 µs)."""
    return _decided(cell, "zero_state_runs", (batch, steps), _zero_state_run, cell, batch, steps)


def _decided(holder: Any, name: str, key: tuple, decide: Callable, *args: Any) -> Any:
    """``decide(*args)``, remembered in ``holder``'s compiled cache (a cell's, or an ``RNNChain``'s) under ``name``
    for ``key`` and the compiled-use setting (at most ``DECISIONS_KEPT``: a server fed every length of sequence
    stays bounded); None for a cell without a compiled cache."""
    cache = getattr(holder, "compiled_cache", None)
    if cache is None:
        return None
    decisions = cache.setdefault(name, {})
    key = (*key, _forced, _environment, _warmed)
    run = decisions.get(key, _UNDECIDED)
    if run is _UNDECIDED:
        if len(decisions) >= DECISIONS_KEPT:
            decisions.clear()
        run = decisions[key] = decide(*args)
    return run


def _zero_state_run(cell: Any, batch: int, steps: int) -> Callable | None:
    if not _applies(cell, batch, steps):
        return None
    if _whole(cell, batch):
        return partial(_run_from_zeros, cell, (cell.state_count + 1, batch, cell.units), _may_split(cell, batch, steps))
    if cell.state_count * batch * cell.units * 4 < MIN_BYTES:  # fresh zero states cost less than the general
        # set-up's scratch ones (a 32-sample LSTM's call: ~3 µs of set-up fewer)
        return partial(_run_large_from_zeros, cell, (cell.state_count, batch, cell.units))
    return None


def _run_large_from_zeros(cell: Any, shape: tuple[int, int, int], x: np.ndarray, sequence: bool,
                          out: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray, list[np.ndarray]]:
    """``zero_state_run``'s loop beyond the whole loop's batches: ``_run`` from fresh zero states."""
    return _run(cell, cell.compiled_kind, 0, False, x, None, list(np.zeros(shape, np.float32)), sequence, out)


def _whole_on_one_thread(cells: tuple, batch: int, steps: int) -> bool:
    """Whether each cell's usual call runs the whole loop on one thread (``zero_state_pair``, ``zero_state_chain``
    run theirs so, one after another)."""
    return all(_whole(cell, batch) and zero_state_run(cell, batch, steps) and not _may_split(cell, batch, steps)
               for cell in cells)


def _may_split(cell: Any, batch: int, steps: int) -> bool:
    """Whether ``_unit_parts`` may share the units among threads (with as many threads as it could use)."""
    return _unit_parts(cell, batch, steps, cell.units) > 1


def _run_from_zeros(cell: Any, shape: tuple[int, int, int], may_split: bool, x: np.ndarray, sequence: bool,
                    out: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """``zero_state_run``'s loop; ``shape``: that of the states and the last output, ``may_split``: whether
    ``_unit_parts`` may share the units among threads. (BLAS takes no part: its limit is applied when set.)"""
    w = cell_weights(_kernels(), cell)
    buffers = np.zeros(shape, np.float32)  # states and last: one allocation
    out, seq = _output_buffers(cell, x, sequence, out)
    last = buffers[-1]
    parts = _unit_parts(cell, shape[1], x.shape[0], threads.kernel_threads()) if may_split else 1
    if parts > 1:
        _run_unit_parts(w, cell, parts, x, buffers, seq, last)
    else:
        w.whole(x, buffers, _NO_MASK, 0, seq, last)  # held: zeros (there is no mask)
    return (out if sequence else None), last, buffers[:-1]


def zero_state_pair(forward: Any, backward: Any, batch: int, steps: int) -> Callable | None:
    """A Bidirectional's usual call (zero states, no mask) for its two cells, where both are LSTMs of the same
    width and activations whose ``zero_state_run`` is the whole loop on one thread: ``run(xf, xb, out_f, out_b)``
    over each direction's time-major inputs, writing each one's batch-major (batch, time, units) outputs
    (``_kernels.lstm_pair``: one call for both, each direction's bits as its own run's). Else None. Decided once per
    (batch, steps) and compiled-use setting, as ``zero_state_run``."""
    return _decided(forward, "zero_state_pairs", (batch, steps, id(backward)), _zero_state_pair, forward, backward,
                    batch, steps)


def _zero_state_pair(forward: Any, backward: Any, batch: int, steps: int) -> Callable | None:
    cells = (forward, backward)
    if not _whole_on_one_thread(cells, batch, steps):
        return None
    same = all(getattr(cell, "compiled_kind", None) == "lstm" for cell in cells) and \
        forward.units == backward.units and (forward.options.activation, forward.options.recurrent_activation) == \
        (backward.options.activation, backward.options.recurrent_activation)
    return partial(_run_pair_from_zeros, forward, backward, (3, batch, forward.units)) if same else None


def _run_pair_from_zeros(forward: Any, backward: Any, shape: tuple[int, int, int], xf: np.ndarray, xb: np.ndarray,
                         out_f: np.ndarray, out_b: np.ndarray) -> None:
    k = _kernels()
    wf, wb = cell_weights(k, forward), cell_weights(k, backward)
    k.lstm_pair(xf, xb, wf.packed_w, wf.packed_bias, wf.packed_u, wb.packed_w, wb.packed_bias, wb.packed_u, wf.zeros,
                np.zeros(shape, np.float32), np.zeros(shape, np.float32), *wf.codes, out_f.swapaxes(0, 1),
                out_b.swapaxes(0, 1))


def zero_state_chain(chain: Any, batch: int, steps: int, width: int) -> Callable | None:
    """The usual calls (zero states, no mask) of consecutive RNN layers over ``chain.cells``, each reading the one
    before's outputs (``layers.recurrent.RNNChain``), where each one's ``zero_state_run`` is the whole loop on one
    thread and the widths follow on from ``width`` features: ``run(x)`` over the first's time-major contiguous
    float32 inputs, giving the last one's batch-major outputs (``chain.sequence``) or last output, each layer's
    bits as its own run's. Else None. Decided once per (batch, steps, width) and compiled-use setting."""
    return _decided(chain, "zero_state_chains", (batch, steps, width), _zero_state_chain, chain.cells, batch, steps,
                    width, chain.sequence)


def _zero_state_chain(cells: tuple, batch: int, steps: int, width: int, sequence: bool) -> Callable | None:
    widths = (width, *(cell.units for cell in cells[:-1]))
    if any(cell.kernel.value.shape[0] != w for cell, w in zip(cells, widths)) or \
            not _whole_on_one_thread(cells, batch, steps):
        return None
    return partial(_run_chain_from_zeros, cells, batch, steps, sequence)


def _run_chain_from_zeros(cells: tuple, batch: int, steps: int, sequence: bool, x: np.ndarray) -> np.ndarray:
    """``_run_from_zeros`` for each cell in turn, inlined (its general returns cost ~1.5 µs of a 2-layer chain's
    ~15 at batch 1), each but the last writing its outputs time-major, where the next reads them."""
    k, last = _kernels(), len(cells) - 1
    for i, cell in enumerate(cells):
        states = np.zeros((cell.state_count + 1, batch, cell.units), np.float32)  # states and last output
        if i < last:
            seq = np.empty((steps, batch, cell.units), np.float32)  # the next one's time-major inputs
        else:
            out, seq = _output_buffers(cell, x, sequence, None)
        cell_weights(k, cell).whole(x, states, _NO_MASK, 0, seq, states[-1])
        x = seq
    return out if sequence else states[-1]


def _unit_parts(cell: Any, batch: int, steps: int, count: int) -> int:
    """The threads among which ``zero_state_run``'s loop shares the units of a single sample's LSTM (1: it runs on one).
    A batch of one has no samples to split, and its steps are short: the threads meet at every step inside the
    kernel (``_sync``), so the parts must be big enough to pay for that (``MIN_PART_STEP_WORK``) and the loop
    for starting them (``MIN_SLICE_WORK``)."""
    if cell.compiled_kind != "lstm" or batch != 1 or count < 2:
        return 1
    per_step = cell.gates * cell.units**2
    parts = min(count, per_step // MIN_PART_STEP_WORK, cell.units)
    return parts if parts > 1 and steps * per_step >= MIN_SLICE_WORK else 1


def _run_unit_parts(w: CellWeights, cell: Any, parts: int, x: np.ndarray, states: np.ndarray, seq: np.ndarray,
                    last: np.ndarray) -> None:
    """One sample's LSTM loop from zero states, its units shared by ``parts`` threads (``_kernels.lstm_part``):
    the same bits as ``_whole_lstm``'s, each unit's sums made as there."""
    k = _kernels()
    h, c, pieces = states[0], states[1], part_weights(k, w, cell, parts)
    hs = np.zeros((2, cell.units), np.float32)  # this step's h and the next, in turn
    sync = np.zeros(1, np.int64)  # the counter the parts meet at
    arrived = [False] * parts

    def arguments(i: int, steps: slice = slice(None)) -> tuple:
        u0, u1, packed_w, bias, packed_u, zeros = pieces[i]
        return (x[steps], packed_w, bias, packed_u, zeros, hs, c[0, u0:u1], *w.codes, seq[steps], last,
                sync.ctypes.data, u0, parts)

    def run(i: int, _: int) -> None:
        arrived[i] = k.lstm_part(*arguments(i))

    helpers = pool.engage(parts - 1)
    if helpers is None:  # the helpers are another call's: threads of its own
        threads.run_split(run, parts, 1, parts)
    else:
        k.lstm_part(*arguments(parts - 1, slice(0)))  # no steps: this thread's kernel made ready (compiled or
        # loaded, seconds the first time) before the helpers wait for it at the first step (they give up in seconds)
        try:
            for i, helper in enumerate(helpers):
                helper.post(pool.compiled().post_lstm_part, arguments(i))
            run(parts - 1, 0)
        finally:
            pool.finish(helpers, "sharing an LSTM's units")
        arrived[:-1] = [helper.result() for helper in helpers]
    if not all(arrived):
        raise LimitError(f"the {parts} threads sharing an LSTM's units did not all run (a thread could not start "
                         "or was not scheduled for seconds); set fewer threads (TFJS_INTEROP_THREADS)")
    h[0] = hs[x.shape[0] % 2]


def _applies(cell: Any, batch: int, steps: int) -> bool:
    """Whether the compiled loop runs ``cell``: a kernel for its kind and activations, compiled use not switched
    off, and the start-up rule met."""
    kind = getattr(cell, "compiled_kind", None)
    switch = _switch()
    if kind is None or switch is False or not compiled_available():
        return False
    options = cell.options
    if options.activation not in ACTIVATION_CODES or options.recurrent_activation not in ACTIVATION_CODES:
        return False
    return _worth_loading(batch, steps, cell.gates * cell.units, switch)


def _whole(cell: Any, batch: int) -> bool:
    """The whole loop of a small batch, rather than the large-batch loop."""
    return batch <= WHOLE_LOOP_BATCH and batch * cell.units**2 <= WHOLE_LOOP_WORK


def _run(cell: Any, kind: str, held: int, whole: bool, x: np.ndarray, step_masks: np.ndarray | None,
         states: list[np.ndarray], sequence: bool, out: np.ndarray | None = None
         ) -> tuple[np.ndarray | None, np.ndarray, list[np.ndarray]]:
    """The loop over time-major ``x``; with several kernel threads, each runs the whole loop over a slice of the
    batch (samples are independent), so that the threads meet once per call, not once per step. The outputs are
    batch-major, (batch, time, units), as the layer returns them: the kernels write them there."""
    count = threads.apply_blas_limit() or 1  # the setting, read once per call
    steps, batch = x.shape[0], x.shape[1]
    keep = _NO_MASK if step_masks is None else np.ascontiguousarray(step_masks[:steps, :, 0])
    outputs, seq = _output_buffers(cell, x, sequence, out)
    last = np.zeros((batch, cell.units), np.float32)
    k = _kernels()
    w = cell_weights(k, cell)
    if count == 1:
        _run_rows(k, w, cell, kind, held, whole, x, keep, states, seq, last)
    else:
        run = partial(_run_slice, k, w, cell, kind, held, whole, x, keep, states, seq, last)
        if whole or not k.FAST or not _split_on_helpers(run, cell, batch, steps, count):
            threads.run_split(run, batch, _min_rows_per_thread(cell, steps), count)
    return (outputs if sequence else None), last, states


def _output_buffers(cell: Any, x: np.ndarray, sequence: bool, out: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """For time-major ``x``: the batch-major outputs (batch, time, units) (``out`` when given; no steps unless
    ``sequence``) and the time-major view of them the kernels write (``seq``: a batch-major copy of the time-major
    outputs cost as much as 2 % of a whole call)."""
    steps, batch = x.shape[0], x.shape[1]
    if out is None or not sequence:
        out = np.empty((batch, steps if sequence else 0, cell.units), np.float32)
    return out, out.swapaxes(0, 1)


def _split_on_helpers(run: Callable, cell: Any, batch: int, steps: int, count: int) -> bool:
    """``run(b0, b1, helper)`` over slices of the batch, all but the last handed to the pool's helpers (slices of
    ``MIN_HELPER_SLICE_WORK``); False, with nothing run, where the helpers are another call's."""
    bounds = threads.slice_bounds(batch, _min_rows_per_thread(cell, steps, MIN_HELPER_SLICE_WORK), count)
    if len(bounds) == 2:
        run(0, batch)
        return True
    helpers = pool.engage(len(bounds) - 2)
    if helpers is None:
        return False
    try:
        for i, helper in enumerate(helpers):
            run(bounds[i], bounds[i + 1], helper)
        run(bounds[-2], bounds[-1])
    finally:
        pool.finish(helpers, "splitting a batch")
    return True


def _run_slice(k: Any, w: CellWeights, cell: Any, kind: str, held: int, whole: bool, x: np.ndarray,
               keep: np.ndarray, states: list[np.ndarray], seq: np.ndarray, last: np.ndarray, b0: int,
               b1: int, helper: Any = None) -> None:
    """Samples ``b0:b1`` of the batch (a thread's share, or a ``helper``'s job): their states, outputs and last
    outputs, in place."""
    x = x[:, b0:b1]  # the kernels take contiguous x: rows of (batch, n) arrays are; slices of (time, batch, n) not
    keep = keep if keep.shape[0] == 0 else np.ascontiguousarray(keep[:, b0:b1])
    _run_rows(k, w, cell, kind, held, whole, x, keep, [s[b0:b1] for s in states], seq[:, b0:b1], last[b0:b1],
              helper)


def _run_rows(k: Any, w: CellWeights, cell: Any, kind: str, held: int, whole: bool, x: np.ndarray,
              keep: np.ndarray, states: list[np.ndarray], seq: np.ndarray, last: np.ndarray,
              helper: Any = None) -> None:
    """The loop over all rows of ``x`` (time, batch, features): states, outputs and last outputs in place (by a
    pool ``helper``: the large-batch loop on the compiled GEMM only)."""
    if whole:  # numba runs the whole loop, the projections included
        w.whole(np.ascontiguousarray(x, dtype=np.float32), states, keep, held, seq, last)
        return
    if k.FAST:  # likewise, each step's product by the compiled GEMM
        STEPS[kind](k, w, np.ascontiguousarray(x, dtype=np.float32), states, keep, held, seq, last, helper)
        return
    steps, batch = x.shape[0], x.shape[1]
    block = max(1, (32 << 20) // max(1, batch * cell.gates * cell.units * 4))  # projection blocks of <= 32 MB
    for start in range(0, steps, block):
        stop = min(steps, start + block)
        projected = np.ascontiguousarray(cell.project(x[start:stop]), dtype=np.float32)  # (time, batch, width)
        BLAS_STEPS[kind](k, w, projected, states, keep[start:stop], held, seq[start:stop], last)


_read_environment()
threads.use_kernel_switch(compiled_enabled)
threads.apply_environment()  # TFJS_INTEROP_THREADS limits BLAS from the start
