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
from ...facts import KerasFacts, TfjsFacts, TfjsMasking, frozen
from ..activations import get_in_place_activation
from ..compiled import compiled_loop
from .base import Layer, Options, Shape, engine_option, invalid, positive_int, register, unsupported

States = list[np.ndarray]
PROJECTION_BYTES = 32 << 20  # the input projections of as many steps as fit here are one GEMM


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
    """One step of a recurrence with ``gates`` blocks of ``units`` in its kernels.

    ``step`` writes the new states into buffers the RNN owns (``out``) from the previous ones (``states``), using
    scratch buffers made once per run by ``workspace``: nothing is allocated inside the time loop.
    """

    gates = 1
    state_count = 1
    compiled_kind: str | None = None  # the kernel of ``compiled`` that can run this cell

    def __init__(self, layer: str, class_name: str, config: dict):
        self.layer = layer
        self.options = CellOptions.parse(config, layer, class_name)
        self.units = self.options.units
        self.act = get_in_place_activation(self.options.activation, layer)
        self.rec_act = get_in_place_activation(self.options.recurrent_activation, layer, "recurrent_activation")

    @property
    def state_sizes(self) -> list[int]:
        return [self.units] * self.state_count

    def build(self, layer: Layer, input_dim: int, prefix: str) -> None:
        width = self.gates * self.units
        self.kernel = layer.add_weight(f"{prefix}kernel", (input_dim, width))
        self.recurrent_kernel = layer.add_weight(f"{prefix}recurrent_kernel", (self.units, width))
        self.bias = layer.add_weight(f"{prefix}bias", (width,)) if self.options.use_bias else None

    @property
    def projected_width(self) -> int:
        return self.gates * self.units

    @property
    def input_bias(self) -> np.ndarray | None:
        return None if self.bias is None else self.bias.value

    def project(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The input side of every gate, ``x·W + b``: (..., input_dim) -> (..., gates * units)."""
        flat = x.reshape(-1, x.shape[-1])  # one GEMM over all leading axes
        projected = np.matmul(flat, self.kernel.value, out=out)
        if self.input_bias is not None:
            projected += self.input_bias
        return projected.reshape(*x.shape[:-1], projected.shape[-1])

    def workspace(self, batch: int) -> dict[str, np.ndarray]:
        """Scratch buffers for one run over ``batch`` samples."""
        return {"z": np.empty((batch, self.gates * self.units), np.float32)}

    def step(self, projected: np.ndarray, states: States, out: States, work: dict) -> np.ndarray:
        """One step from the projected input (batch, gates * units); writes ``out``, returns the output."""
        raise NotImplementedError


class SimpleRNNCell(Cell):
    """h' = act(x·W + b + h·U)."""

    compiled_kind = "simple_rnn"

    def step(self, projected: np.ndarray, states: States, out: States, work: dict) -> np.ndarray:
        h = np.matmul(states[0], self.recurrent_kernel.value, out=out[0])
        h += projected
        return self.act(h)


class LSTMCell(Cell):
    """Gates i, f, c, o: c' = f·c + i·act(z_c), h' = o·act(c')."""

    gates = 4
    state_count = 2
    compiled_kind = "lstm"

    def step(self, projected: np.ndarray, states: States, out: States, work: dict) -> np.ndarray:
        (h, c), (h_new, c_new), u = states, out, self.units
        z = np.matmul(h, self.recurrent_kernel.value, out=work["z"])  # (batch, 4u)
        z += projected
        self.rec_act(z[:, :2 * u])  # i, f
        self.rec_act(z[:, 3 * u:])  # o
        zi, zf, zc, zo = z[:, :u], z[:, u:2 * u], self.act(z[:, 2 * u:3 * u]), z[:, 3 * u:]
        np.multiply(zf, c, out=c_new)
        zi *= zc
        c_new += zi
        np.copyto(h_new, c_new)
        self.act(h_new)
        h_new *= zo
        return h_new


class GRUCell(Cell):
    """Gates z, r, h; ``reset_after`` applies r after the recurrent product and adds a recurrent bias."""

    gates = 3
    compiled_kind = "gru"

    def build(self, layer: Layer, input_dim: int, prefix: str) -> None:
        width = 3 * self.units
        self.kernel = layer.add_weight(f"{prefix}kernel", (input_dim, width))
        self.recurrent_kernel = layer.add_weight(f"{prefix}recurrent_kernel", (self.units, width))
        bias_shape = (2, width) if self.options.reset_after else (width,)
        self.bias = layer.add_weight(f"{prefix}bias", bias_shape) if self.options.use_bias else None

    @property
    def input_bias(self) -> np.ndarray | None:
        if self.bias is None:
            return None
        return self.bias.value[0] if self.options.reset_after else self.bias.value

    def workspace(self, batch: int) -> dict[str, np.ndarray]:
        u = self.units
        return {"inner": np.empty((batch, 3 * u), np.float32), "zr": np.empty((batch, 2 * u), np.float32),
                "hh": np.empty((batch, u), np.float32), "rh": np.empty((batch, u), np.float32)}

    def step(self, projected: np.ndarray, states: States, out: States, work: dict) -> np.ndarray:
        h, h_new, u = states[0], out[0], self.units
        kernel, zr, hh = self.recurrent_kernel.value, work["zr"], work["hh"]
        if self.options.reset_after:  # zr = gates z, r; hh = r·(h·U_h + b_rh)
            inner = np.matmul(h, kernel, out=work["inner"])  # (batch, 3u)
            if self.bias is not None:
                inner += self.bias.value[1]
            np.add(projected[:, :2 * u], inner[:, :2 * u], out=zr)
            self.rec_act(zr)
            np.multiply(zr[:, u:], inner[:, 2 * u:], out=hh)
        else:  # zr = gates z, r; hh = (r·h)·U_h
            np.matmul(h, kernel[:, :2 * u], out=zr)  # (batch, 2u)
            zr += projected[:, :2 * u]
            self.rec_act(zr)
            rh = np.multiply(zr[:, u:], h, out=work["rh"])
            np.matmul(rh, kernel[:, 2 * u:], out=hh)
        hh += projected[:, 2 * u:]
        self.act(hh)
        z = zr[:, :u]
        np.multiply(z, h, out=h_new)  # h' = z·h + (1 - z)·hh
        np.subtract(np.float32(1), z, out=z)
        z *= hh
        h_new += z
        return h_new


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

    @property
    def projected_width(self) -> int:
        return self.cells[0].projected_width

    def build(self, layer: Layer, input_dim: int, prefix: str) -> None:
        for i, cell in enumerate(self.cells):
            cell.build(layer, input_dim, f"{prefix}cells/{i}/")
            input_dim = cell.units

    def project(self, x: np.ndarray) -> np.ndarray:
        """The first cell's input side; the others' depends on the cell below at the same step."""
        return self.cells[0].project(x)

    def workspace(self, batch: int) -> dict:
        return {"cells": [cell.workspace(batch) for cell in self.cells],
                "projected": [np.empty((batch, cell.gates * cell.units), np.float32) for cell in self.cells[1:]]}

    def _per_cell(self, states: States) -> list[States]:
        """The flat state list cut into each cell's states, in cell order."""
        per_cell: list[States] = []
        for cell in self._in_state_order(self.cells):
            per_cell.append(states[:cell.state_count])
            states = states[cell.state_count:]
        return self._in_state_order(per_cell)

    def step(self, x: np.ndarray, states: States, out: States, work: dict) -> np.ndarray:
        first, *rest = self.cells
        olds, news = self._per_cell(states), self._per_cell(out)
        x = first.step(x, olds[0], news[0], work["cells"][0])
        for cell, old, new, cell_work, buffer in zip(rest, olds[1:], news[1:], work["cells"][1:],
                                                      work["projected"]):
            x = cell.step(cell.project(x, out=buffer), old, new, cell_work)
        return x


CELLS: dict[str, type[Cell]] = {"LSTMCell": LSTMCell, "GRUCell": GRUCell, "SimpleRNNCell": SimpleRNNCell}


def make_cell(spec: Any, layer: str, reverse_state_order: bool = False) -> Cell | StackedCells:
    """A cell from a serialized ``{"class_name", "config"}`` (or a list of them, a stack, whose states are listed
    last cell first with ``reverse_state_order``)."""
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
        cells = [make_cell(s, layer, reverse_state_order) for s in listed]
        if not cells:
            raise invalid(layer, "RNN", "cell", "a StackedRNNCells with at least one cell", spec)
        return StackedCells(cells, reverse_state_order)
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
    masked_output_from_state: bool = engine_option(False)  # TF.js: a masked step outputs states[0], not the previous
    reverse_state_order: bool = engine_option(False)  # TF.js: a cell stack's states listed last cell first
    unroll: bool = False  # no effect on the numbers
    batch_input_shape: tuple | list | None = None
    batch_shape: tuple | list | None = None


@register("RNN")
class RNN(Layer):
    """A recurrent layer over a cell: masking, direction, returned sequences and states, stateful batches."""
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER,
                     behaviour=frozen({"masked_output_from_state": True, "reverse_state_order": True}))

    supports_masking = True
    Options = RNNOptions

    def __init__(self, name: str, class_name: str, config: dict, engine: Any = None):
        super().__init__(name, class_name, config, engine)
        if self.options.time_major:
            raise unsupported(name, class_name, "time_major=True", "time_major=False")
        self.cell = self.make_cell(config)
        self.states: States | None = None

    def make_cell(self, config: dict) -> Cell | StackedCells:
        return make_cell(config.get("cell"), self.name, self.options.reverse_state_order)

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
        states = self.initial_states(inputs, initial_state)
        outputs, last, states = self.run(inputs, mask, states, sequence=self.options.return_sequences)
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

    def _held_kind(self) -> str:
        if self.options.zero_output_for_mask:
            return "zeros"
        return "state" if self.options.masked_output_from_state else "previous"

    def _hold(self, drop: np.ndarray, out: np.ndarray, held: Any, new_states: States, states: States) -> None:
        """At the samples a step mask drops, put back the held output and the previous states."""
        try:
            np.copyto(out, held, where=drop)
            for new, old in zip(new_states, states):
                np.copyto(new, old, where=drop)
        except ValueError:
            raise InputError(f"layer {self.name!r} ({self.class_name}): a step mask of shape {drop.shape} does not "
                             f"broadcast against its outputs of shape {out.shape}") from None

    def run(self, x: np.ndarray, mask: Any, states: States,
            sequence: bool = True) -> tuple[np.ndarray | None, np.ndarray, States]:
        """The time loop: (batch, time, features) -> all outputs (batch, time, units) (None unless
        ``sequence``), the last one, and the final states."""
        step_masks = None if mask is None else self._step_masks(mask, x.shape)
        x = np.swapaxes(x, 0, 1)  # (time, batch, features): each step's rows are contiguous
        if self.options.go_backwards:
            x = x[::-1]
        x = np.ascontiguousarray(x, dtype=np.float32)
        states = [np.array(s, np.float32, order="C") for s in states]  # the loop overwrites its own copies
        loop = compiled_loop(self.cell, x.shape[1], step_masks, self._held_kind(), x.shape[0]) or self._loop
        outputs, last, states = loop(x, step_masks, states, sequence)  # (time, batch, units), (batch, units)
        if outputs is not None:
            outputs = np.ascontiguousarray(outputs.swapaxes(0, 1))
        return outputs, last, states

    def _loop(self, x: np.ndarray, step_masks: np.ndarray | None, states: States,
              sequence: bool) -> tuple[np.ndarray | None, np.ndarray, States]:
        """The NumPy time loop over time-major ``x``, starting from ``states`` (which it overwrites)."""
        steps, batch, units = x.shape[0], x.shape[1], self.cell.units
        drop = None if step_masks is None else ~step_masks
        outputs = np.empty((steps, batch, units), np.float32) if sequence else None
        emitted = [np.zeros((batch, units), np.float32) for _ in range(2 if drop is not None and not sequence else 0)]
        last = np.zeros((batch, units), np.float32)
        spare, work = [np.empty_like(s) for s in states], self.cell.workspace(batch)
        for start, projected in self._projections(x):
            for t in range(start, start + projected.shape[0]):
                output = self.cell.step(projected[t - start], states, spare, work)
                if outputs is not None or drop is not None:
                    out = outputs[t] if outputs is not None else emitted[t % 2]
                    np.copyto(out, output)
                    if drop is not None:
                        self._hold(drop[t], out, self._held_output(states, last), spare, states)
                    output = out
                last = output
                states, spare = spare, states
        return outputs, last, states

    def _projections(self, x: np.ndarray):
        """The input side of the time-major ``x``, in blocks of steps that keep the buffer near
        ``PROJECTION_BYTES`` (a huge batch is never projected all at once)."""
        steps, batch = x.shape[0], x.shape[1]
        block = max(1, PROJECTION_BYTES // max(1, batch * self.cell.projected_width * 4))
        for start in range(0, steps, block):
            yield start, self.cell.project(x[start:start + block])  # (block, batch, width)


class _BuiltInRNN(RNN):
    """LSTM, GRU and SimpleRNN: an RNN whose cell options sit in the layer's own config."""

    cell_class: type[Cell] = Cell

    def make_cell(self, config: dict) -> Cell:
        return self.cell_class(self.name, self.class_name, config)


@register("LSTM")
class LSTM(_BuiltInRNN):
    keras = KerasFacts(gates=4, hard_sigmoid_gates=frozen({"recurrent_activation": (0, 1, 3)}), states=2)
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER, behaviour=frozen({"masked_output_from_state": True}))

    cell_class = LSTMCell


@register("GRU")
class GRU(_BuiltInRNN):
    keras = KerasFacts(gates=3, hard_sigmoid_gates=frozen({"recurrent_activation": (0, 1), "activation": (2,)}))
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER, behaviour=frozen({"masked_output_from_state": True}),
                     allowed=frozen({"reset_after": (False,)}))

    cell_class = GRUCell


@register("SimpleRNN")
class SimpleRNN(_BuiltInRNN):
    keras = KerasFacts(hard_sigmoid_gates=frozen({"activation": (0,)}))
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER, behaviour=frozen({"masked_output_from_state": True}))

    cell_class = SimpleRNNCell

