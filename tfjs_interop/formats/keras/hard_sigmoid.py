"""``hard_sigmoid`` for Keras 3: ``clip(0.2x + 0.5, 0, 1)`` in TF.js and Keras 2, ``relu6(x + 3) / 6`` in Keras 3.

Keras 3 has no built-in for the first, so it is expressed exactly with Keras 3's: ``clip(0.2z + 0.5) =
hard_sigmoid_3(1.2z)``, and where ``z`` is a layer's own pre-activation (a gate of LSTM / GRU, SimpleRNN, Dense,
Conv1D, Conv2D) the kernel, recurrent kernel and bias columns feeding it are scaled by 1.2 (``HardSigmoid.RESCALE``).
Where it is applied to anything else (LSTM's ``activation``, which also acts on the cell state; an ``Activation``
layer) the model is refused. ``HardSigmoid.CUSTOM`` instead names a custom activation (``KERAS2_HARD_SIGMOID``) the
caller supplies to Keras, and keeps the weights as they are (``verify`` uses it).
"""

from __future__ import annotations

import enum

import numpy as np

from ...errors import UnsupportedLayerError
from ...facts import Catalog, KerasFacts, facts_for
from ...topology import MODEL_CLASSES, Topology
from ..contract import ModelParts, WeightValue

KERAS2_HARD_SIGMOID = "tfjs_interop_hard_sigmoid"  # the custom activation's name with HardSigmoid.CUSTOM
HARD_SIGMOID_GAIN = np.float32(1.2)  # hard_sigmoid_keras2(z) == hard_sigmoid_keras3(1.2 z)


class HardSigmoid(enum.Enum):
    """How a TF.js / Keras 2 ``hard_sigmoid`` is written for Keras 3 (see the module docstring)."""

    RESCALE = "rescale"
    CUSTOM = "custom"


def rescale_hard_sigmoid(parts: ModelParts, topology: Topology, mode: HardSigmoid, notes: list[str]) -> ModelParts:
    """The model with the weights feeding each Keras-2 ``hard_sigmoid`` scaled by 1.2 (see the module docstring),
    or UnsupportedLayerError where that cannot be exact."""
    weights, nested = dict(parts.weights), dict(parts.nested)
    for spec in topology.layers:
        if spec.name in nested:  # a nested model, or the model a wrapper applies
            inner = spec.config["topology"] if spec.class_name in MODEL_CLASSES else \
                spec.config["layer"]["config"]["topology"]
            nested[spec.name] = rescale_hard_sigmoid(nested[spec.name], inner, mode, notes)
            continue
        own = {w.path: w for w in weights.get(spec.name, [])}
        for prefix, class_name, config in _units(spec.class_name, spec.config):
            scale = None if mode is HardSigmoid.CUSTOM else _gate_scale(class_name, config, spec.name, parts.facts)
            if scale is None:
                continue
            for kind in ("kernel", "recurrent_kernel", "bias"):
                weight = own.get(prefix + kind)
                if weight is not None:
                    columns = np.repeat(scale, weight.value.shape[-1] // len(scale))  # one factor per gate block
                    own[weight.path] = WeightValue(weight.path, (weight.value * columns).astype(np.float32),
                                                   weight.trainable)
            notes.append(f"layer {spec.name!r}: weights feeding hard_sigmoid scaled by 1.2 (TF.js/Keras 2 "
                         "hard_sigmoid(z) = Keras 3 hard_sigmoid(1.2 z))")
        if spec.name in weights:
            weights[spec.name] = list(own.values())
    return parts.with_weights(weights, nested)


def _units(class_name: str, config: dict, prefix: str = "") -> list[tuple[str, str, dict]]:
    """(weight path prefix, class, config) of each part of a layer that owns a kernel and may use activations."""
    if class_name in ("Bidirectional",):
        backward = config.get("backward_layer") or config["layer"]
        return (_units(config["layer"]["class_name"], config["layer"].get("config") or {}, prefix + "forward/")
                + _units(backward["class_name"], backward.get("config") or {}, prefix + "backward/"))
    if class_name == "TimeDistributed":
        return _units(config["layer"]["class_name"], config["layer"].get("config") or {}, prefix)
    if class_name == "RNN":
        cell = config.get("cell")
        cells = cell if isinstance(cell, list) else (
            cell["config"]["cells"] if cell["class_name"] == "StackedRNNCells" else None)
        if cells is None:
            return _units(cell["class_name"], cell.get("config") or {}, prefix)
        return [u for i, c in enumerate(cells) for u in _units(c["class_name"], c.get("config") or {},
                                                                f"{prefix}cells/{i}/")]
    return [(prefix, class_name.removesuffix("Cell"), config)]


def _gate_scale(class_name: str, config: dict, layer: str, facts: Catalog) -> np.ndarray | None:
    """Per gate block, 1.2 where a Keras-2 hard_sigmoid acts on it, else 1; None when none does. Which blocks each
    activation acts on is the layer class's fact (``KerasFacts.hard_sigmoid_gates``)."""
    keys = [key for key in ("activation", "recurrent_activation") if config.get(key) == "hard_sigmoid"]
    if not keys:
        return None
    known = facts_for(facts, class_name)
    keras = known.keras if known is not None else KerasFacts()
    gates = keras.hard_sigmoid_gates
    scale = np.ones(keras.gates, np.float32)
    for key in keys:
        blocks = gates.get(key)
        if blocks is None:
            why = ("LSTM applies it to the cell state too" if class_name == "LSTM"
                   else "it does not act on pre-activations of this layer's own weights")
            raise UnsupportedLayerError(
                f"layer {layer!r} ({class_name}): {key} 'hard_sigmoid' means clip(0.2x + 0.5, 0, 1) here (TF.js / "
                f"Keras 2); Keras 3 has no such activation, and {why}, so it cannot be rewritten exactly for Keras 3; "
                "use 'sigmoid' and retrain, or keep the model in the TF.js format")
        scale[list(blocks)] = HARD_SIGMOID_GAIN
    return scale
