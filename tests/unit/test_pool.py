"""The kernels' helper threads (``runtime/pool.py``, ``runtime/_helpers.py``): kept from call to call, they run
a split call's slices in compiled code; the numbers are one thread's, an idle process stays idle, a forked child
makes its own, a job's error reaches the caller, concurrent callers agree."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from tfjs_interop.runtime import compiled, threads
from tfjs_interop.runtime.layers.recurrent import GRU, LSTM, SimpleRNN

pytestmark = pytest.mark.needs("numba")


@pytest.fixture
def two_threads():
    compiled.set_compiled(True)
    threads.set_num_threads(2)
    yield
    threads.set_num_threads(None)
    compiled.set_compiled(None)


@pytest.fixture
def fast():
    if not compiled._kernels().FAST:
        pytest.skip("the helpers run the compiled GEMM's large-batch loop (AVX2 with FMA, or AVX-512)")


def _layer(cls, units: int, features: int, **config):
    layer = cls("rnn", cls.__name__, {"units": units, "return_sequences": True, "return_state": True, **config})
    layer.ensure_built((None, None, features))
    rng = np.random.default_rng(units)
    for variable in layer.weights:
        variable.value = rng.uniform(-0.9, 0.9, variable.shape).astype(np.float32)
    return layer


def _helpers():
    from tfjs_interop.runtime import pool

    return pool


@pytest.mark.usefixtures("two_threads", "fast")
@pytest.mark.parametrize("cls,config", [(LSTM, {}), (GRU, {"reset_after": True}), (GRU, {"reset_after": False}),
                                        (SimpleRNN, {}), (LSTM, {"go_backwards": True})])
def test_slices_run_by_helpers_have_one_threads_bits(cls, config, monkeypatch):
    monkeypatch.setattr(compiled, "MIN_HELPER_SLICE_WORK", 0)  # split these small batches all the same
    layer = _layer(cls, 24, 5, **config)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 7, 5)).astype(np.float32)
    mask = rng.random((64, 7)) > 0.25
    threads.set_num_threads(1)
    want = [layer.call(x), layer.call(x, mask=mask)]
    threads.set_num_threads(2)
    posted: list[int] = []
    helper_class = _helpers().Helper
    post = helper_class.post
    monkeypatch.setattr(helper_class, "post", lambda self, poster, args: (posted.append(1), post(self, poster, args)))
    for _ in range(3):  # the same helper, job after job
        got = [layer.call(x), layer.call(x, mask=mask)]
        for a, b in zip(sum(want, []), sum(got, [])):
            assert np.array_equal(a, b)
    assert len(posted) == 6


def _cpu_ticks(native_id: int) -> int:
    """A thread's user and system time in clock ticks (Linux's /proc)."""
    fields = open(f"/proc/self/task/{native_id}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads a thread's CPU time from /proc")
@pytest.mark.usefixtures("two_threads", "fast")
def test_an_idle_helper_parks():
    """After a job a helper spins for ``SPIN_S`` (200 µs), then parks: an idle process uses no CPU for it. (A
    helper that kept spinning would take ~50 ticks in the half second.)"""
    layer = _layer(LSTM, 32, 8)
    x = np.random.default_rng(0).standard_normal((64, 10, 8)).astype(np.float32)
    want = layer.call(x)
    helper = _helpers()._helpers[0]
    deadline = time.monotonic() + 10
    while helper.native_id is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    before = _cpu_ticks(helper.native_id)
    time.sleep(0.5)
    assert _cpu_ticks(helper.native_id) - before <= 2
    assert all(np.array_equal(a, b) for a, b in zip(layer.call(x), want))  # the parked helper wakes for a job


@pytest.mark.usefixtures("two_threads", "fast")
def test_a_jobs_error_reaches_the_caller_and_the_helper_serves_on():
    pool = _helpers()
    h = pool.compiled()
    helpers = pool.engage(1)
    assert helpers
    bad = np.zeros((3, 2, 4), np.float32)  # packed weights of a shape the kernel's GEMM refuses
    z = np.zeros((2, 4), np.float32)
    args = (bad, bad, z[0], bad, z[0], z, z, np.zeros((0, 0), bool), 0, 1, 2, bad, z, z)
    strided = np.zeros((4, 8), np.float32)[:, ::2]  # the helper would read it as contiguous: refused, not posted
    with pytest.raises(ValueError, match="C-contiguous"):
        helpers[0].post(h.post_lstm_steps, (*args[:5], strided, *args[6:]))
    assert not h.pending(helpers[0].box)
    helpers[0].post(h.post_lstm_steps, args)
    with pytest.raises(ValueError, match="_gemm"):
        pool.finish(helpers, "in a test")
    layer = _layer(LSTM, 16, 3)
    x = np.random.default_rng(1).standard_normal((96, 5, 3)).astype(np.float32)
    threads.set_num_threads(1)
    want = layer.call(x)
    threads.set_num_threads(2)
    assert all(np.array_equal(a, b) for a, b in zip(layer.call(x), want))


@pytest.mark.usefixtures("two_threads")
def test_concurrent_callers_agree():
    """One call holds the helpers; calls made meanwhile start threads of their own."""
    layer = _layer(GRU, 32, 8, reset_after=True)
    x = np.random.default_rng(3).standard_normal((128, 12, 8)).astype(np.float32)
    want = layer.call(x)
    results: list = []
    errors: list = []

    def work() -> None:
        try:
            results.extend(layer.call(x) for _ in range(20))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors and len(results) == 80
    assert all(np.array_equal(a, b) for got in results for a, b in zip(got, want))


FORK = """
import os, sys, numpy as np, tfjs_interop
from tfjs_interop.runtime import compiled, pool
from tfjs_interop.runtime.layers.recurrent import LSTM
compiled.set_compiled(True)
tfjs_interop.set_num_threads(2)
layer = LSTM("rnn", "LSTM", {"units": 32, "return_sequences": True})
layer.ensure_built((None, None, 8))
for v in layer.weights:
    v.value = np.random.default_rng(0).uniform(-0.5, 0.5, v.shape).astype(np.float32)
