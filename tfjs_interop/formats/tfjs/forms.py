"""Forms TF.js 4.22 can run: the same model with names TF.js accepts, and without the uses of an RNN's output
beside its state that TF.js fails on; and plain dtype strings."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ...topology import MODEL_CLASSES, LayerSpec, TensorRef, Topology
from ..contract import LayerWeights

_INVALID_NAME_CHARACTERS = re.compile(r"[^-A-Za-z0-9._/]")


_RECURRENT_LAYERS = ("LSTM", "GRU", "SimpleRNN", "ConvLSTM2D")


def tensor_name(name: str) -> str:
    """``name`` as TF.js accepts a layer's name (its scope names must match ``^[A-Za-z0-9][-A-Za-z0-9._/]*$``,
    tfjs-layers ``isValidTensorName``): other characters become ``_``, leading ones that cannot start a name go."""
    cleaned = _INVALID_NAME_CHARACTERS.sub("_", name).lstrip("-._/")
    return cleaned or "layer"


def tfjs_names(topology: Topology, weights: LayerWeights, ranks: Mapping[str, int] | None
               ) -> tuple[Topology, LayerWeights, Mapping[str, int] | None]:
    """The model with every layer name TF.js would refuse ("Not a valid tensor name": ``enc>lstm``, ``_out``)
    renamed to one it accepts, unique in the model: in the layer list, every reference, the weights' keys and
    nested models alike."""
    names = _all_names(topology)
    renamed = {}
    taken = set(names)
    for name in names:
        if tensor_name(name) == name:
            continue
        new, k = tensor_name(name), 0
        while new in taken:
            k += 1
            new = f"{tensor_name(name)}_{k}"
        renamed[name] = new
        taken.add(new)
    if not renamed:
        return topology, weights, ranks
    ranks = {renamed.get(k, k): v for k, v in ranks.items()} if ranks is not None else None
    return _renamed_topology(topology, renamed), _renamed_weights(weights, renamed), ranks


def _all_names(topology: Topology) -> list[str]:
    names = [topology.name]
    for spec in topology.layers:
        names.append(spec.name)
        nested = _model_in(spec)
        if nested is not None:
            names += _all_names(nested)
    return list(dict.fromkeys(names))


def _model_in(spec: LayerSpec) -> Topology | None:
    """The topology of a nested model, or of the model a wrapper applies."""
    if spec.class_name in MODEL_CLASSES:
        return spec.config["topology"]
    wrapped = spec.config.get("layer")
    if isinstance(wrapped, dict) and wrapped.get("class_name") in MODEL_CLASSES:
        return wrapped["config"]["topology"]
    return None


def _renamed_topology(topology: Topology, renamed: dict[str, str]) -> Topology:
    def ref(r: TensorRef) -> TensorRef:
        return TensorRef(renamed.get(r.layer, r.layer), r.node_index, r.tensor_index)

    layers = []
    for spec in topology.layers:
        name = renamed.get(spec.name, spec.name)
        config = {**spec.config, "name": name}
        if spec.class_name in MODEL_CLASSES:
            config["topology"] = _renamed_topology(spec.config["topology"], renamed)
        elif _model_in(spec) is not None:
            wrapped = spec.config["layer"]
            config["layer"] = {**wrapped, "config": {**wrapped["config"], "topology": _renamed_topology(
                wrapped["config"]["topology"], renamed)}}
        layers.append(LayerSpec(name, spec.class_name, config, [call.map_refs(ref) for call in spec.calls]))
    return Topology(renamed.get(topology.name, topology.name), layers, [ref(r) for r in topology.inputs],
                    [ref(r) for r in topology.outputs], topology.origin, topology.keras_version)


def _renamed_weights(weights: LayerWeights, renamed: dict[str, str]) -> LayerWeights:
    return {renamed.get(name, name): value if isinstance(value, list) else _renamed_weights(value, renamed)
            for name, value in weights.items()}


def states_for_outputs(topology: Topology) -> Topology:
    """The model with every layer's use of an LSTM's, GRU's or SimpleRNN's output that is also its first state
    (no ``return_sequences``, with ``return_state``) made a use of that state, where layers use a state too.

    TF.js 4.22 fails to run such a layer when its output and its states both feed later layers ("Cannot read
    properties of undefined (reading 'backend')"); the output *is* the state h there, so the numbers do not
    change (the check before writing compares them anyway). The model's own outputs are left as they are: TF.js
    runs ``[output, h, c]`` as outputs, but fails on ``[h, h, c]``.
    """
    layers = []
    for spec in topology.layers:
        config = spec.config
        if spec.class_name in MODEL_CLASSES:
            config = {**config, "topology": states_for_outputs(config["topology"])}
        layers.append(LayerSpec(spec.name, spec.class_name, config, list(spec.calls)))
    both = _output_and_state_used(topology)

    def as_state(r: TensorRef) -> TensorRef:
        return TensorRef(r.layer, r.node_index, 1) if (r.layer, r.node_index) in both and r.tensor_index == 0 else r

    for spec in layers:
        spec.calls = [call.map_refs(as_state) for call in spec.calls]
    return Topology(topology.name, layers, list(topology.inputs), list(topology.outputs), topology.origin,
                    topology.keras_version)


def _output_and_state_used(topology: Topology) -> set[tuple[str, int]]:
    """The calls of recurrent layers whose output equals state h and feeds layers beside a state."""
    candidates = {spec.name for spec in topology.layers if spec.class_name in _RECURRENT_LAYERS
                  and spec.config.get("return_state") and not spec.config.get("return_sequences")}
    used: dict[tuple[str, int], set[int]] = {}
    refs = [r for spec in topology.layers for call in spec.calls for r in call.refs()]
    for r in refs:
        if r.layer in candidates:
            used.setdefault((r.layer, r.node_index), set()).add(r.tensor_index)
    return {node for node, indices in used.items() if 0 in indices and len(indices) > 1}
