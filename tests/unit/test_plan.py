"""The execution plan (runtime/plan.py): a model the executor ran without seeing a mask is run from its plan from
then on, with the executor's bits and the real libraries' numbers; a model with masks or nested models is not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import KERAS_FIXTURES, TFJS_FIXTURES, assert_matches, cases, expected, run_calls
from tfjs_interop.runtime import compiled
from tfjs_interop.runtime.layers.core import Dense
from tfjs_interop.runtime.layers.recurrent import GRU, LSTM, RNN
from tfjs_interop.runtime.plan import Plan

MODEL_FILES = ("model.json", "model.keras", "model.h5")


def _model_file(case: Path) -> Path | None:
    return next((case / name for name in MODEL_FILES if (case / name).exists()), None)


def _runnable_cases() -> list[Path]:
    found = []
    for case in cases(TFJS_FIXTURES) + cases(KERAS_FIXTURES):
        record = expected(case)
        refused = case.name.startswith(("unsupported_", "k2_lambda", "k3_lambda")) or record.get("error")
        if record.get("calls") and not refused and _model_file(case):
            found.append(case)
    return found


@pytest.mark.parametrize("case", _runnable_cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_planned_run_gives_the_executors_bits_and_the_librarys_numbers(case, each_loop):
    model = tfjs_interop.load(_model_file(case))
    assert_matches(model, case)  # the first call runs the executor (and decides), the others the plan if any
    first = run_calls(_reset(model), case)
    executor = _executor_only(model)
    again = run_calls(_reset(executor), case)
    for (c, k, ours, _), (_, _, theirs, _) in zip(first, again):
        assert np.array_equal(ours, theirs), f"{case.name} call {c} output {k}: the plan's bits differ"
    assert model._plan is None or isinstance(model._plan, Plan)


def _reset(model):
    model.reset_states()
    return model


def _executor_only(model):
    """The model, made to run every call through the executor."""
    model._plan = None
    return model


@pytest.mark.parametrize("name,planned", [("seed_lstm", True), ("multishard", True), ("merge_concatenate", True),
                                          ("embedding_mask_lstm", False), ("masking_lstm_last", False),
                                          ("nested_sequential_shared", False)])
def test_only_mask_free_models_are_planned(name, planned):
    case = TFJS_FIXTURES / name
    if not case.exists():
        pytest.fail(f"fixture {name} is missing")
    model = tfjs_interop.load(case / "model.json")
    assert model._plan is not None and not isinstance(model._plan, Plan)  # undecided until a run
    x = [np.load(case / n) for n in expected(case)["calls"][0]["inputs"]]
    model.predict(x)
    assert isinstance(model._plan, Plan) is planned


def test_a_repeated_tfjs_call_returns_its_last_results_from_the_plan():
    """TF.js runs a call once per needed output (a stateful layer advances each time): the plan repeats it too."""
    repeats = [c for c in cases(TFJS_FIXTURES) if _repeats(c)]
    assert repeats, "no TF.js fixture repeats a call"
    for case in repeats:
        model = tfjs_interop.load(case / "model.json")
        assert_matches(model, case)
        assert_matches(_reset(model), case)


def _repeats(case: Path) -> bool:
    if not (case / "model.json").exists() or expected(case).get("error") or case.name.startswith("unsupported_"):
        return False
    try:
        model = tfjs_interop.load(case / "model.json")
    except tfjs_interop.TfjsInteropError:
        return False
    nodes = [step.node for step in model._steps]
    return len(nodes) != len(set(nodes))


def test_consecutive_rnns_run_as_one_step_with_each_layers_bits(each_loop):
    """A stacked LSTM's two layers are one step of the plan (``RNNChain``): where the compiled loop from zeros runs
    them (batches up to 4 on one thread), in one call from one another's time-major outputs, else by the layers'
    own calls; the executor's bits and TF.js's numbers either way."""
    case = TFJS_FIXTURES / "lstm_stacked_dense"
    model = tfjs_interop.load(case / "model.json")
    assert_matches(model, case)
    chains = [step.fused for step in model._plan._steps if step.fused is not None]
    assert [chain.name for chain in chains] == ["lstm_LSTM1 -> lstm_LSTM2"]
    executor = _executor_only(tfjs_interop.load(case / "model.json"))
    lstm2 = executor.get_layer("lstm_LSTM2")
    x = np.load(case / expected(case)["calls"][0]["inputs"][0])
    for n in (1, 2, 4):
        chained = chains[0].call(x[:n])
        assert (chained is not None) is (each_loop == "compiled") or each_loop == "compiled_threads", (each_loop, n)
        if chained is not None:
            assert np.array_equal(chained, lstm2.call(executor.get_layer("lstm_LSTM1").call(x[:n])))
        assert np.array_equal(model.predict(x[:n]), executor.predict(x[:n]))


@pytest.mark.parametrize("second,fused", [({}, True), ({"go_backwards": True}, False), ({"stateful": True}, False),
                                          ({"return_state": True}, False)])
def test_which_rnns_fuse(second, fused):
    first = LSTM("a", "LSTM", {"units": 4, "return_sequences": True})
    assert (first.fuse(GRU("b", "GRU", {"units": 3, **second})) is not None) is fused
    assert LSTM("a", "LSTM", {"units": 4}).fuse(GRU("b", "GRU", {"units": 3})) is None  # no sequences to read
    assert first.fuse(Dense("d", "Dense", {"units": 3})) is None


def test_an_rnn_over_a_stack_of_cells_does_not_fuse():
    """A stack of cells (``StackedCells``) has no compiled kernel: neither side of a fusion, and no error."""
    stack = RNN("s", "RNN", {"cell": [{"class_name": "LSTMCell", "config": {"units": 3}},
                                      {"class_name": "GRUCell", "config": {"units": 2}}], "return_sequences": True})
    assert stack.fuse(Dense("d", "Dense", {"units": 3})) is None
    assert stack.fuse(LSTM("b", "LSTM", {"units": 3})) is None
    assert LSTM("a", "LSTM", {"units": 4, "return_sequences": True}).fuse(stack) is None


def test_a_stack_of_cells_before_another_layer_runs_from_the_plan(tmp_path):
    """TF.js's RNN over stacked cells, its sequences read by a Dense layer alone (a step the plan tries to fuse):
    the plan's results are the executor's."""
    case = TFJS_FIXTURES / "rnn_stacked_cells"
    folder = _with_dense_after(case, tmp_path)
    model, executor = tfjs_interop.load(folder / "model.json"), tfjs_interop.load(folder / "model.json")
    x = np.load(case / expected(case)["calls"][0]["inputs"][0])
    first = model.predict(x)
    assert isinstance(model._plan, Plan)
    assert np.array_equal(model.predict(x), first)
    assert np.array_equal(first, _executor_only(executor).predict(x))


def _with_dense_after(case: Path, folder: Path) -> Path:
    """A copy of a TF.js Sequential model with a Dense layer of 2 units appended (its weights in a shard of their
    own)."""
    topology = json.loads((case / "model.json").read_text())
    layers = topology["modelTopology"]["config"]["layers"]
    units = layers[-1]["config"]["cells"][-1]["config"]["units"]
    layers.append({"class_name": "Dense", "config": {"name": "dense_after", "units": 2, "activation": "linear",
                                                     "use_bias": True, "trainable": True}})
    for shard in {path for group in topology["weightsManifest"] for path in group["paths"]}:
        shutil.copy(case / shard, folder / shard)
    kernel = np.linspace(-1, 1, units * 2, dtype=np.float32).reshape(units, 2)
    (folder / "dense.bin").write_bytes(kernel.tobytes() + np.array([0.25, -0.5], np.float32).tobytes())
    topology["weightsManifest"].append({"paths": ["dense.bin"], "weights": [
        {"name": "dense_after/kernel", "shape": [units, 2], "dtype": "float32"},
        {"name": "dense_after/bias", "shape": [2], "dtype": "float32"}]})
    (folder / "model.json").write_text(json.dumps(topology))
    return folder


@pytest.mark.needs("numba")
def test_a_chain_runs_as_one_only_at_the_whole_loops_batches():
    first, second = LSTM("a", "LSTM", {"units": 4, "return_sequences": True}), GRU("b", "GRU", {"units": 3})
    first.ensure_built((None, None, 2))
    second.ensure_built((None, None, 4))
    for variable in first.weights + second.weights:
        variable.value = np.full(variable.shape, 0.1, np.float32)
    chain = first.fuse(second)
    compiled.set_compiled(True)
    try:
        assert compiled.zero_state_chain(chain, 1, 5, 2) is not None
        assert compiled.zero_state_chain(chain, 3, 5, 3) is None  # widths that do not follow on
        beyond = compiled.WHOLE_LOOP_BATCH + 1
        assert compiled.zero_state_run(first.cell, beyond, 5) is not None  # the large-batch loop from zeros ...
        assert compiled.zero_state_chain(chain, beyond, 5, 2) is None  # ... is the layers' own
    finally:
        compiled.set_compiled(None)


def test_a_model_input_among_the_outputs_comes_back_from_the_plan_too(tmp_path):
    """``Model(i, [i, Dense(i)])``: the plan's steps never make the input, so it returned None for it from the
    second call on (the first call, the executor's, had it right)."""
    from tests.support.modelfiles import functional, input_layer, layer, write_model

    topology = functional([input_layer("x", [None, 3]), layer("Dense", "d", [["x", 0, 0]], units=2)], ["x"],
                          ["x", "d"])
    rng = np.random.default_rng(0)
    path = write_model(tmp_path / "m", topology, {"d/kernel": rng.standard_normal((3, 2)).astype(np.float32),
                                                  "d/bias": rng.standard_normal(2).astype(np.float32)})
    model = tfjs_interop.load(path)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    first = model.predict(x)
    for got in (model.predict(x), model.predict(x, batch_size=3)):
        assert np.array_equal(got[0], x) and np.array_equal(got[1], first[1])
