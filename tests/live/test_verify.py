"""verify: every TF.js fixture against real TensorFlow (Keras 3); a wrong layer is named; no TensorFlow, clear error."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import tfjs_interop
from tests.support.exclusions import LOAD, VERIFY, excluded_from, kept
from tests.support.fixtures import KERAS_FIXTURES, TFJS_FIXTURES, cases, expected
from tests.support.keras_live import keras  # noqa: F401  (TensorFlow's import, once, quietly)
from tfjs_interop.runtime.layers.cells import LSTMCell
from tfjs_interop.runtime.layers.core import Dense

pytestmark = pytest.mark.tensorflow
CASES = kept(cases(), LOAD)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_fixture_verifies_against_tensorflow(case):
    report = tfjs_interop.verify(tfjs_interop.load(case))
    assert report.passed, report.table()
    assert report.first_divergent_layer is None
    assert report.against.startswith("tensorflow 2.")


KERAS_FILES = [(case, "model.keras" if (case / "model.keras").exists() else "model.h5")
               for case in kept(cases(KERAS_FIXTURES), VERIFY)
               if not expected(case).get("refused") and (case / "model.h5").exists()]


@pytest.mark.parametrize(("case", "file"), KERAS_FILES, ids=[f"{c.name}/{f}" for c, f in KERAS_FILES])
def test_keras_fixture_verifies_against_tensorflow(case, file):
    model = tfjs_interop.load(case / file)
    inputs = [np.load(case / name) for name in expected(case)["calls"][0]["inputs"]]
    for report in (tfjs_interop.verify(model, inputs), tfjs_interop.verify(model)):
        assert report.passed, report.table()
        assert not report.notes or "TF.js" not in " ".join(report.notes)


@pytest.mark.parametrize("name", sorted(excluded_from(VERIFY)))
def test_what_keras_3_cannot_express_is_refused_by_verify(name):
    with pytest.raises(tfjs_interop.UnsupportedLayerError, match=excluded_from(VERIFY)[name]):
        tfjs_interop.verify(tfjs_interop.load(KERAS_FIXTURES / name / "model.h5"))


def test_fixture_verifies_on_its_recorded_inputs():
    case = TFJS_FIXTURES / "lstm_return_state_feeds_layers"
    inputs = [np.load(p) for p in sorted(case.glob("call0_input*.npy"))]
    report = tfjs_interop.verify(tfjs_interop.load(case), inputs)
    assert report.passed, report.table()
    assert not any(note.startswith("inputs generated") for note in report.notes)


def _perturb(monkeypatch, cls, method, target):
    original = getattr(cls, method)

    def perturbed(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        if getattr(self, "name", getattr(self, "layer", None)) == target:
            return (result[0] + np.float32(1e-3), result[1]) if isinstance(result, tuple) else result + 1e-3
        return result

    monkeypatch.setattr(cls, method, perturbed)


def test_a_perturbed_dense_is_named(monkeypatch):
    _perturb(monkeypatch, Dense, "call", "act_tanh")
    report = tfjs_interop.verify(tfjs_interop.load(TFJS_FIXTURES / "activations"))
    assert not report.passed
    assert report.first_divergent_layer == "act_tanh"
    assert [o.name for o in report.outputs if not o.passed] == ["act_tanh"]
    assert "FAILED" in report.table() and "first divergent layer: act_tanh" in report.table()


def test_a_perturbed_recurrent_step_is_named_at_its_layer(monkeypatch):
    _perturb(monkeypatch, LSTMCell, "project", "lstm_LSTM2")  # a cell knows its layer's name; both loops project
    report = tfjs_interop.verify(tfjs_interop.load(TFJS_FIXTURES / "lstm_stacked_dense"))
    assert not report.passed
    assert report.first_divergent_layer == "lstm_LSTM2"
    assert report.to_dict()["first_divergent_layer"] == "lstm_LSTM2"


def test_tfjs_engine_difference_is_noted():
    report = tfjs_interop.verify(tfjs_interop.load(TFJS_FIXTURES / "stale_mask_autoencoder"))
    assert report.passed
    assert any("TF.js itself computes differently" in note for note in report.notes)


def test_models_keras_agrees_with_get_no_engine_note():
    report = tfjs_interop.verify(tfjs_interop.load(TFJS_FIXTURES / "embedding_mask_lstm"))
    assert report.passed and not any("TF.js itself" in note for note in report.notes)


def test_without_tensorflow_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # makes `import tensorflow` raise ImportError
    with pytest.raises(tfjs_interop.DependencyError, match=r"pip install 'tfjs-interop\[tf\]'") as error:
        tfjs_interop.verify(tfjs_interop.load(TFJS_FIXTURES / "seed_lstm"))
    assert isinstance(error.value, ImportError)


def test_inputs_that_do_not_fit_are_refused():
    with pytest.raises(tfjs_interop.InputError):
        tfjs_interop.verify(tfjs_interop.load(TFJS_FIXTURES / "seed_lstm"), np.zeros((2, 10, 3), np.float32))


def test_a_keras3_model_verifies_and_its_keras_file_gives_keras_numbers(tmp_path):
    """A model built in real Keras 3 (Keras 3 hard_sigmoid, GRU reset_after=True, Bidirectional), read through the
    topology normaliser as a Keras reader would, verifies; save_keras gives back Keras's own predictions."""
    import json

    from keras import layers

    from tfjs_interop.parsing import parse_topology
    from tfjs_interop.runtime.model import Model
    from tfjs_interop.topology import Dialect, Engine, Origin

    inputs = keras.Input((5, 3), name="x")
    h = layers.LSTM(4, recurrent_activation="hard_sigmoid", return_sequences=True, name="lstm")(inputs)
    h = layers.Bidirectional(layers.GRU(3, return_sequences=True, name="gru"), name="bidi")(h)
    source = keras.Model(inputs, layers.Dense(2, activation="hard_sigmoid", name="d")(h), name="k3")
    rng = np.random.default_rng(0)
    source.set_weights([rng.standard_normal(w.shape).astype(np.float32) * 0.5 for w in source.get_weights()])
    config = json.loads(json.dumps({"class_name": "Functional", "config": source.get_config()}))
    model = Model(parse_topology(config, Origin(Dialect.KERAS3, Engine.KERAS), "k3", keras.__version__))
    model.set_weights(source.get_weights())

    assert tfjs_interop.verify(model).passed
    x = rng.standard_normal((3, 5, 3)).astype(np.float32)
    for suffix in (".keras", ".h5"):
        tfjs_interop.save_keras(model, tmp_path / f"m{suffix}")
        loaded = keras.models.load_model(tmp_path / f"m{suffix}", compile=False)
        np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(source(x)))


def test_a_perturbed_layer_inside_a_nested_model_names_the_nested_model(monkeypatch):
    _perturb(monkeypatch, LSTMCell, "project", "lstm_LSTM1")
    report = tfjs_interop.verify(tfjs_interop.load(TFJS_FIXTURES / "nested_sequential_shared"))
    assert not report.passed and report.first_divergent_layer == "sequential_1"


def test_keras_on_another_backend_is_refused(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(tfjs_interop.DependencyError, match="KERAS_BACKEND"):
        tfjs_interop.verify(tfjs_interop.load(TFJS_FIXTURES / "seed_lstm"))


def test_a_layers_several_outputs_are_reported_under_distinct_names():
    """An LSTM returning its sequence and states: verify named all three 'lstm_LSTM1'; as golden files, layer:i."""
    model = tfjs_interop.load(TFJS_FIXTURES / "lstm_return_state")
    report = tfjs_interop.verify(model)
    layer = model.topology.outputs[0].layer
    assert [o.name for o in report.outputs] == [f"{layer}:0", f"{layer}:1", f"{layer}:2"]
