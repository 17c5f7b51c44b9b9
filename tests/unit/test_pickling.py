"""Pickling a loaded model: a copy from pickle predicts bit for bit what the model predicts, from a payload of
about the weights' size that needs no source file (runtime/pickling.py)."""

from __future__ import annotations

import copy
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import tfjs_interop
from tests.support.exclusions import LOAD, excluded_from
from tests.support.fixtures import KERAS_FIXTURES, TFJS_FIXTURES, assert_matches, cases, expected, run_calls


def _loadable(root: Path) -> list[tuple[Path, str]]:
    found = []
    for case in cases(root):
        record = expected(case)
        if record.get("refused") or case.name in excluded_from(LOAD):
            continue
        files = record.get("files", {"model.json": "model"})
        found += [(case, file) for file, kind in files.items() if kind == "model"]
    return found


MODELS = _loadable(TFJS_FIXTURES) + _loadable(KERAS_FIXTURES)


def _roundtrip(model: tfjs_interop.Model, protocol: int = pickle.HIGHEST_PROTOCOL) -> tfjs_interop.Model:
    return pickle.loads(pickle.dumps(model, protocol=protocol))


def test_the_fixtures_cover_both_origins_and_nested_models():
    names = {case.name for case, _ in MODELS}
    assert {"nested_functional_masked", "k3_nested_sequential_masked", "lstm_stateful", "k3_multi_io_merges",
            "multishard", "masking_bidi_lstm_seq"} <= names
    assert {file for _, file in MODELS} >= {"model.json", "model.h5", "model.keras"}


@pytest.mark.parametrize("case,file", MODELS, ids=[f"{c.name}/{f}" for c, f in MODELS])
def test_a_pickled_copy_predicts_bit_for_bit_what_the_model_predicts(case, file):
    original = tfjs_interop.load(case / file)
    clone, old_protocol = _roundtrip(original), _roundtrip(original, protocol=2)
    for (c, k, ours, _), (_, _, theirs, _) in zip(run_calls(original, case), run_calls(clone, case)):
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        assert ours.tobytes() == theirs.tobytes(), f"{case.name} call {c} output {k} differs after pickling"
    assert_matches(old_protocol, case)  # still the real library's numbers
    assert clone.inputs == original.inputs and clone.outputs == original.outputs
    assert clone.source == original.source and clone.metadata == original.metadata


def test_the_payload_is_about_the_size_of_the_weights():
    model = tfjs_interop.load(TFJS_FIXTURES / "multishard")  # weights straddle several shards
    weights = sum(w.nbytes for w in model.get_weights())
    assert weights > 50_000
    assert any(not w.flags.writeable for w in model.get_weights())  # zero-copy views of the shard bytes
    payload = len(pickle.dumps(model))
    assert weights < payload < weights + 4_000, (payload, weights)
    buffers: list[pickle.PickleBuffer] = []  # protocol 5 out of band, as Dask sends it: the weights' raw bytes
    in_band = len(pickle.dumps(model, protocol=5, buffer_callback=buffers.append))
    assert sum(memoryview(b).nbytes for b in buffers) == weights
    assert in_band < 4_000


def test_a_view_of_a_larger_buffer_pickles_only_its_own_bytes():
    model = tfjs_interop.load(TFJS_FIXTURES / "seed_lstm")
    for layer in model.layers:  # each weight a small window onto its own 10 MB read-only buffer
        for variable in layer.weights:
            shard = variable.value.tobytes() + bytes(10_000_000)
            variable.value = np.frombuffer(shard, dtype=np.float32, count=variable.size).reshape(variable.shape)
    weights = sum(w.nbytes for w in model.get_weights())
    assert len(pickle.dumps(model)) < weights + 4_000


def test_stateful_layers_carry_their_state_into_the_copy():
    case = TFJS_FIXTURES / "lstm_stateful"
    model = tfjs_interop.load(case)
    x0, x1 = np.load(case / "call0_input0.npy"), np.load(case / "call1_input0.npy")
    model.predict(x0)  # the LSTM now holds the state call 1 continues from
    clone = _roundtrip(model)
    continued = clone.predict(x1)
    np.testing.assert_array_equal(continued, model.predict(x1))
    np.testing.assert_allclose(continued, np.load(case / "call1_output0.npy"), atol=1e-5)  # TF.js's call 1
    fresh = _roundtrip(tfjs_interop.load(case))
    np.testing.assert_allclose(fresh.predict(x0), np.load(case / "call0_output0.npy"), atol=1e-5)
    clone.reset_states()
    np.testing.assert_array_equal(clone.predict(x0), tfjs_interop.load(case).predict(x0))  # forgotten


def test_the_copy_does_not_share_weights_or_state_with_the_original():
    case = TFJS_FIXTURES / "lstm_stateful"
    model = tfjs_interop.load(case)
    x = np.load(case / "call0_input0.npy")
    clone = copy.deepcopy(model)
    clone.predict(x)  # advances only the copy's state
    np.testing.assert_array_equal(model.predict(x), tfjs_interop.load(case).predict(x))
    clone.set_weights([w * 0 for w in clone.get_weights()])
    assert any(np.any(w != 0) for w in model.get_weights())


def test_unpickling_needs_no_source_file(tmp_path):
    """The payload goes to a fresh interpreter after the model's folder is deleted: nothing is read again."""
    folder = tmp_path / "model"
    shutil.copytree(TFJS_FIXTURES / "nested_functional_masked", folder)
    model = tfjs_interop.load(folder)
    x = np.load(folder / "call0_input0.npy")
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(model))
    np.save(tmp_path / "x.npy", x)
    shutil.rmtree(folder)
    script = textwrap.dedent(f"""
        import pickle, numpy as np
        model = pickle.loads(open({str(tmp_path / 'model.pkl')!r}, 'rb').read())
        np.save({str(tmp_path / 'y.npy')!r}, model.predict(np.load({str(tmp_path / 'x.npy')!r})))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    assert np.load(tmp_path / "y.npy").tobytes() == model.predict(x).tobytes()
