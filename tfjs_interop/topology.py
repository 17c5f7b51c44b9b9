"""One normalised graph of layer calls, whatever dialect (TF.js, Keras 2, Keras 3) the file was written in.

The normaliser settles every difference of origin here, so the runtime never asks where a model came from:
config keys become snake_case, activation names become unambiguous (``hard_sigmoid`` keeps its TF.js / Keras 2
meaning; Keras 3's is renamed ``hard_sigmoid_keras3``), and the behaviour of the library that will run the model
(its *engine*: TF.js for a model.json, Keras for a Keras file) is written into the configs as explicit options.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import LimitError, ModelFormatError, UnsupportedLayerError, few


class Dialect(enum.Enum):
    """Who wrote a model's config: the meaning of some names depends on it."""

    TFJS = "tfjs"
    KERAS2 = "keras2"
    KERAS3 = "keras3"


class Engine(enum.Enum):
    """Whose execution the runtime reproduces: TF.js for the TF.js format, Keras for Keras files."""

    TFJS = "tfjs"
    KERAS = "keras"


@dataclass(frozen=True)
class Origin:
    """Where a model comes from: who wrote its config, and which library's numbers it must give."""

    dialect: Dialect
    engine: Engine


@dataclass(frozen=True)
class TensorRef:
    """The ``tensor_index``-th output of the ``node_index``-th call of layer ``layer``."""

    layer: str
    node_index: int = 0
    tensor_index: int = 0


@dataclass(frozen=True)
class Call:
    """One call of a layer (a Keras "inbound node"): its input tensors and keyword arguments.

    Tensor-valued keyword arguments (``initial_state``, ``mask``) hold TensorRefs (or lists of them).
    """

    args: tuple[TensorRef, ...]
    kwargs: dict = field(default_factory=dict)

    def map_refs(self, fn: Callable[[TensorRef], TensorRef]) -> Call:
        """This call with every tensor reference (arguments and keyword arguments) passed through ``fn``."""
        def each(value: object) -> object:
            if isinstance(value, TensorRef):
                return fn(value)
            return [each(v) for v in value] if isinstance(value, list) else value

        return Call(tuple(map(fn, self.args)), {key: each(value) for key, value in self.kwargs.items()})

    def refs(self) -> list[TensorRef]:
        """Every tensor this call reads: its arguments, then tensors in its keyword arguments."""
        refs = list(self.args)
        for value in self.kwargs.values():
            if isinstance(value, TensorRef):
                refs.append(value)
            elif isinstance(value, list):
                refs += [v for v in value if isinstance(v, TensorRef)]
        return refs


@dataclass
class LayerSpec:
    """A layer of the graph: its class, normalised config and the calls made of it."""

    name: str
    class_name: str
    config: dict
    calls: list[Call] = field(default_factory=list)


@dataclass
class Topology:
    """A model as a graph of layer calls, with its input and output tensors."""

    name: str
    layers: list[LayerSpec]
    inputs: list[TensorRef]
    outputs: list[TensorRef]
    origin: Origin
    keras_version: str | None = None

    def layer(self, name: str) -> LayerSpec:
        for spec in self.layers:
            if spec.name == name:
                return spec
        raise KeyError(name)


def dialect_of(keras_version: str | None, default: Dialect) -> Dialect:
    """Tell the writer from a ``keras_version`` string (``"tfjs-layers 4.22.0"``, ``"2.15.0"``, ``"3.6.0"``).

    Raises:
        UnsupportedLayerError: for a file written by Keras 1, whose configs name options otherwise.
    """
    if not keras_version:
        return default
    if keras_version.startswith("tfjs"):
        return Dialect.TFJS
    major = re.match(r"\s*(\d+)", keras_version)
    if major and int(major.group(1)) == 1:
        raise UnsupportedLayerError(
            f"the file was written by Keras {keras_version.strip()} (Keras 1), whose layer configs (output_dim, "
            "border_mode, Merge layers...) tfjs-interop does not read; load it with Keras 2 and save it again")
    if major and int(major.group(1)) >= 3:
        return Dialect.KERAS3
    return Dialect.KERAS2


