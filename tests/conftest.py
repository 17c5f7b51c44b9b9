"""Shared fixtures: ``each_loop`` runs a test under each RNN time loop (NumPy, compiled)."""

from __future__ import annotations

import pytest

from tfjs_interop.runtime import compiled


@pytest.fixture(params=["numpy", "compiled"])
def each_loop(request):
    """Force the RNN time loop for the test: NumPy, or numba's where it applies. The compiled one skips without
    numba; the test extra installs it, so CI runs both."""
    if request.param == "compiled" and not compiled.compiled_available():
        pytest.skip("numba is not installed (the fast extra)")
    compiled.set_compiled(request.param == "compiled")
    yield request.param
    compiled.set_compiled(None)
