"""The compiled kernels' helper threads, kept from call to call (imported by ``compiled``; numba is imported only
when a split call first needs a helper).

A call that splits its work over n threads (a batch's samples, or one sample's units) posts a job to each of n - 1
helpers and runs its own share: a job is a compiled kernel and its arguments, handed over as addresses, shapes and
strides (``_helpers``); the helper runs it in compiled code, without the GIL, and waits for the next one there,
spinning for ``SPIN_S``. So the handover costs a few microseconds, where starting a thread per call had cost ~100 µs
(and a Python helper, which must take the GIL to call its kernel, ~25 µs: a thread waiting for the GIL sleeps).
After ``SPIN_S`` without a job the helper parks on its doorbell (a lock); the next job rings it (~25–50 µs), and
an idle process stays idle (``tests/unit/test_pool.py`` reads its CPU time). ONNX Runtime's pool spins likewise.

A signal's exception in the calling thread (Ctrl-C) does not end a call before its helpers end their jobs
(``threads.wait_through_signals``): they write the call's arrays and the caller's scratch, which the next call
reuses; an interrupted call gave the next one wrong numbers before.

One call uses the helpers at a time (``_busy``): a call made while another holds them starts threads of its own,
as before there was a pool (``threads.run_split``). The numbers do not depend on which thread runs what: a job
runs the kernel the caller would have run, on the same rows or units.

A process that forks: the child has no helpers (``os.register_at_fork``) and makes its own when it needs them; this
library itself never forks (see ``formats.isolation``). At exit the helpers are told to stop.
"""

from __future__ import annotations

import _thread
import atexit
import contextlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from ..errors import LimitError
from .threads import wait_through_signals

SPIN_S = 2e-4  # a helper looks for its next job this long after its last one before it parks
PARK_S = 0.25  # ... and, parked, looks again this often (a ring lost to a signal's exception costs no more)


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
        self.doorbell = _thread.allocate_lock()
        self.doorbell.acquire()  # not rung
        _thread.start_new_thread(self._serve, (_looks(),))

    def post(self, poster: Callable[..., bool], args: Sequence[Any]) -> None:
        """Hand over a job: ``poster`` is the ``_helpers.post_*`` of the kernel, ``args`` the kernel's arguments."""
        self.held, self.error = args, None
        if poster(self.box, *args):  # the helper is parked
            self.ring()

    def ring(self) -> None:
        """Wake the helper if it is parked (the doorbell is a plain lock, held while not rung: one C call, so a
        signal's exception cannot leave it half-rung; a ring it missed, it finds within ``PARK_S``)."""
        with contextlib.suppress(RuntimeError):  # rung already
            self.doorbell.release()

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
            h.set_parked(self.box, 1)  # then a poster rings, or this look finds its job
            while not h.pending(self.box) and not self.stopping:
                self.doorbell.acquire(timeout=PARK_S)
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
        waits = [wait_through_signals(helper.finish) for helper in helpers]
        lost = [helper for helper, (finished, _) in zip(helpers, waits) if not finished]
        for helper in lost:
            _helpers.remove(helper)
            helper.stopping = True
        interrupts = [interrupt for _, interrupt in waits if interrupt is not None]
        if interrupts:
            raise interrupts[0]
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
        helper.ring()


os.register_at_fork(after_in_child=_forget)
atexit.register(_stop)
