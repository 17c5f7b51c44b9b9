"""Keras 3's weights layout (``model.weights.h5`` inside a ``.keras`` archive, or a ``.weights.h5`` file).

Keras 3 stores each object's own variables as ``vars/0``, ``vars/1``... and its children under attribute names:
``layers/<key>`` for a model's layers (key = the class name in snake_case, ``_1``, ``_2``... for repeats; newer
versions also record the layer's name as the ``name`` attribute of its ``vars`` group), ``cell`` for an RNN's cell,
``forward_layer`` / ``backward_layer`` for Bidirectional, ``layer`` for TimeDistributed, ``cells/<key>`` for
stacked cells. Variables carry no names, so they are returned in Keras's weight order, named by where they sit
(``bidirectional/forward_layer/cell/vars/0``), and bound to layers by order.
"""

from __future__ import annotations

import io
import re
from contextlib import contextmanager

import numpy as np

from ...errors import ModelFormatError
from ..hdf5 import child, read_dataset, text_attr

MODEL_CLASSES = ("Sequential", "Functional", "Model")
# Children in Keras's weight order (others follow by name); an attention layer's projections are saved as
# query_dense... by Keras 3, _query_dense... by tf_keras.
_PROJECTIONS = ("query_dense", "key_dense", "value_dense", "output_dense")
_CHILD_ORDER = ("forward_layer", "backward_layer", "layer", "cell", "cells", *_PROJECTIONS,
                *(f"_{name}" for name in _PROJECTIONS))
_CHILD_CONFIG = {"forward_layer": "layer", "layer": "layer", "cell": "cell"}


def read_keras3_weights(h5, topology: dict, source: str) -> dict[str, np.ndarray]:
    """Every variable of the model ``topology`` describes, named ``<layer>/<where>/vars/<i>``, in Keras order.

    A file saved on Windows by Keras 3 versions that joined paths with ``os.path.join`` holds one group per
    object named ``layers\\lstm\\cell\\vars`` at the top; it is read as the nested groups it stands for.
    """
    weights: dict[str, np.ndarray] = {}
    if any("\\" in key for key in h5):
        with _unfolded(h5, source) as unfolded:
            _read_model(unfolded, topology, "", weights, source)
    else:
        _read_model(h5, topology, "", weights, source)
    return weights


@contextmanager
def _unfolded(h5, source: str):
    """An in-memory copy of ``h5`` whose backslash-joined top-level group names are nested groups."""
    import h5py

    with h5py.File(io.BytesIO(), "w") as copy:
        for key in h5:
            path = "/".join(p for p in key.split("\\") if p)
            group = child(h5, key, source)
            if not path or any(p in (".", "..") for p in path.split("/")):
                raise ModelFormatError(f"{source}: weight group name {key!r} is not a path of groups")
            target = copy.require_group(path)
            target.attrs.update({name: group.attrs[name] for name in group.attrs})
            for name in group:
                target[name] = read_dataset(group, name, source)
        yield copy


def _read_model(group, model: dict, prefix: str, weights: dict, source: str) -> None:
    entries = _saved_layers(model, source)
    if not entries:
        return
    container = child(group, "layers", source)
    keys = _keys_by_name(container, source)
    for entry, key in zip(entries, saving_keys(entries)):
        name = entry.get("name") or _config(entry).get("name")
        if not isinstance(name, str):
            continue  # the topology parser names the problem
        key = keys.get(name, key)
        if key not in container:
            continue  # nothing saved for it; a missing weight is reported when binding
        sub = child(container, key, source)
        wrapped = _config(entry).get("layer")
        if entry.get("class_name") in MODEL_CLASSES:
            _read_model(sub, entry, f"{prefix}{name}/", weights, source)
        elif isinstance(wrapped, dict) and wrapped.get("class_name") in MODEL_CLASSES and "layer" in sub:
            _read_model(child(sub, "layer", source), wrapped, f"{prefix}{name}/", weights, source)  # TimeDistributed
        else:
            for path, value in _read_object(sub, entry, key, source):
                weights[f"{prefix}{name}/{path}"] = value


