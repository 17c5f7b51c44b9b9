"""The compiled kernels give the same bits wherever their arrays lie in memory.

LLVM vectorises the kernels' loops behind a run-time check that the arrays do not overlap, and falls back to the
scalar loop where they might. With FMA contraction allowed, the two loops fused ``f·c + i·g`` differently (which
product is fused is the code generator's choice), so the bits depended on where the heap put the arrays: an empty
``seq`` (no sequence wanted) whose would-be rows fell on ``c`` was enough. Under threads the heap moves, and a
threaded predict differed from the serial one by a few ulp (the case ``test_threads`` once marked). The kernels
are now compiled without contraction: each operation rounds once, in both loops.
"""

from __future__ import annotations

import numpy as np
import pytest

from tfjs_interop.runtime import compiled

pytestmark = pytest.mark.needs("numba")

BATCH, UNITS, STEPS = 3, 64, 5
BUFFER = 32768  # float32s: every array is placed somewhere in one buffer of this size
LAYOUTS = 300


def _placed(buffer: np.ndarray, offset: int, value: np.ndarray) -> np.ndarray:
    view = buffer[offset:offset + value.size].reshape(value.shape)
    view[...] = value
    return view


def _layouts(sizes: list[int], rng: np.random.Generator):
    """Random non-overlapping offsets for arrays of ``sizes``, and an offset for the empty ``seq`` whose would-be
    rows (step t at ``t·batch·units`` on) fall near one of them."""
    while True:
        offsets = rng.choice(BUFFER - max(sizes), len(sizes), replace=False)
        spans = sorted(zip(offsets.tolist(), sizes))
        if all(a + n <= b for (a, n), (b, _) in zip(spans, spans[1:])):
            near = int(rng.choice(offsets)) - int(rng.integers(0, STEPS)) * BATCH * UNITS
            yield offsets.tolist(), int(np.clip(near + rng.integers(-UNITS, UNITS), 0, BUFFER))


def _lstm_gates(kernels, arrays: dict, seq: np.ndarray) -> None:
    kernels.lstm_gates(1, arrays["z"], arrays["projected"][1], arrays["h"], arrays["c"], compiled._NO_MASK, 1,
                       1, 3, seq, arrays["last"], 0, BATCH)


def _lstm_whole(kernels, arrays: dict, seq: np.ndarray) -> None:
    width = 4 * UNITS
    kernels.lstm(arrays["x"], kernels.pack(arrays["w"]), kernels.pack_bias(arrays["bias"], width),
                 kernels.pack(arrays["kernel"]), kernels.pack_bias(None, width), arrays["h"], arrays["c"],
                 compiled._NO_MASK, 1, 1, 2, seq, arrays["last"])


def _gru_gates(kernels, arrays: dict, seq: np.ndarray) -> None:
    kernels.gru_gates_after(1, arrays["zr"], arrays["hh"], arrays["projected3"][1], arrays["h"], compiled._NO_MASK,
                            1, 1, seq, arrays["last"], 0, BATCH)


def _values(rng: np.random.Generator) -> dict[str, np.ndarray]:
    def normal(*shape: int, scale: float = 1.0) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    return {"z": normal(BATCH, 4 * UNITS, scale=3), "projected": normal(STEPS, BATCH, 4 * UNITS, scale=3),
            "h": normal(BATCH, UNITS), "c": normal(BATCH, UNITS, scale=2), "last": np.zeros((BATCH, UNITS), np.float32),
            "kernel": normal(UNITS, 4 * UNITS, scale=0.2),
            "zr": rng.uniform(0, 1, (BATCH, 2 * UNITS)).astype(np.float32),
            "hh": normal(BATCH, UNITS), "projected3": normal(STEPS, BATCH, 3 * UNITS),
            "x": normal(STEPS, BATCH, 8), "w": normal(8, 4 * UNITS), "bias": normal(4 * UNITS)}


USES = {_lstm_gates: ("z", "projected", "h", "c", "last"), _lstm_whole: ("x", "w", "bias", "kernel", "h", "c", "last"),
        _gru_gates: ("zr", "hh", "projected3", "h", "last")}


@pytest.mark.parametrize("run", list(USES), ids=lambda f: f.__name__.strip("_"))
def test_kernel_bits_do_not_depend_on_where_the_arrays_lie(run):
    kernels = compiled._kernels()
    rng = np.random.default_rng(7)
    all_values = _values(rng)
    values = {n: all_values[n] for n in USES[run]}
    names = list(values)

    def outputs(offsets: list[int] | None, seq_offset: int | None) -> list[np.ndarray]:
        if offsets is None:  # each array on its own
            arrays, seq = {n: v.copy() for n, v in values.items()}, np.empty((0, BATCH, UNITS), np.float32)
        else:
            buffer = np.zeros(BUFFER, np.float32)
            arrays = {n: _placed(buffer, o, values[n]) for n, o in zip(names, offsets)}
            seq = buffer[seq_offset:seq_offset].reshape(0, BATCH, UNITS)
        run(kernels, arrays, seq)
        return [arrays[n].copy() for n in ("h", "c", "last") if n in arrays]

    want = outputs(None, None)
    layouts = _layouts([v.size for v in values.values()], rng)
    for _ in range(LAYOUTS):
        offsets, seq_offset = next(layouts)
        got = outputs(offsets, seq_offset)
        for name, a, b in zip(("h", "c", "last"), got, want):
            where = dict(zip(names, offsets))
            assert np.array_equal(a, b), f"{run.__name__}: {name} differs, arrays at {where}, seq at {seq_offset}"
