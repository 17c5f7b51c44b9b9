"""Golden outputs: record what a model computes on fixed inputs, and check later that it still does.

A golden file is one ``.npz`` holding the inputs (``inputs/<input name>``), the outputs (``outputs/<output name>``)
and a JSON document (``golden.json``, a one-element string array) with the tolerances, the SHA-256 of every model
file and the producer. It holds no pickled objects: it reads with ``allow_pickle=False``, and needs no TensorFlow.

The check passes when every output is within ``atol + rtol * |recorded|``. Changed, added or removed model files are
reported in ``Report.notes`` but do not fail the check on their own: a model re-saved with other shard sizes or
JSON formatting computes the same numbers, and the outputs are what a golden record promises.

The record's file format is :mod:`tfjs_interop.formats.golden_file`; the check a loaded model goes through is
:mod:`tfjs_interop.golden_model` (recording a loaded model and checking it, as ``load(check=True)`` does);
this module is the API over paths.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import InputError, ModelFormatError, api_boundary
from .formats.golden_file import (
    GOLDEN_FILE,
    Golden,
    read_golden,
    read_input_file,
)
from .formats.remote import is_url
from .golden_model import (
    check_on_load,
    compare_golden,
    default_golden_path,
    file_hashes,
    named_inputs,
    output_names,
    sha256_of,
    write_golden,
)
from .loading import load
from .report import Report


@api_boundary(ModelFormatError)
def record(model_path: str | os.PathLike, inputs: Any, golden_path: str | os.PathLike | None = None, *,
           atol: float = 1e-5, rtol: float = 1e-4) -> Path:
    """Run a model on ``inputs`` and store inputs, outputs, tolerances and file hashes in a golden file.

    Args:
        model_path: a model as :func:`tfjs_interop.load` takes it.
        inputs: an array (one input), a list of arrays in input order, a dict by input name, or the path of a
            ``.npy`` (one input) or ``.npz`` (arrays named after the inputs, or in input order).
        golden_path: the ``.npz`` to write (replaced atomically); default :func:`default_golden_path`, beside the
            model, where ``golden check`` and ``load(check=True)`` look (a URL model needs one).
        atol, rtol: the tolerances :func:`check` will use.

    Returns:
        The path written.

    Raises:
        InputError: when the inputs or tolerances do not fit.
        ModelFormatError, WeightsError, UnsupportedLayerError: when the model cannot be loaded.
    """
    golden_path = _golden_path(model_path, golden_path)  # before loading: a URL model without one fails fast
    return write_golden(load(model_path), inputs, golden_path, model_path, atol=atol, rtol=rtol)


@api_boundary(ModelFormatError)
def check(model_path: str | os.PathLike, golden_path: str | os.PathLike | None = None) -> Report:
    """Check that a model still computes the outputs of a golden file (default: :func:`default_golden_path`).

    Returns:
        A :class:`~tfjs_interop.report.Report` against the golden file's name; ``notes`` say which model files
        changed, appeared or disappeared since the record, and which versions recorded it if they differ.

    Raises:
        ModelFormatError: when the golden file is missing or malformed, or the model cannot be read.
        InputError: when the recorded inputs or outputs do not fit the model.
    """
    golden_path = _golden_path(model_path, golden_path)
    golden = read_golden(golden_path)
    return compare_golden(load(model_path), golden, Path(golden_path).name, model_path)


def _golden_path(model_path: str | os.PathLike, golden_path: str | os.PathLike | None) -> str | os.PathLike:
    """The golden file's path: the one given, else beside the model (as the command line's default)."""
    if golden_path is not None:
        return golden_path
    if is_url(os.fspath(model_path)):
        raise InputError(f"{model_path}: a model loaded from a URL needs a golden_path to record to or check")
    return default_golden_path(model_path)


__all__ = ["GOLDEN_FILE", "Golden", "check", "check_on_load", "compare_golden", "default_golden_path", "file_hashes",
           "named_inputs", "output_names", "read_golden", "read_input_file", "record", "sha256_of", "write_golden"]
