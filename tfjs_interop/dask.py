"""Scoring Dask collections chunk by chunk: ``predict`` over dask arrays, ``predict_frame`` over dask DataFrames.

Needs the optional extra ``dask`` (``pip install 'tfjs-interop[dask]'``). Dask does the scheduling; this module only
checks the inputs against the model while the graph is built, and puts the model into the graph once, as one
task's data that each chunk's task depends on: a distributed worker receives it once per computation (from the
scheduler or a peer, pickled as in ``runtime/pickling.py``), however many chunks it scores.

Each chunk is one ``model.predict`` call, so results equal ``model.predict`` on the whole array bit for bit (every
sample is computed on its own). Models with stateful layers are refused: their state runs on from one batch to the
next, and chunks are neither one sequence nor run in order.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import DependencyError, InputError, UnsupportedLayerError
from .golden_model import output_names
from .runtime.model import Model
from .runtime.pickling import stateful_layers

_BATCH = "batch"  # the blockwise index of the batch axis


def predict(model: Model, x: Any, batch_size: int | None = None) -> Any:
    """Score dask array(s) chunk by chunk, lazily.

    Args:
        model: a loaded model without stateful layers.
        x: a ``dask.array.Array`` (one input), a list of them in input order or a dict by input name, chunked
            along the batch axis (axis 0) only; inputs whose batch chunks differ are rechunked to the first's.
        batch_size: passed to ``model.predict`` for each chunk (None: each chunk in one batch).

    Returns:
        A ``dask.array.Array`` for a one-output model, else a list in output order: float32, the batch chunks of
        the input, each other axis in one chunk.

    Raises:
        InputError: when an input is not a dask array, is chunked along another axis than the batch, or does not
            fit the model's input (rank, sizes, dtype, count or names), all before anything is computed.
        UnsupportedLayerError: when the model has stateful layers.
        DependencyError: when Dask is not installed.
    """
    da = _dask_array()
    _refuse_unscorable(model, batch_size)
    arrays = _aligned(_in_input_order(model, x))
    tails = _output_tails(model, arrays)
    pairs = [item for i, a in enumerate(arrays)
             for item in (a, (_BATCH, *(f"input{i}_axis{k}" for k in range(1, a.ndim))))]
    blocks = da.blockwise(_predict_block, (_BATCH,), _model_node(model), None, batch_size, None, tails, None, *pairs,
                          concatenate=True, align_arrays=False, dtype=object, meta=np.empty((0,), dtype=object))
    outputs = [blocks.map_blocks(_pick, j, chunks=(blocks.chunks[0], *((n,) for n in tail)),
                                 new_axis=list(range(1, len(tail) + 1)), meta=np.empty((0,) * (len(tail) + 1), dtype))
               for j, (tail, dtype) in enumerate(tails)]
    return outputs[0] if len(outputs) == 1 else outputs


def predict_frame(model: Model, frame: Any, columns: Sequence[str] | None = None,
                  batch_size: int | None = None) -> Any:
    """Score a dask DataFrame holding one sample per row (the common table of fixed-length sequences).

    Args:
        model: a loaded model with one input of fully known sample shape (e.g. ``(None, 20)`` token ids, or
            ``(None, 20, 3)`` features) and no stateful layers.
        frame: a ``dask.dataframe.DataFrame``.
        columns: the columns holding one sample's values, in the C order of the sample shape (time step by time
            step: ``t0_f0, t0_f1, t1_f0, ...``); default: all columns.
        batch_size: passed to ``model.predict`` for each partition.

    Returns:
        A lazy ``dask.dataframe.DataFrame`` with the frame's index and float32 columns ``<output>_<i>``: each
        output's values for the row, flattened in C order.

    Raises:
        InputError: when the model has several inputs or free sizes, or the columns do not make one sample.
        UnsupportedLayerError: when the model has stateful layers.
    """
    _refuse_unscorable(model, batch_size)
    if len(model.inputs) != 1:
        raise InputError(f"predict_frame scores models with one input; this one has {len(model.inputs)} "
                         f"{[s.name for s in model.inputs]}: use predict on frame.to_dask_array(lengths=True) slices")
    spec = model.inputs[0]
    if any(d is None for d in spec.shape[1:]):
        raise InputError(f"input {spec.name!r} has shape {spec.shape}: predict_frame needs every size but the batch "
                         "known, to cut a row into a sample")
    columns = list(frame.columns if columns is None else columns)
    sample = (1, *spec.shape[1:])
    if len(columns) != int(np.prod(sample)):
        raise InputError(f"input {spec.name!r} takes {int(np.prod(sample))} values per sample (shape "
                         f"{spec.shape[1:]}), but {len(columns)} columns were given")
    outputs = model.predict(np.zeros(sample, dtype=spec.dtype))
    names = [f"{name}_{i}" for name, out in zip(output_names(model), _as_list(outputs)) for i in range(out[0].size)]
    meta = _empty_frame(frame, names)
    return frame[columns].map_partitions(_predict_partition, _model_node(model), sample[1:], names, batch_size,
                                         meta=meta)


def _model_node(model: Model) -> Any:
    """The model as one ``dask.delayed`` node: a graph holds it once, and tasks that take it depend on its key."""
    from dask import delayed

    return delayed(model, name=f"tfjs-interop-model-{uuid.uuid4().hex}", traverse=False)


# -- graph building ---------------------------------------------------------------------------------------------
def _dask_array() -> Any:
    try:
        import dask.array
    except ImportError as exc:
        raise DependencyError("tfjs_interop.dask needs Dask: pip install 'tfjs-interop[dask]'") from exc
    return dask.array


def _refuse_unscorable(model: Model, batch_size: Any) -> None:
    """Refuse stateful models and a batch_size that is not a positive int."""
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                   or batch_size <= 0):
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    stateful = stateful_layers(model)
    if stateful:
        raise UnsupportedLayerError(
            f"layer(s) {stateful} are stateful: their state runs on from one batch to the next, and Dask's chunks "
            "are neither one sequence nor run in order; score such a model with model.predict in one process")


def _in_input_order(model: Model, x: Any) -> list[Any]:
    """The dask arrays, one per model input in order; their per-sample shapes checked by the model itself."""
    from dask.array import Array

    leaves = list(x.values()) if isinstance(x, Mapping) else list(x) if isinstance(x, (list, tuple)) else [x]
    for a in leaves:
        if not isinstance(a, Array):
            raise InputError(f"tfjs_interop.dask.predict takes dask arrays, found {type(a).__name__}; wrap it with "
                             "dask.array.from_array(x, chunks=(10_000,) + x.shape[1:]), or call model.predict")
        if a.ndim == 0 or any(np.isnan(n) for n in a.shape[1:]):
            raise InputError(f"a dask array of shape {a.shape} cannot be a batch of samples: it needs a batch axis "
                             "and known sizes on the others (x.compute_chunk_sizes() finds unknown ones)")
        if any(len(chunks) > 1 for chunks in a.chunks[1:]):
            raise InputError(f"inputs must be chunked along the batch axis only, found chunks {a.chunks}; "
                             f"rechunk: x.rechunk({{{', '.join(f'{k}: -1' for k in range(1, a.ndim))}}})")
    probe = {k: _probe(a, model) for k, a in x.items()} if isinstance(x, Mapping) else [_probe(a, model)
                                                                                        for a in leaves]
    try:
        model.check_inputs(probe)  # a wrong count, name, rank, size or dtype
    except InputError as exc:
        raise InputError(f"{exc} (shapes here are of one sample batch; the dask arrays have shapes "
                         f"{[a.shape for a in leaves]})") from None
    if isinstance(x, Mapping):
        return [x[spec.name] for spec in model.inputs]
    return leaves


def _probe(a: Any, model: Model) -> np.ndarray:
    """A sample batch of ``a``'s shape and dtype (of the model's fixed batch size, if it declares one)."""
    batch = next((s.shape[0] for s in model.inputs if s.shape and s.shape[0] is not None), 1)
    return np.zeros((batch, *(int(n) for n in a.shape[1:])), dtype=a.dtype)


def _aligned(arrays: list[Any]) -> list[Any]:
    """The arrays with the first one's batch chunks (unknown chunk sizes must already agree in number)."""
    first = arrays[0]
    if any(np.isnan(n) for a in arrays for n in a.chunks[0]):
        counts = [a.numblocks[0] for a in arrays]
        if len(set(counts)) > 1:
            raise InputError(f"inputs of unknown chunk sizes must have the same number of chunks, found {counts}; "
                             "call x.compute_chunk_sizes() on each")
        return arrays
    sizes = [a.shape[0] for a in arrays]
    if len(set(sizes)) > 1:
        raise InputError(f"all inputs must have the same batch size, got {sizes}")
    return [a if a.chunks[0] == first.chunks[0] else a.rechunk({0: first.chunks[0]}) for a in arrays]


