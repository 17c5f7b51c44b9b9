"""What an engine is: the library whose numbers a model must give (TF.js for a model.json, Keras for Keras files).

An engine settles everything that depends on whose execution is reproduced: the config defaults it fills in when
a file leaves an option out, the behaviour options of each layer class (from the class's facts), the order a
graph's calls run in and how masks travel between them. The runtime is handed an engine and asks it; it never
asks where a model came from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from ..errors import ModelFormatError
from ..topology import Call, TensorRef, Topology

NodeKey = tuple[str, int]  # (layer name, call index)
LAYER_RULE = object()  # "the layer's compute_mask decides", as opposed to a mask its call already computed


class MaskPolicy(Protocol):
    """How masks travel through one execution of a graph."""

    def call_mask(self, input_masks: list[Any]) -> Any:
        """The mask a call receives, from the masks of its inputs."""

    def output_masks(self, layer: Any, inputs: Any, input_masks: list[Any], count: int,
                     computed: Any = LAYER_RULE) -> list[Any]:
        """The masks of a call's ``count`` outputs (``computed``: what a nested model's call computed)."""

    def for_nested(self, input_masks: list[Any]) -> tuple[MaskPolicy, list[Any]]:
        """The policy and input masks a nested model runs with."""

    def call_masks(self, layer: Any, call: Call, input_masks: list[Any]) -> list[Any]:
        """The masks a call itself sees of its inputs (those of the graph, but in Keras 3: see ``engines.keras``)."""

    def after_call(self, layer: Any, call: Call, node: NodeKey, seen: list[Any], inputs: Any, count: int) -> None:
        """Note what a call did to the masks later calls see (``seen``: the masks it saw; ``inputs``: its inputs;
        ``count``: how many outputs it made)."""


class Engine:
    """An engine's behaviour; subclasses are the TF.js and Keras engines (``engines.tfjs``, ``engines.keras``)."""

    name: str = ""

    def config_defaults(self, class_name: str) -> Mapping[str, Any]:
        """Real config options the engine assumes when a file leaves them out (TF.js's LSTM recurrent
        activation is ``hard_sigmoid``, Keras's is ``sigmoid``)."""
        return {}

    def normalise_wrapped(self, class_name: str, config: dict) -> None:
        """Settle, in place, the options the engine sets on the layers a normalised wrapper config holds."""

    def behaviour(self, layer_class: Any) -> Mapping[str, Any]:
        """The engine option values of a runtime layer class, from the facts it declares."""
        return {}

    def loaded_value(self, layer: Any, variable: Any, value: Any) -> Any:
        """The value a weight (``variable`` of ``layer``) holds once the engine's loader has set it to ``value``
        (the file's tensor as the weight's dtype): Keras keeps it; TF.js applies the weight's constraint
        (``engines.tfjs_constraints``)."""
        return value

    def order_calls(self, topology: Topology, source: str) -> None:
        """Put each layer's calls in the order the engine's loader makes them (references index that order)."""

    def mask_policy(self) -> MaskPolicy:
        """A fresh mask policy for one execution."""
        raise NotImplementedError

    def steps(self, outputs: Sequence[TensorRef], calls: dict[NodeKey, Call], feeds: Sequence[TensorRef],
              keras_steps: list[NodeKey]) -> list[NodeKey]:
        """The calls one execution makes, in order; ``keras_steps`` is the dependency order (each needed call
        once, after its inputs), which an engine may take as it is."""
        return keras_steps

    global_name: str = ""  # the module-level name of the engine's one instance (engines are pickled by name)

    def __repr__(self) -> str:
        return f"<engine {self.name}>"

    def __reduce__(self) -> str:
        return self.global_name


def pack(items: list[Any]) -> Any:
    """One item as itself, several as a list (the form layers take their inputs and masks in)."""
    return items[0] if len(items) == 1 else items


def dependency_order(outputs: Sequence[TensorRef], calls: dict[NodeKey, Call],
                     visit_leaf: Callable[[NodeKey], None]) -> list[NodeKey]:
    """Every call needed for ``outputs``, each after the calls that make its inputs (depth-first post-order, as
    Keras runs a graph). ``visit_leaf`` is called for a node that has no call (a model input), and raises if it is
    not one.

    Raises:
        ModelFormatError: for a cycle.
    """
    order: list[NodeKey] = []
    state: dict[NodeKey, str] = {}

    def visit(node: NodeKey) -> None:
        if state.get(node) == "done":
            return
        if state.get(node) == "visiting":
            raise ModelFormatError(f"the model's graph has a cycle through layer {node[0]!r}")
        state[node] = "visiting"
        call = calls.get(node)
        if call is None:
            visit_leaf(node)
        else:
            for ref in call.refs():
                visit((ref.layer, ref.node_index))
            order.append(node)
        state[node] = "done"

    for ref in outputs:
        visit((ref.layer, ref.node_index))
    return order
