"""Normalization layers: y = (x - mean) / sqrt(var + epsilon) · gamma + beta."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import UnsupportedLayerError
from ...facts import KerasFacts, TfjsFacts, TfjsMasking, frozen
from .base import Layer, Options, Shape, engine_option, invalid, is_int, is_number, register, shape_error, unsupported


def _check_common(options: Any, layer: str, class_name: str) -> None:
    if not is_number(options.epsilon) or options.epsilon <= 0:
        raise invalid(layer, class_name, "epsilon", "a positive float", options.epsilon)


def _normalize(x: np.ndarray, mean: np.ndarray, var: np.ndarray, epsilon: float,
               gamma: np.ndarray | None, beta: np.ndarray | None) -> np.ndarray:
    """(x - mean) / sqrt(var + eps) · gamma + beta in float64 (as TF.js's CPU batchNorm), cast to float32."""
    y = (x.astype(np.float64) - mean) / np.sqrt(var + epsilon)
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y.astype(np.float32)


def _gamma_beta(layer: Layer, shape: Shape) -> tuple[Any, Any]:
    """A normalization's gamma (with ``scale``) and beta (with ``center``), with their configs' constraints."""
    gamma = layer.add_weight("gamma", shape, constraint=layer.config.get("gamma_constraint")) \
        if layer.options.scale else None
    beta = layer.add_weight("beta", shape, constraint=layer.config.get("beta_constraint")) \
        if layer.options.center else None
    return gamma, beta


@dataclass(frozen=True)
class LayerNormalizationOptions(Options):
    axis: int | list = -1
    epsilon: float = 1e-3
    center: bool = True
    scale: bool = True
    rms_scaling: bool = False  # Keras 3

    def validate(self, layer: str, class_name: str) -> None:
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        if not axes or not all(is_int(a) for a in axes):
            raise invalid(layer, class_name, "axis", "an integer or a list of integers", self.axis)
        _check_common(self, layer, class_name)
        if self.rms_scaling:
            raise unsupported(layer, class_name, "rms_scaling=True", "rms_scaling false")


@register("LayerNormalization")
class LayerNormalization(Layer):
    """Normalizes each sample over ``axis`` with its own mean and (biased) variance."""
    # TF.js's LayerNormalization passes no constraint to its weights (its constructor reads none).
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER, allowed=frozen({"rms_scaling": (False,)}), ignores_constraints=True)

    Options = LayerNormalizationOptions
    supports_masking = True

    def build(self, input_shape: Shape) -> None:
        rank = len(input_shape)
        axes = self.options.axis if isinstance(self.options.axis, (list, tuple)) else [self.options.axis]
        self.axes = tuple(a + rank if a < 0 else a for a in axes)
        if len(set(self.axes)) != len(self.axes) or not all(0 < a < rank for a in self.axes):
            raise shape_error(self, f"distinct non-batch axes {self.options.axis}", input_shape)
        if any(input_shape[a] is None for a in self.axes):
            raise shape_error(self, f"known sizes on the normalized axes {self.axes}", input_shape)
        param_shape = tuple(input_shape[a] for a in self.axes)
        self.gamma, self.beta = _gamma_beta(self, param_shape)

    def _broadcast(self, weight: Any, rank: int, shape: Shape) -> np.ndarray | None:
        if weight is None:
            return None
        # A plain reshape, as Keras and TF.js do, even when ``axis`` lists the axes out of order.
        sizes = [shape[a] if a in self.axes else 1 for a in range(rank)]
        return weight.value.astype(np.float64).reshape(sizes)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        x = inputs.astype(np.float64)
        mean = x.mean(axis=self.axes, keepdims=True)
        var = np.square(x - mean).mean(axis=self.axes, keepdims=True)
        return _normalize(x, mean, var, self.options.epsilon, self._broadcast(self.gamma, x.ndim, x.shape),
                          self._broadcast(self.beta, x.ndim, x.shape))


@dataclass(frozen=True)
class BatchNormalizationOptions(Options):
    axis: int | list = -1
    epsilon: float = 1e-3
    center: bool = True
    scale: bool = True
    renorm: bool = False  # Keras 2
    virtual_batch_size: int | None = None  # Keras 2
    # TF.js's batchNorm kernel indexes the parameters by flat position modulo their length, which equals
    # broadcasting along the LAST axis whatever ``axis`` says (the normaliser sets this for TF.js files).
    flat_parameter_index: bool = engine_option(False)  # TF.js indexes parameters by flat position

    def validate(self, layer: str, class_name: str) -> None:
        axis = self.axis
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, (list, tuple)):
            raise unsupported(layer, class_name, f"axis={self.axis!r} (several axes)", "a single axis")
        if not is_int(axis):
            raise invalid(layer, class_name, "axis", "an integer", self.axis)
        _check_common(self, layer, class_name)
        if self.renorm:
            raise unsupported(layer, class_name, "renorm=True", "renorm false")
        if self.virtual_batch_size is not None:
            raise unsupported(layer, class_name, f"virtual_batch_size={self.virtual_batch_size!r}", "null")


@register("BatchNormalization")
class BatchNormalization(Layer):
    """Inference-mode batch normalization with the moving mean and variance, along one feature axis."""
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER, behaviour=frozen({"flat_parameter_index": True}))
    keras = KerasFacts(keras3_spelling=lambda config, layer: _keras3_batch_norm(config, layer),
                       keras3_mask_argument=True)

    Options = BatchNormalizationOptions
    supports_masking = True

    def build(self, input_shape: Shape) -> None:
        axis = self.options.axis[0] if isinstance(self.options.axis, (list, tuple)) else self.options.axis
        rank = len(input_shape)
        self.axis = axis + rank if axis < 0 else axis
        if not 0 < self.axis < rank or input_shape[self.axis] is None:
            raise shape_error(self, f"a non-batch axis {axis} of known size", input_shape)
        dim = (input_shape[self.axis],)
        self.gamma, self.beta = _gamma_beta(self, dim)
        self.moving_mean = self.add_weight("moving_mean", dim, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", dim, trainable=False)

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        if self.options.flat_parameter_index and self.axis != inputs.ndim - 1:
            flat = inputs.reshape(-1, inputs.shape[self.axis])  # (size / C, C): element i meets parameter i % C
            return self._normalize_along(flat, 1).reshape(inputs.shape)
        return self._normalize_along(inputs, self.axis)

    def _normalize_along(self, inputs: np.ndarray, axis: int) -> np.ndarray:
        sizes = [1] * inputs.ndim
        sizes[axis] = inputs.shape[axis]

        def stat(weight: Any) -> np.ndarray | None:
            return None if weight is None else weight.value.astype(np.float64).reshape(sizes)

        return _normalize(inputs, stat(self.moving_mean), stat(self.moving_variance), self.options.epsilon,
                          stat(self.gamma), stat(self.beta))


def _keras3_batch_norm(config: dict, layer: str) -> tuple[str, dict]:
    """tf.keras writes ``axis`` as a list of one axis; Keras 3's BatchNormalization takes one int."""
    axis = config.get("axis")
    if not isinstance(axis, list):
        return "BatchNormalization", config
    if len(axis) != 1:
        raise UnsupportedLayerError(f"layer {layer!r} (BatchNormalization): axis {axis} normalises over several "
                                    "axes, which Keras 3's BatchNormalization cannot")
    return "BatchNormalization", {**config, "axis": axis[0]}
