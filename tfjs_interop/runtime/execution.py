"""How a graph is scheduled and how masks travel, as Keras does it and as TF.js 4.22's ``execute()`` does it.

Keras gives each layer call the masks of its own inputs. TF.js's executor (tfjs-layers ``engine/executor.js``)
differs in ways that change numbers, and a model that runs in the browser must get the browser's numbers:

- it walks the graph tensor by tensor in its own depth-first order and applies a layer once per output tensor
  that is needed: later layers use the first pass's results, the model returns the last pass's, and each pass
  advances a stateful layer and sees the stale mask of its moment;
- it passes a mask to a layer's call through one ``kwargs`` object that lives for the whole execution: it is set
  to the first input's mask whenever some input has a mask, and is otherwise left as it was, so a layer with
  unmasked inputs receives the last mask set by an earlier layer (a nested model shares that object);
- only some layer classes compute output masks, and every output of a call gets the mask of its first output;
- an element-wise merge (Add, Multiply, Average, Maximum, Minimum) takes the mask of its FIRST input, ANDed with
  those of the others but the last, with a new leading axis (``Merge.computeMask``): so ``Add([a, masked])``
  passes no mask on, and a mask that does pass on has the shape (1, batch, time);
- a nested model's inputs carry no masks and its outputs none.

What layers then do with an odd mask (RNN's ``rnn()`` rule, Softmax's broadcasting, TimeDistributed handing it
on) is the layers' business, in ``layers/``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError, ModelFormatError
from ..topology import Call, TensorRef
from .layers.base import Layer

# Classes whose TF.js implementation sets ``supportsMasking`` (tfjs-layers 4.22, layers/*.js).
TFJS_MASKING_CLASSES = frozenset({
    "Dense", "Activation", "Dropout", "SpatialDropout1D", "Masking", "Embedding", "ReLU", "PReLU",
    "BatchNormalization", "LayerNormalization", "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "RNN", "LSTM", "GRU", "SimpleRNN", "Bidirectional", "TimeDistributed",
    "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
})
TFJS_ELEMENTWISE_MERGES = frozenset({"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"})


LAYER_RULE = object()  # "the layer's compute_mask decides", as opposed to a mask its call already computed


def pack(items: list[Any]) -> Any:
    """One item as itself, several as a list (the form layers take their inputs and masks in)."""
    return items[0] if len(items) == 1 else items


def unpack_masks(mask: Any, count: int) -> list[Any]:
    """A layer's output mask(s) as one entry per output."""
    if isinstance(mask, list):
        return mask + [None] * (count - len(mask))
    return [mask] + [None] * (count - 1)


class KerasMasks:
    """Keras: a call gets the masks of its inputs; its outputs get the masks its layer computes."""

    def call_mask(self, input_masks: list[Any]) -> Any:
        return pack(input_masks)

    def output_masks(self, layer: Layer, inputs: Any, input_masks: list[Any], count: int,
                     computed: Any = LAYER_RULE) -> list[Any]:
        mask = layer.compute_mask(inputs, pack(input_masks)) if computed is LAYER_RULE else computed
        return unpack_masks(mask, count)

    def for_nested(self, input_masks: list[Any]) -> tuple[KerasMasks, list[Any]]:
        """The policy and input masks a nested model runs with."""
        return KerasMasks(), input_masks


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

    def output_masks(self, layer: Layer, inputs: Any, input_masks: list[Any], count: int,
                     computed: Any = LAYER_RULE) -> list[Any]:
        if layer.class_name not in TFJS_MASKING_CLASSES:
            return [None] * count
        if layer.class_name in TFJS_ELEMENTWISE_MERGES:
            return [_tfjs_merge_mask(layer, input_masks)] * count
        mask = layer.compute_mask(inputs, pack(input_masks)) if computed is LAYER_RULE else computed
        return [mask[0] if isinstance(mask, list) else mask] * count

    def for_nested(self, input_masks: list[Any]) -> tuple[TfjsMasks, list[Any]]:
        # Layer.apply hands the nested model the same kwargs object, or a fresh one when there is none yet.
        return TfjsMasks(self.kwargs if self.kwargs is not None else _Kwargs()), [None] * len(input_masks)


def _tfjs_merge_mask(layer: Layer, masks: list[Any]) -> Any:
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


NodeKey = tuple[str, int]  # (layer name, call index)


def keras_order(outputs: Sequence[TensorRef], calls: dict[NodeKey, Call],
                visit_leaf: Callable[[NodeKey], None]) -> list[NodeKey]:
    """Every call needed for ``outputs``, each after the calls that make its inputs (depth-first post-order).

    ``visit_leaf`` is called for a node that has no call (a model input), and raises if it is not one.
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


def tfjs_order(outputs: Sequence[TensorRef], calls: dict[NodeKey, Call], feeds: Sequence[TensorRef]) -> list[NodeKey]:
    """The calls TF.js's executor makes, in its order (tfjs-layers executor.js,
    ``getTopologicalSortAndRecipientCounts``): a node appears once for each of its output tensors that is needed.

    The graph must be known to be acyclic (see :func:`keras_order`).
    """
    seen: set[TensorRef] = set()
    order: list[NodeKey] = []
    for fetch in outputs:
        for ref in _tfjs_sort_one(fetch, calls, feeds):
            if ref not in seen:
                seen.add(ref)
                order.append((ref.layer, ref.node_index))
    return order


def _tfjs_sort_one(fetch: TensorRef, calls: dict[NodeKey, Call], feeds: Sequence[TensorRef]) -> list[TensorRef]:
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

