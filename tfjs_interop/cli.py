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
from .loading import load
from .report import Report


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 verify found a mismatch, 2 usage or input error)."""
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
    summary.add_argument("path", help="a model.json or the folder holding it")
    summary.set_defaults(run=_summary)

    predict = commands.add_parser(
        "predict", help="run a model on inputs from .npy/.npz files",
        description="Run a model on inputs from .npy files (one per input, in input order) or one .npz (arrays "
                    "named after the inputs, or in order), and save the outputs as .npy (one output) or .npz.")
    predict.add_argument("path", help="a model.json or the folder holding it")
    predict.add_argument("--input", "-i", action="append", required=True, metavar="FILE",
                         help="an input .npy (repeat for several inputs, in order) or one .npz")
    predict.add_argument("--output", "-o", required=True, metavar="FILE",
                         help="where to write the outputs: .npy (one output) or .npz (output_0, output_1, ...)")
    predict.add_argument("--batch-size", type=int, default=None, help="samples per batch (default: all at once)")
    predict.set_defaults(run=_predict)

    verify = commands.add_parser(
        "verify", help="compare a model's outputs with TensorFlow's (or a golden record)",
        description="Run a model in the NumPy runtime and compare every output with the same model in Keras 3 "
                    "(TensorFlow), or with a golden .npz record. Exit status: 0 pass, 1 mismatch, 2 error.")
    verify.add_argument("path", help="a model.json or the folder holding it")
    verify.add_argument("--inputs", metavar="FILE.npz", help="inputs (arrays named after the inputs, or in order); "
                                                           "default: seeded inputs that fit the model")
    verify.add_argument("--against", default="tensorflow", metavar="tensorflow|GOLDEN.npz",
                        help="the reference: 'tensorflow' (default) or a golden record .npz")
    verify.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    verify.set_defaults(run=_verify)
    return parser


def _summary(args: argparse.Namespace) -> int:
    load(args.path).summary()
    return 0


def _predict(args: argparse.Namespace) -> int:
    model = load(args.path)
    inputs = _read_inputs(args.input, [spec.name for spec in model.inputs])
    outputs = model.predict(inputs, batch_size=args.batch_size)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    _write_outputs(Path(args.output), outputs)
    shapes = ", ".join(str(o.shape) for o in outputs)
    print(f"wrote {len(outputs)} output(s) {shapes} to {args.output}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    if args.against == "tensorflow":
        from .verify import verify

        model = load(args.path)
        inputs = None if args.inputs is None else _read_inputs([args.inputs], [s.name for s in model.inputs])
        report = verify(model, inputs)
    elif args.inputs is not None:
        raise InputError("--inputs applies to --against tensorflow; a golden record holds its own inputs")
    else:
        report = _golden_check(args.path, args.against)
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return 0 if report.passed else 1


def _golden_check(model_path: str, golden_path: str) -> Report:
    if not golden_path.endswith(".npz"):
        raise InputError(f"--against must be 'tensorflow' or a golden record .npz, got {golden_path!r}")
    try:
        from .golden import check
    except ImportError:
        raise InputError("golden records are not available in this installation (tfjs_interop.golden is "
                         "missing); use --against tensorflow") from None
    return check(model_path, golden_path)


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
