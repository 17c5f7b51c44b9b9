"""Golden outputs: record what a model computes on fixed inputs, and check later that it still does.

A golden file is one ``.npz`` holding the inputs (``inputs/<input name>``), the outputs (``outputs/<output name>``)
and a JSON document (``golden.json``, a one-element string array) with the tolerances, the SHA-256 of every model
file and the producer. It holds no pickled objects: it reads with ``allow_pickle=False``, and needs no TensorFlow.

The check passes when every output is within ``atol + rtol * |recorded|``. Changed, added or removed model files are
reported in ``Report.notes`` but do not fail the check on their own: a model re-saved with other shard sizes or
JSON formatting computes the same numbers, and the outputs are what a golden record promises.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import math
import os
import platform
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import GoldenMismatchError, InputError, ModelFormatError, NetworkError, TfjsInteropError, api_boundary, few
from .formats.atomic import write_file
from .formats.common import DEFAULT_MAX_BYTES
from .formats.files import model_files
from .formats.remote import is_url, read_beside_url, url_model_files, weight_url
from .loading import load
from .report import Report
from .runtime.model import Model

GOLDEN_FILE = "golden.npz"
FORMAT = "tfjs-interop-golden"
FORMAT_VERSION = 1
META_KEY = "golden.json"
INPUTS, OUTPUTS = "inputs/", "outputs/"
NUMERIC_KINDS = "biuf"
ZIP_MAGIC = b"PK"
MAX_GOLDEN_BYTES = 64 * 1024 * 1024  # inflated arrays of one record: test vectors are a few samples


@dataclass(frozen=True)
class Golden:
    """The content of a golden file.

    Attributes:
        inputs: arrays by input name, in the model's input order.
        outputs: arrays by output name (see :func:`output_names`), in the model's output order.
        atol, rtol: the tolerances of the check.
        files: SHA-256 (hex) of each model file, by its path relative to the model's folder.
        producer: versions of what recorded it (``tfjs_interop``, ``numpy``, ``python``).
    """

    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    atol: float
    rtol: float
    files: dict[str, str]
    producer: dict[str, str]


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
    _check_tolerances(atol, rtol)
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
    report.notes.extend(file_notes(golden.files, model_hashes(model_path), report.passed))
    report.notes.extend(producer_notes(golden.producer))
    return report


def check_on_load(model: Model, model_path: str | os.PathLike) -> None:
    """Check ``model`` against the golden file beside it (for ``load(path, check=True)``).

    Raises:
        ModelFormatError: when there is no golden file beside the model, or it is malformed.
        GoldenMismatchError: when an output differs from the record beyond its tolerance.
    """
    if is_url(model_path):
        golden_path, golden = weight_url(str(model_path), GOLDEN_FILE), _fetch_golden(str(model_path))
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


def _fetch_golden(model_url: str) -> Golden:
    """The golden record beside a model.json URL, fetched like a shard; a 404 means there is none."""
    url = weight_url(model_url, GOLDEN_FILE)
    try:
        data = read_beside_url(model_url, GOLDEN_FILE)
    except NetworkError as exc:
        if getattr(exc, "status", None) == 404:
            raise ModelFormatError(f"{url}: {NO_GOLDEN}") from None
        raise
    return read_golden(url, data)


def model_hashes(model_path: str | os.PathLike) -> dict[str, str]:
    """SHA-256 of each of a model's files by name (see :func:`file_hashes`); a URL model's files are fetched."""
    if is_url(model_path):
        return {name: hashlib.sha256(data).hexdigest() for name, data in url_model_files(str(model_path)).items()}
    return file_hashes(model_files(model_path))


def default_golden_path(model_path: str | os.PathLike) -> Path:
    """Where a model's golden file lives: ``golden.npz`` in a TF.js model's folder, ``<stem>.golden.npz`` beside
    a single-file model."""
    path = Path(model_path)
    if path.is_dir():
        return path / GOLDEN_FILE
    if path.suffix == ".json":
        return path.parent / GOLDEN_FILE
    return path.with_name(f"{path.stem}.{GOLDEN_FILE}")


# -- running ---------------------------------------------------------------------------------------------------
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


def read_input_file(path: Path, names: list[str]) -> list[np.ndarray] | dict[str, np.ndarray]:
    """The arrays of a ``.npy`` (one input) or ``.npz`` (by input name if every name is there, else in order)."""
    if path.suffix not in (".npy", ".npz"):
        raise InputError(f"{path}: inputs must be a .npy or .npz file")
    arrays = _load_npz(path, InputError, DEFAULT_MAX_BYTES) if path.suffix == ".npz" else {"": _load_npy(path)}
    if set(names) <= set(arrays):
        return {name: arrays[name] for name in names}
    return list(arrays.values())


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
    from . import __version__

    return {"tfjs_interop": __version__, "numpy": np.__version__, "python": platform.python_version()}


def producer_notes(recorded: dict[str, str]) -> list[str]:
    """Name the recording versions when they differ from the running ones."""
    now = producer()
    changed = [f"{key} {recorded.get(key)} (now {now[key]})" for key in ("tfjs_interop", "numpy")
               if recorded.get(key) != now[key]]
    return [f"recorded with {', '.join(changed)}"] if changed else []


# -- the file --------------------------------------------------------------------------------------------------
def save_golden(golden: Golden, path: str | os.PathLike) -> Path:
    """Write a golden file atomically (see :mod:`tfjs_interop.formats.atomic`)."""
    path = Path(path)
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "inputs": list(golden.inputs),
            "outputs": list(golden.outputs), "atol": golden.atol, "rtol": golden.rtol, "files": golden.files,
            "producer": golden.producer}
    arrays = {META_KEY: np.array([json.dumps(meta, sort_keys=True)])}
    arrays.update({INPUTS + name: value for name, value in golden.inputs.items()})
    arrays.update({OUTPUTS + name: value for name, value in golden.outputs.items()})
    total = sum(np.asarray(value).nbytes for value in arrays.values())
    if total > MAX_GOLDEN_BYTES:
        raise InputError(f"{path}: the golden record would hold {total:,} bytes of arrays, over the limit of "
                         f"{MAX_GOLDEN_BYTES:,} that readers accept; record fewer or smaller samples")
    return write_file(path, lambda stream: np.savez_compressed(stream, **arrays))


def read_golden(path: str | os.PathLike, data: bytes | None = None) -> Golden:
    """Read and validate a golden file (``data``: its bytes, fetched from the URL ``path``).

    Raises:
        ModelFormatError: when the file is missing, not an ``.npz``, holds pickled objects or non-numeric arrays,
            lacks arrays its record names, or its record is malformed.
    """
    if data is None:
        path = Path(path)
        if not path.is_file():
            raise ModelFormatError(f"{str(path)!r}: no such golden file")
    arrays = _load_npz(path, ModelFormatError, data=data)
    if META_KEY not in arrays:
        raise ModelFormatError(f"{path}: not a golden file: no {META_KEY!r} record among its arrays "
                               f"{sorted(arrays)[:10]}")
    meta = _parse_meta(arrays[META_KEY], path)
    inputs = _recorded_arrays(arrays, INPUTS, meta["inputs"], path)
    outputs = _recorded_arrays(arrays, OUTPUTS, meta["outputs"], path)
    _check_batches(inputs, outputs, path)
    return Golden(inputs, outputs, meta["atol"], meta["rtol"], meta["files"], meta["producer"])


def _parse_meta(value: np.ndarray, path: Path) -> dict:
    if value.dtype.kind != "U" or value.size != 1:
        raise ModelFormatError(f"{path}: {META_KEY!r} must hold one JSON string, found {value.dtype} {value.shape}")
    try:
        meta = json.loads(value.reshape(()).item())
    except ValueError as exc:
        raise ModelFormatError(f"{path}: {META_KEY!r} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFormatError(f"{path}: {META_KEY!r} is not a {FORMAT} record")
    if meta.get("version") != FORMAT_VERSION:
        raise ModelFormatError(f"{path}: golden format version {meta.get('version')!r}; this tfjs-interop reads "
                               f"version {FORMAT_VERSION}")
    _check_meta_fields(meta, path)
    return meta


def _check_meta_fields(meta: dict, path: Path) -> None:
    expected = {"inputs": _is_names, "outputs": _is_names, "atol": _is_tolerance, "rtol": _is_tolerance,
                "files": lambda v: _is_str_dict(v) and all(len(h) == 64 for h in v.values()),
                "producer": _is_str_dict}
    for key, valid in expected.items():
        if not valid(meta.get(key)):
            raise ModelFormatError(f"{path}: {META_KEY!r} field {key!r} is missing or malformed: "
                                   f"{meta.get(key)!r:.80}")


def _recorded_arrays(arrays: dict[str, np.ndarray], prefix: str, names: list[str], path: Path
                     ) -> dict[str, np.ndarray]:
    missing = [prefix + name for name in names if prefix + name not in arrays]
    if missing:
        raise ModelFormatError(f"{path}: the record names array(s) {missing} that the file does not hold")
    for name in names:
        if arrays[prefix + name].dtype.kind not in NUMERIC_KINDS:
            raise ModelFormatError(f"{path}: array {prefix + name!r} holds {arrays[prefix + name].dtype}, "
                                   f"expected numbers")
    return {name: arrays[prefix + name] for name in names}


def _check_batches(inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray], path: Path) -> None:
    shapes = {INPUTS + key: value.shape for key, value in inputs.items()}
    shapes.update({OUTPUTS + key: value.shape for key, value in outputs.items()})
    if any(len(shape) == 0 for shape in shapes.values()) or len({shape[0] for shape in shapes.values()}) > 1:
        raise ModelFormatError(f"{path}: every recorded array must share one batch size; shapes are {shapes}")


def _load_npz(path: Path, error: type[Exception], max_bytes: int | None = None,
              data: bytes | None = None) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` (its file, or ``data``), or ``error`` naming it. Sizes are checked before
    anything is inflated: the members' sizes in the zip directory against ``max_bytes``, then each array's
    declared shape against its member's size (a zip bomb, or a small member declaring a huge array, is refused,
    not allocated); pickled objects are refused."""
    if data is None:
        with open(path, "rb") as stream:
            magic = stream.read(len(ZIP_MAGIC))
    else:
        magic = data[:len(ZIP_MAGIC)]
    if magic != ZIP_MAGIC:  # NumPy would otherwise try to unpickle it
        raise error(f"{path}: not an .npz file (it does not start with a zip signature)")
    max_bytes = MAX_GOLDEN_BYTES if max_bytes is None else max_bytes
    try:
        with zipfile.ZipFile(path if data is None else io.BytesIO(data)) as archive:
            members = archive.infolist()
            declared = sum(info.file_size for info in members)
            if declared > max_bytes:
                raise error(f"{path}: its {len(members)} member(s) inflate to {declared:,} bytes, over the limit of "
                            f"{max_bytes:,}; the largest are "
                            f"{few(f'{i.filename} ({i.file_size:,} bytes)' for i in sorted(members, key=_size))}")
            return {info.filename.removesuffix(".npy"): _member_array(archive, info, path, error)
                    for info in members}
    except TfjsInteropError:
        raise
    except (ValueError, EOFError, OSError, zipfile.BadZipFile) as exc:
        raise error(f"{path}: not a readable .npz file: {exc}") from None


