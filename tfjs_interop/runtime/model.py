"""The graph executor: builds runtime layers from a Topology and runs them in float32 NumPy."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engines import LAYER_RULE, Engine, MaskPolicy, dependency_order, engine_for, pack
from ..errors import InputError, ModelFormatError, TfjsInteropError, WeightsError, api_boundary
from ..progress import check_verbose, progress
from ..topology import Call, TensorRef, Topology
from .feeds import as_feed, shape_str
from .layers import build_layer
from .layers.base import Layer, Shape, assign
from .layers.core import InputLayer
from .pickling import reduce_model
from .plan import MaskWatch, Plan, output_at
from .summary import summary_text

NodeKey = tuple[str, int]  # (layer name, call index)
_UNDECIDED = object()  # a model's plan before its first run


@dataclass(frozen=True)
class TensorSpec:
    """A model input or output: the layer that makes it, its shape (None = any size) and dtype."""

    name: str
    shape: Shape
    dtype: str


@dataclass(frozen=True)
class _Step:
    layer: Layer
    node: NodeKey
    call: Call


class Model:
    """A model ready to run: layers built from a Topology, executed call by call in its engine's order.

    Thread safety: what a call computes lives in the call (its values, masks and TF.js kwargs), never on a layer,
    so any number of threads may ``predict`` on one model at once and get the numbers serial calls give. A model
    with a stateful layer runs one call at a time instead (a lock per model): each ``predict``, all its batches,
    sees and advances the state as a whole. Changing weights while another thread predicts is not supported.
    """

    def __init__(self, topology: Topology, engine: Engine | None = None):
        """``engine``: whose numbers to give; by default the engine of the file's format
        (``engines.engine_for``)."""
        self.name = topology.name
        self.topology = topology
        self.engine = engine or engine_for(topology.origin)
        self.source: str | None = None  # the file it was loaded from
        self.file_hashes: dict[str, str] | None = None  # a URL model's files' SHA-256, as read (golden records)
        self.weights_file: str | None = None  # the weights file given apart from the model's, if any (its hashes)
        self.metadata: dict = {}  # format, generatedBy, userDefinedMetadata... as the file gave them
        self._layers = {spec.name: build_layer(spec.class_name, spec.name, spec.config, self.engine)
                        for spec in topology.layers}
        self._input_refs = list(topology.inputs)
        self._output_refs = list(topology.outputs)
        self._check_inputs()
        self._input_specs = self.inputs  # checked against on every call
        self._fixed_batch = next((s for s in self._input_specs if s.shape and s.shape[0] is not None), None)
        calls = {(spec.name, i): call for spec in topology.layers for i, call in enumerate(spec.calls)}
        self._build_order = self._dependency_order(calls)
        self._steps = self._engine_steps(calls)
        self._shapes = self._infer_shapes()
        # Stateful layers carry state from call to call: their model serialises calls (see the class docstring).
        self.stateful = any(layer.stateful for layer in self._layers.values())
        self._serial = threading.RLock() if self.stateful else nullcontext()
        self._plan: Plan | None | object = _UNDECIDED  # made by the first run that can tell (runtime/plan.py)

    # -- construction ----------------------------------------------------------------------------------------
    def _check_inputs(self) -> None:
        for ref in self._input_refs:
            if not isinstance(self._layers[ref.layer], InputLayer):
                raise ModelFormatError(f"model input {ref.layer!r} is a {self._layers[ref.layer].class_name}, "
                                       "not an InputLayer")

    def _dependency_order(self, calls: dict[NodeKey, Call]) -> list[_Step]:
        """Each needed call once, after the calls that make its inputs (Keras's order; refuses cycles)."""

        fed = {(ref.layer, ref.node_index) for ref in self._input_refs}

        def check_input(node: NodeKey) -> None:
            if not isinstance(self._layers[node[0]], InputLayer):
                raise ModelFormatError(f"layer {node[0]!r} is used but never called on an input")
            if node not in fed:
                raise ModelFormatError(f"input layer {node[0]!r} is used but is not one of the model's inputs "
                                       f"{[ref.layer for ref in self._input_refs]}")

        return [self._step(node, calls) for node in dependency_order(self._output_refs, calls, check_input)]

    def _step(self, node: NodeKey, calls: dict[NodeKey, Call]) -> _Step:
        """A call as its layer takes it (``Layer.arranged_call``; the engines order the calls as the file has them)."""
        layer = self._layers[node[0]]
        return _Step(layer, node, layer.arranged_call(calls[node]))

    def _engine_steps(self, calls: dict[NodeKey, Call]) -> list[_Step]:
        """The calls in the engine's order: TF.js repeats a call for each of its needed outputs
        (``engines.tfjs``): a repeat may see another stale mask, or advance a stateful layer, and the model returns
        the last one's results."""
        order = self.engine.steps(self._output_refs, calls, self._input_refs, [s.node for s in self._build_order])
        return [self._step(node, calls) for node in order]

    def _infer_shapes(self) -> dict[NodeKey, list[Shape]]:
        shapes: dict[NodeKey, list[Shape]] = {}
        for ref in self._input_refs:
            shapes[(ref.layer, 0)] = [self._layers[ref.layer].batch_shape]
        for step in self._build_order:
            inputs = pack([_lookup(shapes, ref) for ref in step.call.args])
            step.layer.ensure_built(inputs)
            shapes[step.node] = _unpack(step.layer.call_output_shape(inputs, step.call.kwargs))
        for ref in self._output_refs:
            _lookup(shapes, ref)
        return shapes

    # -- public API ------------------------------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The layers, in the order the model file lists them."""
        return list(self._layers.values())

    def get_layer(self, name: str) -> Layer:
        """The layer called ``name``."""
        try:
            return self._layers[name]
        except KeyError:
            raise KeyError(f"no layer named {name!r}; layers are {list(self._layers)}") from None

    @property
    def inputs(self) -> list[TensorSpec]:
        """Name, shape and dtype of each input, in order."""
        return [TensorSpec(r.layer, self._layers[r.layer].batch_shape, self._layers[r.layer].dtype)
                for r in self._input_refs]

    @property
    def outputs(self) -> list[TensorSpec]:
        """Name, shape and dtype of each output, in order."""
        return [TensorSpec(r.layer, _lookup(self._shapes, r), "float32") for r in self._output_refs]

    @property
    def input_shape(self) -> Shape | list[Shape]:
        """The input's shape (None: any size), as Keras gives it: a tuple, or a list of them for several inputs."""
        return _one_or_list([spec.shape for spec in self.inputs])

    @property
    def output_shape(self) -> Shape | list[Shape]:
        """The output's shape, as Keras gives it: a tuple, or a list of them for several outputs."""
        return _one_or_list([spec.shape for spec in self.outputs])

    def __repr__(self) -> str:
        def specs(items: list[TensorSpec]) -> str:
            return ", ".join(f"{s.name} {shape_str(s.shape)} {s.dtype}" for s in items)

        source = f" from {self.source}" if self.source else ""
        return (f"<tfjs_interop.Model {self.name!r}: inputs [{specs(self.inputs)}], outputs [{specs(self.outputs)}], "
                f"{len(self._layers)} layers, {self.count_params():,} params, "
                f"{self.engine.name} engine{source}>")

    @api_boundary(ModelFormatError)
    def predict(self, x: Any, batch_size: int | None = None, verbose: str | int = "auto"
                ) -> np.ndarray | list[np.ndarray]:
        """Run the model.

        Args:
            x: an array (one input), a list of arrays in input order, or a dict by input name.
            batch_size: run this many samples at a time (None: all at once; a NumPy integer is fine). Results do
                not depend on it, except that stateful layers carry their state from one batch to the next, as in
                Keras. A model whose inputs fix the batch size takes only batches of that size.
            verbose: as Keras's: ``"auto"`` shows a progress bar over the batches on stderr when it is a terminal
                (with tqdm installed), ``1`` always (without tqdm: the line of ``2``), ``0`` never, ``2`` one line
                when done.

        Safe to call from many threads at once (see the class docstring). A batch of 0 samples gives empty
        outputs of the declared shapes without running anything.

        Returns:
            An array for a one-output model, else a list of arrays in output order.

        Raises:
            InputError: when the inputs do not fit the model's inputs, or for a bad ``batch_size`` / ``verbose``.
        """
        usual = batch_size is None and type(verbose) is str and verbose == "auto"  # one batch, no bar
        if not usual:
            check_verbose(verbose)
        feeds = self._feeds(x)
        n = feeds[0].shape[0]
        if usual and n:
            return _one_or_list(self.run(feeds)[0])
        step = _batch_size(batch_size) or max(n, 1)
        if self._fixed_batch and step < n:
            fixed = self._fixed_batch
            raise InputError(f"input {fixed.name!r} has a fixed batch size of {fixed.shape[0]} (its "
                             f"batch_input_shape), so the model cannot run batches of {step}; pass batch_size=None")
        if n == 0:
            outputs = self._empty_outputs(feeds)
            return _one_or_list(outputs)
        if step >= n and verbose in ("auto", 0):  # one batch, no bar: "auto" shows none for one
            outputs = self.run(feeds)[0]
            return _one_or_list(outputs)
        starts = range(0, n, step)
        chunks = []
        with self._serial, progress(len(starts), "predict", verbose) as bar:
            for i in starts:
                chunks.append(self.run([f[i:i + step] for f in feeds])[0])
                bar.update(1)
        outputs = [np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0] for parts in zip(*chunks)]
        return _one_or_list(outputs)

    def output_shapes_for(self, input_shapes: list[Shape]) -> list[Shape]:
        """The output shapes for inputs of ``input_shapes``, from each layer's ``output_shape`` (nothing runs)."""
        shapes: dict[NodeKey, list[Shape]] = {(ref.layer, 0): [tuple(shape)] for ref, shape in
                                              zip(self._input_refs, input_shapes)}
        for step in self._build_order:
            inputs = pack([_lookup(shapes, r) for r in step.call.args])
            shapes[step.node] = _unpack(step.layer.call_output_shape(inputs, step.call.kwargs))
        return [tuple(_lookup(shapes, ref)) for ref in self._output_refs]

    def _empty_outputs(self, feeds: list[np.ndarray]) -> list[np.ndarray]:
        """The outputs for a batch of 0 samples, shaped by each layer's output_shape (nothing runs, no state
        moves), or InputError where a size depends on data that is not there."""
        outputs = self.output_shapes_for([feed.shape for feed in feeds])
        if any(not isinstance(d, int) for shape in outputs for d in shape):
            raise InputError(f"input {self._input_refs[0].layer!r}: a batch of 0 samples, for which the model's "
                             f"output shapes {outputs} are not all known; pass at least one sample")
        return [np.zeros(shape, np.float32) for shape in outputs]

    def check_inputs(self, x: Any) -> list[np.ndarray]:
        """The inputs as :meth:`predict` takes them, checked and converted: one array per input, in input order.

        Raises:
            InputError: when the inputs do not fit the model's inputs.
        """
        return self._feeds(x)

    def __call__(self, x: Any) -> np.ndarray | list[np.ndarray]:
        return self.predict(x)

    def __reduce__(self) -> tuple:
        """Pickle as topology, raw weight arrays and stateful RNN states: no source file is needed to unpickle,
        and the copy predicts exactly what this model would (see ``runtime/pickling.py``)."""
        return reduce_model(self)

    def reset_states(self) -> None:
        """Clear the state that stateful recurrent layers carry between calls."""
        with self._serial:
            for layer in self._layers.values():
                layer.reset_states()

    def count_params(self) -> int:
        """The number of scalars in all weights."""
        return sum(layer.count_params() for layer in self._layers.values())

    def summary(self, print_fn: Callable[[str], None] = print) -> None:
        """Print a Keras-style table of layers, output shapes and parameter counts."""
        print_fn(summary_text(self))

    def call_output_shapes(self) -> dict[NodeKey, list[Shape]]:
        """The output shapes of every call made, by (layer name, call index)."""
        return dict(self._shapes)

    def output_shapes_of(self, layer: Layer) -> list[list[Shape]]:
        """The output shapes of each call of ``layer`` (used by the summary)."""
        return [shapes for (name, _), shapes in self._shapes.items() if name == layer.name]

    def get_weights(self) -> list[np.ndarray]:
        """All weights, layer by layer, in Keras order."""
        return [v.value for layer in self._layers.values() for v in layer.weights]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Replace all weights, given in the order of :meth:`get_weights`.

        Raises:
            WeightsError: when the count or a shape differs.
        """
        variables = [(layer, v) for layer in self._layers.values() for v in layer.weights]
        if len(weights) != len(variables):
            raise WeightsError(f"set_weights expects {len(variables)} weight(s), received {len(weights)}")
        for (layer, variable), value in zip(variables, weights):
            assign(layer, variable, value, "set_weights")

    # -- execution -------------------------------------------------------------------------------------------
    def _feeds(self, x: Any) -> list[np.ndarray]:
        specs = self._input_specs
        if type(x) is np.ndarray and len(specs) == 1:  # the usual call, without the general checks' ~1 µs
            return [as_feed(x, specs[0])]
        if isinstance(x, Mapping):
            names = [s.name for s in specs]
            missing, unknown = [n for n in names if n not in x], [k for k in x if k not in names]
            if missing or unknown:
                raise InputError(f"inputs given by name must be exactly the model's inputs {names}; "
                                 f"missing {missing}, unknown {unknown}")
            x = [x[s.name] for s in specs]
        elif not isinstance(x, (list, tuple)):
            x = [x]
        if len(x) != len(specs):
            raise InputError(f"the model takes {len(specs)} input(s) {[s.name for s in specs]}, received {len(x)}")
        feeds = [as_feed(value, spec) for value, spec in zip(x, specs)]
        if len({f.shape[0] for f in feeds}) > 1:
            raise InputError(f"all inputs must have the same batch size, got {[f.shape[0] for f in feeds]}")
        return feeds

    def run(self, feeds: list[np.ndarray], masks: list[Any] | None = None,
            policy: MaskPolicy | None = None) -> tuple[list[np.ndarray], list[Any]]:
        """Execute the graph on checked feeds; return the outputs and their masks.

        Args:
            feeds: one array per model input.
            masks: optional masks of the inputs (a nested model receives its caller's).
            policy: how masks travel (see ``engines``); by default that of the model's engine.
        """
        plan = self._plan if masks is None and policy is None else None
        if isinstance(plan, Plan) and not self.stateful:  # the usual call: no lock to take
            return plan.run(feeds), [None] * len(self._output_refs)
        with self._serial:
            if isinstance(plan, Plan):
                return plan.run(feeds), [None] * len(self._output_refs)
            values, latest, out_masks = self._execute(feeds, masks, policy)
        return ([_lookup(latest, ref) for ref in self._output_refs],  # a repeated TF.js call: the model returns
                [_lookup(out_masks, ref) for ref in self._output_refs])  # its last results

    def trace(self, x: Any) -> dict[tuple[str, int], list[np.ndarray]]:
        """Run the model and return the outputs of every layer call, by (layer name, call index).

        A call TF.js repeats is given with the results later layers used (its first). Inputs are taken as by
        :meth:`predict`, in one batch.
        """
        feeds = self._feeds(x)
        with self._serial:
            return self._execute(feeds, None, None)[0]

    def _execute(self, feeds: list[np.ndarray], masks: list[Any] | None,
                 policy: MaskPolicy | None) -> tuple[dict, dict, dict]:
        """Every call's outputs (first pass), latest outputs and output masks, by node."""
        watch = None
        if policy is None:
            policy = self.engine.mask_policy()
            if masks is None and self._plan is _UNDECIDED:
                policy = watch = MaskWatch(policy)
        values: dict[NodeKey, list[np.ndarray]] = {}
        out_masks: dict[NodeKey, list[Any]] = {}
        for ref, feed, mask in zip(self._input_refs, feeds, masks or [None] * len(feeds)):
            values[(ref.layer, 0)], out_masks[(ref.layer, 0)] = [feed], [mask]
        latest = dict(values)
        for step in self._steps:
            inputs = pack([_lookup(values, ref) for ref in step.call.args])
            input_masks = [_lookup(out_masks, ref) for ref in step.call.args]
            seen = policy.call_masks(step.layer, step.call, input_masks)
            kwargs = {key: _resolve(value, values) for key, value in step.call.kwargs.items()}
            mask = kwargs.pop("mask") if "mask" in kwargs else policy.call_mask(seen)
            outputs, computed = _call_layer(step.layer, inputs, mask, kwargs, policy)
            outputs = _unpack(outputs)
            latest[step.node] = outputs
            if step.node not in values:  # a repeated TF.js call feeds later layers its first results
                values[step.node] = outputs
                out_masks[step.node] = policy.output_masks(step.layer, inputs, input_masks, len(outputs), computed)
            policy.after_call(step.layer, step.call, step.node, seen, inputs, len(outputs))
        if watch is not None:
            self._plan = self._make_plan(watch)
        return values, latest, out_masks

    def _make_plan(self, watch: MaskWatch) -> Plan | None:
        """The plan of a model whose run ``watch`` followed, or None where the executor must keep running it:
        a mask was seen, a call is handed a mask explicitly, or a nested model runs (its call asks the policy
        ``for_nested``, which the watch counts as a mask; see ``runtime/plan.py``)."""
        if watch.saw_mask or any("mask" in step.call.kwargs for step in self._steps):
            return None
        return Plan([(step.layer, step.node, step.call) for step in self._steps], self._input_refs,
                    self._output_refs, _call_planned)


def _batch_size(batch_size: Any) -> int | None:
    """``batch_size`` as an int (NumPy integers included), None for all at once; InputError otherwise."""
    if batch_size is None:
        return None
    if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def _call_layer(layer: Layer, inputs: Any, mask: Any, kwargs: dict, policy: MaskPolicy) -> tuple:
    """Run one layer: its outputs, and the output mask a nested model computed in the call (else LAYER_RULE). A
    failure of NumPy on what a malformed graph feeds it becomes this package's error."""
    try:
        if hasattr(layer, "call_with_masks"):  # a nested model: its call computes its output masks
            return layer.call_with_masks(inputs, mask, policy)
        return layer.call(inputs, mask=mask, **kwargs), LAYER_RULE
    except TfjsInteropError:
        raise
    except _LAYER_FAULTS as exc:
        raise _layer_failure(layer, inputs, exc) from exc


def _call_planned(layer: Layer, inputs: Any, kwargs: dict) -> Any:
    """One call of a plan (never a nested model: plans have none): no mask, the executor's error handling."""
    try:
        return layer.call(inputs, mask=None, **kwargs)
    except TfjsInteropError:
        raise
    except _LAYER_FAULTS as exc:
        raise _layer_failure(layer, inputs, exc) from exc


_LAYER_FAULTS = (ValueError, TypeError, IndexError, AttributeError, KeyError)  # NumPy's, on what a graph feeds it


def _layer_failure(layer: Layer, inputs: Any, exc: Exception) -> ModelFormatError:
    shapes = [getattr(x, "shape", type(x).__name__) for x in (inputs if isinstance(inputs, list) else [inputs])]
    return ModelFormatError(f"layer {layer.name!r} ({layer.class_name}) cannot run on inputs of shapes {shapes} "
                            f"with the arguments the model's graph gives it: {type(exc).__name__}: {exc}")


def _one_or_list(items: list[Any]) -> Any:
    """One item as itself, several as the list (Keras's form of a model's outputs and their shapes)."""
    return items[0] if len(items) == 1 else items


def _lookup(table: dict[NodeKey, list[Any]], ref: TensorRef) -> Any:
    return output_at(table[(ref.layer, ref.node_index)], ref.tensor_index, ref.layer)


def _resolve(value: Any, values: dict[NodeKey, list[np.ndarray]]) -> Any:
    if isinstance(value, TensorRef):
        return _lookup(values, value)
    if isinstance(value, list) and value and all(isinstance(v, TensorRef) for v in value):
        return [_lookup(values, v) for v in value]
    return value


def _unpack(outputs: Any) -> list[Any]:
    return list(outputs) if isinstance(outputs, list) else [outputs]
