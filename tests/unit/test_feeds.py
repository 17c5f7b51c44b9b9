"""A model's inputs as ``predict`` takes them (``runtime/feeds.py``): converted to the input's dtype, and refused
where the conversion would change a value silently."""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import TFJS_FIXTURES
from tfjs_interop.errors import InputError
from tfjs_interop.runtime.feeds import as_feed
from tfjs_interop.runtime.model import TensorSpec

IDS = TensorSpec("ids", (None, 3), "int32")


@pytest.mark.parametrize("values,dtype,found", [
    ([[1, 2, 2**32 + 1]], np.int64, "4294967297"),  # int32 would read it as 1
    ([[-(2**31) - 1, 0, 0]], np.int64, "-2147483649"),
    ([[2**63, 1, 1]], np.uint64, "9223372036854775808"),  # would be 0: a masked token
    ([[2.5e9, 1, 1]], np.float64, "2500000000"),
])
def test_values_beyond_int32_are_refused_not_wrapped(values, dtype, found):
    with pytest.raises(InputError, match=rf"input 'ids': expected int32 values .*found {found}"):
        as_feed(np.array(values, dtype), IDS)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_infinity_are_refused_for_int32(bad):
    with pytest.raises(InputError, match="input 'ids': expected int32 values, found NaN or infinity"):
        as_feed(np.array([[bad, 1, 1]]), IDS)


def test_int32_values_convert_and_floats_truncate_as_tfjs():
    edge = np.array([[2**31 - 1, -(2**31), 7]], np.int64)
    assert np.array_equal(as_feed(edge, IDS), edge)
    assert as_feed(edge, IDS).dtype == np.int32
    assert as_feed(np.array([[1.7, -3.9, 2147483647.5]]), IDS).tolist() == [[1, -3, 2147483647]]
    assert as_feed(np.zeros((0, 3), np.int64), IDS).shape == (0, 3)


def test_a_model_refuses_ids_that_would_wrap():
    model = tfjs_interop.load(TFJS_FIXTURES / "embedding_mask_lstm")
    spec = model.inputs[0]
    ids = np.ones((2, *spec.shape[1:]), np.int64)
    want = model.predict(ids)
    ids[0, 0] += 2**32  # as int32: 1 again
    with pytest.raises(InputError, match="expected int32 values"):
        model.predict(ids)
    assert np.array_equal(model.predict(ids - (ids >= 2**32) * 2**32), want)
