"""``save_tfjs``: runtime model -> topology and weights -> TF.js format -> a folder, written atomically.

Before anything is written, the encoded model is read back in memory as TF.js would run it (the runtime
reproduces TF.js's engine) and compared with the model on probe inputs, padded ones included where the model
masks: a Keras model whose masks or states TF.js would handle differently is refused instead of written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .errors import InputError, UnsupportedLayerError, WeightsError, api_boundary
from .formats.atomic import check_folder_target, write_folder
from .formats.tfjs import MODEL_JSON, decode_model_json
from .formats.tfjs_writer import DEFAULT_SHARD_SIZE, TfjsArtifacts, WeightValue, encode_model
from .loading import model_from_file
from .runtime.model import Model, NestedModel
from .sample_inputs import pad_rows
from .topology import MODEL_CLASSES, Dialect, Engine, Topology
from .version import __version__

PROBE_SEED = 20250101
RNN_CLASSES = ("LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional")


@api_boundary(UnsupportedLayerError)
def save_tfjs(model: Model, out_dir: str | os.PathLike, *, shard_size_bytes: int = DEFAULT_SHARD_SIZE,
              quantize: str | Mapping | None = None, metadata: dict | None = None,
              overwrite: bool = False, golden: object = None, split_weights_by_layer: bool = False) -> Path:
    """Write a model in the TF.js layers format (model.json + ``group1-shard{i}of{n}.bin``) for ``tf.loadLayersModel``.

    Args:
        model: a runtime model, from any source (TF.js, Keras).
        out_dir: the folder to write; created, or replaced when ``overwrite`` is true.
        shard_size_bytes: the largest weight file; a tensor may straddle two.
        quantize: ``"float16"``, ``"uint8"`` or ``"uint16"`` for every float32 weight, or a dict from those to
            fnmatch patterns over weight names (``{"uint8": ["dense*"], "float16": "lstm*"}``), as the converter.
        metadata: a JSON object stored as ``userDefinedMetadata`` (default: the source file's, if any).
        overwrite: replace a non-empty ``out_dir``.
        split_weights_by_layer: one weight group (``group<k>-shard*.bin``) per layer instead of one for all.
        golden: inputs (an array, a list or a dict by input name) to record the model's outputs on, as
            ``golden.npz`` beside the written files (see :mod:`tfjs_interop.golden`); ``load(out_dir, check=True)``
            then re-checks them. The outputs are the source model's, so the check also checks the writing.

    Returns:
        The folder written.

    Raises:
        UnsupportedLayerError: when TF.js 4.22 cannot load the model or would compute other numbers; nothing is
            written then.
        InputError: for a non-empty ``out_dir`` without ``overwrite``, or bad arguments.
        WeightsError: for weights that cannot be stored or quantized.
    """
    target = check_folder_target(out_dir, overwrite)  # before the work of encoding; checked again when written
    artifacts = tfjs_artifacts(model, shard_size_bytes=shard_size_bytes, quantize=quantize, metadata=metadata,
                               split_weights_by_layer=split_weights_by_layer)
    finish = None
    if golden is not None:
        from .golden import GOLDEN_FILE, write_golden

        def finish(folder: Path) -> None:  # the source's outputs, under the names the written model has
            write_golden(model, golden, folder / GOLDEN_FILE, folder, names_from=read_back(artifacts))

    return write_folder(target, {MODEL_JSON: artifacts.model_json_bytes(), **artifacts.shards},
                        overwrite=overwrite, finish=finish)


def tfjs_artifacts(model: Model, *, shard_size_bytes: int = DEFAULT_SHARD_SIZE, quantize: str | Mapping | None = None,
                   metadata: dict | None = None, split_weights_by_layer: bool = False) -> TfjsArtifacts:
    """Encode and check a model in memory (see :func:`save_tfjs`); nothing is written."""
    if metadata is None:
        metadata = model.metadata.get("userDefinedMetadata")
    options = {"generated_by": _generated_by(model), "converted_by": f"tfjs-interop {__version__}",
               "shard_size_bytes": shard_size_bytes, "metadata": metadata}
    weights = layer_weights(model)
    options["ranks"] = input_ranks(model)
    plain = encode_model(model.topology, weights, **options)
    check_same_numbers(model, plain)
    if quantize is None and not split_weights_by_layer:
        return plain
    return encode_model(model.topology, weights, quantize=quantize, split_weights_by_layer=split_weights_by_layer,
                        **options)


def _generated_by(model: Model) -> str:
    generated = model.metadata.get("generatedBy")
    if isinstance(generated, str) and generated:
        return generated
    version = model.topology.keras_version
    if version and not version.startswith("tfjs"):
        return f"keras v{version}"
    return f"tfjs-interop {__version__}"


def layer_weights(model: Model) -> dict:
    """Each layer's weights by layer name (a nested model's layers under its name), as the writer takes them."""
    out: dict = {}
    for layer in model.layers:
        nested = layer if isinstance(layer, NestedModel) else getattr(layer, "inner", None)
        if isinstance(nested, NestedModel):  # a nested model, or one a wrapper (TimeDistributed) applies
            out[layer.name] = layer_weights(nested.model)
        elif layer.weights:
            for variable in layer.weights:
                if variable.value is None:
                    raise WeightsError(f"layer {layer.name!r} weight {variable.path!r} has no value")
            out[layer.name] = [WeightValue(v.path, v.value, v.trainable) for v in layer.weights]
    return out


def input_ranks(model: Model) -> dict[str, int]:
    """The rank of each layer's (first) output, which for Softmax is its input's: the writer checks its axis."""
    ranks: dict[str, int] = {}
    for layer in model.layers:
        if isinstance(layer, NestedModel):
            ranks.update(input_ranks(layer.model))
        for shapes in model.output_shapes_of(layer)[:1]:
            ranks.setdefault(layer.name, len(shapes[0]))
    return ranks


# --- the engine check ------------------------------------------------------------------------------------------

def check_same_numbers(model: Model, artifacts: TfjsArtifacts) -> None:
    """Run the encoded model as TF.js would and the source model as its engine does, on probe inputs; refuse when
    they differ or TF.js would fail.

    Raises:
        UnsupportedLayerError: naming the output, the difference and the usual causes.
    """
    if model.topology.origin.engine is not Engine.TFJS:
        _refuse_stale_initial_state(model.topology)
    written = read_back(artifacts)
    source = fresh_copy(model)
    engine = model.topology.origin.engine.value
    for inputs in probe_inputs(source):
        try:
            want = _as_list(source.predict(inputs))
        except InputError:
            continue  # the source itself cannot take this probe
        try:
            got = _as_list(written.predict(inputs))
        except InputError as exc:
            raise UnsupportedLayerError(f"TF.js would fail on inputs this model takes: {exc}") from None
        _compare(want, got, engine)
        source.reset_states()
        written.reset_states()


def read_back(artifacts: TfjsArtifacts) -> Model:
    """The encoded model read back in memory, as TF.js will run it."""
    return model_from_file(decode_model_json(artifacts.model_json, "the model.json to write",
                                             artifacts.shards.__getitem__), Dialect.TFJS, Engine.TFJS)


def _refuse_stale_initial_state(topology: Topology) -> None:
    """TF.js's RNN leaves an initial state in the executor's shared kwargs, where a TimeDistributed RNN run later
    finds it (the runtime does not reproduce this, so the probe cannot see it): refuse the combination."""
    given = [s.name for s in _specs(topology) for call in s.calls if call.kwargs.get("initial_state")
             or (s.class_name in RNN_CLASSES and len(call.args) > 1)]
    wrapped = [s.name for s in _specs(topology) if s.class_name == "TimeDistributed"
               and (s.config.get("layer") or {}).get("class_name") in RNN_CLASSES]
    if given and wrapped:
        raise UnsupportedLayerError(
            f"cannot write this model for TF.js: layer {given[0]!r} is given an initial state and TF.js would "
            f"start the TimeDistributed RNN {wrapped[0]!r} from it too (its executor shares call arguments); fix: "
            "run the TimeDistributed RNN in a separate model")


def _compare(want: list[np.ndarray], got: list[np.ndarray], engine: str) -> None:
    for k, (a, b) in enumerate(zip(want, got)):
        if a.shape != b.shape:
            difference = f"has shape {b.shape} under TF.js instead of {a.shape}"
        else:
            error = float(np.max(np.abs(a.astype(np.float64) - b))) if a.size else 0.0
            if error <= 1e-5 * max(1.0, float(np.max(np.abs(a))) if a.size else 1.0):
                continue
            difference = f"differs by up to {error:.3g}"
        raise UnsupportedLayerError(
            f"TF.js {'' if engine == 'tfjs' else 'would run this ' + engine + ' model differently: '}output {k} "
            f"{difference} on probe inputs. TF.js passes masks on to later layers that have none (stale masks), "
            "holds an RNN's initial state at masked steps, averages padded steps in GlobalAveragePooling1D, cannot "
            "zero the masked outputs of a Keras 3 Bidirectional, lists stacked cells' states last cell first, runs "
            "a stateful layer once per output used and applies BatchNormalization off the last axis by flat "
            "position; fix: rebuild the model so that none of these applies (e.g. no mask past the layer that "
            "needs it)")


def _as_list(value: object) -> list[np.ndarray]:
    return value if isinstance(value, list) else [value]


def fresh_copy(model: Model) -> Model:
    """The same model with the same weights and no state carried from earlier calls."""
    copy = Model(model.topology)
    copy.set_weights(model.get_weights())
    return copy


# How padded steps are laid out in a probe: each lays bare another Keras-vs-TF.js difference (post-padding the
# outputs at masked steps, pre-padding the initial state held there, inner padding a mask in mid-sequence, a
# fully padded row what each engine returns from no real step at all).
PADDINGS = ("post", "pre", "inner", "all")


def probe_inputs(model: Model) -> list[list[np.ndarray]]:
    """Seeded inputs for every model input: plain ones and, when the model masks, one batch per padding layout
    (zeros for token ids, the Masking layer's value for features), row r of the k-th taking layout k + r: every
    layout reaches every row whatever the batch size (fixed ones included) and sequence length."""
    rng = np.random.default_rng(PROBE_SEED)
    vocabulary = _smallest(model.topology, "Embedding", "input_dim", 8)
    mask_value = _smallest(model.topology, "Masking", "mask_value", None)
    masks = mask_value is not None or _any_layer(model.topology, lambda s: s.class_name == "Embedding"
                                                 and bool(s.config.get("mask_zero")))
    plain, pad_values = [], []
    for spec in model.inputs:
        shape = tuple(3 if i == 0 and d is None else 5 if d is None else d for i, d in enumerate(spec.shape))
        if spec.dtype.startswith("int"):
            plain.append(rng.integers(1, max(vocabulary, 2), size=shape).astype(spec.dtype))
            pad_values.append(0)
        else:
            plain.append(rng.normal(size=shape).astype(spec.dtype))
            pad_values.append(mask_value if mask_value is not None else 0)
    if not masks:
        return [plain]
    return [plain] + [[pad_rows(x, value, PADDINGS, k) for x, value in zip(plain, pad_values)]
                     for k in range(len(PADDINGS))]


def _specs(topology: Topology):
    """Every layer, those of nested models (and models a wrapper applies) included."""
    for spec in topology.layers:
        wrapped = spec.config.get("layer")
        if spec.class_name in MODEL_CLASSES:
            yield from _specs(spec.config["topology"])
        elif isinstance(wrapped, dict) and wrapped.get("class_name") in MODEL_CLASSES:
            yield spec
            yield from _specs(wrapped["config"]["topology"])
        else:
            yield spec


def _any_layer(topology: Topology, predicate) -> bool:
    return any(predicate(spec) for spec in _specs(topology))


def _smallest(topology: Topology, class_name: str, key: str, default: object) -> object:
    values = [spec.config.get(key) for spec in _specs(topology) if spec.class_name == class_name]
    values = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return min(values) if values else default