MODEL_CLASSES = ("Sequential", "Model", "Functional")
# Class names that some releases wrote for standard layers, mapped as the official converter maps them
# (tensorflowjs keras_h5_conversion._CLASS_NAME_MAP): tf.keras 1.13 / 2.0 pre-releases.
CLASS_ALIASES = {"BatchNormalizationV1": "BatchNormalization", "UnifiedLSTM": "LSTM", "UnifiedGRU": "GRU"}
MAX_NESTING = 16
OP_PREFIX = "op."  # Keras 3 operations (keras.ops.*) in a graph are layers named "op.NotEqual", ...
_OP_MODULE = "keras.src.ops"
# Operations Keras 3 puts in graphs to compute masks; its legacy H5 files name them without their module.
KERAS3_MASK_OPS = ("NotEqual", "Equal", "Greater", "GreaterEqual", "Less", "LessEqual", "LogicalAnd", "LogicalOr",
                   "LogicalNot", "Any", "All", "Cast")
MAX_LAYERS = 4096  # per model; real LSTM-family models have tens, the largest Keras applications under 1,000
MAX_NAME_CHARS = 1024  # per layer name; real names are tens of characters, and HDF5 cannot store 64 KB ones
MAX_DEPTH = 500  # calls in the longest chain from an input to an output; the runtime walks chains recursively


def parse_topology(model: dict, origin: Origin, source: str, keras_version: str | None = None,
                   depth: int = 0) -> Topology:
    """Normalise a ``{"class_name", "config"}`` model description into a :class:`Topology`.

    Args:
        model: the model's class name and config, in the writer's dialect.
        origin: who wrote it (see :func:`dialect_of`) and which library's execution to reproduce.
        source: the file, for error messages.
        keras_version: kept on the topology for the record.

    Raises:
        ModelFormatError: when the description is not a Sequential or functional model, or a reference dangles.
    """
    if depth > MAX_NESTING:
        raise ModelFormatError(f"{source}: models nested more than {MAX_NESTING} deep")
    class_name, config = model.get("class_name"), model.get("config")
    if class_name == "Sequential":
        topology = _parse_sequential(config, origin, source, depth)
    elif class_name in ("Model", "Functional"):
        topology = _parse_functional(config, origin, source, depth)
    else:
        raise ModelFormatError(f"{source}: the model's class_name is {class_name!r}; expected 'Sequential', "
                               "'Model' or 'Functional'")
    topology.keras_version = keras_version
    _check_references(topology, source)
    _check_depth(topology, source)
    return topology


def _parse_sequential(config: object, origin: Origin, source: str, depth: int) -> Topology:
    if isinstance(config, dict):
        name, layers = config.get("name") or "sequential", config.get("layers")
    else:
        name, layers = "sequential", config
    if not isinstance(layers, list) or not layers:
        raise ModelFormatError(f"{source}: a Sequential model needs a non-empty list of layers")
    _check_layer_count(layers, source)
    specs = [_parse_layer(entry, origin, f"{source}: layers[{i}]", depth) for i, entry in enumerate(layers)]
    if specs[0].class_name != "InputLayer":
        specs.insert(0, _input_layer_for(specs[0], source))
    _check_unique_names(specs, source)
    for previous, spec in zip(specs, specs[1:]):
        spec.calls = [Call((TensorRef(previous.name),))]
    return Topology(name, specs, [TensorRef(specs[0].name)], [TensorRef(specs[-1].name)], origin)


def _input_layer_for(first: LayerSpec, source: str) -> LayerSpec:
    if first.class_name in MODEL_CLASSES:  # a nested model: its own first input says
        first = first.config["topology"].layer(first.config["topology"].inputs[0].layer)
    shape = first.config.get("batch_input_shape") or first.config.get("batch_shape")
    if shape is None and isinstance(first.config.get("input_shape"), list):
        shape = [None, *first.config["input_shape"]]
    if shape is None:
        raise ModelFormatError(f"{source}: the first layer {first.name!r} of the Sequential model has no "
                               "batch_input_shape, so the model's input shape is unknown")
    config = {"name": f"{first.name}_input", "batch_input_shape": shape, "dtype": first.config.get("dtype")}
    return LayerSpec(config["name"], "InputLayer", config)


