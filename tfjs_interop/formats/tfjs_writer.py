"""Writing the TF.js layers format: a normalised Topology and its layers' weights -> model.json + weight shards.

Everything is written from the normalised topology (never by echoing a source file), in the form tfjs-layers
4.22's ``tf.loadLayersModel`` deserialises: a functional ``Model`` with classic ``inbound_nodes`` lists, bare class
names, ``batch_input_shape`` on input layers, plain dtype strings and snake_case keys. The engine keys the
normaliser adds are dropped: TF.js's own behaviour is what they describe for TF.js models, and whether a Keras
model keeps its numbers under TF.js is checked by running both (see ``tfjs_interop.writing``).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, ModelFormatError, UnsupportedLayerError
from ..topology import INTERNAL_KEYS, MODEL_CLASSES, Call, LayerSpec, TensorRef, Topology, without_mask_operations
from .contract import LayerWeights, ModelParts
from .manifest import QUANTIZED_DTYPES, encode_tensors, shard

TFJS_VERSION = "4.22.0"
DEFAULT_SHARD_SIZE = 4_194_304  # the official converter's default

# Layer classes tfjs-layers 4.22 registers for deserialisation (registerClass in dist/tf-layers.node.js).
TFJS_LAYER_CLASSES = frozenset({
    "Activation", "Add", "AlphaDropout", "Average", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "BatchNormalization", "Bidirectional", "CategoryEncoding", "CenterCrop", "Concatenate", "Conv1D", "Conv2D",
    "Conv2DTranspose", "Conv3D", "Conv3DTranspose", "ConvLSTM2D", "ConvLSTM2DCell", "Cropping2D", "Dense",
    "DepthwiseConv2D", "Dot", "Dropout", "ELU", "Embedding", "Flatten", "GRU", "GRUCell", "GaussianDropout",
    "GaussianNoise", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
    "InputLayer", "LSTM", "LSTMCell", "LayerNormalization", "LeakyReLU", "Masking", "MaxPooling1D", "MaxPooling2D",
    "MaxPooling3D", "Maximum", "Minimum", "Multiply", "PReLU", "Permute", "RNN", "RandomWidth", "ReLU",
    "RepeatVector", "Rescaling", "Reshape", "Resizing", "SeparableConv2D", "SimpleRNN", "SimpleRNNCell", "Softmax",
    "SpatialDropout1D", "StackedRNNCells", "ThresholdedReLU", "TimeDistributed", "UpSampling2D", "ZeroPadding2D",
})
# Activation names TF.js 4.22 deserialises once it has camelCased them ("gelu_new" becomes "geluNew", which it
# does not know, so it is absent).
TFJS_ACTIVATIONS = frozenset({"elu", "selu", "relu", "relu6", "linear", "sigmoid", "hard_sigmoid", "softplus",
                              "softsign", "tanh", "softmax", "log_softmax", "gelu", "mish", "swish"})
ACTIVATION_ALIASES = {"silu": "swish"}  # Keras 3's name for the same function
TFJS_SERIALIZABLES = frozenset({  # initializers, regularizers, constraints
    "Zeros", "Ones", "Constant", "RandomUniform", "RandomNormal", "TruncatedNormal", "Identity", "VarianceScaling",
    "GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "LeCunNormal", "LeCunUniform", "Orthogonal", "L1L2",
    "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm",
})
SERIALIZABLE_ALIASES = {"OrthogonalInitializer": "Orthogonal", "IdentityInitializer": "Identity"}

# Keras 3 bookkeeping TF.js has no use for (the normaliser's engine keys, INTERNAL_KEYS, are dropped too).
DROPPED_KEYS = frozenset({"module", "registered_name", "build_config", "compile_config", "zero_output_for_mask"})
# tf.keras writes a kernel_* initializer, regularizer and constraint into SeparableConv2D, which TF.js refuses.
DROPPED_BY_CLASS = {"SeparableConv2D": ("kernel_initializer", "kernel_regularizer", "kernel_constraint")}
SHAPE_KEYS = frozenset({"batch_input_shape", "batch_shape", "input_shape", "batch_size", "input_dtype"})
WRAPPED_KEYS = ("layer", "cell")
RECURRENT_CELLS = ("LSTM", "GRU", "LSTMCell", "GRUCell")
DTYPES = ("float32", "int32", "bool")

# Options whose other values TF.js 4.22 cannot run (None always means the default).
ALLOWED_VALUES: dict[str, dict[str, tuple]] = {
    "ELU": {"alpha": (1,)},
    "ReLU": {"negative_slope": (0,), "threshold": (0,)},
    "Conv1D": {"padding": ("valid", "same"), "groups": (1,)},
    "LayerNormalization": {"rms_scaling": (False,)},
    "GlobalAveragePooling1D": {"keepdims": (False,)},
    "GlobalMaxPooling1D": {"keepdims": (False,)},
    "Conv2D": {"groups": (1,)},
    "GlobalAveragePooling2D": {"keepdims": (False,)},
    "GlobalMaxPooling2D": {"keepdims": (False,)},
    "UpSampling2D": {"interpolation": ("nearest", "bilinear")},
    "Conv2DTranspose": {"output_padding": (None,)},
    "GRU": {"reset_after": (False,)},
    "GRUCell": {"reset_after": (False,)},
}
FIXES = {
    "reset_after": "retrain with reset_after=False (TF.js's GRUCell implements only that form)",
    "hard_sigmoid_keras3": "Keras 3's hard_sigmoid is relu6(x + 3) / 6, TF.js's is clip(0.2x + 0.5, 0, 1); retrain "
                           "with 'sigmoid' (or another activation TF.js has)",
    "Subtract": "TF.js 4.22 has no Subtract layer; rebuild a - b as Add()([a, n]) with n = b negated (e.g. a Dense "
                "layer with kernel -I and no bias)",
    "Lambda": "a Lambda layer is Python code, which TF.js cannot run; replace it by built-in layers",
    "padding": "TF.js 4.22 does not implement causal padding; pad with ZeroPadding1D-style left padding in the model "
               "and use 'valid'",
}


# --- refusals --------------------------------------------------------------------------------------------------

def check_writable(topology: Topology, ranks: Mapping[str, int] | None = None) -> None:
    """Raise UnsupportedLayerError, naming the layer, the reason and the fix, for anything TF.js 4.22 cannot load.

    Raises:
        UnsupportedLayerError: for a class TF.js does not register (Subtract, Lambda, custom layers...), an
            activation it lacks (Keras 3's hard_sigmoid, gelu_new...), GRU ``reset_after=True``, options it cannot
            run, or calls it cannot express (explicit masks, constants). ``ranks`` gives the input rank of
            Softmax layers by name, which tells whether their axis is the last.
    """
    for spec in topology.layers:
        if spec.class_name in MODEL_CLASSES:
            check_writable(spec.config["topology"], ranks)
            continue
        _check_layer(spec.name, spec.class_name, spec.config)
        if spec.class_name == "Softmax":
            _check_softmax_axis(spec, (ranks or {}).get(spec.name))
        for call in spec.calls:
            _check_call(spec, call)
            _check_shape_writer(spec, call, topology)


def _refuse(layer: str, class_name: str, reason: str, fix: str | None = None) -> UnsupportedLayerError:
    message = f"cannot write layer {layer!r} ({class_name}) for TF.js {TFJS_VERSION}: {reason}"
    return UnsupportedLayerError(message + (f"; fix: {fix}" if fix else ""))


def _check_layer(layer: str, class_name: str, config: dict) -> None:
    if class_name not in TFJS_LAYER_CLASSES:
        raise _refuse(layer, class_name, f"TF.js cannot deserialise class {class_name!r}",
                      FIXES.get(class_name, "replace it by layers TF.js has"))
    for key in ("activation", "recurrent_activation"):
        name = config.get(key)
        if name is not None and ACTIVATION_ALIASES.get(name, name) not in TFJS_ACTIVATIONS:
            shown = "Keras 3's 'hard_sigmoid'" if name == "hard_sigmoid_keras3" else repr(name)
            raise _refuse(layer, class_name, f"TF.js has no activation {shown} (for {key})",
                          FIXES.get(name, f"use one of {', '.join(sorted(TFJS_ACTIVATIONS))}"))
    for key, allowed in ALLOWED_VALUES.get(class_name, {}).items():
        if config.get(key) is not None and config[key] not in allowed:
            raise _refuse(layer, class_name, f"TF.js cannot run {key}={config[key]!r} (it runs {allowed[0]!r})",
                          FIXES.get(key))
    if class_name == "Resizing":
        raise _refuse(layer, class_name, "TF.js 4.22's Resizing fails in predict (its call hands resizeBilinear the "
                      "list of inputs)", "resize the images before they reach the model")
    if class_name == "SeparableConv2D" and config.get("data_format") == "channels_first" and \
            config.get("use_bias") is not False:
        raise _refuse(layer, class_name, "TF.js adds a channels_first SeparableConv2D's bias along the wrong axis "
                      "(it fails, or adds it by row)", "use channels_last, or use_bias=False")
    _check_dtype(layer, class_name, config.get("dtype"))
    _check_wrapped(layer, class_name, config)


def _check_softmax_axis(spec: LayerSpec, rank: int | None) -> None:
    """TF.js's Softmax takes the last axis, or several axes at once; one other axis fails in tf.softmax."""
    axis = spec.config.get("axis", -1)
    axes = axis if isinstance(axis, list) else [axis]
    if axis is None or len(axes) > 1 or axes[0] == -1 or (rank is not None and axes[0] == rank - 1):
        return
    raise _refuse(spec.name, spec.class_name, f"TF.js's softmax runs on the last axis only (or on several), not on "
                  f"axis={axis!r} of a rank-{rank} input", "transpose the axis last with Permute around Softmax")


def _check_dtype(layer: str, class_name: str, dtype: object) -> None:
    name = plain_dtype(dtype)
    if name is not None and name not in DTYPES:
        raise _refuse(layer, class_name, f"dtype {name!r}; TF.js layers compute in float32 (inputs may be int32)",
                      "save the model with the float32 policy")


def _check_wrapped(layer: str, class_name: str, config: dict) -> None:
    for key in WRAPPED_KEYS:
        inner = config.get(key)
        if isinstance(inner, list):
            inner = {"class_name": "StackedRNNCells", "config": {"cells": inner}}
        if isinstance(inner, dict) and inner.get("class_name") in MODEL_CLASSES:
            check_writable(inner["config"]["topology"])
        elif isinstance(inner, dict) and isinstance(inner.get("class_name"), str):
            inner_config = inner.get("config") or {}
            _check_layer(f"{layer}/{inner_config.get('name', key)}", inner["class_name"], inner_config)
    cells = config.get("cells") if class_name == "StackedRNNCells" else None
    for cell in cells if isinstance(cells, list) else []:
        cell_config = cell.get("config") or {}
        _check_layer(f"{layer}/{cell_config.get('name', 'cell')}", cell.get("class_name"), cell_config)
    if class_name == "Bidirectional" and not _mirrors_forward(config):
        raise _refuse(layer, class_name, "its backward_layer is not the forward layer run backwards, and TF.js "
                      "always builds the backward layer that way", "use Bidirectional(layer) without backward_layer")


def _mirrors_forward(config: dict) -> bool:
    backward, forward = config.get("backward_layer"), config.get("layer")
    if not backward:
        return True
    if not isinstance(forward, dict) or backward.get("class_name") != forward.get("class_name"):
        return False
    f_config, b_config = forward.get("config") or {}, backward.get("config") or {}
    return (_mirrored_keys(f_config) == _mirrored_keys(b_config)
            and bool(f_config.get("go_backwards")) != bool(b_config.get("go_backwards")))


# Layers whose output shape TF.js builds as a new array. TF.js's CenterCrop and CategoryEncoding write their output
# size into their input's shape array, which is the model input's own (or, through layers that return the shape
# they are given, an earlier one) unless one of these makes it: then predict fails ("expected input1 to have shape").
FRESH_SHAPE_CLASSES = frozenset({"Conv1D", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose",
                                 "ZeroPadding2D", "Cropping2D", "UpSampling2D", "MaxPooling2D", "AveragePooling2D",
                                 "Reshape", "Dense", "Flatten", "Permute"})


def _check_shape_writer(spec: LayerSpec, call: Call, topology: Topology) -> None:
    if spec.class_name not in ("CenterCrop", "CategoryEncoding"):
        return
    source = topology.layer(call.args[0].layer).class_name
    if source not in FRESH_SHAPE_CLASSES:
        raise _refuse(spec.name, spec.class_name, f"TF.js's {spec.class_name} overwrites the shape of its input, "
                      f"here the output of a {source}, and TF.js's predict then fails",
                      f"put it after a layer that makes a new shape ({', '.join(sorted(FRESH_SHAPE_CLASSES))}), "
                      "e.g. a Reshape to the same shape")


def _mirrored_keys(config: dict) -> dict:
    """The options a backward layer must share with the forward one: not its name and direction, nor the
    training-only initializers, regularizers and constraints (Keras 3 gives each its own ``shared_object_id``)."""
    return {k: v for k, v in config.items() if k not in ("name", "go_backwards", "seed")
            and not k.endswith(("_initializer", "_regularizer", "_constraint"))}


def _check_call(spec: LayerSpec, call: Call) -> None:
    for key, value in call.kwargs.items():
        if key == "initial_state" or not _holds_refs(value):
            continue
        raise _refuse(spec.name, spec.class_name, f"a call passes tensors as {key!r}, which TF.js's saved format "
                      "cannot carry", "compute it inside the model's layers" if key == "mask" else None)


def _holds_refs(value: object) -> bool:
    return isinstance(value, TensorRef) or isinstance(value, list) and any(isinstance(v, TensorRef) for v in value)


# --- topology --------------------------------------------------------------------------------------------------

def encode_topology(topology: Topology) -> dict:
    """The ``modelTopology`` of model.json, as TF.js's ``model.save`` writes it (a functional ``Model``)."""
    return {"class_name": "Model", "config": _model_config(topology), "keras_version": f"tfjs-layers {TFJS_VERSION}",
            "backend": "tensor_flow.js"}


def _model_config(topology: Topology) -> dict:
    order = tfjs_call_order(topology)
    nested = {spec.name for spec in topology.layers if spec.class_name in MODEL_CLASSES}

    def ref(r: TensorRef) -> list:
        index = order.get((r.layer, r.node_index), r.node_index)
        return [r.layer, index + (1 if r.layer in nested else 0), r.tensor_index]

    return {"name": topology.name, "layers": [_layer_entry(spec, order, ref) for spec in topology.layers],
            "input_layers": [ref(r) for r in topology.inputs], "output_layers": [ref(r) for r in topology.outputs]}


def _layer_entry(spec: LayerSpec, order: dict, ref: Callable[[TensorRef], list]) -> dict:
    calls = sorted(range(len(spec.calls)), key=lambda i: order[(spec.name, i)])
    nodes = [_node(spec.calls[i], ref) for i in calls]
    if spec.class_name in MODEL_CLASSES:
        class_name, config = "Model", _model_config(spec.config["topology"])
    else:
        class_name, config = spec.class_name, layer_config(spec.class_name, spec.config)
    config["name"] = spec.name
    return {"class_name": class_name, "config": config, "name": spec.name, "inbound_nodes": nodes}


def _node(call: Call, ref: Callable[[TensorRef], list]) -> list:
    """A call as TF.js writes it: [layer, node, tensor, kwargs] per input, initial states as extra inputs."""
    initial = call.kwargs.get("initial_state")
    refs = list(call.args) + ([initial] if isinstance(initial, TensorRef) else list(initial or []))
    kwargs = {k: v for k, v in call.kwargs.items() if k not in ("initial_state", "mask", "training")}
    return [[*ref(r), dict(kwargs)] for r in refs]


def tfjs_call_order(topology: Topology) -> dict[tuple[str, int], int]:
    """Where each call lands when TF.js's loader makes them: (layer, call index) -> TF.js's node index.

    The loader walks the layers in file order and makes each listed call whose inputs exist, deferring the others
    to the next pass; writing each layer's calls in that order, with references numbered by it, makes the loader
    rebuild exactly the graph written (a no-op for a topology read from TF.js, whose calls are in this order).
    """
    inputs = {spec.name for spec in topology.layers if spec.class_name == "InputLayer"}
    made: dict[tuple[str, int], int] = {}
    counts = {spec.name: 0 for spec in topology.layers}
    pending = [(spec.name, i) for spec in topology.layers for i in range(len(spec.calls))]
    calls = {(spec.name, i): call for spec in topology.layers for i, call in enumerate(spec.calls)}
    while pending:
        waiting = []
        for key in pending:
            if all((r.layer, r.node_index) in made or r.layer in inputs for r in calls[key].refs()):
                made[key] = counts[key[0]]
                counts[key[0]] += 1
            else:
                waiting.append(key)
        if len(waiting) == len(pending):
            raise ModelFormatError(f"the calls of layers {sorted({k[0] for k in waiting})} wait on each other")
        pending = waiting
    return made


def layer_config(class_name: str, config: dict) -> dict:
    """A normalised layer config in the form TF.js reads: engine keys dropped, values in TF.js's vocabulary."""
    if class_name == "InputLayer":
        return _input_config(config)
    out = {}
    for key, value in config.items():
        if key not in INTERNAL_KEYS and key not in DROPPED_KEYS and key not in SHAPE_KEYS and \
                key not in DROPPED_BY_CLASS.get(class_name, ()):
            out[key] = _value(key, value)
    if class_name in RECURRENT_CELLS:
        out.setdefault("recurrent_activation", "sigmoid")  # the runtime's default (Keras >= 2.3); TF.js's differs
    if class_name in ("GRU", "GRUCell"):
        out["reset_after"] = False
    slope = out.pop("negative_slope", None)  # Keras 3's name for LeakyReLU's alpha (ReLU's is checked to be 0)
    if class_name == "LeakyReLU" and out.get("alpha") is None:
        out["alpha"] = 0.3 if slope is None else slope
    if class_name == "Softmax" and out.get("axis") == [-1]:
        out["axis"] = -1
    if class_name == "RNN":
        out.pop("cells", None)  # TF.js writes the cells twice; it reads "cell"
    if class_name == "Bidirectional":
        out.pop("backward_layer", None)  # checked to mirror the forward layer
    return out


def _input_config(config: dict) -> dict:
    shape = config.get("batch_input_shape") or config.get("batch_shape")
    return {"batch_input_shape": list(shape), "dtype": plain_dtype(config.get("dtype")) or "float32",
            "sparse": False, "name": config.get("name")}


def _value(key: str, value: object) -> object:
    if key in ("activation", "recurrent_activation") and isinstance(value, str):
        return ACTIVATION_ALIASES.get(value, value)
    if key == "dtype":
        return plain_dtype(value)
    if key.endswith(("_initializer", "_regularizer", "_constraint")):
        return _serializable(value)
    if key in ("layer", "cell") and isinstance(value, list):
        value = {"class_name": "StackedRNNCells", "config": {"cells": value}}
    if key == "layer" and isinstance(value, dict) and value.get("class_name") in MODEL_CLASSES:
        return {"class_name": "Model", "config": _model_config(value["config"]["topology"])}
    if key in ("layer", "cell", "backward_layer") and isinstance(value, dict) and "class_name" in value:
        config = layer_config(value["class_name"], value.get("config") or {})
        config["name"] = inner_name(value.get("config") or {})
        return {"class_name": value["class_name"], "config": config}
    if key == "cells" and isinstance(value, list):
        return [_value("cell", cell) for cell in value]
    return value


def _serializable(value: object) -> object:
    """An initializer, regularizer or constraint TF.js knows, else None (it only matters for training)."""
    if not isinstance(value, dict):
        return value if isinstance(value, str) else None
    class_name = SERIALIZABLE_ALIASES.get(value.get("class_name"), value.get("class_name"))
    if class_name not in TFJS_SERIALIZABLES:
        return None
    config = {k: v for k, v in (value.get("config") or {}).items() if k not in DROPPED_KEYS}
    return {"class_name": class_name, "config": config}


def inner_name(config: dict) -> str:
    """The name a wrapped layer or cell is written with (TF.js would invent one where a config has none)."""
    return tensor_name(config.get("name") or "inner")


# --- forms TF.js 4.22 can run ----------------------------------------------------------------------------------

_INVALID_NAME_CHARACTERS = re.compile(r"[^-A-Za-z0-9._/]")
_RECURRENT_LAYERS = ("LSTM", "GRU", "SimpleRNN")


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


def plain_dtype(dtype: object) -> str | None:
    """A dtype as a plain string: Keras 3's DTypePolicy objects give their policy name."""
    if isinstance(dtype, dict):
        config = dtype.get("config")
        dtype = config.get("name") if isinstance(config, dict) else dtype.get("name")
    return dtype if isinstance(dtype, str) else None


# --- weights ---------------------------------------------------------------------------------------------------

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


def quantization_rule(quantize: str | Mapping[str, object] | None) -> Callable[[str], str | None]:
    """The quantization dtype for each weight name, as the converter's ``--quantize_*`` flags choose it.

    ``quantize`` is ``"float16"``, ``"uint8"`` or ``"uint16"`` (every float32 weight), or a dict from those to
    fnmatch patterns over weight names (a string or a list); a dtype mapped to None or True takes the weights no
    pattern matches.

    Raises:
        InputError: for an unknown dtype, two catch-all dtypes, or a weight the patterns of two dtypes match
            (checked when the rule is applied).
    """
    if quantize is None:
        return lambda name: None
    if isinstance(quantize, str):
        quantize = {quantize: None}
    if not isinstance(quantize, Mapping):
        raise InputError(f"quantize must be one of {sorted(QUANTIZED_DTYPES)} or a dict from those to weight name "
                         f"patterns, got {quantize!r}")
    rules, fallback = {}, []
    for dtype, patterns in quantize.items():
        if dtype not in QUANTIZED_DTYPES:
            raise InputError(f"quantize: unknown dtype {dtype!r}; expected one of {sorted(QUANTIZED_DTYPES)}")
        if patterns is None or patterns is True:
            fallback.append(dtype)
        else:
            rules[dtype] = [patterns] if isinstance(patterns, str) else list(patterns)
    if len(fallback) > 1:
        raise InputError(f"quantize: {fallback} are all given without patterns; only one dtype can take the rest")

    def rule(name: str) -> str | None:
        matched = [d for d, patterns in rules.items() if any(fnmatch.fnmatchcase(name, p) for p in patterns)]
        if len(matched) > 1:
            raise InputError(f"quantize: weight {name!r} matches the patterns of {matched}; give it one dtype")
        return matched[0] if matched else (fallback[0] if fallback else None)

    return rule


# --- model.json ------------------------------------------------------------------------------------------------

@dataclass
class TfjsArtifacts:
    """What a TF.js layers model is made of: model.json's content and the weight files by name."""

    model_json: dict
    shards: dict[str, bytes]

    def model_json_bytes(self) -> bytes:
        return json.dumps(self.model_json, allow_nan=False, separators=(",", ":")).encode()


def encode_model(parts: ModelParts, *, generated_by: str, converted_by: str,
                 shard_size_bytes: int = DEFAULT_SHARD_SIZE, quantize: str | Mapping | None = None,
                 metadata: dict | None = None, split_weights_by_layer: bool = False) -> TfjsArtifacts:
    """Check, then encode a model's parts in memory: nothing here touches a disk.

    The weights form one group (``group1-shard*.bin``), or with ``split_weights_by_layer`` one group per layer
    (``group<k>-shard*.bin``), as the converter's flag of that name does.

    Raises:
        UnsupportedLayerError: when TF.js 4.22 cannot load the model (see :func:`check_writable`).
        InputError: for a bad shard size, quantize spec or metadata, or a config JSON cannot carry (NaN).
        WeightsError: for weights the format cannot store or quantize.
    """
    if isinstance(shard_size_bytes, bool) or not isinstance(shard_size_bytes, int) or shard_size_bytes <= 0:
        raise InputError(f"shard_size_bytes must be a positive integer, got {shard_size_bytes!r}")
    if metadata is not None and not isinstance(metadata, dict):
        raise InputError(f"metadata must be a JSON object (a dict), got {type(metadata).__name__}")
    topology = states_for_outputs(without_mask_operations(parts.topology))
    topology, weights, ranks = tfjs_names(topology, parts.layer_weights(), parts.ranks())
    check_writable(topology, ranks)
    model_topology = encode_topology(topology)
    _check_json(model_topology, metadata)
    groups = weights_by_layer(topology, weights) if split_weights_by_layer else [named_weights(topology, weights)]
    rule = quantization_rule(quantize)
    manifest, shards = [], {}
    for number, tensors in enumerate(groups or [[]], start=1):
        entries, data = encode_tensors(tensors, rule)
        files = shard(data, shard_size_bytes, number)
        manifest.append({"paths": list(files), "weights": entries})
        shards.update(files)
    document = {"format": "layers-model", "generatedBy": generated_by, "convertedBy": converted_by,
                "modelTopology": model_topology, "weightsManifest": manifest}
    if metadata is not None:
        document["userDefinedMetadata"] = metadata
    return TfjsArtifacts(document, shards)


def _check_json(model_topology: dict, metadata: dict | None) -> None:
    """JSON.parse in a browser rejects NaN and Infinity: name the layer or metadata that holds one."""
    for entry in model_topology["config"]["layers"]:
        try:
            json.dumps(entry, allow_nan=False)
        except ValueError:
            raise InputError(f"layer {entry['name']!r}: its config holds NaN or Infinity, which model.json cannot "
                             "carry") from None
        except TypeError as exc:
            raise InputError(f"layer {entry['name']!r}: its config is not JSON: {exc}") from None
    try:
        json.dumps(metadata, allow_nan=False)
    except (ValueError, TypeError) as exc:
        raise InputError(f"metadata must be JSON without NaN or Infinity: {exc}") from None
