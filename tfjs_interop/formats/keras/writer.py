"""A model in Keras 3's terms: the config Keras 3 deserialises and the weights in Keras's layouts.

Nothing here imports Keras, nor the runtime: the writer takes the model's parts (:mod:`..contract`). The config
is built under Keras's rules (:mod:`.rules`) in Keras 3's serialized form (:mod:`.config`), the weights in the
groups of ``model.weights.h5`` and the lists of a legacy ``.h5`` (:mod:`.weights`), with a TF.js / Keras 2
``hard_sigmoid`` kept exactly (:mod:`.hard_sigmoid`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...facts import Catalog
from ..contract import ModelParts
from .config import KERAS3_ACTIVATIONS, RECURRENT, model_object, writes_explicit_mask
from .hard_sigmoid import KERAS2_HARD_SIGMOID, HardSigmoid, rescale_hard_sigmoid
from .rules import check_tfjs_only_behaviour, keras_rules
from .weights import legacy_weights, model_groups


@dataclass
class KerasExport:
    """A model in Keras 3's terms.

    Attributes:
        config: the model's serialized config (``keras.saving.deserialize_keras_object`` takes it).
        groups: the ``model.weights.h5`` of a ``.keras`` file: ``vars`` group path -> (object name, arrays).
        legacy: the ``model_weights`` of a legacy ``.h5``: per top-level layer, its weight names and arrays in
            Keras's legacy order (trainable, then non-trainable).
        notes: what the conversion changed on the way (rescaled weights).
        facts: the layer classes' facts the model was written with (the Keras 2 form reads its spellings).
    """

    config: dict
    groups: dict[str, tuple[str, list[np.ndarray]]]
    legacy: list[tuple[str, list[tuple[str, np.ndarray]]]]
    notes: list[str] = field(default_factory=list)
    facts: Catalog = field(default_factory=dict)


def keras_export(parts: ModelParts, hard_sigmoid: HardSigmoid = HardSigmoid.RESCALE) -> KerasExport:
    """Convert a model to a Keras 3 config and weights, keeping every activation's meaning.

    Raises:
        UnsupportedLayerError: naming the layer, when Keras 3 cannot express something in it.
    """
    if hard_sigmoid is HardSigmoid.RESCALE:  # a file to keep the model's meaning; verify builds Keras's reading
        check_tfjs_only_behaviour(parts.topology, parts.facts)
    topology = keras_rules(parts.topology, parts.facts)
    notes: list[str] = []
    parts = rescale_hard_sigmoid(parts, topology, hard_sigmoid, notes)
    config = model_object(topology, parts, hard_sigmoid, top_level=True)
    groups: dict[str, tuple[str, list[np.ndarray]]] = {"": (topology.name, [])}
    model_groups(parts, topology, "", groups)
    legacy = [(spec.name, named) for spec in parts.topology.layers if (named := legacy_weights(parts, spec.name))]
    return KerasExport(config, groups, legacy, notes, parts.facts)


__all__ = ["KERAS2_HARD_SIGMOID", "KERAS3_ACTIVATIONS", "RECURRENT", "HardSigmoid", "KerasExport", "keras_export",
           "keras_rules", "writes_explicit_mask"]
