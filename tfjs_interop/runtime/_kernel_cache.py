"""numba's on-disk cache of the compiled kernels, keyed to every source file they are compiled from.

numba keys a cached function to its own file's modification time and size, not to the files of the functions it
inlines: after an edit of ``_gemm.py`` or ``_cell_steps.py`` alone (a ``git pull`` into an editable install, a
developer's change), ``_kernels``' cached machine code would load with the old GEMM tiles or activations baked in,
against weights packed by the new ``_gemm.pack``: an error at best, other numbers at worst. ``stamp_with_sources``
stamps each kernel's cache index with all the kernel modules' files instead, so a change to any of them compiles
them all again. It reaches into numba's cache objects (``Dispatcher._cache._cache_file._source_stamp``, numba 0.59 to
0.68); where they are not there (another numba, caching off), it leaves numba's own stamps.
"""

from __future__ import annotations

import os
from types import ModuleType


def sources_stamp(modules: list[ModuleType]) -> tuple:
    """The modification time and size of each module's file, in order (numba's stamp of one file, for several)."""
    stamp = []
    for module in modules:
        st = os.stat(module.__file__)
        stamp.append((st.st_mtime, st.st_size))
    return tuple(stamp)


def stamp_with_sources(modules: list[ModuleType]) -> int:
    """Key the cache of every compiled function defined in ``modules`` to all their files (see the module's
    docstring); before any of them is compiled or loaded. The number of functions stamped."""
    stamp = sources_stamp(modules)
    count = 0
    for module in modules:
        for value in vars(module).values():
            cache_file = getattr(getattr(value, "_cache", None), "_cache_file", None)
            if getattr(value, "py_func", None) is None or getattr(value.py_func, "__module__", None) != \
                    module.__name__ or not hasattr(cache_file, "_source_stamp"):
                continue
            cache_file._source_stamp = stamp
            count += 1
    return count
