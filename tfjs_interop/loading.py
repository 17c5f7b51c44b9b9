"""``load``: file -> formats -> topology -> runtime (:mod:`.binding`), for the user's model (:mod:`.api`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from . import binding
from .api import Model
from .errors import InputError, ModelFormatError, api_boundary
from .formats.common import DEFAULT_MAX_BYTES, ModelFile
from .formats.reader import read_model, read_weights_file
from .formats.remote import is_url, read_tfjs_url
from .golden_model import check_on_load
from .topology import Dialect, Engine


@api_boundary(ModelFormatError)
def load(path: str | os.PathLike, *, weights: str | os.PathLike | None = None, check: bool = False,
         max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = 30.0,
         cache_dir: str | os.PathLike | None = None, deadline: float | None = None,
         headers: Mapping[str, str] | None = None, on_progress: Callable[[float], object] | None = None) -> Model:
    """Load a model for the NumPy runtime.

    Args:
        path: a TF.js ``model.json`` or the folder holding one; an ``http(s)://`` URL of a model.json, whose
            shards are fetched from beside it as ``tf.loadLayersModel`` does; a Keras ``.h5`` / ``.hdf5``
            (Keras 2 or 3) or ``.keras`` file; or a Keras topology JSON (``model.to_json()``), which needs
            ``weights``. The kind of a file is told from its contents.
        weights: a Keras weights file (``save_weights`` output: legacy ``.h5`` or Keras 3 ``.weights.h5``) whose
            tensors replace those of ``path``.
        check: also run the model on the golden record beside it (``golden.npz`` in a TF.js model's folder,
            ``<name>.golden.npz`` beside a single file; see :mod:`tfjs_interop.golden`) and raise unless it
            reproduces the recorded outputs.
        max_bytes: the most bytes the load may read in all (model.json and shards; default 2 GiB); also the most
            one sample of any layer's output may take, so an absurd config cannot allocate at ``predict``.
        timeout: seconds to wait for a server to connect or send more data (URLs only).
        cache_dir: a folder keeping fetched files, revalidated with the server and used when it is unreachable
            (URLs only; see :mod:`tfjs_interop.formats.remote`).
        deadline: seconds the whole fetch may take, however slowly a server sends (URLs only; None: no limit).
        headers: HTTP headers sent with every request (URLs only), as TF.js's ``requestInit.headers``, e.g.
            ``{"Authorization": "Bearer ..."}``.
        on_progress: called with the fraction of the model's files fetched, 0 to 1 (URLs only), as TF.js's
            ``onProgress``.

    Returns:
        The runtime :class:`~tfjs_interop.runtime.model.Model`. Models from TF.js files compute what TF.js
        computes; models from Keras files what Keras computes (the two differ in a few masked cases; see README).

    Raises:
        ModelFormatError: when the file is not a readable model.
        WeightsError: when weights are missing, misshapen or disagree with the manifest.
        UnsupportedLayerError: when a layer or option cannot be run exactly (Lambda and custom classes included).
        SecurityError: when the model names a file outside its folder (or URL folder), or a server redirects away.
        LimitError: when the files or a layer's output would exceed ``max_bytes``.
        NetworkError: when a URL cannot be fetched.
        GoldenMismatchError: with ``check``, when an output differs from the golden record beyond its tolerance
            (a missing or malformed golden file is a ModelFormatError).
    """
    if is_url(path):
        model_file = read_tfjs_url(str(path), max_bytes=max_bytes, timeout=timeout, cache_dir=cache_dir,
                                   deadline=deadline, headers=_checked_headers(headers), on_progress=on_progress)
    else:
        model_file = read_model(path, max_bytes=max_bytes)
    model = _model_from_read(model_file, path, weights, max_bytes)
    model.weights_file = None if weights is None else os.path.abspath(weights)
    if check:
        check_on_load(model, path, max_bytes=max_bytes, timeout=timeout, deadline=deadline,
                      headers=_checked_headers(headers))
    return model


def _checked_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Header names and values as strings without line breaks (which would split the request)."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise InputError(f"headers must be a dict of strings, got {type(headers).__name__}")
    for name, value in headers.items():
        if not (isinstance(name, str) and isinstance(value, str)) or any(c in name + value for c in "\r\n\0") \
                or not name or ":" in name:
            raise InputError(f"headers: {name!r} must be a header name and a one-line string value")
    return dict(headers)


def _model_from_read(model_file: ModelFile, path: str | os.PathLike, weights: str | os.PathLike | None,
                     max_bytes: int) -> Model:
    if weights is not None:
        model_file.weights = read_weights_file(weights, model_file.topology, max_bytes)
        model_file.source = f"{model_file.source} with weights {str(weights)!r}"
    elif model_file.kind == "keras_json":
        raise ModelFormatError(f"{model_file.source}: a Keras topology JSON holds no weights; pass them: "
                               f"tfjs_interop.load({str(path)!r}, weights='model.weights.h5') (--weights FILE)")
    if model_file.kind == "tfjs":
        return model_from_file(model_file, Dialect.TFJS, Engine.TFJS, max_bytes)
    default = Dialect.KERAS3 if model_file.kind == "keras_zip" else Dialect.KERAS2
    return model_from_file(model_file, default, Engine.KERAS, max_bytes)


def model_from_file(model_file: ModelFile, default_dialect: Dialect, engine: Engine,
                    max_bytes: int = DEFAULT_MAX_BYTES) -> Model:
    """The user's model (:class:`tfjs_interop.api.Model`) of what a reader returned (see
    :func:`tfjs_interop.binding.model_from_file`)."""
    return binding.model_from_file(model_file, default_dialect, engine, max_bytes, Model)


@api_boundary(ModelFormatError)
def from_keras(keras_model: object) -> Model:
    """The runtime model of a live Keras model (Keras 3, or tf_keras), to save for TF.js or run without it.

    The model is saved by Keras itself into a temporary folder (``.keras`` from Keras 3, ``.h5`` from tf_keras) and
    read back with :func:`load`, so what is taken is exactly what Keras would ship; nothing of Keras is imported
    here. Lambda layers and custom classes are refused as on loading.

    Raises:
        InputError: when ``keras_model`` is not a Keras model.
        UnsupportedLayerError: as :func:`load`.
    """
    save = getattr(keras_model, "save", None)
    module = type(keras_model).__module__
    if not callable(save) or not module.startswith(("keras", "tf_keras", "tensorflow")):
        raise InputError(f"from_keras takes a Keras model, got {type(keras_model).__name__} from {module!r}")
    suffix = ".h5" if module.startswith(("tf_keras", "tensorflow.python")) else ".keras"
    with tempfile.TemporaryDirectory(prefix="tfjs-interop-") as folder:
        path = Path(folder) / f"model{suffix}"
        save(str(path))
        model = load(path)
    model.source = f"{type(keras_model).__name__} {getattr(keras_model, 'name', '')!r} (live Keras model)"
    return model
