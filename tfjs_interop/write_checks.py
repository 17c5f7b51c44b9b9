"""The checks before writing that run the model: a file is refused when what reads it would compute otherwise.

Writers only encode (:mod:`tfjs_interop.formats.contract`); these checks run the source model and the model as
the file's reader would run it on probe inputs, padded ones included where the model masks:

- for TF.js (:func:`check_same_numbers`): the encoded model read back in memory as TF.js runs it (the runtime
  reproduces TF.js's engine); a Keras model whose masks or states TF.js would handle differently is refused;
- for Keras 3 (:func:`check_keras3_masks`): a Keras 2 model whose merges Keras 3 would mask otherwise, with other
  outputs, is refused.
"""

from __future__ import annotations

import re

import numpy as np

from .binding import model_from_file
from .engines import KERAS3, LAYER_RULE
from .engines import Engine as RuntimeEngine
from .engines.keras import KerasMasks
from .engines.tfjs_constraints import describe
from .errors import InputError, UnsupportedLayerError
from .formats.keras.writer import RECURRENT, keras_rules, writes_explicit_mask
from .formats.tfjs.reader import decode_model_json
from .formats.tfjs.writer import TfjsArtifacts
from .runtime.layers import catalog
from .runtime.layers.base import Layer
from .runtime.model import Model
from .runtime.pickling import sublayers
from .sample_inputs import pad_rows
from .topology import MODEL_CLASSES, Dialect, Engine, Origin, Topology

PROBE_SEED = 20250101


RNN_CLASSES = ("LSTM", "GRU", "SimpleRNN", "ConvLSTM2D", "RNN", "Bidirectional")


def check_same_numbers(model: Model, artifacts: TfjsArtifacts) -> None:
    """Run the encoded model as TF.js would and the source model as its engine does, on probe inputs; refuse when
    they differ or TF.js would fail.

    Raises:
        UnsupportedLayerError: naming the output, the difference and the usual causes.
    """
    if model.topology.origin.engine is not Engine.TFJS:
        _refuse_stale_initial_state(model.topology)
    written = read_back(artifacts)
    _refuse_constrained_weights(model, written)
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


def _refuse_constrained_weights(model: Model, written: Model) -> None:
    """TF.js applies a weight's constraint when it loads the weights, and so does the model read back: refuse a
    model whose weights a constraint would change (a Keras model whose weights break their constraint, a rate
    below 1 in a MinMaxNorm), naming the weight."""
    loaded = {(path, v.path): v for path, layer in sublayers(written) for v in layer.weights}
    for path, layer in sublayers(model):
        for variable in layer.weights:
            theirs = loaded.get((path, variable.path))
            if theirs is None or theirs.constraint is None or variable.value is None or not variable.value.size:
                continue
            ours = variable.value.astype(np.float64)
            error = float(np.max(np.abs(ours - theirs.value)))
            if error > 1e-5 * max(1.0, float(np.max(np.abs(ours)))):
                raise UnsupportedLayerError(
                    f"cannot write this model for TF.js: layer {path!r} weight {variable.path!r} has the constraint "
                    f"{describe(theirs.constraint)}, which TF.js applies to the weight when it loads the model "
                    f"(tf.loadLayersModel), and which would change it by up to {error:.3g}; fix: give the layer "
                    "weights that satisfy the constraint (Keras applies it after each training step), or remove the "
                    "constraint from its config (it only matters for training)")


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


def fresh_copy(model: Model, topology: Topology | None = None, engine: RuntimeEngine | None = None) -> Model:
    """The same model with the same weights and no state carried from earlier calls; or ``topology``, the same
    graph under other rules, run by ``engine`` (default: its format's)."""
    copy = Model(model.topology, model.engine) if topology is None else Model(topology, engine)
    copy.set_weights(model.get_weights())
    return copy


# How padded steps are laid out in a probe: each lays bare another Keras-vs-TF.js difference (post-padding the
# outputs at masked steps, pre-padding the initial state held there, inner padding a mask in mid-sequence, a
# fully padded row what each engine returns from no real step at all).
PADDINGS = ("post", "pre", "inner", "all")


