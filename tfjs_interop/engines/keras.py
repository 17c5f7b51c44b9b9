"""The Keras engine: a call gets the masks of its inputs, calls run in dependency order, and Keras 2 (tf_keras) and
Keras 3 differ only where a layer class's facts say so (``KerasFacts.keras3_behaviour``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import LAYER_RULE, Engine, pack

# Keras's defaults where the runtime's own (Keras >= 2.3) are not Keras's for every version.
_CONFIG_DEFAULTS = {"GRU": {"reset_after": True}, "GRUCell": {"reset_after": True}}
# Keras 2's where Keras 3's are the runtime's: tf_keras's ConvLSTM2D kept hard_sigmoid (Keras 3's is sigmoid).
_KERAS2_DEFAULTS = {"ConvLSTM2D": {"recurrent_activation": "hard_sigmoid"}}


def unpack_masks(mask: Any, count: int) -> list[Any]:
    """A layer's output mask(s) as one entry per output."""
    if isinstance(mask, list):
        return mask + [None] * (count - len(mask))
    return [mask] + [None] * (count - 1)


class KerasMasks:
    """Keras: a call gets the masks of its inputs; its outputs get the masks its layer computes."""

    def call_mask(self, input_masks: list[Any]) -> Any:
        return pack(input_masks)

    def output_masks(self, layer: Any, inputs: Any, input_masks: list[Any], count: int,
                     computed: Any = LAYER_RULE) -> list[Any]:
        mask = layer.compute_mask(inputs, pack(input_masks)) if computed is LAYER_RULE else computed
        return unpack_masks(mask, count)

    def for_nested(self, input_masks: list[Any]) -> tuple[KerasMasks, list[Any]]:
        return KerasMasks(), input_masks


class KerasEngine(Engine):
    """Keras 2 (tf_keras) or Keras 3."""

    def __init__(self, keras3: bool):
        self.keras3 = keras3
        self.name = "keras3" if keras3 else "keras2"
        self.global_name = self.name.upper()

    def config_defaults(self, class_name: str) -> Mapping[str, Any]:
        keras2 = {} if self.keras3 else _KERAS2_DEFAULTS.get(class_name, {})
        return {**_CONFIG_DEFAULTS.get(class_name, {}), **keras2}

    def normalise_wrapped(self, class_name: str, config: dict) -> None:
        if class_name == "Bidirectional":
            _zero_masked_outputs(config)

    def behaviour(self, layer_class: Any) -> Mapping[str, Any]:
        facts = layer_class.keras
        return {**facts.behaviour, **facts.keras3_behaviour} if self.keras3 else dict(facts.behaviour)

    def mask_policy(self) -> KerasMasks:
        return KerasMasks()


KERAS2 = KerasEngine(keras3=False)
KERAS3 = KerasEngine(keras3=True)


def _zero_masked_outputs(config: dict) -> None:
    """Keras (2 and 3) makes a Bidirectional's RNNs output zeros at masked steps when they return sequences."""
    for key in ("layer", "backward_layer"):
        inner = config.get(key)
        if isinstance(inner, dict) and isinstance(inner.get("config"), dict):
            inner["config"]["zero_output_for_mask"] = bool(inner["config"].get("return_sequences"))