def _parse_functional(config: object, origin: Origin, source: str, depth: int) -> Topology:
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ModelFormatError(f"{source}: a functional model's config needs a 'layers' list")
    _check_layer_count(config["layers"], source)
    specs = []
    for i, entry in enumerate(config["layers"]):
        where = f"{source}: layers[{i}]"
        spec = _parse_layer(entry, origin, where, depth)
        spec.calls = [_parse_call(node, f"{where} ({spec.name!r}) inbound_nodes[{n}]")
                      for n, node in enumerate(_list(entry.get("inbound_nodes", []), where))]
        specs.append(spec)
    inputs = _parse_refs(config.get("input_layers"), f"{source}: input_layers")
    outputs = _parse_refs(config.get("output_layers"), f"{source}: output_layers")
    _check_unique_names(specs, source)
    topology = Topology(config.get("name") or "model", specs, inputs, outputs, origin)
    if origin.engine is Engine.TFJS:
        _order_calls_as_tfjs_loads(topology, source)
    if origin.dialect in (Dialect.TFJS, Dialect.KERAS2):
        _renumber_nested_calls(topology)
    return topology


def _order_calls_as_tfjs_loads(topology: Topology, source: str) -> None:
    """Put each layer's calls in the order TF.js's loader makes them, which references then index.

    TF.js (``Container.fromConfig``) walks the layers in file order, makes each listed call whose input calls
    exist, and defers the others to the next pass; a shared layer's deferred call thus comes after a later one.
    A model's inputs and nested models start with one call of their own.
    """
    made = {spec.name: 1 if spec.class_name == "InputLayer" or spec.class_name in MODEL_CLASSES else 0
            for spec in topology.layers}
    pending = {spec.name: list(spec.calls) for spec in topology.layers if spec.calls}
    ordered: dict[str, list[Call]] = {name: [] for name in pending}
    passes = 0
    while pending:
        progress, passes = False, passes + 1
        if passes > MAX_DEPTH:
            raise LimitError(f"{source}: the model's calls are nested more than {MAX_DEPTH} deep")
        for spec in topology.layers:
            for call in pending.pop(spec.name, []):
                if all(ref.layer in made and ref.node_index < made[ref.layer] for ref in call.args):
                    ordered[spec.name].append(call)
                    made[spec.name] += 1
                    progress = True
                else:
                    pending.setdefault(spec.name, []).append(call)
        if not progress:
            _raise_unmade(pending, made, source)
    for spec in topology.layers:
        if spec.calls:
            spec.calls = ordered[spec.name]


def _raise_unmade(pending: dict[str, list[Call]], made: dict[str, int], source: str) -> None:
    layer, calls = next(iter(pending.items()))
    ref = next(r for call in calls for r in call.args if r.layer not in made or r.node_index >= made[r.layer])
    if ref.layer not in made:
        raise ModelFormatError(f"{source}: layer {layer!r} refers to layer {ref.layer!r}, which the model does "
                               "not have")
    raise ModelFormatError(f"{source}: layer {layer!r} refers to call {ref.node_index} of layer {ref.layer!r}, "
                           f"which is never made (TF.js makes {made[ref.layer]} call(s) of it)")


def _renumber_nested_calls(topology: Topology) -> None:
    """TF.js and Keras 2 count a nested model's own internal call as its node 0 when saving; Keras 3 does not.

    Their references to the calls of a nested model are therefore one higher than the calls they list
    (tf.keras ``_should_skip_first_node``).
    """
    nested = {spec.name for spec in topology.layers if spec.class_name in MODEL_CLASSES}
    if not nested:
        return

    def shift(ref: TensorRef) -> TensorRef:
        if ref.layer in nested and ref.node_index > 0:
            return TensorRef(ref.layer, ref.node_index - 1, ref.tensor_index)
        return ref

    for spec in topology.layers:
        spec.calls = [call.map_refs(shift) for call in spec.calls]
    topology.outputs = [shift(ref) for ref in topology.outputs]


