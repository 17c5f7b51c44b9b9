"""Recurrent layers: LSTM, GRU and SimpleRNN, and the generic RNN over their cells or a stack of them.

Each cell splits its work in two: ``project`` computes the input side ``x·W (+ b)`` for all time steps in one
matrix product, and ``step`` adds the recurrent side for one step. The RNN layer owns the time loop, masking,
direction and state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InputError
from ..activations import get_activation
from .base import Layer, Options, Shape, invalid, positive_int, register, unsupported

States = list[np.ndarray]


# --- cells ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CellOptions(Options):
    units: int = 0
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    use_bias: bool = True
    reset_after: bool = False  # GRU only

    def validate(self, layer: str, class_name: str) -> None:
        positive_int(self.units, layer, class_name, "units")


class Cell:
    """One step of a recurrence with ``gates`` blocks of ``units`` in its kernels."""

    gates = 1
    state_count = 1

    def __init__(self, layer: str, class_name: str, config: dict):
        self.layer = layer
        self.options = CellOptions.parse(config, layer, class_name)
        self.units = self.options.units
        self.act = get_activation(self.options.activation, layer)
        self.rec_act = get_activation(self.options.recurrent_activation, layer, "recurrent_activation")

    @property
    def state_sizes(self) -> list[int]:
        return [self.units] * self.state_count

    def build(self, layer: Layer, input_dim: int, prefix: str) -> None:
        width = self.gates * self.units
        self.kernel = layer.add_weight(f"{prefix}kernel", (input_dim, width))
        self.recurrent_kernel = layer.add_weight(f"{prefix}recurrent_kernel", (self.units, width))
        self.bias = layer.add_weight(f"{prefix}bias", (width,)) if self.options.use_bias else None

    def project(self, x: np.ndarray) -> np.ndarray:
        """The input side of every gate: (..., input_dim) -> (..., gates * units)."""
        projected = x @ self.kernel.value
        if self.bias is not None:
            projected += self.bias.value
        return projected

    def step(self, projected: np.ndarray, states: States) -> tuple[np.ndarray, States]:
        """One step from the projected input (batch, gates * units) and the previous states."""
        raise NotImplementedError


class SimpleRNNCell(Cell):
    """h' = act(x·W + b + h·U)."""

    def step(self, projected: np.ndarray, states: States) -> tuple[np.ndarray, States]:
        h = self.act(projected + states[0] @ self.recurrent_kernel.value)
        return h, [h]


class LSTMCell(Cell):
    """Gates i, f, c, o: c' = f·c + i·act(z_c), h' = o·act(c')."""

    gates = 4
    state_count = 2

    def step(self, projected: np.ndarray, states: States) -> tuple[np.ndarray, States]:
        h, c = states
        z = projected + h @ self.recurrent_kernel.value  # (batch, 4u)
        zi, zf, zc, zo = np.split(z, 4, axis=-1)
        c = self.rec_act(zf) * c + self.rec_act(zi) * self.act(zc)
        h = self.rec_act(zo) * self.act(c)
        return h, [h, c]


class GRUCell(Cell):
    """Gates z, r, h; ``reset_after`` applies r after the recurrent product and adds a recurrent bias."""

    gates = 3

    def build(self, layer: Layer, input_dim: int, prefix: str) -> None:
        width = 3 * self.units
        self.kernel = layer.add_weight(f"{prefix}kernel", (input_dim, width))
        self.recurrent_kernel = layer.add_weight(f"{prefix}recurrent_kernel", (self.units, width))
        bias_shape = (2, width) if self.options.reset_after else (width,)
        self.bias = layer.add_weight(f"{prefix}bias", bias_shape) if self.options.use_bias else None

    def project(self, x: np.ndarray) -> np.ndarray:
        projected = x @ self.kernel.value
        if self.bias is not None:
            projected += self.bias.value[0] if self.options.reset_after else self.bias.value
        return projected

    def step(self, projected: np.ndarray, states: States) -> tuple[np.ndarray, States]:
        h = states[0]
        u = self.units
        xz, xr, xh = np.split(projected, 3, axis=-1)
        kernel = self.recurrent_kernel.value
        if self.options.reset_after:
            inner = h @ kernel  # (batch, 3u)
            if self.bias is not None:
                inner += self.bias.value[1]
            z = self.rec_act(xz + inner[:, :u])
            r = self.rec_act(xr + inner[:, u:2 * u])
            hh = self.act(xh + r * inner[:, 2 * u:])
        else:
            inner = h @ kernel[:, :2 * u]  # (batch, 2u)
            z = self.rec_act(xz + inner[:, :u])
            r = self.rec_act(xr + inner[:, u:])
            hh = self.act(xh + (r * h) @ kernel[:, 2 * u:])
        h = z * h + (1 - z) * hh
        return h, [h]


