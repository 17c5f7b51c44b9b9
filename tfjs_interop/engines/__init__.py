"""The engines: whose numbers a model gives. A TF.js file runs on the TF.js engine, a Keras file on Keras's."""

from __future__ import annotations

from ..topology import Dialect, Origin
from ..topology import Engine as EngineKind
from .base import LAYER_RULE, Engine, MaskPolicy, NodeKey, dependency_order, pack
from .keras import KERAS2, KERAS3
from .tfjs import TFJS

__all__ = ["KERAS2", "KERAS3", "LAYER_RULE", "TFJS", "Engine", "MaskPolicy", "NodeKey", "dependency_order",
           "engine_for", "pack"]


def engine_for(origin: Origin) -> Engine:
    """The engine a model of this origin runs on: TF.js's for the TF.js format; Keras 3's for a file Keras 3
    wrote, Keras 2's for one tf_keras wrote."""
    if origin.engine is EngineKind.TFJS:
        return TFJS
    return KERAS3 if origin.dialect is Dialect.KERAS3 else KERAS2
