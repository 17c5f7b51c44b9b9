"""Run the HDF5 library on untrusted bytes in a separate worker process, so that a corrupt file cannot crash or
hang us.

h5py wraps the HDF5 C library, which is not hardened against hostile files: fuzzing Keras ``.h5`` files here made
it segfault and loop forever (a flipped byte in an attribute header). So the part of a load that touches HDF5 runs
in a worker: a fresh interpreter started with ``subprocess`` (``python -c``: fork-and-exec, never a bare
``fork()`` of this process, which may have threads holding locks, and which no code of the caller runs in), kept
warm for the next load. A request is JSON (the function's import path and arguments) plus the file's bytes; the
answer is a JSON description and the weight arrays as raw bytes with their dtypes and shapes, checked and viewed
without a copy (nothing the worker sends is unpickled). A crash, a timeout or an unreadable answer becomes a
:class:`ModelFormatError` (the worker is then killed and replaced); the worker's own errors are raised as the same
error classes.

Threads loading at once use one worker each, at most ``MAX_WORKERS`` at a time (others wait their turn); up to
``MAX_IDLE`` workers are kept between loads. The timeout is ``TFJS_INTEROP_HDF5_TIMEOUT`` seconds (default 60)
plus one per 50 MB of input, counted once the worker has started. ``TFJS_INTEROP_HDF5_IN_PROCESS=1`` runs the
function in this process (no isolation), as on platforms without ``select`` on pipes (Windows).
"""

from __future__ import annotations

import atexit
import importlib
import json
import math
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import numpy as np

from .. import errors
from ..errors import ModelFormatError, TfjsInteropError

ENV_SWITCH = "TFJS_INTEROP_HDF5_IN_PROCESS"
ENV_TIMEOUT = "TFJS_INTEROP_HDF5_TIMEOUT"
DEFAULT_TIMEOUT = 60.0
MAX_WORKERS = max(2, os.cpu_count() or 2)
MAX_IDLE = 2
STARTUP_TIMEOUT = 120.0  # seconds for a worker's interpreter to start and import h5py
Result = tuple[object, dict[str, np.ndarray]]  # (JSON-able description, named arrays)
_WORKER = "from tfjs_interop.formats.isolation import serve; serve()"


