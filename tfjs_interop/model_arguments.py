"""The command line's model-loading arguments: ``load``'s parameters as one set of flags, shared by every command
that loads a model (``summary``, ``predict``, ``convert``, ``verify``, ``golden``, ``serve``)."""

from __future__ import annotations

import argparse

from .errors import InputError
from .formats.common import DEFAULT_MAX_BYTES

MODEL_HELP = ("the model: a TF.js model.json or its folder or its http(s) URL, a Keras .h5 or .keras file, or a "
              "Keras topology JSON (with --weights)")
WEIGHTS_HELP = "a Keras weights file (.h5 or .weights.h5) to use instead of the model's own weights"


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``load``'s options (not the model's path): --weights, --max-bytes, and for URLs --timeout,
    --deadline, --cache-dir, --header."""
    parser.add_argument("--weights", metavar="FILE", help=WEIGHTS_HELP)
    parser.add_argument("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES, metavar="N",
                        help=f"refuse models that need more than N bytes (default {DEFAULT_MAX_BYTES})")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                        help="for URLs: seconds to wait for the server to connect or send data (default 30)")
    parser.add_argument("--deadline", type=float, default=None, metavar="SECONDS",
                        help="for URLs: seconds the whole fetch may take, however slowly the server sends "
                             "(default: no limit)")
    parser.add_argument("--cache-dir", default=None, metavar="DIR",
                        help="for URLs: keep fetched files in DIR, revalidated each time, used when offline")
    parser.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                        help="for URLs: an HTTP header sent with every request (repeat for several)")


def load_options(args: argparse.Namespace) -> dict:
    """The keyword arguments of ``load`` that the flags of :func:`add_load_arguments` give.

    Raises:
        InputError: for a --header that is not ``NAME: VALUE``.
    """
    return {"weights": args.weights, "max_bytes": args.max_bytes, "timeout": args.timeout,
            "deadline": args.deadline, "cache_dir": args.cache_dir,
            "headers": dict(_header(text) for text in args.header)}


def positive_int(text: str) -> int:
    """An argparse type: a positive integer."""
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise InputError(f"--header {text!r}: expected 'NAME: VALUE'")
    return name.strip(), value.strip()
