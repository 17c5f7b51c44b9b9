"""``tfjs_interop.warm_up(*models)``: the kernels a model's calls use are made ready before its first requests
(numba compiles a kernel for each kind of call it sees: seconds each without its on-disk cache)."""

from __future__ import annotations

import json
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
for batch, steps in ((1, 7), (3, 7), (5, 7), (40, 7), (200, 7), (1, 100), (2, 100)):
    dims = [steps if d is None else d for d in shape]
    model.predict(np.random.default_rng(batch).standard_normal((batch, *dims)).astype(np.float32))
print([list(k.signatures) for k in kernels] == ready)
"""


def _free_length_lstm(folder, units: int = 128, features: int = 4):
    """A TF.js model.json of one LSTM over sequences of any length (none of the fixtures' LSTMs is wide enough
    for its units to be shared among threads): the structure matters here, not the numbers."""
    rng = np.random.default_rng(0)
    weights = {"kernel": (features, 4 * units), "recurrent_kernel": (units, 4 * units), "bias": (4 * units,)}
    shard, entries = b"", []
    for key, shape in weights.items():
        entries.append({"name": f"lstm/{key}", "shape": list(shape), "dtype": "float32"})
        shard += rng.uniform(-0.1, 0.1, shape).astype("<f4").tobytes()
    layer = {"class_name": "LSTM", "config": {"name": "lstm", "units": units, "activation": "tanh",
                                              "recurrent_activation": "sigmoid", "use_bias": True,
                                              "batch_input_shape": [None, None, features]}}
    topology = {"class_name": "Sequential", "config": {"name": "free", "layers": [layer]}}
    (folder / "w.bin").write_bytes(shard)
    (folder / "model.json").write_text(json.dumps({"format": "layers-model", "modelTopology": topology,
                                                   "weightsManifest": [{"paths": ["w.bin"], "weights": entries}]}))
    return folder


@needs_numba
@pytest.mark.parametrize("name", ["seed_lstm", "gru_seq", "bidi_gru", "free_length_lstm"])
@pytest.mark.parametrize("threads", [1, 2])
def test_after_warming_up_calls_of_any_batch_compile_nothing(name, threads, tmp_path):
    """In a fresh process: once ``warm_up(model)`` returns, the model's calls at other batch sizes (and, where
    the steps are free, other lengths: a long one shares a sample's units among two threads) find every kernel
    they use ready (in a process of its own, where no earlier call has made them)."""
    folder = _free_length_lstm(tmp_path) if name == "free_length_lstm" else TFJS_FIXTURES / name
    result = subprocess.run([sys.executable, "-c", READY, str(folder), str(threads)],
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
    assert warming._runs_kernels(seed)
    assert [what for what, _ in warming._warming_inputs(seed)] == [f"batch {b}" for b in warming.WARM_BATCHES]
    monkeypatch.setattr(warming, "MAX_INPUT_BYTES", 10 * 8 * 4 * 3)  # three of the seed model's samples
    assert [what for what, _ in warming._warming_inputs(seed)] == ["batch 1", "batch 2", "batch 3"]


def test_a_failing_warming_run_does_not_stop_the_others(monkeypatch, caplog):
    model = tfjs_interop.load(TFJS_FIXTURES / "seed_lstm" / "model.json")
    seen, real = [], model.predict

    def predict(x):
        seen.append(len(x[0]))
        if len(seen) == 1:
            raise tfjs_interop.InputError("not this one")
        return real(x)

    monkeypatch.setattr(model, "predict", predict)
    try:
        assert tfjs_interop.warm_up(model)
    finally:
        compiled.set_compiled(None)
    assert seen == list(warming.WARM_BATCHES)
    assert "batch 1: not this one" in caplog.text


def test_a_long_run_warms_free_lengths_and_the_input_cap_holds(tmp_path, monkeypatch):
    model = tfjs_interop.load(_free_length_lstm(tmp_path) / "model.json")
    runs = warming._warming_inputs(model)
    assert [what for what, _ in runs] == [f"batch {b}" for b in warming.WARM_BATCHES] + ["128 steps"]
    assert runs[-1][1][0].shape == (1, warming.LONG_STEPS, 4)
    monkeypatch.setattr(warming, "MAX_INPUT_BYTES", 4 * 4 * warming.DEFAULT_STEPS)  # one sample of 5 steps
    assert [what for what, _ in warming._warming_inputs(model)] == ["batch 1"]
