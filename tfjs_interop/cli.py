"""The ``tfjs-interop`` command line (also ``python -m tfjs_interop``).

One spelling per option across commands: ``--input`` (repeat or list several; ``--inputs`` is an alias),
``--output`` (``--out``), ``--json``, ``--weights``, ``--quiet``. Every destination is checked before any work.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .converter_flags import add_converter_flags, convert_options
from .errors import InputError, TfjsInteropError
from .exits import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, INTERRUPTED
from .formats import isolation
from .formats.atomic import write_file
from .formats.golden_file import read_input_file
from .formats.remote import is_url
from .golden import compare_golden, default_golden_path, output_names, read_golden, write_golden
from .json_io import ROWS, format_outputs, parse_inputs
from .loading import load
from .model_arguments import MODEL_HELP, add_load_arguments, load_options, positive_int
from .progress import progress
from .report import Report
from .runtime.summary import summary_dict
from .runtime.threads import set_num_threads
from .saving import KERAS, TFJS, check_destination, destination_kind, save
from .serving.command import add_serve_command
from .version import __version__

OUTPUT_SUFFIXES = (".npy", ".npz", ".json")
STDIO = "-"
_TEMP_NAME = re.compile(r"[^\s'\"]*/\.[^/\s'\"]+\.tmp(?:/[^\s'\":]*)?")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 a check or verify found a mismatch, 2 usage or input
    error, 130 interrupted)."""
    args = _parser().parse_args(argv)
    try:
        with warnings.catch_warnings():  # restores the caller's warning display when main() runs in-process
            warnings.showwarning = _show_warning
            status = args.run(args)
        sys.stdout.flush()
        return status
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): say nothing, and keep Python from failing again at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except TfjsInteropError as exc:
        _error(_without_temp_names(str(exc), args))
        return 2
    except OSError as exc:
        where = f"{_without_temp_names(exc.filename, args)}: " if exc.filename else ""
        _error(f"{where}{exc.strerror or exc}")
        return 2


ENVIRONMENT_HELP = (
    f"environment: {isolation.ENV_TIMEOUT}=SECONDS bounds the HDF5 part of reading a Keras .h5/.keras file "
    f"(default {isolation.DEFAULT_TIMEOUT:.0f}, plus 1 per 50 MB; it runs in a worker process, and a file that hangs "
    f"or crashes the HDF5 library is reported as corrupt); {isolation.ENV_SWITCH}=1 runs it in this process instead.")


def _error(message: str) -> None:
    print(f"tfjs-interop: error: {message}", file=sys.stderr)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """Warnings as one line, without the Python source line that raised them."""
    print(f"tfjs-interop: warning: {message}", file=sys.stderr)


def _without_temp_names(text: str, args: argparse.Namespace) -> str:
    """A message naming the destination being written, not the temporary file beside it."""
    return _TEMP_NAME.sub(str(getattr(args, "destination", None) or "the destination"), str(text))


# -- the parser ----------------------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tfjs-interop", description="Run TF.js and Keras models in NumPy.",
                                     epilog=ENVIRONMENT_HELP)
    parser.add_argument("--version", action="version", version=f"tfjs-interop {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    summary = commands.add_parser("summary", help="print a model's inputs, layers, output shapes and parameters",
                                  description="Print a Keras-style summary of a model, or its JSON form.")
    _model_arguments(summary)
    summary.add_argument("--json", action="store_true",
                         help="print inputs and outputs in order (name, shape, dtype), layers and parameter counts "
                              "as JSON instead of the table")
    summary.add_argument("--output", "--out", "-o", dest="output", default=STDIO, metavar="FILE",
                         help="write the summary to FILE instead of stdout")
    summary.set_defaults(run=_summary)
    _add_predict(commands)
    _add_convert(commands)
    verify = commands.add_parser(
        "verify", help="compare a model's outputs with TensorFlow's (or a golden record)",
        description="Run a model in the NumPy runtime and compare every output with the same model in Keras 3 "
                    "(TensorFlow), or with a golden .npz record. Exit status: 0 pass, 1 mismatch, 2 error.")
    _model_arguments(verify)
    _input_argument(verify, required=False, default_help="; default: seeded inputs that fit the model")
    verify.add_argument("--against", default="tensorflow", metavar="tensorflow|GOLDEN.npz",
                        help="the reference: 'tensorflow' (default) or a golden record .npz")
    _json_argument(verify)
    verify.set_defaults(run=_verify)
    _add_golden_commands(commands)
    add_serve_command(commands)
    return parser


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    """The model to load and how (``load``'s arguments), and --quiet."""
    parser.add_argument("path", help=MODEL_HELP)
    add_load_arguments(parser)
    _quiet_argument(parser)


