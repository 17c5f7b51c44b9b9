"""Weight constraints: TF.js applies them when it loads a model (``LayerVariable.write``), Keras does not.

The TF.js-made fixtures ``constraints_trained_*`` (trained in TF.js, whose ``fit`` leaves the constraints broken)
pin the numbers; here: which weights are constrained, by which engine, the formulas, and what the TF.js writer
does with a model whose weights a constraint would change.
"""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_interop
from tests.support.exclusions import SAVE_TFJS, excluded_from
from tests.support.fixtures import TFJS_FIXTURES
from tests.support.modelfiles import functional, input_layer, layer, write_model
from tfjs_interop.binding import model_from_file
from tfjs_interop.engines.tfjs_constraints import apply_constraint, describe
from tfjs_interop.errors import UnsupportedLayerError
from tfjs_interop.formats.tfjs.reader import read_tfjs
from tfjs_interop.topology import Dialect, Engine

RNG = np.random.default_rng(5)
MAX_NORM = {"class_name": "MaxNorm", "config": {"max_value": 0.5, "axis": 0}}
NON_NEG = {"class_name": "NonNeg", "config": {}}


def _dense_model(folder, kernel, bias, **constraints):
    topology = functional([input_layer("x", [None, kernel.shape[0]]),
                           layer("Dense", "dense", [["x", 0, 0]], units=kernel.shape[1], activation="linear",
                                 use_bias=True, **constraints)], ["x"], ["dense"])
    write_model(folder, topology, {"dense/kernel": kernel, "dense/bias": bias})
    return folder


def _l2(w, axis):
    return np.sqrt(np.sum(w.astype(np.float64) ** 2, axis=axis, keepdims=True))


def test_the_tfjs_engine_constrains_the_weights_it_loads_and_keras_does_not(tmp_path):
    kernel = RNG.normal(size=(4, 3)).astype(np.float32) * 2
    bias = RNG.normal(size=(3,)).astype(np.float32)
    folder = _dense_model(tmp_path / "m", kernel, bias, kernel_constraint=MAX_NORM, bias_constraint=NON_NEG)
    tfjs = tfjs_interop.load(folder)
    got = tfjs.get_layer("dense")
    norms = _l2(kernel, 0)
    np.testing.assert_allclose(got.kernel.value, kernel * np.minimum(norms, 0.5) / (norms + 1e-7), rtol=1e-6)
    np.testing.assert_array_equal(got.bias.value, np.maximum(bias, 0))
    keras = model_from_file(read_tfjs(folder), Dialect.KERAS2, Engine.KERAS)  # the same file under Keras's rules
    np.testing.assert_array_equal(keras.get_layer("dense").kernel.value, kernel)
    np.testing.assert_array_equal(keras.get_layer("dense").bias.value, bias)


def test_set_weights_and_pickling_keep_the_values_given(tmp_path):
    """Only loading a file constrains (TF.js's loader); the runtime's own weight setting takes values as they are."""
    import pickle

    kernel = -np.ones((2, 2), np.float32)
    model = tfjs_interop.load(_dense_model(tmp_path / "m", kernel, np.zeros(2, np.float32), kernel_constraint=NON_NEG))
    assert not model.get_layer("dense").kernel.value.any()
    model.set_weights([kernel, np.zeros(2, np.float32)])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).get_layer("dense").kernel.value, kernel)


@pytest.mark.parametrize("constraint, reference", [
    ({"class_name": "UnitNorm", "config": {"axis": 1}}, lambda w: w / (_l2(w, 1) + 1e-7)),
    ({"class_name": "MinMaxNorm", "config": {"min_value": 0.5, "max_value": 1.0, "rate": 0.7, "axis": -1}},
     lambda w: w * (0.7 * np.clip(_l2(w, -1), 0.5, 1.0) + 0.3 * _l2(w, -1)) / (_l2(w, -1) + 1e-7)),
    ({"class_name": "MaxNorm", "config": {"maxValue": 0.4, "axis": [0, 1]}},  # TF.js's key spelling too
     lambda w: w * np.minimum(_l2(w, (0, 1)), 0.4) / (_l2(w, (0, 1)) + 1e-7)),
    ("maxNorm", lambda w: w * np.minimum(_l2(w, 0), 2.0) / (_l2(w, 0) + 1e-7)),  # TF.js's identifiers
    ("NonNeg", lambda w: np.maximum(w, 0)),
])
def test_each_constraint_is_its_definition(constraint, reference):
    w = (RNG.normal(size=(3, 4, 5)) * 1.5).astype(np.float32)
    got = apply_constraint(constraint, w, "w")
    assert got.dtype == np.float32 and got.shape == w.shape
    np.testing.assert_allclose(got, reference(w), rtol=2e-6, atol=1e-7)


def test_non_neg_gives_positive_zero_as_math_max():
    assert not np.signbit(apply_constraint(NON_NEG, np.array([-0.0, -1.0], np.float32), "w")).any()


