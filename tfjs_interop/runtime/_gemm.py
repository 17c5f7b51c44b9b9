"""A float32 GEMM for the compiled kernels, ``C = A·B + bias`` with ``B`` packed once: explicit SIMD vectors written
as LLVM IR through a numba intrinsic. Imported only by ``_kernels`` (numba installed).

Why not BLAS: NumPy's OpenBLAS picks its kernels by CPU model and takes an AVX-512 CPU it does not know for a
Haswell (AMD Zen 5 on OpenBLAS 0.3.31 and 0.3.34: OpenMathLib/OpenBLAS#6029), so it runs 8-wide AVX2 kernels while
ONNX Runtime's MLAS runs 16-wide ones; and a BLAS call per time step costs the Python round trip the whole-loop
kernels avoid. This micro-kernel keeps a ``ROWS`` × ``PANEL`` tile of C in vector registers and streams ``B``'s packed
panel (``pack``) from L1: measured on the 2-core Zen 5 VM, 255–262 GFLOP/s on one thread at the recurrent products'
shapes (256×256·256×1024, 48×256·256×256, 1024×32·32×128) against NumPy's 108–124.

The tile's vectors are the CPU's widest: 16 floats with AVX-512, 8 with AVX2 (``LANES``, ``ROWS``). The large-batch
loop uses it where the CPU has AVX-512, or AVX2 with FMA (``FAST``): on a 2-core AMD EPYC VM with AVX2 (Zen 3), 84–94
GFLOP/s on one thread at the shapes above against NumPy's OpenBLAS's 68–88, and 70 against 49 at 32×32·32×128, where
the per-step BLAS call's overhead shows; the whole loop of a 32-sample, 10-step LSTM took 0.11 ms instead of 0.21 with
BLAS making each step's product. Elsewhere the large-batch products stay BLAS's, and the whole loop of small batches
uses it on every CPU. Where the CPU has no FMA the terms are a multiply and an add (an FMA there would be a libm call
per lane, measured 3x slower than the old loop).

Every element of C is ``bias + Σ_k a_ik·b_kj`` summed in k order with one FMA per term, whatever its place in a tile
and whatever the alignment (explicit vectors: no run-time alias check picks another loop), so a row's bits do not
depend on the other rows of the batch, on how threads split it, or on the heap.
"""

from __future__ import annotations

import os
import sys

import numba
import numpy as np
from llvmlite import binding, ir
from numba import njit, types
from numba.extending import intrinsic, overload

from ._kernel_cache import stamp_with_sources


def _host_has(feature: str) -> bool:
    """Whether the CPU numba compiles for has ``feature``: the host's as numba takes them (NUMBA_ENABLE_AVX=0 turns
    the AVX ones off; NUMBA_CPU_FEATURES, when set, lists them), and none where NUMBA_CPU_NAME names another CPU
    (e.g. a portable NUMBA_CPU_NAME=generic build, which has neither AVX-512 nor FMA)."""
    if os.environ.get("NUMBA_CPU_NAME", "host") not in ("", "host"):
        return False
    if feature.startswith("avx") and not numba.config.ENABLE_AVX:
        return False
    if numba.config.CPU_FEATURES:
        return f"+{feature}" in numba.config.CPU_FEATURES.split(",")
    try:
        return bool(binding.get_host_cpu_features().get(feature, False))
    except RuntimeError:  # llvmlite cannot read the features here
        return False


AVX512 = _host_has("avx512f")
FMA = _host_has("fma")  # the tiles' multiply-add: fused where the CPU fuses, else (libm's fmaf per lane) two ops
FAST = AVX512 or (FMA and _host_has("avx2"))  # see the module's docstring (``compiled`` reads it as ``_kernels.FAST``)
LANES = 16 if AVX512 else 8  # floats per vector: the CPU's widest registers (LLVM splits wider ones)
VECTORS = 2  # vectors per row of a tile
ROWS = 8 if AVX512 else 4  # rows of a tile: with AVX-512, 16 accumulators, 2 panel vectors and a broadcast fit its
# 32 registers; with AVX2, 8 accumulators and 3 more fit its 16 (6 rows, BLIS's choice, measured no faster, and
# slower where the batch is a multiple of 4 but not of 6)
PANEL = LANES * VECTORS  # columns of a tile, and of a packed panel
ROW_PANELS = 4  # panels a one-row tile (a small batch's sample) takes at once: 8 independent FMA chains
A_BLOCK_BYTES = 1 << 17  # matmul sweeps the panels over blocks of a's rows of about this size, kept in L2
OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}


