"""The compiled time loop (numba) against the NumPy loop, and when each is chosen.

Both loops must give the same numbers within float32 rounding: the compiled one makes its products with one FMA per
term (its own GEMM where the CPU has AVX-512 or AVX2 with FMA, else BLAS) and evaluates tanh and sigmoid by a rational
approximation, the NumPy one uses BLAS and NumPy's vector kernels. The fixture suites (test_tfjs_fixtures,
test_recurrent_reference) also run under each loop against TF.js and float64 references.
"""

from __future__ import annotations

import numpy as np
import pytest

from tfjs_interop.engines import TFJS
from tfjs_interop.runtime import compiled
from tfjs_interop.runtime.activations import IN_PLACE, get_activation, get_in_place_activation
from tfjs_interop.runtime.layers.recurrent import GRU, LSTM, RNN, SimpleRNN

needs_numba = pytest.mark.needs("numba")
CLASSES = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}


def _layer(class_name: str, units: int, features: int, seed: int, **config) -> RNN:
    """A built layer; ``masked_output_from_state=True`` runs it on the TF.js engine, whose behaviour that is."""
    engine = TFJS if config.pop("masked_output_from_state", False) else None
    layer = CLASSES[class_name]("rnn", class_name, {"units": units, **config}, engine)
    assert layer.options.masked_output_from_state is (engine is TFJS)
    layer.ensure_built((None, None, features))
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        variable.value = rng.uniform(-0.8, 0.8, variable.shape).astype(np.float32)
    return layer


@pytest.fixture
def restore_switch():
    yield
    compiled.set_compiled(None)


def _both(layer: RNN, x: np.ndarray, **kwargs) -> tuple[list, list]:
    compiled.set_compiled(False)
    numpy_out = layer.call(x, **kwargs)
    compiled.set_compiled(True)
    compiled_out = layer.call(x, **kwargs)
    return _as_list(numpy_out), _as_list(compiled_out)


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


CONFIGS = [
    ("LSTM", {"recurrent_activation": "hard_sigmoid", "masked_output_from_state": True}),
    ("LSTM", {"recurrent_activation": "sigmoid", "go_backwards": True}),
    ("LSTM", {"activation": "relu", "recurrent_activation": "hard_sigmoid_keras3", "zero_output_for_mask": True}),
    ("GRU", {"recurrent_activation": "hard_sigmoid", "reset_after": False, "masked_output_from_state": True}),
    ("GRU", {"recurrent_activation": "sigmoid", "reset_after": True, "go_backwards": True}),
    ("GRU", {"reset_after": True, "use_bias": False}),
    ("SimpleRNN", {"activation": "tanh"}),
    ("SimpleRNN", {"activation": "linear", "masked_output_from_state": True}),
]


@needs_numba
@pytest.mark.usefixtures("restore_switch")
@pytest.mark.parametrize("path", ["whole", "stepwise"])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("class_name,config", CONFIGS, ids=lambda v: v if isinstance(v, str) else "-".join(
    f"{k}={w}" for k, w in v.items()))
def test_compiled_loop_equals_numpy_loop(class_name, config, masked, path, monkeypatch):
    """Both compiled paths: the whole loop in numba, and BLAS products with compiled gate passes."""
    monkeypatch.setattr(compiled, "WHOLE_LOOP_WORK", 1 << 30 if path == "whole" else 0)
    monkeypatch.setattr(compiled, "WHOLE_LOOP_BATCH", 1 << 30)
    batch, steps, features, units = 3, 7, 4, 5
    layer = _layer(class_name, units, features, seed=len(class_name) + len(config), return_sequences=True,
                   return_state=True, **config)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((batch, steps, features)).astype(np.float32)
    mask = rng.random((batch, steps)) > 0.4 if masked else None
    initial = [rng.standard_normal((batch, units)).astype(np.float32) for _ in layer.cell.state_sizes]
    step_masks = None if mask is None else layer._step_masks(mask, x.shape)
    compiled.set_compiled(True)
    assert compiled.compiled_loop(layer.cell, batch, step_masks, layer._held_kind()) is not None
    given = [s.copy() for s in initial]
    numpy_out, compiled_out = _both(layer, x, mask=mask, initial_state=initial)
    for a, b in zip(numpy_out, compiled_out):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=2e-6)
    assert all(np.array_equal(s, g) for s, g in zip(initial, given)), "a loop overwrote the given initial state"