x = np.random.default_rng(1).standard_normal((64, 10, 8)).astype(np.float32)
want = layer.call(x)
assert pool._helpers, "the parent has helpers"
pid = os.fork()
if pid == 0:
    ok = not pool._helpers and np.array_equal(layer.call(x), want) and len(pool._helpers) == 1
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status), np.array_equal(layer.call(x), want))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
@pytest.mark.usefixtures("fast")
def test_a_forked_child_makes_its_own_helpers():
    result = subprocess.run([sys.executable, "-c", FORK], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "True"]


@pytest.mark.usefixtures("two_threads", "fast")
def test_an_interrupted_call_ends_after_its_helpers_and_the_next_has_its_numbers(monkeypatch):
    """Ctrl-C (a signal's exception) landing while the caller waits for its helpers: the call still waits for
    them before it raises, so the next call, which reuses the scratch they write, gets its own numbers (an
    interrupt that left a helper running gave the next call wrong ones)."""
    monkeypatch.setattr(compiled, "MIN_HELPER_SLICE_WORK", 0)
    layer = _layer(LSTM, 32, 8)
    x = np.random.default_rng(3).standard_normal((512, 40, 8)).astype(np.float32)
    want = layer.call(x)
    # the helper's slice 63 times the caller's, so that the caller's wait begins while the helper works
    monkeypatch.setattr(threads, "slice_bounds", lambda rows, min_rows, count: [0, rows - rows // 64, rows])
    pool = _helpers()
    finish, raised = pool.Helper.finish, []

    def interrupted_once(self):
        if not raised:
            raised.append(1)
            raise KeyboardInterrupt  # as a SIGINT handled just as the wait began
        return finish(self)

    monkeypatch.setattr(pool.Helper, "finish", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        layer.call(x)
    assert raised and not any(pool.compiled().pending(helper.box) for helper in pool._helpers)
    for a, b in zip(want, layer.call(x)):
        assert np.array_equal(a, b)


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")
def test_a_signal_during_a_thread_per_call_wait_waits_for_the_thread():
    """``threads.run_split``: a KeyboardInterrupt raised while the caller waits for its started threads is
    raised once they are done, not while they still write the call's arrays."""
    finished = []

    def share(b0: int, b1: int) -> None:
        if b0 == 0:
            time.sleep(0.3)
            finished.append(b0)
        else:
            signal.setitimer(signal.ITIMER_REAL, 0.05)

    def interrupt(*_):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            threads.run_split(share, 2, 1, 2)
        assert finished == [0]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
