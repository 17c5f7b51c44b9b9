"""Activation layers with options: ReLU, LeakyReLU, ELU, PReLU (learned slopes), Softmax, ThresholdedReLU.

Comparisons and clips use the option values rounded to float32, as TF and TF.js turn them into float32 tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InputError
from ...facts import KerasFacts, TfjsFacts, TfjsMasking, frozen
from ..activations import elu
from .base import Layer, Options, Shape, invalid, is_number, register, shape_error

_F32 = np.float32
_MASKED_LOGIT = _F32(-1e9)  # what Keras and TF.js add to masked logits before a softmax


def _check_non_negative(value: Any, layer: str, class_name: str, key: str) -> None:
    if not is_number(value) or value < 0:
        raise invalid(layer, class_name, key, "a non-negative float", value)


class ActivationLayer(Layer):
    """An element-wise activation: the shape and the mask pass through."""

    supports_masking = True


@dataclass(frozen=True)
class ReLUOptions(Options):
    max_value: float | None = None
    negative_slope: float = 0.0
    threshold: float = 0.0

    def validate(self, layer: str, class_name: str) -> None:
        if self.max_value is not None:
            _check_non_negative(self.max_value, layer, class_name, "max_value")
        _check_non_negative(self.negative_slope, layer, class_name, "negative_slope")
        _check_non_negative(self.threshold, layer, class_name, "threshold")


@register("ReLU")
class ReLU(ActivationLayer):
    """x above ``threshold`` (clipped at ``max_value``), else ``negative_slope · (x - threshold)``.

    Follows Keras ``backend.relu`` step by step; TF.js implements the ``max_value`` part only.
    """
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER, allowed=frozen({"negative_slope": (0,), "threshold": (0,)}))

    Options = ReLUOptions

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        x = inputs.astype(_F32, copy=False)
        slope, threshold, top = self.options.negative_slope, _F32(self.options.threshold), self.options.max_value
        if slope != 0 and top is None and threshold == 0:
            return np.where(x > 0, x, _F32(slope) * x)
        y = x * (x > threshold).astype(_F32) if threshold != 0 else np.maximum(x, _F32(0))
        if top is not None:
            y = np.clip(y, _F32(0), _F32(top))
        if slope != 0:
            y = y - _F32(slope) * np.maximum(threshold - x, _F32(0))
        return y


@dataclass(frozen=True)
class LeakyReLUOptions(Options):
    alpha: float | None = None  # TF.js and Keras 2
    negative_slope: float | None = None  # Keras 3

    def validate(self, layer: str, class_name: str) -> None:
        for key in ("alpha", "negative_slope"):
            value = getattr(self, key)
            if value is not None and not is_number(value):
                raise invalid(layer, class_name, key, "a float", value)

    @property
    def slope(self) -> float:
        """Keras 3's ``negative_slope``, else ``alpha``, else the default 0.3 of every writer."""
        return next((v for v in (self.negative_slope, self.alpha) if v is not None), 0.3)


@register("LeakyReLU")
class LeakyReLU(ActivationLayer):
    """x if x > 0 else slope · x."""
    tfjs = TfjsFacts(spelling=lambda config: _leaky_tfjs(config))
    keras = KerasFacts(keras3_spelling=lambda config, layer: (LEAKY, _renamed(config, "alpha", "negative_slope")),
                       keras2_spelling=lambda config: _renamed(config, "negative_slope", "alpha"))


    Options = LeakyReLUOptions

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        x = inputs.astype(_F32, copy=False)
        return np.where(x > 0, x, _F32(self.options.slope) * x)


@dataclass(frozen=True)
class ELUOptions(Options):
    alpha: float = 1.0

    def validate(self, layer: str, class_name: str) -> None:
        if not is_number(self.alpha):
            raise invalid(layer, class_name, "alpha", "a float", self.alpha)


@register("ELU")
class ELU(ActivationLayer):
    """x if x > 0 else alpha · (exp(x) - 1). (TF.js refuses alpha ≠ 1; Keras computes it.)"""
    tfjs = TfjsFacts(allowed=frozen({"alpha": (1,)}))

    Options = ELUOptions

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        return elu(inputs.astype(_F32, copy=False), self.options.alpha)


@dataclass(frozen=True)
class PReLUOptions(Options):
    shared_axes: int | list | None = None

    def validate(self, layer: str, class_name: str) -> None:
        axes = self.shared_axes if isinstance(self.shared_axes, (list, tuple)) else [self.shared_axes]
        if self.shared_axes is not None and not all(
                isinstance(a, int) and not isinstance(a, bool) and a >= 1 for a in axes):
            raise invalid(layer, class_name, "shared_axes", "an axis >= 1 or a list of them", self.shared_axes)

    @property
    def axes(self) -> list[int]:
        if self.shared_axes is None:
            return []
        return list(self.shared_axes) if isinstance(self.shared_axes, (list, tuple)) else [self.shared_axes]


