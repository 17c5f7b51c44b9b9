"""How many threads a predict may use: BLAS's (through threadpoolctl) and the compiled kernels' alike.

``set_num_threads(n)``, else ``TFJS_INTEROP_THREADS`` in the environment, sets the count; unset, BLAS keeps its own
setting (OpenBLAS: ``OPENBLAS_NUM_THREADS``, else every core) and the compiled kernels run on the calling thread.
With the compiled kernels, the n threads are theirs (each runs the whole time loop over a slice of the batch, with
single-threaded BLAS inside); with the NumPy loop, they are BLAS's.
BLAS's thread count is process-wide state of the BLAS library, so the setting is the process's, not a model's.
threadpoolctl (in the ``fast`` extra) is imported only when a count is set; without it BLAS is left as it is and a
warning says so. The kernels release the GIL, so a server's own threads also run predicts in parallel.
"""

from __future__ import annotations

import _thread
import os
import threading
import warnings
from collections.abc import Callable
from typing import TypeVar

from ..errors import InputError

ENV_VARIABLE = "TFJS_INTEROP_THREADS"
T = TypeVar("T")

_lock = threading.Lock()
_setting: int | None = None  # set_num_threads's count, None: the environment's
_environment: str = ""  # TFJS_INTEROP_THREADS as read at import or by set_num_threads(None)
_environment_count: int | None = None  # ... and its count, when valid
_applied: int | None = None  # the count BLAS was last limited to
_blas_limiter: object | None = None  # the first limit set: it remembers BLAS's own setting, to restore it


