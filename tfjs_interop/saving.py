"""``save``: one entry point that writes a model by its destination, a TF.js folder or a Keras file.

The destination decides the format, the same way for ``Model.save`` and ``tfjs-interop convert``: a path ending
in ``.h5`` or ``.keras`` is a Keras file; an existing folder, a path ending in a separator, or a name without a
suffix is a TF.js layers model folder. Anything else (``out.onnx``, ``out.KERAS``) is refused rather than
silently made a folder of that name.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError
from .runtime.model import Model

TFJS, KERAS = "tfjs_layers_model", "keras"
KERAS_SUFFIXES = (".h5", ".keras")


def keras_config(model: Model) -> dict:
    """The model as Keras 3 serializes it (``{"module", "class_name": "Functional", "config", ...}``): the config
    ``save_keras`` writes, which ``to_json`` gives and ``get_config`` takes the ``config`` of.

    Raises:
        UnsupportedLayerError: when Keras 3 cannot express a layer exactly.
    """
    from .formats.keras_save import KERAS_VERSION
    from .formats.keras_writer import keras_export

    return {**keras_export(model).config, "keras_version": KERAS_VERSION, "backend": "tensorflow"}


def destination_kind(path: str | os.PathLike, output_format: str | None = None) -> str:
    """``"tfjs_layers_model"`` or ``"keras"``: what ``path`` receives (``output_format`` forces a kind).

    Raises:
        InputError: for a suffix that is neither a Keras file's nor a folder's, or one that contradicts
            ``output_format``.
    """
    text = os.fspath(path)
    suffix = Path(text).suffix
    folder = text.endswith(("/", os.sep)) or Path(text).is_dir() or not suffix
    if output_format == TFJS or (output_format is None and folder):
        if Path(text).is_file():
            raise InputError(f"{text}: exists and is a file; a TF.js layers model is written to a folder")
        return TFJS
    if suffix in KERAS_SUFFIXES and output_format in (None, KERAS):
        return KERAS
    if suffix.lower() in KERAS_SUFFIXES:
        hint = f"; Keras reads only the lowercase suffix: use {Path(text).stem}{suffix.lower()}"
    else:
        hint = "; end it with / for a TF.js folder"
    what = "a Keras file" if output_format == KERAS else "the output"
    raise InputError(f"{text}: {what} must be a .h5 or .keras file or a TF.js folder, not a {suffix!r} file{hint}")


def check_destination(path: str | os.PathLike, overwrite: bool, kind: str) -> None:
    """Refuse, before any work, a destination that cannot be written: an existing file or non-empty folder without
    ``overwrite``, or a parent that is not a folder. A missing parent folder is created when written.

    Raises:
        InputError: naming the path and the flag or argument that would allow it.
    """
    target = Path(os.path.abspath(path))
    parent = next((p for p in target.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise InputError(f"{os.fspath(path)}: {parent} is a file, not a folder")
    if kind == KERAS and target.is_dir():
        raise InputError(f"{os.fspath(path)}: is a folder; a Keras file cannot replace it")
    if kind == KERAS and target.exists() and not overwrite:
        raise InputError(f"{os.fspath(path)}: exists; pass overwrite=True (--overwrite) to replace it")
    if kind == TFJS and target.is_dir() and any(target.iterdir()) and not overwrite:
        raise InputError(f"{os.fspath(path)}: is not empty; pass overwrite=True (--overwrite) to replace it")


def save(model: Model, path: str | os.PathLike, *, overwrite: bool = False, output_format: str | None = None,
         **tfjs_options: object) -> Path:
    """Write ``model`` to ``path``: a ``.h5`` / ``.keras`` file (:func:`~tfjs_interop.save_keras`) or a TF.js
    folder (:func:`~tfjs_interop.save_tfjs`, which takes ``tfjs_options``: shard size, quantize, metadata...).

    Unlike Keras's ``save``, an existing destination is kept unless ``overwrite`` is true (a folder is replaced
    whole).

    Returns:
        The path written.

    Raises:
        InputError: for a destination of no known kind, one that exists without ``overwrite``, or TF.js options
            given for a Keras file.
        UnsupportedLayerError: when the format cannot represent the model (nothing is written).
    """
    kind = destination_kind(path, output_format)
    check_destination(path, overwrite, kind)
    if kind == TFJS:
        from .writing import save_tfjs

        return save_tfjs(model, path, overwrite=overwrite, **tfjs_options)  # type: ignore[arg-type]
    if tfjs_options:
        raise InputError(f"{', '.join(sorted(tfjs_options))} appl{'ies' if len(tfjs_options) == 1 else 'y'} to "
                         f"TF.js output only, not to the Keras file {os.fspath(path)}")
    from .formats.keras_save import save_keras

    Path(os.path.abspath(path)).parent.mkdir(parents=True, exist_ok=True)
    save_keras(model, path)
    return Path(path)
