"""Merge masks under Keras 3's rule (OR, none if any input has none) and Keras 2's (AND of those given)."""

from __future__ import annotations

import numpy as np
import pytest

from tfjs_interop.engines import engine_for
from tfjs_interop.parsing import normalise_config
from tfjs_interop.runtime.layers import build_layer
from tfjs_interop.topology import Dialect, Engine, Origin

A = np.array([[True, True, False]])
B = np.array([[False, True, True]])
X = np.zeros((1, 3, 2), np.float32)


def _layer(class_name: str, dialect: Dialect):
    origin = Origin(dialect, Engine.KERAS)
    return build_layer(class_name, "m", normalise_config(class_name, {"name": "m"}, origin), engine_for(origin))


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


def test_tfjs_engine_gets_no_keras3_rule():
    origin = Origin(Dialect.KERAS3, Engine.TFJS)
    layer = build_layer("Add", "m", normalise_config("Add", {"name": "m"}, origin), engine_for(origin))
    assert "keras3_masks" not in layer.config and layer.options.keras3_masks is False


@pytest.mark.tensorflow
@pytest.mark.parametrize("class_name", ["Add", "Multiply", "Maximum", "Minimum", "Average", "Subtract"])
@pytest.mark.parametrize("masked", ["one", "both"])
def test_keras3_merge_values_at_masked_steps_are_kerass(class_name, masked, tmp_path):
    """Keras 3's Multiply counts a masked entry as 1 (0 where every input is masked), Maximum and Minimum take the
    other input's value there: a Keras 3 file with such a merge runs with real Keras 3's numbers."""
    from keras_live import keras, keras_predict

    import tfjs_interop

    L = keras.layers
    a, b = keras.Input((6, 3)), keras.Input((6, 3))
    left = L.Dense(3)(L.Masking(0.0)(a) if masked == "both" else a)
    live = keras.Model([a, b], L.Dense(2)(getattr(L, class_name)()([left, L.Masking(0.0)(b)])))
    rng = np.random.default_rng(3)
    live.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in live.get_weights()])
    xa, xb = (rng.normal(size=(3, 6, 3)).astype(np.float32) for _ in range(2))
    xa[0, 3:], xb[0, 4:], xb[1, :2] = 0, 0, 0  # post- and pre-padding, masks that differ; row 2 unpadded
    live.save(tmp_path / "m.keras")
    ours = tfjs_interop.load(tmp_path / "m.keras").predict([xa, xb])
    np.testing.assert_allclose(ours, keras_predict(live, [xa, xb])[0], atol=1e-5)
