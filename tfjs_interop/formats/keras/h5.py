"""Keras HDF5 files: a whole model saved by ``model.save("m.h5")`` (Keras 2 / tf.keras and Keras 3's legacy H5),
or weights alone (``save_weights``) in the legacy layout or Keras 3's ``.weights.h5`` layout.

A whole-model file holds the topology as JSON in the ``model_config`` attribute and the weights under
``model_weights``: one group per layer (``layer_names``, chunked as ``layer_names0``, ``layer_names1``... when
long), each listing its tensors in ``weight_names`` (``lstm/lstm_cell/kernel:0`` from tf.keras, the same without
``:0`` from Keras 3).
"""

from __future__ import annotations

import numpy as np

from ...errors import ModelFormatError
from ..common import DEFAULT_MAX_BYTES, ModelFile, parse_json
from ..hdf5 import child, names_attr, open_hdf5, read_dataset, text_attr
from ..isolation import isolated
from .v3_weights import read_keras3_weights


def read_keras_h5(data: bytes, source: str, max_bytes: int = DEFAULT_MAX_BYTES) -> ModelFile:
    """Read a whole Keras model from the bytes of an H5 file (the HDF5 library runs in a child process: see
    :mod:`.isolation`).

    Raises:
        ModelFormatError: when the file is not a Keras model file (a weights-only file says so), or crashes or
            hangs the HDF5 library.
        WeightsError: when a weight tensor cannot be read.
        SecurityError: when the file links to data outside itself.
        LimitError: when the datasets read declare more than ``max_bytes`` in all.
    """
    description, weights = isolated(_read_model, data, source, max_bytes, source=source)
    return ModelFile(description["topology"], description["keras_version"], weights, source,
                     description["metadata"])


def read_h5_weights(data: bytes, topology: dict, source: str,
                    max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, np.ndarray]:
    """The weights of a weights-only H5 file (either layout), or of a whole-model H5, for ``topology``."""
    return isolated(_read_weights, data, topology, source, max_bytes, source=source)[1]


def _read_model(data: bytes, source: str, max_bytes: int) -> tuple[dict, dict[str, np.ndarray]]:
    with open_hdf5(data, source, max_bytes) as h5:
        config = text_attr(h5, "model_config", source)
        if config is None:
            raise ModelFormatError(f"{source}: an H5 file with weights only (no 'model_config' attribute); load it "
                                   f"with a topology: tfjs_interop.load(topology_file, weights={source!r})")
        topology = parse_json(config, f"{source} (model_config)")
        if not isinstance(topology, dict):
            raise ModelFormatError(f"{source}: model_config should be a JSON object, found {type(topology).__name__}")
        keras_version = text_attr(h5, "keras_version", source)
        weights = legacy_weights(child(h5, "model_weights", source), source) if "model_weights" in h5 else {}
        metadata = {"backend": text_attr(h5, "backend", source)} if "backend" in h5.attrs else {}
        if "training_config" in h5.attrs:
            metadata["training_config"] = parse_json(text_attr(h5, "training_config", source), source)
    return {"topology": topology, "keras_version": keras_version, "metadata": metadata}, weights


def _read_weights(data: bytes, topology: dict, source: str, max_bytes: int) -> tuple[dict, dict[str, np.ndarray]]:
    with open_hdf5(data, source, max_bytes) as h5:
        if "model_weights" in h5:
            return {}, legacy_weights(child(h5, "model_weights", source), source)
        if "layer_names" in h5.attrs or "layer_names0" in h5.attrs:
            return {}, legacy_weights(h5, source)
        if "layers" in h5 or "vars" in h5:
            return {}, read_keras3_weights(h5, topology, source)
    raise ModelFormatError(f"{source}: no Keras weights found (expected a 'layer_names' attribute, a "
                           f"'model_weights' group or Keras 3's 'layers' group)")


def legacy_weights(group, source: str) -> dict[str, np.ndarray]:
    """Tensors of the legacy layout, named ``<layer>/<weight name>`` in file order."""
    weights: dict[str, np.ndarray] = {}
    repeats: dict[str, int] = {}
    for layer in names_attr(group, "layer_names", source):
        layer_group = child(group, layer, source)
        read: dict[str, np.ndarray] = {}  # a name listed again is the same dataset: read (and counted) once
        for name in names_attr(layer_group, "weight_names", source):
            full = name if name.startswith(layer + "/") else f"{layer}/{name}"
            if name not in read:
                read[name] = read_dataset(layer_group, name, source)
            weights[_unique(full, weights, repeats)] = read[name]
    return weights


def _unique(name: str, taken: dict, repeats: dict[str, int]) -> str:
    """``name``, or for a repeat (Keras matches by order: keep both) ``name#k`` with the next free count; each
    name's counter only grows, so n repeats cost O(n), not O(n²) probes of ever longer names."""
    if name not in taken:
        return name
    while True:
        repeats[name] = repeats.get(name, 0) + 1
        candidate = f"{name}#{repeats[name]}"
        if candidate not in taken:
            return candidate
