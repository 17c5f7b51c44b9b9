"""Scratch arrays kept per thread from one call to the next: the time loop's temporaries at large batches.

A large batch's loop needs a few big temporaries besides its outputs: the time-major copy of its inputs, the
states it starts from (when they are not returned), each step's recurrent product. Fresh ones on every call cost
more than their size suggests: freed, they go back to the system (glibc trims the heap and unmaps big blocks), and
the next call page-faults every page of them in again. At a 1024-sample, 10-step, 32-unit LSTM that was ~1.4 ms
of a 5 ms call on a 2-core VM (the kernel alone: 3.5); ONNX Runtime keeps such memory in its arena.

``scratch(key, shape)`` hands the calling thread its array for ``key``, made again only when a bigger one is
needed. What it holds is garbage until written, and valid until the same thread asks for ``key`` again: a call
uses its scratch arrays only while it runs, and never returns one. Threads do not share them, so concurrent
predicts never meet here. Small arrays (``MIN_BYTES``) are made fresh (NumPy and malloc serve them well), and a
thread keeps at most ``KEPT_BYTES``; beyond, arrays are fresh as before.
"""

from __future__ import annotations

import math
import threading

import numpy as np

MIN_BYTES = 64 << 10  # below this, a fresh array (malloc's own pools serve it without page faults)
KEPT_BYTES = 32 << 20  # what one thread keeps at most, all keys together

_local = threading.local()


def scratch(key: str, shape: tuple[int, ...]) -> np.ndarray:
    """A float32 array of ``shape``, its values undefined, this thread's for ``key`` until it asks again."""
    size = math.prod(shape)
    if size * 4 < MIN_BYTES:
        return np.empty(shape, np.float32)
    kept: dict[str, np.ndarray] | None = getattr(_local, "arrays", None)
    if kept is None:
        kept = _local.arrays = {}
    array = kept.get(key)
    if array is None or array.size < size:
        held = sum(a.nbytes for k, a in kept.items() if k != key)
        if held + size * 4 > KEPT_BYTES:
            return np.empty(shape, np.float32)
        array = kept[key] = np.empty(size, np.float32)
    return array[:size].reshape(shape)


def scratch_zeros(key: str, shape: tuple[int, ...]) -> np.ndarray:
    """``scratch``, filled with zeros."""
    array = scratch(key, shape)
    array.fill(0)
    return array


def release() -> None:
    """Let go of this thread's scratch arrays (a thread that will not run large batches again)."""
    _local.arrays = {}
