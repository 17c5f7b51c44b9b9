"""TF.js's weight names, both ways: the names the writer gives a layer's weights (``<layer>/forward_<inner>/kernel``,
``<layer>/RNNCell_<i>/bias``), and how a name read from a file matches a runtime weight path.
"""

from __future__ import annotations

import re

import numpy as np

from ...topology import MODEL_CLASSES, Topology
from ..contract import LayerWeights
from .forms import tensor_name

# --- writing: a runtime weight path -> TF.js's name --------------------------------------------------------------

def inner_name(config: dict) -> str:
    """The name a wrapped layer or cell is written with (TF.js would invent one where a config has none)."""
    return tensor_name(config.get("name") or "inner")


def named_weights(topology: Topology, weights: LayerWeights) -> list[tuple[str, np.ndarray]]:
    """The weights under the names TF.js gives them, trainable ones first (as ``model.save`` lists them)."""
    found = _named(topology, weights)
    return [(n, v) for _, n, v, t in found if t] + [(n, v) for _, n, v, t in found if not t]


def weights_by_layer(topology: Topology, weights: LayerWeights) -> list[list[tuple[str, np.ndarray]]]:
    """The named weights in one list per layer that has any (``--split_weights_by_layer``: one group each),
    trainable ones first within each layer."""
    layers: dict[str, list[tuple[str, np.ndarray, bool]]] = {}
    for layer, name, value, trainable in _named(topology, weights):
        layers.setdefault(layer, []).append((name, value, trainable))
    return [[(n, v) for n, v, t in found if t] + [(n, v) for n, v, t in found if not t] for found in layers.values()]


def _named(topology: Topology, weights: LayerWeights) -> list[tuple[str, str, np.ndarray, bool]]:
    """(layer, TF.js weight name, value, trainable) of every weight, layer by layer."""
    out = []
    for spec in topology.layers:
        wrapped = spec.config.get("layer")
        if spec.class_name in MODEL_CLASSES:  # TF.js names a nested model's weights without its name
            out += _named(spec.config["topology"], weights.get(spec.name, {}))
            continue
        if isinstance(wrapped, dict) and wrapped.get("class_name") in MODEL_CLASSES:  # and a wrapped model's
            out += _named(wrapped["config"]["topology"], weights.get(spec.name, {}))
            continue
        for weight in weights.get(spec.name, []):
            tokens = weight_tokens(spec.class_name, spec.config, weight.path.split("/"))
            out.append((spec.name, "/".join([spec.name, *tokens]), weight.value, weight.trainable))
    return out


def weight_tokens(class_name: str, config: dict, path: list[str]) -> list[str]:
    """TF.js's name scopes for a runtime weight path: Bidirectional's ``forward_<inner>``, stacked cells'
    ``RNNCell_<i>``; TimeDistributed adds no scope of its own."""
    inner = config.get("layer") if isinstance(config.get("layer"), dict) else {}
    if class_name == "Bidirectional" and path[0] in ("forward", "backward"):
        inner_config = inner.get("config") or {}
        scope = f"{path[0]}_{inner_name(inner_config)}"
        return [scope, *weight_tokens(inner.get("class_name", ""), inner_config, path[1:])]
    if class_name == "TimeDistributed":
        return weight_tokens(inner.get("class_name", ""), inner.get("config") or {}, path)
    if path[0] == "cells" and len(path) > 2:
        return [f"RNNCell_{path[1]}", *path[2:]]
    return path


# --- reading: a file's weight name -> a runtime weight path ----------------------------------------------------

DIRECTIONS = ("forward", "backward")
_TFJS_CELL = re.compile(r"RNNCell_(\d+)")


def name_matches(path: str, name: str) -> bool:
    """Whether the file's weight ``name`` (``<layer>/.../<kind>[:0]``) can be the runtime weight at ``path``
    within its layer: the same last token (``kernel``, ``bias``...), inside Bidirectional the same ``forward`` /
    ``backward`` scope, and for stacked cells the same index (TF.js names the i-th ``RNNCell_i``; Keras writers
    name them otherwise, which any index matches)."""
    tokens = [t.removesuffix(":0") for t in name.split("/")[1:]]
    parts = path.split("/")
    if not tokens or tokens[-1] != parts[-1]:
        return False
    if parts[0] in DIRECTIONS and not any(t.startswith(parts[0]) for t in tokens[:-1]):
        return False
    if "cells" in parts:
        index = parts[parts.index("cells") + 1]
        return all(m.group(1) == index for m in map(_TFJS_CELL.fullmatch, tokens[:-1]) if m)
    return True