class StackedCells:
    """Cells run one after the other at each step; the states are every cell's states.

    Keras orders the states cell by cell; TF.js (like Keras 2.2) from the last cell back, so that the first state is
    the output's (``reverse_state_order``).
    """

    def __init__(self, cells: list[Cell], reverse_state_order: bool = False):
        self.cells = cells
        self.reverse_state_order = reverse_state_order

    def _in_state_order(self, items: list) -> list:
        return items[::-1] if self.reverse_state_order else items

    @property
    def state_sizes(self) -> list[int]:
        return [size for cell in self._in_state_order(self.cells) for size in cell.state_sizes]

    @property
    def units(self) -> int:
        return self.cells[-1].units

    def build(self, layer: Layer, input_dim: int, prefix: str) -> None:
        for i, cell in enumerate(self.cells):
            cell.build(layer, input_dim, f"{prefix}cells/{i}/")
            input_dim = cell.units

    def project(self, x: np.ndarray) -> np.ndarray:
        return x

    def step(self, x: np.ndarray, states: States) -> tuple[np.ndarray, States]:
        per_cell: list[States] = []
        for cell in self._in_state_order(self.cells):
            per_cell.append(states[:cell.state_count])
            states = states[cell.state_count:]
        new_states: list[States] = []
        for cell, own in zip(self.cells, self._in_state_order(per_cell)):
            x, own = cell.step(cell.project(x), own)
            new_states.append(own)
        return x, [s for own in self._in_state_order(new_states) for s in own]


CELLS: dict[str, type[Cell]] = {"LSTMCell": LSTMCell, "GRUCell": GRUCell, "SimpleRNNCell": SimpleRNNCell}


def make_cell(spec: Any, layer: str) -> Cell | StackedCells:
    """A cell from a serialized ``{"class_name", "config"}`` (or a list of them, a stack)."""
    if isinstance(spec, list):
        spec = {"class_name": "StackedRNNCells", "config": {"cells": spec}}
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        raise invalid(layer, "RNN", "cell", "a serialized cell", spec)
    class_name, config = spec["class_name"], spec.get("config") or {}
    if not isinstance(config, dict):
        raise invalid(layer, "RNN", "cell", "a serialized cell with a config object", spec)
    if class_name == "StackedRNNCells":
        listed = config.get("cells") or []
        if not isinstance(listed, list):
            raise invalid(layer, "RNN", "cell.cells", "a list of serialized cells", listed)
        cells = [make_cell(s, layer) for s in listed]
        if not cells:
            raise invalid(layer, "RNN", "cell", "a StackedRNNCells with at least one cell", spec)
        return StackedCells(cells, bool(config.get("reverse_state_order")))
    if class_name not in CELLS:
        raise unsupported(layer, "RNN", f"cell class {class_name!r}", ", ".join([*CELLS, "StackedRNNCells"]))
    return CELLS[class_name](layer, class_name, config)


# --- the RNN layer -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RNNOptions(Options):
    return_sequences: bool = False
    return_state: bool = False
    go_backwards: bool = False
    stateful: bool = False
    time_major: bool = False
    zero_output_for_mask: bool = False
    masked_output_from_state: bool = False  # TF.js: a masked step outputs states[0], not the previous output
    unroll: bool = False  # no effect on the numbers
    batch_input_shape: tuple | list | None = None
    batch_shape: tuple | list | None = None


