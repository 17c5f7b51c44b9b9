"""The NumPy runtime: layers and the graph executor. Nothing here knows a file format."""

from .model import Model, TensorSpec

__all__ = ["Model", "TensorSpec"]
