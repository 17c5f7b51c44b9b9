"""Serve models over HTTP with TF Serving's REST API (the ``serve`` extra: Starlette and uvicorn).

``create_app`` returns the ASGI application; ``serve`` runs it; ``tfjs-interop serve`` is the command line.
"""

from .batching import BatchingOptions

__all__ = ["BatchingOptions", "create_app", "serve"]


def create_app(*args, **kwargs):
    """See :func:`tfjs_interop.serving.app.create_app` (imported on first use: it needs the ``serve`` extra)."""
    from .app import create_app as create

    return create(*args, **kwargs)


def serve(*args, **kwargs) -> int:
    """See :func:`tfjs_interop.serving.server.serve`."""
    from .server import serve as run

    return run(*args, **kwargs)
