"""The compiled side of the kernels' helper threads (``pool``): a helper waits for a job in compiled code and runs
it there, never going back to Python (nor to the GIL) between jobs. Imported only by ``pool`` (numba installed).

A helper's mailbox ``box`` is an int64 array: ``POSTED`` and ``DONE`` count jobs (each on its own cache line),
``PARKED`` says the helper has gone to sleep in Python, ``RESULT`` holds a job's result; a job is its ``KIND``, its
integers from ``INTS`` and its arrays from ``ARRAYS``, each described by its address, shape and strides in bytes
(``SLOT`` slots an array). ``post_*`` (called by the thread that splits a call, with exactly the arguments of the
kernel it names) writes a job and counts it posted; the helper's ``serve`` rebuilds the arrays as views of the
caller's memory (``_view``: no copy, no reference count; the caller keeps them alive until the job is done) and
calls the same kernel with them, so a slice's bits are the kernel's whichever thread runs it.
"""

import sys

import numpy as np
from numba import literal_unroll, njit, types
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array

from ._kernel_cache import stamp_with_sources
from ._kernels import gru_steps_before, gru_steps_reset_after, lstm_part, lstm_steps, simple_rnn_steps
from ._sync import _fetch_add, _load, _pause, wait_for

OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}
POSTED, DONE, PARKED, RESULT, KIND = 0, 8, 16, 24, 25  # POSTED, DONE and PARKED each on a cache line of their own
INTS = 32  # a job's integers
ARRAYS = 40  # ... and its arrays, SLOT slots each: address, 3 sizes, 3 strides
SLOT = 7
MAX_ARRAYS = 14
BOX = ARRAYS + SLOT * MAX_ARRAYS
LSTM_STEPS, GRU_STEPS_RESET_AFTER, GRU_STEPS_BEFORE, SIMPLE_RNN_STEPS, LSTM_PART = 1, 2, 3, 4, 5


def _view_intrinsic(dtype, ndim: int, layout: str):
    """An intrinsic ``view(box, i)``: the ``ndim``-D array of ``dtype`` described by box's array ``i``, as an array
    of ``layout`` that does not own its memory."""
    array_type = types.Array(dtype, ndim, layout)

    @intrinsic
    def view(typingctx, box, i):
        def codegen(context, builder, signature, args):
            data = make_array(signature.args[0])(context, builder, args[0]).data
            start = builder.add(context.get_constant(types.intp, ARRAYS),
                                builder.mul(args[1], context.get_constant(types.intp, SLOT)))

            def item(offset):
                return builder.load(builder.gep(data, [builder.add(start, context.get_constant(types.intp, offset))]))

            out = make_array(array_type)(context, builder)
            element = context.get_data_type(dtype)
            populate_array(out, data=builder.inttoptr(item(0), element.as_pointer()),
                           shape=[item(1 + d) for d in range(ndim)], strides=[item(4 + d) for d in range(ndim)],
                           itemsize=context.get_constant(types.intp, context.get_abi_sizeof(element)), meminfo=None)
            return out._getvalue()

        return array_type(box, types.intp), codegen

    return view


_f1, _f2, _f3 = (_view_intrinsic(types.float32, n, "C") for n in (1, 2, 3))
_b2 = _view_intrinsic(types.boolean, 2, "C")
_seq = _view_intrinsic(types.float32, 3, "A")  # a time-major view of batch-major outputs


@njit(inline="always", **OPTIONS)
def _describe(box, i, array):
    start = ARRAYS + SLOT * i
    box[start] = array.ctypes.data
    for d in range(array.ndim):
        box[start + 1 + d] = array.shape[d]
        box[start + 4 + d] = array.strides[d]


@njit(inline="always", **OPTIONS)
def _c_contiguous(array):
    expected = array.itemsize
    for d in range(array.ndim - 1, -1, -1):
        if array.shape[d] > 1 and array.strides[d] != expected:
            return False
        expected *= array.shape[d]
    return True


@njit(**OPTIONS)
def _post(box, kind, arrays, ints, strided):
    """Write a job (its arrays in the kernel's order of arguments, then its integers) and count it posted; True
    when the helper is parked (the poster must then wake it). ``_run_job`` views every array but the ``strided``-th
    as C-contiguous: one that is not is refused here, before anything is posted."""
    i = 0
    for array in literal_unroll(arrays):
        if i != strided and not _c_contiguous(array):
            raise ValueError("_helpers: a job's array is not C-contiguous")
        _describe(box, i, array)
        i += 1
    for j in range(len(ints)):
        box[INTS + j] = ints[j]
    box[KIND] = kind
    _fetch_add(box.ctypes.data + POSTED * 8, 1)
    return _load(box.ctypes.data + PARKED * 8) != 0


@njit(**OPTIONS)
def post_lstm_steps(box, x, packed_w, bias, packed_u, zeros, h, c, keep, held, act, rec, seq, last, z):
    return _post(box, LSTM_STEPS, (x, packed_w, bias, packed_u, zeros, h, c, keep, seq, last, z), (held, act, rec),
                 8)


