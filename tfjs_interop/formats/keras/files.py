"""The bytes of a Keras 3 ``.keras`` file (zip of config.json, metadata.json, model.weights.h5) or a legacy ``.h5``
(``model_config`` attribute and ``model_weights`` groups), made with h5py and zipfile from a :class:`KerasExport`.

Everything is made in memory (so a model Keras cannot express is refused before anything is written); the file is
written by the one atomic writer (``tfjs_interop.saving.save_keras``).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...errors import UnsupportedLayerError, few
from ...version import __version__
from .keras2_form import KERAS2_VERSION, keras2_expressible, keras2_form
from .writer import KerasExport

if TYPE_CHECKING:
    import h5py

# The Keras dialect the config is written in (module / registered_name objects, __keras_tensor__ nodes).
KERAS_VERSION = "3.0.0"


HDF5_OBJECT_HEADER_LIMIT = 64512  # bytes per attribute before Keras splits a list into name0, name1, ...


def check_hdf5_names(export: KerasExport, path: Path) -> None:
    """Refuse layer and weight names HDF5 cannot store (empty, ``.``, a NUL, not UTF-8, over 64 KB with the
    header), naming a few and the count, before anything is written.

    Raises:
        UnsupportedLayerError: naming the first offenders.
    """
    names = [layer for layer, _ in export.legacy] + [name for _, named in export.legacy for name, _ in named]
    names += [name for name, _ in export.groups.values()]
    bad = [name for name in names if not _hdf5_storable(name)]
    if bad:
        raise UnsupportedLayerError(f"{path}: {len(bad)} layer or weight name(s) cannot be stored in HDF5 (empty, "
                                    f"'.', a NUL character, not UTF-8, or over {MAX_HDF5_NAME_BYTES} bytes): "
                                    f"{few(bad)}; rename the layers before saving")


MAX_HDF5_NAME_BYTES = HDF5_OBJECT_HEADER_LIMIT // 2  # a name also sits, with others, in one attribute header


def _hdf5_storable(name: str) -> bool:
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return bool(encoded) and name != "." and b"\0" not in encoded and len(encoded) <= MAX_HDF5_NAME_BYTES


def keras_zip_bytes(export: KerasExport) -> bytes:
    """A ``.keras`` archive as Keras 3 writes it."""
    metadata = {"keras_version": KERAS_VERSION, "producer": _producer()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("metadata.json", json.dumps(metadata))
        archive.writestr("config.json", json.dumps(export.config))
        archive.writestr("model.weights.h5", _weights_h5(export))
    return buffer.getvalue()


def _weights_h5(export: KerasExport) -> bytes:
    """``model.weights.h5``: ``<object path>/vars/<i>`` for every saved object, with its name as an attribute."""
    import h5py  # only when writing: it takes a noticeable part of the package's import time

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        for path, (name, arrays) in export.groups.items():
            group = file.require_group(f"{path}/vars" if path else "vars")
            group.attrs["name"] = name
            for i, array in enumerate(arrays):
                group.create_dataset(str(i), data=np.asarray(array))
    return buffer.getvalue()


def legacy_h5_bytes(export: KerasExport) -> bytes:
    """A legacy ``.h5`` model file: in the Keras 2 form tf_keras and Keras 3 both load, unless the two would read
    it differently (``hard_sigmoid``, explicit masks): then in Keras 3's form, as Keras 3 writes it."""
    config, version = export.config, KERAS_VERSION
    if keras2_expressible(config):
        config, version = keras2_form(config, export.facts), KERAS2_VERSION
    import h5py  # only when writing

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        file.attrs["keras_version"] = version
        file.attrs["backend"] = "tensorflow"
        file.attrs["model_config"] = json.dumps(config)
        file.attrs["producer"] = _producer()
        weights = file.create_group("model_weights")
        weights.attrs["keras_version"] = version
        weights.attrs["backend"] = "tensorflow"
        _save_list_attribute(weights, "layer_names", [name for name, _ in export.legacy])
        for layer, named in export.legacy:
            group = weights.create_group(layer)
            _save_list_attribute(group, "weight_names", [name for name, _ in named])
            for name, array in named:
                group.create_dataset(name, data=np.asarray(array))
        _save_list_attribute(weights.create_group("top_level_model_weights"), "weight_names", [])
    return buffer.getvalue()


def _save_list_attribute(group: h5py.Group, name: str, items: list[str]) -> None:
    """Store a list of names as Keras does: one attribute, or ``name0``, ``name1``... when it would be too long."""
    data = np.asarray([item.encode("utf8") for item in items], dtype=bytes if items else np.float64)
    per_part = max(1, HDF5_OBJECT_HEADER_LIMIT // max(1, data.itemsize))  # every item takes the longest's bytes
    chunks = max(1, -(-len(data) // per_part))
    if chunks == 1:
        group.attrs[name] = data
        return
    for i, part in enumerate(np.array_split(data, chunks)):
        group.attrs[f"{name}{i}"] = part


def _producer() -> str:
    return f"tfjs-interop {__version__}"
