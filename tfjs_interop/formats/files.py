"""Which files make up a model, whatever its format (for hashing, copying, golden records)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ModelFormatError
from .tfjs import tfjs_model_files


def model_files(path: str | os.PathLike) -> list[Path]:
    """The files a model consists of, its main file first.

    A TF.js model (a folder, or a ``.json`` file) is its model.json and the shards its manifest lists; any other
    file (``.h5``, ``.keras``) is a model on its own.

    Raises:
        ModelFormatError: when ``path`` names no model file, or model.json is malformed.
        SecurityError: when a manifest names a file outside the model's folder.
    """
    path = Path(path)
    if path.is_dir() or path.suffix == ".json":
        return tfjs_model_files(path)
    if not path.is_file():
        raise ModelFormatError(f"{str(path)!r}: no such model file")
    return [path]