def _parse_layer(entry: object, origin: Origin, where: str, depth: int) -> LayerSpec:
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise ModelFormatError(f"{where}: expected a layer object with a 'class_name', found {entry!r:.100}")
    if entry["class_name"] in MODEL_CLASSES:  # a model used as a layer
        nested = parse_topology(entry, origin, where, depth=depth + 1)
        name = entry.get("name") or nested.name
        if not isinstance(name, str):
            raise ModelFormatError(f"{where}: a nested model's name must be a string, found {name!r:.80}")
        return LayerSpec(name, entry["class_name"], {"name": name, "topology": nested})
    class_name = CLASS_ALIASES.get(entry["class_name"], entry["class_name"])
    module = entry.get("module")
    if str(module or "").startswith(_OP_MODULE) or (
            module is None and origin.dialect is Dialect.KERAS3 and class_name in KERAS3_MASK_OPS):
        class_name = OP_PREFIX + class_name
    config = entry.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ModelFormatError(f"{where}: the config of a {entry['class_name']} must be an object")
    config = normalise_config(class_name, config, origin, depth)
    name = entry.get("name") or config.get("name")
    if not isinstance(name, str) or not name:
        raise ModelFormatError(f"{where}: the {class_name} layer has no name")
    return LayerSpec(name, class_name, config)


def _list(value: object, where: str) -> list:
    if not isinstance(value, list):
        raise ModelFormatError(f"{where}: expected a list, found {value!r:.80}")
    return value


def _parse_refs(value: object, where: str) -> list[TensorRef]:
    """A list of tensor references; nested lists (a model output that is a list of states) are flattened."""
    value = _list(value, where)
    if value and isinstance(value[0], str):  # a single [layer, node, tensor]
        value = [value]
    refs = []
    for i, item in enumerate(value):
        nested = isinstance(item, list) and item and isinstance(item[0], list)
        refs += _parse_refs(item, f"{where}[{i}]") if nested else [_parse_ref(item, f"{where}[{i}]")]
    return refs


def _parse_ref(item: object, where: str) -> TensorRef:
    if isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":  # Keras 3
        config = item.get("config")
        item = config.get("keras_history") if isinstance(config, dict) else None
    if (not isinstance(item, (list, tuple)) or len(item) < 3 or not isinstance(item[0], str)
            or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in item[1:3])):
        raise ModelFormatError(f"{where}: expected a tensor reference [layer_name, node_index, tensor_index], "
                               f"found {item!r:.100}")
    return TensorRef(item[0], item[1], item[2])


def _parse_call(node: object, where: str) -> Call:
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        return _parse_keras3_call(node, where)
    node = _list(node, where)
    if not node:
        raise ModelFormatError(f"{where}: a call needs at least one input tensor, found none")
    refs = tuple(_parse_ref(item, f"{where}[{i}]") for i, item in enumerate(node))
    kwargs = {}
    for item in node:
        if len(item) > 3 and isinstance(item[3], dict):
            kwargs.update({key: _parse_kwarg(value, f"{where} kwarg {key!r}") for key, value in item[3].items()})
    return Call(refs, _checked_kwargs(kwargs, where))


def _parse_keras3_call(node: dict, where: str) -> Call:
    """Keras 3's call record; positional arguments that are not tensors (``not_equal(x, 0)``) become the
    ``constants`` keyword argument, ``{position: value}``.

    Keras 3 fills in a call's mask from its input only when the call has exactly one tensor argument
    (``Layer.__call__``; a ``mask`` of None counts as not given): a decoder called with ``initial_state`` gets no
    mask unless the file names one. The parsed call says so with an explicit ``mask`` of None.
    """
    args = _list(node.get("args", []), where)
    tensors = args[0] if len(args) == 1 and isinstance(args[0], list) else args
    refs = tuple(_parse_ref(item, f"{where}.args[{i}]") for i, item in enumerate(tensors) if _looks_like_ref(item))
    if not refs:
        raise ModelFormatError(f"{where}: a call needs at least one input tensor, found none")
    kwargs = node.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise ModelFormatError(f"{where}.kwargs must be an object, found {kwargs!r:.80}")
    kwargs = {key: _parse_kwarg(value, f"{where} kwarg {key!r}") for key, value in kwargs.items()}
    if kwargs.get("mask") is None:
        tensor_arguments = sum(_holds_ref(value) for value in [*args, *kwargs.values()])
        kwargs.pop("mask", None)
        if tensor_arguments > 1:
            kwargs["mask"] = None
    constants = {i: item for i, item in enumerate(tensors) if not _looks_like_ref(item)}
    if constants:
        kwargs["constants"] = constants
    return Call(refs, _checked_kwargs(kwargs, where))


