"""The batching worker on its own (no HTTP): what it merges, the queue limit, and what it never merges."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import TFJS_FIXTURES, expected
from tfjs_interop.errors import InputError
from tfjs_interop.serving.batching import BatchingOptions, ModelWorker, merge_check
from tfjs_interop.serving.rest import RestError

SEED = TFJS_FIXTURES / "seed_lstm"


def _gated(model):
    """``model`` whose predict says it started, waits for ``gate`` and records the batch sizes it ran (the numbers
    stay real)."""
    gate, started, sizes, predict = threading.Event(), threading.Event(), [], model.predict

    def waiting_predict(x, batch_size=None):
        started.set()
        assert gate.wait(30)
        sizes.append(len(x[0]))
        return predict(x, batch_size)

    model.predict = waiting_predict
    return gate, started, sizes


def test_waiting_requests_are_merged_and_each_gets_its_own_rows():
    model = tfjs_interop.load(SEED)
    x, y = np.load(SEED / "call0_input0.npy"), np.load(SEED / "call0_output0.npy")
    worker = ModelWorker(model, "seed", BatchingOptions(enabled=True, max_batch_size=4, batch_timeout_micros=0))
    gate, started, sizes = _gated(model)  # after the start-up probe
    first = worker.submit([x[:1]])
    assert started.wait(30)  # running, held at the gate: the next ones queue
    rest = [worker.submit([x[i:i + 1]]) for i in (1, 2, 0)] + [worker.submit([x[:2]])]
    gate.set()
    for task, rows in zip([first, *rest], [[0], [1], [2], [0], [0, 1]]):
        np.testing.assert_allclose(task.future.result(30)[0], y[rows], atol=expected(SEED)["atol"], rtol=0)
    worker.close(30)
    assert sizes == [1, 3, 2]  # the held one; 3 singles merged; the pair would overflow 4, so it runs next
    assert rest[0].batch_size == 3 and rest[3].batch_size == 2


def test_a_full_queue_refuses_with_503_and_a_big_request_with_400():
    model = tfjs_interop.load(SEED)
    x = np.load(SEED / "call0_input0.npy")
    worker = ModelWorker(model, "seed", BatchingOptions(enabled=True, max_batch_size=2, max_enqueued_batches=1,
                                                         batch_timeout_micros=0))
    gate, started, _ = _gated(model)
    held = worker.submit([x[:1]])
    assert started.wait(30)
    queued = [worker.submit([x[:1]]), worker.submit([x[:1]])]  # 2 samples: one batch's worth
    with pytest.raises(RestError) as full:
        worker.submit([x[:1]])
    assert full.value.status == 503 and "queue" in full.value.message
    with pytest.raises(RestError) as big:
        worker.submit([x[:3]])
    assert (big.value.status, big.value.message) == (400, "Task size 3 is larger than maximum input batch size 2")
    gate.set()
    assert all(t.future.result(30)[0].shape == (1, 10, 32) for t in [held, *queued])
    worker.close(30)
    with pytest.raises(RestError) as closed:
        worker.submit([x[:1]])
    assert closed.value.status == 503


def test_stateful_fixed_batch_and_sample_mixing_models_are_not_merged():
    assert merge_check(tfjs_interop.load(TFJS_FIXTURES / "lstm_stateful"))[1].startswith("the model is stateful")
    assert "a probe batch" in merge_check(tfjs_interop.load(TFJS_FIXTURES / "merged_mask_rnn"))[1]
    assert merge_check(tfjs_interop.load(SEED)) == (True, "")


def test_a_failing_merged_batch_is_answered_request_by_request():
    model = tfjs_interop.load(SEED)
    x = np.load(SEED / "call0_input0.npy")
    worker = ModelWorker(model, "seed", BatchingOptions(enabled=True, max_batch_size=8, batch_timeout_micros=0))
    gate, started, _ = _gated(model)
    predict = model.predict

    def fails_on_zeros(feeds, batch_size=None):
        if not np.any(feeds[0][-1]):
            raise InputError("this request's input is refused")
        return predict(feeds, batch_size)

    model.predict = fails_on_zeros
    held = worker.submit([x[:1]])
    assert started.wait(30)
    good, bad = worker.submit([x[1:2]]), worker.submit([np.zeros((1, 10, 8), np.float32)])
    gate.set()
    assert held.future.result(30)[0].shape == (1, 10, 32) and good.future.result(30)[0].shape == (1, 10, 32)
    with pytest.raises(InputError):
        bad.future.result(30)
    worker.close(30)


def test_batching_options_are_checked():
    with pytest.raises(InputError, match="max_batch_size must be a positive integer, got 0"):
        BatchingOptions(max_batch_size=0)
    with pytest.raises(InputError, match="batch_timeout_micros"):
        BatchingOptions(batch_timeout_micros=-1)
