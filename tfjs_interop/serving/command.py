"""The ``tfjs-interop serve`` subcommand (registered by ``cli``; imports the HTTP stack only when it runs)."""

from __future__ import annotations

import argparse

from ..model_arguments import add_load_arguments, load_options
from .batching import BatchingOptions
from .limits import BODY_SECONDS, DEFAULT_MAX_REQUEST_BYTES

DEFAULTS = BatchingOptions()


def add_serve_command(commands: argparse._SubParsersAction) -> None:
    """Add ``serve PATH [PATH ...]`` to the command line's subcommands."""
    serve = commands.add_parser(
        "serve", help="serve models over HTTP with TF Serving's REST API (needs the 'serve' extra)",
        description="Serve models over HTTP with TF Serving's REST API: GET /v1/models/NAME, GET "
                    "/v1/models/NAME/metadata, POST /v1/models/NAME:predict, GET /healthz. Each model is named "
                    "after its folder (TF.js) or file stem (Keras). Stops gracefully on SIGTERM or SIGINT.")
    serve.add_argument("paths", nargs="+", metavar="PATH",
                       help="a TF.js model.json or its folder or its http(s) URL, or a Keras .h5 / .keras file")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8501, help="port (default 8501, TF Serving's; 0: any free one)")
    serve.add_argument("--model-name", metavar="NAME", help="the name to serve a single model under")
    serve.add_argument("--enable-batching", action="store_true",
                       help="merge concurrent requests for a model into one predict (dynamic batching)")
    serve.add_argument("--max-batch-size", type=int, default=DEFAULTS.max_batch_size, metavar="N",
                       help=f"most samples in one merged predict (default {DEFAULTS.max_batch_size})")
    serve.add_argument("--batch-timeout-micros", type=int, default=DEFAULTS.batch_timeout_micros, metavar="US",
                       help="how long a request may wait for others to join its batch (default "
                            f"{DEFAULTS.batch_timeout_micros})")
    serve.add_argument("--max-enqueued-batches", type=int, default=DEFAULTS.max_enqueued_batches, metavar="N",
                       help="queued work per model, in batches; more is refused with 503 (default "
                            f"{DEFAULTS.max_enqueued_batches})")
    serve.add_argument("--max-request-bytes", type=int, default=DEFAULT_MAX_REQUEST_BYTES, metavar="N",
                       help="larger request bodies are refused with 413 (default 16 MiB)")
    serve.add_argument("--body-timeout", type=float, default=BODY_SECONDS, metavar="SECONDS",
                       help="a request body must arrive whole within this; else 408 (default "
                            f"{BODY_SECONDS:g})")
    serve.add_argument("--no-warm-up", dest="warm", action="store_false",
                       help="start without running each model once on seeded inputs (by default the compiled "
                            "kernels its requests use are made ready first: seconds after a fresh install)")
    add_load_arguments(serve)  # --weights (with one PATH), --max-bytes, --timeout, --deadline, --cache-dir, --header
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from .server import serve

    if args.model_name is not None and len(args.paths) != 1:
        raise InputError(f"--model-name names a single model; {len(args.paths)} paths were given")
    if args.weights is not None and len(args.paths) != 1:
        raise InputError(f"--weights replaces the weights of a single model; {len(args.paths)} paths were given")
    models = {args.model_name: args.paths[0]} if args.model_name is not None else args.paths
    batching = BatchingOptions(enabled=args.enable_batching, max_batch_size=args.max_batch_size,
                               batch_timeout_micros=args.batch_timeout_micros,
                               max_enqueued_batches=args.max_enqueued_batches)
    return serve(models, args.host, args.port, batching=batching, max_request_bytes=args.max_request_bytes,
                 warm=args.warm, body_seconds=args.body_timeout, **load_options(args))
