"""Threads: ``set_num_threads`` / ``TFJS_INTEROP_THREADS`` / ``predict --threads`` set BLAS's threads and the
compiled kernels' alike; kernels release the GIL; numba is loaded only once it pays (the start-up rule)."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import TFJS_FIXTURES
from tests.support.requires import need
from tfjs_interop.runtime import compiled, threads
from tfjs_interop.runtime.layers.recurrent import GRU, LSTM

needs_numba = pytest.mark.needs("numba")
SEED = TFJS_FIXTURES / "seed_lstm"


@pytest.fixture
def restore():
    yield
    threads.set_num_threads(None)
    compiled.set_compiled(None)


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


@pytest.mark.parametrize("bad", [0, -2, "two", True, 1.5])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(tfjs_interop.InputError, match="positive integer"):
        tfjs_interop.set_num_threads(bad)


@pytest.mark.needs("threadpoolctl")
@pytest.mark.usefixtures("restore")
def test_set_num_threads_none_gives_blas_back_its_own_count(monkeypatch):
    monkeypatch.delenv(threads.ENV_VARIABLE, raising=False)
    before = _blas_threads()
    compiled.set_compiled(False)
    tfjs_interop.set_num_threads(1)
    tfjs_interop.set_num_threads(2 if max(before) != 2 else 3)  # a second limit: the first one's memory counts
    assert _blas_threads() != before
    tfjs_interop.set_num_threads(None)
    assert _blas_threads() == before and tfjs_interop.get_num_threads() is None


@pytest.mark.needs("threadpoolctl")
@pytest.mark.usefixtures("restore")
def test_set_num_threads_limits_blas_and_the_kernels():
    before = _blas_threads()
    try:
        compiled.set_compiled(False)  # the NumPy loop: the threads are BLAS's
        tfjs_interop.set_num_threads(1)
        assert _blas_threads() == [1] * len(before) and threads.kernel_threads() == 1
        tfjs_interop.set_num_threads(2)
        assert _blas_threads() == [2] * len(before) and threads.kernel_threads() == 2
        assert tfjs_interop.get_num_threads() == 2
        if compiled.compiled_available():  # the compiled kernels: the threads are theirs, one BLAS thread each
            compiled.set_compiled(True)
            tfjs_interop.set_num_threads(2)
            assert _blas_threads() == [1] * len(before) and threads.kernel_threads() == 2
    finally:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=max(before), user_api="blas")  # as it was


def test_environment_variable_sets_the_count(monkeypatch):
    monkeypatch.setenv(threads.ENV_VARIABLE, "3")
    assert tfjs_interop.get_num_threads() is None, "the environment is read at import, not per call"
    tfjs_interop.set_num_threads(None)  # ... and again here
    assert tfjs_interop.get_num_threads() == 3 and threads.kernel_threads() == 3
    monkeypatch.setenv(threads.ENV_VARIABLE, "lots")
    threads.read_environment()
    with pytest.raises(tfjs_interop.InputError, match="TFJS_INTEROP_THREADS must be a positive integer"):
        threads.kernel_threads()
    monkeypatch.undo()
    threads.read_environment()


def test_run_split_covers_every_row_once_and_reraises(monkeypatch):
    monkeypatch.setattr(threads, "_setting", 3)
    seen: list[tuple[int, int]] = []
    threads.run_split(lambda b0, b1: seen.append((b0, b1)), 50, 8)
    assert sorted(seen) == [(0, 16), (16, 33), (33, 50)]

    def fail(b0: int, b1: int) -> None:
        if b0 == 0:
            raise RuntimeError("in a worker")

    before = threading.active_count()
    with pytest.raises(RuntimeError, match="in a worker"):
        threads.run_split(fail, 50, 8)
    assert threading.active_count() == before  # no thread outlives the call


def _layer(cls, units: int, features: int, **config):
    layer = cls("rnn", cls.__name__, {"units": units, "return_sequences": True, **config})
    layer.ensure_built((None, None, features))
    rng = np.random.default_rng(units)
    for variable in layer.weights:
        variable.value = (rng.uniform(-1, 1, variable.shape) / np.sqrt(units)).astype(np.float32)
    return layer


@needs_numba
@pytest.mark.usefixtures("restore")
@pytest.mark.parametrize("path", ["whole", "stepwise"])
@pytest.mark.parametrize("cls,config", [(LSTM, {}), (GRU, {"reset_after": True}), (GRU, {"reset_after": False})])
def test_two_kernel_threads_give_the_numbers_of_one(cls, config, path, monkeypatch):
    monkeypatch.setattr(compiled, "WHOLE_LOOP_BATCH", 1 << 30 if path == "whole" else 0)
    monkeypatch.setattr(compiled, "MIN_SLICE_WORK", 0)  # split this small batch all the same
    monkeypatch.setattr(compiled, "MIN_HELPER_SLICE_WORK", 0)  # (by the pool's helpers where they apply)
    layer = _layer(cls, 12, 5, **config)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 6, 5)).astype(np.float32)
    mask = rng.random((37, 6)) > 0.3
    compiled.set_compiled(True)
    threads._setting = 1
    one = layer.call(x, mask=mask)
    threads._setting = 2
    # rows are independent; only BLAS may round a product of fewer rows differently (seen: 3e-8)
    np.testing.assert_allclose(layer.call(x, mask=mask), one, rtol=1e-5, atol=2e-7)


@needs_numba
@pytest.mark.usefixtures("restore")
@pytest.mark.parametrize("batch,helpers_free,parts", [(32, True, 2), (1024, True, 2), (32, False, 1), (1024, False, 2),
                                                      (8, True, 1)])
def test_a_batch_is_split_only_where_each_slice_pays_for_its_handover(batch, helpers_free, parts, monkeypatch):
    """Handed to the pool's helpers, a slice pays from ~256K recurrent multiply-adds; on threads started per call
    (the helpers busy with another call), from ~4M."""
    from tfjs_interop.runtime import pool

    layer = _layer(LSTM, 32, 8)
    x = np.random.default_rng(1).standard_normal((batch, 10, 8)).astype(np.float32)
    compiled.set_compiled(True)
    threads._setting = 1
    one = layer.call(x)
    threads._setting = 2
    slices: list[tuple[int, int]] = []
    run_slice = compiled._run_slice
    monkeypatch.setattr(compiled, "_run_slice", lambda *args: (slices.append(args[11:13]), run_slice(*args)))
    if not helpers_free:
        assert pool._busy.acquire(timeout=10)
    try:
        got = layer.call(x)
    finally:
        if not helpers_free:
            pool._busy.release()
    fast = compiled._kernels().FAST  # the helpers run the large-batch loop on the compiled GEMM; BLAS's is Python's
    assert np.array_equal(got, one) if fast else np.allclose(got, one, rtol=1e-5, atol=2e-7)
    assert len(slices) == (parts if fast or not helpers_free else {32: 1, 1024: 2, 8: 1}[batch]), slices


@needs_numba
@pytest.mark.usefixtures("restore")
def test_concurrent_predicts_from_threads_agree():
    model = tfjs_interop.load(SEED)
    x = np.load(SEED / "call0_input0.npy")
    compiled.set_compiled(True)
    want = model.predict(x)
    results: list[np.ndarray] = []
    workers = [threading.Thread(target=lambda: results.extend(model.predict(x) for _ in range(50))) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert len(results) == 200 and all(np.array_equal(r, want) for r in results)


START_UP = """
import sys, numpy as np, tfjs_interop
model = tfjs_interop.load({seed!r})
x = np.load({x!r})
first = model.predict(x)
for _ in range(3000):
    last = model.predict(x)