def _quiet_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bars (they are drawn only when stderr is a terminal)")


def _input_argument(parser: argparse.ArgumentParser, required: bool, default_help: str = "") -> None:
    parser.add_argument("--input", "--inputs", "-i", dest="input", action="extend", nargs="+", required=required,
                        metavar="FILE", help="one .npy per input in order, or one .npz (arrays named after the "
                                             "inputs, or in order), or one .json (TF Serving's instances/inputs "
                                             f"forms, or a nested list; - reads stdin){default_help}")


def _json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="FILE", help="also write the report as JSON to FILE (- for stdout)")


def _add_predict(commands: argparse._SubParsersAction) -> None:
    predict = commands.add_parser(
        "predict", help="run a model on inputs from .npy/.npz/.json files",
        description="Run a model on inputs from .npy files (one per input, in input order), one .npz (arrays "
                    "named after the inputs, or in order) or one JSON request (TF Serving's forms), and save the "
                    "outputs as .npy (one output), .npz or JSON (to a file, or - for stdout).")
    _model_arguments(predict)
    _input_argument(predict, required=True)
    predict.add_argument("--output", "--out", "-o", dest="output", required=True, metavar="FILE",
                         help="where to write the outputs: .npy (one output), .npz (output_0, output_1, ...), "
                              ".json, or - (JSON on stdout)")
    predict.add_argument("--outputs", nargs="+", metavar="NAME",
                         help="only these outputs, in this order (names as `summary --json` lists them)")
    predict.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                         help="samples per batch (default: all at once)")
    predict.add_argument("--threads", type=positive_int, default=None, metavar="N",
                         help="threads for BLAS and the compiled kernels (default: TFJS_INTEROP_THREADS, else "
                              "BLAS's own setting and one kernel thread)")
    predict.set_defaults(run=_predict)


def _add_convert(commands: argparse._SubParsersAction) -> None:
    convert = commands.add_parser(
        "convert", help="convert a model: to a TF.js layers model folder, or to a Keras .h5 / .keras file",
        description="Convert SRC to DST. A DST ending in .h5 or .keras is written as a Keras file; an existing "
                    "folder, a DST ending in / or without a suffix receives a TF.js layers model (model.json + "
                    "group1-shard*.bin); any other suffix is refused. Nothing is written when the model cannot "
                    "be represented. The official tensorflowjs_converter's layers-model flags work too.")
    convert.add_argument("src", help=MODEL_HELP)
    convert.add_argument("dst", nargs="?", help="a folder (TF.js) or a .h5 / .keras file (Keras)")
    add_load_arguments(convert)
    convert.add_argument("--quantize", action="append", metavar="DTYPE[=PATTERNS]",
                         help="quantize float32 weights to float16, uint8 or uint16, all of them or those whose "
                              "names match comma-separated fnmatch PATTERNS (repeat for several dtypes)")
    convert.add_argument("--shard-size", "--weight_shard_size_bytes", dest="shard_size", type=positive_int,
                         default=None, metavar="BYTES", help="largest weight file in bytes (default 4194304)")
    convert.add_argument("--metadata", metavar="FILE.json|KEY:PATH[,KEY:PATH]",
                         help="userDefinedMetadata: a JSON object file, or the converter's key:path pairs")
    convert.add_argument("--overwrite", action="store_true", help="replace an existing DST")
    _quiet_argument(convert)
    add_converter_flags(convert)
    convert.set_defaults(run=_convert)


def _add_golden_commands(commands: argparse._SubParsersAction) -> None:
    golden = commands.add_parser("golden", help="record or check a model's golden outputs",
                                 description="Record a model's outputs on fixed inputs, or check it still computes "
                                             "them (no TensorFlow needed).")
    actions = golden.add_subparsers(dest="golden_command", required=True, metavar="ACTION")
    record = actions.add_parser("record", help="run a model on inputs and store inputs, outputs and file hashes",
                                description="Run a model on inputs and store inputs, outputs, tolerances and the "
                                            "SHA-256 of the model's files in one .npz.")
    _model_arguments(record)
    _input_argument(record, required=True)
    record.add_argument("--output", "--out", "-o", dest="output", metavar="FILE",
                        help="the golden file to write (default: golden.npz in a TF.js model's folder, "
                             "<stem>.golden.npz beside a single-file model: where load(check=True) looks)")
    record.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance of later checks (default 1e-5)")
    record.add_argument("--rtol", type=float, default=1e-4, help="relative tolerance of later checks (default 1e-4)")
    record.set_defaults(run=_golden_record)
    check = actions.add_parser("check", help="check a model against a golden file (exit 0 pass, 1 mismatch)",
                               description="Run a model on a golden file's inputs and compare with its outputs. "
                                           "Exit 0 when every output matches, 1 when one differs, 2 on errors.")
    _model_arguments(check)
    check.add_argument("golden", nargs="?", help="the golden .npz file (default: the one beside the model)")
    _json_argument(check)
    check.set_defaults(run=_golden_check)