@register("RNN")
class RNN(Layer):
    """A recurrent layer over a cell: masking, direction, returned sequences and states, stateful batches."""

    supports_masking = True
    Options = RNNOptions

    def __init__(self, name: str, class_name: str, config: dict):
        super().__init__(name, class_name, config)
        if self.options.time_major:
            raise unsupported(name, class_name, "time_major=True", "time_major=False")
        self.cell = self.make_cell(config)
        self.states: States | None = None

    def make_cell(self, config: dict) -> Cell | StackedCells:
        return make_cell(config.get("cell"), self.name)

    def build(self, input_shape: Shape | list[Shape]) -> None:
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        if len(shape) != 3 or shape[-1] is None:
            raise InputError(f"layer {self.name!r} ({self.class_name}) expects inputs of shape (batch, time, "
                             f"features), found {shape}")
        self.cell.build(self, shape[-1], "")

    def output_shape(self, input_shape: Shape | list[Shape]) -> Shape | list[Shape]:
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        batch, steps = shape[0], shape[1]
        output = (batch, steps, self.cell.units) if self.options.return_sequences else (batch, self.cell.units)
        if self.options.return_state:
            return [output] + [(batch, size) for size in self.cell.state_sizes]
        return output

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        mask = mask[0] if isinstance(mask, list) else mask
        output_mask = mask if self.options.return_sequences else None
        if self.options.return_state:
            return [output_mask] + [None] * len(self.cell.state_sizes)
        return output_mask

    def reset_states(self) -> None:
        self.states = None

    def call(self, inputs: Any, mask: Any = None, initial_state: Any = None, training: Any = None,
             **kwargs: Any) -> Any:
        if kwargs.get("constants") is not None:
            raise unsupported(self.name, self.class_name, "constants", "inputs and initial_state")
        if isinstance(inputs, list):  # Keras 2.2 / TF.js style: initial states follow the input
            inputs, initial_state = inputs[0], inputs[1:] or initial_state
        mask = mask[0] if isinstance(mask, list) else mask
        outputs, last, states = self.run(inputs, mask, self.initial_states(inputs, initial_state))
        if self.options.stateful:
            self.states = states
        output = outputs if self.options.return_sequences else last
        return [output, *states] if self.options.return_state else output

    def initial_states(self, x: np.ndarray, given: Any) -> States:
        """The states to start from: given ones, those kept by a stateful layer, or zeros."""
        batch = x.shape[0]
        sizes = self.cell.state_sizes
        if given is not None:
            given = given if isinstance(given, list) else [given]
            expected = [(batch, size) for size in sizes]
            found = [tuple(np.shape(s)) for s in given]
            if found != expected:
                raise InputError(f"layer {self.name!r}: initial_state must be {len(sizes)} array(s) of shapes "
                                 f"{expected}, found {found}")
            return [np.asarray(s, dtype=np.float32) for s in given]
        if self.options.stateful and self.states is not None:
            if self.states[0].shape[0] != batch:
                raise InputError(f"stateful layer {self.name!r} holds states for a batch of "
                                 f"{self.states[0].shape[0]}, received a batch of {batch}; call reset_states() "
                                 "to start over")
            return self.states
        return [np.zeros((batch, size), np.float32) for size in sizes]

    def _step_masks(self, mask: Any, shape: tuple) -> np.ndarray:
        """The mask of each step, time first: (time, batch, 1) for the usual (batch, time) mask.

        This is TF.js's ``rnn()`` rule, of which Keras's masks are the usual case: a mask one rank below the input
        gains a last axis, the first two axes swap, go_backwards reverses time, and step t takes row t. A mask from
        elsewhere (TF.js hands an RNN the last mask it saw, or a merged mask of shape (1, batch, time)) is then read
        as TF.js reads it, and one with too few rows is refused where TF.js fails.
        """
        step_masks = np.asarray(mask).astype(bool)
        if step_masks.ndim == len(shape) - 1:
            step_masks = step_masks[..., None]
        if step_masks.ndim != len(shape) or step_masks.shape[1] < 1 or step_masks.shape[0] < 1:
            raise InputError(f"layer {self.name!r} ({self.class_name}) received a mask of shape {np.shape(mask)} "
                             f"for inputs of shape {shape}; expected {shape[:2]}")
        step_masks = np.swapaxes(step_masks, 0, 1)
        if self.options.go_backwards:
            step_masks = step_masks[::-1]
        if step_masks.shape[0] < shape[1]:
            raise InputError(f"layer {self.name!r} ({self.class_name}) received a mask of shape {np.shape(mask)}, "
                             f"which has no entry for each of the {shape[1]} steps of inputs of shape {shape}")
        return step_masks

    def _held_output(self, states: States, last: np.ndarray) -> Any:
        """What a masked step outputs: zeros (Keras 3's zero_output_for_mask), the previous state's first part
        (TF.js), or the previous output (Keras)."""
        if self.options.zero_output_for_mask:
            return 0
        return states[0] if self.options.masked_output_from_state else last

    def _masked(self, keep: np.ndarray, new: np.ndarray, held: Any) -> np.ndarray:
        try:
            value = np.where(keep, new, held)
        except ValueError:
            value = None
        if value is None or value.shape != new.shape:
            raise InputError(f"layer {self.name!r} ({self.class_name}): a step mask of shape {keep.shape} does not "
                             f"broadcast against its outputs of shape {new.shape}")
        return value

    def run(self, x: np.ndarray, mask: Any, states: States) -> tuple[np.ndarray, np.ndarray, States]:
        """The time loop: (batch, time, features) -> all outputs (batch, time, units), the last one, the states."""
        step_masks = None if mask is None else self._step_masks(mask, x.shape)
        if self.options.go_backwards:
            x = x[:, ::-1]
        projected = self.cell.project(np.ascontiguousarray(x, dtype=np.float32))  # (batch, time, gates*units)
        batch, steps = x.shape[0], x.shape[1]
        outputs = np.zeros((batch, steps, self.cell.units), np.float32)
        last = np.zeros((batch, self.cell.units), np.float32)
        for t in range(steps):
            output, new_states = self.cell.step(projected[:, t], states)
            if step_masks is not None:
                output = self._masked(step_masks[t], output, self._held_output(states, last))
                new_states = [self._masked(step_masks[t], new, old) for new, old in zip(new_states, states)]
            outputs[:, t] = output
            last, states = output, new_states
        return outputs, last, states


class _BuiltInRNN(RNN):
    """LSTM, GRU and SimpleRNN: an RNN whose cell options sit in the layer's own config."""

    cell_class: type[Cell] = Cell

    def make_cell(self, config: dict) -> Cell:
        return self.cell_class(self.name, self.class_name, config)


@register("LSTM")
class LSTM(_BuiltInRNN):
    cell_class = LSTMCell


@register("GRU")
class GRU(_BuiltInRNN):
    cell_class = GRUCell


@register("SimpleRNN")
class SimpleRNN(_BuiltInRNN):
    cell_class = SimpleRNNCell

