"""Runtime model -> Keras 3: the model config Keras 3 deserialises, and the weights in Keras's layouts.

Nothing here imports Keras. The config is built from the normalised topology (snake_case keys, unambiguous
activation names), with the runtime's internal engine keys dropped, training-only settings (initializers,
regularizers, constraints) left to Keras's defaults, and every object in Keras 3's serialized form
(``module`` / ``class_name`` / ``config`` / ``registered_name``; ``__keras_tensor__`` call arguments).

``hard_sigmoid`` means ``clip(0.2x + 0.5, 0, 1)`` in TF.js and Keras 2 but ``relu6(x + 3) / 6`` in Keras 3. Keras 3
has no built-in for the first, so it is expressed exactly with Keras 3's: ``clip(0.2z + 0.5) = hard_sigmoid_3(1.2z)``,
and where ``z`` is a layer's own pre-activation (a gate of LSTM / GRU, SimpleRNN, Dense, Conv1D, Conv2D) the kernel,
recurrent kernel and bias columns feeding it are scaled by 1.2 (``HardSigmoid.RESCALE``). Where it is applied to
anything else (LSTM's ``activation``, which also acts on the cell state; an ``Activation`` layer) the model is refused.
``HardSigmoid.CUSTOM`` instead names a custom activation (``KERAS2_HARD_SIGMOID``) the caller supplies to Keras, and
keeps the weights as they are (``verify`` uses it).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from ..engines import KERAS3, LAYER_RULE
from ..engines.keras import KerasMasks
from ..errors import InputError, UnsupportedLayerError
from ..parsing import normalise_config
from ..runtime.layers.base import Layer, Variable, catalog  # TODO(#13): the catalog is to be injected
from ..runtime.model import Model
from ..runtime.nested import NestedModel
from ..topology import (
    MODEL_CLASSES,
    OP_PREFIX,
    Call,
    Dialect,
    Engine,
    LayerSpec,
    Origin,
    TensorRef,
    Topology,
)
from .keras_v3_weights import keras_snake_case, unique_key

KERAS2_HARD_SIGMOID = "tfjs_interop_hard_sigmoid"  # the custom activation's name with HardSigmoid.CUSTOM
HARD_SIGMOID_GAIN = np.float32(1.2)  # hard_sigmoid_keras2(z) == hard_sigmoid_keras3(1.2 z)

# Keys Keras 3 does not take (or that only matter when training, left to Keras's defaults).
_DROPPED_KEYS = ("implementation", "input_length", "batch_input_shape", "batch_shape", "input_shape",
                 "time_major", "unit_forget_bias", "noise_shape", "seed", "build_config")
_DROPPED_SUFFIXES = ("_initializer", "_regularizer", "_constraint")
# Keras 3.x's SpatialDropout1D refuses `trainable`; tf.keras writes Conv2D's `groups` (always 1) into these, which
# Keras 3 refuses.
_DROPPED_BY_CLASS = {"SpatialDropout1D": ("trainable",), "DepthwiseConv2D": ("groups",), "SeparableConv2D": ("groups",),
                     "Conv2DTranspose": ("groups",)}
# TF.js writes the options of an RNN's cell into the RNN's own config too; Keras 3's RNN takes only these.
_RNN_KEYS = ("name", "trainable", "dtype", "cell", "return_sequences", "return_state", "go_backwards", "stateful",
             "unroll", "zero_output_for_mask")
_RECURRENT = ("LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional")
# Activations Keras 3 knows by the same name and meaning (tests/test_keras_writer.py checks each).
KERAS3_ACTIVATIONS = frozenset({
    "linear", "relu", "relu6", "elu", "selu", "sigmoid", "softplus", "softsign", "tanh", "softmax", "log_softmax",
    "gelu", "swish", "silu", "hard_silu", "hard_swish", "mish", "exponential", "leaky_relu", "log_sigmoid",
    "tanh_shrink"})

RNN_LAYERS = ("LSTM", "GRU", "SimpleRNN")
WRAPPERS = ("Bidirectional", "TimeDistributed")


class HardSigmoid(enum.Enum):
    """How a TF.js / Keras 2 ``hard_sigmoid`` is written for Keras 3 (see the module docstring)."""

    RESCALE = "rescale"
    CUSTOM = "custom"


@dataclass
class KerasExport:
    """A model in Keras 3's terms.

    Attributes:
        config: the model's serialized config (``keras.saving.deserialize_keras_object`` takes it).
        groups: the ``model.weights.h5`` of a ``.keras`` file: ``vars`` group path -> (object name, arrays).
        legacy: the ``model_weights`` of a legacy ``.h5``: per top-level layer, its weight names and arrays in
            Keras's legacy order (trainable, then non-trainable).
        notes: what the conversion changed on the way (rescaled weights).
    """

    config: dict
    groups: dict[str, tuple[str, list[np.ndarray]]]
    legacy: list[tuple[str, list[tuple[str, np.ndarray]]]]
    notes: list[str] = field(default_factory=list)


def keras_export(model: Model, hard_sigmoid: HardSigmoid = HardSigmoid.RESCALE) -> KerasExport:
    """Convert a runtime model to a Keras 3 config and weights, keeping every activation's meaning.

    Raises:
        UnsupportedLayerError: naming the layer, when Keras 3 cannot express something in it.
    """
    if hard_sigmoid is HardSigmoid.RESCALE:  # a file to keep the model's meaning; verify builds Keras's reading
        _check_tfjs_only_behaviour(model.topology)
    topology = keras_rules(model.topology)
    values = {id(v): v.value for layer in model.layers for v in _variables(layer)}
    notes: list[str] = []
    _rescale_hard_sigmoid(model, topology, values, hard_sigmoid, notes)
    config = _model_object(topology, model, hard_sigmoid, top_level=True)
    groups: dict[str, tuple[str, list[np.ndarray]]] = {"": (topology.name, [])}
    _model_groups(model, topology, values, "", groups)
    legacy = [(layer.name, _legacy_weights(layer, values)) for layer in model.layers if layer.weights]
    return KerasExport(config, groups, legacy, notes)


# --- the topology under Keras's rules ----------------------------------------------------------------------

def _check_tfjs_only_behaviour(topology: Topology) -> None:
    """Refuse what TF.js computes and no Keras layer can: bilinear UpSampling2D at pixel corners, CenterCrop by
    cropAndResize."""
    if topology.origin.engine is not Engine.TFJS:
        return
    for spec in topology.layers:
        if spec.class_name in MODEL_CLASSES:
            _check_tfjs_only_behaviour(spec.config["topology"])
            continue
        for class_name, config in _nested_configs(spec.class_name, spec.config):
            if class_name == "CenterCrop":
                raise UnsupportedLayerError(
                    f"layer {spec.name!r} (CenterCrop): TF.js's CenterCrop samples its box with cropAndResize and "
                    "moves a one-column margin to the left edge, which Keras's exact crop does not; it cannot be "
                    "written to a Keras file")
            if class_name == "UpSampling2D" and config.get("interpolation") == "bilinear":
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
    """The same graph and layer options, written so that Keras computes what the source's engine computes (run it
    on the Keras 3 engine).

    The states of stacked cells, which TF.js lists last cell first, are put in Keras's order, and every reference to
    them (outputs, inputs of other layers, initial states given) follows, so that each still means the same state.
    """
    origin = Origin(topology.origin.dialect, Engine.KERAS)
    tfjs = topology.origin.engine is Engine.TFJS
    layers = [LayerSpec(spec.name, spec.class_name, _keras_rules_config(spec, origin, tfjs), list(spec.calls))
              for spec in topology.layers]
    rules = Topology(topology.name, layers, list(topology.inputs), list(topology.outputs), origin,
                     topology.keras_version)
    for spec in topology.layers if tfjs else []:
        order = _tfjs_state_order(spec)
        if order is not None:
            _follow_state_order(rules, spec.name, order)
    return rules


def _tfjs_state_order(spec: LayerSpec) -> list[int] | None:
    """For an RNN over stacked cells whose states TF.js lists last cell first: the Keras position of each state
    in TF.js's list; else None."""
    cell = spec.config.get("cell") if spec.class_name == "RNN" else None
    if not isinstance(cell, dict) or cell.get("class_name") != "StackedRNNCells":
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


