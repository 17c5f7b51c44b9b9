"""The ``tfjs-interop`` command line (also ``python -m tfjs_interop``)."""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import __version__
from .errors import InputError, TfjsInteropError
from .formats.common import DEFAULT_MAX_BYTES, parse_json
from .formats.keras_save import save_keras
from .formats.manifest import QUANTIZED_DTYPES
from .golden import GOLDEN_FILE, read_golden, write_golden
from .golden import check as golden_check
from .loading import load
from .report import Report
from .serving.command import add_serve_command
from .writing import save_tfjs

KERAS_SUFFIXES = (".h5", ".keras")

MODEL_HELP = ("the model: a TF.js model.json or its folder or its http(s) URL, a Keras .h5 or .keras file, or a "
              "Keras topology JSON")
WEIGHTS_HELP = "a Keras weights file (.h5 or .weights.h5) to use instead of the model's own weights"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 a check or verify found a mismatch, 2 usage or input
    error)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except TfjsInteropError as exc:
        print(f"tfjs-interop: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"tfjs-interop: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tfjs-interop", description="Run TF.js and Keras models in NumPy.")
    parser.add_argument("--version", action="version", version=f"tfjs-interop {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    summary = commands.add_parser("summary", help="print a model's layers, output shapes and parameter counts",
                                  description="Print a Keras-style summary of a model.")
    _model_arguments(summary)
    summary.set_defaults(run=_summary)

    predict = commands.add_parser(
        "predict", help="run a model on inputs from .npy/.npz files",
        description="Run a model on inputs from .npy files (one per input, in input order) or one .npz (arrays "
                    "named after the inputs, or in order), and save the outputs as .npy (one output) or .npz.")
    _model_arguments(predict)
    predict.add_argument("--input", "-i", action="append", required=True, metavar="FILE",
                         help="an input .npy (repeat for several inputs, in order) or one .npz")
    predict.add_argument("--output", "-o", required=True, metavar="FILE",
                         help="where to write the outputs: .npy (one output) or .npz (output_0, output_1, ...)")
    predict.add_argument("--batch-size", type=int, default=None, help="samples per batch (default: all at once)")
    predict.set_defaults(run=_predict)

    convert = commands.add_parser(
        "convert", help="convert a model: to a TF.js layers model folder, or to a Keras .h5 / .keras file",
        description="Convert SRC to DST. A DST ending in .h5 or .keras is written as a Keras file; any other DST is "
                    "a folder that receives a TF.js layers model (model.json + group1-shard*.bin). Nothing is "
                    "written when the model cannot be represented.")
    convert.add_argument("src", help=MODEL_HELP)
    convert.add_argument("dst", help="a folder (TF.js) or a .h5 / .keras file (Keras)")
    convert.add_argument("--quantize", action="append", metavar="DTYPE[=PATTERNS]",
                         help="quantize float32 weights to float16, uint8 or uint16, all of them or those whose "
                              "names match comma-separated fnmatch PATTERNS (repeat for several dtypes)")
    convert.add_argument("--shard-size", type=int, default=None, metavar="BYTES",
                         help="largest weight file in bytes (default 4194304)")
    convert.add_argument("--metadata", metavar="FILE.json", help="a JSON object stored as userDefinedMetadata")
    convert.add_argument("--overwrite", action="store_true", help="replace a non-empty DST")
    convert.set_defaults(run=_convert)
    verify = commands.add_parser(
        "verify", help="compare a model's outputs with TensorFlow's (or a golden record)",
        description="Run a model in the NumPy runtime and compare every output with the same model in Keras 3 "
                    "(TensorFlow), or with a golden .npz record. Exit status: 0 pass, 1 mismatch, 2 error.")
    verify.add_argument("path", help=MODEL_HELP)
    verify.add_argument("--inputs", metavar="FILE.npz", help="inputs (arrays named after the inputs, or in order); "
                                                           "default: seeded inputs that fit the model")
    verify.add_argument("--against", default="tensorflow", metavar="tensorflow|GOLDEN.npz",
                        help="the reference: 'tensorflow' (default) or a golden record .npz")
    verify.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    verify.set_defaults(run=_verify)
    _add_golden_commands(commands)
    add_serve_command(commands)
    return parser


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    """The model to load and how: ``load``'s arguments, for the commands that take one model."""
    parser.add_argument("path", help=MODEL_HELP)
    parser.add_argument("--weights", metavar="FILE", help=WEIGHTS_HELP)
    parser.add_argument("--max-bytes", type=_positive_int, default=DEFAULT_MAX_BYTES, metavar="N",
                        help=f"refuse models that need more than N bytes (default {DEFAULT_MAX_BYTES})")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                        help="for URLs: seconds to wait for the server to connect or send data (default 30)")
    parser.add_argument("--cache-dir", default=None, metavar="DIR",
                        help="for URLs: keep fetched files in DIR, revalidated each time, used when offline")


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _load(args: argparse.Namespace):
    return load(args.path, weights=args.weights, max_bytes=args.max_bytes, timeout=args.timeout,
                cache_dir=args.cache_dir)


