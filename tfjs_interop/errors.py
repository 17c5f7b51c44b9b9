"""The errors this package raises for bad or unsupported input.

Every error derives from :class:`TfjsInteropError` and also from the built-in that fits it, so callers can catch
either ``tfjs_interop.TfjsInteropError`` or, say, ``ValueError``.
"""

from __future__ import annotations


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


class DependencyError(TfjsInteropError, ImportError):
    """An optional dependency a function needs (TensorFlow for ``verify``) is not installed."""
