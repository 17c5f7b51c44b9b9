"""``windows.im2col`` (the convolutions' GEMM rows: one gather by a flat index of each sample's windows, or one
strided copy per tap) holds exactly the values of ``gather_windows``'s view, reshaped: for every rank, padding,
stride, dilation and ``clamp``, gathered by index, tap-major (few channels) or channels-last."""

from __future__ import annotations

import numpy as np
import pytest

from tfjs_interop.runtime.layers import windows

PADDINGS = {1: ("valid", "same", "causal"), 2: ("valid", "same"), 3: ("valid", "same")}


@pytest.fixture
def fresh_index():
    windows._window_index.cache_clear()  # its decisions follow GATHER_BYTES
    yield
    windows._window_index.cache_clear()


@pytest.mark.usefixtures("fresh_index")
@pytest.mark.parametrize("way", ["index", "tap_major", "channels_last"])
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_im2col_equals_the_gathered_windows(rank: int, way: str, monkeypatch) -> None:
    tap_major = way == "tap_major"
    monkeypatch.setattr(windows, "GATHER_BYTES", 1 << 30 if way == "index" else 0)
    monkeypatch.setattr(windows, "TAP_MAJOR_CHANNELS", 1 << 30 if tap_major else 0)
    rng = np.random.default_rng(rank)
    checked = 0
    for trial in range(60):
        spatial, kernel = tuple(rng.integers(1, 9, rank).tolist()), tuple(rng.integers(1, 4, rank).tolist())
        strides, dilation = tuple(rng.integers(1, 3, rank).tolist()), tuple(rng.integers(1, 3, rank).tolist())
        padding, clamp = PADDINGS[rank][trial % len(PADDINGS[rank])], bool(trial % 4)
        x = rng.standard_normal((2, *spatial, int(rng.integers(1, 4)))).astype(np.float32)
        values, _ = windows.gather_windows(x, kernel, strides, padding, dilation, clamp=clamp)
        rows = values.shape[0] * int(np.prod(values.shape[1:1 + rank]))
        got = windows.im2col(x, kernel, strides, padding, dilation, clamp=clamp)
        assert got.shape == (rows, int(np.prod(kernel)) * x.shape[-1])
        assert got.flags.f_contiguous if tap_major else got.flags.c_contiguous  # BLAS takes either as it is
        index = windows._window_index(spatial, kernel, strides, padding, dilation, clamp, x.shape[-1])
        assert (index is not None) is (way == "index") or not values.size
        assert np.array_equal(got, values.reshape(rows, got.shape[1]))
        checked += values.size > 0
    assert checked > 40  # most configurations have windows
