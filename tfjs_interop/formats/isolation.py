"""Run the HDF5 library on untrusted bytes in a forked child, so that a corrupt file cannot crash or hang us.

h5py wraps the HDF5 C library, which is not hardened against hostile files: fuzzing Keras ``.h5`` files here made
it segfault and loop forever (a flipped byte in an attribute header). So the part of a load that touches HDF5 runs
in a child process (``os.fork``: no re-import, a few milliseconds), which sends back what it read through a pipe —
a JSON description and the weight arrays, as an ``.npz`` stream read with ``allow_pickle=False``. A crash, a
timeout or an unreadable answer becomes a :class:`ModelFormatError`; the child's own errors are raised as the same
error classes. Where ``os.fork`` does not exist (Windows), or ``TFJS_INTEROP_HDF5_IN_PROCESS=1`` is set, the
function runs in this process.
"""

from __future__ import annotations

import faulthandler
import io
import json
import os
import select
import signal
import time
from collections.abc import Callable

import numpy as np

from .. import errors
from ..errors import ModelFormatError, TfjsInteropError

ENV_SWITCH = "TFJS_INTEROP_HDF5_IN_PROCESS"
BASE_TIMEOUT = float(os.environ.get("TFJS_INTEROP_HDF5_TIMEOUT", "60"))  # seconds, plus one per 50 MB of input
Result = tuple[object, dict[str, np.ndarray]]  # (JSON-able description, named arrays)


def isolated(function: Callable[..., Result], data: bytes, *args: object, source: str) -> Result:
    """``function(data, *args)``, run in a forked child when possible.

    Raises:
        ModelFormatError: when the child crashes, runs past its timeout or answers nonsense.
        TfjsInteropError: the child's own error, of the same class, when ``function`` raised one.
    """
    if not hasattr(os, "fork") or os.environ.get(ENV_SWITCH) == "1":
        return function(data, *args)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _child(function, data, args, write_end)
    os.close(write_end)
    timeout = BASE_TIMEOUT + len(data) / 50e6
    try:
        answer = _read_all(read_end, time.monotonic() + timeout)
    finally:
        os.close(read_end)
    status = _reap(pid, answer is None)
    if answer is None:
        raise ModelFormatError(f"{source}: reading the HDF5 data took over {timeout:.0f} s; the file is corrupt or "
                               "hostile (stopped)")
    if os.WIFSIGNALED(status):
        raise ModelFormatError(f"{source}: the HDF5 library crashed reading the file "
                               f"({signal.Signals(os.WTERMSIG(status)).name}); the file is corrupt")
    return _decode(answer, source)


def _child(function: Callable[..., Result], data: bytes, args: tuple, fd: int) -> None:
    faulthandler.disable()  # a crash here is reported by the parent, not dumped on the terminal
    code = 0
    try:
        try:
            description, arrays = function(data, *args)
            payload = _encode({"ok": description}, arrays)
        except TfjsInteropError as exc:
            payload = _encode({"error": type(exc).__name__, "message": str(exc)}, {})
        except Exception as exc:  # noqa: BLE001 - whatever h5py raises on a corrupt file is reported, not lost
            payload = _encode({"error": "ModelFormatError", "message": f"cannot read the HDF5 data: "
                                                                       f"{type(exc).__name__}: {exc}"}, {})
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(payload)
    except BaseException:  # noqa: BLE001 - the child must never return into the caller's code
        code = 1
    finally:
        os._exit(code)


def _encode(description: object, arrays: dict[str, np.ndarray]) -> bytes:
    names = list(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, description=np.array(json.dumps({"description": description, "names": names})),
             **{f"a{i}": np.asarray(arrays[name]) for i, name in enumerate(names)})
    return buffer.getvalue()


def _decode(answer: bytes, source: str) -> Result:
    try:
        with np.load(io.BytesIO(answer), allow_pickle=False) as npz:
            head = json.loads(str(npz["description"]))
            arrays = {name: npz[f"a{i}"] for i, name in enumerate(head["names"])}
    except Exception as exc:  # noqa: BLE001 - a child that died mid-write
        raise ModelFormatError(f"{source}: reading the HDF5 data failed ({type(exc).__name__}); the file is "
                               "corrupt") from None
    description = head["description"]
    if "error" in description:
        cls = getattr(errors, description["error"], None)
        if not (isinstance(cls, type) and issubclass(cls, TfjsInteropError)):
            cls = ModelFormatError
        raise cls(description["message"])
    return description["ok"], arrays


def _read_all(fd: int, deadline: float) -> bytes | None:
    """Everything the child writes, or None if it is not done by ``deadline``."""
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _reap(pid: int, kill: bool) -> int:
    if kill:
        os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]
