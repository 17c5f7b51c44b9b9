"""Which files make up a model, whatever its format (for hashing, copying, golden records)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ModelFormatError
from .common import parse_json
from .tfjs.reader import tfjs_model_files


def model_files(path: str | os.PathLike) -> list[Path]:
    """The files a model consists of, its main file first.

    A TF.js model (a folder, or a ``.json`` file) is its model.json and the shards its manifest lists; a Keras
    topology JSON (``to_json()``, whose weights come from elsewhere) and any other file (``.h5``, ``.keras``) are
    a model on their own.

    Raises:
        ModelFormatError: when ``path`` names no model file, or model.json is malformed.
        SecurityError: when a manifest names a file outside the model's folder.
    """
    path = Path(path)
    if path.is_dir() or (path.suffix == ".json" and not _is_keras_topology(path)):
        return tfjs_model_files(path)
    if not path.is_file():
        raise ModelFormatError(f"{str(path)!r}: no such model file")
    return [path]


def _is_keras_topology(path: Path) -> bool:
    """Whether a .json file is a Keras ``to_json()`` topology rather than a TF.js model.json."""
    try:
        document = parse_json(path.read_bytes(), str(path))
    except (OSError, ModelFormatError):
        return False  # tfjs_model_files says what is wrong with it
    return isinstance(document, dict) and "class_name" in document and "modelTopology" not in document
