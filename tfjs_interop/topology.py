"""One normalised graph of layer calls, whatever dialect (TF.js, Keras 2, Keras 3) the file was written in.

The graph is plain data: the readers make it (``parsing``, which settles spellings through ``dialects``), the
runtime runs it on an engine (``engines``), the writers write it. Nothing here knows a file format or an engine's
behaviour.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

MODEL_CLASSES = ("Sequential", "Model", "Functional")
OP_PREFIX = "op."  # Keras 3 operations (keras.ops.*) in a graph are layers named "op.NotEqual", ...
MAX_DEPTH = 500  # calls in the longest chain from an input to an output; the runtime walks chains recursively


class Dialect(enum.Enum):
    """Who wrote a model's config: the meaning of some names depends on it."""

    TFJS = "tfjs"
    KERAS2 = "keras2"
    KERAS3 = "keras3"


class Engine(enum.Enum):
    """Whose execution the runtime reproduces: TF.js for the TF.js format, Keras for Keras files."""

    TFJS = "tfjs"
    KERAS = "keras"


@dataclass(frozen=True)
class Origin:
    """Where a model comes from: who wrote its config, and which library's numbers it must give."""

    dialect: Dialect
    engine: Engine


@dataclass(frozen=True)
class TensorRef:
    """The ``tensor_index``-th output of the ``node_index``-th call of layer ``layer``."""

    layer: str
    node_index: int = 0
    tensor_index: int = 0


@dataclass(frozen=True)
class Call:
    """One call of a layer (a Keras "inbound node"): its input tensors and keyword arguments.

    Tensor-valued keyword arguments (``initial_state``, ``mask``) hold TensorRefs (or lists of them).
    """

    args: tuple[TensorRef, ...]
    kwargs: dict = field(default_factory=dict)

    def map_refs(self, fn: Callable[[TensorRef], TensorRef]) -> Call:
        """This call with every tensor reference (arguments and keyword arguments) passed through ``fn``."""
        def each(value: object) -> object:
            if isinstance(value, TensorRef):
                return fn(value)
            return [each(v) for v in value] if isinstance(value, list) else value

        return Call(tuple(map(fn, self.args)), {key: each(value) for key, value in self.kwargs.items()})

    def positional(self, names: tuple[str, ...]) -> Call:
        """This call with its tensor arguments ``names`` (a call signature's, in order) all positional: those a
        file passes by name (``value=``) move after the positional ones; a ``mask`` of None, which a call with
        several tensors gets from the parser, is dropped (such a call takes the masks of its tensors)."""
        kwargs = dict(self.kwargs)
        args = list(self.args)
        for name in names[len(args):]:
            if not isinstance(kwargs.get(name), TensorRef):
                break
            args.append(kwargs.pop(name))
        if "mask" in kwargs and kwargs["mask"] is None:
            del kwargs["mask"]
        return Call(tuple(args), kwargs)

    def refs(self) -> list[TensorRef]:
        """Every tensor this call reads: its arguments, then tensors in its keyword arguments."""
        refs = list(self.args)
        for value in self.kwargs.values():
            if isinstance(value, TensorRef):
                refs.append(value)
            elif isinstance(value, list):
                refs += [v for v in value if isinstance(v, TensorRef)]
        return refs


@dataclass
class LayerSpec:
    """A layer of the graph: its class, normalised config and the calls made of it."""

    name: str
    class_name: str
    config: dict
    calls: list[Call] = field(default_factory=list)


@dataclass
class Topology:
    """A model as a graph of layer calls, with its input and output tensors."""

    name: str
    layers: list[LayerSpec]
    inputs: list[TensorRef]
    outputs: list[TensorRef]
    origin: Origin
    keras_version: str | None = None

    def layer(self, name: str) -> LayerSpec:
        for spec in self.layers:
            if spec.name == name:
                return spec
        raise KeyError(name)



# --- transforms -----------------------------------------------------------------------------------------------

def without_mask_operations(topology: Topology) -> Topology:
    """A copy in which Keras 3's mask operations are gone and the layers they fed take masks implicitly.

    Keras 3 records the masks ``Embedding(mask_zero)`` and ``Masking`` compute as graph operations (``not_equal``,
    ``any``) whose results only reach ``mask=`` arguments. Formats without explicit masks (TF.js) compute the same
    masks implicitly, so a writer can drop them: operations whose every use is a ``mask=`` argument (directly or
    through other such operations) are removed, with those arguments. Whether the implicit masks then equal the
    explicit ones is for the writer to check (it compares the numbers).
    """
    mask_only = _mask_only_operations(topology)
    layers = []
    for spec in topology.layers:
        if spec.name in mask_only:
            continue
        config = spec.config
        if spec.class_name in MODEL_CLASSES:
            config = {**config, "topology": without_mask_operations(config["topology"])}
        calls = [Call(call.args, {k: v for k, v in call.kwargs.items()
                                  if not (k == "mask" and isinstance(v, TensorRef) and v.layer in mask_only)})
                 for call in spec.calls]
        layers.append(LayerSpec(spec.name, spec.class_name, config, calls))
    return Topology(topology.name, layers, list(topology.inputs), list(topology.outputs), topology.origin,
                    topology.keras_version)


def _mask_only_operations(topology: Topology) -> set[str]:
    """Operations whose outputs are used only as ``mask=`` arguments, or by other such operations."""
    uses: dict[str, list[tuple[str, bool]]] = {spec.name: [] for spec in topology.layers}
    for spec in topology.layers:
        for call in spec.calls:
            for ref in call.args:
                uses[ref.layer].append((spec.name, False))
            for key, value in call.kwargs.items():
                for ref in value if isinstance(value, list) else [value]:
                    if isinstance(ref, TensorRef):
                        uses[ref.layer].append((spec.name, key == "mask"))
    outputs = {ref.layer for ref in topology.outputs}
    candidates = {s.name for s in topology.layers if s.class_name.startswith(OP_PREFIX) and s.name not in outputs}
    changed = True
    while changed:
        changed = False
        for name in sorted(candidates):
            if not all(as_mask or user in candidates for user, as_mask in uses[name]):
                candidates.discard(name)
                changed = True
    return candidates