def probe_inputs(model: Model) -> list[list[np.ndarray]]:
    """Seeded inputs for every model input: plain ones and, when the model masks, one batch per padding layout
    (zeros for token ids, the Masking layer's value for features), row r of the k-th taking layout k + r: every
    layout reaches every row whatever the batch size (fixed ones included) and sequence length. Several inputs
    take each batch's layouts alike, then shifted by their place (merges of unlike masks: Keras 2 ANDs what
    Keras 3 ORs)."""
    rng = np.random.default_rng(PROBE_SEED)
    hints = [hint for _, layer in sublayers(model) if (hint := layer.input_values()) is not None]
    vocabulary = min((h.vocabulary for h in hints if h.vocabulary is not None), default=8)
    features = [h.pad_value for h in hints if h.pad_value is not None and h.vocabulary is None]  # Masking's
    mask_value = min(features) if features else None
    masks = any(h.pad_value is not None for h in hints)
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
    shifts = (0, 1) if len(plain) > 1 else (0,)  # then input i also takes layout k + i + r: masks that differ
    return [plain] + [[pad_rows(x, value, PADDINGS, k + i * shift) for i, (x, value) in
                       enumerate(zip(plain, pad_values))] for shift in shifts for k in range(len(PADDINGS))]


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


# --- masks Keras 3 combines otherwise ---------------------------------------------------------------------

class _RecordedMasks(KerasMasks):
    """Keras's mask passing, recording the output masks of every merge call (nested models' included)."""

    def __init__(self, keras3: bool = False) -> None:
        super().__init__(keras3)
        self.engine_differs: dict[str, str] = {}  # layer name -> why Keras 3 computes its class otherwise
        self.merges: dict[str, list[list]] = {}  # layer name -> output masks per call
        self.classes: dict[str, str] = {}
        self.masked_values: set[str] = set()  # merges whose values Keras 3 computes from their inputs' masks
        self.masked_with_states: set[str] = set()  # RNNs given initial states and a mask
        self.mask_ops: dict[str, tuple[str, ...]] = {}  # merges with a mask -> what Keras 3 names its operations

    def output_masks(self, layer: Layer, inputs: object, input_masks: list, count: int,
                     computed: object = LAYER_RULE) -> list:
        masks = super().output_masks(layer, inputs, input_masks, count, computed)
        if type(layer).keras.keras3_behaviour.get("keras3_masks"):
            self.merges.setdefault(layer.name, []).append(masks)
            self.classes[layer.name] = layer.class_name
            if type(layer).keras.keras3_masked_values and any(m is not None for m in input_masks):
                self.masked_values.add(layer.name)
        if type(layer).keras.keras3_mask_op_names and any(m is not None for m in masks):
            self.mask_ops[layer.name] = type(layer).keras.keras3_mask_op_names
        if type(layer).keras.keras3_differs:
            self.engine_differs[layer.name] = f"{layer.class_name}: {type(layer).keras.keras3_differs}"
        if layer.class_name in RECURRENT and len(input_masks) > 1 and input_masks[0] is not None:
            self.masked_with_states.add(layer.name)
        return masks

    def for_nested(self, input_masks: list) -> tuple[KerasMasks, list]:
        return self, input_masks


def check_keras3_masks(model: Model) -> None:
    """Refuse a Keras 2 model that Keras 3 would run with other masks and other outputs.

    Keras 2 gives a merge the AND of the masks its inputs have (an input without one does not count); Keras 3
    the OR of them, and none if any input has none (``runtime/layers/merge.py``). Keras 3 has no op for Keras 2's
    rule that Keras 2's loader reads, so no file keeps it: the model and its Keras 3 form run on the probe
    inputs of ``save_tfjs``'s check (padded ones included) and, where a merge's mask differs and so does an
    output, the model is refused, naming the merges. So is one whose RNN given initial states gets a mask there that
    no explicit mask in the file can carry (``writes_explicit_mask``).

    Raises:
        UnsupportedLayerError: naming the layers and the difference.
    """
    origin = model.topology.origin
    if origin != Origin(Dialect.KERAS2, Engine.KERAS):
        return
    source, keras3 = fresh_copy(model), fresh_copy(model, keras_rules(model.topology, catalog()), KERAS3)
    mask_ops: dict[str, tuple[str, ...]] = {}
    for inputs in probe_inputs(source):
        feeds = source.check_inputs(inputs)
        theirs, mine = _RecordedMasks(), _RecordedMasks(keras3=True)
        try:
            want, _ = source.run(feeds, None, theirs)
        except InputError:
            continue  # the source itself cannot take this probe
        _refuse_masks_keras3_drops(model, theirs.masked_with_states)
        got, _ = keras3.run(feeds, None, mine)
        differ = [name for name, masks in theirs.merges.items()
                  if not all(_same_masks(a, b) for a, b in zip(masks, mine.merges.get(name, [])))]
        differ = differ or sorted(theirs.masked_values)
        error = max(float(np.max(np.abs(a - b), initial=0)) for a, b in zip(want, got))
        if differ and error > 1e-5 * max(1.0, *(float(np.max(np.abs(a), initial=0)) for a in want)):
            layers = ", ".join(f"{name!r} ({theirs.classes[name]})" for name in differ)
            raise UnsupportedLayerError(
                f"layer {layers}: Keras 2 gives a merge the AND of the masks its inputs have (inputs without one do "
                "not count), Keras 3 the OR of them and none if any input has none (and Keras 3's Multiply, Maximum "
                "and Minimum skip masked entries); Keras 3's outputs would differ by up to "
                f"{error:.3g} on probe inputs, and no Keras 3 file can carry Keras 2's rule; fix: mask the merge's "
                "inputs alike (e.g. one Masking layer after it), or not at all")
        _refuse_engine_differences(theirs.engine_differs, error, want)
        mask_ops.update(mine.mask_ops)
        source.reset_states()
        keras3.reset_states()
    _refuse_names_of_mask_operations(model, mask_ops)  # once the numbers are known to agree


