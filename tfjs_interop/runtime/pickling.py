"""Pickling a runtime model: its normalised topology, its weights as raw arrays, and its stateful RNNs' states.

A model unpickles without its source files (nothing is re-read or re-parsed: the layers are rebuilt from the
topology, then given the pickled arrays), so it can travel to a process or machine that never saw them: the
payload is the weights' bytes plus a few kilobytes of topology. Weights that are read-only views of shard bytes
pickle as their own bytes only (NumPy pickles the view, not the buffer under it; with protocol 5 out of band).

State: a stateful RNN's state (what it carries from one ``predict`` to the next) travels with the model, so the
copy's next ``predict`` gives what the original's would; ``reset_states()`` on either forgets it. Per-call
buffers and caches do not travel; they are rebuilt on the first call.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..topology import Topology
from .layers.base import Layer, assign

Model = Any  # a runtime model (``runtime.model.Model`` or a subclass): this module is below it, and takes its class


def reduce_model(model: Model) -> tuple:
    """``Model.__reduce__``: rebuild from the topology, then restore weights, states and descriptive fields."""
    weights = [v.value for layer in model.layers for v in layer.weights]
    states = {path: layer.states for path, layer in sublayers(model) if getattr(layer, "states", None) is not None}
    extras = {"source": model.source, "metadata": model.metadata, "file_hashes": model.file_hashes,
              "weights_file": model.weights_file}
    return restore_model, (type(model), model.topology, model.engine, weights, states, extras)


def restore_model(cls: type, topology: Topology, engine: Any, weights: list[np.ndarray | None],
                  states: dict[str, Any], extras: dict[str, Any]) -> Model:
    """The inverse of :func:`reduce_model` (the callable pickle stores)."""
    model = cls(topology, engine)
    variables = [(layer, v) for layer in model.layers for v in layer.weights]
    for (layer, variable), value in zip(variables, weights, strict=True):
        if value is not None:
            assign(layer, variable, value, "unpickling")
    layers = dict(sublayers(model))
    for path, value in states.items():
        layers[path].states = value
    model.source, model.metadata = extras["source"], extras["metadata"]
    model.file_hashes = extras.get("file_hashes")  # absent from pickles of earlier versions
    model.weights_file = extras.get("weights_file")
    return model


def sublayers(model: Model, prefix: str = "") -> Iterator[tuple[str, Layer]]:
    """Every layer of the model with its path: nested models' layers and wrapped layers (a Bidirectional's
    ``forward``, a TimeDistributed's ``inner``) included, named ``outer/attribute``."""
    for layer in model.layers:
        yield from _layer_tree(layer, prefix + layer.name)


def _layer_tree(layer: Layer, path: str) -> Iterator[tuple[str, Layer]]:
    yield path, layer
    if hasattr(layer, "call_with_masks"):  # a nested model
        yield from sublayers(layer.model, path + "/")
    for attribute, value in vars(layer).items():
        if isinstance(value, Layer):
            yield from _layer_tree(value, f"{path}/{attribute}")


def stateful_layers(model: Model) -> list[str]:
    """The paths of the layers that carry state from one ``predict`` to the next (stateful RNNs)."""
    return [path for path, layer in sublayers(model) if getattr(layer.options, "stateful", False)]
