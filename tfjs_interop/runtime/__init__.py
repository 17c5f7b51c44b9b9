"""The NumPy runtime: layers and the graph executor. Nothing here knows a file format."""

from .model import Model, TensorSpec
from .nested import NestedModel  # registers the model classes as layers

__all__ = ["Model", "NestedModel", "TensorSpec"]