def _refuse_names_of_mask_operations(model: Model, mask_ops: dict[str, tuple[str, ...]]) -> None:
    """Keras 3 rebuilds a masked merge's mask from operations it names by a counter that explicit layer names do
    not move (``KerasFacts.keras3_mask_op_names``): a layer of the model already called so makes a fresh Keras 3
    process refuse the file ("The name 'concatenate' is used 2 times"), however it loads in one that has built
    such a layer before. Refuse, naming both."""
    if not mask_ops:
        return
    names = {layer.name for _, layer in sublayers(model)}
    for merge, ops in sorted(mask_ops.items()):
        pattern = re.compile(rf"({'|'.join(map(re.escape, ops))})(_\d+)?")
        taken = sorted(name for name in names if pattern.fullmatch(name))
        if taken:
            raise UnsupportedLayerError(
                f"layer {merge!r}: Keras 3 rebuilds its mask from operations it names {', '.join(ops)} (then _1, "
                f"_2, ...), and refuses a model where a layer has one of those names already: {taken}; fix: "
                f"rename {'it' if len(taken) == 1 else 'them'} (e.g. {taken[0]!r} -> '{taken[0]}_layer') before "
                "saving")


def _refuse_engine_differences(differs: dict[str, str], error: float, want: list[np.ndarray]) -> None:
    """Refuse a Keras 2 model whose layers Keras 3 computes otherwise (``KerasFacts.keras3_differs``), where that
    changes its outputs on a probe input."""
    if differs and error > 1e-5 * max(1.0, *(float(np.max(np.abs(a), initial=0)) for a in want)):
        layers = "; ".join(f"{name!r} ({why})" for name, why in sorted(differs.items()))
        raise UnsupportedLayerError(
            f"layer {layers}; Keras 3's outputs would differ from Keras 2's by up to {error:.3g} on probe inputs, "
            "and no Keras 3 file can carry Keras 2's behaviour; fix: save it with tf_keras itself")


def _refuse_masks_keras3_drops(model: Model, names: set[str]) -> None:
    """An RNN given initial states runs unmasked in Keras 3 unless its call is given the mask (Keras 2 masks it):
    refuse one that gets a mask here which the writer cannot write (``writes_explicit_mask``), nor one in a nested
    model."""
    specs = {spec.name: spec for spec in model.topology.layers}
    facts = catalog()
    for name in sorted(names):
        spec = specs.get(name)
        if spec is None or any(len(call.args) > 1 and not writes_explicit_mask(model.topology, call.args[0], facts)
                               for call in spec.calls):
            raise UnsupportedLayerError(
                f"layer {name!r} ({spec.class_name if spec else 'RNN'}): Keras 2 masks an RNN given initial states "
                "by the mask of its input, Keras 3 only when the call is given that mask, which the writer makes "
                "(with Keras 3's ops) only for an RNN reading a Masking or Embedding(mask_zero) output directly; "
                "Keras 3 would run this one unmasked, with other outputs; fix: put the Masking layer right before "
                "the RNN")


def _same_masks(a: list, b: list) -> bool:
    return all((x is None) == (y is None) and (x is None or np.array_equal(x, y)) for x, y in zip(a, b))
