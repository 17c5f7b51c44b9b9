"""Writing the TF.js layers format: a model's parts -> model.json + weight shards, in memory.

Everything is written from the normalised topology (never by echoing a source file), in the form tfjs-layers
4.22's ``tf.loadLayersModel`` deserialises (:mod:`.model_topology`), after the refusals of what it cannot load
(:mod:`.support`); weights are named as TF.js names them (:mod:`.naming`) and stored by :mod:`.manifest`. The
engine keys the normaliser adds are dropped: TF.js's own behaviour is what they describe for TF.js models, and
whether a Keras model keeps its numbers under TF.js is checked by running both (:mod:`tfjs_interop.write_checks`).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ...errors import InputError
from ...topology import without_mask_operations
from ..contract import ModelParts
from .forms import states_for_outputs, tfjs_names
from .manifest import QUANTIZED_DTYPES, encode_tensors, shard
from .model_topology import encode_topology, with_static_sizes
from .naming import named_weights, weights_by_layer
from .support import check_writable

DEFAULT_SHARD_SIZE = 4_194_304  # the official converter's default


def quantization_rule(quantize: str | Mapping[str, object] | None) -> Callable[[str], str | None]:
    """The quantization dtype for each weight name, as the converter's ``--quantize_*`` flags choose it.

    ``quantize`` is ``"float16"``, ``"uint8"`` or ``"uint16"`` (every float32 weight), or a dict from those to
    fnmatch patterns over weight names (a string or a list); a dtype mapped to None or True takes the weights no
    pattern matches.

    Raises:
        InputError: for an unknown dtype, two catch-all dtypes, or a weight the patterns of two dtypes match
            (checked when the rule is applied).
    """
    if quantize is None:
        return lambda name: None
    if isinstance(quantize, str):
        quantize = {quantize: None}
    if not isinstance(quantize, Mapping):
        raise InputError(f"quantize must be one of {sorted(QUANTIZED_DTYPES)} or a dict from those to weight name "
                         f"patterns, got {quantize!r}")
    rules, fallback = {}, []
    for dtype, patterns in quantize.items():
        if dtype not in QUANTIZED_DTYPES:
            raise InputError(f"quantize: unknown dtype {dtype!r}; expected one of {sorted(QUANTIZED_DTYPES)}")
        if patterns is None or patterns is True:
            fallback.append(dtype)
        else:
            rules[dtype] = [patterns] if isinstance(patterns, str) else list(patterns)
    if len(fallback) > 1:
        raise InputError(f"quantize: {fallback} are all given without patterns; only one dtype can take the rest")

    def rule(name: str) -> str | None:
        matched = [d for d, patterns in rules.items() if any(fnmatch.fnmatchcase(name, p) for p in patterns)]
        if len(matched) > 1:
            raise InputError(f"quantize: weight {name!r} matches the patterns of {matched}; give it one dtype")
        return matched[0] if matched else (fallback[0] if fallback else None)

    return rule


@dataclass
class TfjsArtifacts:
    """What a TF.js layers model is made of: model.json's content and the weight files by name."""

    model_json: dict
    shards: dict[str, bytes]

    def model_json_bytes(self) -> bytes:
        return json.dumps(self.model_json, allow_nan=False, separators=(",", ":")).encode()


def encode_model(parts: ModelParts, *, generated_by: str, converted_by: str,
                 shard_size_bytes: int = DEFAULT_SHARD_SIZE, quantize: str | Mapping | None = None,
                 metadata: dict | None = None, split_weights_by_layer: bool = False) -> TfjsArtifacts:
    """Check, then encode a model's parts in memory: nothing here touches a disk.

    The weights form one group (``group1-shard*.bin``), or with ``split_weights_by_layer`` one group per layer
    (``group<k>-shard*.bin``), as the converter's flag of that name does.

    Raises:
        UnsupportedLayerError: when TF.js 4.22 cannot load the model (see :func:`check_writable`).
        InputError: for a bad shard size, quantize spec or metadata, or a config JSON cannot carry (NaN).
        WeightsError: for weights the format cannot store or quantize.
    """
    if isinstance(shard_size_bytes, bool) or not isinstance(shard_size_bytes, int) or shard_size_bytes <= 0:
        raise InputError(f"shard_size_bytes must be a positive integer, got {shard_size_bytes!r}")
    if metadata is not None and not isinstance(metadata, dict):
        raise InputError(f"metadata must be a JSON object (a dict), got {type(metadata).__name__}")
    topology = with_static_sizes(states_for_outputs(without_mask_operations(parts.topology)), parts.first_shapes(),
                                 parts.facts)
    topology, weights, ranks = tfjs_names(topology, parts.layer_weights(), parts.ranks())
    check_writable(topology, parts.facts, ranks)
    model_topology = encode_topology(topology, parts.facts)
    _check_json(model_topology, metadata)
    groups = weights_by_layer(topology, weights) if split_weights_by_layer else [named_weights(topology, weights)]
    rule = quantization_rule(quantize)
    manifest, shards = [], {}
    for number, tensors in enumerate(groups or [[]], start=1):
        entries, data = encode_tensors(tensors, rule)
        files = shard(data, shard_size_bytes, number)
        manifest.append({"paths": list(files), "weights": entries})
        shards.update(files)
    document = {"format": "layers-model", "generatedBy": generated_by, "convertedBy": converted_by,
                "modelTopology": model_topology, "weightsManifest": manifest}
    if metadata is not None:
        document["userDefinedMetadata"] = metadata
    return TfjsArtifacts(document, shards)


def _check_json(model_topology: dict, metadata: dict | None) -> None:
    """JSON.parse in a browser rejects NaN and Infinity: name the layer or metadata that holds one."""
    for entry in model_topology["config"]["layers"]:
        try:
            json.dumps(entry, allow_nan=False)
        except ValueError:
            raise InputError(f"layer {entry['name']!r}: its config holds NaN or Infinity, which model.json cannot "
                             "carry") from None
        except TypeError as exc:
            raise InputError(f"layer {entry['name']!r}: its config is not JSON: {exc}") from None
    try:
        json.dumps(metadata, allow_nan=False)
    except (ValueError, TypeError) as exc:
        raise InputError(f"metadata must be JSON without NaN or Infinity: {exc}") from None
