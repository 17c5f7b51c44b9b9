"""model.json's ``modelTopology``: the normalised topology in the form tfjs-layers 4.22 deserialises.

A functional ``Model`` with classic ``inbound_nodes`` lists in the order TF.js's loader makes the calls, bare class
names, ``batch_input_shape`` on input layers, plain dtype strings and snake_case keys; the normaliser's engine keys
and Keras 3's bookkeeping dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from ...dialects import batch_shape, plain_dtype
from ...engines.tfjs import call_numbers
from ...facts import Catalog
from ...topology import MODEL_CLASSES, Call, LayerSpec, TensorRef, Topology
from .naming import inner_name
from .support import ACTIVATION_ALIASES, TFJS_VERSION, tfjs_facts

TFJS_SERIALIZABLES = frozenset({  # initializers, regularizers, constraints
    "Zeros", "Ones", "Constant", "RandomUniform", "RandomNormal", "TruncatedNormal", "Identity", "VarianceScaling",
    "GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "LeCunNormal", "LeCunUniform", "Orthogonal", "L1L2",
    "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm",
})


SERIALIZABLE_ALIASES = {"OrthogonalInitializer": "Orthogonal", "IdentityInitializer": "Identity"}


# Keras 3 bookkeeping TF.js has no use for.
DROPPED_KEYS = frozenset({"module", "registered_name", "build_config", "compile_config", "zero_output_for_mask"})




SHAPE_KEYS = frozenset({"batch_input_shape", "batch_shape", "input_shape", "batch_size", "input_dtype"})


RECURRENT_CELLS = ("LSTM", "GRU", "LSTMCell", "GRUCell", "ConvLSTM2D", "ConvLSTM2DCell")


def encode_topology(topology: Topology, facts: Catalog) -> dict:
    """The ``modelTopology`` of model.json, as TF.js's ``model.save`` writes it (a functional ``Model``)."""
    return {"class_name": "Model", "config": _model_config(topology, facts),
            "keras_version": f"tfjs-layers {TFJS_VERSION}", "backend": "tensor_flow.js"}


def with_static_sizes(topology: Topology, shapes: Mapping[str, tuple], facts: Catalog) -> Topology:
    """The topology with each layer's sizes that TF.js cannot infer written out (``TfjsFacts.static_spelling``),
    from its first output's shape (``shapes``: by layer name), nested models' layers too."""
    layers = []
    for spec in topology.layers:
        spell = tfjs_facts(facts, spec.class_name).static_spelling
        if spec.class_name in MODEL_CLASSES:
            inner = with_static_sizes(spec.config["topology"], shapes, facts)
            spec = dataclasses.replace(spec, config={**spec.config, "topology": inner})
        elif spell is not None and spec.name in shapes:
            spec = dataclasses.replace(spec, config=spell(dict(spec.config), tuple(shapes[spec.name])))
        layers.append(spec)
    return dataclasses.replace(topology, layers=layers)


def _model_config(topology: Topology, facts: Catalog) -> dict:
    order = call_numbers(topology)  # the loader's order: it rebuilds exactly the graph written
    nested = {spec.name for spec in topology.layers if spec.class_name in MODEL_CLASSES}

    def ref(r: TensorRef) -> list:
        index = order.get((r.layer, r.node_index), r.node_index)
        return [r.layer, index + (1 if r.layer in nested else 0), r.tensor_index]

    return {"name": topology.name, "layers": [_layer_entry(spec, order, ref, facts) for spec in topology.layers],
            "input_layers": [ref(r) for r in topology.inputs], "output_layers": [ref(r) for r in topology.outputs]}