@pytest.mark.parametrize("constraint, message", [
    ({"class_name": "RadialConstraint", "config": {}}, "not one TF.js 4.22 knows"),
    ({"class_name": "MaxNorm"}, "no config object"),
    ({"class_name": "MaxNorm", "config": {"axis": 2}}, "not an axis of the weight's 2"),
    ({"class_name": "MinMaxNorm", "config": {"min_value": 2, "max_value": 1}}, "exceeds max_value"),
    ({"class_name": "MaxNorm", "config": {"max_value": "big"}}, "not a number"),
])
def test_a_constraint_tfjs_fails_on_is_refused_at_load(tmp_path, constraint, message):
    folder = _dense_model(tmp_path / "m", np.ones((2, 2), np.float32), np.ones(2, np.float32),
                          kernel_constraint=constraint)
    with pytest.raises(UnsupportedLayerError, match=rf"layer 'dense' \(Dense\) weight 'kernel': its .*{message}"):
        tfjs_interop.load(folder)


def test_tfjs_layer_normalization_takes_no_constraints(tmp_path):
    """TF.js's LayerNormalization reads no gamma/beta constraint (its BatchNormalization does)."""
    gamma = np.array([3.0, -2.0], np.float32)
    for class_name, extra in (("LayerNormalization", {"axis": -1}),
                              ("BatchNormalization", {"axis": -1, "momentum": 0.99})):
        topology = functional([input_layer("x", [None, 2]),
                               layer(class_name, "norm", [["x", 0, 0]], epsilon=1e-3, center=True, scale=True,
                                     gamma_constraint=NON_NEG, beta_constraint=NON_NEG, **extra)], ["x"], ["norm"])
        weights = {"norm/gamma": gamma, "norm/beta": -gamma}
        if class_name == "BatchNormalization":
            weights.update({"norm/moving_mean": -gamma, "norm/moving_variance": np.ones(2, np.float32)})
        model = tfjs_interop.load(write_model(tmp_path / class_name, topology, weights).parent)
        norm = model.get_layer("norm")
        want = gamma if class_name == "LayerNormalization" else np.maximum(gamma, 0)
        np.testing.assert_array_equal(norm.gamma.value, want)
        if class_name == "BatchNormalization":  # the moving statistics carry no constraint in TF.js
            np.testing.assert_array_equal(norm.moving_mean.value, -gamma)


def test_constrained_weights_inside_wrappers_are_constrained(tmp_path):
    """Bidirectional's and TimeDistributed's layers constrain their own weights (the TF.js-made fixture)."""
    model = tfjs_interop.load(TFJS_FIXTURES / "constraints_trained_layers")
    constrained = {v.path: describe(v.constraint) for layer in model.layers for v in layer.weights
                   if v.constraint is not None}
    assert constrained["forward/recurrent_kernel"].startswith("MaxNorm(") and "backward/kernel" in constrained
    assert "moving_mean" not in constrained and "alpha" in constrained and "kernel" in constrained


@pytest.mark.parametrize("name", sorted(excluded_from(SAVE_TFJS)))
def test_save_tfjs_refuses_weights_tfjs_would_constrain_again(tmp_path, name):
    """A MinMaxNorm of rate < 1 moves the weights on every load: the written model would reload otherwise."""
    with pytest.raises(UnsupportedLayerError, match=excluded_from(SAVE_TFJS)[name]) as info:
        tfjs_interop.save_tfjs(tfjs_interop.load(TFJS_FIXTURES / name), tmp_path / "out")
    assert "tf.loadLayersModel" in str(info.value) and "remove the constraint" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_save_tfjs_of_a_keras_model_whose_weights_break_a_constraint(tmp_path):
    """A Keras-engine model keeps weights that break their constraint (Keras does not constrain on loading): TF.js
    would, so save_tfjs refuses it, naming the weight; weights that keep the constraint are written."""
    kernel = RNG.normal(size=(4, 3)).astype(np.float32) * 2
    folder = _dense_model(tmp_path / "m", kernel, np.ones(3, np.float32), kernel_constraint=MAX_NORM)
    keras = model_from_file(read_tfjs(folder), Dialect.KERAS2, Engine.KERAS, model_class=tfjs_interop.Model)
    with pytest.raises(UnsupportedLayerError, match=r"layer 'dense' weight 'kernel' has the constraint "
                                                    r"MaxNorm\(max_value=0.5, axis=0\).*change it by up to"):
        tfjs_interop.save_tfjs(keras, tmp_path / "out")
    keras.set_weights([kernel / (4 * _l2(kernel, 0)).astype(np.float32), np.ones(3, np.float32)])  # norms 0.25
    tfjs_interop.save_tfjs(keras, tmp_path / "ok")
    written = tfjs_interop.load(tmp_path / "ok")
    x = RNG.normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(written.predict(x), keras.predict(x), atol=1e-6)
