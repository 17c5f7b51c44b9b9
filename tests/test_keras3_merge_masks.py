"""Merge masks under Keras 3's rule (OR, none if any input has none) and Keras 2's (AND of those given)."""

from __future__ import annotations

import numpy as np
import pytest

from tfjs_interop.runtime.layers import build_layer
from tfjs_interop.topology import Dialect, Engine, Origin, normalise_config

A = np.array([[True, True, False]])
B = np.array([[False, True, True]])
X = np.zeros((1, 3, 2), np.float32)


def _layer(class_name: str, dialect: Dialect):
    config = normalise_config(class_name, {"name": "m"}, Origin(dialect, Engine.KERAS))
    return build_layer(class_name, "m", config)


@pytest.mark.parametrize("class_name", ["Add", "Multiply", "Average", "Maximum", "Minimum"])
def test_elementwise_merge_masks_follow_the_keras_version(class_name):
    keras3, keras2 = _layer(class_name, Dialect.KERAS3), _layer(class_name, Dialect.KERAS2)
    np.testing.assert_array_equal(keras3.compute_mask([X, X], [A, B]), A | B)
    assert keras3.compute_mask([X, X], [A, None]) is None
    np.testing.assert_array_equal(keras2.compute_mask([X, X], [A, B]), A & B)
    np.testing.assert_array_equal(keras2.compute_mask([X, X], [A, None]), A)


def test_concatenate_masks_follow_the_keras_version():
    keras3, keras2 = _layer("Concatenate", Dialect.KERAS3), _layer("Concatenate", Dialect.KERAS2)
    np.testing.assert_array_equal(keras3.compute_mask([X, X], [A, B]), A | B)  # joined on the feature axis
    np.testing.assert_array_equal(keras2.compute_mask([X, X], [A, B]), A & B)


def test_tfjs_engine_configs_get_no_keras3_rule():
    config = normalise_config("Add", {"name": "m"}, Origin(Dialect.KERAS3, Engine.TFJS))
    assert "keras3_masks" not in config