def _keras_rules_config(spec: LayerSpec, origin: Origin, tfjs: bool) -> dict:
    if spec.class_name in MODEL_CLASSES:
        return {**spec.config, "topology": keras_rules(spec.config["topology"])}
    config = _undilated({"class_name": spec.class_name, "config": spec.config})["config"] if tfjs else spec.config
    return normalise_config(spec.class_name, config, origin)


def _undilated(value: object) -> object:
    """TF.js computes these layers without the dilation their configs save: so must Keras."""
    if isinstance(value, dict):
        facts = catalog().get(value.get("class_name"))
        if facts and facts.tfjs.behaviour.get("dilation_ignored") and isinstance(value.get("config"), dict):
            value = {**value, "config": {**value["config"], "dilation_rate": [1, 1]}}
        return {k: _undilated(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_undilated(v) for v in value]
    return value


# --- masks Keras 3 combines otherwise ---------------------------------------------------------------------

KERAS3_MASKED_VALUES = frozenset({"Multiply", "Maximum", "Minimum"})  # Keras 3 reads masks for the values too


class _RecordedMasks(KerasMasks):
    """Keras's mask passing, recording the output masks of every merge call (nested models' included)."""

    def __init__(self) -> None:
        self.merges: dict[str, list[list]] = {}  # layer name -> output masks per call
        self.classes: dict[str, str] = {}
        self.masked_values: set[str] = set()  # merges whose values Keras 3 computes from their inputs' masks
        self.masked_with_states: set[str] = set()  # RNNs given initial states and a mask

    def output_masks(self, layer: Layer, inputs: object, input_masks: list, count: int,
                     computed: object = LAYER_RULE) -> list:
        masks = super().output_masks(layer, inputs, input_masks, count, computed)
        if type(layer).keras.keras3_behaviour.get("keras3_masks"):
            self.merges.setdefault(layer.name, []).append(masks)
            self.classes[layer.name] = layer.class_name
            if layer.class_name in KERAS3_MASKED_VALUES and any(m is not None for m in input_masks):
                self.masked_values.add(layer.name)
        if layer.class_name in _RECURRENT and len(input_masks) > 1 and input_masks[0] is not None:
            self.masked_with_states.add(layer.name)
        return masks

    def for_nested(self, input_masks: list) -> tuple[KerasMasks, list]:
        return self, input_masks


def check_keras3_masks(model: Model) -> None:
    """Refuse a Keras 2 model that Keras 3 would run with other masks and other outputs.

    Keras 2 gives a merge the AND of the masks its inputs have (an input without one does not count); Keras 3
    the OR of them, and none if any input has none (``runtime/layers/merge.py``). Keras 3 has no op for Keras 2's
    rule that Keras 2's loader reads, so no file keeps it: the model and its Keras 3 form run on the probe
    inputs of ``save_tfjs``'s check (padded ones included) and, where a merge's mask differs and so does an
    output, the model is refused, naming the merges. So is one whose RNN given initial states gets a mask there that
    no explicit mask in the file can carry (``_with_explicit_masks``).

    Raises:
        UnsupportedLayerError: naming the layers and the difference.
    """
    origin = model.topology.origin
    if origin != Origin(Dialect.KERAS2, Engine.KERAS):
        return
    from ..writing import fresh_copy, probe_inputs  # the probes of the TF.js writer's check (imports formats)

    source, keras3 = fresh_copy(model), Model(keras_rules(model.topology), KERAS3)
    keras3.set_weights(model.get_weights())
    for inputs in probe_inputs(source):
        feeds = source.check_inputs(inputs)
        theirs, mine = _RecordedMasks(), _RecordedMasks()
        try:
            want, _ = source.run(feeds, None, theirs)
        except InputError:
            continue  # the source itself cannot take this probe
        _refuse_masks_keras3_drops(model, theirs.masked_with_states)
        got, _ = keras3.run(feeds, None, mine)
        differ = [name for name, masks in theirs.merges.items()
                  if not all(_same_masks(a, b) for a, b in zip(masks, mine.merges.get(name, [])))]
        differ = differ or sorted(theirs.masked_values)
        error = max(float(np.max(np.abs(a - b), initial=0)) for a, b in zip(want, got))
        if differ and error > 1e-5 * max(1.0, *(float(np.max(np.abs(a), initial=0)) for a in want)):
            layers = ", ".join(f"{name!r} ({theirs.classes[name]})" for name in differ)
            raise UnsupportedLayerError(
                f"layer {layers}: Keras 2 gives a merge the AND of the masks its inputs have (inputs without one do "
                "not count), Keras 3 the OR of them and none if any input has none (and Keras 3's Multiply, Maximum "
                "and Minimum skip masked entries); Keras 3's outputs would differ by up to "
                f"{error:.3g} on probe inputs, and no Keras 3 file can carry Keras 2's rule; fix: mask the merge's "
                "inputs alike (e.g. one Masking layer after it), or not at all")
        source.reset_states()
        keras3.reset_states()


def _refuse_masks_keras3_drops(model: Model, names: set[str]) -> None:
    """An RNN given initial states runs unmasked in Keras 3 unless its call is given the mask (Keras 2 masks it):
    refuse one that gets a mask here which ``_with_explicit_masks`` cannot write (nor one in a nested model)."""
    specs = {spec.name: spec for spec in model.topology.layers}
    for name in sorted(names):
        spec = specs.get(name)
        if spec is None or any(len(call.args) > 1 and not _mask_ops(model.topology, model, call.args[0], name)
                               for call in spec.calls):
            raise UnsupportedLayerError(
                f"layer {name!r} ({spec.class_name if spec else 'RNN'}): Keras 2 masks an RNN given initial states "
                "by the mask of its input, Keras 3 only when the call is given that mask, which the writer makes "
                "(with Keras 3's ops) only for an RNN reading a Masking or Embedding(mask_zero) output directly; "
                "Keras 3 would run this one unmasked, with other outputs; fix: put the Masking layer right before "
                "the RNN")


def _same_masks(a: list, b: list) -> bool:
    return all((x is None) == (y is None) and (x is None or np.array_equal(x, y)) for x, y in zip(a, b))


# --- configs -----------------------------------------------------------------------------------------------

def _model_object(topology: Topology, model: Model, mode: HardSigmoid, top_level: bool = False,
                  sequential: bool | None = None) -> dict:
    if sequential is None:
        sequential = _is_sequential(topology)
    if sequential:
        layers = [_layer_object(spec, model, mode, with_calls=False) for spec in topology.layers]
        config = {"name": topology.name, "trainable": True, "layers": layers}
        obj = {"module": "keras", "class_name": "Sequential", "config": config, "registered_name": None}
    else:
        config = {"name": topology.name, "trainable": True,
                  "layers": _with_explicit_masks(topology, model, [_layer_object(spec, model, mode, with_calls=True)
                                                                   for spec in topology.layers]),
                  "input_layers": _refs_object(topology.inputs), "output_layers": _refs_object(topology.outputs)}
        obj = {"module": "keras.src.models.functional", "class_name": "Functional", "config": config,
               "registered_name": "Functional"}
    if top_level:
        obj["compile_config"] = None
    return obj


def _is_sequential(topology: Topology) -> bool:
    """Keras 3 would make the same graph from a Sequential: one chain from one input, each layer called once."""
    layers = topology.layers
    chain = all(len(spec.calls) == 1 and spec.calls[0].args == (TensorRef(prev.name),) and not spec.calls[0].kwargs
                for prev, spec in zip(layers, layers[1:]))
    return (chain and layers[0].class_name == "InputLayer" and topology.inputs == [TensorRef(layers[0].name)]
            and topology.outputs == [TensorRef(layers[-1].name)])


def _nested_is_sequential(spec: LayerSpec | dict) -> bool:
    """A nested model keeps its class: Keras 3 passes masks into a nested Functional, not a Sequential."""
    class_name, config = (spec.class_name, spec.config) if isinstance(spec, LayerSpec) else (
        spec["class_name"], spec["config"])
    return class_name == "Sequential" and _is_sequential(config["topology"])


def _wrapped_model(layer: object) -> NestedModel | None:
    """The model a wrapper (TimeDistributed) applies, if it applies one."""
    inner = getattr(layer, "inner", None)
    return inner if isinstance(inner, NestedModel) else None


def _layer_object(spec: LayerSpec, model: Model, mode: HardSigmoid, with_calls: bool) -> dict:
    if spec.class_name.startswith(OP_PREFIX):
        return _operation_object(spec, model)
    if spec.class_name in MODEL_CLASSES:
        nested = model.get_layer(spec.name)
        obj = _model_object(spec.config["topology"], nested.model if isinstance(nested, NestedModel) else model,
                            mode, sequential=_nested_is_sequential(spec))
        obj["config"]["name"] = spec.name
    else:
        obj = _keras_object(spec.class_name, spec.config, spec.name, mode)
        inner = _wrapped_model(model.get_layer(spec.name))
        if inner is not None:
            obj["config"]["layer"] = _model_object(spec.config["layer"]["config"]["topology"], inner.model, mode,
                                                   sequential=_nested_is_sequential(spec.config["layer"]))
            obj["config"]["layer"]["config"]["name"] = inner.name
    obj["name"] = spec.name
    if with_calls:
        recurrent = spec.class_name in _RECURRENT
        obj["inbound_nodes"] = [_call_object(call, model, recurrent) for call in spec.calls]
    return obj


def _keras_object(class_name: str, config: dict, layer: str, mode: HardSigmoid) -> dict:
    if class_name == "ThresholdedReLU":  # gone in Keras 3; its ReLU(threshold) is the same x * (x > theta)
        class_name, config = "ReLU", {"name": config.get("name", layer), "threshold": config.get("theta", 1.0)}
    if class_name == "InputLayer":
        config = {"batch_shape": list(config.get("batch_input_shape") or config.get("batch_shape")),
                  "dtype": _dtype(config.get("dtype")), "sparse": False, "name": config.get("name", layer)}
        return {"module": "keras.layers", "class_name": "InputLayer", "config": config, "registered_name": None}
    out = {}
    for key, value in config.items():
        if _kept(class_name, key):
            out[key] = _config_value(key, value, class_name, layer, mode)
    if class_name == "LeakyReLU" and "alpha" in out:
        out["negative_slope"] = out.pop("alpha")
    if class_name == "BatchNormalization" and isinstance(out.get("axis"), list):  # tf.keras writes [axis]
        if len(out["axis"]) != 1:
            raise UnsupportedLayerError(f"layer {layer!r} (BatchNormalization): axis {out['axis']} normalises over "
                                        "several axes, which Keras 3's BatchNormalization cannot")
        out["axis"] = out["axis"][0]
    if "dtype" in out:
        out["dtype"] = _dtype(out.get("dtype"))
    return {"module": "keras.layers", "class_name": class_name, "config": out, "registered_name": None}


def _kept(class_name: str, key: str) -> bool:
    if class_name == "RNN":
        return key in _RNN_KEYS
    return not (key in _DROPPED_KEYS or key.endswith(_DROPPED_SUFFIXES)
                or key in _DROPPED_BY_CLASS.get(class_name, ()))


def _config_value(key: str, value: object, class_name: str, layer: str, mode: HardSigmoid) -> object:
    if key in ("activation", "recurrent_activation") and value is not None:
        return _activation(value, class_name, layer, mode)
    if key == "layer" and isinstance(value, dict) and value.get("class_name") in MODEL_CLASSES:
        return None  # a wrapped model: _layer_object writes it, with its runtime model at hand
    if key in ("layer", "backward_layer", "cell") and isinstance(value, dict) and "class_name" in value:
        return _keras_object(value["class_name"], value.get("config") or {}, layer, mode)
    if key == "cells" and isinstance(value, list):
        return [_keras_object(v["class_name"], v.get("config") or {}, layer, mode) for v in value]
    if key == "cell" and isinstance(value, list):  # a list of cells means a stack
        cells = [_keras_object(v["class_name"], v.get("config") or {}, layer, mode) for v in value]
        return {"module": "keras.layers", "class_name": "StackedRNNCells", "config": {"cells": cells},
                "registered_name": None}
    return value


def _activation(name: str, class_name: str, layer: str, mode: HardSigmoid) -> str | dict:
    if name == "hard_sigmoid_keras3":
        return "hard_sigmoid"
    if name == "hard_sigmoid" and mode is HardSigmoid.CUSTOM:  # a function Keras finds among custom objects
        return {"module": None, "class_name": "function", "config": KERAS2_HARD_SIGMOID,
                "registered_name": KERAS2_HARD_SIGMOID}
    if name == "hard_sigmoid":
        return "hard_sigmoid"  # Keras 3's, with the weights feeding it rescaled
    if name not in KERAS3_ACTIVATIONS:
        fix = " (TF.js's gelu_new is the tanh approximation of gelu)" if name == "gelu_new" else ""
        raise UnsupportedLayerError(f"layer {layer!r} ({class_name}): Keras 3 has no activation {name!r}{fix}; "
                                    "it cannot be written to a Keras file")
    return name


def _dtype(value: object) -> str:
    if isinstance(value, dict):
        value = (value.get("config") or {}).get("name")
    return value if isinstance(value, str) else "float32"


def _refs_object(refs: list[TensorRef]) -> list:
    """Keras 3 writes one tensor as a bare [layer, node, tensor] and several as a list of them: a model called on
    one tensor takes a tensor, not a list."""
    return _ref_list(refs[0]) if len(refs) == 1 else [_ref_list(r) for r in refs]


def _ref_list(ref: TensorRef) -> list:
    return [ref.layer, ref.node_index, ref.tensor_index]


def _tensor(ref: TensorRef, model: Model | None, dtype: str = "float32", shape: tuple | None = None) -> dict:
    """A call argument: Keras finds the tensor by ``keras_history``; the shape is for the record."""
    if model is not None:
        shape = _shape_of(ref, model)
    return {"class_name": "__keras_tensor__",
            "config": {"shape": None if shape is None else list(shape), "dtype": dtype,
                       "keras_history": _ref_list(ref)}}


def _shape_of(ref: TensorRef, model: Model) -> tuple | None:
    shapes = model.output_shapes_of(model.get_layer(ref.layer))
    return shapes[ref.node_index][ref.tensor_index] if ref.node_index < len(shapes) else None


def _call_object(call: Call, model: Model, recurrent: bool) -> dict:
    def tensor(ref: TensorRef) -> dict:
        return _tensor(ref, model)

    args = [tensor(r) for r in call.args]
    kwargs = {}
    for key, value in call.kwargs.items():
        if isinstance(value, TensorRef):
            kwargs[key] = tensor(value)
        elif isinstance(value, list) and value and all(isinstance(v, TensorRef) for v in value):
            kwargs[key] = [tensor(v) for v in value]
        else:
            kwargs[key] = value
    if recurrent and len(args) > 1:  # TF.js and Keras 2 pass an RNN's initial states as extra inputs
        args, kwargs["initial_state"] = args[:1], args[1:]
    return {"args": [args] if len(args) > 1 else args, "kwargs": kwargs}


# --- explicit masks ----------------------------------------------------------------------------------------

def _with_explicit_masks(topology: Topology, model: Model, objects: list[dict]) -> list[dict]:
    """Give an RNN called with initial states the mask of its input explicitly, as Keras 3 saves it.

    Keras 3 fills in a call's mask by itself only for a call with one tensor argument, so a model rebuilt from a
    config without explicit masks runs such an RNN unmasked (one built in code, or by Keras 2, is masked). The
    mask is computed by the ops Keras 3 writes for it (``not_equal``, ``any``) when the RNN reads a Masking or
    Embedding(mask_zero) output directly; other mask sources are left to Keras.
    """
    out: list[dict] = []
    for spec, obj in zip(topology.layers, objects):
        if spec.class_name in _RECURRENT:
            for k, (call, node) in enumerate(zip(spec.calls, obj["inbound_nodes"])):
                ops = _mask_ops(topology, model, call.args[0], f"{spec.name}_mask{k}") if len(call.args) > 1 else []
                if ops and "mask" not in node["kwargs"]:
                    out += ops
                    mask_shape = _shape_of(call.args[0], model)[:2]  # (batch, time)
                    node["kwargs"]["mask"] = _tensor(TensorRef(ops[-1]["name"]), None, "bool", mask_shape)
        out.append(obj)
    return out


def _mask_ops(topology: Topology, model: Model, ref: TensorRef, name: str) -> list[dict]:
    source = topology.layer(ref.layer)
    if not source.calls:
        return []
    source_input = source.calls[ref.node_index].args[0]
    if source.class_name == "Masking":
        value = float(source.config.get("mask_value") or 0.0)
        shape = _shape_of(source_input, model)
        return [_op("NotEqual", f"{name}_not_equal", [_tensor(source_input, model), value], {}),
                _op("Any", f"{name}_any", [_tensor(TensorRef(f"{name}_not_equal"), None, "bool", shape)],
                    {"axis": -1, "keepdims": False})]
    if source.class_name == "Embedding" and source.config.get("mask_zero"):
        return [_op("NotEqual", f"{name}_not_equal", [_tensor(source_input, model, "int32"), 0], {})]
    return []


def _operation_object(spec: LayerSpec, model: Model) -> dict:
    """A Keras 3 operation read from a Keras 3 file (``op.NotEqual``...), written back as Keras 3 writes it: its
    constant arguments back in their places among the tensors."""
    objects = []
    for call in spec.calls:
        constants = call.kwargs.get("constants") or {}
        tensors = iter([_tensor(ref, model) for ref in call.args])
        args = [constants[i] if i in constants else next(tensors) for i in range(len(call.args) + len(constants))]
        config = {key: value for key, value in spec.config.items() if key != "name"}
        objects.append(_op(spec.class_name.removeprefix(OP_PREFIX), spec.name, args, config))
    obj = objects[0]
    obj["inbound_nodes"] = [node for o in objects for node in o["inbound_nodes"]]
    return obj


_OP_MODULES = {"ConvertToTensor": "keras.src.ops.core"}  # the others are keras.src.ops.numpy's


def _op(class_name: str, name: str, args: list, config: dict) -> dict:
    return {"module": _OP_MODULES.get(class_name, "keras.src.ops.numpy"), "class_name": class_name,
            "config": {"name": name, **config},
            "registered_name": class_name, "name": name, "inbound_nodes": [{"args": args, "kwargs": {}}]}


# --- weights -----------------------------------------------------------------------------------------------

def _variables(layer: object) -> list[Variable]:
    return list(layer.weights)


def _model_groups(model: Model, topology: Topology, values: dict, base: str,
                  groups: dict[str, tuple[str, list[np.ndarray]]], sequential: bool | None = None) -> None:
    """Keras 3 saves a model's layers under ``layers/<snake_case class name>[_n]`` in ``model.layers`` order
    (a Sequential's list leaves out its InputLayer), each object's own variables in ``<path>/vars``."""
    used: dict[str, int] = {}
    skip_input = _is_sequential(topology) if sequential is None else sequential
    for spec in topology.layers:
        if skip_input and spec.class_name == "InputLayer":
            continue
        keras_class = spec.class_name
        if spec.class_name in MODEL_CLASSES:
            keras_class = "Sequential" if _nested_is_sequential(spec) else "Functional"
        path = _join(base, "layers", unique_key(keras_snake_case(keras_class), used))
        layer = model.get_layer(spec.name)
        inner = _wrapped_model(layer)
        if isinstance(layer, NestedModel):
            groups[path] = (spec.name, [])
            _model_groups(layer.model, spec.config["topology"], values, path, groups, _nested_is_sequential(spec))
        elif inner is not None:  # TimeDistributed(model): the model's layers under <path>/layer/layers/...
            groups[path] = (spec.name, [])
            groups[_join(path, "layer")] = (inner.name, [])
            wrapped = spec.config["layer"]
            _model_groups(inner.model, wrapped["config"]["topology"], values, _join(path, "layer"), groups,
                          _nested_is_sequential(wrapped))
        else:
            _layer_groups(spec.class_name, spec.config, spec.name, _by_path(layer, values), path, groups)


def _layer_groups(class_name: str, config: dict, name: str, weights: dict[str, np.ndarray], path: str,
                  groups: dict[str, tuple[str, list[np.ndarray]]]) -> None:
    """The groups of one layer: wrappers hold their inner layers under ``forward_layer``, ``backward_layer``,
    ``layer``; recurrent layers their cell under ``cell``, a stack its cells under ``cell/cells/<class>``."""
    groups[path] = (name, [] if class_name in RNN_LAYERS + ("RNN",) + WRAPPERS else list(weights.values()))
    if class_name in RNN_LAYERS:
        groups[_join(path, "cell")] = (f"{keras_snake_case(class_name)}_cell", list(weights.values()))
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


def _by_path(layer: object, values: dict) -> dict[str, np.ndarray]:
    return {v.path: values[id(v)] for v in _variables(layer)}


def _strip(weights: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k.removeprefix(prefix): v for k, v in weights.items() if k.startswith(prefix)}


def _legacy_weights(layer: object, values: dict) -> list[tuple[str, np.ndarray]]:
    """A layer's weights as Keras's legacy H5 lists them: trainable ones first, each named ``<layer>/<path>``."""
    variables = sorted(_variables(layer), key=lambda v: not v.trainable)
    nested, scope = (layer, layer.name) if isinstance(layer, NestedModel) else (_wrapped_model(layer), None)
    if nested is not None:  # Keras names a wrapped model's weights <wrapper>/<model>/<layer>/...
        scope = scope or f"{layer.name}/{nested.name}"
        named = [(f"{scope}/{inner.name}/{v.path}", v) for inner in nested.model.layers for v in inner.weights]
        named.sort(key=lambda item: not item[1].trainable)
        return [(name, values[id(v)]) for name, v in named]
    return [(f"{layer.name}/{v.path}", values[id(v)]) for v in variables]


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


# --- hard_sigmoid ------------------------------------------------------------------------------------------

# Which gate blocks of a unit's kernel each activation acts on; None: not a function of the unit's own weights.
_GATES = {
    "LSTM": {"recurrent_activation": (0, 1, 3), "activation": None},
    "GRU": {"recurrent_activation": (0, 1), "activation": (2,)},
    "SimpleRNN": {"activation": (0,)},
    "Dense": {"activation": (0,)},
    "Conv1D": {"activation": (0,)},
    "Conv2D": {"activation": (0,)},
}
_STATE_COUNT = {"LSTMCell": 2}
_GATE_COUNT = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1, "Dense": 1, "Conv1D": 1, "Conv2D": 1}