def _layer_entry(spec: LayerSpec, order: dict, ref: Callable[[TensorRef], list], facts: Catalog
                 ) -> dict:
    calls = sorted(range(len(spec.calls)), key=lambda i: order[(spec.name, i)])
    nodes = [_node(spec.calls[i], ref) for i in calls]
    if spec.class_name in MODEL_CLASSES:
        class_name, config = "Model", _model_config(spec.config["topology"], facts)
    else:
        class_name, config = spec.class_name, layer_config(spec.class_name, spec.config, facts)
    config["name"] = spec.name
    return {"class_name": class_name, "config": config, "name": spec.name, "inbound_nodes": nodes}


def _node(call: Call, ref: Callable[[TensorRef], list]) -> list:
    """A call as TF.js writes it: [layer, node, tensor, kwargs] per input, initial states as extra inputs."""
    initial = call.kwargs.get("initial_state")
    refs = list(call.args) + ([initial] if isinstance(initial, TensorRef) else list(initial or []))
    kwargs = {k: v for k, v in call.kwargs.items() if k not in ("initial_state", "mask", "training")}
    return [[*ref(r), dict(kwargs)] for r in refs]



def layer_config(class_name: str, config: dict, facts: Catalog) -> dict:
    """A normalised layer config in the form TF.js reads: engine keys dropped, values in TF.js's vocabulary."""
    if class_name == "InputLayer":
        return _input_config(config)
    out = {}
    for key, value in config.items():
        if key not in DROPPED_KEYS and key not in SHAPE_KEYS and \
                key not in tfjs_facts(facts, class_name).dropped_keys:
            out[key] = _value(key, value, facts)
    if class_name in RECURRENT_CELLS:
        out.setdefault("recurrent_activation", "sigmoid")  # the runtime's default (Keras >= 2.3); TF.js's differs
    if class_name in ("GRU", "GRUCell"):
        out["reset_after"] = False
    spelling = tfjs_facts(facts, class_name).spelling
    if spelling is not None:
        out = spelling(out)
    out.pop("negative_slope", None)  # Keras 3's option, which TF.js has not (ReLU's is checked to be 0)
    if class_name == "RNN":
        out.pop("cells", None)  # TF.js writes the cells twice; it reads "cell"
    if class_name == "Bidirectional":
        out.pop("backward_layer", None)  # checked to mirror the forward layer
    return out


def _input_config(config: dict) -> dict:
    return {"batch_input_shape": list(batch_shape(config)), "dtype": plain_dtype(config.get("dtype")) or "float32",
            "sparse": False, "name": config.get("name")}


def _value(key: str, value: object, facts: Catalog) -> object:
    if key in ("activation", "recurrent_activation") and isinstance(value, str):
        return ACTIVATION_ALIASES.get(value, value)
    if key == "dtype":
        return plain_dtype(value)
    if key.endswith(("_initializer", "_regularizer", "_constraint")):
        return _serializable(value)
    if key in ("layer", "cell") and isinstance(value, list):
        value = {"class_name": "StackedRNNCells", "config": {"cells": value}}
    if key == "layer" and isinstance(value, dict) and value.get("class_name") in MODEL_CLASSES:
        return {"class_name": "Model", "config": _model_config(value["config"]["topology"], facts)}
    if key in ("layer", "cell", "backward_layer") and isinstance(value, dict) and "class_name" in value:
        config = layer_config(value["class_name"], value.get("config") or {}, facts)
        config["name"] = inner_name(value.get("config") or {})
        return {"class_name": value["class_name"], "config": config}
    if key == "cells" and isinstance(value, list):
        return [_value("cell", cell, facts) for cell in value]
    return value


def _serializable(value: object) -> object:
    """An initializer, regularizer or constraint TF.js knows, else None (it only matters for training)."""
    if not isinstance(value, dict):
        return value if isinstance(value, str) else None
    class_name = SERIALIZABLE_ALIASES.get(value.get("class_name"), value.get("class_name"))
    if class_name not in TFJS_SERIALIZABLES:
        return None
    config = {k: v for k, v in (value.get("config") or {}).items() if k not in DROPPED_KEYS}
    return {"class_name": class_name, "config": config}
