"""Per-thread scratch arrays (``runtime.workspace``) and the time loops that use them at large batches: a result
never shares memory with a scratch array, so a later call cannot change it."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tfjs_interop.runtime import compiled, workspace
from tfjs_interop.runtime.layers.recurrent import GRU, LSTM, SimpleRNN

CLASSES = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}


def test_a_thread_gets_its_array_again_and_other_threads_their_own():
    workspace.release()
    first = workspace.scratch("test.a", (256, 128))
    again = workspace.scratch("test.a", (128, 128))  # smaller: the same memory
    assert np.shares_memory(first, again)
    assert not np.shares_memory(first, workspace.scratch("test.b", (256, 128)))
    elsewhere = []
    thread = threading.Thread(target=lambda: elsewhere.append(workspace.scratch("test.a", (256, 128))))
    thread.start()
    thread.join()
    assert not np.shares_memory(first, elsewhere[0])
    workspace.release()


def test_small_arrays_are_fresh_and_a_thread_keeps_a_bounded_amount(monkeypatch):
    workspace.release()
    small = workspace.scratch("test.small", (4, 4))
    assert not np.shares_memory(small, workspace.scratch("test.small", (4, 4)))
    monkeypatch.setattr(workspace, "KEPT_BYTES", 1 << 20)
    kept = workspace.scratch("test.big", (200, 1024))  # 800 KB: kept
    assert np.shares_memory(kept, workspace.scratch("test.big", (200, 1024)))
    over = workspace.scratch("test.other", (100, 1024))  # 400 KB more would pass 1 MB: fresh each time
    assert not np.shares_memory(over, workspace.scratch("test.other", (100, 1024)))
    assert workspace.scratch_zeros("test.big", (200, 1024)).any() is np.False_
    workspace.release()


@pytest.fixture
def restore_switch():
    yield
    compiled.set_compiled(None)


@pytest.mark.usefixtures("restore_switch")
@pytest.mark.parametrize("class_name", list(CLASSES))
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("use_compiled", [False, True])
def test_a_large_batchs_results_survive_the_next_call(class_name, return_sequences, use_compiled):
    """Large batches run on scratch inputs, states and products: what a call returned (outputs, states) is its
    own, unchanged by the next call on other inputs, and equal to a run without scratch arrays."""
    if use_compiled and not compiled.compiled_available():
        pytest.skip("numba is not installed")
    compiled.set_compiled(use_compiled)
    layer = CLASSES[class_name]("rnn", class_name, {"units": 48, "return_sequences": return_sequences,
                                                    "return_state": False}, None)
    layer.ensure_built((None, None, 40))
    rng = np.random.default_rng(7)
    for variable in layer.weights:
        variable.value = rng.uniform(-0.5, 0.5, variable.shape).astype(np.float32)
    # x: 576 KB, in scratch; 6 steps: the NumPy loop ends in its first state buffers, scratch too
    x1, x2 = (rng.standard_normal((600, 6, 40)).astype(np.float32) for _ in range(2))
    first = layer.call(x1)
    kept = first.copy()
    second = layer.call(x2)
    assert not np.shares_memory(first, second)
    assert np.array_equal(first, kept)
    workspace.release()
    with pytest.MonkeyPatch.context() as patch:  # every array fresh: the same numbers
        patch.setattr(workspace, "MIN_BYTES", 1 << 62)
        patch.setattr("tfjs_interop.runtime.layers.recurrent.MIN_BYTES", 1 << 62)
        assert np.array_equal(layer.call(x1), kept)