def _size(info: zipfile.ZipInfo) -> int:
    return -info.file_size


def _member_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path,
                  error: type[Exception]) -> np.ndarray:
    """One ``.npy`` member (see :func:`_read_npy`)."""
    with archive.open(info) as member:
        return _read_npy(member, info.file_size, f"{path}: member {info.filename!r}", error)


def _read_npy(stream: Any, size: int, what: str, error: type[Exception]) -> np.ndarray:
    """An ``.npy`` array from ``stream`` of ``size`` bytes, its header checked against the size before the data is
    allocated (a small file declaring a huge shape is refused, not a MemoryError); objects are never unpickled."""
    version = np.lib.format.read_magic(stream)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read_header(stream)
    if dtype.hasobject:
        raise error(f"{what} holds Python objects, which are never unpickled")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > size:
        raise error(f"{what} declares an array of shape {shape} ({nbytes:,} bytes) but holds {size:,} bytes")
    data = bytearray(nbytes)
    if stream.readinto(data) != nbytes:
        raise error(f"{what} ends before its array does")
    return np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C")


def _load_npy(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as stream:
            return _read_npy(stream, os.fstat(stream.fileno()).st_size, str(path), InputError)
    except TfjsInteropError:
        raise
    except (ValueError, EOFError, OSError) as exc:
        raise InputError(f"{path}: not a readable .npy file: {exc}") from None


def _numeric_array(value: Any, what: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{what}: cannot make an array of it: {exc}") from None
    if array.dtype.kind not in NUMERIC_KINDS:
        raise InputError(f"{what}: expected numbers, found an array of {array.dtype}")
    return array


def _check_tolerances(atol: float, rtol: float) -> None:
    for name, value in (("atol", atol), ("rtol", rtol)):
        if not _is_tolerance(value):
            raise InputError(f"{name} must be a finite number >= 0, got {value!r}")


def _is_tolerance(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _is_names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value) and len(set(value)) == len(value)


def _is_str_dict(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


__all__ = ["GOLDEN_FILE", "Golden", "check", "default_golden_path", "read_golden", "record", "write_golden"]
