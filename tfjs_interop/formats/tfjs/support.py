"""What tfjs-layers 4.22's ``tf.loadLayersModel`` can load and run, and the refusals, each naming the layer, the
reason and the fix, for the rest (checked before anything is encoded).

What TF.js registers, which option values it runs, which classes make a fresh output shape and which it cannot run
at all are facts each runtime layer class declares (``TfjsFacts``); the writer is handed them (``facts``)."""

from __future__ import annotations

from collections.abc import Mapping

from ...dialects import plain_dtype
from ...errors import UnsupportedLayerError
from ...facts import Catalog, TfjsFacts, facts_for
from ...topology import MODEL_CLASSES, Call, LayerSpec, TensorRef, Topology

TFJS_VERSION = "4.22.0"


# Activation names TF.js 4.22 deserialises once it has camelCased them ("gelu_new" becomes "geluNew", which it
# does not know, so it is absent).
TFJS_ACTIVATIONS = frozenset({"elu", "selu", "relu", "relu6", "linear", "sigmoid", "hard_sigmoid", "softplus",
                              "softsign", "tanh", "softmax", "log_softmax", "gelu", "mish", "swish"})


ACTIVATION_ALIASES = {"silu": "swish"}  # Keras 3's name for the same function


WRAPPED_KEYS = ("layer", "cell")


DTYPES = ("float32", "int32", "bool")


FIXES = {
    "reset_after": "retrain with reset_after=False (TF.js's GRUCell implements only that form)",
    "hard_sigmoid_keras3": "Keras 3's hard_sigmoid is relu6(x + 3) / 6, TF.js's is clip(0.2x + 0.5, 0, 1); retrain "
                           "with 'sigmoid' (or another activation TF.js has)",
    "Lambda": "a Lambda layer is Python code, which TF.js cannot run; replace it by built-in layers",
    "padding": "TF.js 4.22 does not implement causal padding; pad with ZeroPadding1D-style left padding in the model "
               "and use 'valid'",
}
UNKNOWN = TfjsFacts(registered=False)  # a class the runtime does not implement (Lambda, a custom class)


def tfjs_facts(facts: Catalog, class_name: str) -> TfjsFacts:
    """What TF.js does with a layer class, from the class's own facts."""
    known = facts_for(facts, class_name)
    return known.tfjs if known is not None else UNKNOWN


def check_writable(topology: Topology, facts: Catalog, ranks: Mapping[str, int] | None = None) -> None:
    """Raise UnsupportedLayerError, naming the layer, the reason and the fix, for anything TF.js 4.22 cannot load.

    Raises:
        UnsupportedLayerError: for a class TF.js does not register (Subtract, Lambda, custom layers...), an
            activation it lacks (Keras 3's hard_sigmoid, gelu_new...), GRU ``reset_after=True``, options it cannot
            run, or calls it cannot express (explicit masks, constants). ``facts`` are the layer classes' (the
            runtime's catalog); ``ranks`` gives the input rank of Softmax layers by name, which tells whether
            their axis is the last.
    """
    repeated = [ref for i, ref in enumerate(topology.outputs) if ref in topology.outputs[:i]]
    if repeated:  # TF.js warns "redundant", then predict fails: "Argument 'tensors[0]' ... got 'null'"
        ref = repeated[0]
        raise UnsupportedLayerError(
            f"cannot write model {topology.name!r} for TF.js {TFJS_VERSION}: it lists output {ref.tensor_index} of "
            f"layer {ref.layer!r} twice among its outputs, and TF.js then fails in predict; fix: list each once")
    for spec in topology.layers:
        if spec.class_name in MODEL_CLASSES:
            check_writable(spec.config["topology"], facts, ranks)
            continue
        _check_layer(spec.name, spec.class_name, spec.config, facts, (ranks or {}).get(spec.name))
        for call in spec.calls:
            _check_call(spec, call)
            _check_shape_writer(spec, call, topology, facts)


def _refuse(layer: str, class_name: str, reason: str, fix: str | None = None) -> UnsupportedLayerError:
    message = f"cannot write layer {layer!r} ({class_name}) for TF.js {TFJS_VERSION}: {reason}"
    return UnsupportedLayerError(message + (f"; fix: {fix}" if fix else ""))