@register("PReLU")
class PReLU(ActivationLayer):
    """x if x >= 0 else alpha · x, with a learned ``alpha`` per position (size 1 along ``shared_axes``)."""
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER)

    Options = PReLUOptions

    def build(self, input_shape: Shape) -> None:
        sizes = list(input_shape[1:])
        for axis in self.options.axes:
            if axis > len(sizes):
                raise shape_error(self, f"an input with axis {axis} (shared_axes={self.options.shared_axes})",
                                  input_shape)
            sizes[axis - 1] = 1
        if None in sizes:
            raise shape_error(self, "known sizes on every axis not in shared_axes", input_shape)
        self.alpha = self.add_weight("alpha", tuple(sizes), constraint=self.config.get("alpha_constraint"))

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        x = inputs.astype(_F32, copy=False)
        return np.where(x < 0, self.alpha.value * x, x)


@dataclass(frozen=True)
class SoftmaxOptions(Options):
    axis: int | list = -1

    def validate(self, layer: str, class_name: str) -> None:
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        if not axes or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise invalid(layer, class_name, "axis", "an integer or a list of integers", self.axis)


@register("Softmax")
class Softmax(ActivationLayer):
    """exp(x) / sum(exp(x)) over ``axis`` (several axes at once when a list); masked logits get -1e9 first."""
    keras = KerasFacts(keras3_mask_argument=True)
    tfjs = TfjsFacts(refusal=lambda config, rank: _softmax_refusal(config, rank),
                     spelling=lambda config: {**config, "axis": -1} if config.get("axis") == [-1] else config)


    Options = SoftmaxOptions

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        x = inputs.astype(_F32, copy=False)
        if mask is not None:
            x = x + self._adder(np.asarray(mask), x.shape)
        axis = tuple(self.options.axis) if isinstance(self.options.axis, (list, tuple)) else self.options.axis
        x64 = x.astype(np.float64)
        e = np.exp(x64 - np.max(x64, axis=axis, keepdims=True))
        return (e / np.sum(e, axis=axis, keepdims=True)).astype(_F32)

    def _adder(self, mask: np.ndarray, shape: tuple) -> np.ndarray:
        """(1 - mask) · -1e9 in float32, broadcast against the logits by NumPy's rules, as Keras and TF.js do.

        A mask that is not the logits' own (TF.js hands a layer the last mask it saw) may widen the result: TF.js
        then returns the wider array too.
        """
        try:
            np.broadcast_shapes(mask.shape, shape)
        except ValueError:
            raise InputError(f"layer {self.name!r} (Softmax): a mask of shape {mask.shape} does not broadcast "
                             f"against logits of shape {shape}") from None
        return (_F32(1) - mask.astype(_F32)) * _MASKED_LOGIT


@dataclass(frozen=True)
class ThresholdedReLUOptions(Options):
    theta: float = 1.0

    def validate(self, layer: str, class_name: str) -> None:
        _check_non_negative(self.theta, layer, class_name, "theta")


@register("ThresholdedReLU")
class ThresholdedReLU(ActivationLayer):
    """x if x > theta else 0."""
    # Gone in Keras 3; its ReLU(threshold) is the same x * (x > theta).
    keras = KerasFacts(keras3_spelling=lambda config, layer: (
        "ReLU", {"name": config.get("name", layer), "threshold": config.get("theta", 1.0)}))


    Options = ThresholdedReLUOptions

    def call(self, inputs: np.ndarray, mask: Any = None, **kwargs: Any) -> np.ndarray:
        x = inputs.astype(_F32, copy=False)
        return x * (x > _F32(self.options.theta)).astype(_F32)


LEAKY = "LeakyReLU"


def _leaky_tfjs(config: dict) -> dict:
    """TF.js's LeakyReLU takes ``alpha`` (Keras 2's name; Keras 3's ``negative_slope``), 0.3 by default."""
    out = {k: v for k, v in config.items() if k != "negative_slope"}
    if out.get("alpha") is None:
        out["alpha"] = 0.3 if config.get("negative_slope") is None else config["negative_slope"]
    return out


def _renamed(config: dict, old: str, new: str) -> dict:
    """``config`` with option ``old`` called ``new`` (LeakyReLU's slope: Keras 2's ``alpha``, Keras 3's
    ``negative_slope``)."""
    if old not in config:
        return config
    out = {k: v for k, v in config.items() if k != old}
    out[new] = config[old]
    return out


def _softmax_refusal(config: dict, rank: int | None) -> tuple[str, str] | None:
    """TF.js's Softmax takes the last axis, or several axes at once; one other axis fails in tf.softmax."""
    axis = config.get("axis", -1)
    axes = axis if isinstance(axis, list) else [axis]
    if axis is None or len(axes) > 1 or axes[0] == -1 or (rank is not None and axes[0] == rank - 1):
        return None
    return (f"TF.js's softmax runs on the last axis only (or on several), not on axis={axis!r} of a rank-{rank} "
            "input", "transpose the axis last with Permute around Softmax")