_TENSOR_KWARGS = ("mask", "initial_state")


def _checked_kwargs(kwargs: dict, where: str) -> dict:
    """Call arguments the runtime can pass on: tensors where tensors belong, ``training`` dropped (inference)."""
    kwargs.pop("training", None)
    for key in _TENSOR_KWARGS:
        value = kwargs.get(key)
        items = value if isinstance(value, list) else [value]
        if not all(item is None or isinstance(item, TensorRef) for item in items):
            raise ModelFormatError(f"{where}: call argument {key!r} should hold tensors, found {value!r:.80}")
    return kwargs


def _holds_ref(value: object) -> bool:
    if isinstance(value, list):
        return any(_holds_ref(v) for v in value)
    return isinstance(value, TensorRef) or _looks_like_ref(value)


def _parse_kwarg(value: object, where: str) -> object:
    """Tensor references in a call's kwargs become TensorRefs; other values stay as they are."""
    if _looks_like_ref(value):
        return _parse_ref(value, where)
    if isinstance(value, list) and value and all(_looks_like_ref(v) for v in value):
        return [_parse_ref(v, where) for v in value]
    return value


def _looks_like_ref(value: object) -> bool:
    if isinstance(value, dict):
        return value.get("class_name") == "__keras_tensor__"
    return (isinstance(value, list) and len(value) in (3, 4) and isinstance(value[0], str)
            and all(isinstance(i, int) and not isinstance(i, bool) for i in value[1:3]))


def _check_unique_names(specs: list[LayerSpec], source: str) -> None:
    """Layer names are unique and of a sane length (checked in linear time; messages name a few offenders)."""
    long = [spec.name for spec in specs if len(spec.name) > MAX_NAME_CHARS]
    if long:
        raise LimitError(f"{source}: {len(long)} layer name(s) are over {MAX_NAME_CHARS} characters "
                         f"({few(len(name) for name in long)} characters, starting {few(long)})")
    counts = Counter(spec.name for spec in specs)
    repeated = [name for name, count in counts.items() if count > 1]
    if repeated:
        raise ModelFormatError(f"{source}: layer names must be unique; repeated are {few(repeated)}")


def _check_references(topology: Topology, source: str) -> None:
    calls = {spec.name: len(spec.calls) or 1 for spec in topology.layers}
    refs = [("input_layers", r) for r in topology.inputs] + [("output_layers", r) for r in topology.outputs]
    for spec in topology.layers:
        refs += [(f"layer {spec.name!r}", r) for call in spec.calls for r in call.refs()]
    for where, ref in refs:
        if ref.layer not in calls:
            raise ModelFormatError(f"{source}: {where} refers to layer {ref.layer!r}, which the model does not have")
        if ref.node_index >= calls[ref.layer]:
            raise ModelFormatError(f"{source}: {where} refers to call {ref.node_index} of layer {ref.layer!r}, "
                                   f"which is called only {calls[ref.layer]} time(s)")
    if not topology.inputs or not topology.outputs:
        raise ModelFormatError(f"{source}: the model declares no inputs or no outputs")


def _check_layer_count(layers: list, source: str) -> None:
    if len(layers) > MAX_LAYERS:
        raise LimitError(f"{source}: the model has {len(layers)} layers, over the limit of {MAX_LAYERS}")


def _check_depth(topology: Topology, source: str) -> None:
    """Refuse cycles, and chains of calls longer than MAX_DEPTH (walked iteratively, so any file is safe here)."""
    calls = {(spec.name, i): call for spec in topology.layers for i, call in enumerate(spec.calls)}
    depth: dict[tuple[str, int], int] = {}
    visiting: set[tuple[str, int]] = set()
    for root in calls:
        stack = [(root, False)]
        while stack:
            node, inputs_done = stack.pop()
            inputs = [(r.layer, r.node_index) for r in calls[node].refs() if (r.layer, r.node_index) in calls]
            if inputs_done:
                depth[node] = 1 + max((depth[i] for i in inputs), default=0)
                visiting.discard(node)
                if depth[node] > MAX_DEPTH:
                    raise LimitError(f"{source}: layer {node[0]!r} is {depth[node]} calls deep, over the limit of "
                                     f"{MAX_DEPTH}")
            elif node in visiting:
                raise ModelFormatError(f"{source}: the model's graph has a cycle through layer {node[0]!r}")
            elif node not in depth:
                visiting.add(node)
                stack += [(node, True)] + [(i, False) for i in inputs if i not in depth]


