"""Shared pytest set-up: what a test's markers need (``tensorflow``, ``node``, ``needs(...)``) is checked at
collection and again before its fixtures: skipped where missing, failed where TFJS_INTEROP_REQUIRE_* says it must be
here (tests/support/requires.py). ``each_loop`` runs a test under each RNN time loop (NumPy, compiled whole loop,
compiled large-batch loop with the compiled GEMM and with BLAS products, compiled on two threads)."""

from __future__ import annotations

import pytest

from tests.support import requires
from tfjs_interop.runtime import compiled, threads


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    requires.skip_what_is_missing(items)


def pytest_runtest_setup(item: pytest.Item) -> None:
    requires.check_markers(item)


@pytest.fixture(params=["numpy", "compiled", "compiled_stepwise", "compiled_blas", "compiled_threads",
                        "compiled_helpers"])
def each_loop(request, monkeypatch):
    """Force the RNN time loop for the test: NumPy, or numba's where it applies (its whole-loop kernels, or its
    large-batch loop whatever the size: with the compiled GEMM where the CPU has AVX-512 or AVX2 with FMA, and with
    NumPy's BLAS making each step's products, as on other CPUs), or on two threads whatever the size (a batch split
    between them, or a single sample's units shared, the threads meeting at every step), or the large-batch loop
    split with the pool's helper thread (``runtime/pool.py``) whatever the size. The compiled ones need numba (the
    fast extra; the test extra installs it, so CI runs all six)."""
    if request.param != "numpy":
        requires.need("numba")
    if request.param in ("compiled_stepwise", "compiled_blas", "compiled_helpers"):
        monkeypatch.setattr(compiled, "WHOLE_LOOP_WORK", 0)
    if request.param == "compiled_blas":
        monkeypatch.setattr(compiled._kernels(), "FAST", False)
    if request.param == "compiled_threads":
        monkeypatch.setattr(compiled, "MIN_SLICE_WORK", 1)
        monkeypatch.setattr(compiled, "MIN_ROWS_PER_THREAD", 1)
        monkeypatch.setattr(compiled, "MIN_PART_STEP_WORK", 1)
        threads.set_num_threads(2)
    if request.param == "compiled_helpers":
        monkeypatch.setattr(compiled, "MIN_HELPER_SLICE_WORK", 1)
        monkeypatch.setattr(compiled, "MIN_ROWS_PER_THREAD", 1)
        threads.set_num_threads(2)
    compiled.set_compiled(request.param != "numpy")
    yield request.param
    compiled.set_compiled(None)
    threads.set_num_threads(None)
