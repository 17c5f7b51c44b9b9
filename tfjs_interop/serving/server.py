"""Run the serving application under uvicorn: bind, log one line per request, stop gracefully on SIGTERM."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from typing import Any

from ..errors import DependencyError, InputError
from .batching import BatchingOptions
from .limits import BODY_SECONDS, DEFAULT_MAX_REQUEST_BYTES

log = logging.getLogger("tfjs_interop.serving")

GRACEFUL_SECONDS = 30  # in-flight requests get this long to finish after SIGTERM / SIGINT


def serve(models: Any, host: str = "127.0.0.1", port: int = 8501, *, batching: BatchingOptions | None = None,
          max_request_bytes: int | None = None, warm: bool = True, body_seconds: float | None = None,
          **load_options: Any) -> int:
    """Load the models, listen on ``host:port`` (0: any free port) and serve until SIGTERM or SIGINT.

    On the signal the server stops accepting connections, finishes the requests in flight and returns 0. The
    first line on stderr says where it listens: ``serving N model(s) [names] on http://HOST:PORT``.

    Args:
        models: as :func:`tfjs_interop.serving.app.create_app` takes them.
        host, port: where to listen.
        batching, max_request_bytes, warm, body_seconds, load_options: as ``create_app`` takes them (None: its
            defaults).

    Returns:
        The exit status: 0 after a graceful stop, 2 when it could not listen.

    Raises:
        DependencyError: when the ``serve`` extra is not installed; InputError for a port outside 0-65535 or a bad
            option; ``load``'s errors. A port it cannot listen on returns 2.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InputError(f"port must be an integer from 0 to 65535 (0: any free one), got {port!r}")
    try:
        import uvicorn

        from .app import create_app
    except ImportError as exc:
        raise DependencyError(f"serving needs the 'serve' extra: pip install 'tfjs-interop[serve]' ({exc})") from None
    _log_to_stderr()
    app = create_app(models, batching=batching, warm=warm, **load_options,
                     max_request_bytes=DEFAULT_MAX_REQUEST_BYTES if max_request_bytes is None else max_request_bytes,
                     body_seconds=BODY_SECONDS if body_seconds is None else body_seconds)
    for name, worker in app.state.serving.workers.items():
        log.info("model %s: %s", name, "requests merged (dynamic batching)" if worker.merge
                 else f"one predict per request ({worker.why_not_merged})")
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=GRACEFUL_SECONDS, log_config=None, backlog=2048)
    server = _server_class(uvicorn)(config)
    with _signals_to(server):
        try:
            server.run()
        except SystemExit as exc:  # uvicorn could not listen (it has said why)
            app.state.serving.close()
            log.error("not serving: the server could not start (uvicorn exit status %s)", exc.code)
            return 2
    log.info("stopped")
    return 0


@contextlib.contextmanager
def _signals_to(server: Any):
    """SIGTERM / SIGINT go to uvicorn's handler from now on. uvicorn installs it only once its event loop runs,
    shuts down gracefully on the signal and then raises it again for the handler it found installed: the default
    one would kill the process (status -15), and one that ignored it lost a signal arriving before uvicorn's was
    in place (the server then served on). Its own handler, installed here first, sets ``should_exit`` either way:
    a signal before start-up ends makes it stop right after, and we exit 0."""
    previous = {sig: signal.signal(sig, server.handle_exit) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _server_class(uvicorn: Any) -> type:
    """uvicorn's server, saying where it listens once it does (the port, when 0 asked for any free one).

    uvicorn binds the socket itself: handed a socket, its connections lose TCP_NODELAY and every answer waits
    ~40 ms for the client's delayed ACK (measured)."""

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                names = sorted(self.config.app.state.serving.models)
                for bound in {s.getsockname()[:2] for server in self.servers for s in server.sockets}:
                    url_host = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
                    log.info("serving %d model(s) %s on http://%s:%d", len(names), names, url_host, bound[1])

    return Server


def _log_to_stderr() -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
