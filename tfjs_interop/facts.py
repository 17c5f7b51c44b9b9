"""What each layer class tells the rest of the package about itself: its facts, declared in its own runtime file.

A runtime layer class declares ``tfjs = TfjsFacts(...)`` and ``keras = KerasFacts(...)`` beside its computation,
so a layer is described in one place. The registry (``tfjs_interop.runtime.layers.catalog()``) reads them; the
engines apply the behaviour facts when they run a model, and the writers are handed the catalog (formats never
import the runtime). This module holds only the shapes of the facts: it imports nothing of the package.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


def frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only mapping (facts are shared by every model in the process)."""
    return MappingProxyType(dict(mapping or {}))


class TfjsMasking(enum.Enum):
    """What TF.js 4.22 does with the mask of a layer's call (tfjs-layers ``supportsMasking`` / ``computeMask``)."""

    NONE = "none"  # supportsMasking is false: the outputs carry no mask
    LAYER = "layer"  # the layer computes its output mask (most often: passes its input's on)
    MERGE = "merge"  # Merge.computeMask: the first mask ANDed with all but the last, with a leading axis


@dataclass(frozen=True)
class TfjsFacts:
    """How TF.js 4.22 treats a layer class.

    Attributes:
        masking: what its call does with masks.
        behaviour: values of the layer's engine options (``Options`` fields marked ``engine_option``) that
            reproduce what TF.js computes where Keras computes otherwise.
        registered: whether tfjs-layers 4.22 registers the class, so ``tf.loadLayersModel`` can deserialise it.
        allowed: options whose other values TF.js cannot run: option -> the values it runs (None always means
            the default).
        fresh_shape: whether TF.js builds its output shape as a new array (TF.js's CenterCrop and CategoryEncoding
            write into their input's shape array, which must be one of these: ``formats/tfjs/support.py``).
        cannot_run: why TF.js cannot run the class at all, when it registers it but fails in ``predict``.
        fix: what to do instead, where TF.js cannot load or run the class.
        dropped_keys: config keys Keras writes for the class that TF.js refuses.
        overwrites_input_shape: whether TF.js's call writes its output size into its input's shape array (which a
            ``fresh_shape`` layer must have made).
        keras_inexpressible: why no Keras layer computes what TF.js computes for the class (a TF.js model with it
            cannot be written to a Keras file), when its config holds ``keras_inexpressible_when``'s values (or
            when ``keras_inexpressible_when``, a ``config -> bool``, says so).
        refusal: ``(config, input rank or None) -> (reason, fix) or None``: a config TF.js cannot run.
        spelling: ``config -> config``: the written config in TF.js's spelling (after the generic conversion).
        static_spelling: ``(config, output shape) -> config``: the written config with the sizes TF.js cannot
            infer written out, from the call's (first) output shape.
        ignores_constraints: whether TF.js's class passes no constraint to its weights (its loader, which applies
            every other layer's weight constraints, then applies none of the config's).
    """

    masking: TfjsMasking = TfjsMasking.NONE
    behaviour: Mapping[str, Any] = field(default_factory=frozen)
    registered: bool = True
    allowed: Mapping[str, tuple] = field(default_factory=frozen)
    fresh_shape: bool = False
    cannot_run: str | None = None
    fix: str | None = None
    dropped_keys: tuple[str, ...] = ()
    overwrites_input_shape: bool = False
    keras_inexpressible: str | None = None
    keras_inexpressible_when: Mapping[str, Any] | Callable[[dict], bool] = field(default_factory=frozen)
    refusal: Callable[[dict, int | None], tuple[str, str | None] | None] | None = None
    spelling: Callable[[dict], dict] | None = None
    static_spelling: Callable[[dict, tuple], dict] | None = None
    ignores_constraints: bool = False


