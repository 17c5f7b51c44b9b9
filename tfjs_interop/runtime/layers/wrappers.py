"""Wrappers: Bidirectional (two RNNs, one reading backwards) and TimeDistributed (a layer applied per step)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InputError
from ...facts import KerasFacts, TfjsFacts, TfjsMasking, frozen
from ..compiled import zero_state_pair
from .base import Layer, Options, Shape, engine_option, invalid, layer_class, register, unsupported
from .recurrent import RNN

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def build_inner(spec: Any, owner: str, class_name: str, engine: Any, name: str | None = None) -> Layer:
    """The layer a wrapper holds, from its serialized ``{"class_name", "config"}``, run by the wrapper's engine."""
    if (not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str)
            or not isinstance(spec.get("config") or {}, dict)):
        raise invalid(owner, class_name, "layer", "a serialized layer", spec)
    config = dict(spec.get("config") or {})
    inner_name = name or config.get("name") or f"{owner}_inner"
    return layer_class(spec["class_name"], owner)(inner_name, spec["class_name"], config, engine)


def _adopt(wrapper: Layer, inner: Layer, prefix: str) -> None:
    """Make the inner layer's weights the wrapper's own, named ``prefix + path``."""
    for variable in inner.weights:
        variable.path = prefix + variable.path
        wrapper.weights.append(variable)


LAYOUTS_KEPT = 256  # Bidirectional._concatenated's shapes remembered (a server fed every length stays bounded)
_UNKNOWN = object()


@dataclass(frozen=True)
class BidirectionalOptions(Options):
    merge_mode: str | None = "concat"
    layer: dict | None = None
    backward_layer: dict | None = None


@register("Bidirectional")
class Bidirectional(Layer):
    """Runs an RNN forwards and a copy backwards, re-reverses the backward sequence and merges the two."""
    keras = KerasFacts(keras3_mask_argument=True)
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER)

    supports_masking = True
    Options = BidirectionalOptions

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        if "merge_mode" in config and config["merge_mode"] is None:
            self.merge_mode = None
        else:
            self.merge_mode = self.options.merge_mode
        if self.merge_mode not in MERGE_MODES:
            raise invalid(name, class_name, "merge_mode", f"one of {list(MERGE_MODES)}", self.merge_mode)
        self.forward = self._make(self.options.layer, "forward", backwards=False)
        backward_spec = self.options.backward_layer or self.options.layer
        self.backward = self._make(backward_spec, "backward", backwards=self.options.backward_layer is None)
        self._layouts: dict[tuple, tuple[tuple, int] | None] = {}  # _concatenated's, by input shape
        for key in ("return_sequences", "return_state", "stateful"):  # Keras's own check (and a stateful pair)
            if getattr(self.forward.options, key) != getattr(self.backward.options, key):
                raise invalid(name, class_name, f"backward_layer.{key}", f"the forward layer's "
                              f"{getattr(self.forward.options, key)}", getattr(self.backward.options, key))

    def _make(self, spec: Any, direction: str, backwards: bool) -> RNN:
        if backwards and isinstance(spec, dict) and isinstance(spec.get("config") or {}, dict):
            config = dict(spec.get("config") or {})
            config["go_backwards"] = not config.get("go_backwards", False)
            spec = {"class_name": spec.get("class_name"), "config": config}
        inner_name = (spec.get("config") or {}).get("name", "rnn") if isinstance(spec, dict) else "rnn"
        layer = build_inner(spec, self.name, self.class_name, self.engine, f"{direction}_{inner_name}")
        if not isinstance(layer, RNN):
            raise unsupported(self.name, self.class_name, f"wrapping a {layer.class_name}", "recurrent layers")
        return layer

    @property
    def rnn_options(self) -> Any:
        return self.forward.options

    def build(self, input_shape: Shape | list[Shape]) -> None:
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        self.forward.ensure_built(shape)
        self.backward.ensure_built(shape)
        _adopt(self, self.forward, "forward/")
        _adopt(self, self.backward, "backward/")

    def output_shape(self, input_shape: Shape | list[Shape]) -> Shape | list[Shape]:
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        forward = _as_list(self.forward.output_shape(shape))
        backward = _as_list(self.backward.output_shape(shape))
        y_f, y_b = forward[0], backward[0]
        if self.merge_mode == "concat":
            outputs = [(*y_f[:-1], y_f[-1] + y_b[-1])]
        elif self.merge_mode is None:
            outputs = [y_f, y_b]
        else:
            outputs = [y_f]
        if self.rnn_options.return_state:
            outputs += forward[1:] + backward[1:]
        return outputs[0] if len(outputs) == 1 else outputs

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        mask = mask[0] if isinstance(mask, list) else mask
        output_mask = mask if self.rnn_options.return_sequences else None
        masks = [output_mask] * (2 if self.merge_mode is None else 1)
        if self.rnn_options.return_state:
            masks += [None] * (len(self.forward.cell.state_sizes) * 2)
        return masks[0] if len(masks) == 1 else masks

    @property
    def stateful(self) -> bool:
        """Each direction keeps its own states from call to call (the backward one's: after the reversed steps)."""
        return self.forward.stateful

    def reset_states(self) -> None:
        self.forward.reset_states()
        self.backward.reset_states()

    def call(self, inputs: Any, mask: Any = None, initial_state: Any = None, training: Any = None,
             **kwargs: Any) -> Any:
        if isinstance(inputs, list):
            inputs, initial_state = inputs[0], inputs[1:] or initial_state
        mask = mask[0] if isinstance(mask, list) else mask
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        out, units = self._concatenated(inputs)
        pair = out is not None and out.ndim == 3 and mask is None and initial_state is None and \
            not self.rnn_options.return_state and not self.stateful and \
            zero_state_pair(self.forward.cell, self.backward.cell, *out.shape[:2])
        if pair:  # the usual call: both directions in one compiled loop
            pair(self.forward.time_major(inputs), self.backward.time_major(inputs, "rnn.x.backward"),
                 out[..., :units], out[:, ::-1, units:])
            return out
        if out is not None:  # each direction writes its half (the backward one re-reversed): no concatenation
            forward = _as_list(self.forward.call_into(inputs, mask, forward_state, out[..., :units]))
            backward = _as_list(self.backward.call_into(inputs, mask, backward_state, out[:, ::-1, ..., units:]))
            outputs = [out]
        else:
            forward = _as_list(self.forward.call(inputs, mask=mask, initial_state=forward_state))
            backward = _as_list(self.backward.call(inputs, mask=mask, initial_state=backward_state))
            y_f, y_b = forward[0], backward[0]
            outputs = self._merge(y_f, y_b[:, ::-1] if self.rnn_options.return_sequences else y_b)
        if self.rnn_options.return_state:
            outputs += forward[1:] + backward[1:]
        return outputs[0] if len(outputs) == 1 else outputs

    def _concatenated(self, inputs: Any) -> tuple[np.ndarray | None, int]:
        """The buffer both directions write their sequences into (merge_mode concat) and the forward one's width,
        or None where they cannot: inner layers that reshape their outputs (ConvLSTM2D), or halves that differ in
        more than their width. Its shape is worked out once per input shape (at batch 1 that took ~3 µs of ~30)."""
        shape = inputs.shape if type(inputs) is np.ndarray else np.shape(inputs)
        layout = self._layouts.get(shape, _UNKNOWN)
        if layout is _UNKNOWN:
            if len(self._layouts) >= LAYOUTS_KEPT:
                self._layouts.clear()
            layout = self._layouts[shape] = self._layout(shape)
        return (None, 0) if layout is None else (np.empty(layout[0], np.float32), layout[1])

    def _layout(self, shape: tuple) -> tuple[tuple, int] | None:
        """``_concatenated``'s buffer shape and forward width for inputs of ``shape``, or None."""
        if self.merge_mode != "concat" or not self.rnn_options.return_sequences or len(shape) < 3 or \
                not (self.forward.calls_into() and self.backward.calls_into()):
            return None
        forward, backward = (layer.cell.output_dims(tuple(shape[2:])) for layer in (self.forward, self.backward))
        if forward[:-1] != backward[:-1]:
            return None
        return (*shape[:2], *forward[:-1], forward[-1] + backward[-1]), forward[-1]

    def _merge(self, y_f: np.ndarray, y_b: np.ndarray) -> list[np.ndarray]:
        if self.merge_mode == "concat":
            return [np.concatenate([y_f, y_b], axis=-1)]
        if self.merge_mode == "sum":
            return [y_f + y_b]
        if self.merge_mode == "mul":
            return [y_f * y_b]
        if self.merge_mode == "ave":
            return [(y_f + y_b) / np.float32(2)]
        return [y_f, np.ascontiguousarray(y_b)]


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class TimeDistributedOptions(Options):
    layer: dict | None = None
    # TF.js hands the inner layer, for every step, the mask its own call received (the normaliser sets this).
    mask_to_inner: bool = engine_option(False)  # TF.js gives the inner layer its call's mask at every step


