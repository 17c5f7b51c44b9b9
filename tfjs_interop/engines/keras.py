"""The Keras engine: a call gets the masks of its inputs, calls run in dependency order, and Keras 2 (tf_keras) and
Keras 3 differ only where a layer class's facts say so (``KerasFacts.keras3_behaviour``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..topology import Call, TensorRef
from .base import LAYER_RULE, Engine, NodeKey, pack

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
    """Keras: a call gets the masks of its inputs; its outputs get the masks its layer computes.

    Keras 3 gives most calls their masks as graph arguments, fixed when the graph is built; a layer whose facts say
    so (``KerasFacts.keras3_clears_input_masks``, its multi-head attention) instead reads them from its input
    tensors when it runs, and then removes them: a later such call on the same tensors sees none, and the output
    carries, as it runs, the mask its query had then. A call whose Keras 3 ``call`` takes no ``mask`` argument
    (``KerasFacts.keras3_mask_argument``: Dense, activations, merges) passes such run-time masks on to its outputs,
    as Keras 3 sets them when it runs; calls with one keep the graph's. This policy keeps those run-time masks.
    """

    def __init__(self, keras3: bool = False):
        self.keras3 = keras3
        self._run_time: dict[TensorRef, Any] = {}  # the tensors whose mask at run time is not the graph's

    def call_mask(self, input_masks: list[Any]) -> Any:
        return pack(input_masks)

    def _reads_at_run_time(self, layer: Any) -> bool:
        return self.keras3 and layer.keras.keras3_clears_input_masks

    def call_masks(self, layer: Any, call: Call, input_masks: list[Any]) -> list[Any]:
        return self._at_run_time(call, input_masks) if self._reads_at_run_time(layer) else input_masks

    def _at_run_time(self, call: Call, graph_masks: list[Any]) -> list[Any]:
        """The masks of a call's tensors as they stand when it runs (the graph's, unless a call changed them)."""
        return [self._run_time.get(ref, mask) for ref, mask in zip(call.args, graph_masks)]

    def after_call(self, layer: Any, call: Call, node: NodeKey, seen: list[Any], inputs: Any, count: int) -> None:
        if self._reads_at_run_time(layer):
            self._run_time.update(dict.fromkeys(call.args))
            self._run_time[TensorRef(node[0], node[1], 0)] = seen[0] if seen else None
        elif self._passes_run_time_masks(layer, call):  # its outputs carry, as it runs, masks of its inputs' then
            outputs = unpack_masks(layer.compute_mask(inputs, pack(self._at_run_time(call, seen))), count)
            self._run_time.update({TensorRef(node[0], node[1], i): mask for i, mask in enumerate(outputs)})

    def _passes_run_time_masks(self, layer: Any, call: Call) -> bool:
        """A Keras 3 call without a ``mask`` argument, of which an input's run-time mask is not the graph's."""
        return (self.keras3 and not layer.keras.keras3_mask_argument
                and any(ref in self._run_time for ref in call.args))

    def output_masks(self, layer: Any, inputs: Any, input_masks: list[Any], count: int,
                     computed: Any = LAYER_RULE) -> list[Any]:
        mask = layer.compute_mask(inputs, pack(input_masks)) if computed is LAYER_RULE else computed
        return unpack_masks(mask, count)

    def for_nested(self, input_masks: list[Any]) -> tuple[KerasMasks, list[Any]]:
        return KerasMasks(self.keras3), input_masks


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
        return KerasMasks(self.keras3)

    def steps(self, outputs: Sequence[TensorRef], calls: dict[NodeKey, Call], feeds: Sequence[TensorRef],
              keras_steps: list[NodeKey]) -> list[NodeKey]:
        return keras3_order(outputs, calls) if self.keras3 else keras_steps


KERAS2 = KerasEngine(keras3=False)
KERAS3 = KerasEngine(keras3=True)


def _zero_masked_outputs(config: dict) -> None:
    """Keras (2 and 3) makes a Bidirectional's RNNs output zeros at masked steps when they return sequences."""
    for key in ("layer", "backward_layer"):
        inner = config.get(key)
        if isinstance(inner, dict) and isinstance(inner.get("config"), dict):
            inner["config"]["zero_output_for_mask"] = bool(inner["config"].get("return_sequences"))


def keras3_order(outputs: Sequence[TensorRef], calls: dict[NodeKey, Call]) -> list[NodeKey]:
    """The order Keras 3's ``Function`` runs a graph's calls in (``map_graph``, ``_run_through_graph``): each call
    gets a depth (0 for those making outputs, else one more than its deepest consumer; a shared layer's calls at
    least its deepest so far); deepest first, and calls of one depth in the order the depths were first set,
    walking the calls found depth-first from the outputs (each call's tensors as ``tree.flatten`` lists them: the
    positional ones, then the keyword ones by name) from the last found back."""
    found: list[NodeKey] = []
    seen: set[NodeKey] = set()

    def visit(node: NodeKey) -> None:
        if node in seen or node not in calls:
            return
        seen.add(node)
        for ref in _flat_refs(calls[node]):
            visit((ref.layer, ref.node_index))
        found.append(node)

    for ref in outputs:
        visit((ref.layer, ref.node_index))
    depths: dict[NodeKey, int] = {}
    layer_depths: dict[str, int] = {}
    for node in reversed(found):
        depth = max(depths.setdefault(node, 0), layer_depths.get(node[0], 0))
        layer_depths[node[0]] = depths[node] = depth
        for ref in _flat_refs(calls[node]):
            parent = (ref.layer, ref.node_index)
            if parent in seen:
                depths[parent] = max(depth + 1, depths.get(parent, 0))
    return sorted(depths, key=lambda node: -depths[node])  # stable: insertion order within a depth


def _flat_refs(call: Call) -> list[TensorRef]:
    refs = list(call.args)
    for key in sorted(call.kwargs):
        value = call.kwargs[key]
        items = value if isinstance(value, list) else [value]
        refs += [v for v in items if isinstance(v, TensorRef)]
    return refs
