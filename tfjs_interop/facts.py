"""What each layer class tells the rest of the package about itself: its facts, declared in its own runtime file.

A runtime layer class declares ``tfjs = TfjsFacts(...)`` and ``keras = KerasFacts(...)`` beside its computation,
so a layer is described in one place. The registry (``tfjs_interop.runtime.layers.catalog()``) reads them; the
engines apply the behaviour facts when they run a model, and the writers are handed the catalog (formats never
import the runtime). This module holds only the shapes of the facts: it imports nothing of the package.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


def frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only mapping (facts are shared by every model in the process)."""
    return MappingProxyType(dict(mapping or {}))


class TfjsMasking(enum.Enum):
    """What TF.js 4.22 does with the mask of a layer's call (tfjs-layers ``supportsMasking`` / ``computeMask``)."""

    NONE = "none"  # supportsMasking is false: the outputs carry no mask
    LAYER = "layer"  # the layer computes its output mask (most often: passes its input's on)
    MERGE = "merge"  # Merge.computeMask: the first mask ANDed with all but the last, with a leading axis


@dataclass(frozen=True)
class TfjsFacts:
    """How TF.js 4.22 treats a layer class.

    Attributes:
        masking: what its call does with masks.
        behaviour: values of the layer's engine options (``Options`` fields marked ``engine_option``) that
            reproduce what TF.js computes where Keras computes otherwise.
        registered: whether tfjs-layers 4.22 registers the class, so ``tf.loadLayersModel`` can deserialise it.
        allowed: options whose other values TF.js cannot run: option -> the values it runs (None always means
            the default).
        fresh_shape: whether its output shape is a new array (see ``tfjs_writer.FRESH_SHAPE_CLASSES``).
        cannot_run: why TF.js cannot run the class at all, when it registers it but fails in ``predict``.
        dropped_keys: config keys Keras writes for the class that TF.js refuses.
    """

    masking: TfjsMasking = TfjsMasking.NONE
    behaviour: Mapping[str, Any] = field(default_factory=frozen)
    registered: bool = True
    allowed: Mapping[str, tuple] = field(default_factory=frozen)
    fresh_shape: bool = False
    cannot_run: str | None = None
    dropped_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class KerasFacts:
    """How Keras treats a layer class, where Keras 2 (tf_keras) and Keras 3 differ from the runtime's defaults.

    Attributes:
        behaviour: engine option values for Keras 2 and Keras 3 alike.
        keras3_behaviour: engine option values for Keras 3 only (over ``behaviour``).
        dropped_keys: config keys other writers put in the class's config that Keras 3 refuses.
    """

    behaviour: Mapping[str, Any] = field(default_factory=frozen)
    keras3_behaviour: Mapping[str, Any] = field(default_factory=frozen)
    dropped_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class LayerFacts:
    """Everything the package knows about one layer class name, as the registry hands it out."""

    class_name: str
    tfjs: TfjsFacts
    keras: KerasFacts


Catalog = Mapping[str, LayerFacts]  # class name -> facts, for every class the runtime implements
