"""The ASGI application: TF Serving's REST routes over Starlette, a worker per model (``batching``), limits and a
one-line log per request. ``create_app`` is the Python entry; ``serve`` runs it under uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import InputError, TfjsInteropError
from ..loading import load
from ..runtime.model import Model
from ..warming import warm_up
from . import rest
from .batching import BatchingOptions, ModelWorker
from .limits import BODY_SECONDS, DEFAULT_MAX_REQUEST_BYTES
from .rest import RestError

log = logging.getLogger("tfjs_interop.serving")

DRAIN_BYTES = 64 << 20  # an over-large body is read (and dropped) up to this, so the client reads our 413
BODIES_IN_FLIGHT = 16  # the bodies held at once (read, parsed, waiting) take at most this many max_request_bytes
_ID = r"([^/:]+)"
_VERSION = rf"(?:(?:/versions/(\d+))|(?:/labels/{_ID}))?"
PREDICT_PATH = re.compile(rf"/v1/models/{_ID}{_VERSION}:(classify|regress|predict)", re.IGNORECASE)
STATUS_PATH = re.compile(rf"/v1/models(?:/{_ID})?{_VERSION}(?:/(metadata))?", re.IGNORECASE)
HEALTH_PATH = "/healthz"


class ServingState:
    """The served models, their workers and limits (``app.state.serving``)."""

    def __init__(self, models: dict[str, Model], batching: BatchingOptions, max_request_bytes: int,
                 body_seconds: float = BODY_SECONDS):
        self.models = models
        self.body_seconds = body_seconds
        self.workers = {name: ModelWorker(model, name, batching) for name, model in models.items()}
        self.keys = {name: rest.output_keys(model) for name, model in models.items()}
        self.max_request_bytes = max_request_bytes
        self.body_budget = max_request_bytes * BODIES_IN_FLIGHT
        self.body_bytes = 0  # of the bodies held now (changed on the event loop only)

    def close(self) -> None:
        for worker in self.workers.values():
            worker.close()


def create_app(models: Mapping[str, Model | str | os.PathLike] | Sequence[Model | str | os.PathLike], *,
               batching: BatchingOptions | None = None, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
               warm: bool = True, body_seconds: float = BODY_SECONDS, **load_options: Any) -> Starlette:
    """An ASGI application serving models with TF Serving's REST API (mount it in your own app if you like).

    Args:
        models: models or paths/URLs as ``load`` takes them; a mapping names them, a sequence names each after
            its folder (TF.js) or file stem (Keras), or the model's name for a ``Model``.
        batching: dynamic batching options (default: off, as in TF Serving).
        max_request_bytes: larger request bodies are refused with 413.
        body_seconds: a request body not received whole within this is answered 408 (a client stalled mid-upload
            would otherwise hold its share of the bodies' budget, ``BODIES_IN_FLIGHT`` of them, for good).
        warm: run each model on seeded inputs before serving (``tfjs_interop.warm_up``), so that the compiled
            kernels its requests use are ready; else only load the kernels.
        load_options: passed to ``load`` for paths (``max_bytes``, ``timeout``, ``cache_dir``, ``weights``).

    Returns:
        A Starlette application; its workers stop when its lifespan ends (or on ``app.state.serving.close()``).

    Raises:
        InputError: for two models of one name or a bad option; ``load``'s errors for a model that cannot load.
    """
    if isinstance(max_request_bytes, bool) or not isinstance(max_request_bytes, int) or max_request_bytes <= 0:
        raise InputError(f"max_request_bytes must be a positive integer, got {max_request_bytes!r}")
    if isinstance(body_seconds, bool) or not isinstance(body_seconds, (int, float)) or not body_seconds > 0:
        raise InputError(f"body_seconds must be a positive number, got {body_seconds!r}")
    named = _named_models(models, load_options)
    warm_up(*(named.values() if warm else ()))  # the compiled kernels from the first request on (``warming``)
    state = ServingState(named, batching or BatchingOptions(), max_request_bytes, float(body_seconds))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(state.close)

    app = Starlette(routes=[Route("/{path:path}", _Endpoint(), include_in_schema=False)], lifespan=lifespan)
    app.state.serving = state
    return app


def model_name(path: str | os.PathLike) -> str:
    """The name a model is served under: its TF.js folder's name, or its Keras file's stem."""
    text = os.fspath(path)
    parts = Path(urlsplit(text).path if "://" in text else text).parts
    if not parts:
        raise InputError(f"cannot name a model after {text!r}; give it a name")
    last = Path(parts[-1])
    if last.name == "model.json" and len(parts) > 1:
        return parts[-2]
    return last.stem if last.suffix in (".json", ".h5", ".keras") else last.name


def _named_models(models: Any, load_options: dict) -> dict[str, Model]:
    pairs = list(models.items()) if isinstance(models, Mapping) else [
        (m.name if isinstance(m, Model) else model_name(m), m) for m in models]
    if not pairs:
        raise InputError("no model to serve")
    named: dict[str, Model] = {}
    for name, model in pairs:
        if not isinstance(name, str) or not re.fullmatch(_ID, name):
            raise InputError(f"model name {name!r} cannot appear in a URL path (no '/' or ':'; not empty)")
        if name in named:
            raise InputError(f"two models would be served as {name!r}; name them (a mapping, or --model-name)")
        named[name] = model if isinstance(model, Model) else load(model, **load_options)
    return named


class _Endpoint:
    """Every path and method (an ASGI class, so Starlette leaves methods to us: TF Serving's paths decide)."""

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        response = await _handle(Request(scope, receive))
        await response(scope, receive, send)


async def _handle(request: Request) -> Response:
    start = time.perf_counter()
    batch = 0
    try:
        response, batch = await _dispatch(request, request.app.state.serving)
    except RestError as exc:
        response = _error(exc)
    except Exception as exc:  # noqa: BLE001 - never a traceback to the client; the log keeps it
        log.exception("internal error on %s %s", request.method, request.url.path)
        response = _error(RestError(500, f"internal error: {type(exc).__name__}: {exc}"))
    client = f"{request.client.host}:{request.client.port}" if request.client else "-"
    log.info('%s "%s %s" %d %dB %.1fms%s', client, request.method, request.url.path, response.status_code,
             len(response.body), (time.perf_counter() - start) * 1e3, f" batch={batch}" if batch else "")
    return response


async def _dispatch(request: Request, state: ServingState) -> tuple[Response, int]:
    method, path = request.method, _route_path(request.scope)
    if path == HEALTH_PATH:
        _allow(method, "GET")
        return _json({"status": "ok", "models": sorted(state.models)}), 0
    predict, status = PREDICT_PATH.fullmatch(path), STATUS_PATH.fullmatch(path)
    if predict and method == "POST":
        return await _predict(request, state, *predict.groups())
    if status and method == "GET":
        return _status(state, *status.groups()), 0
    if predict or status:
        _allow(method, "POST" if predict else "GET")
    if path.lower().startswith("/v1/"):
        raise RestError(400, f"Malformed request: {method} {path}")
    raise RestError(404, f"Not found: {path} (the API is under /v1/models/{{name}}; health at {HEALTH_PATH})")


def _route_path(scope: dict) -> str:
    """The path below where the app is mounted (ASGI's ``path`` includes ``root_path``)."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] or "/" if root and path.startswith(root) else path


def _allow(method: str, allowed: str) -> None:
    if method != allowed:
        raise RestError(405, f"{method} is not allowed here; use {allowed}")


def _find(state: ServingState, name: str | None, version: str | None, label: str | None, what: str) -> Model:
    """The model a path names, or 404 in TF Serving's words."""
    if not name:
        raise RestError(400, "Missing model name in request.")
    if name not in state.models or (version is not None and int(version) != rest.VERSION) or label is not None:
        if what == "status":
            raise RestError(404, f"Could not find any versions of model {name}" if version is None
                            else f"Could not find version {int(version)} of model {name}")
        request = f"Specific({name}, {int(version)})" if version is not None else (
            f"Labeled({name}, {label})" if label is not None else f"Latest({name})")
        raise RestError(404, f"Servable not found for request: {request}")
    return state.models[name]


def _status(state: ServingState, name: str | None, version: str | None, label: str | None,
            metadata: str | None) -> Response:
    if metadata:
        return _json(rest.model_metadata(_find(state, name, version, label, "metadata"), name))
    _find(state, name, version, label, "status")
    return _json(rest.model_status())


async def _predict(request: Request, state: ServingState, name: str, version: str | None, label: str | None,
                   verb: str) -> tuple[Response, int]:
    model = _find(state, name, version, label, "predict")
    if verb.lower() != "predict":
        raise RestError(400, f"Expected {verb.lower()} signature method_name; the model's serving_default "
                             "signature is tensorflow/serving/predict (this server answers :predict)")
    held = [0]
    try:
        body = await _read_body(request, state, held)
        return await _answer(state, name, model, body)
    finally:
        state.body_bytes -= held[0]


async def _answer(state: ServingState, name: str, model: Model, body: bytes) -> tuple[Response, int]:
    parsed = await anyio.to_thread.run_sync(rest.parse_predict, body, model)
    task = state.workers[name].submit(parsed.feeds)
    try:
        outputs = await asyncio.wrap_future(task.future)
    except TfjsInteropError as exc:  # the model refused these inputs
        raise RestError(400, str(exc)) from None
    text = await anyio.to_thread.run_sync(rest.predict_response, outputs, state.keys[name], parsed.format)
    return Response(text, media_type="application/json"), task.batch_size


async def _read_body(request: Request, state: ServingState, held: list[int]) -> bytes:
    """The body, or 413 once it passes the limit: the rest is read and dropped (up to ``DRAIN_BYTES``), so that
    a client still sending reads the answer instead of a reset connection. 503 when the bodies held at once
    would pass their budget; ``held`` counts this one's bytes in ``state.body_bytes``."""
    limit = state.max_request_bytes
    declared = request.headers.get("content-length", "")
    over = declared.isdigit() and int(declared) > limit
    chunks, size, busy = [], 0, False
    try:
        async with asyncio.timeout(state.body_seconds):
            async for chunk in request.stream():
                size += len(chunk)
                over = over or size > limit
                if over and size > DRAIN_BYTES:
                    break
                busy = busy or (not over and state.body_bytes + len(chunk) > state.body_budget)
                if not over and not busy:
                    chunks.append(chunk)
                    held[0] += len(chunk)
                    state.body_bytes += len(chunk)
    except ClientDisconnect:
        raise RestError(400, "the client closed the connection before sending the whole body") from None
    except TimeoutError:
        raise RestError(408, f"the request body did not arrive within {state.body_seconds:g} s ({size} bytes "
                             "received)") from None
    if over:
        raise _too_large(int(declared) if declared.isdigit() else size, limit, at_least=not declared.isdigit())
    if busy:
        raise RestError(503, f"the server holds {state.body_budget} bytes of request bodies already; try again")
    return b"".join(chunks)


def _too_large(size: int, limit: int, at_least: bool = False) -> RestError:
    return RestError(413, f"the request body of {'more than ' if at_least else ''}{size} bytes is over the limit "
                          f"of {limit} bytes")


def _json(document: dict) -> Response:
    return Response(json.dumps(document, indent=1), media_type="application/json")


def _error(exc: RestError) -> Response:
    headers = {}
    if exc.status == 405:
        headers["Allow"] = exc.message.rsplit(" ", 1)[-1]
    return Response(exc.body(), status_code=exc.status, media_type="application/json", headers=headers)
