"""The TF.js engine: TF.js 4.22's loader and executor (tfjs-layers ``engine/container.js``, ``engine/executor.js``).

Its executor differs from Keras's in ways that change numbers, and a model that runs in the browser must get the
browser's numbers:

- it walks the graph tensor by tensor in its own depth-first order and applies a layer once per output tensor
  that is needed: later layers use the first pass's results, the model returns the last pass's, and each pass
  advances a stateful layer and sees the stale mask of its moment;
- it passes a mask to a layer's call through one ``kwargs`` object that lives for the whole execution: it is set
  to the first input's mask whenever some input has a mask, and is otherwise left as it was, so a layer with
  unmasked inputs receives the last mask set by an earlier layer (a nested model shares that object);
- only some layer classes compute output masks (``TfjsFacts.masking``), and every output of a call gets the mask
  of its first output;
- an element-wise merge takes the mask of its FIRST input, ANDed with those of the others but the last, with a new
  leading axis (``Merge.computeMask``): so ``Add([a, masked])`` passes no mask on, and a mask that does pass on has
  the shape (1, batch, time);
- a nested model's inputs carry no masks and its outputs none.

What layers then do with an odd mask (RNN's ``rnn()`` rule, Softmax's broadcasting, TimeDistributed handing it on)
is the layers' business, and what each class computes otherwise than Keras is in its facts (``behaviour``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from ..errors import InputError, LimitError, ModelFormatError
from ..facts import TfjsMasking
from ..topology import MAX_DEPTH, MODEL_CLASSES, Call, TensorRef, Topology
from .base import LAYER_RULE, Engine, NodeKey, pack
from .tfjs_constraints import apply_constraint

# TF.js's defaults where they are not the runtime's (Keras >= 2.3's).
_CONFIG_DEFAULTS = {
    "LSTM": {"recurrent_activation": "hard_sigmoid"},
    "GRU": {"recurrent_activation": "hard_sigmoid", "reset_after": False},
    "LSTMCell": {"recurrent_activation": "hard_sigmoid"},
    "GRUCell": {"recurrent_activation": "hard_sigmoid", "reset_after": False},
    "ConvLSTM2D": {"recurrent_activation": "hard_sigmoid"},
    "ConvLSTM2DCell": {"recurrent_activation": "hard_sigmoid"},
}

T = TypeVar("T")


class TfjsEngine(Engine):
    """TF.js 4.22 on its CPU backend."""

    name = "tfjs"
    global_name = "TFJS"

    def config_defaults(self, class_name: str) -> Mapping[str, Any]:
        return _CONFIG_DEFAULTS.get(class_name, {})

    def behaviour(self, layer_class: Any) -> Mapping[str, Any]:
        return dict(layer_class.tfjs.behaviour)

    def loaded_value(self, layer: Any, variable: Any, value: Any) -> Any:
        # LayerVariable.write, which tf.loadLayersModel calls for every weight, applies the weight's constraint.
        owner = variable.owner if variable.owner is not None else type(layer)
        if variable.constraint is None or owner.tfjs.ignores_constraints:
            return value
        return apply_constraint(variable.constraint, value, f"layer {layer.name!r} ({layer.class_name}) weight "
                                f"{variable.path!r}")

    def order_calls(self, topology: Topology, source: str) -> None:
        _order_calls_as_loaded(topology, source)

    def mask_policy(self) -> TfjsMasks:
        return TfjsMasks()

    def steps(self, outputs: Sequence[TensorRef], calls: dict[NodeKey, Call], feeds: Sequence[TensorRef],
              keras_steps: list[NodeKey]) -> list[NodeKey]:
        return execution_order(outputs, calls, feeds)


TFJS = TfjsEngine()


# --- the loader ---------------------------------------------------------------------------------------------

def loader_order(layers: Sequence[tuple[str, Sequence[T]]], ready: Callable[[T, Mapping[str, list[T]]], bool],
                 source: str = "the model") -> tuple[dict[str, list[T]], list[tuple[str, T]]]:
    """The order TF.js's loader (``Container.fromConfig``) makes calls in: it walks the layers in file order, makes
    each listed call whose inputs exist (``ready``, given the calls made so far by layer), and defers the others to
    the next pass, so a shared layer's deferred call comes after a later one.

    Returns:
        The calls made, by layer, in the order made; and the calls never made (waiting on each other), if any.
    """
    made: dict[str, list[T]] = {name: [] for name, _ in layers}
    pending = [(name, call) for name, calls in layers for call in calls]
    passes = 0
    while pending:
        passes += 1
        if passes > MAX_DEPTH:
            raise LimitError(f"{source}: the model's calls are nested more than {MAX_DEPTH} deep")
        waiting = []
        for name, call in pending:
            if ready(call, made):
                made[name].append(call)
            else:
                waiting.append((name, call))
        if len(waiting) == len(pending):
            return made, waiting
        pending = waiting
    return made, []


def _order_calls_as_loaded(topology: Topology, source: str) -> None:
    """Put each layer's calls in the order TF.js's loader makes them, which a file's references index. A model's
    inputs and nested models start with one call of their own."""
    preset = {spec.name: 1 if spec.class_name == "InputLayer" or spec.class_name in MODEL_CLASSES else 0
              for spec in topology.layers}

    def ready(call: Call, made: Mapping[str, list[Call]]) -> bool:
        return all(ref.layer in made and ref.node_index < preset[ref.layer] + len(made[ref.layer])
                   for ref in call.args)

    made, stuck = loader_order([(spec.name, spec.calls) for spec in topology.layers], ready, source)
    if stuck:
        counts = {name: preset[name] + len(calls) for name, calls in made.items()}
        _raise_unmade(stuck, counts, source)
    for spec in topology.layers:
        if spec.calls:
            spec.calls = made[spec.name]


def _raise_unmade(stuck: list[tuple[str, Call]], made: dict[str, int], source: str) -> None:
    layer, call = stuck[0]
    ref = next(r for r in call.args if r.layer not in made or r.node_index >= made[r.layer])
    if ref.layer not in made:
        raise ModelFormatError(f"{source}: layer {layer!r} refers to layer {ref.layer!r}, which the model does "
                               "not have")
    raise ModelFormatError(f"{source}: layer {layer!r} refers to call {ref.node_index} of layer {ref.layer!r}, "
                           f"which is never made (TF.js makes {made[ref.layer]} call(s) of it)")


def call_numbers(topology: Topology) -> dict[NodeKey, int]:
    """Where each call lands when TF.js's loader makes them: (layer, call index) -> TF.js's node index. Writing
    each layer's calls in that order, with references numbered by it, makes the loader rebuild exactly the graph
    written (a no-op for a topology read from TF.js, whose calls are already in this order).

    Raises:
        ModelFormatError: when calls wait on each other.
    """
    inputs = {spec.name for spec in topology.layers if spec.class_name == "InputLayer"}
    calls = {(spec.name, i): call for spec in topology.layers for i, call in enumerate(spec.calls)}

    def ready(key: NodeKey, made: Mapping[str, list[NodeKey]]) -> bool:
        return all(r.layer in inputs or (r.layer, r.node_index) in made.get(r.layer, ()) for r in calls[key].refs())

    made, stuck = loader_order([(spec.name, [(spec.name, i) for i in range(len(spec.calls))])
                                for spec in topology.layers], ready)
    if stuck:
        raise ModelFormatError(f"the calls of layers {sorted({name for name, _ in stuck})} wait on each other")
    return {key: n for keys in made.values() for n, key in enumerate(keys)}


# --- the executor -------------------------------------------------------------------------------------------

@dataclass
class _Kwargs:
    """The ``kwargs`` object TF.js's executor carries from layer to layer."""

    mask: Any = None


