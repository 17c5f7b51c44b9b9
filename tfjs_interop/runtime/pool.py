"""The compiled kernels' helper threads, kept from call to call (imported by ``compiled``; numba is imported only
when a split call first needs a helper).

A call that splits its work over n threads (a batch's samples, or one sample's units) posts a job to each of n - 1
helpers and runs its own share: a job is a compiled kernel and its arguments, handed over as addresses, shapes and
strides (``_helpers``); the helper runs it in compiled code, without the GIL, and waits for the next one there,
spinning for ``SPIN_S``. So the handover costs a few microseconds, where starting a thread per call had cost ~100 µs
(and a Python helper, which must take the GIL to call its kernel, ~25 µs: a thread waiting for the GIL sleeps).
After ``SPIN_S`` without a job the helper parks on a condition; the next job wakes it (~25–50 µs), and an idle
process stays idle (``tests/unit/test_pool.py`` reads its CPU time). ONNX Runtime's pool spins likewise.

One call uses the helpers at a time (``_busy``): a call made while another holds them starts threads of its own,
as before there was a pool (``threads.run_split``). The numbers do not depend on which thread runs what: a job
runs the kernel the caller would have run, on the same rows or units.

A process that forks: the child has no helpers (``os.register_at_fork``) and makes its own when it needs them; this
library itself never forks (see ``formats.isolation``). At exit the helpers are told to stop.
"""

from __future__ import annotations

import _thread
import atexit
import os
import threading
import time
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from ..errors import LimitError

SPIN_S = 2e-4  # a helper looks for its next job this long after its last one before it parks


@cache
def compiled() -> Any:
    from . import _helpers  # imports numba

    return _helpers


@cache
def _looks() -> int:
    """How many looks at its mailbox a helper makes in ``SPIN_S`` (measured once: a pause hint's length varies by
    CPU from a few to ~150 cycles)."""
    h = compiled()
    box = h.new_box()
    h.serve(box, 1000)  # compiled or loaded
    start = time.perf_counter()
    h.serve(box, 20000)
    per_look = max((time.perf_counter() - start) / 20000, 1e-9)
    return max(100, int(SPIN_S / per_look))


class Helper:
    """A helper thread and its mailbox (``_helpers``' ``box``)."""

    def __init__(self, index: int) -> None:
        self.index = index  # 1, 2, ...: its share's name in the caller's scratch arrays
        self.box = compiled().new_box()
        self.held: Sequence[Any] = ()  # the arguments of its job: alive until the job is done
        self.error: BaseException | None = None
        self.stopping = False
        self.native_id: int | None = None  # the OS's id of its thread, once it runs
        self.wake = threading.Condition(threading.Lock())
        _thread.start_new_thread(self._serve, (_looks(),))

    def post(self, poster: Callable[..., bool], args: Sequence[Any]) -> None:
        """Hand over a job: ``poster`` is the ``_helpers.post_*`` of the kernel, ``args`` the kernel's arguments."""
        self.held, self.error = args, None
        if poster(self.box, *args):  # the helper is parked
            with self.wake:
                self.wake.notify()

    def finish(self) -> bool:
        """Wait for the job: False when the helper did not finish it in seconds (it keeps the job's arrays)."""
        if not compiled().finish(self.box):
            return False
        self.held = ()
        return True

    def result(self) -> int:
        """Its last job's result (``lstm_part``'s: whether the threads all came)."""
        return int(self.box[compiled().RESULT])

    def _serve(self, looks: int) -> None:
        self.native_id = threading.get_native_id()
        h = compiled()
        while not self.stopping:
            try:
                h.serve(self.box, looks)
            except BaseException as exc:  # a job's error: the caller raises it
                self.error = exc
                h.mark_done(self.box)
                continue
            with self.wake:
                h.set_parked(self.box, 1)
                while not h.pending(self.box) and not self.stopping:
                    self.wake.wait()
                h.set_parked(self.box, 0)


_busy = threading.Lock()  # held by the call that uses the helpers
_helpers: list[Helper] = []


def engage(count: int) -> list[Helper] | None:
    """``count`` helpers for this call, which must give them back by ``finish``; None where another call holds them
    or a thread cannot be started."""
    if not _busy.acquire(blocking=False):
        return None
    try:
        while len(_helpers) < count:
            _helpers.append(Helper(len(_helpers) + 1))
    except RuntimeError:  # can't start new thread
        _busy.release()
        return None
    return _helpers[:count]


def finish(helpers: list[Helper], what: str) -> None:
    """Wait for each helper's job and give the helpers back; re-raise a job's error. A helper lost for seconds is
    retired (it keeps its job's arrays) and reported."""
    try:
        lost = [helper for helper in helpers if not helper.finish()]
        for helper in lost:
            _helpers.remove(helper)
            helper.stopping = True
        if lost:
            raise LimitError(f"{len(lost)} of the threads {what} did not finish (not scheduled for seconds); set "
                             "fewer threads (TFJS_INTEROP_THREADS)")
        errors = [helper.error for helper in helpers if helper.error is not None]
        if errors:
            raise errors[0]
    finally:
        _busy.release()


def _forget() -> None:
    """In a forked child: the parent's helpers are not there (nor, maybe, a lock another thread held)."""
    global _busy, _helpers
    _busy, _helpers = threading.Lock(), []


def _stop() -> None:
    for helper in list(_helpers):
        helper.stopping = True
        with helper.wake:
            helper.wake.notify()


os.register_at_fork(after_in_child=_forget)
atexit.register(_stop)
