"""Shared fixtures: ``each_loop`` runs a test under each RNN time loop."""

from __future__ import annotations

import pytest

from tfjs_interop.runtime import compiled


@pytest.fixture(params=["numpy", "compiled", "fused"])
def each_loop(request, monkeypatch):
    """Force the RNN time loop for the test: NumPy; numba's whole loop where it applies; or NumPy's loop with
    numba's fused step kernels (as at large batches). The numba ones skip without numba; the test extra installs
    it, so CI runs all three."""
    if request.param != "numpy" and not compiled.compiled_available():
        pytest.skip("numba is not installed (the fast extra)")
    if request.param == "fused":
        monkeypatch.setattr(compiled, "MAX_STEP_WORK", -1)
    compiled.set_compiled(request.param != "numpy")
    yield request.param
    compiled.set_compiled(None)
