"""The Keras 2 (tf_keras) form of a model config, which Keras 3's legacy-H5 loader reads as well.

It differs from Keras 3's own form in the places tf_keras cannot read: InputLayer ``batch_input_shape`` (not
``batch_shape``), ``inbound_nodes`` as ``[[layer, node, tensor, kwargs], ...]`` lists (an RNN's initial states as
extra inputs), and ``Functional`` / ``Sequential`` entries without Keras 3's ``module`` fields at the top.

Only a model without ``hard_sigmoid`` may be written this way: the name means ``clip(0.2x + 0.5, 0, 1)`` to tf_keras
and ``relu6(x + 3) / 6`` to Keras 3, so such a model is written in Keras 3's form only, which tf_keras refuses
rather than misreads. So is a model that needs explicit masks (see ``formats.keras.config._with_explicit_masks``).
"""

from __future__ import annotations

import json

from ...facts import Catalog, facts_for

KERAS2_VERSION = "2.15.0"  # the dialect this form is written in
KERAS3_OPS = "keras.src.ops"  # the module of Keras 3's op layers, which Keras 2 has not


def keras2_expressible(config: dict) -> bool:
    """Whether Keras 2 and Keras 3 read the model the same in the Keras 2 form: no activation named hard_sigmoid
    (nor a custom function), no explicit masks made by Keras 3's ops (Keras 3 would drop them), and no RNN given
    initial states (the Keras 2 form passes them as extra inputs, which Keras 3's loader refuses: "expects 1
    input(s), but it received 3"), no call given separate tensors (``_tensors_apart``), and no model inside a
    wrapper (Keras 3's loader deserialises a TimeDistributed's
    inner model by its ``module``, which the Keras 2 form has not)."""
    text = json.dumps(config)
    signs = ('"hard_sigmoid"', '"class_name": "function"', f'"{KERAS3_OPS}', '"initial_state"')
    return not any(sign in text for sign in signs) and not _wraps_a_model(config) and not _tensors_apart(config)


def _tensors_apart(value: object) -> bool:
    """Whether a call takes several tensors as separate arguments, or one by keyword (but its mask or initial
    state): Keras 3's loader reads no tensor in the Keras 2 form's kwargs, and calls a layer given several tensors
    on the list of them."""
    if isinstance(value, dict):
        if set(value) >= {"args", "kwargs"} and isinstance(value["args"], list):
            kwargs = value["kwargs"] if isinstance(value["kwargs"], dict) else {}
            named = [v for k, v in kwargs.items() if k not in ("mask", "initial_state")]
            return sum(map(_is_tensor, value["args"])) > 1 or any(map(_is_tensor, named))
        return any(_tensors_apart(v) for v in value.values())
    return isinstance(value, list) and any(_tensors_apart(v) for v in value)


def _is_tensor(value: object) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _wraps_a_model(value: object) -> bool:
    if isinstance(value, dict):
        inner = value.get("layer")
        if isinstance(inner, dict) and inner.get("class_name") in ("Sequential", "Functional"):
            return True
        return any(_wraps_a_model(v) for v in value.values())
    return isinstance(value, list) and any(_wraps_a_model(v) for v in value)


def keras2_form(model: dict, facts: Catalog) -> dict:
    """A Keras 3 form model object (from :func:`keras_export`) rewritten in the Keras 2 form (each layer's config
    in Keras 2's spelling where its facts give one, ``KerasFacts.keras2_spelling``)."""
    config = dict(model["config"])
    sequential = model["class_name"] == "Sequential"
    config["layers"] = [_layer(entry, not sequential, facts) for entry in config["layers"]
                        if not entry.get("module", "").startswith(KERAS3_OPS)]
    return {"class_name": model["class_name"], "config": config}


def _layer(entry: dict, with_calls: bool, facts: Catalog) -> dict:
    if entry["class_name"] in ("Sequential", "Functional"):
        out = keras2_form(entry, facts)
    else:
        out = {"class_name": entry["class_name"], "config": _input_config(entry, facts)}
    if "name" in entry:
        out["name"] = entry["name"]
    if with_calls:
        out["inbound_nodes"] = [_node(node) for node in entry.get("inbound_nodes", [])]
    return out


def _input_config(entry: dict, facts: Catalog) -> dict:
    config = dict(entry["config"])
    if entry["class_name"] == "InputLayer":
        config["batch_input_shape"] = config.pop("batch_shape")
    known = facts_for(facts, entry["class_name"])
    if known is not None and known.keras.keras2_spelling is not None:
        config = known.keras.keras2_spelling(config)
    return config


def _node(node: dict) -> list:
    """``{"args": [...], "kwargs": {...}}`` -> ``[[layer, node, tensor, kwargs], ...]``."""
    args = node["args"][0] if len(node["args"]) == 1 and isinstance(node["args"][0], list) else node["args"]
    kwargs = dict(node.get("kwargs") or {})
    kwargs.pop("mask", None)  # Keras 3's explicit masks, made by ops; Keras 2 passes masks on by itself
    states = kwargs.pop("initial_state", None) or []
    refs = [_history(t) for t in [*args, *(states if isinstance(states, list) else [states])]]
    return [[*ref, kwargs if i == 0 else {}] for i, ref in enumerate(refs)]


def _history(tensor: dict) -> list:
    return list(tensor["config"]["keras_history"])
