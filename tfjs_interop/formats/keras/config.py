"""The model config Keras 3 deserialises, built from the normalised topology under Keras's rules.

Snake_case keys, unambiguous activation names, training-only settings
(initializers, regularizers, constraints) left to Keras's defaults, and every object in Keras 3's serialized form
(``module`` / ``class_name`` / ``config`` / ``registered_name``; ``__keras_tensor__`` call arguments, whose shapes
come from the writer contract's call shapes).
"""

from __future__ import annotations

from ...dialects import batch_shape, plain_dtype
from ...errors import UnsupportedLayerError
from ...facts import Catalog, KerasFacts, facts_for
from ...topology import MODEL_CLASSES, OP_PREFIX, Call, LayerSpec, TensorRef, Topology
from ..contract import ModelParts
from .hard_sigmoid import KERAS2_HARD_SIGMOID, HardSigmoid

# Keys Keras 3 does not take (or that only matter when training, left to Keras's defaults).
_DROPPED_KEYS = ("implementation", "input_length", "batch_input_shape", "batch_shape", "input_shape",
                 "time_major", "unit_forget_bias", "noise_shape", "seed", "build_config")


_DROPPED_SUFFIXES = ("_initializer", "_regularizer", "_constraint")


# TF.js writes the options of an RNN's cell into the RNN's own config too; Keras 3's RNN takes only these.
_RNN_KEYS = ("name", "trainable", "dtype", "cell", "return_sequences", "return_state", "go_backwards", "stateful",
             "unroll", "zero_output_for_mask")


RECURRENT = ("LSTM", "GRU", "SimpleRNN", "ConvLSTM2D", "RNN", "Bidirectional")


# Activations Keras 3 knows by the same name and meaning (tests/live/test_keras_writer.py checks each).
KERAS3_ACTIVATIONS = frozenset({
    "linear", "relu", "relu6", "elu", "selu", "sigmoid", "softplus", "softsign", "tanh", "softmax", "log_softmax",
    "gelu", "swish", "silu", "hard_silu", "hard_swish", "mish", "exponential", "leaky_relu", "log_sigmoid",
    "tanh_shrink"})


def model_object(topology: Topology, parts: ModelParts, mode: HardSigmoid, top_level: bool = False,
                  sequential: bool | None = None) -> dict:
    if sequential is None:
        sequential = is_sequential(topology)
    if sequential:
        layers = [_layer_object(spec, parts, mode, with_calls=False) for spec in topology.layers]
        config = {"name": topology.name, "trainable": True, "layers": layers}
        obj = {"module": "keras", "class_name": "Sequential", "config": config, "registered_name": None}
    else:
        config = {"name": topology.name, "trainable": True,
                  "layers": _with_explicit_masks(topology, parts, [_layer_object(spec, parts, mode, with_calls=True)
                                                                   for spec in topology.layers]),
                  "input_layers": _refs_object(topology.inputs), "output_layers": _refs_object(topology.outputs)}
        obj = {"module": "keras.src.models.functional", "class_name": "Functional", "config": config,
               "registered_name": "Functional"}
    if top_level:
        obj["compile_config"] = None
    return obj


def is_sequential(topology: Topology) -> bool:
    """Keras 3 would make the same graph from a Sequential: one chain from one input, each layer called once."""
    layers = topology.layers
    chain = all(len(spec.calls) == 1 and spec.calls[0].args == (TensorRef(prev.name),) and not spec.calls[0].kwargs
                for prev, spec in zip(layers, layers[1:]))
    return (chain and layers[0].class_name == "InputLayer" and topology.inputs == [TensorRef(layers[0].name)]
            and topology.outputs == [TensorRef(layers[-1].name)])


def nested_is_sequential(spec: LayerSpec | dict) -> bool:
    """A nested model keeps its class: Keras 3 passes masks into a nested Functional, not a Sequential."""
    class_name, config = (spec.class_name, spec.config) if isinstance(spec, LayerSpec) else (
        spec["class_name"], spec["config"])
    return class_name == "Sequential" and is_sequential(config["topology"])