@needs_numba
@pytest.mark.usefixtures("restore_switch")
def test_stateful_layer_continues_across_loops():
    layer = _layer("LSTM", 4, 3, seed=3, stateful=True, return_sequences=True)
    x = np.random.default_rng(2).standard_normal((2, 5, 3)).astype(np.float32)
    compiled.set_compiled(True)
    first, second = layer.call(x), layer.call(x)
    layer.reset_states()
    compiled.set_compiled(False)
    np.testing.assert_allclose(layer.call(x), first, rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(layer.call(x), second, rtol=1e-5, atol=2e-6)


@needs_numba
@pytest.mark.usefixtures("restore_switch")
@pytest.mark.parametrize("class_name,config", CONFIGS, ids=lambda v: v if isinstance(v, str) else "-".join(
    f"{k}={w}" for k, w in v.items()))
@pytest.mark.parametrize("batch", [3, 8])
def test_the_usual_call_gives_the_general_paths_bits(class_name, config, batch):
    """A call without mask or initial state goes straight to the compiled loop from zeros (``zero_state_run``:
    the whole loop of a small batch, the large-batch loop of a larger one): the same bits as the general path
    given zero states, and states of the caller's own."""
    layer = _layer(class_name, 5, 4, seed=11, return_sequences=True, return_state=True, **config)
    x = np.random.default_rng(3).standard_normal((batch, 6, 4)).astype(np.float32)
    compiled.set_compiled(True)
    assert compiled.zero_state_run(layer.cell, batch, 6)
    first = layer.call(x)
    assert not any(np.shares_memory(a, b) for a in first for b in layer.call(x))
    zeros = [np.zeros((batch, 5), np.float32) for _ in layer.cell.state_sizes]
    for quick, general in zip(layer.call(x), layer.call(x, initial_state=zeros)):
        assert np.array_equal(quick, general)


@needs_numba
@pytest.mark.usefixtures("restore_switch")
@pytest.mark.parametrize("class_name,batch", [("LSTM", 1), ("GRU", 1), ("SimpleRNN", 1), ("LSTM", 3), ("LSTM", 40)])
def test_a_read_only_input_compiles_nothing_new(class_name, batch):
    """numba compiles a kernel again, for seconds, for each new type of array it is given, and a read-only array
    is one: a read-only input (a batch of one is its own time-major view) is copied, not handed on."""
    layer = _layer(class_name, 5, 4, seed=5, return_sequences=True)
    x = np.random.default_rng(9).standard_normal((batch, 6, 4)).astype(np.float32)
    compiled.set_compiled(True)
    want = layer.call(x)
    kernels = compiled._kernels()
    names = [name for name in dir(kernels) if hasattr(getattr(kernels, name), "signatures")]
    before = {name: list(getattr(kernels, name).signatures) for name in names}
    x.flags.writeable = False
    assert np.array_equal(layer.call(x), want)
    assert {name: list(getattr(kernels, name).signatures) for name in names} == before


@needs_numba
@pytest.mark.usefixtures("restore_switch")
@pytest.mark.parametrize("path", ["whole", "stepwise"])
def test_packed_weights_follow_the_weights_and_the_gemm(path, monkeypatch):
    """The kernels' packed weights are made once per weight array: a replaced weight is packed again, and weights
    first run where BLAS made the products are packed when the compiled GEMM runs them."""
    monkeypatch.setattr(compiled, "WHOLE_LOOP_WORK", 1 << 30 if path == "whole" else 0)
    layer = _layer("LSTM", 6, 3, seed=5, return_sequences=True)
    x = np.random.default_rng(4).standard_normal((3, 5, 3)).astype(np.float32)
    kernels = compiled._kernels()
    compiled.set_compiled(True)
    if kernels.FAST:
        monkeypatch.setattr(kernels, "FAST", False)
        blas = layer.call(x)
        monkeypatch.setattr(kernels, "FAST", True)
        np.testing.assert_allclose(layer.call(x), blas, rtol=1e-5, atol=2e-6)
    before = layer.call(x)
    layer.cell.recurrent_kernel.value = layer.cell.recurrent_kernel.value * np.float32(0.5)
    after = layer.call(x)
    compiled.set_compiled(False)
    np.testing.assert_allclose(after, layer.call(x), rtol=1e-5, atol=2e-6)
    assert not np.allclose(after, before)


@needs_numba
@pytest.mark.usefixtures("restore_switch")
def test_when_the_compiled_loop_is_chosen(monkeypatch):
    small = _layer("LSTM", 8, 3, seed=1)
    compiled.set_compiled(True)
    assert compiled.compiled_loop(small.cell, 1, None, "state") is not None
    odd_mask = np.ones((5, 1, 2), bool)  # a mask read by TF.js's rnn() rule: the NumPy loop reads it
    assert compiled.compiled_loop(small.cell, 2, odd_mask, "state") is None
    assert compiled.compiled_loop(_layer("LSTM", 8, 3, seed=1, activation="selu").cell, 1, None, "state") is None
    stacked = RNN("rnn", "RNN", {"cell": [{"class_name": "LSTMCell", "config": {"units": 4}}] * 2})
    assert compiled.compiled_loop(stacked.cell, 1, None, "state") is None
    monkeypatch.setenv(compiled.ENV_SWITCH, "0")
    compiled.set_compiled(None)  # reads the environment again
    assert compiled.compiled_loop(small.cell, 1, None, "state") is None
    compiled.set_compiled(True)  # the API switch wins over the environment
    assert compiled.compiled_loop(small.cell, 1, None, "state") is not None
    monkeypatch.undo()


@pytest.mark.parametrize("name", [*IN_PLACE, "selu", "softsign"])
def test_in_place_activations_equal_the_plain_ones(name):
    x = np.random.default_rng(5).standard_normal((4, 33)).astype(np.float32) * 6
    x[0, :4] = [-100, 100, 0, -0.0]
    want = get_activation(name, "layer")(x.copy())
    view = x.copy()[:, 3:20]  # a strided view, as the gates are
    got = get_in_place_activation(name, "layer")(view)
    assert got is view or np.shares_memory(got, view)
    np.testing.assert_allclose(view, want[:, 3:20], rtol=0, atol=1.2e-7)  # sigmoid: tanh form, within 1 ulp


@needs_numba
@pytest.mark.usefixtures("restore_switch")
@pytest.mark.parametrize("units", [8, 130])
@pytest.mark.parametrize("class_name", ["LSTM", "GRU", "SimpleRNN"])
def test_stepwise_gates_of_wide_and_narrow_layers_equal_numpy_loop(class_name, units, monkeypatch):
    monkeypatch.setattr(compiled, "WHOLE_LOOP_WORK", 0)
    layer = _layer(class_name, units, 6, seed=units, return_sequences=True, return_state=True,
                   masked_output_from_state=True)
    for variable in layer.weights:
        variable.value = variable.value / np.float32(np.sqrt(units))  # keeps the gates off saturation
    rng = np.random.default_rng(units)
    x = rng.standard_normal((5, 9, 6)).astype(np.float32)
    mask = rng.random((5, 9)) > 0.3
    numpy_out, compiled_out = _both(layer, x, mask=mask)
    for a, b in zip(numpy_out, compiled_out):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=2e-6)