# --- configs -------------------------------------------------------------------------------------------------

_ACTIVATION_KEYS = ("activation", "recurrent_activation")
_SNAKE_VALUE_KEYS = ("padding", "data_format", "merge_mode", "interpolation")
_WRAPPED_KEYS = ("layer", "backward_layer", "cell", "cells")

# What the engine does where Keras and TF.js differ, written into the configs as explicit options. Keras's
# behaviour (with Keras >= 2.3 defaults) is the runtime's own default; TF.js 4.22 differs as follows.
_TFJS_RNN = {"masked_output_from_state": True}  # rnn(): a masked step outputs states[0]
_TFJS_ENGINE = {
    "LSTM": {"recurrent_activation": "hard_sigmoid", **_TFJS_RNN},
    "GRU": {"recurrent_activation": "hard_sigmoid", "reset_after": False, **_TFJS_RNN},
    "SimpleRNN": _TFJS_RNN,
    "RNN": _TFJS_RNN,
    "LSTMCell": {"recurrent_activation": "hard_sigmoid"},
    "GRUCell": {"recurrent_activation": "hard_sigmoid", "reset_after": False},
    "StackedRNNCells": {"reverse_state_order": True},  # states listed last cell first
    "BatchNormalization": {"flat_parameter_index": True},  # the kernel indexes parameters by flat position
    "GlobalAveragePooling1D": {"masked_mean": False},  # ignores the mask
    "TimeDistributed": {"mask_to_inner": True},  # gives the inner layer its call's mask at every step
}
# Keras 3 combines the masks of these merges otherwise than Keras 2 (runtime/layers/merge.py).
KERAS3_MASK_MERGES = frozenset({"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"})
_KERAS_ENGINE = {"GRU": {"reset_after": True}, "GRUCell": {"reset_after": True}}
_ENGINE_DEFAULTS = {Engine.TFJS: _TFJS_ENGINE, Engine.KERAS: _KERAS_ENGINE}
# The options above that no file format has: the runtime's own, dropped by writers.
INTERNAL_KEYS = frozenset({"masked_output_from_state", "reverse_state_order", "flat_parameter_index", "masked_mean",
                           "mask_to_inner", "keras3_masks"})


def snake_case(name: str) -> str:
    """``recurrentActivation`` -> ``recurrent_activation``; snake_case names are left alone."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def normalise_config(class_name: str, config: dict, origin: Origin, depth: int = 0) -> dict:
    """A layer config with snake_case keys, unambiguous activation names and the engine's behaviour filled in.

    A wrapped model (``TimeDistributed(Sequential(...))``) becomes ``{"class_name", "config": {"name",
    "topology"}}``, as a model used as a layer; ``depth`` counts the models around this one.
    """
    out = {snake_case(key): value for key, value in config.items()}
    for key, default in _ENGINE_DEFAULTS[origin.engine].get(class_name, {}).items():
        if out.get(key) is None:
            out[key] = default
    for key in _ACTIVATION_KEYS:
        if key in out and out[key] is not None:
            out[key] = activation_name(out[key], origin.dialect)
    for key in _SNAKE_VALUE_KEYS:
        if isinstance(out.get(key), str):
            out[key] = snake_case(out[key])
    for key in _WRAPPED_KEYS:
        if key in out:
            out[key] = _normalise_wrapped(out[key], origin, depth)
    if class_name == "Bidirectional" and origin.engine is Engine.KERAS:
        _zero_masked_outputs(out)
    if class_name in KERAS3_MASK_MERGES and origin == Origin(Dialect.KERAS3, Engine.KERAS):
        out.setdefault("keras3_masks", True)
    return out


def _zero_masked_outputs(config: dict) -> None:
    """Keras (2 and 3) makes a Bidirectional's RNNs output zeros at masked steps when they return sequences."""
    for key in ("layer", "backward_layer"):
        inner = config.get(key)
        if isinstance(inner, dict) and isinstance(inner.get("config"), dict):
            inner["config"]["zero_output_for_mask"] = bool(inner["config"].get("return_sequences"))


