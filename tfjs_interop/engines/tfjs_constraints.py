"""TF.js 4.22's weight constraints, as its loader applies them (tfjs-layers ``constraints.js``, ``variables.js``).

TF.js applies a weight's constraint whenever the weight is written, and ``tf.loadLayersModel`` writes every
weight (``LayerVariable.write``: assign, then assign ``constraint.apply(value)``); ``fit`` does not apply them, so
a model trained in TF.js is saved with weights its constraints would change, and the browser computes with the
changed ones. Keras applies constraints only after an optimizer step, never on loading.

Each op rounds to float32 as TF.js's CPU backend does: ``norms = sqrt(sum(w * w, axis, keepDims))`` (the sum
accumulated in float64 along the axis, then rounded), ``epsilon`` the backend's 1e-7:

- MaxNorm {max_value=2, axis=0}: ``w * (clip(norms, 0, max_value) / (epsilon + norms))``
- UnitNorm {axis=0}: ``w / (epsilon + norms)``
- NonNeg: ``relu(w)`` (``Math.max(0, w)``: -0 becomes 0)
- MinMaxNorm {min_value=0, max_value=1, rate=1, axis=0}: ``w * ((rate * clip(norms, min, max) + (1 - rate) *
  norms) / (epsilon + norms))``

A constraint is named by ``{"class_name", "config"}`` (any key spelling) or by a string (``maxNorm``, ``MaxNorm``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..dialects import snake_case
from ..errors import UnsupportedLayerError

EPSILON = np.float32(1e-7)  # the CPU backend's epsilon() for float32
_F32 = np.float32

# TF.js's string identifiers for its constraint classes (CONSTRAINT_IDENTIFIER_REGISTRY_SYMBOL_MAP).
IDENTIFIERS = {"maxNorm": "MaxNorm", "minMaxNorm": "MinMaxNorm", "nonNeg": "NonNeg", "unitNorm": "UnitNorm"}


def _norms(w: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    """calcL2Norms: the float32 squares summed in order along ``axis`` in float64 (TF.js's Sum kernel), rounded."""
    squares = np.multiply(w, w)
    moved = np.moveaxis(squares, axis, tuple(range(w.ndim - len(axis), w.ndim)))
    flat = moved.reshape(*moved.shape[:w.ndim - len(axis)], -1).astype(np.float64)
    total = np.cumsum(flat, axis=-1)[..., -1] if flat.shape[-1] else np.zeros(flat.shape[:-1])
    return np.sqrt(np.expand_dims(total.astype(_F32), axis))


def _clip(norms: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip(norms, _F32(low), _F32(high)).astype(_F32)


def _max_norm(w: np.ndarray, options: dict, axis: tuple[int, ...]) -> np.ndarray:
    norms = _norms(w, axis)
    return w * (_clip(norms, 0.0, options["max_value"]) / (EPSILON + norms))


def _unit_norm(w: np.ndarray, options: dict, axis: tuple[int, ...]) -> np.ndarray:
    return w / (EPSILON + _norms(w, axis))


def _non_neg(w: np.ndarray, options: dict, axis: tuple[int, ...]) -> np.ndarray:
    return np.maximum(w, _F32(0)) + _F32(0)  # + 0 turns -0 into 0, as Math.max(0, -0)


def _min_max_norm(w: np.ndarray, options: dict, axis: tuple[int, ...]) -> np.ndarray:
    norms = _norms(w, axis)
    rate = float(options["rate"])
    desired = _F32(rate) * _clip(norms, options["min_value"], options["max_value"]) + _F32(1.0 - rate) * norms
    return w * (desired / (EPSILON + norms))


# class name -> (apply, its options with their defaults)
_CONSTRAINTS: dict[str, tuple[Callable[[np.ndarray, dict, tuple[int, ...]], np.ndarray], dict[str, Any]]] = {
    "MaxNorm": (_max_norm, {"max_value": 2.0, "axis": 0}),
    "UnitNorm": (_unit_norm, {"axis": 0}),
    "NonNeg": (_non_neg, {}),
    "MinMaxNorm": (_min_max_norm, {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}),
}


def apply_constraint(constraint: Any, value: np.ndarray, where: str) -> np.ndarray:
    """``value`` (float32) as TF.js's loader leaves it under ``constraint`` (a config's ``*_constraint``).

    Raises:
        UnsupportedLayerError: for a constraint TF.js 4.22 cannot deserialise or apply (its loader fails there).
    """
    class_name, config = _parse(constraint, where)
    apply, defaults = _CONSTRAINTS[class_name]
    options = dict(defaults)
    for key, given in config.items():
        if snake_case(key) in options and given is not None:
            options[snake_case(key)] = given
    for key, given in options.items():
        if key != "axis" and (isinstance(given, bool) or not isinstance(given, (int, float))):
            raise _refuse(where, f"its {class_name} {key} is {given!r}, not a number")
    if class_name in ("MaxNorm", "MinMaxNorm") and options.get("min_value", 0.0) > options["max_value"]:
        raise _refuse(where, f"its {class_name} min_value {options['min_value']} exceeds max_value "
                      f"{options['max_value']} (clipByValue fails)")
    axis = _axes(options.get("axis", 0), value.ndim, where, class_name)
    with np.errstate(all="ignore"):
        out = apply(np.asarray(value, _F32), options, axis)
    return np.asarray(out, _F32)


def describe(constraint: Any) -> str:
    """A constraint as a message names it: ``MaxNorm(max_value=0.5, axis=0)``."""
    if isinstance(constraint, str):
        return IDENTIFIERS.get(constraint, constraint)
    if isinstance(constraint, dict):
        config = constraint.get("config") if isinstance(constraint.get("config"), dict) else {}
        args = ", ".join(f"{snake_case(k)}={v!r}" for k, v in config.items() if k not in ("name", "dtype"))
        return f"{constraint.get('class_name') or constraint.get('className')}({args})"
    return repr(constraint)


def _parse(constraint: Any, where: str) -> tuple[str, dict]:
    if isinstance(constraint, str):
        class_name, config = IDENTIFIERS.get(constraint, constraint), {}
    elif isinstance(constraint, dict):
        class_name = constraint.get("class_name", constraint.get("className"))
        config = constraint.get("config")
        if not isinstance(config, dict):
            raise _refuse(where, f"its constraint {constraint!r:.120} has no config object (TF.js requires one)")
    else:
        raise _refuse(where, f"its constraint {constraint!r:.120} is neither a name nor a serialized constraint")
    if class_name not in _CONSTRAINTS:
        raise _refuse(where, f"its constraint {class_name!r} is not one TF.js 4.22 knows "
                      f"({', '.join(sorted(_CONSTRAINTS))})")
    return class_name, config


def _axes(axis: Any, rank: int, where: str, class_name: str) -> tuple[int, ...]:
    """TF.js's ``parseAxisParam``: an int or a list of ints in [-rank, rank), negative ones counted from the end."""
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not all(isinstance(a, int) and not isinstance(a, bool) and -rank <= a < rank for a in axes):
        raise _refuse(where, f"its {class_name} axis {axis!r} is not an axis of the weight's {rank} dimension(s)")
    resolved = tuple(a % rank for a in axes) if rank else ()
    if len(set(resolved)) != len(resolved):
        raise _refuse(where, f"its {class_name} axis {axis!r} names an axis twice")
    return resolved


def _refuse(where: str, why: str) -> UnsupportedLayerError:
    return UnsupportedLayerError(f"{where}: {why}; TF.js applies a weight's constraint when it loads the "
                                 "weights (tf.loadLayersModel), and would fail on this one")