print("numba" in sys.modules, last.tobytes() == first.tobytes())
big = np.tile(x, (70000, 1, 1))  # one call whose NumPy loop would lose more than loading numba costs
model.predict(big)
print("numba" in sys.modules, model.predict(x).tobytes() == first.tobytes())
tfjs_interop.warm_up()
print(float(np.max(np.abs(model.predict(x) - first))))
"""


@needs_numba
def test_the_loop_a_call_runs_depends_on_its_size_not_on_the_process_history():
    """Small calls never load numba, however many (their bits stay those of a fresh process); a call big enough to
    pay for it alone does, and leaves small calls as they were; warm_up() then switches every call, within
    float32 rounding."""
    code = START_UP.format(seed=str(SEED), x=str(SEED / "call0_input0.npy"))
    env_free = {k: v for k, v in __import__("os").environ.items() if k != compiled.ENV_SWITCH}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240, env=env_free)
    assert result.returncode == 0, result.stderr
    small, big, warmed = result.stdout.split("\n")[:3]
    assert small == "False True"
    assert big == "True True"
    assert float(warmed) < 1e-5


def test_cli_predict_threads(tmp_path):
    out = tmp_path / "y.npy"
    command = [sys.executable, "-m", "tfjs_interop", "predict", str(SEED), "-i", str(SEED / "call0_input0.npy"),
               "-o", str(out)]
    result = subprocess.run([*command, "--threads", "2"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(np.load(out), tfjs_interop.load(SEED).predict(np.load(SEED / "call0_input0.npy")),
                               atol=1e-5)
    result = subprocess.run([*command, "--threads", "0"], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "--threads" in result.stderr and "positive integer" in result.stderr


@pytest.mark.needs("threadpoolctl")
@pytest.mark.parametrize("compiled_switch,blas", [("0", 2), ("1", 1)])
def test_environment_variable_limits_blas_from_import(compiled_switch, blas):
    """TFJS_INTEROP_THREADS=2: BLAS gets both threads under the NumPy loop, one under the compiled kernels (whose
    two threads each run a slice of the batch), from the first predict (``import tfjs_interop`` loads nothing)."""
    if compiled_switch == "1":
        need("numba")
    code = (f"import numpy, tfjs_interop; tfjs_interop.load({str(SEED)!r}).predict(numpy.zeros((1, 10, 8))); "
            "from threadpoolctl import threadpool_info; "
            "print(sorted({p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas'}))")
    env = {**__import__("os").environ, threads.ENV_VARIABLE: "2", compiled.ENV_SWITCH: compiled_switch}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"[{blas}]"