@dataclass(frozen=True)
class KerasFacts:
    """How Keras treats a layer class, where Keras 2 (tf_keras) and Keras 3 differ from the runtime's defaults.

    Attributes:
        behaviour: engine option values for Keras 2 and Keras 3 alike.
        keras3_behaviour: engine option values for Keras 3 only (over ``behaviour``).
        dropped_keys: config keys other writers put in the class's config that Keras 3 refuses.
        gates: how many gate blocks the last axis of its kernels, recurrent kernel and bias holds (LSTM 4, GRU 3).
        hard_sigmoid_gates: for each activation option that acts on pre-activations of the layer's own weights, the
            gate blocks it acts on (LSTM's ``recurrent_activation``: i, f, o): where the Keras writer rescales the
            weights feeding a TF.js / Keras 2 ``hard_sigmoid``; an option absent here cannot be rescaled.
        states: how many states its cell carries (LSTM 2: h and c), as stacked cells list them.
        keras3_masked_values: whether Keras 3 computes the values at masked steps from the masks too (its
            Multiply, Maximum and Minimum skip masked entries), so a Keras 2 model's merge cannot keep its numbers.
        explicit_mask: ``config -> (pad value, over features) or None``: the mask the layer's output carries, as
            Keras 3's ops can write it explicitly (``not_equal(x, pad)``, then ``any`` over the last axis when
            ``over features``); None where it carries none.
        keras3_spelling: ``(config, layer name) -> (class name, config)``: the class and normalised config as
            Keras 3 takes them (raising UnsupportedLayerError where it cannot), before the generic conversion.
        keras2_spelling: ``config -> config``: a Keras 3 config as Keras 2 (tf_keras) reads it (Keras 3 takes it
            too).
        call_arguments: the names of its call's tensor arguments when it takes them as separate arguments, not
            one list (Keras 3 writes them positionally, tf_keras the first positionally and the others by name).
        keras3_clears_input_masks: whether Keras 3's call reads its inputs' masks from the tensors as it runs and
            then removes them (its multi-head attention: ``set_keras_mask(query, None)``), so such calls Keras 3
            runs later on the same tensors see none.
        keras3_mask_argument: whether Keras 3's ``call`` takes a ``mask`` argument. Keras 3 fixes such a call's mask
            when it builds the graph; a call without one passes on, as it runs, the masks its input tensors then
            carry (none where a multi-head attention removed them: see ``keras3_clears_input_masks``).
        keras3_differs: why Keras 3 computes the class otherwise than Keras 2 on some inputs (the Keras writer
            refuses a Keras 2 model where that changes its outputs on probe inputs).
        keras3_children: weight path prefix -> the attribute Keras 3 saves that sublayer under in
            ``model.weights.h5`` (its own variables otherwise sit in the layer's ``vars``).
        list_argument: whether a Keras 3 operation takes its tensors as one list argument (``ops.concatenate``),
            not each as its own positional argument (``ops.logical_or``).
        keras3_mask_op_names: the names Keras 3 gives the operations of the class's ``compute_mask`` when it
            rebuilds a file without them (from a counter that a file's explicit layer names do not move, so the
            first is the bare name): a layer of the model named so makes Keras 3 refuse the file.
    """

    behaviour: Mapping[str, Any] = field(default_factory=frozen)
    keras3_behaviour: Mapping[str, Any] = field(default_factory=frozen)
    dropped_keys: tuple[str, ...] = ()
    gates: int = 1
    hard_sigmoid_gates: Mapping[str, tuple[int, ...]] = field(default_factory=frozen)
    states: int = 1
    keras3_masked_values: bool = False
    keras3_spelling: Callable[[dict, str], tuple[str, dict]] | None = None
    explicit_mask: Callable[[dict], tuple[float, bool] | None] | None = None
    keras2_spelling: Callable[[dict], dict] | None = None
    call_arguments: tuple[str, ...] = ()
    keras3_clears_input_masks: bool = False
    keras3_mask_argument: bool = False
    keras3_differs: str | None = None
    keras3_children: Mapping[str, str] = field(default_factory=frozen)
    list_argument: bool = False
    keras3_mask_op_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class LayerFacts:
    """Everything the package knows about one layer class name, as the registry hands it out."""

    class_name: str
    tfjs: TfjsFacts
    keras: KerasFacts


Catalog = Mapping[str, LayerFacts]  # class name -> facts, for every class the runtime implements


def facts_for(catalog: Catalog, class_name: str) -> LayerFacts | None:
    """A class's facts; a cell's are those of the layer that implements it (``LSTMCell``: ``LSTM``'s, a stack of
    cells: ``RNN``'s). None for a class the runtime does not implement."""
    if class_name == "StackedRNNCells":
        return catalog.get("RNN")
    return catalog.get(class_name) or catalog.get(class_name.removesuffix("Cell"))