def _saved_layers(model: dict, source: str) -> list[dict]:
    """The layers Keras walks when saving: a Sequential's without its InputLayer; no operations (``NotEqual``)."""
    config = model.get("config")
    layers = config.get("layers") if isinstance(config, dict) else None
    if not isinstance(layers, list):
        raise ModelFormatError(f"{source}: the {model.get('class_name')} config has no 'layers' list")
    layers = [e for e in layers if isinstance(e, dict) and not str(e.get("module", "")).startswith("keras.src.ops")]
    if model.get("class_name") == "Sequential":
        layers = [e for e in layers if e.get("class_name") != "InputLayer"]
    return layers


def saving_keys(entries: list[dict]) -> list[str]:
    """The keys Keras 3 gives a list of objects: class name in snake_case, ``_1``, ``_2``... when repeated."""
    used: dict[str, int] = {}
    return [unique_key(keras_snake_case(str(entry.get("class_name", ""))), used) for entry in entries]


def unique_key(name: str, used: dict[str, int]) -> str:
    """Keras's ``_get_unique_name``: ``lstm``, ``lstm_1``, ``lstm_2``... (``used`` counts what was given)."""
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _keys_by_name(container, source: str) -> dict[str, str]:
    """Layer name -> key, from the ``name`` attribute newer Keras versions write on each ``vars`` group."""
    names = {}
    for key in container:
        holder = container[key].get("vars")
        name = text_attr(holder, "name", source) if holder is not None and hasattr(holder, "attrs") else None
        if name:
            names[name] = key
    return names


def _read_object(group, entry: dict, key: str, source: str):
    """(path, tensor) of an object's own variables, then of its children in Keras's weight order."""
    if "vars" in group:
        own = child(group, "vars", source)
        for index in sorted(own, key=_index_of(own, source)):
            yield f"vars/{index}", read_dataset(own, index, source)
    config = _config(entry)
    for name in _children(group):
        sub = child(group, name, source)
        if name == "cells":
            yield from _read_cells(sub, config.get("cells"), source)
            continue
        sub_entry = config.get(_CHILD_CONFIG.get(name, name)) or {}
        if name == "backward_layer" and not config.get("backward_layer"):
            sub_entry = config.get("layer") or {}
        for path, value in _read_object(sub, sub_entry if isinstance(sub_entry, dict) else {}, name, source):
            yield f"{name}/{path}", value


def _config(entry: object) -> dict:
    config = entry.get("config") if isinstance(entry, dict) else None
    return config if isinstance(config, dict) else {}


def _read_cells(group, cells: object, source: str):
    listed = saving_keys([c for c in cells if isinstance(c, dict)]) if isinstance(cells, list) else []
    order = [k for k in listed if k in group] + sorted(k for k in group if k not in listed)
    entries = dict(zip(listed, cells)) if isinstance(cells, list) else {}
    for key in order:
        for path, value in _read_object(child(group, key, source), entries.get(key, {}), key, source):
            yield f"cells/{key}/{path}", value


def _children(group) -> list[str]:
    names = [name for name in group if name != "vars"]
    return [n for n in _CHILD_ORDER if n in names] + sorted(n for n in names if n not in _CHILD_ORDER)


def _index_of(group, source: str):
    def index(name: str) -> int:
        if not name.isdigit():
            raise ModelFormatError(f"{source}: {group.name}/{name} is not a numbered variable (vars/0, vars/1...)")
        return int(name)
    return index


def keras_snake_case(name: str) -> str:
    """Keras's ``naming.to_snake_case``, exactly (``GlobalAveragePooling1D`` -> ``global_average_pooling1d``,
    ``PReLU`` -> ``p_re_lu``)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