def _layer_object(spec: LayerSpec, parts: ModelParts, mode: HardSigmoid, with_calls: bool) -> dict:
    if spec.class_name.startswith(OP_PREFIX):
        return _operation_object(spec, parts)
    if spec.class_name in MODEL_CLASSES:
        obj = model_object(spec.config["topology"], parts.nested.get(spec.name, parts),
                            mode, sequential=nested_is_sequential(spec))
        obj["config"]["name"] = spec.name
    else:
        obj = _keras_object(spec.class_name, spec.config, spec.name, mode, parts.facts)
        inner = parts.nested.get(spec.name)
        if inner is not None:  # the model a wrapper applies
            obj["config"]["layer"] = model_object(spec.config["layer"]["config"]["topology"], inner, mode,
                                                   sequential=nested_is_sequential(spec.config["layer"]))
            obj["config"]["layer"]["config"]["name"] = inner.name
    obj["name"] = spec.name
    if with_calls:
        recurrent = spec.class_name in RECURRENT
        names = _keras_facts(parts.facts, spec.class_name).call_arguments
        obj["inbound_nodes"] = [_call_object(call.positional(names) if names else call, parts, recurrent,
                                             bool(names)) for call in spec.calls]
    return obj


def _keras_object(class_name: str, config: dict, layer: str, mode: HardSigmoid, facts: Catalog) -> dict:
    known = facts_for(facts, class_name)
    if known is not None and known.keras.keras3_spelling is not None:
        class_name, config = known.keras.keras3_spelling(config, layer)
    if class_name == "InputLayer":
        config = {"batch_shape": list(batch_shape(config)),
                  "dtype": _dtype(config.get("dtype")), "sparse": False, "name": config.get("name", layer)}
        return {"module": "keras.layers", "class_name": "InputLayer", "config": config, "registered_name": None}
    out = {}
    for key, value in config.items():
        if _kept(class_name, key, facts):
            out[key] = _config_value(key, value, class_name, layer, mode, facts)
    if "dtype" in out:
        out["dtype"] = _dtype(out.get("dtype"))
    return {"module": "keras.layers", "class_name": class_name, "config": out, "registered_name": None}


def _keras_facts(facts: Catalog, class_name: str) -> KerasFacts:
    known = facts_for(facts, class_name)
    return known.keras if known is not None else KerasFacts()


def _kept(class_name: str, key: str, facts: Catalog) -> bool:
    if class_name == "RNN":
        return key in _RNN_KEYS
    return not (key in _DROPPED_KEYS or key.endswith(_DROPPED_SUFFIXES)
                or key in _keras_facts(facts, class_name).dropped_keys)


def _config_value(key: str, value: object, class_name: str, layer: str, mode: HardSigmoid, facts: Catalog) -> object:
    if key in ("activation", "recurrent_activation") and value is not None:
        return _activation(value, class_name, layer, mode)
    if key == "layer" and isinstance(value, dict) and value.get("class_name") in MODEL_CLASSES:
        return None  # a wrapped model: _layer_object writes it, from the wrapped model's own parts
    if key in ("layer", "backward_layer", "cell") and isinstance(value, dict) and "class_name" in value:
        return _keras_object(value["class_name"], value.get("config") or {}, layer, mode, facts)
    if key == "cells" and isinstance(value, list):
        return [_keras_object(v["class_name"], v.get("config") or {}, layer, mode, facts) for v in value]
    if key == "cell" and isinstance(value, list):  # a list of cells means a stack
        cells = [_keras_object(v["class_name"], v.get("config") or {}, layer, mode, facts) for v in value]
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
    return plain_dtype(value) or "float32"


def _refs_object(refs: list[TensorRef]) -> list:
    """Keras 3 writes one tensor as a bare [layer, node, tensor] and several as a list of them: a model called on
    one tensor takes a tensor, not a list."""
    return _ref_list(refs[0]) if len(refs) == 1 else [_ref_list(r) for r in refs]


def _ref_list(ref: TensorRef) -> list:
    return [ref.layer, ref.node_index, ref.tensor_index]


def _tensor(ref: TensorRef, parts: ModelParts | None, dtype: str = "float32", shape: tuple | None = None) -> dict:
    """A call argument: Keras finds the tensor by ``keras_history``; the shape is for the record."""
    if parts is not None:
        shape = _shape_of(ref, parts)
    return {"class_name": "__keras_tensor__",
            "config": {"shape": None if shape is None else list(shape), "dtype": dtype,
                       "keras_history": _ref_list(ref)}}


