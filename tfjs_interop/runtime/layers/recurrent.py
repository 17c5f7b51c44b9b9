"""Recurrent layers: LSTM, GRU and SimpleRNN, and the generic RNN over their cells (``cells``) or a stack of them.

The RNN layer owns the time loop (NumPy, or the compiled kernels of ``compiled``), masking, direction and state;
its cell computes each step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import InputError
from ...facts import KerasFacts, TfjsFacts, TfjsMasking, frozen
from ..compiled import compiled_loop, zero_state_chain, zero_state_run
from ..workspace import MIN_BYTES, scratch, scratch_zeros
from .base import Layer, Options, Shape, engine_option, register, unsupported
from .cells import Cell, GRUCell, LSTMCell, SimpleRNNCell, StackedCells, States, make_cell

PROJECTION_BYTES = 32 << 20  # the input projections of as many steps as fit here are one GEMM


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
    step_mask_rank_rule: bool = engine_option(False)  # TF.js: a mask must be one rank below the input, or of it
    unroll: bool = False  # no effect on the numbers
    batch_input_shape: tuple | list | None = None
    batch_shape: tuple | list | None = None


@register("RNN")
class RNN(Layer):
    """A recurrent layer over a cell: masking, direction, returned sequences and states, stateful batches."""
    keras = KerasFacts(keras3_mask_argument=True)
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
        self._state_dims_memo: dict[tuple, tuple] = {}  # _state_dims_of's

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
        batch, steps, dims = shape[0], shape[1], self.cell.output_dims(tuple(shape[2:]))
        output = (batch, steps, *dims) if self.options.return_sequences else (batch, *dims)
        if self.options.return_state:
            return [output] + [(batch, *d) for d in self.state_dims(tuple(shape[2:]))]
        return output

    def state_dims(self, step_shape: tuple) -> list[tuple]:
        """The shape of one sample's states for inputs of ``step_shape`` per sample and step."""
        spatial = self.cell.output_dims(step_shape)[:-1]
        return [(*spatial, size) for size in self.cell.state_sizes]

    def _state_dims_of(self, step_shape: tuple) -> tuple:
        """``state_dims``, remembered per step shape (a layer's cell and config do not change)."""
        dims = self._state_dims_memo.get(step_shape)
        if dims is None:
            dims = self._state_dims_memo[step_shape] = tuple(self.state_dims(step_shape))
        return dims

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
        return self.call_into(inputs, mask, initial_state, None)

    @classmethod
    def calls_into(cls) -> bool:
        """Whether ``call`` is ``call_into`` (a subclass that reshapes inputs or outputs overrides ``call``)."""
        return cls.call is RNN.call

    def call_into(self, inputs: Any, mask: Any, initial_state: Any, out: np.ndarray | None) -> Any:
        """``call``, with the output sequence (return_sequences) written into ``out`` when given: a float32
        (batch, time, *dims) view, e.g. a Bidirectional's half of its concatenated result, which is then the
        output."""
        if isinstance(inputs, list):  # Keras 2.2 / TF.js style: initial states follow the input
            inputs, initial_state = inputs[0], inputs[1:] or initial_state
        mask = mask[0] if isinstance(mask, list) else mask
        shape = inputs.shape if type(inputs) is np.ndarray else np.shape(inputs)
        quick = mask is None and initial_state is None and not self.options.stateful and len(shape) == 3 and \
            zero_state_run(self.cell, shape[0], shape[1])  # the usual call: the compiled loop from zeros
        if quick:
            outputs, last, states = quick(self.time_major(inputs), self.options.return_sequences, out)
        else:
            states = self.initial_states(inputs, initial_state)
            outputs, last, states = self.run(inputs, mask, states, self.options.return_sequences, out)
        if self.options.stateful:
            self.states = states
        output = outputs if self.options.return_sequences else last
        return [output, *states] if self.options.return_state else output

    def fuse(self, following: Layer) -> RNNChain | None:
        """This layer's sequences fed to a following RNN: both run from zero states from one another's time-major
        outputs (``RNNChain``)."""
        return RNNChain((self,)).fuse(following)

    def chainable(self) -> bool:
        """Whether this layer's usual call can run in an ``RNNChain``: a plain RNN (its call is ``call_into``) over
        a cell the compiled loop knows, neither stateful nor returning states."""
        options = self.options
        return self.calls_into() and getattr(self.cell, "compiled_kind", None) is not None and \
            not options.stateful and not options.return_state  # a stack of cells has none

    def initial_states(self, x: np.ndarray, given: Any) -> States:
        """The states to start from, the time loop's own copies (it overwrites them): given ones, those kept by a
        stateful layer, or zeros (this thread's scratch arrays where the final states do not leave the call)."""
        batch = x.shape[0]
        if given is None and (not self.options.stateful or self.states is None):
            if self.options.return_state or self.options.stateful:  # the final states leave the call
                return [np.zeros((batch, *dims), np.float32) for dims in self._state_dims_of(x.shape[2:])]
            return [scratch_zeros(f"rnn.state{i}", (batch, *dims))
                    for i, dims in enumerate(self._state_dims_of(x.shape[2:]))]
        if given is not None:
            expected = [(batch, *dims) for dims in self.state_dims(x.shape[2:])]
            given = given if isinstance(given, list) else [given]
            found = [tuple(np.shape(s)) for s in given]
            if found != expected:
                raise InputError(f"layer {self.name!r}: initial_state must be {len(expected)} array(s) of shapes "
                                 f"{expected}, found {found}")
            return [np.array(s, np.float32, order="C") for s in given]
        if self.states[0].shape[0] != batch:  # a stateful layer's kept states
            raise InputError(f"stateful layer {self.name!r} holds states for a batch of "
                             f"{self.states[0].shape[0]}, received a batch of {batch}; call reset_states() "
                             "to start over")
        return [np.array(s, np.float32, order="C") for s in self.states]

    def _step_masks(self, mask: Any, shape: tuple) -> np.ndarray:
        """The mask of each step, time first: (time, batch, 1) for the usual (batch, time) mask.

        This is TF.js's ``rnn()`` rule, of which Keras's masks are the usual case: a mask one rank below the input
        gains a last axis, the first two axes swap, go_backwards reverses time, and step t takes row t. A mask from
        elsewhere (TF.js hands an RNN the last mask it saw, or a merged mask of shape (1, batch, time)) is then read
        as TF.js reads it, and one with too few rows is refused where TF.js fails. On images (ConvLSTM2D) a
        (batch, time) mask is one flag per image in Keras, and fails in TF.js (``step_mask_rank_rule``); a per-pixel
        mask (batch, time, rows, cols), Masking's, holds each pixel in both.
        """
        step_masks = np.asarray(mask).astype(bool)
        if step_masks.ndim == len(shape) - 1:
            step_masks = step_masks[..., None]
        elif step_masks.ndim == 2 and not self.options.step_mask_rank_rule:  # Keras: one flag per sample and step
            step_masks = step_masks.reshape(*step_masks.shape, *[1] * (len(shape) - 2))
        if step_masks.ndim == len(shape) and 0 in step_masks.shape[:2] and tuple(step_masks.shape[:2]) == shape[:2]:
            raise InputError(f"layer {self.name!r} ({self.class_name}) received inputs of shape {shape} and a mask "
                             "of as many samples and steps: it needs at least one sample and one step")
        if step_masks.ndim != len(shape) or step_masks.shape[1] < 1 or step_masks.shape[0] < 1:
            expected = shape[:2] if len(shape) == 3 else f"{shape[:2]} or {shape[:-1]}"
            if len(shape) > 3 and self.options.step_mask_rank_rule:
                expected = f"{shape[:-1]} (TF.js's rnn() takes a mask one rank below its inputs only)"
            raise InputError(f"layer {self.name!r} ({self.class_name}) received a mask of shape {np.shape(mask)} "
                             f"for inputs of shape {shape}; expected {expected}")
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

    def run(self, x: np.ndarray, mask: Any, states: States, sequence: bool = True,
            out: np.ndarray | None = None) -> tuple[np.ndarray | None, np.ndarray, States]:
        """The time loop: (batch, time, features) -> all outputs (batch, time, units) (None unless
        ``sequence``; written into ``out`` when given), the last one, and the final states (``states``, from
        ``initial_states``, are overwritten)."""
        step_masks = None if mask is None else self._step_masks(mask, x.shape)
        x = self.time_major(x)
        loop = compiled_loop(self.cell, x.shape[1], step_masks, self._held_kind(), x.shape[0]) or self._loop
        return loop(x, step_masks, states, sequence, out)  # (batch, time, units), (batch, units), states

    def time_major(self, x: np.ndarray, key: str = "rnn.x") -> np.ndarray:
        """(batch, time, features) -> contiguous, writable float32 (time, batch, features), time reversed for
        go_backwards: each step's rows are contiguous. A large one is this thread's scratch array ``key``: another
        copy that must live at the same time needs another key."""
        x = x.swapaxes(0, 1)
        if self.options.go_backwards:
            x = x[::-1]
        if x.dtype == np.float32 and x.flags.c_contiguous and x.flags.writeable:
            return x  # already so (a batch of one, or an RNNChain's outputs): the loop only reads it
        if x.size * 4 < MIN_BYTES:  # a copy, also of a read-only one: numba compiles its kernels again, for
            return np.array(x, np.float32, order="C")  # seconds, for each array type (read-only is one)
        copy = scratch(key, x.shape)  # the loop only reads it: this thread's copy from its last call
        np.copyto(copy, x, casting="unsafe")
        return copy

    def _loop(self, x: np.ndarray, step_masks: np.ndarray | None, states: States, sequence: bool,
              out: np.ndarray | None = None) -> tuple[np.ndarray | None, np.ndarray, States]:
        """The NumPy time loop over time-major ``x``, starting from ``states`` (which it overwrites); the outputs
        batch-major, as ``run`` returns them."""
        steps, batch, dims = x.shape[0], x.shape[1], self.cell.output_dims(x.shape[2:])
        drop = None if step_masks is None else ~step_masks
        batch_major = (np.empty((batch, steps, *dims), np.float32) if out is None else out) if sequence else None
        outputs = None if batch_major is None else batch_major.swapaxes(0, 1)  # step t's outputs: outputs[t]
        emitted = [np.zeros((batch, *dims), np.float32) for _ in range(2 if drop is not None and not sequence else 0)]
        last = np.zeros((batch, *dims), np.float32)
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
        if outputs is None and drop is None:  # last is a state buffer, which may be this thread's scratch array
            last = last.copy()
        return batch_major, last, states

    def _projections(self, x: np.ndarray):
        """The input side of the time-major ``x``, in blocks of steps that keep the buffer near
        ``PROJECTION_BYTES`` (a huge batch is never projected all at once)."""
        steps, batch = x.shape[0], x.shape[1]
        width = math.prod(self.cell.output_dims(x.shape[2:])[:-1]) * self.cell.projected_width
        block = max(1, PROJECTION_BYTES // max(1, batch * width * 4))
        for start in range(0, steps, block):
            yield start, self.cell.project(x[start:start + block])  # (block, batch, width)


class RNNChain:
    """Consecutive RNN layers of a plan, each but the last returning sequences that the next alone reads (a stacked
    LSTM): their usual calls (zero states, no mask) in one, each layer's compiled loop reading the time-major
    outputs the one before wrote, without the layer calls, input checks and copies between them (the bits of the
    layers' own calls). Threads share it."""

    class_name = "RNN chain"

    def __init__(self, layers: tuple[RNN, ...]):
        self.layers = layers
        self.cells = tuple(layer.cell for layer in layers)
        self.sequence = layers[-1].options.return_sequences  # the chain's output: the last one's sequences
        self.name = " -> ".join(layer.name for layer in layers)
        self.compiled_cache: dict = {}  # compiled.zero_state_chain's decisions

    def fuse(self, following: Layer) -> RNNChain | None:
        """The chain with ``following`` after it, where that reads the last one's time-major sequences as they are
        (not reversed: go_backwards)."""
        last = self.layers[-1]
        joins = last.options.return_sequences and last.chainable() and isinstance(following, RNN) and \
            following.chainable() and not following.options.go_backwards
        return RNNChain((*self.layers, following)) if joins else None

    def call(self, inputs: Any, mask: Any = None) -> np.ndarray | None:
        """The last layer's output from the first one's inputs, or None where the compiled loop from zeros does not
        run them all (``compiled.zero_state_chain``): the plan then calls the layers in turn."""
        if type(inputs) is not np.ndarray or inputs.ndim != 3 or mask is not None:
            return None
        run = zero_state_chain(self, *inputs.shape)
        return None if run is None else run(self.layers[0].time_major(inputs))


class _BuiltInRNN(RNN):
    """LSTM, GRU and SimpleRNN: an RNN whose cell options sit in the layer's own config."""

    cell_class: type[Cell] = Cell

    def make_cell(self, config: dict) -> Cell:
        return self.cell_class(self.name, self.class_name, config)


@register("LSTM")
class LSTM(_BuiltInRNN):
    keras = KerasFacts(gates=4, hard_sigmoid_gates=frozen({"recurrent_activation": (0, 1, 3)}), states=2,
                       keras3_mask_argument=True)
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER, behaviour=frozen({"masked_output_from_state": True}))

    cell_class = LSTMCell


@register("GRU")
class GRU(_BuiltInRNN):
    keras = KerasFacts(gates=3, hard_sigmoid_gates=frozen({"recurrent_activation": (0, 1), "activation": (2,)}),
                       keras3_mask_argument=True)
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER, behaviour=frozen({"masked_output_from_state": True}),
                     allowed=frozen({"reset_after": (False,)}))

    cell_class = GRUCell


@register("SimpleRNN")
class SimpleRNN(_BuiltInRNN):
    keras = KerasFacts(hard_sigmoid_gates=frozen({"activation": (0,)}), keras3_mask_argument=True)
    tfjs = TfjsFacts(masking=TfjsMasking.LAYER, behaviour=frozen({"masked_output_from_state": True}))

    cell_class = SimpleRNNCell

