"""Recurrent cells: one step of SimpleRNN, LSTM and GRU, and a stack of cells run one after the other.

Each cell splits its work in two: ``project`` computes the input side ``x·W (+ b)`` for all time steps in one
matrix product, and ``step`` adds the recurrent side for one step; the RNN layer (``recurrent``) owns the time loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import ROW_WISE, get_in_place_activation
from .base import Layer, Options, invalid, positive_int, unsupported

States = list[np.ndarray]


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
    Options: type[CellOptions] = CellOptions

    def __init__(self, layer: str, class_name: str, config: dict):
        self.layer = layer
        self.config = config  # the cell's options, its weights' constraints too
        self.options = self.Options.parse(config, layer, class_name)
        self.units = self.options.units
        self.act = get_in_place_activation(self.options.activation, layer)
        self.rec_act = get_in_place_activation(self.options.recurrent_activation, layer, "recurrent_activation")
        self.rec_row_wise = self.options.recurrent_activation in ROW_WISE
        self.compiled_cache: dict = {}  # ``compiled``'s packed weights and decisions (per process: never pickled)

    @property
    def state_sizes(self) -> list[int]:
        return [self.units] * self.state_count

    def output_dims(self, step_shape: tuple) -> tuple:
        """The shape of one sample's output at one step, for inputs of ``step_shape`` per sample and step; the
        states have its leading axes and their own sizes last."""
        return (self.units,)

    def build(self, layer: Layer, input_dim: int, prefix: str) -> None:
        width = self.gates * self.units
        self.add_weights(layer, prefix, (input_dim, width), (self.units, width), (width,))

    def add_weights(self, layer: Layer, prefix: str, kernel: tuple, recurrent: tuple, bias: tuple) -> None:
        """Declare the kernel, recurrent kernel and (with ``use_bias``) bias, of these shapes, on ``layer``."""
        self.kernel = layer.add_weight(f"{prefix}kernel", kernel, constraint=self.config.get("kernel_constraint"))
        self.recurrent_kernel = layer.add_weight(f"{prefix}recurrent_kernel", recurrent,
                                                 constraint=self.config.get("recurrent_constraint"))
        self.bias = layer.add_weight(f"{prefix}bias", bias, constraint=self.config.get("bias_constraint")) \
            if self.options.use_bias else None

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

    def gate_activation(self, gates: np.ndarray) -> None:
        """The recurrent activation, in place, of gates side by side on the last axis of ``gates`` (batch, ...,
        k * units): all at once where it acts element by element, each gate's block alone where it acts on rows
        (softmax)."""
        if not self.rec_row_wise:
            self.rec_act(gates)
            return
        for start in range(0, gates.shape[-1], self.units):
            self.rec_act(gates[..., start:start + self.units])


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

    def recurrent_side(self, h: np.ndarray, work: dict) -> np.ndarray:
        """The recurrent side of every gate, ``h·U``: (batch, u) -> (batch, 4u), in ``work``'s buffer."""
        return np.matmul(h, self.recurrent_kernel.value, out=work["z"])

    def step(self, projected: np.ndarray, states: States, out: States, work: dict) -> np.ndarray:
        (h, c), (h_new, c_new), u = states, out, self.units
        z = self.recurrent_side(h, work)  # (batch, ..., 4u): gates on the last axis
        z += projected
        self.gate_activation(z[..., :2 * u])  # i, f
        self.gate_activation(z[..., 3 * u:])  # o
        zi, zf, zc, zo = z[..., :u], z[..., u:2 * u], self.act(z[..., 2 * u:3 * u]), z[..., 3 * u:]
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
        bias_shape = (2, width) if self.options.reset_after else (width,)
        self.add_weights(layer, prefix, (input_dim, width), (self.units, width), bias_shape)

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
            self.gate_activation(zr)
            np.multiply(zr[:, u:], inner[:, 2 * u:], out=hh)
        else:  # zr = gates z, r; hh = (r·h)·U_h
            np.matmul(h, kernel[:, :2 * u], out=zr)  # (batch, 2u)
            zr += projected[:, :2 * u]
            self.gate_activation(zr)
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

    def output_dims(self, step_shape: tuple) -> tuple:
        return (self.units,)

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
