"""The topology under Keras's rules: what a TF.js-engine topology becomes to run (and be written) as Keras 3 runs it.

The normaliser's TF.js-engine keys are dropped, stacked cells' states put back in Keras's order, and what TF.js
computes and no Keras layer can is refused.
"""

from __future__ import annotations

from ...errors import UnsupportedLayerError
from ...topology import (
    KERAS3_MASK_MERGES,
    MODEL_CLASSES,
    Call,
    Engine,
    LayerSpec,
    Origin,
    TensorRef,
    Topology,
    normalise_config,
)

# Keys the normaliser writes to make the runtime reproduce TF.js's engine; Keras has no such options.
ENGINE_KEYS = ("masked_output_from_state", "reverse_state_order", "flat_parameter_index", "masked_mean",
               "mask_to_inner", "keras3_masks", "half_pixel_centers",
               "dilation_ignored", "tfjs_crop_and_resize", "fails_in_tfjs")


_STATE_COUNT = {"LSTMCell": 2}


def check_tfjs_only_behaviour(topology: Topology) -> None:
    """Refuse what TF.js computes and no Keras layer can: bilinear UpSampling2D at pixel corners, CenterCrop by
    cropAndResize."""
    for spec in topology.layers:
        if spec.class_name in MODEL_CLASSES:
            check_tfjs_only_behaviour(spec.config["topology"])
            continue
        for class_name, config in _nested_configs(spec.class_name, spec.config):
            if class_name == "CenterCrop" and config.get("tfjs_crop_and_resize"):
                raise UnsupportedLayerError(
                    f"layer {spec.name!r} (CenterCrop): TF.js's CenterCrop samples its box with cropAndResize and "
                    "moves a one-column margin to the left edge, which Keras's exact crop does not; it cannot be "
                    "written to a Keras file")
            if (class_name == "UpSampling2D" and config.get("interpolation") == "bilinear"
                    and config.get("half_pixel_centers") is False):
                raise UnsupportedLayerError(
                    f"layer {spec.name!r} (UpSampling2D): TF.js's bilinear upsampling samples at pixel corners "
                    "(align_corners=False, no half-pixel centres), Keras's at pixel centres, so Keras would compute "
                    "other numbers; it cannot be written to a Keras file (use interpolation 'nearest', which both "
                    "compute alike)")


def _nested_configs(class_name: str, config: dict) -> list[tuple[str, dict]]:
    """A layer's (class, config) and those of the layers it wraps."""
    out = [(class_name, config)]
    inner = config.get("layer")
    if isinstance(inner, dict) and isinstance(inner.get("class_name"), str):
        out += _nested_configs(inner["class_name"], inner.get("config") or {})
    return out


def keras_rules(topology: Topology) -> Topology:
    """The same graph and layer options with the TF.js-engine keys dropped, to run as Keras 3 runs it.

    The states of stacked cells, which TF.js lists last cell first, are put in Keras's order, and every reference to
    them (outputs, inputs of other layers, initial states given) follows, so that each still means the same state.
    """
    origin = Origin(topology.origin.dialect, Engine.KERAS)
    layers = [LayerSpec(spec.name, spec.class_name, _keras_rules_config(spec, origin), list(spec.calls))
              for spec in topology.layers]
    rules = Topology(topology.name, layers, list(topology.inputs), list(topology.outputs), origin,
                     topology.keras_version)
    for spec in topology.layers:
        order = _tfjs_state_order(spec)
        if order is not None:
            _follow_state_order(rules, spec.name, order)
    return rules


def _tfjs_state_order(spec: LayerSpec) -> list[int] | None:
    """For an RNN over stacked cells whose states TF.js lists last cell first: the Keras position of each state
    in TF.js's list; else None."""
    cell = spec.config.get("cell") if spec.class_name == "RNN" else None
    if not isinstance(cell, dict) or not (cell.get("config") or {}).get("reverse_state_order"):
        return None
    counts = [_STATE_COUNT.get(c["class_name"], 1) for c in cell["config"]["cells"]]
    starts = [sum(counts[:i]) for i in range(len(counts))]
    return [starts[i] + j for i in reversed(range(len(counts))) for j in range(counts[i])]


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


def _keras_rules_config(spec: LayerSpec, origin: Origin) -> dict:
    if spec.class_name in MODEL_CLASSES:
        return {**spec.config, "topology": keras_rules(spec.config["topology"])}
    config = normalise_config(spec.class_name, _without_engine_keys(spec.config), origin)
    if spec.class_name in KERAS3_MASK_MERGES:
        config["keras3_masks"] = True
    return config


def _without_engine_keys(value: object) -> object:
    if isinstance(value, dict):
        if value.get("dilation_ignored"):  # TF.js computes these undilated: so must Keras
            value = {**value, "dilation_rate": [1, 1]}
        return {k: _without_engine_keys(v) for k, v in value.items() if k not in ENGINE_KEYS}
    if isinstance(value, list):
        return [_without_engine_keys(v) for v in value]
    return value