@needs_numba
@pytest.mark.usefixtures("restore_switch")
@pytest.mark.parametrize("units,count", [(256, 2), (130, 2), (192, 3)])  # 3: more threads than cores here
def test_a_single_samples_units_shared_by_threads_keep_one_threads_bits(units, count, monkeypatch):
    """Batch 1 on several threads: each thread makes its units of every gate and the threads meet at every step
    (``_kernels.lstm_part``); every output, h and c as on one thread, bit for bit, with units that do not divide
    evenly."""
    from tfjs_interop.runtime import threads

    layer = _layer("LSTM", units, 9, seed=5, return_sequences=True, return_state=True,
                   recurrent_activation="hard_sigmoid")
    x = np.random.default_rng(8).standard_normal((1, 64, 9)).astype(np.float32)
    compiled.set_compiled(True)
    shared = []
    original = compiled._run_unit_parts
    monkeypatch.setattr(compiled, "_run_unit_parts", lambda *a: (shared.append(a[2]), original(*a)))
    try:
        threads.set_num_threads(1)
        alone = layer.call(x)
        threads.set_num_threads(count)
        assert compiled._unit_parts(layer.cell, 1, 64, count) == count
        together = layer.call(x)
    finally:
        threads.set_num_threads(None)
    assert shared == [count]
    for one, many in zip(alone, together, strict=True):
        assert np.array_equal(one, many)
    assert not compiled._unit_parts(layer.cell, 2, 64, count) > 1  # a batch: split by samples instead