def _output_tails(model: Model, arrays: list[Any]) -> list[tuple[tuple[int, ...], np.dtype]]:
    """Each output's per-sample shape and dtype, from one probe batch (the chunks' sizes are checked too)."""
    fixed = next((s.shape[0] for s in model.inputs if s.shape[0] is not None), None)
    if fixed is not None and any(n != fixed for n in arrays[0].chunks[0] if not np.isnan(n)):
        raise InputError(f"the model takes batches of exactly {fixed} samples, but the chunks hold "
                         f"{arrays[0].chunks[0]}: rechunk to {fixed}")
    probe = [_probe(a, model) for a in arrays]
    return [(out.shape[1:], out.dtype) for out in _as_list(model.predict(probe))]


# -- on the workers ---------------------------------------------------------------------------------------------
def _predict_block(model: Model, batch_size: int | None, tails: list, *blocks: np.ndarray) -> tuple:
    """One chunk's outputs (a tuple, one array per output)."""
    if blocks[0].shape[0] == 0:
        return tuple(np.empty((0, *tail), dtype=dtype) for tail, dtype in tails)
    return tuple(_as_list(model.predict(list(blocks), batch_size=batch_size)))  # thread-safe: no lock needed


def _pick(outputs: tuple, index: int) -> np.ndarray:
    return outputs[index]


def _predict_partition(part: Any, model: Model, sample: tuple[int, ...], names: list[str],
                       batch_size: int | None) -> Any:
    """One partition's outputs as a pandas DataFrame with the partition's index."""
    import pandas as pd

    x = part.to_numpy().reshape((len(part), *sample))
    if len(part) == 0:
        return pd.DataFrame(np.empty((0, len(names)), dtype=np.float32), index=part.index, columns=names)
    outputs = _as_list(model.predict(x, batch_size=batch_size))
    values = np.concatenate([out.reshape(len(part), -1) for out in outputs], axis=1)
    return pd.DataFrame(values, index=part.index, columns=names)


def _empty_frame(frame: Any, names: list[str]) -> Any:
    import pandas as pd

    index = frame._meta.index[:0]
    return pd.DataFrame(np.empty((0, len(names)), dtype=np.float32), index=index, columns=names)


def _as_list(outputs: Any) -> list[np.ndarray]:
    return outputs if isinstance(outputs, list) else [outputs]
