"""``load``: file -> formats -> topology -> runtime, and the binding of file weights to layer weights."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from .dialects import dialect_of
from .errors import InputError, LimitError, ModelFormatError, WeightsError, api_boundary, few
from .formats.common import DEFAULT_MAX_BYTES, ModelFile
from .formats.reader import read_model, read_weights_file
from .formats.remote import is_url, read_tfjs_url
from .formats.tfjs.naming import name_matches
from .golden_check import check_on_load
from .parsing import parse_topology
from .runtime.layers.base import Layer, Variable
from .runtime.model import Model, NestedModel, assign
from .topology import Dialect, Engine, Origin


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
    if check:
        check_on_load(model, path)
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
    """Build and fill a runtime model from what a reader returned, to give the numbers ``engine`` gives."""
    origin = Origin(dialect_of(model_file.keras_version, default_dialect), engine)
    topology = parse_topology(model_file.topology, origin, model_file.source, model_file.keras_version)
    model = Model(topology)
    check_output_sizes(model, max_bytes, model_file.source)
    bind_weights(model, model_file.weights, model_file.source)
    model.metadata = dict(model_file.metadata)
    model.source = model_file.source
    return model


def check_output_sizes(model: Model, max_bytes: int, source: str) -> None:
    """Refuse a layer whose output for one sample would take more than ``max_bytes`` (unknown sizes count 1)."""
    for layer in model.layers:
        if isinstance(layer, NestedModel):
            check_output_sizes(layer.model, max_bytes, source)
    for (name, _), shapes in model.call_output_shapes().items():
        for shape in shapes:
            nbytes = _sample_nbytes(shape)
            if nbytes > max_bytes:
                layer = model.get_layer(name)
                raise LimitError(f"{source}: layer {name!r} ({layer.class_name}) outputs shape {tuple(shape)}, "
                                 f"{nbytes} bytes per sample, over the limit of {max_bytes} bytes; pass a larger "
                                 "max_bytes (--max-bytes) to allow it")


def _sample_nbytes(shape: tuple) -> int:
    """float32 bytes of one sample of an output shape (unknown sizes count 1; nested shapes add up)."""
    if any(isinstance(d, (tuple, list)) for d in shape):
        return sum(_sample_nbytes(tuple(d)) for d in shape if isinstance(d, (tuple, list)))
    return 4 * math.prod(d for d in shape[1:] if isinstance(d, int))


def bind_weights(model: Model, weights: dict[str, np.ndarray], source: str) -> None:
    """Give every layer weight the file tensor that names it, and check nothing is missing or left over.

    Names are matched the way the official loaders do, tolerating each writer's form: a tensor belongs to a layer
    when its name starts with ``<layer name>/``; within the layer, it matches a weight by its last name token
    (``kernel``, ``recurrent_kernel``, ``bias``...; a ``:0`` suffix is dropped) and, inside Bidirectional, by its
    ``forward``/``backward`` scope; several tensors of one kind (stacked cells) are taken in file order. The layers
    of a nested model match with or without the nested model's name in front (TF.js writes it without).
    """
    used: set[str] = set()
    _bind_layers(model.layers, {name: name for name in weights}, weights, used, source)
    leftover = [name for name in weights if name not in used]
    if leftover:
        raise WeightsError(f"{source}: weight(s) {few(leftover)} match no weight of the model's layers "
                           f"{few(layer.name for layer in model.layers if layer.weights)}")


def _bind_layers(layers: list[Layer], names: dict[str, str], weights: dict[str, np.ndarray], used: set[str],
                 source: str) -> None:
    """Bind ``layers``; ``names`` maps the names as these layers see them to the file's names."""
    all_names = [layer.name for layer in layers]
    for layer in layers:
        nested = layer if isinstance(layer, NestedModel) else getattr(layer, "inner", None)
        if isinstance(nested, NestedModel):  # a nested model, or one a wrapper applies (TF.js adds no scope)
            prefixes = (f"{layer.name}/{nested.name}/", f"{layer.name}/")  # Keras 2 H5: <td>/<model>/<layer>/...
            inner = {_without_prefix(name, prefixes): original for name, original in names.items()}
            _bind_layers(nested.model.layers, inner, weights, used, source)
        elif layer.weights:
            # A layer named "a" does not claim the weights of a layer named "a/b" (TF.js allows "/" in names).
            deeper = [other + "/" for other in all_names if other.startswith(layer.name + "/")]
            candidates = {name: weights[original] for name, original in names.items()
                          if name.startswith(layer.name + "/") and not name.startswith(tuple(deeper))
                          and original not in used}
            for variable, name in zip(layer.weights, _match_layer(layer, candidates, source)):
                _check_kind(layer, variable, candidates[name], f"{source}: weight {names[name]!r}")
                assign(layer, variable, candidates[name], f"{source}: weight {names[name]!r}")
                used.add(names[name])


def _check_kind(layer: Layer, variable: Variable, value: np.ndarray, where: str) -> None:
    """A file's integer or bool tensor is not cast into a float weight: its bytes mean other numbers (TF.js
    refuses such a file too)."""
    if value.dtype.kind in "biu" and np.dtype(variable.dtype).kind == "f":
        raise WeightsError(f"{where} is stored as {value.dtype}, but layer {layer.name!r} ({layer.class_name}) "
                           f"weight {variable.path!r} is {variable.dtype}; the file's dtype for it is wrong")


def _without_prefix(name: str, prefixes: tuple[str, ...]) -> str:
    return next((name[len(p):] for p in prefixes if name.startswith(p)), name)


def _match_layer(layer: Layer, candidates: dict[str, np.ndarray], source: str) -> list[str]:
    picked: list[str] = []
    for variable in layer.weights:
        exact = f"{layer.name}/{variable.path}"
        exact = next((c for c in candidates if c.removesuffix(":0") == exact and c not in picked), None)
        name = exact or next((c for c in candidates if c not in picked and name_matches(variable.path, c)), None)
        if name is None:
            return _match_by_order(layer, candidates, variable, source)
        picked.append(name)
    return picked


def _match_by_order(layer: Layer, candidates: dict[str, np.ndarray], missing: Variable, source: str) -> list[str]:
    """Fall back to file order when names do not tell, provided the count and every shape agree."""
    shapes_agree = len(candidates) == len(layer.weights) and all(
        tuple(value.shape) == v.shape for value, v in zip(candidates.values(), layer.weights))
    if shapes_agree:
        return list(candidates)
    raise WeightsError(f"{source}: layer {layer.name!r} ({layer.class_name}) expects weight {missing.path!r} of "
                       f"shape {list(missing.shape)}; the file's weights for this layer are "
                       f"{few(f'{c} {list(v.shape)}' for c, v in candidates.items()) or 'none'}")


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
