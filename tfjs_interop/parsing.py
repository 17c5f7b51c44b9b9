"""Reading a model description (``{"class_name", "config"}``) into a :class:`~tfjs_interop.topology.Topology`.

The parser settles every difference of origin here, so the runtime never asks where a model came from: config keys
become snake_case, activation names become unambiguous (``hard_sigmoid`` keeps its TF.js / Keras 2 meaning; Keras 3's
is renamed ``hard_sigmoid_keras3``, see ``dialects``), the options the file leaves out get the defaults of the library
that will run the model (its engine, ``engines``), and calls are put in the order that engine's loader makes them.
"""

from __future__ import annotations

from collections import Counter

from .dialects import (
    ACTIVATION_KEYS,
    CLASS_ALIASES,
    SNAKE_VALUE_KEYS,
    activation_name,
    batch_shape,
    is_keras3_operation,
    snake_case,
)
from .engines import engine_for
from .errors import LimitError, ModelFormatError, few
from .topology import MAX_DEPTH, MODEL_CLASSES, OP_PREFIX, Call, Dialect, LayerSpec, Origin, TensorRef, Topology

MAX_NESTING = 16
MAX_LAYERS = 4096  # per model; real LSTM-family models have tens, the largest Keras applications under 1,000
MAX_NAME_CHARS = 1024  # per layer name; real names are tens of characters, and HDF5 cannot store 64 KB ones
_WRAPPED_KEYS = ("layer", "backward_layer", "cell", "cells")


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
    shape = batch_shape(first.config)
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
    engine_for(origin).order_calls(topology, source)
    if origin.dialect in (Dialect.TFJS, Dialect.KERAS2):
        _renumber_nested_calls(topology)
    return topology


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
    if is_keras3_operation(class_name, entry.get("module"), entry.get("config"), origin.dialect):
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

def normalise_config(class_name: str, config: dict, origin: Origin, depth: int = 0) -> dict:
    """A layer config with snake_case keys, unambiguous activation names and the engine's defaults filled in.

    A wrapped model (``TimeDistributed(Sequential(...))``) becomes ``{"class_name", "config": {"name",
    "topology"}}``, as a model used as a layer; ``depth`` counts the models around this one.
    """
    engine = engine_for(origin)
    out = {snake_case(key): value for key, value in config.items()}
    for key, default in engine.config_defaults(class_name).items():
        if out.get(key) is None:
            out[key] = default
    for key in ACTIVATION_KEYS:
        if key in out and out[key] is not None:
            out[key] = activation_name(out[key], origin.dialect)
    for key in SNAKE_VALUE_KEYS:
        if isinstance(out.get(key), str):
            out[key] = snake_case(out[key])
    for key in _WRAPPED_KEYS:
        if key in out:
            out[key] = _normalise_wrapped(out[key], origin, depth)
    engine.normalise_wrapped(class_name, out)
    return out


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


