"""The errors this package raises for bad or unsupported input.

Every error derives from :class:`TfjsInteropError` and also from the built-in that fits it, so callers can catch
either ``tfjs_interop.TfjsInteropError`` or, say, ``ValueError``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .report import Report


def few(items: object, limit: int = 3) -> str:
    """The first ``limit`` of ``items`` and a count of the rest, for messages that stay short however many
    offenders a hostile file holds: ``'a', 'b', 'c' and 19,997 more``."""
    items = list(items)
    shown = ", ".join(repr(item if not isinstance(item, str) or len(item) <= 80 else item[:77] + "...")
                      for item in items[:limit])
    return shown + (f" and {len(items) - limit:,} more" if len(items) > limit else "")


class TfjsInteropError(Exception):
    """Base class of every error this package raises for bad or unsupported input."""


class ModelFormatError(TfjsInteropError, ValueError):
    """A model file is malformed: invalid JSON, missing or mistyped keys, a broken topology."""


class WeightsError(TfjsInteropError, ValueError):
    """Weights are missing, misshapen, or their bytes disagree with what the manifest declares."""


class UnsupportedLayerError(TfjsInteropError, NotImplementedError):
    """A layer class or option that the runtime cannot honour exactly."""


class InputError(TfjsInteropError, ValueError):
    """Inputs given to ``predict`` do not fit the model's inputs."""


class SecurityError(TfjsInteropError, PermissionError):
    """A file asks for something unsafe, such as reading outside the model's folder."""


class GoldenMismatchError(TfjsInteropError, AssertionError):
    """A model no longer reproduces the outputs of its golden record.

    An ``AssertionError`` rather than a ``ValueError``: the model and the golden file are both well formed and the
    check ran; what failed is the claim that they agree. So test runners report it as a failed test, and
    ``except ValueError`` around loading (meant for malformed files) does not swallow it. The comparison is in
    ``report``.
    """

    def __init__(self, message: str, report: Report | None = None):
        super().__init__(message)
        self.report = report


class LimitError(TfjsInteropError, ValueError):
    """A model needs more than a configured limit allows (bytes to read, bytes of one tensor or layer output)."""


class NetworkError(TfjsInteropError, OSError):
    """A model at a URL could not be fetched: no connection, a timeout, or an HTTP error status."""


class DependencyError(TfjsInteropError, ImportError):
    """An optional dependency a function needs (TensorFlow for ``verify``) is not installed."""


class FileAccessError(TfjsInteropError, OSError):
    """A file or folder could not be read or written (permissions, a full disk, a file that vanished)."""


Function = TypeVar("Function", bound=Callable[..., Any])


def api_boundary(fallback: type[TfjsInteropError]) -> Callable[[Function], Function]:
    """Make a public function let only this package's errors out: the one boundary of the API.

    Inside, code raises the precise errors above wherever it checks something. Whatever else escapes (an
    ``OSError`` from the file system, a recursion or memory limit, or a ``KeyError`` that a malformed file reached
    before any check did) leaves as a :class:`TfjsInteropError` too, with the original chained: ``OSError`` as
    :class:`FileAccessError`, ``RecursionError`` as :class:`ModelFormatError`, ``MemoryError`` as
    :class:`LimitError`, the rest as ``fallback``. ``KeyboardInterrupt`` and ``SystemExit`` pass untouched.
    """
    def decorate(function: Function) -> Function:
        @functools.wraps(function)
        def bounded(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except TfjsInteropError:
                raise
            except Exception as exc:  # noqa: BLE001 - the boundary: anything else is re-raised as ours
                raise _translated(exc, fallback, function.__name__) from exc
        return bounded  # type: ignore[return-value]
    return decorate


def _translated(exc: Exception, fallback: type[TfjsInteropError], where: str) -> TfjsInteropError:
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, OSError):
        return FileAccessError(exc.errno, f"{where}: {detail}", exc.filename) if exc.errno else \
            FileAccessError(f"{where}: {detail}")
    if isinstance(exc, RecursionError):
        return ModelFormatError(f"{where}: the model is nested too deeply to process ({detail})")
    if isinstance(exc, MemoryError):
        return LimitError(f"{where}: out of memory ({detail}); the model or inputs are too large for this machine")
    return fallback(f"{where}: the model could not be processed: {detail} (an input tfjs-interop does not check "
                    "for yet; please report it with the file)")
