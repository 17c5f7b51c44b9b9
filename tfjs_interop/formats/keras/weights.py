"""The weights of a Keras 3 file: ``model.weights.h5``'s groups (``.keras``) and the legacy ``model_weights`` (``.h5``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ...facts import facts_for
from ...topology import MODEL_CLASSES, Topology
from ..contract import ModelParts
from .config import is_sequential, nested_is_sequential
from .v3_weights import keras_snake_case, unique_key

RNN_LAYERS = ("LSTM", "GRU", "SimpleRNN", "ConvLSTM2D")
# The cell object Keras 3 keeps a recurrent layer's weights in, where it is not <snake_case class>_cell.
_CELL_NAMES = {"ConvLSTM2D": "conv_lstm_cell"}


WRAPPERS = ("Bidirectional", "TimeDistributed")


def model_groups(parts: ModelParts, topology: Topology, base: str, groups: dict[str, tuple[str, list[np.ndarray]]],
                 sequential: bool | None = None) -> None:
    """Keras 3 saves a model's layers under ``layers/<snake_case class name>[_n]`` in ``model.layers`` order
    (a Sequential's list leaves out its InputLayer), each object's own variables in ``<path>/vars``."""
    used: dict[str, int] = {}
    skip_input = is_sequential(topology) if sequential is None else sequential
    for spec in topology.layers:
        if skip_input and spec.class_name == "InputLayer":
            continue
        keras_class = spec.class_name
        if spec.class_name in MODEL_CLASSES:
            keras_class = "Sequential" if nested_is_sequential(spec) else "Functional"
        path = _join(base, "layers", unique_key(keras_snake_case(keras_class), used))
        inner = parts.nested.get(spec.name)
        if spec.class_name in MODEL_CLASSES:
            groups[path] = (spec.name, [])
            model_groups(inner, spec.config["topology"], path, groups, nested_is_sequential(spec))
        elif inner is not None:  # TimeDistributed(model): the model's layers under <path>/layer/layers/...
            groups[path] = (spec.name, [])
            groups[_join(path, "layer")] = (inner.name, [])
            wrapped = spec.config["layer"]
            model_groups(inner, wrapped["config"]["topology"], _join(path, "layer"), groups,
                         nested_is_sequential(wrapped))
        else:
            weights = {w.path: w.value for w in parts.weights.get(spec.name, [])}
            children = facts_for(parts.facts, spec.class_name)
            children = children.keras.keras3_children if children is not None else {}
            if children:
                _sublayer_groups(spec.name, weights, path, children, groups)
            else:
                _layer_groups(spec.class_name, spec.config, spec.name, weights, path, groups)


def _sublayer_groups(name: str, weights: dict[str, np.ndarray], path: str, children: Mapping[str, str],
                     groups: dict[str, tuple[str, list[np.ndarray]]]) -> None:
    """A layer made of sublayers (``KerasFacts.keras3_children``): each sublayer's weights (``query/kernel``...)
    in its own group (``<path>/query_dense/vars``), named as Keras names the sublayer (``query``)."""
    groups[path] = (name, [])
    for prefix, attribute in children.items():
        own = _strip(weights, f"{prefix}/")
        if own:
            groups[_join(path, attribute)] = (prefix, list(own.values()))


def _layer_groups(class_name: str, config: dict, name: str, weights: dict[str, np.ndarray], path: str,
                  groups: dict[str, tuple[str, list[np.ndarray]]]) -> None:
    """The groups of one layer: wrappers hold their inner layers under ``forward_layer``, ``backward_layer``,
    ``layer``; recurrent layers their cell under ``cell``, a stack its cells under ``cell/cells/<class>``."""
    groups[path] = (name, [] if class_name in RNN_LAYERS + ("RNN",) + WRAPPERS else list(weights.values()))
    if class_name in RNN_LAYERS:
        cell = _CELL_NAMES.get(class_name, f"{keras_snake_case(class_name)}_cell")
        groups[_join(path, "cell")] = (cell, list(weights.values()))
    elif class_name == "RNN":
        _cell_groups(config.get("cell"), weights, _join(path, "cell"), groups)
    elif class_name == "Bidirectional":
        inner = config["layer"]
        backward = config.get("backward_layer") or inner
        for direction, spec, attr in (("forward", inner, "forward_layer"), ("backward", backward, "backward_layer")):
            own = _strip(weights, f"{direction}/")
            _layer_groups(spec["class_name"], spec.get("config") or {}, f"{direction}_{spec['config'].get('name')}",
                          own, _join(path, attr), groups)
    elif class_name == "TimeDistributed":
        inner = config["layer"]
        _layer_groups(inner["class_name"], inner.get("config") or {}, (inner.get("config") or {}).get("name", name),
                      weights, _join(path, "layer"), groups)


def _cell_groups(cell: object, weights: dict[str, np.ndarray], path: str,
                 groups: dict[str, tuple[str, list[np.ndarray]]]) -> None:
    if isinstance(cell, list):
        cell = {"class_name": "StackedRNNCells", "config": {"cells": cell}}
    if cell["class_name"] != "StackedRNNCells":
        groups[path] = ((cell.get("config") or {}).get("name", "cell"), list(weights.values()))
        return
    groups[path] = (cell["config"].get("name", "stacked_rnn_cells"), [])
    used: dict[str, int] = {}
    for i, inner in enumerate(cell["config"]["cells"]):
        key = unique_key(keras_snake_case(inner["class_name"]), used)
        name = (inner.get("config") or {}).get("name", key)
        groups[_join(path, "cells", key)] = (name, list(_strip(weights, f"cells/{i}/").values()))


def _strip(weights: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k.removeprefix(prefix): v for k, v in weights.items() if k.startswith(prefix)}


def legacy_weights(parts: ModelParts, layer: str) -> list[tuple[str, np.ndarray]]:
    """A layer's weights as Keras's legacy H5 lists them: trainable ones first, each named ``<layer>/<path>``."""
    nested = parts.nested.get(layer)
    if nested is not None:  # Keras names a wrapped model's weights <wrapper>/<model>/<layer>/...
        scope = layer if parts.topology.layer(layer).class_name in MODEL_CLASSES else f"{layer}/{nested.name}"
        named = [(f"{scope}/{spec.name}/{w.path}", w) for spec in nested.topology.layers
                 for w in nested.flat_weights(spec.name)]
        named.sort(key=lambda item: not item[1].trainable)
        return [(name, w.value) for name, w in named]
    return [(f"{layer}/{w.path}", w.value) for w in sorted(parts.weights.get(layer, []), key=lambda w: not w.trainable)]


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)
