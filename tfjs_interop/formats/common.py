"""What every reader returns: a model's topology as written, its origin and its named weights."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ModelFormatError, SecurityError

MAX_JSON_BYTES = 256 * 1024 * 1024


@dataclass
class ModelFile:
    """A model as a reader found it, before any normalisation.

    Attributes:
        topology: ``{"class_name": ..., "config": ...}`` of the model, in the writer's dialect.
        keras_version: the writer's version string (``"tfjs-layers 4.22.0"``, ``"2.15.0"``, ``"3.6.0"``) or None.
        weights: tensors by the names the file gives them, in file order.
        source: the file the model came from, for messages.
        metadata: other top-level fields worth keeping (``format``, ``generatedBy``, ``userDefinedMetadata``...).
        kind: which reader made it: ``"tfjs"`` (model.json), ``"keras_h5"``, ``"keras_zip"`` or ``"keras_json"``
            (the topology alone, as ``model.to_json()`` writes it).
    """

    topology: dict
    keras_version: str | None
    weights: dict[str, np.ndarray]
    source: str
    metadata: dict = field(default_factory=dict)
    kind: str = "tfjs"


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(text: bytes | str, source: str) -> object:
    """Parse strict JSON (no NaN or Infinity, as in a browser), with errors naming the file."""
    if len(text) > MAX_JSON_BYTES:
        raise ModelFormatError(f"{source}: {len(text)} bytes of JSON is over the limit of {MAX_JSON_BYTES}")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ModelFormatError(f"{source}: the JSON is nested too deeply to be a model") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{source}: invalid JSON: {exc}") from None


def resolve_inside(folder: Path, relative: str, source: str) -> Path:
    """Resolve a path a model file names, refusing anything that leaves the model's folder."""
    if "\0" in relative:
        raise SecurityError(f"{source}: weight path {relative!r} contains a NUL byte")
    if "://" in relative or relative.startswith(("/", "\\")) or Path(relative).is_absolute():
        raise SecurityError(f"{source}: weight path {relative!r} must be relative to the model's folder")
    root = folder.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise SecurityError(f"{source}: weight path {relative!r} leaves the model's folder {str(root)!r}")
    return target
