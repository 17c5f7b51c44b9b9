"""The compiled kernels' GEMM (``runtime/_gemm.py``): ``C = A·B + bias`` against float64, at every kind of edge
(rows and columns beyond whole tiles, an empty depth, strided rows), and the same bits for a row wherever it lies
in the batch (so a thread's slice or a padded tile never changes a sample's numbers)."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.needs("numba")


@pytest.fixture(scope="module")
def gemm():
    from tfjs_interop.runtime import _gemm

    return _gemm


def _product(gemm, a: np.ndarray, b: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    c = np.full((a.shape[0], b.shape[1]), np.nan, np.float32)
    gemm.matmul(a, gemm.pack(b), gemm.pack_bias(bias, b.shape[1]), c)
    return c


@pytest.mark.parametrize("m,k,n", [(1, 5, 7), (7, 3, 32), (8, 16, 32), (9, 33, 40), (17, 64, 96), (3, 0, 20),
                                   (40, 256, 1024), (0, 4, 8)])
def test_matches_float64(gemm, m: int, k: int, n: int) -> None:
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    reference = a.astype(np.float64) @ b.astype(np.float64) + bias
    bound = 4 * np.finfo(np.float32).eps * (np.abs(a).astype(np.float64) @ np.abs(b) + np.abs(bias) + 1)
    c = _product(gemm, a, b, bias)
    assert not np.isnan(c).any()
    assert (np.abs(c - reference) <= bound).all()


def test_strided_rows_write_only_their_columns(gemm) -> None:
    rng = np.random.default_rng(3)
    wide, b = rng.standard_normal((21, 50)).astype(np.float32), rng.standard_normal((30, 40)).astype(np.float32)
    out = np.zeros((21, 60), np.float32)
    gemm.matmul(wide[:, 5:35], gemm.pack(b), gemm.pack_bias(None, 40), out[:, 10:50])
    np.testing.assert_allclose(out[:, 10:50], wide[:, 5:35] @ b, rtol=1e-5, atol=1e-5)
    assert not out[:, :10].any() and not out[:, 50:].any()


def test_a_row_has_the_same_bits_wherever_it_lies(gemm) -> None:
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((37, 64)).astype(np.float32), rng.standard_normal((64, 100)).astype(np.float32)
    packed, zeros = gemm.pack(b), gemm.pack_bias(None, 100)
    whole = np.empty((37, 100), np.float32)
    gemm.matmul(a, packed, zeros, whole)
    for first in range(0, 37, 5):  # slices starting at every offset within a tile
        part = np.empty((min(37, first + 11) - first, 100), np.float32)
        gemm.matmul(a[first:first + 11], packed, zeros, part)
        assert np.array_equal(part, whole[first:first + 11])


def test_rows_past_one_cache_block_match_float64_and_keep_their_bits(gemm) -> None:
    k = 256
    block = gemm.A_BLOCK_BYTES // (4 * k)  # matmul's block of a's rows at this depth
    m = 2 * block + 13  # two whole blocks, then whole tiles and a partial one
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, 100)).astype(np.float32)
    bias = rng.standard_normal(100).astype(np.float32)
    c = _product(gemm, a, b, bias)
    reference = a.astype(np.float64) @ b.astype(np.float64) + bias
    bound = 4 * np.finfo(np.float32).eps * (np.abs(a).astype(np.float64) @ np.abs(b) + np.abs(bias) + 1)
    assert not np.isnan(c).any() and (np.abs(c - reference) <= bound).all()
    for first in (0, block - 8, block, 2 * block - 3, 2 * block + 8):  # rows on either side of a block's edge
        assert np.array_equal(_product(gemm, a[first:first + 16], b, bias), c[first:first + 16])


@pytest.mark.parametrize("k,n", [(8, 128), (32, 96), (5, 7), (64, 1024), (0, 40), (256, 300), (32, 32), (32, 64),
                                 (16, 160)])
def test_one_row_matches_the_tiles(gemm, k: int, n: int) -> None:
    rng = np.random.default_rng(k + n)
    a, b = rng.standard_normal((3, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    packed, packed_bias = gemm.pack(b), gemm.pack_bias(bias, n)
    tiles = _product(gemm, a, b, bias)
    scratch = np.empty(gemm.PANEL * gemm.ROW_PANELS, np.float32)
    for i in range(3):
        row = np.full(n, np.nan, np.float32)
        gemm.matmul_row(a[i], packed, packed_bias, row, scratch)
        assert np.array_equal(row, tiles[i])



@pytest.mark.parametrize("k,n", [(32, 128), (64, 1024), (256, 300), (5, 7)])
def test_one_row_read_backwards_has_the_same_bits(gemm, k: int, n: int) -> None:
    """The time loops alternate the order of the panels from one product to the next (``row_product``'s
    ``backwards``): every column, whole groups and the partial last one alike, must come out the same."""
    rng = np.random.default_rng(k * n)
    a, b = rng.standard_normal(k).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    packed, packed_bias = gemm.pack(b), gemm.pack_bias(rng.standard_normal(n).astype(np.float32), n)
    scratch = np.empty(gemm.PANEL * gemm.ROW_PANELS, np.float32)
    rows = [np.full(n, np.nan, np.float32) for _ in range(2)]
    for row, backwards in zip(rows, (False, True)):
        gemm.row_product(a, packed, packed_bias, row, scratch, backwards)
    assert not np.isnan(rows[1]).any() and np.array_equal(rows[0], rows[1])

def test_operands_it_cannot_read_are_refused(gemm) -> None:
    a, b = np.ones((9, 4), np.float32), np.ones((4, 40), np.float32)
    packed, bias, c = gemm.pack(b), gemm.pack_bias(None, 40), np.empty((9, 40), np.float32)
    with pytest.raises(ValueError, match="contiguous"):
        gemm.matmul(np.ones((9, 8), np.float32)[:, ::2], packed, bias, c)
    with pytest.raises(ValueError, match="packed"):
        gemm.matmul(np.ones((9, 5), np.float32), packed, bias, c)  # B packed for 4 rows
    with pytest.raises(ValueError, match="packed"):
        gemm.matmul(a, packed, bias, np.empty((9, 200), np.float32))  # more columns than B has
    with pytest.raises(ValueError, match="float32"):
        gemm.matmul(a.astype(np.float64), packed, bias, c)


def test_operands_out_of_bounds_are_refused(gemm) -> None:
    """The cases a first ``check`` let through: each would have read or written past an array."""
    a, b = np.ones((16, 4), np.float32), np.ones((4, 40), np.float32)
    packed, bias = gemm.pack(b), gemm.pack_bias(None, 40)
    with pytest.raises(ValueError, match="packed"):
        gemm.matmul(a, packed, bias, np.empty((8, 40), np.float32))  # fewer rows in c than in a
    with pytest.raises(ValueError, match="packed"):
        gemm.matmul(a, packed[:2], bias, np.empty((16, 40), np.float32))  # fewer panels than a tile group reads
    with pytest.raises(ValueError, match="contiguous"):
        gemm.matmul(a, packed, np.zeros(256, np.float32)[::-2], np.empty((16, 40), np.float32))
    with pytest.raises(ValueError, match="float32"):
        gemm.matmul(a.view(np.int32), packed, bias, np.empty((16, 40), np.float32))
    with pytest.raises(ValueError, match="scratch"):
        gemm.matmul_row(a[0], packed, bias, np.empty(40, np.float32), np.empty(16, np.float32))


def test_the_cpu_features_are_numbas(gemm, monkeypatch) -> None:
    """The tiles and the choice of the large-batch loop follow the features numba compiles for, not the host's
    alone: NUMBA_ENABLE_AVX=0 turns the AVX ones off, NUMBA_CPU_FEATURES lists them (an AVX2 tile compiled without
    AVX would be split into SSE halves and its FMA a libm call per lane)."""
    import numba

    monkeypatch.setattr(numba.config, "CPU_FEATURES", "+fma,+avx2,-avx512f")
    assert gemm._host_has("fma") and gemm._host_has("avx2") and not gemm._host_has("avx512f")
    monkeypatch.setattr(numba.config, "ENABLE_AVX", False)
    assert not gemm._host_has("avx2") and gemm._host_has("fma")
