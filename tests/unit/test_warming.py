"""``tfjs_interop.warm_up(*models)``: the kernels a model's calls use are made ready before its first requests
(numba compiles a kernel for each kind of call it sees: seconds each without its on-disk cache)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import TFJS_FIXTURES, expected
from tfjs_interop import warming
from tfjs_interop.runtime import compiled

needs_numba = pytest.mark.needs("numba")

READY = """
import sys, numpy as np, tfjs_interop
from tfjs_interop.runtime import compiled
tfjs_interop.set_num_threads(int(sys.argv[2]))
model = tfjs_interop.load(sys.argv[1])
assert tfjs_interop.warm_up(model)
kernels = [getattr(module, name) for module in (compiled._kernels(), __import__("tfjs_interop.runtime._helpers",
           fromlist=["_"])) for name in dir(module) if hasattr(getattr(module, name), "signatures")]
ready = [list(k.signatures) for k in kernels]
assert any(ready), "nothing was compiled or loaded"
shape = model.inputs[0].shape[1:]
for batch in (1, 3, 5, 40, 200):
    model.predict(np.random.default_rng(batch).standard_normal((batch, *shape)).astype(np.float32))
print([list(k.signatures) for k in kernels] == ready)
"""


@needs_numba
@pytest.mark.parametrize("name", ["seed_lstm", "gru_seq", "bidi_gru"])
@pytest.mark.parametrize("threads", [1, 2])
def test_after_warming_up_calls_of_any_batch_compile_nothing(name, threads):
    """In a fresh process: once ``warm_up(model)`` returns, the model's calls at other batch sizes find every
    kernel they use ready (in a process of its own, where no earlier call has made them)."""
    result = subprocess.run([sys.executable, "-c", READY, str(TFJS_FIXTURES / name), str(threads)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True"]


@needs_numba
def test_warming_up_leaves_a_stateful_model_as_loaded():
    case = TFJS_FIXTURES / "lstm_stateful"
    warmed, fresh = (tfjs_interop.load(case / "model.json") for _ in range(2))
    assert tfjs_interop.warm_up(warmed)
    x = [np.load(case / n) for n in expected(case)["calls"][0]["inputs"]]
    try:
        assert np.array_equal(warmed.predict(x), fresh.predict(x))
    finally:
        compiled.set_compiled(None)


def test_warming_up_with_compiled_use_off_runs_nothing(monkeypatch):
    model = tfjs_interop.load(TFJS_FIXTURES / "seed_lstm" / "model.json")
    monkeypatch.setattr(model, "predict", lambda *a, **k: pytest.fail("predict ran"))
    compiled.set_compiled(False)
    try:
        assert tfjs_interop.warm_up(model) is False
    finally:
        compiled.set_compiled(None)


def test_warming_up_runs_only_models_the_kernels_serve_and_bounds_the_batch(monkeypatch):
    dense = tfjs_interop.load(TFJS_FIXTURES / "conv2d_dilated" / "model.json")
    assert not warming._runs_kernels(dense)
    seed = tfjs_interop.load(TFJS_FIXTURES / "seed_lstm" / "model.json")
    assert warming._runs_kernels(seed) and warming._batches(seed) == warming.WARM_BATCHES
    monkeypatch.setattr(warming, "MAX_INPUT_BYTES", 10 * 8 * 4 * 3)  # three of the seed model's samples
    assert warming._batches(seed) == (1, 2, 3)
