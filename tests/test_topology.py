"""The topology normaliser: dialects, Sequential and functional forms, and broken graphs."""

from __future__ import annotations

import numpy as np
import pytest
from modelfiles import functional, input_layer, layer, write_model

import tfjs_interop
from tfjs_interop.dialects import activation_name, dialect_of
from tfjs_interop.errors import ModelFormatError
from tfjs_interop.parsing import normalise_config, parse_topology
from tfjs_interop.topology import Dialect, Engine, Origin


@pytest.mark.parametrize("version,dialect", [("tfjs-layers 4.22.0", Dialect.TFJS), ("2.15.0", Dialect.KERAS2),
                                             ("3.6.0", Dialect.KERAS3), (None, Dialect.TFJS)])
def test_dialect_from_keras_version(version, dialect):
    assert dialect_of(version, Dialect.TFJS) is dialect


TFJS = Origin(Dialect.TFJS, Engine.TFJS)


def test_camel_case_configs_are_snake_cased():
    config = normalise_config("LSTM", {"units": 3, "recurrentActivation": "hardSigmoid", "returnSequences": True},
                              TFJS)
    assert config["recurrent_activation"] == "hard_sigmoid" and config["return_sequences"] is True


def test_keras3_hard_sigmoid_gets_its_own_name():
    assert activation_name("hard_sigmoid", Dialect.KERAS3) == "hard_sigmoid_keras3"
    assert activation_name("hard_sigmoid", Dialect.KERAS2) == "hard_sigmoid"


def test_engine_defaults_fill_missing_keys():
    keras = Origin(Dialect.KERAS2, Engine.KERAS)
    assert normalise_config("GRU", {"units": 2}, TFJS)["reset_after"] is False
    assert normalise_config("GRU", {"units": 2}, keras)["reset_after"] is True
    assert normalise_config("LSTM", {"units": 2}, TFJS)["recurrent_activation"] == "hard_sigmoid"
    assert "recurrent_activation" not in normalise_config("LSTM", {"units": 2}, keras)  # the runtime's sigmoid


def test_sequential_gets_an_input_layer():
    model = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 2, "batch_input_shape": [None, 3]}}]}}
    topology = parse_topology(model, TFJS, "m.json")
    assert [s.class_name for s in topology.layers] == ["InputLayer", "Dense"]
    assert topology.layers[0].config["batch_input_shape"] == [None, 3]


@pytest.mark.parametrize("mutate,message", [
    (lambda t: t["config"]["layers"][1]["inbound_nodes"][0][0].__setitem__(0, "ghost"), "'ghost'"),
    (lambda t: t["config"]["layers"][1]["inbound_nodes"][0][0].__setitem__(1, 3), "call 3"),
    (lambda t: t["config"]["layers"][1]["config"].__setitem__("name", "x") or t["config"]["layers"][1]
     .__setitem__("name", "x"), "layer names must be unique; repeated are 'x'"),
    (lambda t: t.__setitem__("class_name", "Graph"), "expected 'Sequential'"),
])
def test_broken_graphs_are_refused(tmp_path, mutate, message):
    topology = functional([input_layer("x", [None, 3]), layer("Dense", "d", [["x", 0, 0]], units=2)], ["x"], ["d"])
    mutate(topology)
    path = write_model(tmp_path, topology, {"d/kernel": np.ones((3, 2), np.float32), "d/bias": np.ones(2, np.float32)})
    with pytest.raises(ModelFormatError, match=message):
        tfjs_interop.load(path)


def test_cycle_is_refused(tmp_path):
    layers = [input_layer("x", [None, 3]), layer("Add", "a", [["x", 0, 0], ["b", 0, 0]]),
              layer("Activation", "b", [["a", 0, 0]], activation="relu")]
    path = write_model(tmp_path, functional(layers, ["x"], ["b"]), {})
    with pytest.raises(ModelFormatError, match="cycle"):
        tfjs_interop.load(path)


def test_shared_layer_runs_once_per_call(tmp_path):
    """A layer called twice has two nodes; references pick the node by index."""
    layers = [input_layer("a", [None, 3]), input_layer("b", [None, 3]),
              {**layer("Dense", "shared", None, units=2), "inbound_nodes": [[["a", 0, 0, {}]], [["b", 0, 0, {}]]]}]
    kernel = np.arange(6, dtype=np.float32).reshape(3, 2) / 5
    bias = np.array([0.25, -0.5], np.float32)
    path = write_model(tmp_path, functional(layers, ["a", "b"], [["shared", 1, 0], ["shared", 0, 0]]),
                       {"shared/kernel": kernel, "shared/bias": bias})
    a, b = np.ones((2, 3), np.float32), np.full((2, 3), -2.0, np.float32)
    first, second = tfjs_interop.load(path).predict([a, b])
    np.testing.assert_allclose(first, b @ kernel + bias, rtol=1e-6)
    np.testing.assert_allclose(second, a @ kernel + bias, rtol=1e-6)


def _lstm_model(tmp_path, **config):
    layers = [input_layer("x", [None, 4, 2]), layer("LSTM", "rnn", [["x", 0, 0]], **{"units": 3, **config})]
    weights = {"rnn/kernel": np.ones((2, 12), np.float32), "rnn/recurrent_kernel": np.ones((3, 12), np.float32),
               "rnn/bias": np.ones(12, np.float32)}
    return write_model(tmp_path, functional(layers, ["x"], ["rnn"]), weights)


@pytest.mark.parametrize("config,message", [
    ({"go_backwards": "false"}, r"`go_backwards`, expected a boolean, got 'false'"),
    ({"units": 2.5}, r"`units`, expected an integer, got 2.5"),
    ({"units": -3}, r"`units`, expected a positive integer, got -3"),
    ({"recurrent_activation": "gelu_fast"}, "recurrent_activation 'gelu_fast' is not supported"),
    ({"time_major": True}, "time_major=True is not supported"),
])
def test_bad_recurrent_options_get_clear_errors(tmp_path, config, message):
    with pytest.raises(tfjs_interop.TfjsInteropError, match=message):
        tfjs_interop.load(_lstm_model(tmp_path, **config))


def test_integral_float_units_are_taken_as_ints(tmp_path):
    model = tfjs_interop.load(_lstm_model(tmp_path, units=3.0))
    assert model.predict(np.ones((1, 4, 2), np.float32)).shape == (1, 3)


@pytest.mark.parametrize("mutate,message", [
    (lambda t: t["config"]["layers"][1].__setitem__("inbound_nodes", [[]]), "at least one input tensor"),
    (lambda t: t["config"]["layers"][0]["config"].__setitem__("dtype", [1]), "`dtype`"),
    (lambda t: t["config"]["layers"][1].update(class_name="RNN", config={
        "name": "rnn", "cell": {"class_name": "StackedRNNCells", "config": {"cells": []}}}), "at least one cell"),
])
def test_malformed_layers_get_our_errors(tmp_path, mutate, message):
    topology = functional([input_layer("x", [None, 4, 2]), layer("LSTM", "rnn", [["x", 0, 0]], units=3)],
                          ["x"], ["rnn"])
    mutate(topology)
    with pytest.raises(ModelFormatError, match=message):
        tfjs_interop.load(write_model(tmp_path, topology, {}))
