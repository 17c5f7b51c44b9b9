"""Progress bars for long work (predict over many batches, downloads, conversions), drawn by tqdm on stderr.

tqdm is optional (``pip install 'tfjs-interop[progress]'``): the run-time dependencies stay numpy and h5py; without
it "auto" draws nothing and ``1`` prints the one line of ``2``. ``verbose`` follows Keras's ``predict``: ``"auto"``
draws a bar when stderr is a terminal (quiet in logs, pipes and servers), ``1`` always, ``0`` never, ``2`` one line
when done.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from .errors import InputError

VERBOSE_VALUES = ("auto", 0, 1, 2)


class Bar(Protocol):
    """What a progress bar offers the work it follows."""

    def update(self, n: float = 1) -> object: ...


class _Silent:
    def update(self, n: float = 1) -> None:
        pass


def check_verbose(verbose: object) -> None:
    """Refuse a ``verbose`` value Keras would not take."""
    if isinstance(verbose, bool) or verbose not in VERBOSE_VALUES:
        raise InputError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")


def _tqdm():  # noqa: ANN202 (the tqdm class, or None)
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


@contextmanager
def progress(total: float, description: str, verbose: object = "auto", unit: str = "batch") -> Iterator[Bar]:
    """A bar over ``total`` units of work, shown as ``verbose`` asks (see the module docstring).

    Raises:
        InputError: for a ``verbose`` value Keras would not take.
    """
    check_verbose(verbose)
    stream = sys.stderr
    shown = verbose == 1 or (verbose == "auto" and total > 1 and _is_terminal(stream))
    tqdm = _tqdm() if shown else None
    if tqdm is None:
        started = time.perf_counter()
        yield _Silent()
        if verbose in (1, 2):  # 1 without tqdm: the line of 2 rather than nothing
            units = unit + ("es" if unit.endswith("ch") else "s")
            print(f"{description}: {total:g}/{total:g} {units} - {time.perf_counter() - started:.2f}s", file=stream)
        return
    with tqdm(total=total, desc=description, unit=unit, file=stream, leave=False, dynamic_ncols=True) as bar:
        yield bar


def _is_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False
