"""The writer contract: what a writer is given of a model, in plain data, never the runtime's classes.

A writer takes a :class:`ModelParts`: the normalised topology, each layer's weights under the runtime's canonical
paths (``kernel``, ``forward/bias``, ``cells/0/kernel``) and the output shapes of each call. A nested model, or the
model a wrapper applies (``TimeDistributed(model)``), gives its own parts under the layer's name; the layer
classes' facts come with them (the registry's, handed in: formats never import the runtime). The top-level
``saving`` module makes them from a runtime model (:func:`tfjs_interop.saving.model_parts`) and runs whatever
check needs the model to compute; writers only encode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..facts import Catalog
from ..topology import MODEL_CLASSES, Topology

Shape = tuple


@dataclass(frozen=True)
class WeightValue:
    """A weight of a layer as the runtime holds it: its path within the layer (``kernel``, ``forward/bias``,
    ``cells/0/kernel``), value and trainability."""

    path: str
    value: np.ndarray
    trainable: bool = True


LayerWeights = Mapping[str, "list[WeightValue] | LayerWeights"]  # a nested model maps to its layers' weights


@dataclass(frozen=True)
class ModelParts:
    """A model as writers take it.

    Attributes:
        topology: the normalised topology.
        weights: the weights of each layer that owns some, by layer name (a wrapper's are its inner layer's, under
            the wrapper's paths).
        shapes: the output shapes of every call, by (layer name, call index), in the order the runtime made them.
        facts: what each layer class tells about itself (``tfjs_interop.runtime.layers.catalog()``), for the
            writers' per-class rules.
        nested: the parts of each nested model, and of each model a wrapper applies, by the layer's name.
        name: the name the runtime gives this model as a layer (a nested model's layer name, or the name of the
            model a wrapper applies); the topology's name at the top.
    """

    topology: Topology
    weights: Mapping[str, list[WeightValue]]
    shapes: Mapping[tuple[str, int], list[Shape]]
    facts: Catalog
    nested: Mapping[str, ModelParts] = field(default_factory=dict)
    name: str = ""

    def output_shapes_of(self, layer: str) -> list[list[Shape]]:
        """The output shapes of each call of ``layer``."""
        return [shapes for (name, _), shapes in self.shapes.items() if name == layer]

    def layer_weights(self) -> LayerWeights:
        """Each layer's weights by layer name, a nested model's (or wrapped model's) as a mapping of its own."""
        out: dict = {}
        for spec in self.topology.layers:
            if spec.name in self.nested:
                out[spec.name] = self.nested[spec.name].layer_weights()
            elif self.weights.get(spec.name):
                out[spec.name] = list(self.weights[spec.name])
        return out

    def flat_weights(self, layer: str) -> list[WeightValue]:
        """A layer's weights as one list, as the runtime's layer lists them: a nested model's are its layers', in
        order, each under its own path."""
        nested = self.nested.get(layer)
        if nested is None:
            return list(self.weights.get(layer, []))
        return [w for spec in nested.topology.layers for w in nested.flat_weights(spec.name)]

    def first_shapes(self) -> dict[str, Shape]:
        """The shape of each layer's first output (nested models' layers included)."""
        found: dict[str, Shape] = {}
        for spec in self.topology.layers:
            if spec.class_name in MODEL_CLASSES and spec.name in self.nested:
                found.update(self.nested[spec.name].first_shapes())
            for shapes in self.output_shapes_of(spec.name)[:1]:
                found.setdefault(spec.name, shapes[0])
        return found

    def ranks(self) -> dict[str, int]:
        """The rank of each layer's first output (nested models' layers included; Softmax's is its input's)."""
        return {name: len(shape) for name, shape in self.first_shapes().items()}

    def with_weights(self, weights: Mapping[str, list[WeightValue]], nested: Mapping[str, ModelParts]) -> ModelParts:
        """The same model with other weights (same names and paths)."""
        return ModelParts(self.topology, dict(weights), self.shapes, self.facts, dict(nested), self.name)
