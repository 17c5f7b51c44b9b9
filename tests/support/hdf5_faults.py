"""Functions the HDF5 worker runs in tests (it imports functions by name, so they live in a module)."""

from __future__ import annotations

import os
import signal
import time

from tfjs_interop.errors import SecurityError


def crash(data: bytes):
    os.kill(os.getpid(), signal.SIGSEGV)


def refuse(data: bytes):
    raise SecurityError("x.h5: refused")


def hang(data: bytes):
    time.sleep(3600)


def echo(data: bytes, name: str):
    import numpy as np

    return {"name": name, "pid": os.getpid()}, {"data": np.frombuffer(data, np.uint8)}