def _normalise_wrapped(value: object, origin: Origin, depth: int) -> object:
    if isinstance(value, list):  # StackedRNNCells given as a list
        return [_normalise_wrapped(v, origin, depth) for v in value]
    if isinstance(value, dict) and isinstance((value.get("config") or {}).get("topology"), Topology):
        return value  # already normalised (a writer re-normalising a runtime config)
    if isinstance(value, dict) and value.get("class_name") in MODEL_CLASSES:
        nested = parse_topology(value, origin, f"the wrapped {value['class_name']}", depth=depth + 1)
        name = (value.get("config") or {}).get("name") if isinstance(value.get("config"), dict) else None
        return {"class_name": value["class_name"], "config": {"name": name or nested.name, "topology": nested}}
    if isinstance(value, dict) and isinstance(value.get("class_name"), str):
        class_name = CLASS_ALIASES.get(value["class_name"], value["class_name"])
        inner = value.get("config") or {}
        if not isinstance(inner, dict):
            raise ModelFormatError(f"the config of a nested {class_name} must be an object")
        return {"class_name": class_name, "config": normalise_config(class_name, inner, origin, depth)}
    return value


def activation_name(value: object, dialect: Dialect) -> str:
    """The runtime's name for an activation as a config writes it (a string, or a Keras 3 object)."""
    if isinstance(value, dict):  # Keras 3: {"module": ..., "class_name": "function", "config": "tanh", ...}
        value = value.get("config") if isinstance(value.get("config"), str) else value.get("class_name")
    if not isinstance(value, str):
        raise ModelFormatError(f"an activation must be named by a string, found {value!r:.80}")
    name = snake_case(value)
    if name == "hard_sigmoid" and dialect is Dialect.KERAS3:
        return "hard_sigmoid_keras3"
    return name


# --- transforms -----------------------------------------------------------------------------------------------

def without_mask_operations(topology: Topology) -> Topology:
    """A copy in which Keras 3's mask operations are gone and the layers they fed take masks implicitly.

    Keras 3 records the masks ``Embedding(mask_zero)`` and ``Masking`` compute as graph operations (``not_equal``,
    ``any``) whose results only reach ``mask=`` arguments. Formats without explicit masks (TF.js) compute the same
    masks implicitly, so a writer can drop them: operations whose every use is a ``mask=`` argument (directly or
    through other such operations) are removed, with those arguments. Whether the implicit masks then equal the
    explicit ones is for the writer to check (it compares the numbers).
    """
    mask_only = _mask_only_operations(topology)
    layers = []
    for spec in topology.layers:
        if spec.name in mask_only:
            continue
        config = spec.config
        if spec.class_name in MODEL_CLASSES:
            config = {**config, "topology": without_mask_operations(config["topology"])}
        calls = [Call(call.args, {k: v for k, v in call.kwargs.items()
                                  if not (k == "mask" and isinstance(v, TensorRef) and v.layer in mask_only)})
                 for call in spec.calls]
        layers.append(LayerSpec(spec.name, spec.class_name, config, calls))
    return Topology(topology.name, layers, list(topology.inputs), list(topology.outputs), topology.origin,
                    topology.keras_version)


def _mask_only_operations(topology: Topology) -> set[str]:
    """Operations whose outputs are used only as ``mask=`` arguments, or by other such operations."""
    uses: dict[str, list[tuple[str, bool]]] = {spec.name: [] for spec in topology.layers}
    for spec in topology.layers:
        for call in spec.calls:
            for ref in call.args:
                uses[ref.layer].append((spec.name, False))
            for key, value in call.kwargs.items():
                for ref in value if isinstance(value, list) else [value]:
                    if isinstance(ref, TensorRef):
                        uses[ref.layer].append((spec.name, key == "mask"))
    outputs = {ref.layer for ref in topology.outputs}
    candidates = {s.name for s in topology.layers if s.class_name.startswith(OP_PREFIX) and s.name not in outputs}
    changed = True
    while changed:
        changed = False
        for name in sorted(candidates):
            if not all(as_mask or user in candidates for user, as_mask in uses[name]):
                candidates.discard(name)
                changed = True
    return candidates
