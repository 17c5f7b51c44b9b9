"""Warming a process up before it serves: numba's kernels loaded, and each model's calls run once at the batch
sizes whose kernels differ, so that numba compiles them (or loads them from its on-disk cache) now rather than in
the first requests. numba compiles a kernel for each new kind of call it sees; without its cache (a fresh install,
a read-only package folder) that took 7–11 s a kind for the seed model here, from its first call at batch 1, 2 or
8; from the cache, a few ms.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from .errors import TfjsInteropError
from .runtime import compiled
from .runtime.model import Model
from .runtime.pickling import sublayers
from .sample_inputs import DEFAULT_STEPS, sample_inputs

log = logging.getLogger("tfjs_interop")

WARM_BATCHES = (1, 2, 8, 64)  # one sample (its views are contiguous), a small batch's whole loop (strided outputs),
# the large-batch loop, and one large enough to be split among the threads (when several are set)
LONG_STEPS = 128  # and one sample of this many steps where the steps are free: long enough for its units to be
# shared among the threads (``compiled._unit_parts``: from 64 steps at 128 units)
MAX_INPUT_BYTES = 4 << 20  # a warming batch's inputs at most: a model of large inputs warms up on fewer samples


def warm_up(*models: Model) -> bool:
    """Load numba's kernels now and use them for every call from now on (e.g. when a server starts), unless
    compiled use is off; then run each of ``models`` that has an RNN the kernels run on seeded inputs: at
    ``WARM_BATCHES`` (or its fixed batch size), and one sample of ``LONG_STEPS`` steps where the steps are free,
    each on no more samples than ``MAX_INPUT_BYTES`` of inputs hold (none, where one sample holds more), so that
    the kernels its calls use are ready. A stateful model's states are reset afterwards (warm it up before it
    holds states worth keeping). True when the kernels are loaded."""
    if not compiled.warm_up():
        return False
    for model in models:
        if _runs_kernels(model):
            _run_samples(model)
    return True


def _runs_kernels(model: Model) -> bool:
    return any(getattr(getattr(layer, "cell", None), "compiled_kind", None) for _, layer in sublayers(model))


def _warming_inputs(model: Model) -> list[tuple[str, list]]:
    """(what, inputs) of each warming run."""
    fixed = model._fixed_batch.shape[0] if model._fixed_batch else None
    most = MAX_INPUT_BYTES // max(1, _sample_bytes(model, DEFAULT_STEPS))
    batches = ([fixed] if fixed <= most else []) if fixed else sorted({min(b, most) for b in WARM_BATCHES} - {0})
    runs = [(f"batch {batch}", sample_inputs(model, seed=0, batch=batch)) for batch in batches]
    free = [i for i, spec in enumerate(model.inputs) if len(spec.shape) > 2 and spec.shape[1] is None]
    if free and _sample_bytes(model, LONG_STEPS) * (fixed or 1) <= MAX_INPUT_BYTES:
        long = [_lengthened(x, LONG_STEPS) if i in free else x
                for i, x in enumerate(sample_inputs(model, seed=0, batch=fixed or 1))]
        runs.append((f"{LONG_STEPS} steps", long))
    return runs


def _sample_bytes(model: Model, steps: int) -> int:
    return sum(np.dtype(spec.dtype).itemsize * math.prod(d or steps for d in spec.shape[1:]) for spec in model.inputs)


def _lengthened(x: np.ndarray, steps: int) -> np.ndarray:
    """``x`` (batch, steps, ...) repeated along its steps to ``steps`` of them."""
    return np.concatenate([x] * -(-steps // max(1, x.shape[1])), axis=1)[:, :steps]


def _run_samples(model: Model) -> None:
    failed = []
    for what, inputs in _warming_inputs(model):
        try:
            model.predict(inputs)
        except TfjsInteropError as exc:  # its requests will say so; warming is only ahead of time
            failed.append(f"{what}: {exc}")
        finally:
            model.reset_states()
    if failed:
        log.warning("warming model %r up: %s", model.name, "; ".join(failed))
