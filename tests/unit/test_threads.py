"""The thread-safety contract: predict on one model from many threads gives, bit for bit, what serial calls give;
a stateful model serialises its calls (each predict sees and advances the state whole)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import tfjs_interop
from tests.support.concurrency import in_threads
from tests.support.fixtures import KERAS_FIXTURES, TFJS_FIXTURES, cases, expected

THREADS = 8
CALLS_PER_THREAD = 6
MODEL_FILES = ("model.json", "model.keras", "model.h5")


def _model_file(case: Path) -> Path:
    for name in MODEL_FILES:
        if (case / name).exists():
            return case / name
    raise FileNotFoundError(case)


def _stateless_cases() -> list[Path]:
    found = []
    for case in cases(TFJS_FIXTURES) + cases(KERAS_FIXTURES):
        record = expected(case)
        runs = bool(record.get("calls")) and not any(c.get("reset_states") for c in record["calls"])
        refused = case.name.startswith(("unsupported_", "k2_lambda", "k3_lambda")) or record.get("error")
        if not runs or refused or not any((case / n).exists() for n in MODEL_FILES):
            continue
        found.append(case)
    return found


@pytest.fixture
def tiny_switch_interval():
    """Make the interpreter switch threads as often as it can, so that unguarded state shows."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def _variants(inputs: list[np.ndarray], count: int = 4) -> list[list[np.ndarray]]:
    """Inputs that differ from call to call, padding included (time rolled), so that state one call leaves on a
    layer would show in another's results."""
    return [[np.roll(x, k, axis=1) if x.ndim >= 2 else x for x in inputs] for k in range(count)]


def _as_list(value) -> list[np.ndarray]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("case", _stateless_cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_predict_from_many_threads_is_bit_identical_to_serial(case, each_loop, tiny_switch_interval):
    model = tfjs_interop.load(_model_file(case))
    if model.stateful:
        pytest.skip("a stateful model serialises its calls: test_a_stateful_model_serialises_its_calls")
    recorded = [[np.load(case / name) for name in call["inputs"]] for call in expected(case)["calls"]]
    calls = [variant for inputs in recorded for variant in _variants(inputs)]
    serial = [_as_list(model.predict(inputs)) for inputs in calls]

    def work(i: int) -> list[tuple[int, list[np.ndarray]]]:
        order = [(i + j) % len(calls) for j in range(CALLS_PER_THREAD)]
        return [(k, _as_list(model.predict(calls[k]))) for k in order]

    for results in in_threads(work, THREADS):
        for k, outputs in results:
            for got, want in zip(outputs, serial[k]):
                assert np.array_equal(got, want), (f"{case.name}: call {k} from a thread differs from the serial "
                                                   f"call by up to {np.max(np.abs(got - want)):.3g} "
                                                   f"{_what_differs(model, calls[k], serial[k])}")


def _what_differs(model, inputs: list[np.ndarray], want: list[np.ndarray]) -> str:
    """Which kind of fault a mismatch is: the call repeated on the test's thread, and on one new thread alone
    (no concurrency), against the serial result."""
    def verdict(outputs: list[np.ndarray]) -> str:
        return "same" if all(np.array_equal(a, b) for a, b in zip(outputs, want)) else "differs"

    again = verdict(_as_list(model.predict(inputs)))
    alone = verdict(in_threads(lambda i: _as_list(model.predict(inputs)), 1)[0])
    return f"(repeated serially: {again}; from one new thread alone: {alone})"


def test_a_stateful_model_serialises_its_calls(each_loop, tiny_switch_interval):
    """Every predict advances the state once and whole: the outputs of N threads are those of N serial calls."""
    case = TFJS_FIXTURES / "lstm_stateful"
    model = tfjs_interop.load(case / "model.json")
    assert model.stateful
    x = np.load(case / "call0_input0.npy")
    batch = int(x.shape[0])  # the model's fixed batch: each predict advances the state once, in one locked call
    serial = []
    for _ in range(THREADS):
        serial.append(model.predict(x, batch_size=batch))
    model.reset_states()
    threaded = in_threads(lambda i: model.predict(x, batch_size=np.int64(batch)))
    remaining = list(serial)
    for out in threaded:
        match = next((j for j, want in enumerate(remaining) if np.array_equal(out, want)), None)
        assert match is not None, "a threaded call saw a state no sequence of serial calls produces"
        remaining.pop(match)
    assert not remaining


def test_reset_states_waits_for_a_running_call(tiny_switch_interval):
    case = TFJS_FIXTURES / "lstm_stateful"
    model = tfjs_interop.load(case / "model.json")
    x = np.load(case / "call0_input0.npy")
    first = model.predict(x)
    model.reset_states()

    def work(i: int):
        if i % 2:
            model.reset_states()
            return None
        return model.predict(x)

    for _ in range(5):
        model.reset_states()
        for out in in_threads(work, THREADS):
            assert out is None or np.isfinite(out).all()
    model.reset_states()
    assert np.array_equal(model.predict(x), first)


def _attributes(obj, seen: set[int] | None = None) -> dict:
    """What every layer (and cell, wrapped layer, nested model) holds: attribute name -> identity, recursively."""
    seen = set() if seen is None else seen
    if id(obj) in seen or not hasattr(obj, "__dict__"):
        return {}
    seen.add(id(obj))
    found = {}
    for key, value in vars(obj).items():
        found[(id(obj), key)] = id(value)
        children = value if isinstance(value, (list, tuple)) else value.values() if isinstance(value, dict) else [value]
        for child in children:
            if type(child).__module__.startswith("tfjs_interop.runtime"):
                found.update(_attributes(child, seen))
    return found


@pytest.mark.parametrize("case", _stateless_cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_call_leaves_no_state_on_any_layer(case):
    """The class of fault behind thread-unsafe layers: a call that stores anything on a layer instance."""
    model = tfjs_interop.load(_model_file(case))
    if model.stateful:
        pytest.skip("a stateful layer keeps its state on purpose, behind the model's lock")
    inputs = [np.load(case / name) for name in expected(case)["calls"][0]["inputs"]]
    model.predict(inputs[:1] if len(inputs) == 1 else inputs)
    before = _attributes(model)
    model.predict(inputs)
    assert _attributes(model) == before, f"{case.name}: a call changed an attribute of a layer"