# -- loading, inputs, outputs -------------------------------------------------------------------------------------
def _load(args: argparse.Namespace):
    """The command's model loaded with its load flags; a URL's download draws a progress bar."""
    path = args.path
    options = load_options(args)
    if not is_url(path):
        return load(path, **options)
    with progress(100, "download", _verbose(args), unit="%") as bar:
        done = [0.0]

        def on_progress(fraction: float) -> None:
            bar.update(100 * (fraction - done[0]))
            done[0] = fraction

        return load(path, on_progress=on_progress, **options)


def _verbose(args: argparse.Namespace) -> str | int:
    return 0 if args.quiet else "auto"


def _read_inputs(files: list[str], names: list[str]) -> tuple[list[np.ndarray] | dict[str, np.ndarray], str]:
    """The inputs of --input, and the JSON form they came in (rows, for arrays)."""
    if len(files) == 1 and (files[0] == STDIO or files[0].endswith(".json")):
        text = sys.stdin.buffer.read() if files[0] == STDIO else Path(files[0]).read_bytes()
        return parse_inputs(text, names, "stdin" if files[0] == STDIO else files[0])
    if len(files) == 1 and files[0].endswith(".npz"):
        return read_input_file(Path(files[0]), names), ROWS
    for file in files:
        if not file.endswith(".npy"):
            raise InputError(f"--input {file}: inputs must be .npy files (one per input), or one .npz or .json")
    return [read_input_file(Path(file), names)[0] for file in files], ROWS


