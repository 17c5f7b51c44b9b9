"""Shared fixtures: ``each_loop`` runs a test under each RNN time loop (NumPy, compiled whole loop, compiled gate
passes after BLAS products)."""

from __future__ import annotations

import pytest

from tfjs_interop.runtime import compiled


@pytest.fixture(params=["numpy", "compiled", "compiled_stepwise"])
def each_loop(request, monkeypatch):
    """Force the RNN time loop for the test: NumPy, or numba's where it applies (its whole-loop kernels, or its
    per-step gate kernels after BLAS, whatever the size). The compiled ones skip without numba; the test extra
    installs it, so CI runs all three."""
    if request.param != "numpy" and not compiled.compiled_available():
        pytest.skip("numba is not installed (the fast extra)")
    if request.param == "compiled_stepwise":
        monkeypatch.setattr(compiled, "WHOLE_LOOP_WORK", 0)
    compiled.set_compiled(request.param != "numpy")
    yield request.param
    compiled.set_compiled(None)
