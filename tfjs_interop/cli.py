"""The ``tfjs-interop`` command line (also ``python -m tfjs_interop``)."""

from __future__ import annotations

import argparse
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import __version__
from .errors import InputError, TfjsInteropError
from .formats.common import DEFAULT_MAX_BYTES
from .loading import load


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 usage or input error)."""
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
    summary.add_argument("path", help="a model.json or the folder holding it, or an http(s) URL of a model.json")
    _loading_options(summary)
    summary.set_defaults(run=_summary)

    predict = commands.add_parser(
        "predict", help="run a model on inputs from .npy/.npz files",
        description="Run a model on inputs from .npy files (one per input, in input order) or one .npz (arrays "
                    "named after the inputs, or in order), and save the outputs as .npy (one output) or .npz.")
    predict.add_argument("path", help="a model.json or the folder holding it, or an http(s) URL of a model.json")
    _loading_options(predict)
    predict.add_argument("--input", "-i", action="append", required=True, metavar="FILE",
                         help="an input .npy (repeat for several inputs, in order) or one .npz")
    predict.add_argument("--output", "-o", required=True, metavar="FILE",
                         help="where to write the outputs: .npy (one output) or .npz (output_0, output_1, ...)")
    predict.add_argument("--batch-size", type=int, default=None, help="samples per batch (default: all at once)")
    predict.set_defaults(run=_predict)
    return parser


def _loading_options(parser: argparse.ArgumentParser) -> None:
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
    return load(args.path, max_bytes=args.max_bytes, timeout=args.timeout, cache_dir=args.cache_dir)


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