def _check_layer(layer: str, class_name: str, config: dict, facts: Catalog, rank: int | None = None) -> None:
    """Refuse what TF.js cannot load or run in one layer (``rank``: its input's, where known)."""
    tfjs = tfjs_facts(facts, class_name)
    if not tfjs.registered:
        raise _refuse(layer, class_name, f"TF.js cannot deserialise class {class_name!r}",
                      tfjs.fix or FIXES.get(class_name, "replace it by layers TF.js has"))
    for key in ("activation", "recurrent_activation"):
        name = config.get(key)
        if name is not None and ACTIVATION_ALIASES.get(name, name) not in TFJS_ACTIVATIONS:
            shown = "Keras 3's 'hard_sigmoid'" if name == "hard_sigmoid_keras3" else repr(name)
            raise _refuse(layer, class_name, f"TF.js has no activation {shown} (for {key})",
                          FIXES.get(name, f"use one of {', '.join(sorted(TFJS_ACTIVATIONS))}"))
    for key, allowed in tfjs.allowed.items():
        if config.get(key) is not None and config[key] not in allowed:
            raise _refuse(layer, class_name, f"TF.js cannot run {key}={config[key]!r} (it runs {allowed[0]!r})",
                          FIXES.get(key))
    if tfjs.cannot_run:
        raise _refuse(layer, class_name, tfjs.cannot_run, tfjs.fix)
    refused = tfjs.refusal(config, rank) if tfjs.refusal is not None else None
    if refused is not None:
        raise _refuse(layer, class_name, *refused)
    _check_dtype(layer, class_name, config.get("dtype"))
    _check_wrapped(layer, class_name, config, facts)


def _check_dtype(layer: str, class_name: str, dtype: object) -> None:
    name = plain_dtype(dtype)
    if name is not None and name not in DTYPES:
        raise _refuse(layer, class_name, f"dtype {name!r}; TF.js layers compute in float32 (inputs may be int32)",
                      "save the model with the float32 policy")


def _check_wrapped(layer: str, class_name: str, config: dict, facts: Catalog) -> None:
    for key in WRAPPED_KEYS:
        inner = config.get(key)
        if isinstance(inner, list):
            inner = {"class_name": "StackedRNNCells", "config": {"cells": inner}}
        if isinstance(inner, dict) and inner.get("class_name") in MODEL_CLASSES:
            check_writable(inner["config"]["topology"], facts)
        elif isinstance(inner, dict) and isinstance(inner.get("class_name"), str):
            inner_config = inner.get("config") or {}
            _check_layer(f"{layer}/{inner_config.get('name', key)}", inner["class_name"], inner_config, facts)
    cells = config.get("cells") if class_name == "StackedRNNCells" else None
    for cell in cells if isinstance(cells, list) else []:
        cell_config = cell.get("config") or {}
        _check_layer(f"{layer}/{cell_config.get('name', 'cell')}", cell.get("class_name"), cell_config, facts)
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


def _check_shape_writer(spec: LayerSpec, call: Call, topology: Topology, facts: Catalog) -> None:
    """TF.js's CenterCrop and CategoryEncoding write their output size into their input's shape array, which is the
    model input's own (or, through layers that return the shape they are given, an earlier one) unless a layer
    that builds a new one (``TfjsFacts.fresh_shape``) makes it: then predict fails ("expected input1 to have
    shape")."""
    if not tfjs_facts(facts, spec.class_name).overwrites_input_shape:
        return
    source = topology.layer(call.args[0].layer).class_name
    if not tfjs_facts(facts, source).fresh_shape:
        fresh = sorted(name for name, known in facts.items() if known.tfjs.fresh_shape)
        raise _refuse(spec.name, spec.class_name, f"TF.js's {spec.class_name} overwrites the shape of its input, "
                      f"here the output of a {source}, and TF.js's predict then fails",
                      f"put it after a layer that makes a new shape ({', '.join(fresh)}), e.g. a Reshape to the "
                      "same shape")


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