def check_writable(path: str, flag: str) -> None:
    """Refuse, before any work, an output file whose folder cannot be made or written (``-`` is stdout)."""
    if path == STDIO:
        return
    target = Path(os.path.abspath(path))
    if target.is_dir():
        raise InputError(f"{flag} {path}: is a folder; give a file name")
    existing = next(p for p in target.parents if p.exists())
    if not existing.is_dir():
        raise InputError(f"{flag} {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK):
        raise InputError(f"{flag} {path}: cannot write in {existing}")


def _write_text(path: str, text: str) -> None:
    if path == STDIO:
        _write_stdout((text + "\n").encode())
        return
    _write_file(path, (text + "\n").encode())


def _write_file(path: str, data: bytes | Callable[[BinaryIO], object]) -> None:
    """Write ``path`` by the one atomic writer (:mod:`.formats.atomic`); a FIFO or device (``/dev/stdout``),
    which cannot be replaced, is written through."""
    target = Path(path)
    if target.exists() and not target.is_file() and not target.is_dir():
        with open(target, "wb") as stream:
            data(stream) if callable(data) else stream.write(data)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    write_file(target, data)


def _write_stdout(data: bytes) -> None:
    """All of ``data`` on stdout: a large write to a pipe whose reader left can return short without an error,
    so the rest is written until it lands or raises BrokenPipeError."""
    sys.stdout.flush()
    view = memoryview(data)
    while view:
        view = view[sys.stdout.buffer.write(view) or 0:]
        sys.stdout.buffer.flush()


# -- the commands --------------------------------------------------------------------------------------------------
def _summary(args: argparse.Namespace) -> int:
    check_writable(args.output, "--output")
    model = _load(args)
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    _write_text(args.output, json.dumps(summary_dict(model), indent=2) if args.json else "\n".join(lines))
    return 0


def _predict(args: argparse.Namespace) -> int:
    suffix = Path(args.output).suffix if args.output != STDIO else ".json"
    if suffix not in OUTPUT_SUFFIXES:
        raise InputError(f"--output {args.output}: must end in .npy, .npz or .json, or be - (JSON on stdout)")
    check_writable(args.output, "--output")
    args.destination = args.output
    if args.threads is not None:
        set_num_threads(args.threads)
    model = _load(args)
    names = _selected_outputs(model, args.outputs)
    if suffix == ".npy" and len(names) != 1:
        raise InputError(f"--output {args.output}: the model gives {len(names)} outputs {names}; write them to a "
                         ".npz or .json, or pick one with --outputs")
    inputs, form = _read_inputs(args.input, [spec.name for spec in model.inputs])
    outputs = model.predict(inputs, batch_size=args.batch_size, verbose=_verbose(args))
    by_name = dict(zip(output_names(model), outputs if isinstance(outputs, list) else [outputs]))
    chosen = {name: by_name[name] for name in names}
    _write_outputs(args.output, suffix, chosen, form)
    if args.output != STDIO:
        shapes = ", ".join(str(o.shape) for o in chosen.values())
        print(f"wrote {len(chosen)} output(s) {shapes} to {args.output}")
    return 0


def _selected_outputs(model, wanted: list[str] | None) -> list[str]:
    names = output_names(model)
    unknown = [name for name in wanted or [] if name not in names]
    if unknown:
        raise InputError(f"--outputs: no output named {', '.join(map(repr, unknown))}; the outputs are {names}")
    return list(wanted) if wanted else names


def _write_outputs(path: str, suffix: str, outputs: dict[str, np.ndarray], form: str) -> None:
    if suffix == ".json":
        _write_text(path, format_outputs(outputs, form))
        return
    if suffix == ".npy":
        _write_file(path, lambda stream: np.save(stream, next(iter(outputs.values()))))
    else:
        _write_file(path, lambda stream: np.savez(stream, **{f"output_{i}": output
                                                             for i, output in enumerate(outputs.values())}))


def _convert(args: argparse.Namespace) -> int:
    options = convert_options(args)
    kind = destination_kind(args.dst, options.output_format)
    if options.keras_suffix and not args.dst.endswith(options.keras_suffix):
        raise InputError(f"--output_format keras_keras: DST {args.dst} must end in .keras")
    if kind == KERAS and options.tfjs:
        flags = {"quantize": "--quantize", "shard_size_bytes": "--shard-size", "metadata": "--metadata",
                 "split_weights_by_layer": "--split_weights_by_layer"}
        used = [flags[key] for key in options.tfjs]
        raise InputError(f"{', '.join(used)} appl{'ies' if len(used) == 1 else 'y'} to TF.js output only, not to "
                         f"{args.dst}")
    check_destination(args.dst, args.overwrite, kind)
    args.destination = args.dst
    with progress(2, "convert", _verbose(args), unit="step") as bar:
        model = load(args.src, **load_options(args))  # no download bar inside the convert bar
        bar.update(1)
        out = save(model, args.dst, overwrite=args.overwrite, output_format=kind, **options.tfjs)
        bar.update(1)
    if kind == TFJS:
        shards = sorted(out.glob("group*-shard*.bin"))
        size = sum(p.stat().st_size for p in shards)
        print(f"wrote a TF.js layers model to {out}: model.json and {len(shards)} weight file(s), {size} bytes")
    else:
        print(f"wrote a Keras model to {args.dst}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    if args.json not in (None, STDIO):
        check_writable(args.json, "--json")
    if args.against == "tensorflow":
        from .verification import verify

        model = _load(args)
        inputs = None if args.input is None else _read_inputs(args.input, [s.name for s in model.inputs])[0]
        report = verify(model, inputs)
    elif args.input is not None:
        raise InputError("--input applies to --against tensorflow; a golden record holds its own inputs")
    elif not args.against.endswith(".npz"):
        raise InputError(f"--against must be 'tensorflow' or a golden record .npz, got {args.against!r}")
    else:
        report = _check_golden(args, args.against)
    return _print_report(report, args.json)


def _golden_record(args: argparse.Namespace) -> int:
    if args.output is None and is_url(args.path):
        raise InputError("--output: a model at a URL has no folder to keep its golden record in; give a file")
    out = args.output or str(default_golden_path(args.path))
    check_writable(out, "--output")
    args.destination = out
    model = _load(args)
    inputs, _ = _read_inputs(args.input, [spec.name for spec in model.inputs])
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    path = write_golden(model, inputs, out, args.path, atol=args.atol, rtol=args.rtol)
    golden = read_golden(path)
    shapes = ", ".join(f"{name} {list(value.shape)}" for name, value in golden.outputs.items())
    print(f"recorded {len(golden.outputs)} output(s) ({shapes}) and {len(golden.files)} model file hash(es) to {path}")
    return 0


def _golden_check(args: argparse.Namespace) -> int:
    if args.json not in (None, STDIO):
        check_writable(args.json, "--json")
    return _print_report(_check_golden(args, args.golden or str(default_golden_path(args.path))), args.json)


def _check_golden(args: argparse.Namespace, golden_path: str) -> Report:
    golden = read_golden(golden_path)
    return compare_golden(_load(args), golden, Path(golden_path).name, args.path)


def _print_report(report: Report, json_path: str | None) -> int:
    if json_path == STDIO:
        _write_text(STDIO, json.dumps(report.to_dict(), indent=2))
    else:
        print(report.table())
        if json_path:
            _write_text(json_path, json.dumps(report.to_dict(), indent=2))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