class TfjsMasks:
    """TF.js: a call gets the mask held by the execution's shared kwargs (see the module's docstring)."""

    def __init__(self, kwargs: _Kwargs | None = None):
        self.kwargs = kwargs

    def call_mask(self, input_masks: list[Any]) -> Any:
        if any(m is not None for m in input_masks):
            if self.kwargs is None:
                self.kwargs = _Kwargs()
            self.kwargs.mask = input_masks[0]
        return None if self.kwargs is None else self.kwargs.mask

    def output_masks(self, layer: Any, inputs: Any, input_masks: list[Any], count: int,
                     computed: Any = LAYER_RULE) -> list[Any]:
        masking = type(layer).tfjs.masking
        if masking is TfjsMasking.NONE:
            return [None] * count
        if masking is TfjsMasking.MERGE:
            return [_merge_mask(layer, input_masks)] * count
        mask = layer.compute_mask(inputs, pack(input_masks)) if computed is LAYER_RULE else computed
        return [mask[0] if isinstance(mask, list) else mask] * count

    def call_masks(self, layer: Any, call: Call, input_masks: list[Any]) -> list[Any]:
        return input_masks

    def after_call(self, layer: Any, call: Call, node: NodeKey, seen: list[Any], inputs: Any, count: int) -> None:
        pass

    def for_nested(self, input_masks: list[Any]) -> tuple[TfjsMasks, list[Any]]:
        # Layer.apply hands the nested model the same kwargs object, or a fresh one when there is none yet.
        return TfjsMasks(self.kwargs if self.kwargs is not None else _Kwargs()), [None] * len(input_masks)


