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
MAX_INPUT_BYTES = 4 << 20  # a warming batch's inputs at most: a model of large inputs warms up on fewer samples


def warm_up(*models: Model) -> bool:
    """Load numba's kernels now and use them for every call from now on (e.g. when a server starts), unless
    compiled use is off; then run each of ``models`` on seeded inputs at ``WARM_BATCHES`` (or its fixed batch
    size; no more samples than ``MAX_INPUT_BYTES`` of inputs hold), so that the kernels its calls use are ready;
    a model without a layer the kernels run is not run. A stateful model's states are reset afterwards. True when
    the kernels are loaded."""
    if not compiled.warm_up():
        return False
    for model in models:
        if _runs_kernels(model):
            _run_samples(model)
    return True


def _runs_kernels(model: Model) -> bool:
    return any(getattr(getattr(layer, "cell", None), "compiled_kind", None) for _, layer in sublayers(model))


def _batches(model: Model) -> tuple[int, ...]:
    fixed = model._fixed_batch
    if fixed:
        return (fixed.shape[0],)
    sample = sum(np.dtype(spec.dtype).itemsize * math.prod(d or DEFAULT_STEPS for d in spec.shape[1:])
                 for spec in model.inputs)
    most = max(1, MAX_INPUT_BYTES // max(1, sample))
    return tuple(sorted({min(batch, most) for batch in WARM_BATCHES}))


def _run_samples(model: Model) -> None:
    for batch in _batches(model):
        try:
            model.predict(sample_inputs(model, seed=0, batch=batch))
        except TfjsInteropError as exc:  # its requests will say so; warming is only ahead of time
            log.warning("warming model %r up at batch %d: %s", model.name, batch, exc)
            break
        finally:
            model.reset_states()
