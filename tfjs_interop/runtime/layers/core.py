"""Core layers: inputs, dense maps, shape changes, embeddings, masking, and layers idle at inference."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InputError, ModelFormatError
from ...facts import KerasFacts, TfjsFacts, TfjsMasking, frozen
from ..activations import get_activation
from .base import (
    InputValues,
    Layer,
    Options,
    Shape,
    check_rate,
    invalid,
    is_number,
    one_input,
    positive_int,
    refuse_lora,
    register,
    shape_error,
)


@dataclass(frozen=True)
class InputOptions(Options):
    batch_input_shape: tuple | list | None = None
    batch_shape: tuple | list | None = None  # Keras 3's name
    dtype: str | dict = "float32"


@register("InputLayer")
class InputLayer(Layer):
    """A model input: it only declares the shape and dtype that ``predict`` checks its feed against."""

    Options = InputOptions

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        shape = self.options.batch_input_shape or self.options.batch_shape
        if not isinstance(shape, (list, tuple)) or not all(d is None or isinstance(d, int) and d >= 0 for d in shape):
            raise invalid(name, class_name, "batch_input_shape", "a list of sizes (null for unknown)", shape)
        self.batch_shape: Shape = tuple(shape)
        self.dtype = dtype_name(self.options.dtype, name, class_name)


_INPUT_DTYPES = {"float32": "float32", "int32": "int32", "float64": "float32", "int64": "int32",
                 "bool": "bool", "float16": "float32"}


def dtype_name(dtype: str | dict, layer: str, class_name: str) -> str:
    """A runtime dtype from a config's dtype (a string, or a Keras 3 DTypePolicy object)."""
    if isinstance(dtype, dict):  # {"class_name": "DTypePolicy", "config": {"name": "float32"}}
        dtype = (dtype.get("config") or {}).get("name")
    if not isinstance(dtype, str) or dtype not in _INPUT_DTYPES:
        raise invalid(layer, class_name, "dtype", f"one of {sorted(_INPUT_DTYPES)}", dtype)
    return _INPUT_DTYPES[dtype]


# --- dense maps ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DenseOptions(Options):
    units: int | None = None
    activation: str | None = None
    use_bias: bool = True
    lora_rank: int | None = None

    def validate(self, layer: str, class_name: str) -> None:
        positive_int(self.units, layer, class_name, "units")
        refuse_lora(self.lora_rank, layer, class_name)


@register("Dense")
class Dense(Layer):
    """y = act(x · kernel + bias) over the last axis, for inputs of any rank ≥ 2."""
    keras = KerasFacts(hard_sigmoid_gates=frozen({"activation": (0,)}))
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER, fresh_shape=True)

    Options = DenseOptions
    supports_masking = True

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        self.activation = get_activation(self.options.activation, name)

    def build(self, input_shape: Shape) -> None:
        shape = one_input(input_shape, self.name, self.class_name)
        if len(shape) < 2 or shape[-1] is None:
            raise shape_error(self, "an input of rank >= 2 with a known last dimension", shape)
        self.kernel = self.add_weight("kernel", (shape[-1], self.options.units),
                                      constraint=self.config.get("kernel_constraint"))
        self.bias = self.add_weight("bias", (self.options.units,), constraint=self.config.get("bias_constraint")) \
            if self.options.use_bias else None

    def output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape[:-1], self.options.units)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        # TF.js's CPU matMul accumulates in float64; the bias add is a separate float32 op.
        y = (inputs.astype(np.float64) @ self.kernel.value.astype(np.float64)).astype(np.float32)
        if self.bias is not None:
            y = y + self.bias.value
        return self.activation(y)


@dataclass(frozen=True)
class ActivationOptions(Options):
    activation: str | None = None


@register("Activation")
class Activation(Layer):
    """Applies a named activation function."""
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER)

    Options = ActivationOptions
    supports_masking = True

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        if self.options.activation is None:
            raise invalid(name, class_name, "activation", "the name of an activation", None)
        self.activation = get_activation(self.options.activation, name)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        return self.activation(inputs.astype(np.float32, copy=False))


# --- layers that change nothing at inference ----------------------------------------------------------------

@dataclass(frozen=True)
class RateOptions(Options):
    rate: float = 0.0

    def validate(self, layer: str, class_name: str) -> None:
        check_rate(self.rate, layer, class_name)


@dataclass(frozen=True)
class NoiseOptions(Options):
    stddev: float = 0.0

    def validate(self, layer: str, class_name: str) -> None:
        if not is_number(self.stddev) or self.stddev < 0:
            raise invalid(layer, class_name, "stddev", "a non-negative float", self.stddev)


class Identity(Layer):
    """A layer that is active only in training: at inference it returns its input and passes the mask on."""

    supports_masking = True

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        return inputs