def _merge_mask(layer: Any, masks: list[Any]) -> Any:
    """TF.js's ``Merge.computeMask``: the first mask, ANDed with all but the last, with a leading axis added."""
    if all(m is None for m in masks):
        return None
    out = masks[0]
    for mask in masks[1:-1]:
        if out is None or mask is None:
            raise InputError(f"layer {layer.name!r} ({layer.class_name}): TF.js cannot combine the masks of its "
                             "inputs here (its Merge.computeMask fails on a missing mask)")
        out = np.logical_and(out, mask)
    return None if out is None else np.expand_dims(out, 0)  # (1, batch, time)


def execution_order(outputs: Sequence[TensorRef], calls: dict[NodeKey, Call],
                    feeds: Sequence[TensorRef]) -> list[NodeKey]:
    """The calls TF.js's executor makes, in its order (tfjs-layers executor.js,
    ``getTopologicalSortAndRecipientCounts``): a node appears once for each of its output tensors that is needed.

    The graph must be known to be acyclic (see ``base.dependency_order``).
    """
    seen: set[TensorRef] = set()
    order: list[NodeKey] = []
    for fetch in outputs:
        for ref in _sort_one(fetch, calls, feeds):
            if ref not in seen:
                seen.add(ref)
                order.append((ref.layer, ref.node_index))
    return order


def _sort_one(fetch: TensorRef, calls: dict[NodeKey, Call], feeds: Sequence[TensorRef]) -> list[TensorRef]:
    visited = {TensorRef(f.layer, f.node_index, f.tensor_index) for f in feeds}
    ordered: list[TensorRef] = []
    stack, marks = [fetch], []
    while stack:
        top = stack[-1]
        if top in visited:
            stack.pop()
            continue
        call = calls.get((top.layer, top.node_index))
        inputs = call.refs() if call is not None else []
        top_is_marked = bool(marks) and marks[-1] == len(stack) - 1
        if not inputs or top_is_marked:
            stack.pop()
            ordered.append(top)
            visited.add(top)
            if top_is_marked:
                marks.pop()
        else:
            marks.append(len(stack) - 1)
            stack += [ref for ref in inputs if ref not in visited]
    return [ref for ref in ordered if (ref.layer, ref.node_index) in calls]
