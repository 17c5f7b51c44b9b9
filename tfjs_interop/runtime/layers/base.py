"""The layer protocol of the runtime, the registry of layer classes, and config parsing helpers."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from ...dialects import plain_dtype
from ...errors import ModelFormatError, UnsupportedLayerError, WeightsError
from ...facts import Catalog, KerasFacts, LayerFacts, TfjsFacts
from ...topology import OP_PREFIX, Call

Shape = tuple  # a tensor shape; None stands for an unknown size (the batch, or free time steps)

LAYERS: dict[str, type[Layer]] = {}


def register(*class_names: str) -> Callable[[type[Layer]], type[Layer]]:
    """Make a layer class available under the Keras / TF.js class names it implements.

    The class's facts (``tfjs``, ``keras``) are its own, never a base class's: a class that declares none has the
    defaults. Behaviour facts must name engine options of the class's ``Options`` (a misspelt one fails here).
    """

    def decorate(cls: type[Layer]) -> type[Layer]:
        cls.tfjs = cls.__dict__.get("tfjs", TfjsFacts())
        cls.keras = cls.__dict__.get("keras", KerasFacts())
        _check_behaviour(cls)
        for name in class_names:
            LAYERS[name] = cls
        return cls

    return decorate


def _check_behaviour(cls: type[Layer]) -> None:
    options = {f.name for f in dataclasses.fields(cls.Options) if f.metadata.get("engine")}
    for source in (cls.tfjs.behaviour, cls.keras.behaviour, cls.keras.keras3_behaviour):
        unknown = set(source) - options
        if unknown:
            raise TypeError(f"{cls.__name__}: behaviour {sorted(unknown)} names no engine option of "
                            f"{cls.Options.__name__} (engine options: {sorted(options)})")


def catalog() -> Catalog:
    """Every class name the runtime implements, with the facts its class declares."""
    return {name: LayerFacts(name, cls.tfjs, cls.keras) for name, cls in LAYERS.items()}


def engine_option_names() -> frozenset[str]:
    """The names of every engine option of every layer class (no file format has them)."""
    return frozenset(f.name for cls in LAYERS.values() for f in dataclasses.fields(cls.Options)
                     if f.metadata.get("engine"))


def engine_option(default: Any) -> Any:
    """An ``Options`` field the engine sets (from the class's behaviour facts), never the file's config."""
    return dataclasses.field(default=default, metadata={"engine": True})


# Layer classes TF.js 4.22, Keras 3 or tf_keras define (and their Keras 2 aliases) that the runtime does not
# implement: a file naming one is told so, rather than that it is a custom class. A class, once implemented, leaves
# this list (tests/unit/test_layers_basic.py checks the two are apart).
NOT_IMPLEMENTED = frozenset("""
    ActivityRegularization AugMix AutoContrast AvgPool1D AvgPool2D AvgPool3D Conv1DTranspose
    ConvLSTM1D ConvLSTM3D Convolution1D Convolution2D Convolution2DTranspose
    Convolution3D Cropping1D Cropping3D CuDNNGRU CuDNNLSTM CutMix DenseFeatures DepthwiseConv1D Discretization
    EinsumDense Equalization GlobalAveragePooling3D GlobalAvgPool1D GlobalAvgPool2D GlobalAvgPool3D
    GlobalMaxPool1D GlobalMaxPool2D GlobalMaxPool3D GlobalMaxPooling3D GroupNormalization GroupQueryAttention
    GRUCell HashedCrossing Hashing Identity IntegerLookup LocallyConnected1D LocallyConnected2D LSTMCell
    MaxPool1D MaxPool2D MaxPool3D MelSpectrogram MixUp Normalization RandAugment
    RandomBrightness RandomColorDegeneration RandomColorJitter RandomContrast RandomCrop RandomFlip
    RandomGrayscale RandomHeight RandomHue RandomPerspective RandomPosterization RandomRotation RandomSaturation
    RandomSharpness RandomShear RandomTranslation RandomZoom RMSNormalization SeparableConv1D
    SeparableConvolution1D SeparableConvolution2D SimpleRNNCell Solarization SpatialDropout2D SpatialDropout3D
    SpectralNormalization StackedRNNCells STFTSpectrogram StringLookup TextVectorization UnitNormalization
    UpSampling1D UpSampling3D ZeroPadding1D ZeroPadding3D
""".split())
# Classes only Keras 1 had (Keras 2 renamed or removed them).
KERAS1_LAYERS = frozenset("""
    AtrousConvolution1D AtrousConvolution2D Deconvolution2D Highway MaxoutDense Merge SReLU TimeDistributedDense
""".split())


def layer_class(class_name: str, layer_name: str) -> type[Layer]:
    """The runtime class for ``class_name``, or UnsupportedLayerError saying why there is none."""
    if class_name in LAYERS:
        return LAYERS[class_name]
    if class_name == "Lambda":
        raise UnsupportedLayerError(
            f"layer {layer_name!r}: Lambda layers hold Python code (marshalled bytecode) that tfjs-interop never "
            f"runs or unpickles; rebuild the model with built-in layers in place of the Lambda")
    supported = f"supported classes are {', '.join(sorted(LAYERS))}"
    if class_name in NOT_IMPLEMENTED:
        raise UnsupportedLayerError(f"layer {layer_name!r}: {class_name} is a TF.js/Keras layer that tfjs-interop "
                                    f"does not implement yet; {supported}")
    if class_name in KERAS1_LAYERS:
        raise UnsupportedLayerError(f"layer {layer_name!r}: {class_name} is a Keras 1 layer (the file was written by "
                                    "Keras 1), which tfjs-interop does not read; load the model with Keras 2 and save "
                                    "it again")
    raise UnsupportedLayerError(
        f"layer {layer_name!r}: class {class_name!r} is not a layer tfjs-interop implements (custom classes are "
        f"never imported or run); {supported}")


@dataclasses.dataclass
class Variable:
    """A weight of a layer: ``path`` names it within the layer (``kernel``, ``forward/bias``...).

    ``constraint`` is the config's constraint for the weight (``kernel_constraint`` for a kernel...), as the file
    gives it, and ``owner`` the layer class that declared the weight: the runtime never applies a constraint, an
    engine's loader may (``Engine.loaded_value``)."""

    path: str
    shape: Shape
    trainable: bool = True
    value: np.ndarray | None = None
    dtype: str = "float32"
    constraint: Any = None
    owner: Any = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclasses.dataclass(frozen=True)
class InputValues:
    """What a layer tells about the values its input should hold, for sample and probe inputs.

    Attributes:
        vocabulary: ids below this (an Embedding's ``input_dim``); None: any numbers.
        pad_value: the value a padded step holds (0 for ``Embedding(mask_zero)``, a Masking's ``mask_value``);
            None: the layer masks nothing.
        passes_through: the layer keeps its input's values (Reshape): its own readers tell.
    """

    vocabulary: int | None = None
    pad_value: float | None = None
    passes_through: bool = False


@dataclasses.dataclass(frozen=True)
class Options:
    """Base of the frozen config dataclasses layers parse their config into."""

    @classmethod
    def parse(cls, config: dict, layer: str, class_name: str, behaviour: Mapping[str, Any] | None = None
              ) -> Options:
        """Pick this dataclass's fields out of ``config`` (None means the default) and validate them; engine
        options come from ``behaviour`` instead (a file cannot set them).

        Fields annotated ``bool``, ``int``, ``float`` or ``str`` are checked against their type (an integral
        float is taken as an int); other fields are left to :meth:`validate`.
        """
        values = {}
        for f in dataclasses.fields(cls):
            source = (behaviour or {}) if f.metadata.get("engine") else config
            if source.get(f.name) is not None:
                values[f.name] = _coerce(source[f.name], f.type, layer, class_name, f.name)
        try:
            options = cls(**values)
        except TypeError as exc:
            raise ModelFormatError(f"layer {layer!r} ({class_name}): invalid config: {exc}") from None
        options.validate(layer, class_name)
        return options

    def validate(self, layer: str, class_name: str) -> None:
        """Raise for values the layer cannot use; subclasses extend this."""


def _coerce(value: Any, annotation: Any, layer: str, class_name: str, key: str) -> Any:
    if annotation == "bool" and not isinstance(value, bool):
        raise invalid(layer, class_name, key, "a boolean", value)
    if annotation == "int":
        if not is_number(value) or not math.isfinite(value) or int(value) != value:
            raise invalid(layer, class_name, key, "an integer", value)
        return int(value)
    if annotation == "float" and not is_number(value):
        raise invalid(layer, class_name, key, "a number", value)
    if annotation == "str" and not isinstance(value, str):
        raise invalid(layer, class_name, key, "a string", value)
    return value


def invalid(layer: str, class_name: str, key: str, expected: str, got: Any) -> ModelFormatError:
    """The error for a config value that cannot be right, in Keras's words."""
    return ModelFormatError(f"layer {layer!r} ({class_name}): received an invalid value for argument `{key}`, "
                            f"expected {expected}, got {got!r}")


def unsupported(layer: str, class_name: str, what: str, supported: str) -> UnsupportedLayerError:
    """The error for an option the runtime cannot honour exactly."""
    return UnsupportedLayerError(f"layer {layer!r} ({class_name}): {what} is not supported; supported: {supported}")


def positive_int(value: Any, layer: str, class_name: str, key: str) -> int:
    """``value`` as a positive int, or the Keras-style error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value <= 0:
        raise invalid(layer, class_name, key, "a positive integer", value)
    return int(value)


class Layer:
    """A layer of the runtime. Subclasses parse their config, declare weights in ``build`` and compute in ``call``.

    Shapes include the batch dimension (None when unknown). Masks are boolean arrays over (batch, time) or None.
    """

    supports_masking: ClassVar[bool] = False  # Keras's: whether compute_mask passes the input's mask on
    Options: ClassVar[type[Options]] = Options
    tfjs: ClassVar[TfjsFacts] = TfjsFacts()  # each registered class declares its own (see ``register``)
    keras: ClassVar[KerasFacts] = KerasFacts()

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        """``engine`` (``tfjs_interop.engines``) sets the engine options; None runs the runtime's defaults
        (Keras's behaviour)."""
        self.name = name
        self.class_name = class_name
        self.config = config
        self.engine = engine
        check_precision(config, name, class_name)
        behaviour = engine.behaviour(type(self)) if engine is not None else None
        self.options = self.Options.parse(config, name, class_name, behaviour)
        self.weights: list[Variable] = []
        self.built = False

    # -- weights ---------------------------------------------------------------------------------------------
    def add_weight(self, path: str, shape: Shape, trainable: bool = True, dtype: str = "float32",
                   constraint: Any = None) -> Variable:
        """Declare a weight; ``constraint``: the config's constraint for it (see :class:`Variable`)."""
        variable = Variable(path, tuple(int(d) for d in shape), trainable, dtype=dtype, constraint=constraint,
                            owner=type(self))
        self.weights.append(variable)
        return variable

    def build(self, input_shape: Shape | list[Shape]) -> None:
        """Declare the weights for inputs of ``input_shape``; called once, before the first call."""

    def ensure_built(self, input_shape: Shape | list[Shape]) -> None:
        if not self.built:
            self.build(input_shape)
            self.built = True

    def count_params(self) -> int:
        return sum(v.size for v in self.weights)

    # -- computation -----------------------------------------------------------------------------------------
    def output_shape(self, input_shape: Shape | list[Shape]) -> Shape | list[Shape]:
        """The shape(s) of the outputs for inputs of ``input_shape``."""
        return input_shape

    def call_output_shape(self, input_shape: Shape | list[Shape], kwargs: dict) -> Shape | list[Shape]:
        """The output shape(s) of a call with keyword arguments ``kwargs`` (by default: ``output_shape``)."""
        return self.output_shape(input_shape)

    def arranged_call(self, call: Call) -> Call:
        """A call of the graph as this layer's ``call`` takes it (by default as the file gives it)."""
        return call

    def call(self, inputs: np.ndarray | list[np.ndarray], mask: Any = None, **kwargs: Any) -> Any:
        """Compute the outputs (an array, or a list for several)."""
        raise NotImplementedError

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        """The mask of the outputs: passed through by layers that support masking, else dropped (as in Keras)."""
        return mask if self.supports_masking else None

    def fuse(self, following: Layer) -> Any:
        """For an execution plan (``runtime/plan.py``), where ``following``'s only input is this layer's only
        output and nothing else reads it: an object whose ``call(inputs, mask=None)`` gives ``following``'s output
        from this layer's inputs (or None, where it does not apply to those inputs: the plan then calls the two
        layers in turn), with the bits of the two calls; None where nothing is gained (the default)."""
        return None

    def input_values(self) -> InputValues | None:
        """What this layer tells about its input's values (see :class:`InputValues`); None: nothing."""
        return None

    @property
    def stateful(self) -> bool:
        """Whether a call leaves state for the next (a stateful RNN, or a layer holding one)."""
        return bool(getattr(self.options, "stateful", False))

    def reset_states(self) -> None:
        """Forget any state kept between calls (stateful RNNs)."""

    def describe(self) -> str:
        return f"{self.name} ({self.class_name})"


# --- config helpers shared by the layer modules -------------------------------------------------------------

def is_number(value: Any) -> bool:
    """True for an int or float that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_int(value: Any) -> bool:
    """True for an int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_rate(value: Any, layer: str, class_name: str, key: str = "rate") -> None:
    """Raise unless ``value`` is a number in [0, 1] (Keras's check for dropout rates)."""
    if not is_number(value) or not 0 <= value <= 1:
        raise invalid(layer, class_name, key, "a float value between 0 and 1", value)


def shape_error(layer: Layer, expected: str, shape: Any) -> ModelFormatError:
    """The error for an input shape a layer cannot take."""
    return ModelFormatError(f"layer {layer.name!r} ({layer.class_name}): expected {expected}, "
                            f"found shape {shape}")


def one_input(inputs: Any, layer: str, class_name: str) -> Any:
    """The single input (array or shape) of a layer that takes exactly one."""
    if isinstance(inputs, list):
        raise ModelFormatError(f"layer {layer!r} ({class_name}) expects 1 input, received {len(inputs)}")
    return inputs


FLOAT32_POLICIES = ("float32", None)


def check_precision(config: dict, layer: str, class_name: str) -> None:
    """Refuse layers Keras would compute in another precision (mixed_float16, bfloat16, int8 quantization):
    their numbers are not float32's. Input layers declare feed dtypes instead, and are checked where parsed."""
    if class_name == "InputLayer" or class_name.startswith(OP_PREFIX):  # an operation's dtype is its result's
        return
    dtype = config.get("dtype")
    if isinstance(dtype, dict):  # Keras 3 DTypePolicy / Keras 2 Policy: {"class_name", "config": {"name"}}
        dtype = plain_dtype(dtype)
    if not isinstance(dtype, (str, type(None))) or dtype not in FLOAT32_POLICIES:
        raise unsupported(layer, class_name, f"dtype policy {dtype!r}", "float32 layers (convert the model to "
                          "float32 before saving it)")
    if config.get("quantization_config") or config.get("quantization_mode"):
        raise unsupported(layer, class_name, "Keras 3 quantization", "float32 layers without quantization_config")


def refuse_lora(rank: Any, layer: str, class_name: str) -> None:
    """Keras 3 LoRA adds weights the layer does not declare: refuse it rather than compute without them."""
    if rank:
        raise unsupported(layer, class_name, f"lora_rank={rank!r}", "lora_rank null (no LoRA)")


def assign(layer: Layer, variable: Any, value: Any, source: str) -> None:
    """Check a value's shape against a layer's weight and store it as float32 (or its dtype), read-only: a
    caller's writable array is copied, so that a weight never changes in place (the compiled kernels pack each
    weight array once)."""
    value = np.asarray(value)
    if value.dtype.kind not in "biuf":
        raise WeightsError(f"{source}: layer {layer.name!r} weight {variable.path!r} must hold numbers, found an "
                           f"array of {value.dtype}")
    if tuple(value.shape) != tuple(variable.shape):
        raise WeightsError(f"{source}: shape mismatch in layer {layer.name!r} weight {variable.path!r}: expected "
                           f"{list(variable.shape)}, found {list(value.shape)}")
    stored = np.ascontiguousarray(value, dtype=variable.dtype).reshape(variable.shape)  # 0-d stays 0-d
    if not _immutable(stored):
        private = stored.flags.owndata and not np.may_share_memory(stored, value)  # converted: a copy already
        stored = stored if private else stored.copy()
        stored.flags.writeable = False
    variable.value = stored


def _immutable(array: np.ndarray) -> bool:
    """Whether nothing can change ``array``'s values: read-only views all the way down to a ``bytes`` object (a
    weight file's bytes). A read-only view of a writable array, or of a bytearray, can still change."""
    base: Any = array
    while isinstance(base, np.ndarray):
        if base.flags.writeable:
            return False
        base = base.base
    return isinstance(base.obj if isinstance(base, memoryview) else base, bytes)
