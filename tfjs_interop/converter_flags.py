"""The official ``tensorflowjs_converter``'s flags on ``tfjs-interop convert``, with their meaning there.

Layers-model flags map to ``save_tfjs`` / ``save_keras`` options beside this project's own spellings; the flags of
TF.js graph-model conversion (SavedModel, TF Hub, frozen graphs) are accepted by the parser only to be refused
with a sentence saying why, rather than argparse's "unrecognized arguments".
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .formats.common import parse_json
from .formats.hdf5 import is_hdf5
from .formats.keras.archive import is_zip
from .formats.tfjs.manifest import QUANTIZED_DTYPES
from .saving import KERAS, TFJS

INPUT_FORMATS = ("keras", "keras_keras", "tfjs_layers_model")
OUTPUT_FORMATS = ("tfjs_layers_model", "keras", "keras_keras")
GRAPH_FORMATS = ("tf_saved_model", "tf_hub", "tf_frozen_model", "keras_saved_model", "tfjs_graph_model")
GRAPH_FLAGS = ("signature_name", "saved_model_tags", "skip_op_check", "strip_debug_ops",
               "use_structured_outputs_names", "output_node_names", "control_flow_v2", "experiments")
QUANTIZATION_BYTES = {1: "uint8", 2: "uint16"}
LAYERS_ONLY = ("tfjs-interop converts layers models only (keras, keras_keras, tfjs_layers_model); TF.js graph "
               "models, SavedModels, TF Hub modules and frozen graphs need the official tensorflowjs_converter")


@dataclass
class ConvertOptions:
    """What ``convert`` was asked for, whichever spelling asked it."""

    output_format: str | None = None  # TFJS or KERAS; None: told by the destination
    keras_suffix: str | None = None  # ".keras" for --output_format keras_keras
    tfjs: dict = field(default_factory=dict)  # save_tfjs options given


def add_converter_flags(parser: argparse.ArgumentParser) -> None:
    """The official converter's flags (underscored, as it spells them), beside ``convert``'s own."""
    group = parser.add_argument_group("tensorflowjs_converter flags (same meaning; see README)")
    group.add_argument("--input_format", metavar="|".join(INPUT_FORMATS),
                       help="check that SRC is a Keras HDF5 (keras), a .keras (keras_keras) or a TF.js layers model")
    group.add_argument("--output_format", metavar="|".join(OUTPUT_FORMATS),
                       help="write a TF.js layers model folder, a Keras .h5 (keras) or a .keras (keras_keras) file "
                            "(default: told by DST)")
    for dtype in sorted(QUANTIZED_DTYPES):
        group.add_argument(f"--quantize_{dtype}", nargs="?", const=True, default=None, metavar="PATTERNS",
                           help=f"quantize to {dtype} every float32 weight, or those matching comma-separated "
                                "fnmatch PATTERNS")
    group.add_argument("--quantization_bytes", type=int, choices=sorted(QUANTIZATION_BYTES),
                       help="(deprecated in the converter) 1: --quantize_uint8, 2: --quantize_uint16")
    group.add_argument("--split_weights_by_layer", action="store_true",
                       help="one weight group (group<k>-shard*.bin) per layer")
    for flag in GRAPH_FLAGS:
        group.add_argument(f"--{flag}", nargs="?", const=True, default=None, help=argparse.SUPPRESS)


def convert_options(args: argparse.Namespace) -> ConvertOptions:
    """Check the flags against each other and the files; fold both spellings into one set of options.

    Raises:
        InputError: naming the flag that does not apply, or its bad value.
    """
    _refuse_graph_flags(args)
    _recover_swallowed_path(args)
    options = ConvertOptions()
    if args.output_format is not None:
        if args.output_format not in OUTPUT_FORMATS:
            raise _format_error("--output_format", args.output_format, OUTPUT_FORMATS)
        options.output_format = TFJS if args.output_format == TFJS else KERAS
        options.keras_suffix = ".keras" if args.output_format == "keras_keras" else None
    if args.input_format is not None:
        check_input_format(args.input_format, args.src, args.weights)
    options.tfjs = _tfjs_options(args)
    return options


def _refuse_graph_flags(args: argparse.Namespace) -> None:
    given = [f"--{flag}" for flag in GRAPH_FLAGS if getattr(args, flag) is not None]
    if given:
        raise InputError(f"{', '.join(given)}: a flag of graph-model conversion, which does not apply here; "
                         f"{LAYERS_ONLY}")
    for flag in ("input_format", "output_format"):
        if getattr(args, flag) in GRAPH_FORMATS:
            raise InputError(f"--{flag} {getattr(args, flag)}: {LAYERS_ONLY}")


def _recover_swallowed_path(args: argparse.Namespace) -> None:
    """``--quantize_uint16 model.json out/`` (as the converter's README writes it) makes argparse take the model as
    the flag's patterns: when DST is missing and a quantize flag's value is an existing path, it was SRC."""
    if args.dst is not None:
        return
    for dtype in sorted(QUANTIZED_DTYPES):
        value = getattr(args, f"quantize_{dtype}")
        if isinstance(value, str) and os.path.exists(value):
            setattr(args, f"quantize_{dtype}", True)
            args.src, args.dst = value, args.src
            return
    raise InputError("convert needs SRC and DST: tfjs-interop convert [flags] SRC DST")


def check_input_format(input_format: str, src: str, weights: str | None) -> None:
    """Refuse SRC when it is not what ``--input_format`` says (the content decides, not the name)."""
    if input_format not in INPUT_FORMATS:
        raise _format_error("--input_format", input_format, INPUT_FORMATS)
    path = Path(src)
    head = b""
    if path.is_file():
        with path.open("rb") as file:
            head = file.read(8)
    kinds = {"keras": is_hdf5(head) or weights is not None, "keras_keras": is_zip(head),
             "tfjs_layers_model": path.is_dir() or head.lstrip()[:1] == b"{"}
    if not kinds[input_format]:
        expected = {"keras": "a Keras HDF5 (.h5) file", "keras_keras": "a Keras .keras (zip) file",
                    "tfjs_layers_model": "a TF.js model.json or its folder"}[input_format]
        raise InputError(f"--input_format {input_format}: expected SRC {src} to be {expected}")


def _tfjs_options(args: argparse.Namespace) -> dict:
    options: dict = {}
    quantize = _quantize(args)
    if quantize:
        options["quantize"] = quantize
    if args.shard_size is not None:
        options["shard_size_bytes"] = args.shard_size
    if args.metadata is not None:
        options["metadata"] = read_metadata(args.metadata)
    if args.split_weights_by_layer:
        options["split_weights_by_layer"] = True
    return options


def _quantize(args: argparse.Namespace) -> dict[str, list[str] | None] | None:
    """Both spellings as one ``quantize`` dict: a dtype without patterns takes the weights the others leave."""
    spec = quantize_spec(args.quantize)
    official = {dtype: getattr(args, f"quantize_{dtype}") for dtype in sorted(QUANTIZED_DTYPES)
                if getattr(args, f"quantize_{dtype}") is not None}
    if args.quantization_bytes is not None:
        if official:
            raise InputError("--quantization_bytes cannot be used with the --quantize_* flags")
        official[QUANTIZATION_BYTES[args.quantization_bytes]] = True
    if spec and official:
        raise InputError("give --quantize or the --quantize_<dtype> flags, not both")
    for dtype, value in official.items():
        patterns = [p for p in value.split(",") if p] if isinstance(value, str) else []
        (spec := spec or {})[dtype] = patterns or None
    return spec or None


def quantize_spec(values: list[str] | None) -> dict[str, list[str] | None] | None:
    """``--quantize uint8=dense*,lstm* --quantize float16`` -> {"uint8": ["dense*", "lstm*"], "float16": None}: a
    dtype without patterns takes the weights the others' patterns leave (the converter's rule)."""
    if not values:
        return None
    spec: dict[str, list[str] | None] = {}
    for value in values:
        dtype, _, patterns = value.partition("=")
        if dtype not in QUANTIZED_DTYPES:
            raise InputError(f"--quantize {value}: unknown dtype {dtype!r}; expected one of "
                             f"{', '.join(sorted(QUANTIZED_DTYPES))}, optionally =PATTERNS")
        names = [p for p in patterns.split(",") if p]
        if names:
            spec[dtype] = (spec.get(dtype) or []) + names
        elif dtype not in spec:
            spec[dtype] = None
    return spec


def read_metadata(value: str) -> dict:
    """``--metadata``: a JSON object file (stored whole), or the converter's ``key:path[,key:path]`` (each file's
    JSON stored under its key)."""
    if os.path.isfile(value):
        metadata = _json_file(value)
        if not isinstance(metadata, dict):
            raise InputError(f"--metadata {value}: must hold a JSON object, found {type(metadata).__name__}")
        return metadata
    pairs = [item.partition(":") for item in value.split(",")]
    if not all(key and sep and path for key, sep, path in pairs):
        raise InputError(f"--metadata {value}: expected a JSON file or key:path[,key:path...] (no such file)")
    return {key: _json_file(path) for key, _, path in pairs}


def _json_file(path: str) -> object:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"--metadata: cannot read {path}: {exc.strerror or exc}") from None
    return parse_json(data, path)


def _format_error(flag: str, value: str, choices: tuple[str, ...]) -> InputError:
    return InputError(f"{flag} {value}: expected one of {', '.join(choices)}")
