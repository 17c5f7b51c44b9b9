"""Which reader a path needs, told by its contents (HDF5 and zip signatures, JSON keys), not by its name."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import ModelFormatError
from .common import DEFAULT_MAX_BYTES, ByteBudget, ModelFile, read_regular_file
from .hdf5 import is_hdf5
from .keras.archive import is_zip, read_keras_zip
from .keras.h5 import read_h5_weights, read_keras_h5
from .tfjs.reader import read_json_file, read_tfjs, read_tfjs_document

KERAS_JSON_KEYS = ("keras_version", "backend")


def read_model(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES) -> ModelFile:
    """Read any supported model file: a TF.js ``model.json`` (or its folder), a Keras ``.h5`` / ``.keras``, or the
    JSON topology ``model.to_json()`` writes (which has no weights), reading at most ``max_bytes``.

    Raises:
        ModelFormatError: when the path is not a model file of a supported kind.
        LimitError: when the file (or, for TF.js, the files) exceed ``max_bytes``.
    """
    path = Path(path)
    if path.is_dir():
        return read_tfjs(path, max_bytes)
    head = _head(path)
    source = str(path)
    budget = ByteBudget(max_bytes, source)
    if is_hdf5(head):
        return _tagged(read_keras_h5(_read(path, budget), source, max_bytes), "keras_h5")
    if is_zip(head):
        return _tagged(read_keras_zip(_read(path, budget), source, max_bytes), "keras_zip")
    if head.lstrip()[:1] not in (b"{", b""):
        raise ModelFormatError(f"{source}: not a model file: expected a TF.js model.json, a Keras .h5 (HDF5) or "
                               f".keras (zip) file, found bytes {head[:8]!r}")
    document = read_json_file(path, budget)
    if isinstance(document, dict) and "modelTopology" not in document and "class_name" in document:
        return _keras_json(document, source)
    return read_tfjs_document(path, document, budget, max_bytes)


def read_weights_file(path: str | os.PathLike, topology: dict, max_bytes: int = DEFAULT_MAX_BYTES) -> dict:
    """The weights of a Keras weights file (``.h5`` / ``.weights.h5``, either layout) for ``topology``."""
    path = Path(path)
    if not is_hdf5(_head(path)):
        raise ModelFormatError(f"{path}: weights must be a Keras HDF5 file (.h5 or .weights.h5)")
    return read_h5_weights(_read(path, ByteBudget(max_bytes, str(path))), topology, str(path), max_bytes)


def _read(path: Path, budget: ByteBudget) -> bytes:
    """A whole model file in memory, refused past the budget before it is read."""
    return read_regular_file(path, budget, "the model file", ModelFormatError)


def _keras_json(document: dict, source: str) -> ModelFile:
    keras_version = document.get("keras_version")
    if keras_version is not None and not isinstance(keras_version, str):
        raise ModelFormatError(f"{source}: keras_version should be a string, found {keras_version!r:.80}")
    topology = {key: value for key, value in document.items() if key not in KERAS_JSON_KEYS}
    if keras_version is None and "module" in topology:  # only Keras 3 writes "module"
        keras_version = "3"
    return ModelFile(topology, keras_version, {}, source, {}, kind="keras_json")


def _tagged(model_file: ModelFile, kind: str) -> ModelFile:
    model_file.kind = kind
    return model_file


def _head(path: Path) -> bytes:
    """A file's first bytes, which tell its kind; a FIFO or device is refused unopened (it could block)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ModelFormatError(f"{str(path)!r}: not a regular file")
        with path.open("rb") as file:
            return file.read(8)
    except FileNotFoundError:
        raise ModelFormatError(f"{str(path)!r}: no such model file") from None
    except OSError as exc:
        raise ModelFormatError(f"{str(path)!r}: cannot read: {exc.strerror or exc}") from None
