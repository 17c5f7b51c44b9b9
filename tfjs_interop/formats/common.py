"""What every reader returns: a model's topology as written, its origin and its named weights."""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import LimitError, ModelFormatError, SecurityError, TfjsInteropError

MAX_JSON_BYTES = 256 * 1024 * 1024
MAX_JSON_DEPTH = 128  # real model.json files nest about 14 deep; deeper ones could exhaust the Python stack later
DEFAULT_MAX_BYTES = 2 * 1024**3  # what one load may read in all (model.json and shards), unless told otherwise
_DRIVE = re.compile(r"[A-Za-z]:")  # a Windows drive ("C:\\w.bin", "C:w.bin") is never relative to the folder


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
        file_hashes: SHA-256 of the files read, by name as a folder would hold them, where the reader had their
            bytes and no folder to read again (a URL model's: golden records hash these, not a second fetch).
    """

    topology: dict
    keras_version: str | None
    weights: dict[str, np.ndarray]
    source: str
    metadata: dict = field(default_factory=dict)
    kind: str = "tfjs"
    file_hashes: dict[str, str] | None = None


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(text: bytes | str, source: str, constants: bool = False) -> object:
    """Parse strict JSON (no NaN or Infinity, as in a browser; ``constants``: allowed, as TF Serving reads a
    request), with errors naming the file."""
    if len(text) > MAX_JSON_BYTES:
        raise ModelFormatError(f"{source}: {len(text)} bytes of JSON is over the limit of {MAX_JSON_BYTES}")
    too_deep = ModelFormatError(f"{source}: the JSON is nested too deeply to be a model (over {MAX_JSON_DEPTH} "
                                "levels)")
    if _nests_deeper(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text, MAX_JSON_DEPTH):
        raise too_deep  # checked on the text, before the parser recurses
    try:
        return json.loads(text, parse_constant=float if constants else _refuse_constant)
    except RecursionError:
        raise too_deep from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{source}: invalid JSON: {exc}") from None


_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_OPENING, _CLOSING, _QUOTE = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8), ord('"')


def _nests_deeper(data: bytes, limit: int) -> bool:
    """Whether the JSON text's lists and objects nest more than ``limit`` deep, in linear time and bounded memory.

    Escaped backslashes, then escaped quotes, are dropped (JSON pairs backslashes left to right), then everything
    but quotes and brackets; a bracket counts where an even number of quotes precedes it (outside strings). The
    running depth is summed in blocks, so no Python object is made per value.
    """
    residue = data.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    depth, inside, block = 0, 0, 1 << 20
    for start in range(0, len(residue), block):
        codes = np.frombuffer(residue, np.uint8, min(block, len(residue) - start), start)
        quotes = codes == _QUOTE
        parity = (np.cumsum(quotes, dtype=np.int64) + inside) % 2  # 1 from an opening quote to its closing one
        outside = (parity == 0) & ~quotes
        steps = np.isin(codes, _OPENING).astype(np.int64) - np.isin(codes, _CLOSING)
        running = np.cumsum(steps * outside) + depth
        if running.max() > limit:
            return True
        depth, inside = int(running[-1]), int(parity[-1])
    return False


class ByteBudget:
    """The bytes one load may still read, over model.json and every shard: ``max_bytes`` in all."""

    def __init__(self, max_bytes: int, source: str):
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
            raise ValueError(f"max_bytes must be a positive integer, got {max_bytes!r}")
        self.max_bytes, self.left, self.source = max_bytes, max_bytes, source

    def check(self, nbytes: int, what: str) -> None:
        """Raise LimitError if ``nbytes`` more would go past the limit."""
        if nbytes > self.left:
            raise LimitError(f"{self.source}: {what} takes the model past the limit of {self.max_bytes} bytes "
                             f"({nbytes} more bytes, {self.left} left); pass a larger max_bytes (--max-bytes) to "
                             "allow it")

    def take(self, nbytes: int, what: str) -> None:
        """Count ``nbytes`` read, or raise LimitError past the limit."""
        self.check(nbytes, what)
        self.left -= nbytes


def read_regular_file(path: Path, budget: ByteBudget, what: str, error: type[TfjsInteropError],
                      most: int | None = None) -> bytes:
    """Read a regular file of at most ``most`` bytes within the budget; anything else (a folder, a FIFO, a device,
    a larger file) raises ``error``."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{budget.source}: {what} is not a regular file")
        if most is not None and info.st_size > most:
            raise error(f"{budget.source}: {what} is {info.st_size} bytes, over the limit of {most} for such a file")
        budget.take(info.st_size, what)
        with open(path, "rb") as file:
            data = file.read(info.st_size + 1)
    except OSError as exc:
        raise error(f"{budget.source}: cannot read {what}: {exc.strerror or exc}") from None
    if len(data) != info.st_size:
        raise error(f"{budget.source}: {what} changed size while being read")
    return data


def resolve_inside(folder: Path, relative: str, source: str) -> Path:
    """Resolve a path a model file names, refusing anything that leaves the model's folder."""
    if "\0" in relative:
        raise SecurityError(f"{source}: weight path {relative!r} contains a NUL byte")
    if "://" in relative or relative.startswith(("/", "\\")) or _DRIVE.match(relative) or Path(relative).is_absolute():
        raise SecurityError(f"{source}: weight path {relative!r} must be relative to the model's folder")
    root = folder.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise SecurityError(f"{source}: weight path {relative!r} leaves the model's folder {str(root)!r}")
    return target
