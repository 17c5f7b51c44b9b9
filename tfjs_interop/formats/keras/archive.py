"""The Keras 3 ``.keras`` archive: a zip of ``config.json``, ``metadata.json`` and ``model.weights.h5``.

The archive is read in memory: only those three members are looked up, by name; no member name ever becomes a
file-system path and nothing is extracted. Sizes are checked against the zip directory and again while reading,
so a zip bomb is refused before it is inflated.
"""

from __future__ import annotations

import io
import os
import zipfile

from ...errors import ModelFormatError
from ..common import DEFAULT_MAX_BYTES, ModelFile, parse_json
from .h5 import read_h5_weights

ZIP_SIGNATURE = b"PK\x03\x04"
MAX_MEMBER_BYTES = {"config.json": 64 * 1024**2, "metadata.json": 1024**2, "model.weights.h5": 8 * 1024**3}


def is_zip(head: bytes) -> bool:
    """Whether a file's first bytes open a zip archive."""
    return head.startswith(ZIP_SIGNATURE)


def read_keras_zip(file: str | os.PathLike | bytes, source: str, max_bytes: int = DEFAULT_MAX_BYTES) -> ModelFile:
    """Read a ``.keras`` archive (a path or its bytes).

    Raises:
        ModelFormatError: when the archive or a member is missing, malformed or over its size limit.
        WeightsError: when a weight tensor cannot be read.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(file) if isinstance(file, bytes) else file) as archive:
            config = parse_json(_member(archive, "config.json", source, max_bytes), f"{source}!config.json")
            metadata = parse_json(_member(archive, "metadata.json", source, max_bytes), f"{source}!metadata.json")
            weights_h5 = _member(archive, "model.weights.h5", source, max_bytes)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError) as exc:
        raise ModelFormatError(f"{source}: not a readable .keras archive ({exc})") from None
    if not isinstance(config, dict) or not isinstance(metadata, dict):
        raise ModelFormatError(f"{source}: config.json and metadata.json must each hold a JSON object")
    keras_version = metadata.get("keras_version")
    if keras_version is not None and not isinstance(keras_version, str):
        raise ModelFormatError(f"{source}: metadata.json keras_version should be a string, found {keras_version!r}")
    weights = read_h5_weights(weights_h5, config, f"{source}!model.weights.h5", max_bytes)
    return ModelFile(config, keras_version or "3", weights, source, {"metadata": metadata})


def _member(archive: zipfile.ZipFile, name: str, source: str, max_bytes: int) -> bytes:
    """One member's bytes, refusing sizes over the limit whatever the zip directory claims."""
    limit = min(MAX_MEMBER_BYTES[name], max_bytes)
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ModelFormatError(f"{source}: the archive has no {name!r} (members: {archive.namelist()[:10]})") from None
    if info.file_size > limit:
        raise ModelFormatError(f"{source}: {name} declares {info.file_size} bytes, over the limit of {limit}")
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise ModelFormatError(f"{source}: {name} inflates past the limit of {limit} bytes")
    return data
