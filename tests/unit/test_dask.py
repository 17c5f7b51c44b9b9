"""tfjs_interop.dask on a real distributed.LocalCluster of two spawned worker processes: Dask's results equal
model.predict bit for bit, the model travels once per worker, a killed worker is survived, bad chunks fail early."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import KERAS_FIXTURES, ROOT, TFJS_FIXTURES
from tests.support.requires import module
from tfjs_interop import InputError, UnsupportedLayerError
from tfjs_interop import dask as tfjs_dask
from tfjs_interop.runtime import pickling
from tfjs_interop.sample_inputs import sample_inputs

# The dask extra (distributed brings cloudpickle and pandas): without it the module is skipped, or fails where
# TFJS_INTEROP_REQUIRE_EXTRAS=1 (tests/support/requires.py).
cloudpickle = module("cloudpickle")
dask = module("dask")
da = module("dask.array")
dd = module("dask.dataframe")
pd = module("pandas")
Client, LocalCluster = module("distributed").Client, module("distributed").LocalCluster
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module

# TF.js and Keras fixtures with masks (pre- and post-padding), several inputs and outputs, nested models
CASES = [TFJS_FIXTURES / f"{name}/model.json" for name in (
    "merge_masked_branches", "multi_io_shared_lstm", "masked_decoder_initial_state", "nested_functional_masked",
    "embedding_mask_lstm")] + [KERAS_FIXTURES / path for path in (
    "k3_multi_io_merges/model.keras", "k2_masked_encoder_decoder/model.h5", "k3_bidi_lstm_embedding_mask/model.h5")]


@pytest.fixture(scope="module")
def client():
    with dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=None, worker_dashboard_address=None) as cluster, \
            Client(cluster, timeout=60) as c:
        c.wait_for_workers(2, timeout=60)
        yield c


def _inputs(model: tfjs_interop.Model, case, batch: int = 60) -> list[np.ndarray]:
    """The fixture's recorded inputs followed by seeded ones (padded at the end, at the start and not at all)."""
    recorded = sorted(case.parent.glob("call0_input*.npy"))
    seeded = sample_inputs(model, seed=3, batch=batch)
    return [np.concatenate([np.load(path).astype(s.dtype), s]) for path, s in zip(recorded, seeded)]


def _as_list(y):
    return y if isinstance(y, list) else [y]


def _chunked(x: list[np.ndarray], chunks: tuple[int, ...]) -> list:
    return [da.from_array(a, chunks=(chunks, *a.shape[1:])) for a in x]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_dask_gives_model_predict_bit_for_bit(client, case):
    model = tfjs_interop.load(case)
    x = _inputs(model, case)
    chunks = (16, 24, 8, len(x[0]) - 48)  # whole batches of 8, so each sample sits in the batch it has in
    lazy = _as_list(tfjs_dask.predict(model, _chunked(x, chunks), batch_size=8))
    want = _as_list(model.predict(x, batch_size=8))  # ... model.predict(x, batch_size=8)
    assert len(lazy) == len(want) == len(model.outputs)
    for y, w in zip(lazy, want):  # known before computing: shape, dtype and chunks
        assert (y.shape, y.dtype, y.chunks) == (w.shape, w.dtype, (chunks, *((n,) for n in w.shape[1:])))
    for got, w in zip(client.compute(lazy, sync=True), want):
        assert got.dtype == w.dtype and got.shape == w.shape
        assert got.tobytes() == w.tobytes()


@pytest.mark.parametrize("case", CASES[:2] + CASES[-1:], ids=lambda c: c.parent.name)
def test_uneven_chunks_give_model_predict_of_each_chunk_bit_for_bit(client, case):
    """Each chunk is one model.predict call. OpenBLAS rounds a sample's sums in an order that depends on the size
    of its batch, so against one call on the whole array the numbers agree only to float32 rounding."""
    model = tfjs_interop.load(case)
    x = _inputs(model, case)
    chunks = (7, 11, 20, 20, len(x[0]) - 58)
    got = _as_list(client.compute(tfjs_dask.predict(model, _chunked(x, chunks)), sync=True))
    bounds = np.cumsum((0, *chunks))
    per_chunk = [_as_list(model.predict([a[i:j] for a in x])) for i, j in zip(bounds[:-1], bounds[1:])]
    for k, (g, whole) in enumerate(zip(got, _as_list(model.predict(x)))):
        assert g.tobytes() == np.concatenate([outputs[k] for outputs in per_chunk]).tobytes()
        np.testing.assert_allclose(g, whole, rtol=0, atol=1e-6)


