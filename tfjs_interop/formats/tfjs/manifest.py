"""The TF.js ``weightsManifest``: groups of named tensors stored back to back across shard files.

Pure in-memory decoding (:func:`decode_group`) sits under a thin reader that fetches a group's shards
(:func:`read_weights`), so most of this module is testable without a disk.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ...errors import LimitError, ModelFormatError, WeightsError, few

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
MAX_STRINGS = 65_536  # per string weight: each is a Python object (~12x its 4 bytes), and no layer here takes one


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
    groups = [_parse_group(group, f"{source}: weightsManifest[{g}]") for g, group in enumerate(manifest)]
    _check_paths_once(groups, source)
    return groups


def _check_paths_once(groups: list[ManifestGroup], source: str) -> None:
    """Refuse a manifest that lists a file twice: no converter writes one, and each listing would be read (and
    held) again — a small shard listed thousands of times costs gigabytes."""
    counts = Counter(path for group in groups for path in group.paths)
    repeated = [path for path, count in counts.items() if count > 1]
    if repeated:
        raise ModelFormatError(f"{source}: the weightsManifest lists {len(repeated)} weight file(s) more than once "
                               f"({sum(counts[p] for p in repeated):,} listings in all): {few(repeated)}")


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
    _check_original_dtype(q, dtype, where)
    if q["dtype"] == "float16":
        if dtype != "float32":  # as TF.js: "Unsupported quantization type float16 for weight type int32"
            raise ModelFormatError(f"{where}: float16 quantization applies to float32 weights only, found {dtype}")
        return Quantization("float16")
    scale, minimum = q.get("scale"), q.get("min")
    for key, value in (("scale", scale), ("min", minimum)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ModelFormatError(f"{where}: quantization.{key} must be a finite number, found {value!r:.80}")
    if scale < 0:  # the converter's scale is (max - min) / (2^bits - 1), or 1 when max == min
        raise ModelFormatError(f"{where}: quantization.scale must not be negative, found {scale!r}")
    return Quantization(q["dtype"], float(scale), float(minimum))


def _check_original_dtype(q: dict, dtype: str, where: str) -> None:
    original = q.get("original_dtype")
    if original is not None and original != dtype:
        raise ModelFormatError(f"{where}: quantization.original_dtype {original!r:.80} contradicts the weight's "
                               f"dtype {dtype!r}")


def declared_nbytes(groups: Sequence[ManifestGroup]) -> int:
    """The bytes the manifest declares in all (strings count their 4-byte length prefixes only)."""
    return sum(entry.stored_nbytes() if entry.stored_dtype != "string" else 4 * entry.size
               for group in groups for entry in group.entries)


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
            raise WeightsError(f"weight {entry.name!r} appears twice in the manifest group [{few(group.paths)}]")
        out[entry.name] = array
    if offset != len(buffer):
        raise WeightsError(f"the weight files [{few(group.paths)}] hold {len(buffer)} bytes but the manifest "
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
    if entry.size > MAX_STRINGS:  # before making an object per string
        raise LimitError(f"weight {entry.name!r} (string, shape {list(entry.shape)}) declares {entry.size:,} strings, "
                         f"over the limit of {MAX_STRINGS:,}; no layer tfjs-interop runs takes string weights")
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
                       f"[{few(group.paths)}] hold only {available} bytes")


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



# --- writing ---------------------------------------------------------------------------------------------------

WRITABLE_DTYPES: dict[str, np.dtype] = {"float32": DTYPES["float32"], "int32": DTYPES["int32"], "bool": DTYPES["bool"]}
_FLOAT16_MAX = float(np.finfo(np.float16).max)


def quantize(values: np.ndarray, dtype: str, name: str) -> tuple[np.ndarray, dict]:
    """Quantize a float32 tensor as the official converter (tensorflowjs/quantization.py) does.

    uint8 / uint16 are affine: ``scale = (max - min) / (2^bits - 1)``; when ``min <= 0 <= max`` the range is
    nudged so that 0 is exactly representable; ``q = round((clip(x) - min) / scale)`` (half to even), all in
    float64. float16 is IEEE half precision, rounded to nearest even.

    Returns:
        The stored values (little-endian) and the manifest entry's ``quantization`` field.

    Raises:
        WeightsError: for non-finite values, or values beyond float16's range.
    """
    if not np.all(np.isfinite(values)):
        raise WeightsError(f"weight {name!r} holds NaN or infinite values, which cannot be quantized")
    if dtype == "float16":
        with np.errstate(over="ignore"):
            stored = values.astype(QUANTIZED_DTYPES["float16"])
        if not np.all(np.isfinite(stored)):
            raise WeightsError(f"weight {name!r} has values beyond float16's range (±{_FLOAT16_MAX:g}); quantize "
                               "it to uint16 or leave it float32")
        return stored, {"dtype": "float16", "original_dtype": "float32"}
    stored, minimum, scale = _affine(values.astype(np.float64), QUANTIZED_DTYPES[dtype])
    return stored, {"dtype": dtype, "min": minimum, "scale": scale, "original_dtype": "float32"}


def _affine(values: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, float, float]:
    """The converter's affine quantization: (q, min, scale) with q = round((clip(x) - min) / scale)."""
    if not values.size:
        return values.astype(dtype), 0.0, 1.0
    low, high = float(values.min()), float(values.max())
    if low == high:
        return np.zeros(values.shape, dtype), low, 1.0
    q_max = np.iinfo(dtype).max
    scale = (high - low) / q_max
    if low <= 0 <= high:  # nudge so that 0 is exact
        low = -float(np.round(-low / scale)) * scale
        high = q_max * scale + low
    return np.round((np.clip(values, low, high) - low) / scale).astype(dtype), low, scale


def encode_tensors(tensors: Sequence[tuple[str, np.ndarray]],
                   quantize_as: Callable[[str], str | None] = lambda name: None) -> tuple[list[dict], bytes]:
    """Manifest entries and the concatenated little-endian bytes of named tensors, in the given order.

    Args:
        tensors: (name, array) pairs; arrays of float32, int32 or bool.
        quantize_as: the quantization dtype for a weight name, or None; only float32 tensors are quantized.

    Raises:
        WeightsError: for a dtype the format cannot store, or values that cannot be quantized.
    """
    entries, chunks = [], []
    for name, value in tensors:
        dtype = _manifest_dtype(name, value)
        entry = {"name": name, "shape": [int(d) for d in value.shape], "dtype": dtype}
        stored = value.astype(WRITABLE_DTYPES[dtype])
        target = quantize_as(name) if dtype == "float32" else None
        if target is not None:
            stored, entry["quantization"] = quantize(stored, target, name)
        entries.append(entry)
        chunks.append(np.ascontiguousarray(stored).tobytes())
    return entries, b"".join(chunks)


def _manifest_dtype(name: str, value: np.ndarray) -> str:
    for dtype, np_dtype in WRITABLE_DTYPES.items():
        if value.dtype.kind == np_dtype.kind and (dtype == "bool" or value.dtype.itemsize == np_dtype.itemsize):
            return dtype
    raise WeightsError(f"weight {name!r} has dtype {value.dtype}; the TF.js format stores float32, int32 and bool")


def shard(data: bytes, shard_size: int, group: int = 1) -> dict[str, bytes]:
    """Cut a group's bytes into files ``group{g}-shard{i}of{n}.bin`` of at most ``shard_size`` bytes (one, if none)."""
    count = max(1, -(-len(data) // shard_size))
    return {f"group{group}-shard{i + 1}of{count}.bin": data[i * shard_size:(i + 1) * shard_size]
            for i in range(count)}
