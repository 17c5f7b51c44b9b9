"""The execution plan: a model's calls with the executor's bookkeeping worked out once.

The graph executor (``Model._execute``) looks every input up by node, asks the engine's mask policy for each call's
mask and each output's masks, and resolves the call's keyword arguments, on every call: at batch 1 that is most of
the time a small model takes. Most models carry no mask at all (no Embedding with ``mask_zero``, no Masking, no
mask given), and for them all of that comes to nothing. A ``Plan`` is the steps of such a model with their inputs,
keyword arguments and outputs as positions in one flat list, made once; running it calls the layers in the
engine's order (repeats included) and nothing else.

Where a step's only result is read by the next step alone, as its only input, the two are one step when the
first's layer can run both (``Layer.fuse``: consecutive RNNs, e.g. a stacked LSTM, run from one another's
time-major outputs, without the layer calls between them).

A plan is made only from a run of the executor that saw no mask anywhere (``MaskWatch``), and only for models
without nested models (whose calls compute masks of their own). Whether a mask exists never depends on the values
of the inputs, only on the graph, so the executor's first run decides for every later one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engines import LAYER_RULE, MaskPolicy
from ..errors import ModelFormatError
from ..topology import Call, TensorRef
from .layers.base import Layer

NodeKey = tuple[str, int]


class MaskWatch:
    """A mask policy that passes everything to another and notes whether any mask was made or handed on."""

    def __init__(self, policy: MaskPolicy):
        self.policy = policy
        self.saw_mask = False

    def call_mask(self, input_masks: list[Any]) -> Any:
        mask = self.policy.call_mask(input_masks)
        self.saw_mask |= _some(mask) or _some(input_masks)
        return mask

    def output_masks(self, layer: Any, inputs: Any, input_masks: list[Any], count: int,
                     computed: Any = LAYER_RULE) -> list[Any]:
        masks = self.policy.output_masks(layer, inputs, input_masks, count, computed)
        self.saw_mask |= _some(masks)
        return masks

    def for_nested(self, input_masks: list[Any]) -> tuple[MaskPolicy, list[Any]]:
        self.saw_mask = True  # a nested model's calls are not planned
        return self.policy.for_nested(input_masks)

    def call_masks(self, layer: Any, call: Call, input_masks: list[Any]) -> list[Any]:
        return self.policy.call_masks(layer, call, input_masks)

    def after_call(self, layer: Any, call: Call, node: NodeKey, seen: list[Any], inputs: Any, count: int) -> None:
        self.policy.after_call(layer, call, node, seen, inputs, count)


def _some(mask: Any) -> bool:
    """Whether ``mask`` is a mask, or a list holding one (a call of several inputs gets a list of their masks)."""
    if isinstance(mask, (list, tuple)):
        return any(_some(m) for m in mask)
    return mask is not None


@dataclass(frozen=True)
class _Step:
    layer: Layer
    args: tuple[int, ...]  # slots of its inputs
    packed: bool  # several inputs: the layer takes them as a list
    kwargs: tuple[tuple[str, Any], ...]  # (key, value), tensors in it as _Slot
    writes: tuple[tuple[int, int], ...]  # (output index, slot): its first results that later calls read
    returns: tuple[tuple[int, int], ...]  # (output index, model output position): the model's results
    then: tuple[Layer, ...] = ()  # layers fused after it, each taking the one before's only output
    fused: Any = None  # what runs them all in one call (``Layer.fuse``), or None


@dataclass(frozen=True)
class _Slot:
    index: int  # a tensor's place in a run's values


class Plan:
    """A mask-free model's calls, ready to run (see the module's docstring). Immutable: threads share it."""

    def __init__(self, steps: Sequence[tuple[Layer, NodeKey, Call]], feeds: Sequence[TensorRef],
                 outputs: Sequence[TensorRef], call_layer: Callable[[Layer, Any, dict], Any]):
        """``steps``: (layer, node, call) in the engine's order; ``call_layer(layer, inputs, kwargs)`` runs one
        call (the executor's error handling)."""
        slots: dict[tuple[NodeKey, int], int] = {}

        def slot(ref: TensorRef) -> int:
            return slots.setdefault(((ref.layer, ref.node_index), ref.tensor_index), len(slots))

        self._feed_slots = tuple(slot(ref) for ref in feeds)
        planned, seen = [], set()
        last = {node: i for i, (_, node, _) in enumerate(steps)}
        for i, (layer, node, call) in enumerate(steps):
            args = tuple(slot(ref) for ref in call.args)
            kwargs = tuple(call.map_refs(lambda ref: _Slot(slot(ref))).kwargs.items())
            planned.append([layer, args, len(call.args) > 1, kwargs, node, i == last[node], node in seen])
            seen.add(node)
        self._steps = _fused([self._finish(step, slots, outputs) for step in planned])
        feed_nodes = {(ref.layer, ref.node_index) for ref in feeds}
        self._fed_outputs = tuple((position, slot(ref)) for position, ref in enumerate(outputs)
                                  if (ref.layer, ref.node_index) in feed_nodes)  # a model input returned as is
        self._output_count = len(outputs)
        self._slot_count = len(slots)
        self._call_layer = call_layer

    @staticmethod
    def _finish(step: list, slots: dict, outputs: Sequence[TensorRef]) -> _Step:
        layer, args, packed, kwargs, node, is_last, repeat = step
        writes = () if repeat else tuple((index, s) for (n, index), s in slots.items() if n == node)
        returns = tuple((ref.tensor_index, position) for position, ref in enumerate(outputs)
                        if is_last and (ref.layer, ref.node_index) == node)
        return _Step(layer, args, packed, kwargs, writes, returns)

    def run(self, feeds: list[np.ndarray]) -> list[np.ndarray]:
        """The model's outputs for checked ``feeds`` (one array per input)."""
        values: list[Any] = [None] * self._slot_count
        for slot, feed in zip(self._feed_slots, feeds):
            values[slot] = feed
        results: list[Any] = [None] * self._output_count
        for step in self._steps:
            inputs = [values[i] for i in step.args] if step.packed else values[step.args[0]]
            kwargs = {key: _value(arg, values) for key, arg in step.kwargs} if step.kwargs else {}
            outputs = self._outputs(step, inputs, kwargs)
            if not isinstance(outputs, list):
                outputs = [outputs]
            try:  # output_at's check, by the IndexError (a check per output was ~5 % of a batch-1 call)
                for index, slot in step.writes:
                    values[slot] = outputs[index]
                for index, position in step.returns:
                    results[position] = outputs[index]
            except IndexError:
                for index, _ in step.writes + step.returns:
                    output_at(outputs, index, step.layer.name)
                raise
        for position, slot in self._fed_outputs:
            results[position] = values[slot]
        return results


    def _outputs(self, step: _Step, inputs: Any, kwargs: dict) -> Any:
        """A step's outputs: its fused layers' in one call where that applies, else each layer's in turn."""
        if step.fused is not None:
            outputs = self._call_layer(step.fused, inputs, {})
            if outputs is not None:
                return outputs
        outputs = self._call_layer(step.layer, inputs, kwargs)
        for layer in step.then:
            outputs = self._call_layer(layer, outputs, {})
        return outputs


def _fused(steps: list[_Step]) -> tuple[_Step, ...]:
    """``steps`` with each step whose only result only the next step reads, as its only input, merged with it
    where the layers fuse (``Layer.fuse``)."""
    readers = Counter(slot for step in steps for slot in _read_slots(step))
    merged: list[_Step] = []
    for step in steps:
        joined = _joined(merged[-1], step, readers) if merged else None
        if joined is None:
            merged.append(step)
        else:
            merged[-1] = joined
    return tuple(merged)


def _joined(first: _Step, then: _Step, readers: Counter) -> _Step | None:
    if len(first.writes) != 1 or first.writes[0][0] != 0 or first.returns or first.kwargs or then.kwargs or \
            then.packed or then.args != (first.writes[0][1],) or readers[then.args[0]] != 1:
        return None
    fused = (first.fused or first.layer).fuse(then.layer)
    if fused is None:
        return None
    return _Step(first.layer, first.args, first.packed, first.kwargs, then.writes, then.returns,
                 (*first.then, then.layer), fused)


def _read_slots(step: _Step) -> list[int]:
    found = list(step.args)

    def collect(arg: Any) -> None:
        if isinstance(arg, _Slot):
            found.append(arg.index)
        elif isinstance(arg, list):
            for item in arg:
                collect(item)

    for _, arg in step.kwargs:
        collect(arg)
    return found


def _value(arg: Any, values: list[Any]) -> Any:
    if isinstance(arg, _Slot):
        return values[arg.index]
    return [_value(v, values) for v in arg] if isinstance(arg, list) else arg


def output_at(outputs: list[Any], index: int, layer: str) -> Any:
    """Output ``index`` of a call of ``layer``, or the error of a graph that asks for one it does not make."""
    if index >= len(outputs):
        raise ModelFormatError(f"a reference asks for output {index} of layer {layer!r}, which has "
                               f"{len(outputs)} output(s)")
    return outputs[index]

