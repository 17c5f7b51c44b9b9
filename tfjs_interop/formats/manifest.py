"""The TF.js ``weightsManifest``: groups of named tensors stored back to back across shard files.

Pure in-memory decoding (:func:`decode_group`) sits under a thin reader that fetches a group's shards
(:func:`read_weights`), so most of this module is testable without a disk.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ModelFormatError, WeightsError

# Bytes of one element, and the little-endian NumPy dtype, for each dtype a manifest may name.
DTYPES: dict[str, np.dtype] = {
    "float32": np.dtype("<f4"),
    "int32": np.dtype("<i4"),
    "bool": np.dtype("|b1"),
    "complex64": np.dtype("<c8"),
}
QUANTIZED_DTYPES: dict[str, np.dtype] = {
    "uint8": np.dtype("|u1"),
    "uint16": np.dtype("<u2"),
    "float16": np.dtype("<f2"),
}
MAX_RANK = 32


@dataclass(frozen=True)
class Quantization:
    """How a stored tensor was quantized: ``float = q * scale + min`` (or a float16 cast)."""

    dtype: str
    scale: float = 1.0
    min: float = 0.0


@dataclass(frozen=True)
class WeightEntry:
    """One tensor of a manifest group, in the order its bytes are stored."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    group: str | None = None
    quantization: Quantization | None = None

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def stored_dtype(self) -> str:
        return self.quantization.dtype if self.quantization else self.dtype

    def stored_nbytes(self) -> int | None:
        """Bytes this entry takes in the stream; None for strings, whose length is in the data."""
        if self.stored_dtype == "string":
            return None
        table = QUANTIZED_DTYPES if self.quantization else DTYPES
        return self.size * table[self.stored_dtype].itemsize


@dataclass(frozen=True)
class ManifestGroup:
    """A list of shard files whose concatenated bytes hold ``entries`` back to back."""

    paths: tuple[str, ...]
    entries: tuple[WeightEntry, ...]


def parse_manifest(manifest: object, source: str) -> list[ManifestGroup]:
    """Validate a ``weightsManifest`` value and return its groups.

    Args:
        manifest: the JSON value of ``weightsManifest``.
        source: the file it came from, for error messages.

    Raises:
        ModelFormatError: when the structure, a dtype, a shape or a quantization field is invalid.
    """
    if not isinstance(manifest, list):
        raise ModelFormatError(f"{source}: weightsManifest must be a list of groups, found {_kind(manifest)}")
    return [_parse_group(group, f"{source}: weightsManifest[{g}]") for g, group in enumerate(manifest)]


def _parse_group(group: object, where: str) -> ManifestGroup:
    if not isinstance(group, dict):
        raise ModelFormatError(f"{where} must be an object with 'paths' and 'weights', found {_kind(group)}")
    paths, weights = group.get("paths"), group.get("weights")
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ModelFormatError(f"{where}.paths must be a list of file names, found {paths!r:.80}")
    if not isinstance(weights, list):
        raise ModelFormatError(f"{where}.weights must be a list, found {_kind(weights)}")
    entries = tuple(_parse_entry(w, f"{where}.weights[{i}]") for i, w in enumerate(weights))
    return ManifestGroup(tuple(paths), entries)


def _parse_entry(entry: object, where: str) -> WeightEntry:
    if not isinstance(entry, dict):
        raise ModelFormatError(f"{where} must be an object, found {_kind(entry)}")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise ModelFormatError(f"{where}.name must be a non-empty string, found {name!r:.80}")
    where = f"{where} ({name!r})"
    dtype = entry.get("dtype")
    if not isinstance(dtype, str) or dtype not in DTYPES and dtype != "string":
        raise ModelFormatError(f"{where}: unknown dtype {dtype!r}; expected one of {sorted(DTYPES) + ['string']}")
    group = entry.get("group")
    if group is not None and not isinstance(group, str):
        raise ModelFormatError(f"{where}.group must be a string, found {group!r:.80}")
    return WeightEntry(name, _parse_shape(entry.get("shape"), where), dtype, group,
                       _parse_quantization(entry.get("quantization"), dtype, where))


def _parse_shape(shape: object, where: str) -> tuple[int, ...]:
    if not isinstance(shape, list) or len(shape) > MAX_RANK:
        raise ModelFormatError(f"{where}: shape must be a list of at most {MAX_RANK} sizes, found {shape!r:.80}")
    for dim in shape:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 0:
            raise ModelFormatError(f"{where}: shape sizes must be non-negative integers, found {shape!r:.80}")
    return tuple(shape)