def _parse(value: object, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise InputError(f"{source} must be a positive integer, got {value!r}") from None
    if value <= 0:
        raise InputError(f"{source} must be a positive integer, got {value!r}")
    return value


def set_num_threads(n: int | None) -> None:
    """Use ``n`` threads in BLAS and the compiled kernels (None: ``TFJS_INTEROP_THREADS``, read again now, else the
    defaults).

    Raises:
        InputError: when ``n`` is not a positive integer.
    """
    global _setting
    count = None if n is None else _parse(n, "the number of threads")
    with _lock:
        _setting = count
        if count is None:
            read_environment()
    if apply_blas_limit() is None:
        _restore_blas()


def _restore_blas() -> None:
    """Give BLAS back its own thread count, as it was before this module first limited it."""
    global _applied, _blas_limiter
    with _lock:
        if _blas_limiter is not None:
            _blas_limiter.restore_original_limits()
        _blas_limiter, _applied = None, None


def read_environment() -> None:
    """Read ``TFJS_INTEROP_THREADS`` (at import, and by ``set_num_threads(None)``): a predict does not read the
    environment, which costs about a microsecond a variable."""
    global _environment, _environment_count
    _environment = os.environ.get(ENV_VARIABLE, "").strip()
    try:
        _environment_count = _parse(_environment, ENV_VARIABLE) if _environment else None
    except InputError:
        _environment_count = None  # reported when a predict needs the count (get_num_threads)


def get_num_threads() -> int | None:
    """The count set by :func:`set_num_threads` or ``TFJS_INTEROP_THREADS``, or None when neither is."""
    if _setting is not None:
        return _setting
    if _environment_count is not None or not _environment:
        return _environment_count
    return _parse(_environment, ENV_VARIABLE)  # invalid: raises the InputError


def kernel_threads() -> int:
    """How many threads the compiled kernels may split a batch over."""
    return get_num_threads() or 1


def blas_threads(count: int) -> int:
    """BLAS's share of ``count`` threads: all of them for the NumPy loop; one per kernel thread when the compiled
    kernels run, as they split the batch over their own threads (OpenBLAS's own threads, meeting at every step's
    small product, measured up to 50x slower on the shared 2-core machine)."""
    return 1 if _kernels_enabled() else count


def _no_kernels() -> bool:
    return False


_kernels_enabled: Callable[[], bool] = _no_kernels  # whether the compiled kernels run: ``compiled`` says


def use_kernel_switch(enabled: Callable[[], bool]) -> None:
    """Let the compiled kernels' module tell whether they run (it calls this at import; this module is below it)."""
    global _kernels_enabled
    _kernels_enabled = enabled


def apply_blas_limit() -> int | None:
    """Limit BLAS to its share of the set count, once per change (cheap otherwise: called before each run); return
    the count (None when none is set), so that a run reads the setting once."""
    global _applied, _blas_limiter
    count = get_num_threads()
    if count is None:
        return None
    share = blas_threads(count)
    if share == _applied:
        return count
    with _lock:
        if share == _applied:
            return count
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            warnings.warn(f"threadpoolctl is not installed (pip install 'tfjs-interop[fast]'): {share} thread(s) "
                          "apply to the compiled kernels only; BLAS keeps its own setting", stacklevel=3)
        else:
            limiter = threadpool_limits(limits=share, user_api="blas")
            _blas_limiter = _blas_limiter or limiter
        _applied = share
    return count


def apply_environment() -> None:
    """At import (of ``compiled``, which this module's BLAS share needs): a valid ``TFJS_INTEROP_THREADS`` limits
    BLAS at once; an invalid one is reported now by a warning and later, by an InputError, when a predict needs
    the count."""
    read_environment()
    try:
        apply_blas_limit()
    except InputError as exc:
        warnings.warn(str(exc), stacklevel=2)


def slice_bounds(rows: int, min_rows: int, count: int) -> list[int]:
    """``0:rows`` cut into up to ``count`` slices of at least ``min_rows`` (one slice at the least): their bounds."""
    parts = max(1, min(count, rows // max(1, min_rows)))
    return [rows * i // parts for i in range(parts + 1)]


def run_split(function: Callable[[int, int], None], rows: int, min_rows: int, count: int | None = None) -> None:
    """``function(b0, b1)`` over ``0:rows`` cut into one slice per kernel thread (``count`` of them, by default
    ``kernel_threads()``; slices of at least ``min_rows``), the last on the calling thread, on threads started for
    this call and waited for. (The compiled large-batch loop hands its slices to ``pool``'s helper threads, kept
    between calls; this is for the rest, and for calls made while another holds the helpers.) They are
    ``_thread``'s, not ``threading.Thread``s: ``Thread.start`` waits until the new thread runs, measured here at
    ~100 µs a thread (against ~65 µs), while the calling thread could already be working on its slice."""
    bounds = slice_bounds(rows, min_rows, count or kernel_threads())
    parts = len(bounds) - 1
    if parts == 1:
        function(0, rows)
        return
    errors: list[BaseException] = []
    done = [False] * (parts - 1)

    def target(i: int, finished: _thread.LockType) -> None:
        try:
            function(bounds[i], bounds[i + 1])
        except BaseException as exc:  # re-raised on the calling thread
            errors.append(exc)
        finally:
            done[i] = True  # before the release: a wait that acquired it and was interrupted sees it
            finished.release()

    waits = []
    interrupt: BaseException | None = None
    try:
        for i in range(parts - 1):
            finished = _thread.allocate_lock()
            finished.acquire()
            _thread.start_new_thread(target, (i, finished))
            waits.append(finished)
        function(bounds[-2], bounds[-1])
    finally:
        for i, finished in enumerate(waits):
            interrupt = wait_through_signals(lambda i=i, f=finished: done[i] or f.acquire())[1] or interrupt
    if interrupt is not None:
        raise interrupt
    if errors:
        raise errors[0]


def wait_through_signals(wait: Callable[[], T]) -> tuple[T, BaseException | None]:
    """``wait()``'s result, waiting on when a signal handler raises meanwhile (Ctrl-C's KeyboardInterrupt), and
    the exception to raise once every thread of the call is done: until then they still write the call's arrays,
    its outputs and this thread's scratch among them, which the next call would reuse (``wait`` must be safe to
    call again)."""
    interrupt = None
    while True:
        try:
            return wait(), interrupt
        except BaseException as exc:  # noqa: BLE001 - handed back, to be raised after the wait
            interrupt = exc