@njit(**OPTIONS)
def post_gru_steps_reset_after(box, x, packed_w, bias, packed_u, zeros, recurrent_bias, h, keep, held, act, rec,
                               seq, last, inner):
    return _post(box, GRU_STEPS_RESET_AFTER, (x, packed_w, bias, packed_u, zeros, recurrent_bias, h, keep, seq, last,
                                              inner), (held, act, rec), 8)


@njit(**OPTIONS)
def post_gru_steps_before(box, x, packed_w, bias, packed_zr, packed_h, zeros, h, keep, held, act, rec, seq, last,
                          zr, rh, hh):
    return _post(box, GRU_STEPS_BEFORE, (x, packed_w, bias, packed_zr, packed_h, zeros, h, keep, seq, last, zr, rh,
                                         hh), (held, act, rec), 8)


@njit(**OPTIONS)
def post_simple_rnn_steps(box, x, packed_w, bias, packed_u, zeros, h, keep, held, act, seq, last, z):
    return _post(box, SIMPLE_RNN_STEPS, (x, packed_w, bias, packed_u, zeros, h, keep, seq, last, z), (held, act), 7)


@njit(**OPTIONS)
def post_lstm_part(box, x, packed_w, bias, packed_u, zeros, hs, c, act, rec, seq, last, sync, u0, parts):
    return _post(box, LSTM_PART, (x, packed_w, bias, packed_u, zeros, hs, c, seq, last), (act, rec, sync, u0, parts),
                 7)


@njit(**OPTIONS)
def _run_job(box):
    """The job posted: its kernel, over views of its arrays (numbered as ``post_*`` wrote them)."""
    kind, n = box[KIND], box[INTS:INTS + 5]
    if kind == LSTM_STEPS:
        lstm_steps(_f3(box, 0), _f3(box, 1), _f1(box, 2), _f3(box, 3), _f1(box, 4), _f2(box, 5), _f2(box, 6),
                   _b2(box, 7), n[0], n[1], n[2], _seq(box, 8), _f2(box, 9), _f2(box, 10))
    elif kind == GRU_STEPS_RESET_AFTER:
        gru_steps_reset_after(_f3(box, 0), _f3(box, 1), _f1(box, 2), _f3(box, 3), _f1(box, 4), _f1(box, 5),
                              _f2(box, 6), _b2(box, 7), n[0], n[1], n[2], _seq(box, 8), _f2(box, 9), _f2(box, 10))
    elif kind == GRU_STEPS_BEFORE:
        gru_steps_before(_f3(box, 0), _f3(box, 1), _f1(box, 2), _f3(box, 3), _f3(box, 4), _f1(box, 5), _f2(box, 6),
                         _b2(box, 7), n[0], n[1], n[2], _seq(box, 8), _f2(box, 9), _f2(box, 10), _f2(box, 11),
                         _f2(box, 12))
    elif kind == SIMPLE_RNN_STEPS:
        simple_rnn_steps(_f3(box, 0), _f3(box, 1), _f1(box, 2), _f3(box, 3), _f1(box, 4), _f2(box, 5), _b2(box, 6),
                         n[0], n[1], _seq(box, 7), _f2(box, 8), _f2(box, 9))
    elif kind == LSTM_PART:
        box[RESULT] = lstm_part(_f3(box, 0), _f3(box, 1), _f1(box, 2), _f3(box, 3), _f1(box, 4), _f2(box, 5),
                                _f1(box, 6), n[0], n[1], _seq(box, 7), _f2(box, 8), n[2], n[3], n[4])


@njit(**OPTIONS)
def serve(box, looks):
    """Run each job posted to ``box``, looking for the next one up to ``looks`` times (with the pause hint) before
    going back to the caller, which parks the helper."""
    posted, done = box.ctypes.data + POSTED * 8, box.ctypes.data + DONE * 8
    idle = 0
    while idle < looks:
        if _load(posted) > _load(done):
            _run_job(box)
            _fetch_add(done, 1)
            idle = 0
        else:
            idle += 1
            _pause()


@njit(**OPTIONS)
def pending(box):
    """Whether a job is posted and not done."""
    return _load(box.ctypes.data + POSTED * 8) > _load(box.ctypes.data + DONE * 8)


@njit(**OPTIONS)
def set_parked(box, parked):
    """Say the helper parks (before it looks for a job one last time) or is awake."""
    _fetch_add(box.ctypes.data + PARKED * 8, parked - _load(box.ctypes.data + PARKED * 8))


@njit(**OPTIONS)
def finish(box):
    """Wait until every job posted is done: False when the helper did not finish in seconds (``_sync``)."""
    return wait_for(box.ctypes.data + DONE * 8, _load(box.ctypes.data + POSTED * 8))


@njit(**OPTIONS)
def mark_done(box):
    """Count the job done that raised (the helper's Python records its error)."""
    _fetch_add(box.ctypes.data + DONE * 8, 1)


def new_box() -> np.ndarray:
    return np.zeros(BOX, np.int64)


stamp_with_sources(sys.modules[__name__])  # before any kernel loads from the cache (``_kernel_cache``)