def test_inputs_by_name_and_a_batch_size(client):
    case = TFJS_FIXTURES / "multi_io_shared_lstm"
    model = tfjs_interop.load(case)
    a, b = _inputs(model, case / "model.json")
    named = {model.inputs[1].name: da.from_array(b, chunks=9), model.inputs[0].name: da.from_array(a, chunks=25)}
    lazy = tfjs_dask.predict(model, named, batch_size=4)  # b's chunks are made a's
    for got, want in zip(client.compute(lazy, sync=True), model.predict([a, b])):
        assert got.tobytes() == want.tobytes()


def _count_models_built(dask_worker):
    """Count the models built in this worker process (unpickling builds one) until _stop_counting."""
    model_class = tfjs_interop.Model
    original = model_class.__init__

    def counting(self, topology, engine=None):
        model_class.built_here += 1
        original(self, topology, engine)

    model_class.built_here, model_class.original_init, model_class.__init__ = 0, original, counting


def _stop_counting(dask_worker):
    model_class = tfjs_interop.Model
    model_class.__init__ = model_class.original_init
    return model_class.built_here


def test_the_model_travels_once_per_worker_not_once_per_chunk(client, monkeypatch):
    case = TFJS_FIXTURES / "embedding_mask_lstm"
    model = tfjs_interop.load(case)
    (x,) = _inputs(model, case / "model.json", batch=200)
    lazy = tfjs_dask.predict(model, da.from_array(x, chunks=(10, -1)))
    assert lazy.numblocks[0] >= 20
    calls = []
    monkeypatch.setattr(tfjs_interop.Model, "__reduce__", lambda self: calls.append(1) or pickling.reduce_model(self))
    for task in dict(lazy.__dask_graph__()).values():  # the graph holds the model in one task, not in each chunk's
        cloudpickle.dumps(task)
    assert len(calls) == 1
    monkeypatch.undo()
    client.run(_count_models_built)
    try:
        assert client.compute(lazy, sync=True).tobytes() == model.predict(x).tobytes()
    finally:
        counts = client.run(_stop_counting)
    assert sorted(counts.values()) in ([0, 1], [1, 1]), counts  # each worker unpickled the model at most once


def test_a_worker_killed_mid_computation_is_survived_with_the_same_result(client):
    case = KERAS_FIXTURES / "k3_bidi_lstm_embedding_mask"
    model = tfjs_interop.load(case / "model.h5")
    (x,) = _inputs(model, case / "model.h5", batch=3000)
    want = model.predict(x, batch_size=100)
    futures = client.compute(tfjs_dask.predict(model, da.from_array(x, chunks=(100, -1)), batch_size=100))
    pids = client.run(os.getpid)
    busy = _wait_for_a_busy_worker(client)
    assert not futures.done()
    os.kill(pids[busy], signal.SIGKILL)
    got = futures.result(timeout=120)
    assert got.tobytes() == want.tobytes()
    assert busy not in client.scheduler_info()["workers"] or pids[busy] not in client.run(os.getpid).values()


def _wait_for_a_busy_worker(client, timeout: float = 60.0) -> str:
    """The address of a worker running a chunk, once some chunks are done (so it dies mid-computation)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processing = client.processing()
        done = client.run_on_scheduler(_tasks_in_memory)
        if done >= 3 and any(processing.values()):
            return next(addr for addr, keys in processing.items() if keys)
        time.sleep(0.05)
    raise AssertionError("no worker was busy within the timeout")


def _tasks_in_memory(dask_scheduler):
    return sum(ts.state == "memory" and "_pick" in ts.key[0] for ts in dask_scheduler.tasks.values()
               if isinstance(ts.key, tuple))


def test_predict_frame_scores_a_table_of_sequences(client):
    case = TFJS_FIXTURES / "embedding_mask_lstm"
    model = tfjs_interop.load(case)
    (x,) = _inputs(model, case / "model.json")
    table = pd.DataFrame(x, columns=[f"t{i}" for i in range(x.shape[1])], index=pd.RangeIndex(100, 100 + len(x)))
    table["session"] = "s"  # a column that is not part of the sample
    frame = dd.from_pandas(table, npartitions=4)
    scored = tfjs_dask.predict_frame(model, frame, columns=[f"t{i}" for i in range(x.shape[1])])
    want = model.predict(x).reshape(len(x), -1)
    assert list(scored.columns) == [f"{model.outputs[0].name}_{i}" for i in range(want.shape[1])]
    got = client.compute(scored, sync=True)
    assert list(got.index) == list(table.index)
    assert got.to_numpy().tobytes() == want.tobytes()


def test_predict_frame_names_a_layers_several_outputs_apart():
    """lstm_return_state's sequence, h and c came out under one name each column: 40 columns, 30 distinct."""
    model = tfjs_interop.load(TFJS_FIXTURES / "lstm_return_state")
    spec = model.inputs[0]
    table = pd.DataFrame(np.random.default_rng(0).normal(size=(4, int(np.prod(spec.shape[1:])))).astype(np.float32))
    scored = tfjs_dask.predict_frame(model, dd.from_pandas(table, npartitions=2))
    assert len(set(scored.columns)) == len(scored.columns)
    layer = model.topology.outputs[0].layer
    assert {c.rsplit("_", 1)[0] for c in scored.columns} == {f"{layer}:0", f"{layer}:1", f"{layer}:2"}