@register("Dropout", "GaussianDropout", "AlphaDropout")
class Dropout(Identity):
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER)

    Options = RateOptions


@register("SpatialDropout1D")
class SpatialDropout1D(Identity):
    keras = KerasFacts(dropped_keys=("trainable",))  # Keras 3.x's SpatialDropout1D refuses it
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER)

    Options = RateOptions

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 3:
            raise shape_error(self, "an input of rank 3", input_shape)


@register("GaussianNoise")
class GaussianNoise(Identity):
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER)

    Options = NoiseOptions


# --- shape changes ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FlattenOptions(Options):
    data_format: str = "channels_last"

    def validate(self, layer: str, class_name: str) -> None:
        if self.data_format not in ("channels_last", "channels_first"):
            raise invalid(layer, class_name, "data_format", "'channels_last' or 'channels_first'",
                          self.data_format)


@register("Flatten")
class Flatten(Layer):
    """Flattens all but the batch axis; channels_first inputs get their channels moved last first (Keras)."""
    tfjs = TfjsFacts(fresh_shape=True)

    Options = FlattenOptions

    def output_shape(self, input_shape: Shape) -> Shape:
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        if self.options.data_format == "channels_first" and inputs.ndim > 2:
            inputs = np.transpose(inputs, (0, *range(2, inputs.ndim), 1))  # (B, C, ...) -> (B, ..., C)
        return inputs.reshape(inputs.shape[0], -1)


@dataclass(frozen=True)
class ReshapeOptions(Options):
    target_shape: tuple | list | None = None

    def validate(self, layer: str, class_name: str) -> None:
        dims = self.target_shape
        sizes_ok = isinstance(dims, (list, tuple)) and all(
            d is None or isinstance(d, int) and not isinstance(d, bool) and (d > 0 or d == -1) for d in dims)
        if not sizes_ok or sum(d is None or d == -1 for d in dims) > 1:
            raise invalid(layer, class_name, "target_shape", "a list of positive sizes with at most one -1",
                          dims)


def _static_target(config: dict, output_shape: tuple) -> dict:
    """TF.js infers a -1 of ``target_shape`` only where the input's shape is all known, batch size included (never,
    in a model): its output size is then unknown, and a layer after it that needs it fails to load ("Tensor must
    have a shape comprised of positive integers but got shape [,8]"). Written out from the known output."""
    target = config.get("target_shape")
    if isinstance(target, (list, tuple)) and -1 in target and None not in output_shape[1:]:
        return {**config, "target_shape": list(output_shape[1:])}
    return config


@register("Reshape")
class Reshape(Layer):
    """Reshapes all but the batch axis to ``target_shape`` (one size may be -1: inferred)."""
    tfjs = TfjsFacts(fresh_shape=True, static_spelling=_static_target)

    Options = ReshapeOptions

    def _resolve(self, sizes: Shape, error: type[Exception]) -> tuple:
        target = [-1 if d is None else d for d in self.options.target_shape]
        known, total = math.prod(d for d in target if d != -1), math.prod(sizes)
        if -1 in target and known and total % known == 0:
            target[target.index(-1)] = total // known
        if math.prod(target) != total:
            raise error(f"layer {self.name!r} (Reshape): cannot reshape sizes {tuple(sizes)} ({total} "
                        f"values) to target_shape {tuple(self.options.target_shape)}")
        return tuple(target)

    def input_values(self) -> InputValues:
        return InputValues(passes_through=True)

    def build(self, input_shape: Shape) -> None:
        self.output_shape(input_shape)

    def output_shape(self, input_shape: Shape) -> Shape:
        if None in input_shape[1:]:
            return (input_shape[0], *(None if d in (None, -1) else d for d in self.options.target_shape))
        return (input_shape[0], *self._resolve(input_shape[1:], ModelFormatError))

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        return inputs.reshape(inputs.shape[0], *self._resolve(inputs.shape[1:], InputError))


@dataclass(frozen=True)
class PermuteOptions(Options):
    dims: tuple | list | None = None

    def validate(self, layer: str, class_name: str) -> None:
        dims = self.dims
        if not isinstance(dims, (list, tuple)) or sorted(dims) != list(range(1, len(dims) + 1)):
            raise invalid(layer, class_name, "dims", "a permutation of 1..n (the batch axis is not counted)",
                          self.dims)


@register("Permute")
class Permute(Layer):
    """Permutes the non-batch axes; ``dims`` are 1-based."""
    tfjs = TfjsFacts(fresh_shape=True)

    Options = PermuteOptions

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != len(self.options.dims) + 1:
            raise shape_error(self, f"an input of rank {len(self.options.dims) + 1} for dims "
                                    f"{list(self.options.dims)}", input_shape)

    def output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], *(input_shape[d] for d in self.options.dims))

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        return np.transpose(inputs, (0, *self.options.dims))


