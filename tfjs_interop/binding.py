"""A file's model in the runtime: what a reader returned -> topology -> a runtime model with the file's weights bound
to its layers' weights (the names matched as the official loaders match them).

Here, apart from :func:`tfjs_interop.load`, so that the writers' checks can read an encoded model back in memory
without the public API above them.
"""

from __future__ import annotations

import math

import numpy as np

from .dialects import dialect_of
from .errors import LimitError, WeightsError, few
from .formats.common import DEFAULT_MAX_BYTES, ModelFile
from .formats.tfjs.naming import name_matches
from .parsing import parse_topology
from .runtime.layers.base import Layer, Variable, assign
from .runtime.model import Model
from .runtime.nested import NestedModel
from .topology import Dialect, Engine, Origin


def model_from_file(model_file: ModelFile, default_dialect: Dialect, engine: Engine,
                    max_bytes: int = DEFAULT_MAX_BYTES, model_class: type[Model] = Model) -> Model:
    """Build and fill a runtime model (a ``model_class``) from what a reader returned, to give the numbers
    ``engine`` gives."""
    origin = Origin(dialect_of(model_file.keras_version, default_dialect), engine)
    topology = parse_topology(model_file.topology, origin, model_file.source, model_file.keras_version)
    model = model_class(topology)
    check_output_sizes(model, max_bytes, model_file.source)
    bind_weights(model, model_file.weights, model_file.source)
    model.metadata = dict(model_file.metadata)
    model.source = model_file.source
    model.file_hashes = model_file.file_hashes
    return model


def check_output_sizes(model: Model, max_bytes: int, source: str) -> None:
    """Refuse a layer whose output for one sample would take more than ``max_bytes`` (unknown sizes count 1)."""
    for layer in model.layers:
        if isinstance(layer, NestedModel):
            check_output_sizes(layer.model, max_bytes, source)
    for (name, _), shapes in model.call_output_shapes().items():
        for shape in shapes:
            nbytes = _sample_nbytes(shape)
            if nbytes > max_bytes:
                layer = model.get_layer(name)
                raise LimitError(f"{source}: layer {name!r} ({layer.class_name}) outputs shape {tuple(shape)}, "
                                 f"{nbytes} bytes per sample, over the limit of {max_bytes} bytes; pass a larger "
                                 "max_bytes (--max-bytes) to allow it")


def _sample_nbytes(shape: tuple) -> int:
    """float32 bytes of one sample of an output shape (unknown sizes count 1; nested shapes add up)."""
    if any(isinstance(d, (tuple, list)) for d in shape):
        return sum(_sample_nbytes(tuple(d)) for d in shape if isinstance(d, (tuple, list)))
    return 4 * math.prod(d for d in shape[1:] if isinstance(d, int))


def bind_weights(model: Model, weights: dict[str, np.ndarray], source: str) -> None:
    """Give every layer weight the file tensor that names it, and check nothing is missing or left over.

    Names are matched the way the official loaders do, tolerating each writer's form: a tensor belongs to a layer
    when its name starts with ``<layer name>/``; within the layer, it matches a weight by its last name token
    (``kernel``, ``recurrent_kernel``, ``bias``...; a ``:0`` suffix is dropped) and, inside Bidirectional, by its
    ``forward``/``backward`` scope; several tensors of one kind (stacked cells) are taken in file order. The layers
    of a nested model match with or without the nested model's name in front (TF.js writes it without).

    Each weight then holds what the engine's loader leaves in it: TF.js's applies the weight's constraint
    (``Engine.loaded_value``), Keras's keeps the file's value.
    """
    used: set[str] = set()
    _bind_layers(model.layers, {name: name for name in weights}, weights, used, source)
    leftover = [name for name in weights if name not in used]
    if leftover:
        raise WeightsError(f"{source}: weight(s) {few(leftover)} match no weight of the model's layers "
                           f"{few(layer.name for layer in model.layers if layer.weights)}")


def _bind_layers(layers: list[Layer], names: dict[str, str], weights: dict[str, np.ndarray], used: set[str],
                 source: str) -> None:
    """Bind ``layers``; ``names`` maps the names as these layers see them to the file's names."""
    all_names = [layer.name for layer in layers]
    for layer in layers:
        nested = layer if isinstance(layer, NestedModel) else getattr(layer, "inner", None)
        if isinstance(nested, NestedModel):  # a nested model, or one a wrapper applies (TF.js adds no scope)
            prefixes = (f"{layer.name}/{nested.name}/", f"{layer.name}/")  # Keras 2 H5: <td>/<model>/<layer>/...
            inner = {_without_prefix(name, prefixes): original for name, original in names.items()}
            _bind_layers(nested.model.layers, inner, weights, used, source)
        elif layer.weights:
            # A layer named "a" does not claim the weights of a layer named "a/b" (TF.js allows "/" in names).
            deeper = [other + "/" for other in all_names if other.startswith(layer.name + "/")]
            candidates = {name: weights[original] for name, original in names.items()
                          if name.startswith(layer.name + "/") and not name.startswith(tuple(deeper))
                          and original not in used}
            for variable, name in zip(layer.weights, _match_layer(layer, candidates, source)):
                _check_kind(layer, variable, candidates[name], f"{source}: weight {names[name]!r}")
                where = f"{source}: weight {names[name]!r}"
                assign(layer, variable, candidates[name], where)
                loaded = variable.value if layer.engine is None else \
                    layer.engine.loaded_value(layer, variable, variable.value)  # TF.js: constrained
                if loaded is not variable.value:
                    assign(layer, variable, loaded, where)
                used.add(names[name])


def _check_kind(layer: Layer, variable: Variable, value: np.ndarray, where: str) -> None:
    """A file's integer or bool tensor is not cast into a float weight: its bytes mean other numbers (TF.js
    refuses such a file too)."""
    if value.dtype.kind in "biu" and np.dtype(variable.dtype).kind == "f":
        raise WeightsError(f"{where} is stored as {value.dtype}, but layer {layer.name!r} ({layer.class_name}) "
                           f"weight {variable.path!r} is {variable.dtype}; the file's dtype for it is wrong")


def _without_prefix(name: str, prefixes: tuple[str, ...]) -> str:
    return next((name[len(p):] for p in prefixes if name.startswith(p)), name)


def _match_layer(layer: Layer, candidates: dict[str, np.ndarray], source: str) -> list[str]:
    picked: list[str] = []
    for variable in layer.weights:
        exact = f"{layer.name}/{variable.path}"
        exact = next((c for c in candidates if c.removesuffix(":0") == exact and c not in picked), None)
        name = exact or next((c for c in candidates if c not in picked and name_matches(variable.path, c)), None)
        if name is None:
            return _match_by_order(layer, candidates, variable, source)
        picked.append(name)
    return picked


def _match_by_order(layer: Layer, candidates: dict[str, np.ndarray], missing: Variable, source: str) -> list[str]:
    """Fall back to file order when names do not tell, provided the count and every shape agree."""
    shapes_agree = len(candidates) == len(layer.weights) and all(
        tuple(value.shape) == v.shape for value, v in zip(candidates.values(), layer.weights))
    if shapes_agree:
        return list(candidates)
    raise WeightsError(f"{source}: layer {layer.name!r} ({layer.class_name}) expects weight {missing.path!r} of "
                       f"shape {list(missing.shape)}; the file's weights for this layer are "
                       f"{few(f'{c} {list(v.shape)}' for c, v in candidates.items()) or 'none'}")
