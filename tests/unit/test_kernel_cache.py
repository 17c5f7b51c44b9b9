"""numba's on-disk cache against edits of the files a kernel inlines (``runtime/_kernel_cache.py``): numba alone
keeps serving a kernel compiled with an old helper; stamped with all the sources' contents, the kernel is compiled
again, whatever the files' modification times say."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.needs("numba")

HELPER = "from numba import njit\n\n\n@njit(cache=True)\ndef value():\n    return {value}\n"
KERNEL = textwrap.dedent("""
    import sys

    from numba import njit

    import helper
    from tfjs_interop.runtime._kernel_cache import stamp_with_sources


    @njit(cache=True)
    def kernel():
        return helper.value() + 1000


    if sys.argv[1] == "stamped":
        stamp_with_sources(sys.modules[__name__], (helper.__file__, __file__))
    print(kernel())
""")


def _run(folder: Path, mode: str) -> int:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), *sys.path])}
    done = subprocess.run([sys.executable, str(folder / "kernel.py"), mode], capture_output=True, text=True, env=env,
                          timeout=120, check=True)
    return int(done.stdout.split()[-1])


@pytest.mark.parametrize("mode", ["numba", "stamped"])
def test_an_edited_helper_reaches_a_cached_kernel_only_when_stamped(tmp_path: Path, mode: str) -> None:
    helper = tmp_path / "helper.py"
    helper.write_text(HELPER.format(value=1))
    (tmp_path / "kernel.py").write_text(KERNEL)
    assert _run(tmp_path, mode) == 1001  # compiled and cached
    stat = helper.stat()
    helper.write_text(HELPER.format(value=2))  # the same size ...
    os.utime(helper, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # ... and time (as cp -p, tar, rsync -a leave it)
    # numba alone: the kernel compiled with the old helper, pinned as the fault; stamped: compiled again
    assert _run(tmp_path, mode) == (1002 if mode == "stamped" else 1001)


def test_every_kernel_is_stamped_with_all_the_kernel_sources() -> None:
    from tfjs_interop.runtime import _cell_steps, _gemm, _helpers, _kernels, _sync
    from tfjs_interop.runtime._kernel_cache import KERNEL_SOURCES, kernel_sources_stamp

    stamp = kernel_sources_stamp()
    assert stamp is not None and len(stamp) == len(KERNEL_SOURCES) == 5
    kernels = [f for module in (_sync, _gemm, _cell_steps, _kernels, _helpers) for f in vars(module).values()
               if getattr(getattr(f, "py_func", None), "__module__", None) == module.__name__]
    assert len(kernels) > 30 and {_kernels.lstm, _gemm.matmul, _cell_steps.tanh, _sync.meet, _helpers.serve} <= \
        set(kernels)
    assert all(f._cache._cache_file._source_stamp == stamp for f in kernels)


def test_unreadable_sources_leave_numba_its_own_stamps(tmp_path: Path) -> None:
    from tfjs_interop.runtime import _gemm
    from tfjs_interop.runtime._kernel_cache import sources_stamp, stamp_with_sources

    assert sources_stamp((str(tmp_path / "missing.py"),)) is None
    before = _gemm.matmul._cache._cache_file._source_stamp
    assert stamp_with_sources(_gemm, (str(tmp_path / "missing.py"),)) == 0
    assert _gemm.matmul._cache._cache_file._source_stamp == before
