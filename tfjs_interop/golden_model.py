"""A loaded model and its golden record: recording its outputs, checking it against a record, and what a record
says about the model's files and producer.

Here, not in :mod:`tfjs_interop.golden`, so that ``load(check=True)`` and the writers (``save_tfjs(golden=...)``)
use it without importing the loader: this module takes a loaded model, never a path to load.
"""

from __future__ import annotations

import copy
import hashlib
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import GoldenMismatchError, InputError, ModelFormatError, NetworkError, api_boundary
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
from .formats.remote import is_url, read_beside_url, url_model_files, weight_url
from .report import Report
from .version import __version__

if TYPE_CHECKING:
    from .runtime.model import Model


def compare_golden(model: Model, golden: Golden, against: str, model_path: str | os.PathLike) -> Report:
    """Run ``model`` (from fresh states) on the recorded inputs and compare with the recorded outputs."""
    try:
        ours = run_fresh(model, golden.inputs)
    except InputError as exc:
        raise InputError(f"{against}: the recorded inputs do not fit the model: {exc}") from None
    names = output_names(model)
    if len(names) != len(golden.outputs):
        raise InputError(f"{against}: records {len(golden.outputs)} output(s) {list(golden.outputs)}, the model "
                         f"has {len(names)} {names}")
    report = Report.compare(ours, list(golden.outputs.values()), names, atol=golden.atol, rtol=golden.rtol,
                            against=against)
    if names != list(golden.outputs):
        report.notes.append(f"output names differ from the record {list(golden.outputs)}; compared in order")
    report.notes.extend(file_notes(golden.files, model_hashes(model_path, model), report.passed))
    report.notes.extend(producer_notes(golden.producer))
    return report


def check_on_load(model: Model, model_path: str | os.PathLike, **fetch_options: Any) -> None:
    """Check ``model`` against the golden file beside it (for ``load(path, check=True)``; a URL model's is fetched
    with the load's ``fetch_options``: headers, timeout, deadline, max_bytes).

    Raises:
        ModelFormatError: when there is no golden file beside the model, or it is malformed.
        GoldenMismatchError: when an output differs from the record beyond its tolerance.
    """
    if is_url(model_path):
        golden_path, golden = weight_url(str(model_path), GOLDEN_FILE), _fetch_golden(str(model_path), fetch_options)
    else:
        golden_path = default_golden_path(model_path)
        if not golden_path.is_file():
            raise ModelFormatError(f"{str(golden_path)!r}: {NO_GOLDEN}")
        golden = read_golden(golden_path)
    report = compare_golden(model, golden, GOLDEN_FILE if is_url(model_path) else golden_path.name, model_path)
    if not report.passed:
        raise GoldenMismatchError(f"{model.source or model_path}: outputs differ from the golden record "
                                  f"{str(golden_path)!r}:\n{report.table()}", report)


NO_GOLDEN = ("no golden file beside the model to check it against (record one with tfjs_interop.golden.record "
             "or `tfjs-interop golden record`)")


def _fetch_golden(model_url: str, fetch_options: dict) -> Golden:
    """The golden record beside a model.json URL, fetched like a shard; a 404 means there is none."""
    url = weight_url(model_url, GOLDEN_FILE)
    try:
        data = read_beside_url(model_url, GOLDEN_FILE, **fetch_options)
    except NetworkError as exc:
        if getattr(exc, "status", None) == 404:
            raise ModelFormatError(f"{url}: {NO_GOLDEN}") from None
        raise
    return read_golden(url, data)


def model_hashes(model_path: str | os.PathLike, model: Model | None = None) -> dict[str, str]:
    """SHA-256 of each of a model's files by name (see :func:`file_hashes`); a URL model's as its load read them
    (``model.file_hashes``: from its cache too, with its headers), else fetched again."""
    if is_url(model_path):
        if model is not None and model.file_hashes is not None:
            return dict(model.file_hashes)
        return {name: hashlib.sha256(data).hexdigest() for name, data in url_model_files(str(model_path)).items()}
    files = model_files(model_path)
    hashes = file_hashes(files)
    if model is not None and model.weights_file is not None:  # the weights file the load was given (--weights)
        name = Path(os.path.relpath(model.weights_file, files[0].parent.resolve())).as_posix()
        hashes[name] = sha256_of(Path(model.weights_file))
    return hashes


