"""numba's on-disk cache of the compiled kernels, keyed to every source file they are compiled from.

numba keys a cached function to the contents of its own file (a SHA-256 of it, in numba 0.68), not to the files
of the functions it inlines: after an edit of ``_gemm.py`` or ``_cell_steps.py`` alone (a ``git pull`` into an
editable install, a developer's change), ``_kernels``' cached machine code would load with the old GEMM tiles or
activations baked in, against weights packed by the new ``_gemm.pack``: an error at best, other numbers at worst.
Each kernel module ends with ``stamp_with_sources``, which keys its functions' cache to the contents of all the
kernel modules' files (``KERNEL_SOURCES``), whichever of them a process imports, so a change to any of them compiles
them all again. It reaches into numba's cache objects (``Dispatcher._cache._cache_file._source_stamp``, numba 0.59
to 0.68); where they are not there (another numba, caching off) or the files cannot be read, numba's own stamps
stay.
"""

from __future__ import annotations

import functools
import hashlib
import os
from types import ModuleType

# what the kernels are compiled from
KERNEL_SOURCES = ("_sync.py", "_gemm.py", "_cell_steps.py", "_kernels.py", "_helpers.py")


def sources_stamp(paths: tuple[str, ...]) -> tuple[bytes, ...] | None:
    """The SHA-256 of each file of ``paths``, in order, or None where one cannot be read (read through this
    module's loader: a zipped install reads too)."""
    try:
        return tuple(hashlib.sha256(__loader__.get_data(path)).digest() for path in paths)
    except (OSError, AttributeError):
        return None


@functools.cache
def kernel_sources_stamp() -> tuple[bytes, ...] | None:
    """``sources_stamp`` of ``KERNEL_SOURCES`` (read once per process)."""
    folder = os.path.dirname(__file__)
    return sources_stamp(tuple(os.path.join(folder, name) for name in KERNEL_SOURCES))


def stamp_with_sources(module: ModuleType, paths: tuple[str, ...] | None = None) -> int:
    """Key the cache of every compiled function defined in ``module`` to the contents of ``paths`` (by default the
    kernel sources; see the module's docstring); before any of them is compiled or loaded. The number of functions
    stamped."""
    stamp = kernel_sources_stamp() if paths is None else sources_stamp(tuple(paths))
    if stamp is None:
        return 0
    count = 0
    for value in vars(module).values():
        cache_file = getattr(getattr(value, "_cache", None), "_cache_file", None)
        if getattr(getattr(value, "py_func", None), "__module__", None) != module.__name__ or \
                not hasattr(cache_file, "_source_stamp"):
            continue
        cache_file._source_stamp = stamp
        count += 1
    return count
