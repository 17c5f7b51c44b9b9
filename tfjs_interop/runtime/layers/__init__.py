"""Runtime layers, one module per family; each registers the class names it implements."""

from typing import Any

from . import (  # noqa: F401  (registration)
    advanced_activations,
    attention,
    conv,
    conv2d,
    conv3d,
    conv_recurrent,
    conv_transpose,
    core,
    depthwise,
    merge,
    multi_head_attention,
    norm,
    ops,
    pooling2d,
    preprocessing,
    recurrent,
    spatial2d,
    wrappers,
)
from .base import LAYERS, Layer, catalog, layer_class

__all__ = ["LAYERS", "Layer", "build_layer", "catalog"]


def build_layer(class_name: str, name: str, config: dict, engine: Any = None) -> Layer:
    """A runtime layer for a (normalised) layer config, run by ``engine`` (None: the runtime's defaults, Keras's
    behaviour).

    Raises:
        UnsupportedLayerError: when no runtime class implements ``class_name``.
    """
    return layer_class(class_name, name)(name, class_name, config, engine)
