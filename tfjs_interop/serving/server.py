"""Run the serving application under uvicorn: bind, log one line per request, stop gracefully on SIGTERM."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from typing import Any

from ..errors import DependencyError
from .batching import BatchingOptions

log = logging.getLogger("tfjs_interop.serving")

GRACEFUL_SECONDS = 30  # in-flight requests get this long to finish after SIGTERM / SIGINT


def serve(models: Any, host: str = "127.0.0.1", port: int = 8501, *, batching: BatchingOptions | None = None,
          max_request_bytes: int | None = None, warm: bool = True, **load_options: Any) -> int:
    """Load the models, listen on ``host:port`` (0: any free port) and serve until SIGTERM or SIGINT.

    On the signal the server stops accepting connections, finishes the requests in flight and returns 0. The
    first line on stderr says where it listens: ``serving N model(s) [names] on http://HOST:PORT``.

    Args:
        models: as :func:`tfjs_interop.serving.app.create_app` takes them.
        host, port: where to listen.
        batching, max_request_bytes, warm, load_options: as ``create_app`` takes them.

    Returns:
        The exit status: 0 after a graceful stop, 2 when it could not listen.

    Raises:
        DependencyError: when the ``serve`` extra is not installed; ``load``'s errors. A port it cannot listen on
            returns 2.
    """
    try:
        import uvicorn

        from .app import DEFAULT_MAX_REQUEST_BYTES, create_app
    except ImportError as exc:
        raise DependencyError(f"serving needs the 'serve' extra: pip install 'tfjs-interop[serve]' ({exc})") from None
    _log_to_stderr()
    app = create_app(models, batching=batching, max_request_bytes=max_request_bytes or DEFAULT_MAX_REQUEST_BYTES,
                     warm=warm, **load_options)
    for name, worker in app.state.serving.workers.items():
        log.info("model %s: %s", name, "requests merged (dynamic batching)" if worker.merge
                 else f"one predict per request ({worker.why_not_merged})")
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=GRACEFUL_SECONDS, log_config=None, backlog=2048)
    server = _server_class(uvicorn)(config)
    with _signals_after_shutdown_ignored():
        try:
            server.run()
        except SystemExit as exc:  # uvicorn could not listen (it has said why)
            app.state.serving.close()
            log.error("not serving: the server could not start (uvicorn exit status %s)", exc.code)
            return 2
    log.info("stopped")
    return 0


@contextlib.contextmanager
def _signals_after_shutdown_ignored():
    """uvicorn shuts down gracefully on SIGTERM / SIGINT and then raises the signal again for the handler it found
    installed, which by default kills the process (status -15): a handler that ignores it lets us exit 0."""
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
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
