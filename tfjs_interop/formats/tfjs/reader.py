"""The TF.js layers format: ``model.json`` (topology + weightsManifest) beside binary weight shards."""

from __future__ import annotations

import os
from pathlib import Path

from ...errors import LimitError, ModelFormatError, WeightsError
from ..common import (
    DEFAULT_MAX_BYTES,
    MAX_JSON_BYTES,
    ByteBudget,
    ModelFile,
    parse_json,
    read_regular_file,
    resolve_inside,
)
from .manifest import declared_nbytes, parse_manifest, read_weights

MODEL_JSON = "model.json"
METADATA_KEYS = ("format", "generatedBy", "convertedBy", "userDefinedMetadata", "signature", "trainingConfig")


def find_model_json(path: str | os.PathLike) -> Path:
    """The ``model.json`` that ``path`` names: the file itself, or ``model.json`` inside a folder."""
    path = Path(path)
    if path.is_dir():
        path = path / MODEL_JSON
    if not path.is_file():
        raise ModelFormatError(f"{str(path)!r}: no such model file (expected a model.json or a folder holding one)")
    return path


def read_tfjs(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES) -> ModelFile:
    """Read a TF.js layers model from a ``model.json`` path or the folder holding it.

    Args:
        path: the model.json, or its folder.
        max_bytes: the most bytes to read in all (model.json and shards).

    Raises:
        ModelFormatError: when model.json is not a valid layers model.
        WeightsError: when a shard is missing or its bytes disagree with the manifest.
        SecurityError: when the manifest names a file outside the model's folder.
        LimitError: when the files, or the weights the manifest declares, exceed ``max_bytes``.
    """
    json_path = find_model_json(path)
    budget = ByteBudget(max_bytes, str(json_path))
    return read_tfjs_document(json_path, read_json_file(json_path, budget), budget, max_bytes)


def read_json_file(json_path: Path, budget: ByteBudget) -> object:
    """A JSON file parsed strictly, its size counted against ``budget`` and checked before it is read."""
    return parse_json(read_regular_file(json_path, budget, "model.json", ModelFormatError, MAX_JSON_BYTES),
                      str(json_path))


def read_tfjs_document(json_path: Path, document: object, budget: ByteBudget,
                       max_bytes: int = DEFAULT_MAX_BYTES) -> ModelFile:
    """A parsed ``model.json`` with its shards read from beside it, within ``budget``."""
    source = str(json_path)
    folder = json_path.parent

    def fetch(relative: str) -> bytes:
        target = resolve_inside(folder, relative, source)
        return read_regular_file(target, budget, f"weight file {relative!r}", WeightsError)

    return decode_model_json(document, source, fetch, max_bytes)


def tfjs_model_files(path: str | os.PathLike) -> list[Path]:
    """The files of a TF.js model: its ``model.json``, then every shard its manifest lists, in manifest order.

    Raises:
        ModelFormatError: when model.json or its manifest is malformed.
        SecurityError: when the manifest names a file outside the model's folder.
    """
    json_path = find_model_json(path)
    source = str(json_path)
    document = parse_json(json_path.read_bytes(), source)
    if not isinstance(document, dict) or "weightsManifest" not in document:
        raise ModelFormatError(f"{source}: expected a JSON object with a 'weightsManifest'")
    shards = dict.fromkeys(p for group in parse_manifest(document["weightsManifest"], source) for p in group.paths)
    return [json_path] + [resolve_inside(json_path.parent, relative, source) for relative in shards]


def decode_model_json(document: object, source: str, fetch, max_bytes: int = DEFAULT_MAX_BYTES) -> ModelFile:
    """Turn a parsed model.json into a :class:`ModelFile`, fetching shards through ``fetch(relative_path)``.

    The weights the manifest declares must fit in ``max_bytes`` before any shard is fetched.
    """
    if not isinstance(document, dict):
        raise ModelFormatError(f"{source}: expected a JSON object with 'modelTopology', "
                               f"found {type(document).__name__}")
    for key in ("modelTopology", "weightsManifest"):
        if key not in document:
            raise ModelFormatError(f"{source}: missing required key {key!r} of a TF.js layers model "
                                   f"(found keys {sorted(document)[:10]})")
    fmt = document.get("format")
    if fmt not in (None, "layers-model"):
        raise ModelFormatError(f"{source}: format {fmt!r} is not a layers model; graph models cannot be read")
    topology, keras_version = unwrap_topology(document["modelTopology"], source)
    groups = parse_manifest(document["weightsManifest"], source)
    declared = declared_nbytes(groups)
    if declared > max_bytes:
        raise LimitError(f"{source}: the weightsManifest declares at least {declared} bytes of weights, over the "
                         f"limit of {max_bytes} bytes; pass a larger max_bytes (--max-bytes) to allow it")
    weights = read_weights(groups, fetch)
    metadata = {key: document[key] for key in METADATA_KEYS if key in document}
    return ModelFile(topology, keras_version, weights, source, metadata)


def unwrap_topology(topology: object, source: str) -> tuple[dict, str | None]:
    """Accept TF.js's bare topology and the converter's ``model_config`` wrapper; return (model, keras_version)."""
    if not isinstance(topology, dict):
        raise ModelFormatError(f"{source}: modelTopology must be an object, found {type(topology).__name__}")
    keras_version = topology.get("keras_version")
    model = topology.get("model_config", topology)
    if not isinstance(model, dict) or not isinstance(model.get("class_name"), str):
        raise ModelFormatError(f"{source}: modelTopology needs a model with a 'class_name' and a 'config'")
    if keras_version is not None and not isinstance(keras_version, str):
        raise ModelFormatError(f"{source}: keras_version must be a string, found {keras_version!r:.80}")
    return {"class_name": model["class_name"], "config": model.get("config")}, keras_version