def _summary(args: argparse.Namespace) -> int:
    _load(args).summary()
    return 0


def _predict(args: argparse.Namespace) -> int:
    model = _load(args)
    inputs = _read_inputs(args.input, [spec.name for spec in model.inputs])
    outputs = model.predict(inputs, batch_size=args.batch_size)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    _write_outputs(Path(args.output), outputs)
    shapes = ", ".join(str(o.shape) for o in outputs)
    print(f"wrote {len(outputs)} output(s) {shapes} to {args.output}")
    return 0


def _convert(args: argparse.Namespace) -> int:
    if args.dst.endswith(KERAS_SUFFIXES):
        return _convert_to_keras(args)
    options = {"quantize": _quantize_spec(args.quantize), "metadata": _read_metadata(args.metadata),
               "overwrite": args.overwrite}
    if args.shard_size is not None:
        options["shard_size_bytes"] = args.shard_size
    out = save_tfjs(load(args.src), args.dst, **options)
    shards = sorted(out.glob("group*-shard*.bin"))
    size = sum(p.stat().st_size for p in shards)
    print(f"wrote a TF.js layers model to {out}: model.json and {len(shards)} weight file(s), {size} bytes")
    return 0


def _convert_to_keras(args: argparse.Namespace) -> int:
    used = [flag for flag, value in (("--quantize", args.quantize), ("--shard-size", args.shard_size),
                                     ("--metadata", args.metadata)) if value is not None]
    if used:
        raise InputError(f"{', '.join(used)} appl{'ies' if len(used) == 1 else 'y'} to TF.js output only, not to "
                         f"{args.dst}")
    if Path(args.dst).exists() and not args.overwrite:
        raise InputError(f"{args.dst} exists; pass --overwrite to replace it")
    save_keras(load(args.src), args.dst)
    print(f"wrote a Keras model to {args.dst}")
    return 0


def _quantize_spec(values: list[str] | None) -> dict[str, list[str] | None] | None:
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


def _read_metadata(file: str | None) -> dict | None:
    if file is None:
        return None
    metadata = parse_json(Path(file).read_bytes(), file)
    if not isinstance(metadata, dict):
        raise InputError(f"{file}: metadata must be a JSON object, found {type(metadata).__name__}")
    return metadata


def _verify(args: argparse.Namespace) -> int:
    if args.against == "tensorflow":
        from .verify import verify

        model = load(args.path)
        inputs = None if args.inputs is None else _read_inputs([args.inputs], [s.name for s in model.inputs])
        report = verify(model, inputs)
    elif args.inputs is not None:
        raise InputError("--inputs applies to --against tensorflow; a golden record holds its own inputs")
    else:
        report = _verify_against_golden(args.path, args.against)
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return 0 if report.passed else 1


