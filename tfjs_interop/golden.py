"""Golden outputs: record what a model computes on fixed inputs, and check later that it still does.

A golden file is one ``.npz`` holding the inputs (``inputs/<input name>``), the outputs (``outputs/<output name>``)
and a JSON document (``golden.json``, a one-element string array) with the tolerances, the SHA-256 of every model
file and the producer. It holds no pickled objects: it reads with ``allow_pickle=False``, and needs no TensorFlow.

The check passes when every output is within ``atol + rtol * |recorded|``. Changed, added or removed model files are
reported in ``Report.notes`` but do not fail the check on their own: a model re-saved with other shard sizes or
JSON formatting computes the same numbers, and the outputs are what a golden record promises.

The record's file format is :mod:`tfjs_interop.formats.golden_file`; the check a loaded model goes through is
:mod:`tfjs_interop.golden_check` (which ``load(check=True)`` uses); this module is the API over paths.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError, ModelFormatError, api_boundary
from .formats.files import model_files
from .formats.golden_file import (
    GOLDEN_FILE,
    NUMERIC_KINDS,
    Golden,
    check_tolerances,
    read_golden,
    read_input_file,
    save_golden,
)
from .formats.remote import is_url
from .golden_check import (
    check_on_load,
    compare_golden,
    default_golden_path,
    file_hashes,
    model_hashes,
    output_names,
    producer,
    run_fresh,
    sha256_of,
)
from .loading import load
from .report import Report
from .runtime.model import Model


@api_boundary(ModelFormatError)
def record(model_path: str | os.PathLike, inputs: Any, golden_path: str | os.PathLike = GOLDEN_FILE, *,
           atol: float = 1e-5, rtol: float = 1e-4) -> Path:
    """Run a model on ``inputs`` and store inputs, outputs, tolerances and file hashes in a golden file.

    Args:
        model_path: a model as :func:`tfjs_interop.load` takes it.
        inputs: an array (one input), a list of arrays in input order, a dict by input name, or the path of a
            ``.npy`` (one input) or ``.npz`` (arrays named after the inputs, or in input order).
        golden_path: the ``.npz`` to write (replaced atomically).
        atol, rtol: the tolerances :func:`check` will use.

    Returns:
        The path written.

    Raises:
        InputError: when the inputs or tolerances do not fit.
        ModelFormatError, WeightsError, UnsupportedLayerError: when the model cannot be loaded.
    """
    return write_golden(load(model_path), inputs, golden_path, model_path, atol=atol, rtol=rtol)


@api_boundary(ModelFormatError)
def write_golden(model: Model, inputs: Any, golden_path: str | os.PathLike, model_path: str | os.PathLike, *,
                 atol: float = 1e-5, rtol: float = 1e-4, names_from: Model | None = None) -> Path:
    """Record ``model``'s outputs on ``inputs`` beside files just written for it (for writers).

    The outputs come from ``model`` as it is in memory, from fresh states (the model itself is not touched), so a
    later :func:`check` of the written files also checks the writer.

    Args:
        model: the runtime model whose outputs to record.
        inputs: as for :func:`record`.
        golden_path: the ``.npz`` to write, e.g. ``default_golden_path(model_path)``.
        model_path: the model's files on disk (a model.json or its folder, or a single model file), to hash.
        names_from: the model the files hold, when a writer renamed inputs or outputs (``save_tfjs`` makes names
            TF.js accepts): the record takes its names, in order.

    Returns:
        The path written.

    Raises:
        InputError: when the inputs or tolerances do not fit, or ``golden_path`` is one of the model's files.
        ModelFormatError: when ``model_path`` names no model files.
    """
    check_tolerances(atol, rtol)
    if not is_url(model_path):
        files = model_files(model_path)
        if Path(golden_path).resolve() in [file.resolve() for file in files]:
            raise InputError(f"{golden_path}: is one of the model's files; write the golden record elsewhere")
    feeds = named_inputs(model, inputs)
    outputs = dict(zip(output_names(names_from or model), run_fresh(model, feeds)))
    if names_from is not None:
        feeds = dict(zip([spec.name for spec in names_from.inputs], feeds.values()))
    golden = Golden(feeds, outputs, float(atol), float(rtol), model_hashes(model_path), producer())
    return save_golden(golden, golden_path)


@api_boundary(ModelFormatError)
def check(model_path: str | os.PathLike, golden_path: str | os.PathLike) -> Report:
    """Check that a model still computes the outputs of a golden file.

    Returns:
        A :class:`~tfjs_interop.report.Report` against the golden file's name; ``notes`` say which model files
        changed, appeared or disappeared since the record, and which versions recorded it if they differ.

    Raises:
        ModelFormatError: when the golden file is missing or malformed, or the model cannot be read.
        InputError: when the recorded inputs or outputs do not fit the model.
    """
    golden = read_golden(golden_path)
    return compare_golden(load(model_path), golden, Path(golden_path).name, model_path)


def named_inputs(model: Model, inputs: Any) -> dict[str, np.ndarray]:
    """Inputs given as for :func:`record`, as numeric arrays by input name."""
    names = [spec.name for spec in model.inputs]
    if isinstance(inputs, (str, os.PathLike)):
        inputs = read_input_file(Path(inputs), names)
    if isinstance(inputs, Mapping):
        if set(inputs) != set(names):
            raise InputError(f"inputs given by name must be exactly the model's inputs {names}, got {list(inputs)}")
        inputs = [inputs[name] for name in names]
    elif not isinstance(inputs, (list, tuple)):
        inputs = [inputs]
    if len(inputs) != len(names):
        raise InputError(f"the model takes {len(names)} input(s) {names}, received {len(inputs)}")
    return {name: _numeric_array(value, f"input {name!r}") for name, value in zip(names, inputs)}


def _numeric_array(value: Any, what: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{what}: cannot make an array of it: {exc}") from None
    if array.dtype.kind not in NUMERIC_KINDS:
        raise InputError(f"{what}: expected numbers, found an array of {array.dtype}")
    return array


__all__ = ["GOLDEN_FILE", "Golden", "check", "check_on_load", "compare_golden", "default_golden_path", "file_hashes",
           "output_names", "read_golden", "read_input_file", "record", "sha256_of", "write_golden"]
