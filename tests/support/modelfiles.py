"""Test helpers: write small TF.js layers models (model.json + one shard) from Python dicts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def input_layer(name: str, shape: list, dtype: str = "float32") -> dict:
    """A functional-model InputLayer entry for a batch shape (None for unknown sizes)."""
    return {"name": name, "class_name": "InputLayer", "inbound_nodes": [],
            "config": {"batch_input_shape": shape, "dtype": dtype, "sparse": False, "name": name}}


def layer(class_name: str, name: str, inbound: list | None, **config) -> dict:
    """A functional-model layer entry called once on the tensors ``inbound`` ([layer, node, tensor, kwargs])."""
    nodes = [] if inbound is None else [[ref if len(ref) == 4 else [*ref, {}] for ref in inbound]]
    return {"name": name, "class_name": class_name, "config": {"name": name, **config}, "inbound_nodes": nodes}


def functional(layers: list[dict], inputs: list[str], outputs: list, keras_version: str = "tfjs-layers 4.22.0"):
    """A bare TF.js modelTopology of a functional model; outputs are names or [name, node, tensor] refs."""
    refs = [[o, 0, 0] if isinstance(o, str) else o for o in outputs]
    return {"class_name": "Model", "keras_version": keras_version, "backend": "tensor_flow.js",
            "config": {"name": "test_model", "layers": layers, "input_layers": [[i, 0, 0] for i in inputs],
                       "output_layers": refs}}


def write_model(folder: Path, topology: dict, weights: dict[str, np.ndarray], shard_size: int | None = None,
                extra_entries: list[dict] | None = None) -> Path:
    """Write model.json and little-endian shards of at most ``shard_size`` bytes; return model.json's path."""
    folder.mkdir(parents=True, exist_ok=True)
    entries, data = [], b""
    for name, value in weights.items():
        value = np.asarray(value)
        dtype = {"f": "float32", "i": "int32", "b": "bool"}[value.dtype.kind]
        entries.append({"name": name, "shape": list(value.shape), "dtype": dtype})
        data += value.astype({"float32": "<f4", "int32": "<i4", "bool": "|b1"}[dtype]).tobytes()
    size = shard_size or max(len(data), 1)
    chunks = [data[i:i + size] for i in range(0, len(data), size)] or [b""]
    paths = [f"group1-shard{i + 1}of{len(chunks)}.bin" for i in range(len(chunks))]
    for path, chunk in zip(paths, chunks):
        (folder / path).write_bytes(chunk)
    manifest = [{"paths": paths, "weights": entries + (extra_entries or [])}]
    document = {"format": "layers-model", "generatedBy": "tests", "convertedBy": None,
                "modelTopology": topology, "weightsManifest": manifest}
    (folder / "model.json").write_text(json.dumps(document))
    return folder / "model.json"