def pack(b: np.ndarray) -> np.ndarray:
    """B (k, n) as panels (p, k, PANEL), each contiguous, padded with zeros to a whole number of ``ROW_PANELS``."""
    k, n = b.shape
    panels = -(-n // (PANEL * ROW_PANELS)) * ROW_PANELS
    padded = np.zeros((k, panels * PANEL), np.float32)
    padded[:, :n] = b
    return np.ascontiguousarray(padded.reshape(k, panels, PANEL).transpose(1, 0, 2))


def pack_bias(bias: np.ndarray | None, n: int) -> np.ndarray:
    """The bias (n,), or zeros, padded as ``pack`` pads B's columns."""
    padded = np.zeros(-(-n // (PANEL * ROW_PANELS)) * PANEL * ROW_PANELS, np.float32)
    if bias is not None:
        padded[:n] = bias
    return padded


def _tile_intrinsic(rows: int, panels: int):
    """A numba intrinsic computing a tile of ``rows`` × ``panels`` panels at raw addresses: C = A·B + bias, over
    A's first ``depth`` columns; ``lda``/``ldc`` in elements, ``stride`` the distance between panels in floats."""

    @intrinsic
    def tile(typingctx, a_addr, lda, b_addr, stride, bias_addr, c_addr, ldc, depth):
        sig = types.void(*(types.intp,) * 8)

        def codegen(context, builder, signature, args):
            _emit_tile(builder, rows, panels, *args)
            return context.get_dummy_value()

        return sig, codegen

    return tile


def _emit_tile(builder: ir.IRBuilder, rows: int, panels: int, a_addr, lda, b_addr, stride, bias_addr, c_addr, ldc,
               depth) -> None:
    f32, i32, i64 = ir.FloatType(), ir.IntType(32), ir.IntType(64)
    vector = ir.VectorType(f32, LANES)
    fma = _declare_fma(builder.module, vector)
    a, b, bias, c = (builder.inttoptr(p, f32.as_pointer()) for p in (a_addr, b_addr, bias_addr, c_addr))
    zero = ir.Constant(vector, [0.0] * LANES)
    columns = [(p, v) for p in range(panels) for v in range(VECTORS)]  # a row's vectors: panel p, vector v

    def load(pointer, offset):
        return builder.load(builder.bitcast(builder.gep(pointer, [offset]), vector.as_pointer()), align=4)

    def at(*terms):  # sum of i64 terms (ints become constants)
        total = ir.Constant(i64, 0)
        for term in terms:
            total = builder.add(total, ir.Constant(i64, term) if isinstance(term, int) else term)
        return total

    def scaled(value, factor: int):
        return builder.mul(value, ir.Constant(i64, factor))

    entry = builder.block
    loop, done = builder.append_basic_block("tile_loop"), builder.append_basic_block("tile_done")
    builder.cbranch(builder.icmp_signed(">", depth, ir.Constant(i64, 0)), loop, done)
    builder.position_at_end(loop)
    k = builder.phi(i64)
    acc = [[builder.phi(vector) for _ in columns] for _ in range(rows)]
    row = scaled(k, PANEL)
    b_vectors = [load(b, at(builder.mul(stride, ir.Constant(i64, p)), row, v * LANES)) for p, v in columns]
    broadcast = ir.Constant(ir.VectorType(i32, LANES), [0] * LANES)
    undefined = ir.Constant(vector, ir.Undefined)
    new = []
    for r in range(rows):
        value = builder.load(builder.gep(a, [at(scaled(lda, r), k)]), align=4)
        splat = builder.shuffle_vector(builder.insert_element(undefined, value, ir.Constant(i32, 0)), undefined,
                                       broadcast)
        new.append([builder.call(fma, [splat, b_vectors[i], acc[r][i]]) if FMA else
                    builder.fadd(builder.fmul(splat, b_vectors[i]), acc[r][i]) for i in range(len(columns))])
    k_next = builder.add(k, ir.Constant(i64, 1))
    body_end = builder.block
    k.add_incoming(ir.Constant(i64, 0), entry)
    k.add_incoming(k_next, body_end)
    for r in range(rows):
        for i in range(len(columns)):
            acc[r][i].add_incoming(zero, entry)
            acc[r][i].add_incoming(new[r][i], body_end)
    builder.cbranch(builder.icmp_signed("<", k_next, depth), loop, done)
    builder.position_at_end(done)
    sums = [[builder.phi(vector) for _ in columns] for _ in range(rows)]
    for r in range(rows):
        for i in range(len(columns)):
            sums[r][i].add_incoming(zero, entry)
            sums[r][i].add_incoming(new[r][i], body_end)
    offsets = [load(bias, ir.Constant(i64, p * PANEL + v * LANES)) for p, v in columns]
    for r in range(rows):
        for i, (p, v) in enumerate(columns):
            target = builder.gep(c, [at(scaled(ldc, r), p * PANEL + v * LANES)])
            builder.store(builder.fadd(sums[r][i], offsets[i]), builder.bitcast(target, vector.as_pointer()),
                          align=4)


_tile = _tile_intrinsic(ROWS, 1)
_row = _tile_intrinsic(1, ROW_PANELS)
_row_1, _row_2, _row_3 = (_tile_intrinsic(1, panels) for panels in (1, 2, 3))  # a last group of fewer panels
assert ROW_PANELS == 4  # row_product's last group takes _row_1 to _row_3


def _declare_fma(module: ir.Module, vector: ir.VectorType) -> ir.Function:
    name = f"llvm.fma.v{LANES}f32"
    existing = module.globals.get(name)
    return existing if existing is not None else ir.Function(module, ir.FunctionType(vector, [vector] * 3), name)


def is_float32(array) -> bool:
    """Whether ``array`` holds float32 (decided when numba compiles the caller)."""
    return array.dtype == np.float32


@overload(is_float32)
def _is_float32(array):
    holds = isinstance(array, types.Array) and array.dtype == types.float32
    return lambda array: holds


@njit(inline="always", **OPTIONS)
def contiguous(array) -> bool:
    """Whether ``array``'s last axis is contiguous (the tiles read it as raw floats)."""
    return array.size == 0 or array.shape[-1] < 2 or array.strides[-1] == 4


@njit(**OPTIONS)
def check(a, packed, bias, c, rows, depth, n):
    """The tiles read and write raw memory: float32 operands whose last axis is contiguous, ``rows`` rows in ``c``,
    B packed (``pack``) for ``depth`` rows and ``n`` columns, a contiguous bias padded as ``pack_bias`` pads it."""
    if not (is_float32(a) and is_float32(packed) and is_float32(bias) and is_float32(c)):
        raise ValueError("_gemm: float32 operands expected")
    if not (contiguous(a) and contiguous(c) and contiguous(bias) and bias.ndim == 1):
        raise ValueError("_gemm: the operands' last axis must be contiguous")
    groups = -(-n // (PANEL * ROW_PANELS)) * ROW_PANELS  # the panels the tiles may read
    if c.shape[0] != rows or packed.ndim != 3 or packed.shape[1] != depth or packed.shape[2] != PANEL or \
            packed.shape[0] < groups or bias.shape[0] < groups * PANEL or not packed.flags.c_contiguous:
        raise ValueError("_gemm: B or the bias is not packed for these operands")


@njit(**OPTIONS)
def matmul(a, packed, bias, c):
    """c (m, n) = a (m, k)·B + bias, B and bias packed (``pack``, ``pack_bias``); a's and c's rows may be strided
    (their last axis contiguous). Rows and columns beyond whole tiles go through a zero-padded scratch tile."""
    m, depth = a.shape
    n = c.shape[1]
    check(a, packed, bias, c, m, depth, n)
    lda, ldc = a.strides[0] // 4, c.strides[0] // 4
    whole_rows = m - m % ROWS
    scratch_a = np.zeros((ROWS, max(depth, 1)), np.float32)
    scratch_c = np.empty((ROWS, PANEL), np.float32)
    for i in range(m - whole_rows):
        scratch_a[i, :depth] = a[whole_rows + i]
    a0, c0, b0, bias0 = a.ctypes.data, c.ctypes.data, packed.ctypes.data, bias.ctypes.data
    block = max(ROWS, A_BLOCK_BYTES // (4 * max(depth, 1)) // ROWS * ROWS)
    for r0 in range(0, whole_rows, block):  # a block of a's rows stays in cache while every panel passes over it
        for p in range(-(-n // PANEL)):
            _panel_rows(a0, lda, b0, bias0, c, c0, ldc, depth, scratch_c, p, r0, min(whole_rows, r0 + block))
    for p in range(-(-n // PANEL)):
        column, width = p * PANEL, min(PANEL, n - p * PANEL)
        panel, offsets = b0 + p * depth * PANEL * 4, bias0 + column * 4
        if whole_rows < m:
            _tile(scratch_a.ctypes.data, scratch_a.shape[1], panel, 0, offsets, scratch_c.ctypes.data, PANEL, depth)
            c[whole_rows:m, column:column + width] = scratch_c[:m - whole_rows, :width]


@njit(inline="always", **OPTIONS)
def _panel_rows(a0, lda, b0, bias0, c, c0, ldc, depth, scratch_c, p, r0, r1):
    """Columns of panel ``p`` of c's whole tiles of rows ``r0:r1`` (a multiple of ROWS apart)."""
    n = c.shape[1]
    column, width = p * PANEL, min(PANEL, n - p * PANEL)
    panel, offsets = b0 + p * depth * PANEL * 4, bias0 + column * 4
    for i in range(r0, r1, ROWS):
        if width == PANEL:
            _tile(a0 + i * lda * 4, lda, panel, 0, offsets, c0 + (i * ldc + column) * 4, ldc, depth)
        else:
            _tile(a0 + i * lda * 4, lda, panel, 0, offsets, scratch_c.ctypes.data, PANEL, depth)
            c[i:i + ROWS, column:column + width] = scratch_c[:, :width]


@njit(**OPTIONS)
def matmul_row(a, packed, bias, c, scratch):
    """c (n,) = a (k,)·B + bias for one row (a small batch's sample), ``ROW_PANELS`` panels at once; ``scratch``
    holds PANEL·ROW_PANELS floats. The same bits as ``matmul``'s for that row."""
    check_row(a, packed, bias, c, scratch)
    row_product(a, packed, bias, c, scratch)


@njit(**OPTIONS)
def check_row(a, packed, bias, c, scratch):
    """``check`` for ``matmul_row``'s operands (a loop over a batch's samples checks its first sample's once)."""
    check(a, packed, bias, c, c.shape[0], a.shape[0], c.shape[0])
    if scratch.shape[0] < PANEL * ROW_PANELS or not is_float32(scratch) or not contiguous(scratch):
        raise ValueError("_gemm: the scratch row holds PANEL * ROW_PANELS contiguous float32s")


@njit(inline="always", **OPTIONS)
def row_product(a, packed, bias, c, scratch, backwards=False):
    """``matmul_row`` without its checks, for a loop whose operands ``check_row`` passed once (they cost ~50 ns,
    a quarter of a 32-unit LSTM step). ``backwards``: the groups of panels last to first, the same bits (each
    column's sum is its own). A time loop alternates the direction from one product to the next, so that the
    panels read last, still in cache, are read first again: where B outgrows L2 (a 256-unit LSTM's 1 MB), reading
    it in the same order every time evicts each panel before it comes round again."""
    n, depth = c.shape[0], a.shape[0]
    group = PANEL * ROW_PANELS
    stride = depth * PANEL
    a0, b0, bias0 = a.ctypes.data, packed.ctypes.data, bias.ctypes.data
    groups = -(-n // group)
    for g in range(groups):
        column = (groups - 1 - g if backwards else g) * group
        width = min(group, n - column)
        panel, offsets = b0 + column * depth * 4, bias0 + column * 4
        if width == group:
            _row(a0, 0, panel, stride, offsets, c.ctypes.data + column * 4, 0, depth)
        else:
            _last_group(a0, panel, stride, offsets, c, column, width, depth, scratch)


@njit(inline="always", **OPTIONS)
def _last_group(a0, panel, stride, offsets, c, column, width, depth, scratch):
    """``row_product``'s last, narrower group of columns, by a tile of as few panels as cover it (a whole group's
    tile, as before, cost a 32-unit GRU step's second product ~145 ns against ~42); straight into c where the panels
    are all whole, else through ``scratch``."""
    panels = -(-width // PANEL)
    target = c.ctypes.data + column * 4 if width == panels * PANEL else scratch.ctypes.data
    if panels == 1:
        _row_1(a0, 0, panel, stride, offsets, target, 0, depth)
    elif panels == 2:
        _row_2(a0, 0, panel, stride, offsets, target, 0, depth)
    elif panels == 3:
        _row_3(a0, 0, panel, stride, offsets, target, 0, depth)
    else:
        _row(a0, 0, panel, stride, offsets, target, 0, depth)
    if width != panels * PANEL:
        c[column:column + width] = scratch[:width]


stamp_with_sources(sys.modules[__name__])  # before any kernel loads from the cache (``_kernel_cache``)