@dataclass(frozen=True)
class RepeatVectorOptions(Options):
    n: int | None = None

    def validate(self, layer: str, class_name: str) -> None:
        positive_int(self.n, layer, class_name, "n")


@register("RepeatVector")
class RepeatVector(Layer):
    """(B, F) -> (B, n, F)."""

    Options = RepeatVectorOptions

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 2:
            raise shape_error(self, "an input of rank 2", input_shape)

    def output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], int(self.options.n), input_shape[1])

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        return np.repeat(inputs[:, None, :], int(self.options.n), axis=1)


# --- embeddings and masking ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class EmbeddingOptions(Options):
    input_dim: int | None = None
    output_dim: int | None = None
    mask_zero: bool = False
    input_length: int | list | None = None
    lora_rank: int | None = None

    def validate(self, layer: str, class_name: str) -> None:
        positive_int(self.input_dim, layer, class_name, "input_dim")
        positive_int(self.output_dim, layer, class_name, "output_dim")
        lengths = self.input_length if isinstance(self.input_length, list) else [self.input_length]
        if not all(n is None or isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in lengths):
            raise invalid(layer, class_name, "input_length", "a positive integer or a list of them",
                          self.input_length)
        refuse_lora(self.lora_rank, layer, class_name)


@register("Embedding")
class Embedding(Layer):
    """Looks up rows of ``embeddings`` [input_dim, output_dim]; float indices truncate, as ``tf.cast``."""
    keras = KerasFacts(explicit_mask=lambda config: (0.0, False) if config.get("mask_zero") else None)
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER)

    Options = EmbeddingOptions

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        self.supports_masking = self.options.mask_zero

    def input_values(self) -> InputValues:
        return InputValues(vocabulary=self.options.input_dim, pad_value=0.0 if self.options.mask_zero else None)

    def build(self, input_shape: Shape) -> None:
        self.embeddings = self.add_weight("embeddings", (self.options.input_dim, self.options.output_dim),
                                          constraint=self.config.get("embeddings_constraint"))

    def output_shape(self, input_shape: Shape) -> Shape:
        lengths = self.options.input_length
        if lengths is None:
            return (*input_shape, self.options.output_dim)
        lengths = lengths if isinstance(lengths, list) else [lengths]
        rest = input_shape[1:]
        if len(lengths) != len(rest) or any(n is not None and d is not None and n != d
                                            for n, d in zip(lengths, rest, strict=True)):
            raise shape_error(self, f"an input that fits input_length={self.options.input_length}",
                              input_shape)
        sizes = (d if n is None else n for n, d in zip(lengths, rest, strict=True))
        return (input_shape[0], *sizes, self.options.output_dim)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        return self.embeddings.value[self._indices(np.asarray(inputs))]

    def _indices(self, inputs: np.ndarray) -> np.ndarray:
        """The inputs as row indices: ``tf.cast`` to int32 truncates floats toward zero."""
        values = np.trunc(inputs.astype(np.float64)) if inputs.dtype.kind == "f" else inputs.astype(np.int64)
        bad = ~np.isfinite(values) | (values < 0) | (values >= self.options.input_dim)
        if bad.any():
            raise InputError(f"layer {self.name!r} (Embedding): index {inputs[bad].flat[0].item()!r} is out of "
                             f"range; expected integers in [0, {self.options.input_dim}) (input_dim="
                             f"{self.options.input_dim})")
        return values.astype(np.int64)

    def compute_mask(self, inputs: np.ndarray, mask: Any) -> np.ndarray | None:
        return np.asarray(inputs) != 0 if self.options.mask_zero else None


@dataclass(frozen=True)
class MaskingOptions(Options):
    mask_value: float = 0.0

    def validate(self, layer: str, class_name: str) -> None:
        if not is_number(self.mask_value):
            raise invalid(layer, class_name, "mask_value", "a number", self.mask_value)


@register("Masking")
class Masking(Layer):
    """Masks the time steps whose features all equal ``mask_value`` and zeroes them."""
    keras = KerasFacts(explicit_mask=lambda config: (float(config.get("mask_value") or 0.0), True))
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER)

    Options = MaskingOptions
    supports_masking = True

    def input_values(self) -> InputValues:
        return InputValues(pad_value=float(self.options.mask_value))

    def _mask(self, inputs: np.ndarray) -> np.ndarray:
        return np.any(inputs != np.float32(self.options.mask_value), axis=-1)  # (B, T)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        return inputs * self._mask(inputs)[..., None].astype(inputs.dtype)

    def compute_mask(self, inputs: np.ndarray, mask: Any) -> np.ndarray:
        return self._mask(inputs)