def _parse_quantization(q: object, dtype: str, where: str) -> Quantization | None:
    if q is None:
        return None
    if not isinstance(q, dict) or not isinstance(q.get("dtype"), str) or q["dtype"] not in QUANTIZED_DTYPES:
        raise ModelFormatError(f"{where}: quantization must name a dtype among {sorted(QUANTIZED_DTYPES)}, "
                               f"found {q!r:.80}")
    if dtype not in ("float32", "int32"):
        raise ModelFormatError(f"{where}: only float32 and int32 tensors can be quantized, found {dtype}")
    if q["dtype"] == "float16":
        if dtype != "float32":  # as TF.js: "Unsupported quantization type float16 for weight type int32"
            raise ModelFormatError(f"{where}: float16 quantization applies to float32 weights only, found {dtype}")
        return Quantization("float16")
    scale, minimum = q.get("scale"), q.get("min")
    for key, value in (("scale", scale), ("min", minimum)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ModelFormatError(f"{where}: quantization.{key} must be a finite number, found {value!r:.80}")
    return Quantization(q["dtype"], float(scale), float(minimum))


def decode_group(group: ManifestGroup, data: bytes | bytearray | memoryview,
                 file_sizes: Sequence[int] | None = None) -> dict[str, np.ndarray]:
    """Decode a group's concatenated bytes into named arrays (dequantized to their original dtype).

    Unquantized tensors are read-only views of ``data`` (no copy), so a large model loads at the speed its files
    are read.

    Args:
        group: the parsed manifest group.
        data: the group's shard files concatenated in ``paths`` order.
        file_sizes: the size of each shard, to name the file in error messages.

    Raises:
        WeightsError: when the bytes run out before a tensor ends, or bytes are left over.
    """
    buffer = memoryview(data).cast("B")
    offset, out = 0, {}
    for entry in group.entries:
        array, offset = _decode_entry(entry, buffer, offset, group, file_sizes)
        if entry.name in out:
            raise WeightsError(f"weight {entry.name!r} appears twice in the manifest group {list(group.paths)}")
        out[entry.name] = array
    if offset != len(buffer):
        raise WeightsError(f"the weight files {list(group.paths)} hold {len(buffer)} bytes but the manifest "
                           f"declares {offset}: {len(buffer) - offset} bytes are not described by any weight")
    return out


def _decode_entry(entry: WeightEntry, buffer: memoryview, offset: int, group: ManifestGroup,
                  file_sizes: Sequence[int] | None) -> tuple[np.ndarray, int]:
    nbytes = entry.stored_nbytes()
    if nbytes is None:
        return _decode_strings(entry, buffer, offset, group, file_sizes)
    if offset + nbytes > len(buffer):
        _raise_short(entry, nbytes, offset, len(buffer), group, file_sizes)
    if entry.quantization:
        stored = np.frombuffer(buffer, QUANTIZED_DTYPES[entry.stored_dtype], entry.size, offset)
        array = dequantize(stored, entry.quantization, entry.dtype)
    else:
        array = np.frombuffer(buffer, DTYPES[entry.dtype], entry.size, offset)
        if not array.dtype.isnative or not array.flags.aligned:  # else the weights stay views of the file's bytes
            array = array.astype(array.dtype.newbyteorder("="))
    return array.reshape(entry.shape), offset + nbytes


def _decode_strings(entry: WeightEntry, buffer: memoryview, offset: int, group: ManifestGroup,
                    file_sizes: Sequence[int] | None) -> tuple[np.ndarray, int]:
    values = []
    for _ in range(entry.size):
        if offset + 4 > len(buffer):
            _raise_short(entry, 4, offset, len(buffer), group, file_sizes)
        length = int.from_bytes(buffer[offset:offset + 4], "little")
        if offset + 4 + length > len(buffer):
            _raise_short(entry, 4 + length, offset, len(buffer), group, file_sizes)
        values.append(bytes(buffer[offset + 4:offset + 4 + length]))
        offset += 4 + length
    return np.array(values, dtype=object).reshape(entry.shape), offset


def dequantize(stored: np.ndarray, quantization: Quantization, dtype: str) -> np.ndarray:
    """Undo the converter's quantization exactly as TF.js does (in float64, then rounded to float32)."""
    if quantization.dtype == "float16":
        return stored.astype(np.float32)
    values = stored.astype(np.float64) * quantization.scale + quantization.min
    if dtype == "int32":
        return np.floor(values + 0.5).astype(np.int32)  # JavaScript's Math.round: halves go up
    return values.astype(np.float32)


def _raise_short(entry: WeightEntry, nbytes: int, offset: int, available: int, group: ManifestGroup,
                 file_sizes: Sequence[int] | None) -> None:
    where = _file_at(offset, group, file_sizes)
    raise WeightsError(f"weight {entry.name!r} ({entry.stored_dtype}, shape {list(entry.shape)}) needs {nbytes} "
                       f"bytes from byte {offset} of its group, in {where}, but the group's files "
                       f"{list(group.paths)} hold only {available} bytes")


def _file_at(offset: int, group: ManifestGroup, file_sizes: Sequence[int] | None) -> str:
    if not file_sizes:
        return "the weight data"
    start = 0
    for path, size in zip(group.paths, file_sizes):
        if offset < start + size:
            return f"file {path!r} at byte {offset - start}"
        start += size
    return f"the end of file {group.paths[-1]!r}" if group.paths else "an empty group"


def read_weights(groups: Sequence[ManifestGroup], fetch: Callable[[str], bytes],
                 skip_groups: frozenset[str] = frozenset({"optimizer"})) -> dict[str, np.ndarray]:
    """Fetch every group's shards in order and decode them into one name -> array mapping.

    Args:
        groups: the parsed manifest.
        fetch: returns the bytes of one path of the manifest (relative to the model.json).
        skip_groups: entries whose ``group`` is one of these (optimizer state) are decoded but not returned.

    Raises:
        WeightsError: when a shard's bytes disagree with the manifest or a name appears twice.
    """
    weights: dict[str, np.ndarray] = {}
    for group in groups:
        shards = [fetch(path) for path in group.paths]
        data = b"".join(shards) if len(shards) != 1 else shards[0]
        decoded = decode_group(group, data, [len(s) for s in shards])
        for entry in group.entries:
            if entry.group in skip_groups:
                continue
            if entry.name in weights:
                raise WeightsError(f"weight {entry.name!r} appears in two manifest groups")
            weights[entry.name] = decoded[entry.name]
    return weights


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string"}.get(type(value), type(value).__name__)