def default_golden_path(model_path: str | os.PathLike) -> Path:
    """Where a model's golden file lives: ``golden.npz`` in a TF.js model's folder, ``<stem>.golden.npz`` beside
    a single-file model."""
    path = Path(model_path)
    if path.is_dir():
        return path / GOLDEN_FILE
    if path.suffix == ".json":
        return path.parent / GOLDEN_FILE
    return path.with_name(f"{path.stem}.{GOLDEN_FILE}")



def run_fresh(model: Model, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The model's outputs on ``feeds`` from fresh states, leaving ``model`` (and any state it holds) untouched."""
    fresh = copy.deepcopy(model)
    fresh.reset_states()
    outputs = fresh.predict(dict(feeds))
    return outputs if isinstance(outputs, list) else [outputs]


def output_names(model: Model) -> list[str]:
    """One distinct name per output: the layer's name, ``layer:tensor`` when a layer gives several outputs."""
    refs = model.topology.outputs
    layers = [ref.layer for ref in refs]
    names = [ref.layer if layers.count(ref.layer) == 1 else f"{ref.layer}:{ref.tensor_index}" for ref in refs]
    return [name if names.count(name) == 1 else f"{name}#{i}" for i, name in enumerate(names)]



# -- hashes and notes ------------------------------------------------------------------------------------------
def file_hashes(files: list[Path]) -> dict[str, str]:
    """SHA-256 of each of a model's files (main file first), by path relative to its folder (``/``-separated)."""
    root = files[0].parent.resolve()  # as the reader resolves shard paths; the main file may be a symlink
    names = [files[0].name] + [file.resolve().relative_to(root).as_posix() for file in files[1:]]
    return {name: sha256_of(file) for name, file in zip(names, files)}


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_notes(recorded: dict[str, str], current: dict[str, str], passed: bool) -> list[str]:
    """Say which model files changed, appeared or disappeared since the record."""
    changed = [name for name in current if name in recorded and recorded[name] != current[name]]
    notes = [f"model file {name!r} changed since the record (sha256 {recorded[name][:12]}... recorded, "
             f"{current[name][:12]}... now)" for name in changed]
    notes += [f"model file {name!r} is not in the record" for name in current if name not in recorded]
    notes += [f"model file {name!r} of the record is no longer part of the model"
              for name in recorded if name not in current]
    if notes and passed:
        notes.append("the outputs still match within tolerance, so the check passes (file hashes alone do not fail it)")
    return notes


def producer() -> dict[str, str]:
    """The versions that make a record: tfjs-interop, NumPy, Python."""
    return {"tfjs_interop": __version__, "numpy": np.__version__, "python": platform.python_version()}


def producer_notes(recorded: dict[str, str]) -> list[str]:
    """Name the recording versions when they differ from the running ones."""
    now = producer()
    changed = [f"{key} {recorded.get(key)} (now {now[key]})" for key in ("tfjs_interop", "numpy")
               if recorded.get(key) != now[key]]
    return [f"recorded with {', '.join(changed)}"] if changed else []


# -- recording ------------------------------------------------------------------------------------------------
@api_boundary(ModelFormatError)
def write_golden(model: Model, inputs: Any, golden_path: str | os.PathLike, model_path: str | os.PathLike, *,
                 atol: float = 1e-5, rtol: float = 1e-4, names_from: Model | None = None) -> Path:
    """Record ``model``'s outputs on ``inputs`` beside files just written for it (for writers).

    The outputs come from ``model`` as it is in memory, from fresh states (the model itself is not touched), so a
    later :func:`tfjs_interop.golden.check` of the written files also checks the writer.

    Args:
        model: the runtime model whose outputs to record.
        inputs: as for :func:`tfjs_interop.golden.record`.
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
    golden = Golden(feeds, outputs, float(atol), float(rtol), model_hashes(model_path, model), producer())
    return save_golden(golden, golden_path)


def named_inputs(model: Model, inputs: Any) -> dict[str, np.ndarray]:
    """Inputs given as for :func:`tfjs_interop.golden.record`, as numeric arrays by input name."""
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