def _verify_against_golden(model_path: str, golden_path: str) -> Report:
    if not golden_path.endswith(".npz"):
        raise InputError(f"--against must be 'tensorflow' or a golden record .npz, got {golden_path!r}")
    return golden_check(model_path, golden_path)


def _read_inputs(files: list[str], names: list[str]) -> list[np.ndarray] | dict[str, np.ndarray]:
    if len(files) == 1 and files[0].endswith(".npz"):
        arrays = _load_arrays(files[0])
        if set(names) <= set(arrays):
            return {name: arrays[name] for name in names}
        return list(arrays.values())
    for file in files:
        if not file.endswith(".npy"):
            raise InputError(f"{file}: inputs must be .npy files (or one .npz)")
    return [_load_arrays(file)[""] for file in files]


def _load_arrays(file: str) -> dict[str, np.ndarray]:
    """The arrays of a .npy (under the key "") or .npz file, or an InputError saying why not."""
    try:
        loaded = np.load(file, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return {"": loaded}
        with loaded as archive:
            return {key: archive[key] for key in archive.files}
    except OSError:
        raise
    except (ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"{file}: not a readable NumPy array file: {exc}") from None


def _add_golden_commands(commands: argparse._SubParsersAction) -> None:
    golden = commands.add_parser("golden", help="record or check a model's golden outputs",
                                 description="Record a model's outputs on fixed inputs, or check it still computes "
                                             "them (no TensorFlow needed).")
    actions = golden.add_subparsers(dest="golden_command", required=True, metavar="ACTION")
    record = actions.add_parser("record", help="run a model on inputs and store inputs, outputs and file hashes",
                                description="Run a model on inputs and store inputs, outputs, tolerances and the "
                                            "SHA-256 of the model's files in one .npz.")
    record.add_argument("path", help=MODEL_HELP)
    record.add_argument("--inputs", "-i", nargs="+", required=True, metavar="FILE",
                        help="one .npy per input, in order, or one .npz (arrays named after the inputs, or in order)")
    record.add_argument("--out", "-o", default=GOLDEN_FILE, help=f"the golden file to write (default {GOLDEN_FILE})")
    record.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance of later checks (default 1e-5)")
    record.add_argument("--rtol", type=float, default=1e-4, help="relative tolerance of later checks (default 1e-4)")
    record.set_defaults(run=_golden_record)
    check = actions.add_parser("check", help="check a model against a golden file (exit 0 pass, 1 mismatch)",
                               description="Run a model on a golden file's inputs and compare with its outputs. "
                                           "Exit 0 when every output matches, 1 when one differs, 2 on errors.")
    check.add_argument("path", help=MODEL_HELP)
    check.add_argument("golden", help="the golden .npz file")
    check.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    check.set_defaults(run=_golden_check)


def _golden_record(args: argparse.Namespace) -> int:
    model = load(args.path)
    inputs = _read_inputs(args.inputs, [spec.name for spec in model.inputs])
    path = write_golden(model, inputs, args.out, args.path, atol=args.atol, rtol=args.rtol)
    golden = read_golden(path)
    shapes = ", ".join(f"{name} {list(value.shape)}" for name, value in golden.outputs.items())
    print(f"recorded {len(golden.outputs)} output(s) ({shapes}) and {len(golden.files)} model file hash(es) to {path}")
    return 0


def _golden_check(args: argparse.Namespace) -> int:
    report = golden_check(args.path, args.golden)
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return 0 if report.passed else 1


def _write_outputs(path: Path, outputs: list[np.ndarray]) -> None:
    if path.suffix == ".npy":
        if len(outputs) != 1:
            raise InputError(f"{path}: the model has {len(outputs)} outputs; write them to a .npz")
        np.save(path, outputs[0])
    elif path.suffix == ".npz":
        np.savez(path, **{f"output_{i}": output for i, output in enumerate(outputs)})
    else:
        raise InputError(f"{path}: the output file must end in .npy or .npz")


if __name__ == "__main__":
    sys.exit(main())