def _bidirectional(units: int, features: int, **config):
    from tfjs_interop.runtime.layers.wrappers import Bidirectional

    spec = {"class_name": "LSTM", "config": {"name": "lstm", "units": units, "return_sequences": True, **config}}
    layer = Bidirectional("bidi", "Bidirectional", {"layer": spec, "merge_mode": "concat"})
    layer.ensure_built((None, None, features))
    rng = np.random.default_rng(units)
    for variable in layer.weights:
        variable.value = rng.uniform(-0.8, 0.8, variable.shape).astype(np.float32)
    return layer


@needs_numba
@pytest.mark.usefixtures("restore_switch")
@pytest.mark.parametrize("batch,steps,units", [(1, 10, 32), (3, 7, 64), (4, 600, 16), (2, 1, 200)])
@pytest.mark.parametrize("config", [{}, {"recurrent_activation": "hard_sigmoid"}, {"go_backwards": True}])
def test_a_bidirectional_lstms_usual_call_runs_both_directions_in_one_loop(batch, steps, units, config, monkeypatch):
    """Both directions in one compiled call (``zero_state_pair``, ``_kernels.lstm_pair``): each direction's bits
    as its own loop gives them, the backward half re-reversed; inputs large enough for this thread's scratch copy
    (4 x 600 x 8: 77 KB) need one copy per direction."""
    from tfjs_interop.runtime.layers import wrappers

    layer = _bidirectional(units, 8, **config)
    x = np.random.default_rng(steps).standard_normal((batch, steps, 8)).astype(np.float32)
    compiled.set_compiled(True)
    assert compiled.zero_state_pair(layer.forward.cell, layer.backward.cell, batch, steps)
    paired = layer.call(x)
    monkeypatch.setattr(wrappers, "zero_state_pair", lambda *args: None)
    assert np.array_equal(paired, layer.call(x))
    compiled.set_compiled(False)
    np.testing.assert_allclose(paired, layer.call(x), rtol=1e-5, atol=2e-6)


@needs_numba
@pytest.mark.usefixtures("restore_switch")
def test_bidirectional_pairs_only_lstms_of_one_shape():
    """A GRU pair, a batch beyond the whole loop's, or a pair the start-up rule leaves to NumPy runs each
    direction on its own."""
    from tfjs_interop.runtime.layers.wrappers import Bidirectional

    gru = Bidirectional("bidi", "Bidirectional", {"layer": {"class_name": "GRU", "config": {"units": 4}}})
    gru.ensure_built((None, None, 3))
    lstm = _bidirectional(4, 3)
    compiled.set_compiled(True)
    assert not compiled.zero_state_pair(gru.forward.cell, gru.backward.cell, 1, 5)
    assert not compiled.zero_state_pair(lstm.forward.cell, lstm.backward.cell, compiled.WHOLE_LOOP_BATCH + 1, 5)
    assert compiled.zero_state_pair(lstm.forward.cell, lstm.backward.cell, 1, 5)
    compiled.set_compiled(False)
    assert not compiled.zero_state_pair(lstm.forward.cell, lstm.backward.cell, 1, 5)