@register("TimeDistributed")
class TimeDistributed(Layer):
    """Applies the inner layer to every time step: (batch, time, ...) -> (batch * time, ...) and back."""
    keras = KerasFacts(keras3_mask_argument=True)
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER, behaviour=frozen({"mask_to_inner": True}))

    supports_masking = True
    Options = TimeDistributedOptions

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        self.inner = build_inner(self.options.layer, name, class_name, engine)

    def build(self, input_shape: Shape) -> None:
        if isinstance(input_shape, list) or len(input_shape) < 3:
            raise InputError(f"layer {self.name!r} (TimeDistributed) expects one input of rank >= 3, "
                             f"found {input_shape}")
        self.inner.ensure_built((input_shape[0], *input_shape[2:]))
        _adopt(self, self.inner, "")

    def output_shape(self, input_shape: Shape) -> Shape:
        inner = self.inner.output_shape((input_shape[0], *input_shape[2:]))
        if isinstance(inner, list):
            raise unsupported(self.name, self.class_name, f"an inner {self.inner.class_name} with several outputs",
                              "layers with one output")
        return (input_shape[0], input_shape[1], *inner[1:])

    def call(self, inputs: np.ndarray, mask: Any = None, training: Any = None, **kwargs: Any) -> np.ndarray:
        batch, steps = inputs.shape[0], inputs.shape[1]
        flat = inputs.reshape(batch * steps, *inputs.shape[2:])  # (batch * time, ...)
        inner_mask = None
        if self.options.mask_to_inner and mask is not None:
            inner_mask = np.repeat(np.asarray(mask), steps, axis=0)  # row b * steps + t is sample b's mask
        outputs = self.inner.call(flat, mask=inner_mask)
        return outputs.reshape(batch, steps, *outputs.shape[1:])

    @property
    def stateful(self) -> bool:
        return self.inner.stateful

    def reset_states(self) -> None:
        self.inner.reset_states()