def _shape_of(ref: TensorRef, parts: ModelParts) -> tuple | None:
    shapes = parts.output_shapes_of(ref.layer)
    return shapes[ref.node_index][ref.tensor_index] if ref.node_index < len(shapes) else None


def _call_object(call: Call, parts: ModelParts, recurrent: bool, separate: bool = False) -> dict:
    """A call as Keras 3 records it: several tensors as one list argument, or (``separate``: a call taking them as
    separate arguments, ``KerasFacts.call_arguments``) each its own positional argument."""
    def tensor(ref: TensorRef) -> dict:
        return _tensor(ref, parts)

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
    return {"args": [args] if len(args) > 1 and not separate else args, "kwargs": kwargs}


def _with_explicit_masks(topology: Topology, parts: ModelParts, objects: list[dict]) -> list[dict]:
    """Give an RNN called with initial states the mask of its input explicitly, as Keras 3 saves it.

    Keras 3 fills in a call's mask by itself only for a call with one tensor argument, so a model rebuilt from a
    config without explicit masks runs such an RNN unmasked (one built in code, or by Keras 2, is masked). The
    mask is computed by the ops Keras 3 writes for it (``not_equal``, ``any``) when the RNN reads a Masking or
    Embedding(mask_zero) output directly; other mask sources are left to Keras.
    """
    out: list[dict] = []
    for spec, obj in zip(topology.layers, objects):
        if spec.class_name in RECURRENT:
            for k, (call, node) in enumerate(zip(spec.calls, obj["inbound_nodes"])):
                ops = _mask_ops(topology, parts, call.args[0], f"{spec.name}_mask{k}") if len(call.args) > 1 else []
                if ops and "mask" not in node["kwargs"]:
                    out += ops
                    mask_shape = _shape_of(call.args[0], parts)[:2]  # (batch, time)
                    node["kwargs"]["mask"] = _tensor(TensorRef(ops[-1]["name"]), None, "bool", mask_shape)
        out.append(obj)
    return out


def _explicit_mask(topology: Topology, ref: TensorRef, facts: Catalog) -> tuple[float, bool] | None:
    source = topology.layer(ref.layer)
    known = facts_for(facts, source.class_name)
    rule = known.keras.explicit_mask if known is not None and source.calls else None
    return rule(source.config) if rule is not None else None


def writes_explicit_mask(topology: Topology, ref: TensorRef, facts: Catalog) -> bool:
    """Whether the mask of ``ref`` can be written explicitly for an RNN reading it (see ``_with_explicit_masks``):
    it is the output of a layer whose facts say how (``KerasFacts.explicit_mask``: Masking, Embedding(mask_zero))."""
    return _explicit_mask(topology, ref, facts) is not None


def _mask_ops(topology: Topology, parts: ModelParts, ref: TensorRef, name: str) -> list[dict]:
    rule = _explicit_mask(topology, ref, parts.facts)
    if rule is None:
        return []
    source = topology.layer(ref.layer)
    source_input = source.calls[ref.node_index].args[0]
    value, over_features = rule
    if over_features:
        shape = _shape_of(source_input, parts)
        return [_op("NotEqual", f"{name}_not_equal", [_tensor(source_input, parts), value], {}),
                _op("Any", f"{name}_any", [_tensor(TensorRef(f"{name}_not_equal"), None, "bool", shape)],
                    {"axis": -1, "keepdims": False})]
    return [_op("NotEqual", f"{name}_not_equal", [_tensor(source_input, parts, "int32"), int(value)], {})]


def _operation_object(spec: LayerSpec, parts: ModelParts) -> dict:
    """A Keras 3 operation read from a Keras 3 file (``op.NotEqual``...), written back as Keras 3 writes it: its
    constant arguments back in their places among the tensors, or its tensors as one list argument
    (``KerasFacts.list_argument``: ``ops.concatenate``)."""
    objects = []
    in_a_list = _keras_facts(parts.facts, spec.class_name).list_argument
    for call in spec.calls:
        constants = call.kwargs.get("constants") or {}
        tensors = iter([_tensor(ref, parts) for ref in call.args])
        args = [constants[i] if i in constants else next(tensors) for i in range(len(call.args) + len(constants))]
        args = [args] if in_a_list else args
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