# -- refusals, at graph-building time (no cluster needed) ----------------------------------------------------------
def _model():
    return tfjs_interop.load(KERAS_FIXTURES / "k3_multi_io_merges" / "model.keras")


@pytest.mark.parametrize("make,message", [
    (lambda: [da.zeros((10, 6, 4), chunks=(5, 3, 4))] * 2, "chunked along the batch axis only"),
    (lambda: [da.zeros((10, 5, 4), chunks=(5, -1, -1))] * 2, "expected shape (None, 6, 4), found (1, 5, 4)"),
    (lambda: [np.zeros((10, 6, 4))] * 2, "takes dask arrays, found ndarray"),
    (lambda: [da.zeros((10, 6, 4), chunks=(5, -1, -1))], "takes 2 input(s)"),
    (lambda: {"a": da.zeros((10, 6, 4), chunks=(5, -1, -1)), "c": da.zeros((10, 6, 4), chunks=(5, -1, -1))},
     "unknown ['c']"),
    (lambda: [da.zeros((10, 6, 4), chunks=(5, -1, -1)), da.zeros((8, 6, 4), chunks=(5, -1, -1))], "same batch size"),
    (lambda: [da.zeros((10, 6, 4), dtype="U1", chunks=(5, -1, -1))] * 2, "expected numbers"),
    (lambda: [da.zeros((), chunks=())] * 2, "needs a batch axis"),
])
def test_inputs_that_do_not_fit_fail_when_the_graph_is_built(make, message):
    with pytest.raises(InputError) as info:
        tfjs_dask.predict(_model(), make())
    assert message in str(info.value)


def test_unknown_chunk_sizes_are_taken_when_the_counts_agree():
    model = tfjs_interop.load(TFJS_FIXTURES / "embedding_mask_lstm")
    (x,) = _inputs(model, TFJS_FIXTURES / "embedding_mask_lstm" / "model.json")
    unknown = dd.from_pandas(pd.DataFrame(x), npartitions=3).to_dask_array()  # chunks (nan, nan, nan)
    lazy = tfjs_dask.predict(model, unknown)
    assert np.isnan(lazy.shape[0])
    assert lazy.compute(scheduler="threads").tobytes() == model.predict(x).tobytes()


def test_stateful_models_are_refused():
    model = tfjs_interop.load(TFJS_FIXTURES / "lstm_stateful")
    with pytest.raises(UnsupportedLayerError, match="stateful"):
        tfjs_dask.predict(model, da.zeros((4, 5, 3), chunks=2))


def test_without_dask_the_error_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.array", None)  # what an import of a missing package does
    with pytest.raises(tfjs_interop.DependencyError, match=r"tfjs-interop\[dask\]"):
        tfjs_dask.predict(_model(), [])


def test_a_bad_batch_size_is_refused():
    with pytest.raises(InputError, match="batch_size"):
        tfjs_dask.predict(_model(), [da.zeros((10, 6, 4), chunks=(5, -1, -1))] * 2, batch_size=0)


def test_the_threaded_scheduler_gives_the_same_numbers():
    """Threads of one process share the model object (predict is thread-safe)."""
    case = TFJS_FIXTURES / "merge_masked_branches"
    model = tfjs_interop.load(case)
    x = _inputs(model, case / "model.json", batch=200)
    lazy = tfjs_dask.predict(model, [da.from_array(a, chunks=(13, *a.shape[1:])) for a in x])
    for got, want in zip(dask.compute(*lazy, scheduler="threads", num_workers=4), model.predict(x, batch_size=13)):
        assert got.tobytes() == want.tobytes()


def test_the_readme_example_runs_as_written():
    """The README's Dask example, run from the repository's root in a fresh interpreter (it starts its own
    two-worker LocalCluster)."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Scoring on a cluster: Dask"):]
    example = section[section.index("```python\n") + len("```python\n"):section.index("\n```\n")]
    assert "tfjs_dask.predict(" in example and "LocalCluster(" in example
    result = subprocess.run([sys.executable, "-c", example], cwd=ROOT, capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "dask.array<" in result.stdout and "float32" in result.stdout
