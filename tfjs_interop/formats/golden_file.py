"""The golden record's file: one ``.npz`` of inputs, outputs and a JSON document, read in bounded memory.

``inputs/<input name>`` and ``outputs/<output name>`` hold the arrays; ``golden.json`` (a one-element string array)
the tolerances, the SHA-256 of every model file and the producer. Nothing pickled: every array is read from its
``.npy`` header after its declared size is checked against the member's (see :func:`read_golden`); the writer goes
through the one atomic writer (:mod:`.atomic`). The same bounded reader takes the ``.npy`` / ``.npz`` input files
of ``golden record`` (:func:`read_input_file`).
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, ModelFormatError, TfjsInteropError, few
from .atomic import write_file
from .common import DEFAULT_MAX_BYTES

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



def read_input_file(path: Path, names: list[str]) -> list[np.ndarray] | dict[str, np.ndarray]:
    """The arrays of a ``.npy`` (one input) or ``.npz``: by input name when its arrays are named after the inputs,
    in order when none is (``np.savez(f, a, b)``'s ``arr_0``, ``arr_1``, or a one-input model's one array).

    Raises:
        InputError: for an ``.npz`` naming some inputs but not others, or arrays no input is called: taken in order
            they could feed one input another's values.
    """
    if path.suffix not in (".npy", ".npz"):
        raise InputError(f"{path}: inputs must be a .npy or .npz file")
    arrays = _load_npz(path, InputError, DEFAULT_MAX_BYTES) if path.suffix == ".npz" else {"": _load_npy(path)}
    if set(arrays) == set(names):
        return {name: arrays[name] for name in names}
    if path.suffix == ".npz" and set(arrays) & set(names):
        missing, unknown = [n for n in names if n not in arrays], [k for k in arrays if k not in names]
        raise InputError(f"{path}: its arrays {list(arrays)} name some of the model's inputs {names} but not all"
                         + (f"; missing {missing}" if missing else "") + (f"; no input is called {unknown}" if unknown
                                                                          else "")
                         + ": name one array after each input, or none (they are then taken in order)")
    return list(arrays.values())


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


def check_tolerances(atol: float, rtol: float) -> None:
    for name, value in (("atol", atol), ("rtol", rtol)):
        if not _is_tolerance(value):
            raise InputError(f"{name} must be a finite number >= 0, got {value!r}")


def _is_tolerance(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _is_names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value) and len(set(value)) == len(value)


def _is_str_dict(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