def base_timeout() -> float:
    """``TFJS_INTEROP_HDF5_TIMEOUT`` in seconds (read at each load), else 60."""
    try:
        value = float(os.environ.get(ENV_TIMEOUT, DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def isolated(function: Callable[..., Result], data: bytes, *args: object, source: str) -> Result:
    """``function(data, *args)``, run in a worker process when possible.

    ``function`` must be importable by name (a module-level function) and ``args`` JSON-able.

    Raises:
        ModelFormatError: when the worker crashes, runs past its timeout or answers nonsense.
        TfjsInteropError: the worker's own error, of the same class, when ``function`` raised one.
    """
    if os.environ.get(ENV_SWITCH) == "1" or sys.platform == "win32":
        return function(data, *args)
    request = json.dumps({"function": f"{function.__module__}:{function.__qualname__}", "args": list(args)})
    timeout = base_timeout() + len(data) / 50e6
    with _POOL.worker() as worker:
        worker.wait_ready()
        status, answer = worker.call(request.encode(), data, time.monotonic() + timeout)
    if status == "timeout":
        raise ModelFormatError(f"{source}: reading the HDF5 data took over {timeout:.0f} s; the file is corrupt or "
                               f"hostile (stopped; a larger legitimate file may need more: set {ENV_TIMEOUT}, in "
                               "seconds)")
    if status == "crashed":
        raise ModelFormatError(f"{source}: the HDF5 library crashed reading the file ({answer}); the file is "
                               "corrupt")
    return _decode(answer, source)


# --- the parent's side ----------------------------------------------------------------------------------------

class _Worker:
    """One worker process and its pipes."""

    def __init__(self) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))  # imports as we do
        self.process = subprocess.Popen([sys.executable, "-c", _WORKER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                        close_fds=True)
        self.owner = os.getpid()  # a forked child must not stop its parent's workers
        self.broken = False
        self.ready = False

    def wait_ready(self) -> None:
        """Wait for the worker's interpreter to start (not counted in a file's timeout: a busy machine can take
        seconds to import h5py)."""
        if self.ready:
            return
        try:
            ready = _read_frame(self.process.stdout.fileno(), time.monotonic() + STARTUP_TIMEOUT) == b"ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.kill()
            raise TfjsInteropError(f"the HDF5 worker process did not start within {STARTUP_TIMEOUT:.0f} s "
                                   f"({sys.executable}); set {ENV_SWITCH}=1 to read HDF5 in this process")
        self.ready = True

    def call(self, request: bytes, data: bytes, deadline: float) -> tuple[str, object]:
        """("ok", answer bytes), ("timeout", None) or ("crashed", signal or exit code)."""
        try:
            self.process.stdin.write(_frame(request) + _frame(data))
            self.process.stdin.flush()
            answer = _read_frame(self.process.stdout.fileno(), deadline)
        except (BrokenPipeError, EOFError, OSError):
            answer = EOFError
        if answer is None:
            self.kill()
            return "timeout", None
        if answer is EOFError:
            self.broken = True
            return "crashed", self._how_it_ended()
        return "ok", answer

    def _how_it_ended(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return "no answer"
        return signal.Signals(-code).name if code < 0 else f"exit status {code}"

    def kill(self) -> None:
        self.broken = True
        self.process.kill()
        self.process.wait()
        self._close_pipes()

    def stop(self, grace: float = 1.0) -> None:
        """End an idle worker: closing its stdin ends its loop; one that does not exit within ``grace`` seconds is
        killed. Its pipes are closed and it is reaped, so that nothing is left for the interpreter to warn about."""
        self.broken = True
        try:
            self.process.stdin.close()
            self.process.wait(timeout=grace)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass


class _Pool:
    """Workers handed to one caller at a time, started on demand, a few kept between loads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(MAX_WORKERS)
        self.idle: list[_Worker] = []

    def worker(self) -> _Lease:
        return _Lease(self)

    def take(self) -> _Worker:
        self.slots.acquire()
        with self.lock:
            while self.idle:
                worker = self.idle.pop()
                if worker.process.poll() is None:
                    return worker
                worker.kill()  # died while idle: reaped, its pipes closed
        try:
            return _Worker()
        except BaseException:
            self.slots.release()
            raise

    def give_back(self, worker: _Worker) -> None:
        with self.lock:
            keep = not worker.broken and worker.process.poll() is None and len(self.idle) < MAX_IDLE
            if keep:
                self.idle.append(worker)
        if not keep:
            worker.kill()  # also reaps a dead one and closes its pipes
        self.slots.release()

    def close(self) -> None:
        """Stop the idle workers of this process (at exit: a worker still leased by a daemon thread is killed when
        the interpreter is gone, as its stdin closes)."""
        with self.lock:
            idle, self.idle = [w for w in self.idle if w.owner == os.getpid()], []
        for worker in idle:
            worker.stop()


class _Lease:
    def __init__(self, pool: _Pool) -> None:
        self.pool = pool

    def __enter__(self) -> _Worker:
        self.held = self.pool.take()
        return self.held

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None and not self.held.broken:  # interrupted mid-call: its answer would be stale
            self.held.kill()
        self.pool.give_back(self.held)


_POOL = _Pool()
atexit.register(_POOL.close)


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(8, "little") + payload


def _read_exactly(fd: int, count: int, deadline: float | None) -> bytes | None:
    """``count`` bytes from ``fd``; None past ``deadline``; EOFError when the writer is gone."""
    chunks, got = [], 0
    while got < count:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
        chunk = os.read(fd, min(count - got, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int, deadline: float | None) -> bytes | None:
    head = _read_exactly(fd, 8, deadline)
    return None if head is None else _read_exactly(fd, int.from_bytes(head, "little"), deadline)


def _decode(answer: bytes, source: str) -> Result:
    """The worker's answer: a JSON head (the description, and each array's name, dtype, shape and offset) and the
    arrays' bytes after it, which the arrays view without a copy. Every entry is checked: nothing is trusted."""
    try:
        size = int.from_bytes(answer[:8], "little")
        head = json.loads(answer[8:8 + size])
        data = memoryview(answer)[8 + size:]
        arrays = {name: _view(data, dtype, shape, offset) for name, dtype, shape, offset in head["arrays"]}
    except Exception as exc:  # noqa: BLE001 - a worker that died mid-write, or answers nonsense
        raise ModelFormatError(f"{source}: reading the HDF5 data failed ({type(exc).__name__}); the file is "
                               "corrupt") from None
    description = head["description"]
    if "error" in description:
        cls = getattr(errors, description["error"], None)
        if not (isinstance(cls, type) and issubclass(cls, TfjsInteropError)):
            cls = ModelFormatError
        raise cls(description["message"])
    return description["ok"], arrays


# --- the worker's side ----------------------------------------------------------------------------------------

def serve() -> None:
    """The worker's loop: answer requests on stdin until it closes."""
    import faulthandler

    faulthandler.disable()  # a crash here is reported by the parent, not dumped on a terminal
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    stdin = sys.stdin.buffer.fileno()
    stdout = os.fdopen(os.dup(1), "wb")  # answers go here; what a library prints goes to stderr, not the pipe
    os.dup2(2, 1)
    import h5py  # noqa: F401 - imported before saying ready, so that a file's timeout counts only its reading

    stdout.write(_frame(b"ready"))
    stdout.flush()
    while True:
        try:
            request = _read_frame(stdin, None)
            data = _read_frame(stdin, None)
        except EOFError:
            return
        stdout.write(_frame(_answer(json.loads(request), data)))
        stdout.flush()


def _answer(request: dict, data: bytes) -> bytes:
    try:
        module, _, name = request["function"].partition(":")
        function = importlib.import_module(module)
        for part in name.split("."):
            function = getattr(function, part)
        description, arrays = function(data, *request["args"])
        return _encode({"ok": description}, arrays)
    except TfjsInteropError as exc:
        return _encode({"error": type(exc).__name__, "message": str(exc)}, {})
    except Exception as exc:  # noqa: BLE001 - whatever h5py raises on a corrupt file is reported, not lost
        return _encode({"error": "ModelFormatError", "message": f"cannot read the HDF5 data: "
                                                                f"{type(exc).__name__}: {exc}"}, {})


def _view(data: memoryview, dtype: str, shape: list, offset: int) -> np.ndarray:
    kind = np.dtype(dtype)
    if kind.hasobject or not all(isinstance(d, int) and d >= 0 for d in shape) or not isinstance(offset, int):
        raise ValueError("malformed array entry")
    count = math.prod(shape)
    if offset < 0 or offset + count * kind.itemsize > len(data):
        raise ValueError("array outside the answer")
    return np.frombuffer(data, kind, count, offset).reshape(shape)


def _encode(description: object, arrays: dict[str, np.ndarray]) -> bytes:
    """See :func:`_decode`; an array object listed under several names is sent once."""
    entries, blobs, offsets, size = [], [], {}, 0
    for name, value in arrays.items():
        array = np.asarray(value, order="C")  # ascontiguousarray would make a 0-d weight 1-d
        if id(value) not in offsets:
            offsets[id(value)] = size
            padding = -array.nbytes % 8  # keeps every array aligned for its dtype
            blobs.append(array.tobytes() + bytes(padding))
            size += array.nbytes + padding
        entries.append([name, array.dtype.str, list(array.shape), offsets[id(value)]])
    head = json.dumps({"description": description, "arrays": entries}).encode()
    head += b" " * (-(len(head) + 8) % 8)
    return b"".join([len(head).to_bytes(8, "little"), head, *blobs])
