"""Safe reading of HDF5 files with h5py: hard links only, no external storage, sizes checked before reading."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from ..errors import ModelFormatError, SecurityError, WeightsError
from .common import DEFAULT_MAX_BYTES, ByteBudget

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAX_TENSOR_BYTES = 4 * 1024**3
_BUDGET: ContextVar[ByteBudget | None] = ContextVar("hdf5_dataset_budget", default=None)
_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "bool")


def is_hdf5(head: bytes) -> bool:
    """Whether a file's first bytes are HDF5's signature."""
    return head.startswith(HDF5_SIGNATURE)


@contextmanager
def open_hdf5(file: str | os.PathLike | bytes, source: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[object]:
    """Open an HDF5 file (a path, or its bytes held in memory) read-only; the datasets read from it may declare
    ``max_bytes`` in all (a small compressed or unallocated dataset can declare gigabytes)."""
    import h5py

    target = io.BytesIO(file) if isinstance(file, bytes) else file
    try:
        handle = h5py.File(target, "r")
    except OSError as exc:
        raise ModelFormatError(f"{source}: not a readable HDF5 file ({exc})") from None
    token = _BUDGET.set(ByteBudget(max_bytes, source))
    try:
        with handle:
            yield handle
    finally:
        _BUDGET.reset(token)


def child(group, name: str, source: str, kind: str = "group"):
    """``group[name]`` (``name`` may be a ``a/b/c`` path) through hard links only: soft and external links could
    reach other files."""
    import h5py

    item = group
    for part in [p for p in name.split("/") if p]:
        link = item.get(part, getlink=True) if isinstance(item, h5py.Group) else None
        if link is None:
            raise ModelFormatError(f"{source}: expected {kind} {_path(group, name)!r}, which the file does not have")
        if not isinstance(link, h5py.HardLink):
            raise SecurityError(f"{source}: {_path(item, part)!r} is a {type(link).__name__}; only objects stored "
                                f"in the file itself are read")
        item = item[part]
    wanted = h5py.Dataset if kind == "dataset" else h5py.Group
    if not isinstance(item, wanted):
        raise ModelFormatError(f"{source}: {_path(group, name)!r} should be a {kind}, found {type(item).__name__}")
    return item


def read_dataset(group, name: str, source: str) -> np.ndarray:
    """A weight tensor, refused if it is stored outside the file, of an unexpected dtype or absurdly large."""
    dataset = child(group, name, source, kind="dataset")
    where = _path(group, name)
    if dataset.external or dataset.is_virtual:
        raise SecurityError(f"{source}: dataset {where!r} keeps its data outside the file; refused")
    dtype = dataset.dtype
    if dtype.name not in _DTYPES:
        raise WeightsError(f"{source}: dataset {where!r} has dtype {dtype}; expected one of {', '.join(_DTYPES)}")
    nbytes = int(np.prod(dataset.shape, dtype=np.float64)) * dtype.itemsize
    # HDF5 inflates a whole chunk to read any part of it: a tiny dataset can declare one huge compressed chunk
    chunk_bytes = int(np.prod(dataset.chunks, dtype=np.float64)) * dtype.itemsize if dataset.chunks else 0
    if max(nbytes, chunk_bytes) > MAX_TENSOR_BYTES:
        raise WeightsError(f"{source}: dataset {where!r} declares shape {list(dataset.shape)} and chunks "
                           f"{list(dataset.chunks or [])} ({max(nbytes, chunk_bytes)} bytes), over the limit of "
                           f"{MAX_TENSOR_BYTES} bytes per tensor")
    budget = _BUDGET.get()
    if budget is not None:  # before h5py allocates the array (and HDF5 its chunk buffer, freed after the read)
        if chunk_bytes > nbytes:
            budget.check(chunk_bytes, f"dataset {where!r} (shape {list(dataset.shape)}, {dtype}, stored in "
                                      f"chunks of shape {list(dataset.chunks)})")
        budget.take(nbytes, f"dataset {where!r} (shape {list(dataset.shape)}, {dtype})")
    try:
        return np.asarray(dataset[()])
    except OSError as exc:
        raise WeightsError(f"{source}: cannot read dataset {where!r}: {exc}") from None


def text_attr(holder, name: str, source: str) -> str | None:
    """A string attribute (stored as str or bytes), or None when absent."""
    if name not in holder.attrs:
        return None
    value = holder.attrs[name]
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="strict")
    if not isinstance(value, str):
        raise ModelFormatError(f"{source}: attribute {name!r} should be a string, found {type(value).__name__}")
    return value


def names_attr(holder, name: str, source: str) -> list[str]:
    """A list-of-names attribute as Keras writes it: whole, or chunked as ``name0``, ``name1``... when long."""
    if name in holder.attrs:
        chunks = [holder.attrs[name]]
    else:
        chunks = []
        while f"{name}{len(chunks)}" in holder.attrs:
            chunks.append(holder.attrs[f"{name}{len(chunks)}"])
    names = []
    for chunk in chunks:
        for item in np.atleast_1d(np.asarray(chunk)):
            item = item.decode("utf-8") if isinstance(item, bytes) else item
            if not isinstance(item, str):
                raise ModelFormatError(f"{source}: attribute {name!r} should list names, found {item!r:.80}")
            names.append(item)
    return names


def _path(group, name: str) -> str:
    return f"{group.name.rstrip('/')}/{name}"