def _rescale_hard_sigmoid(model: Model, topology: Topology, values: dict, mode: HardSigmoid,
                          notes: list[str]) -> None:
    """Scale the weights feeding each Keras-2 ``hard_sigmoid`` by 1.2 (see the module docstring), or refuse."""
    for spec in topology.layers:
        layer = model.get_layer(spec.name)
        if isinstance(layer, NestedModel):
            _rescale_hard_sigmoid(layer.model, spec.config["topology"], values, mode, notes)
            continue
        if _wrapped_model(layer) is not None:
            _rescale_hard_sigmoid(layer.inner.model, spec.config["layer"]["config"]["topology"], values, mode, notes)
            continue
        variables = {v.path: v for v in _variables(layer)}
        for prefix, class_name, config in _units(spec.class_name, spec.config):
            scale = None if mode is HardSigmoid.CUSTOM else _gate_scale(class_name, config, spec.name)
            if scale is None:
                continue
            for kind in ("kernel", "recurrent_kernel", "bias"):
                variable = variables.get(prefix + kind)
                if variable is not None:
                    columns = np.repeat(scale, variable.shape[-1] // len(scale))  # one factor per gate block
                    values[id(variable)] = (values[id(variable)] * columns).astype(np.float32)
            notes.append(f"layer {spec.name!r}: weights feeding hard_sigmoid scaled by 1.2 (TF.js/Keras 2 "
                         "hard_sigmoid(z) = Keras 3 hard_sigmoid(1.2 z))")


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


def _gate_scale(class_name: str, config: dict, layer: str) -> np.ndarray | None:
    """Per gate block, 1.2 where a Keras-2 hard_sigmoid acts on it, else 1; None when none does."""
    keys = [key for key in ("activation", "recurrent_activation") if config.get(key) == "hard_sigmoid"]
    if not keys:
        return None
    gates = _GATES.get(class_name, {})
    scale = np.ones(_GATE_COUNT.get(class_name, 1), np.float32)
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
