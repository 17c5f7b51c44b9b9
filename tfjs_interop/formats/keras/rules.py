"""The topology under Keras's rules: what a TF.js-engine topology becomes to run (and be written) as Keras 3 runs it.

Stacked cells' states are put back in Keras's order, the dilation TF.js ignores dropped (from the layers' facts,
handed in: formats never import the runtime), and what TF.js computes and no Keras layer can is refused.
"""

from __future__ import annotations

from ...errors import UnsupportedLayerError
from ...facts import Catalog, facts_for
from ...parsing import normalise_config
from ...topology import MODEL_CLASSES, Call, Engine, LayerSpec, Origin, TensorRef, Topology


def check_tfjs_only_behaviour(topology: Topology, facts: Catalog) -> None:
    """Refuse what TF.js computes and no Keras layer can (``TfjsFacts.keras_inexpressible``: bilinear UpSampling2D
    at pixel corners, CenterCrop by cropAndResize, 3-D windows smaller than their strides shifted by same padding)."""
    if topology.origin.engine is not Engine.TFJS:
        return
    for spec in topology.layers:
        if spec.class_name in MODEL_CLASSES:
            check_tfjs_only_behaviour(spec.config["topology"], facts)
            continue
        for class_name, config in _nested_configs(spec.class_name, spec.config):
            known = facts_for(facts, class_name)
            why = known.tfjs.keras_inexpressible if known else None
            if why and _holds(known.tfjs.keras_inexpressible_when, config):
                raise UnsupportedLayerError(f"layer {spec.name!r} ({class_name}): {why}; it cannot be written to a "
                                            "Keras file")


def _holds(when: object, config: dict) -> bool:
    """Whether a layer's config is one ``keras_inexpressible_when`` names (its values, or a ``config -> bool``)."""
    return when(config) if callable(when) else all(config.get(k) == v for k, v in when.items())


def _nested_configs(class_name: str, config: dict) -> list[tuple[str, dict]]:
    """A layer's (class, config) and those of the layers it wraps."""
    out = [(class_name, config)]
    inner = config.get("layer")
    if isinstance(inner, dict) and isinstance(inner.get("class_name"), str):
        out += _nested_configs(inner["class_name"], inner.get("config") or {})
    return out


def keras_rules(topology: Topology, facts: Catalog) -> Topology:
    """The same graph and layer options, written so that Keras computes what the source's engine computes (run it
    on the Keras 3 engine).

    The states of stacked cells, which TF.js lists last cell first, are put in Keras's order, and every reference to
    them (outputs, inputs of other layers, initial states given) follows, so that each still means the same state.
    ``facts`` are the layer classes' (``tfjs_interop.runtime.layers.catalog()``, handed in by the caller).
    """
    origin = Origin(topology.origin.dialect, Engine.KERAS)
    tfjs = topology.origin.engine is Engine.TFJS
    layers = [LayerSpec(spec.name, spec.class_name, _keras_rules_config(spec, origin, tfjs, facts), list(spec.calls))
              for spec in topology.layers]
    rules = Topology(topology.name, layers, list(topology.inputs), list(topology.outputs), origin,
                     topology.keras_version)
    for spec in topology.layers if tfjs else []:
        order = _tfjs_state_order(spec, facts)
        if order is not None:
            _follow_state_order(rules, spec.name, order)
    return rules


def _tfjs_state_order(spec: LayerSpec, facts: Catalog) -> list[int] | None:
    """For an RNN over stacked cells whose states TF.js lists last cell first: the Keras position of each state
    in TF.js's list; else None."""
    cell = spec.config.get("cell") if spec.class_name == "RNN" else None
    if not isinstance(cell, dict) or cell.get("class_name") != "StackedRNNCells":
        return None
    counts = [_states(facts, c["class_name"]) for c in cell["config"]["cells"]]
    starts = [sum(counts[:i]) for i in range(len(counts))]
    return [starts[i] + j for i in reversed(range(len(counts))) for j in range(counts[i])]


def _states(facts: Catalog, cell: str) -> int:
    """How many states a cell carries (its layer class's fact)."""
    known = facts_for(facts, cell)
    return known.keras.states if known is not None else 1


def _follow_state_order(topology: Topology, name: str, order: list[int]) -> None:
    def moved(ref: TensorRef) -> TensorRef:
        if ref.layer != name or ref.tensor_index == 0:
            return ref
        return TensorRef(name, ref.node_index, 1 + order[ref.tensor_index - 1])

    for spec in topology.layers:
        spec.calls = [call.map_refs(moved) for call in spec.calls]
        if spec.name == name:
            spec.calls = [_reorder_initial_states(call, order) for call in spec.calls]
    topology.outputs = [moved(ref) for ref in topology.outputs]


def _reorder_initial_states(call: Call, order: list[int]) -> Call:
    """Initial states given in TF.js's order (as extra inputs) put in Keras's."""
    if len(call.args) != 1 + len(order):
        return call
    states = [None] * len(order)
    for tfjs_position, keras_position in enumerate(order):
        states[keras_position] = call.args[1 + tfjs_position]
    return Call((call.args[0], *states), dict(call.kwargs))


def _keras_rules_config(spec: LayerSpec, origin: Origin, tfjs: bool, facts: Catalog) -> dict:
    if spec.class_name in MODEL_CLASSES:
        return {**spec.config, "topology": keras_rules(spec.config["topology"], facts)}
    config = spec.config
    if tfjs:
        config = _undilated({"class_name": spec.class_name, "config": spec.config}, facts)["config"]
    return normalise_config(spec.class_name, config, origin)


def _undilated(value: object, facts: Catalog) -> object:
    """TF.js computes these layers without the dilation their configs save: so must Keras."""
    if isinstance(value, dict):
        known = facts.get(value.get("class_name"))
        if known and known.tfjs.behaviour.get("dilation_ignored") and isinstance(value.get("config"), dict):
            value = {**value, "config": {**value["config"], "dilation_rate": 1}}  # 1 along each axis, any rank
        return {k: _undilated(v, facts) for k, v in value.items()}
    if isinstance(value, list):
        return [_undilated(v, facts) for v in value]
    return value
