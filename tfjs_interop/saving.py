"""Writing: runtime model -> the writer contract's parts -> a format's bytes -> a file or folder, written atomically.

The mirror of :mod:`tfjs_interop.loading`. ``save`` writes a model by its destination, ``save_tfjs`` a TF.js layers
folder and ``save_keras`` a Keras ``.keras`` / ``.h5`` file. Here the runtime model is turned into plain data
(:func:`model_parts`: topology, weights by canonical name, call shapes) for the writers in ``formats/``, which never
see a runtime class; the checks that must run the model before a file is written are :mod:`tfjs_interop.write_checks`.

The destination decides the format, the same way for ``Model.save`` and ``tfjs-interop convert``: a path ending
in ``.h5`` or ``.keras`` is a Keras file; an existing folder, a path ending in a separator, or a name without a
suffix is a TF.js layers model folder. Anything else (``out.onnx``, ``out.KERAS``) is refused rather than
silently made a folder of that name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from .errors import InputError, UnsupportedLayerError, WeightsError, api_boundary
from .facts import Catalog
from .formats.atomic import check_folder_target, write_file, write_folder
from .formats.contract import ModelParts, WeightValue
from .formats.golden_file import GOLDEN_FILE
from .formats.keras.files import KERAS_VERSION, check_hdf5_names, keras_zip_bytes, legacy_h5_bytes
from .formats.keras.writer import HardSigmoid, KerasExport, keras_export
from .formats.tfjs.reader import MODEL_JSON
from .formats.tfjs.writer import DEFAULT_SHARD_SIZE, TfjsArtifacts, encode_model
from .golden_model import write_golden
from .runtime.layers import catalog
from .runtime.layers.base import Layer
from .runtime.model import Model
from .runtime.nested import NestedModel
from .version import __version__
from .write_checks import check_keras3_masks, check_same_numbers, read_back

TFJS, KERAS = "tfjs_layers_model", "keras"


KERAS_SUFFIXES = (".h5", ".keras")


def keras_config(model: Model) -> dict:
    """The model as Keras 3 serializes it (``{"module", "class_name": "Functional", "config", ...}``): the config
    ``save_keras`` writes, which ``to_json`` gives and ``get_config`` takes the ``config`` of.

    Raises:
        UnsupportedLayerError: when Keras 3 cannot express a layer exactly.
    """
    return {**keras_export(model_parts(model)).config, "keras_version": KERAS_VERSION, "backend": "tensorflow"}


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
        return save_tfjs(model, path, overwrite=overwrite, **tfjs_options)  # type: ignore[arg-type]
    if tfjs_options:
        raise InputError(f"{', '.join(sorted(tfjs_options))} appl{'ies' if len(tfjs_options) == 1 else 'y'} to "
                         f"TF.js output only, not to the Keras file {os.fspath(path)}")
    Path(os.path.abspath(path)).parent.mkdir(parents=True, exist_ok=True)
    save_keras(model, path)
    return Path(path)


@api_boundary(UnsupportedLayerError)
def save_tfjs(model: Model, out_dir: str | os.PathLike, *, shard_size_bytes: int = DEFAULT_SHARD_SIZE,
              quantize: str | Mapping | None = None, metadata: dict | None = None,
              overwrite: bool = False, golden: object = None, split_weights_by_layer: bool = False) -> Path:
    """Write a model in the TF.js layers format (model.json + ``group1-shard{i}of{n}.bin``) for ``tf.loadLayersModel``.

    Args:
        model: a runtime model, from any source (TF.js, Keras).
        out_dir: the folder to write; created, or replaced when ``overwrite`` is true.
        shard_size_bytes: the largest weight file; a tensor may straddle two.
        quantize: ``"float16"``, ``"uint8"`` or ``"uint16"`` for every float32 weight, or a dict from those to
            fnmatch patterns over weight names (``{"uint8": ["dense*"], "float16": "lstm*"}``), as the converter.
        metadata: a JSON object stored as ``userDefinedMetadata`` (default: the source file's, if any).
        overwrite: replace a non-empty ``out_dir``.
        split_weights_by_layer: one weight group (``group<k>-shard*.bin``) per layer instead of one for all.
        golden: inputs (an array, a list or a dict by input name) to record the model's outputs on, as
            ``golden.npz`` beside the written files (see :mod:`tfjs_interop.golden`); ``load(out_dir, check=True)``
            then re-checks them. The outputs are the source model's, so the check also checks the writing.

    Returns:
        The folder written.

    Raises:
        UnsupportedLayerError: when TF.js 4.22 cannot load the model or would compute other numbers; nothing is
            written then.
        InputError: for a non-empty ``out_dir`` without ``overwrite``, or bad arguments.
        WeightsError: for weights that cannot be stored or quantized.
    """
    target = check_folder_target(out_dir, overwrite)  # before the work of encoding; checked again when written
    artifacts = tfjs_artifacts(model, shard_size_bytes=shard_size_bytes, quantize=quantize, metadata=metadata,
                               split_weights_by_layer=split_weights_by_layer)
    finish = None
    if golden is not None:
        def finish(folder: Path) -> None:  # the source's outputs, under the names the written model has
            write_golden(model, golden, folder / GOLDEN_FILE, folder, names_from=read_back(artifacts))

    return write_folder(target, {MODEL_JSON: artifacts.model_json_bytes(), **artifacts.shards},
                        overwrite=overwrite, finish=finish)


def tfjs_artifacts(model: Model, *, shard_size_bytes: int = DEFAULT_SHARD_SIZE, quantize: str | Mapping | None = None,
                   metadata: dict | None = None, split_weights_by_layer: bool = False) -> TfjsArtifacts:
    """Encode and check a model in memory (see :func:`save_tfjs`); nothing is written."""
    if metadata is None:
        metadata = model.metadata.get("userDefinedMetadata")
    options = {"generated_by": _generated_by(model), "converted_by": f"tfjs-interop {__version__}",
               "shard_size_bytes": shard_size_bytes, "metadata": metadata}
    parts = model_parts(model)
    plain = encode_model(parts, **options)
    check_same_numbers(model, plain)
    if quantize is None and not split_weights_by_layer:
        return plain
    return encode_model(parts, quantize=quantize, split_weights_by_layer=split_weights_by_layer, **options)


def _generated_by(model: Model) -> str:
    generated = model.metadata.get("generatedBy")
    if isinstance(generated, str) and generated:
        return generated
    version = model.topology.keras_version
    if version and not version.startswith("tfjs"):
        return f"keras v{version}"
    return f"tfjs-interop {__version__}"


@api_boundary(UnsupportedLayerError)
def save_keras(model: Model, path: str | os.PathLike, *, overwrite: bool = True) -> None:
    """Write ``model`` as a Keras 3 file: ``.keras`` (zip of config.json, metadata.json, model.weights.h5) or a
    legacy ``.h5`` (``model_config`` attribute and ``model_weights`` groups), both loaded by
    ``keras.models.load_model``.

    A TF.js / Keras 2 ``hard_sigmoid`` is kept exactly by scaling the weights that feed it by 1.2 for Keras 3's
    ``hard_sigmoid`` (see :mod:`tfjs_interop.formats.keras.hard_sigmoid`).

    Args:
        model: a runtime model (from TF.js or a Keras file).
        path: the file to write; its suffix (``.keras`` or ``.h5``) decides the format.
        overwrite: replace an existing file (the default, as Keras's ``save``); False refuses it.

    Raises:
        InputError: when the suffix is neither ``.keras`` nor ``.h5``, or the file exists and not ``overwrite``.
        UnsupportedLayerError: when Keras 3 cannot express a layer exactly, or would combine a Keras 2 model's
            masks otherwise with other outputs (nothing is written).
    """
    path = Path(path)
    writers: dict[str, Callable[[KerasExport], bytes]] = {".keras": keras_zip_bytes, ".h5": legacy_h5_bytes}
    if path.suffix not in writers:
        raise InputError(f"{path}: a Keras file must end in .keras or .h5, found {path.suffix or 'no suffix'!r}")
    if not overwrite and os.path.lexists(path):
        raise InputError(f"{path} exists; pass overwrite=True to replace it")
    export = keras_export(model_parts(model), HardSigmoid.RESCALE)
    check_keras3_masks(model)
    check_hdf5_names(export, path)
    write_file(path, writers[path.suffix](export))


def model_parts(model: Model) -> ModelParts:
    """The writer contract's parts of a runtime model: its topology, each layer's weights by canonical path and
    the output shapes of its calls, a nested model's (or wrapped model's) parts under the layer's name.

    Raises:
        WeightsError: for a weight without a value.
    """
    return _parts(model, model.topology.name, catalog())


def _parts(model: Model, name: str, facts: Catalog) -> ModelParts:
    weights: dict[str, list[WeightValue]] = {}
    nested: dict[str, ModelParts] = {}
    for layer in model.layers:
        inner = _nested_model(layer)
        if inner is not None:  # a nested model, or one a wrapper (TimeDistributed) applies
            nested[layer.name] = _parts(inner.model, inner.name, facts)
        elif layer.weights:
            for variable in layer.weights:
                if variable.value is None:
                    raise WeightsError(f"layer {layer.name!r} weight {variable.path!r} has no value")
            weights[layer.name] = [WeightValue(v.path, v.value, v.trainable) for v in layer.weights]
    return ModelParts(model.topology, weights, model.call_output_shapes(), facts, nested, name)


def _nested_model(layer: Layer) -> NestedModel | None:
    nested = layer if isinstance(layer, NestedModel) else getattr(layer, "inner", None)
    return nested if isinstance(nested, NestedModel) else None
