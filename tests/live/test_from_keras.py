"""from_keras: a live Keras 3 or tf_keras model becomes a runtime model giving Keras's numbers, then a TF.js one."""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_interop
from tests.support.keras_live import keras, keras_predict

pytestmark = pytest.mark.tensorflow


def _fill(model, seed: int) -> None:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])


def _masked_model(k):
    x = k.Input((7,), dtype="int32")
    y = k.layers.Embedding(20, 4, mask_zero=True)(x)
    y = k.layers.LSTM(6, return_sequences=True)(y)
    y = k.layers.GRU(5, reset_after=False)(y)
    return k.Model(x, k.layers.Dense(2)(y))


def _tokens() -> np.ndarray:
    x = np.random.default_rng(1).integers(1, 20, (4, 7)).astype(np.int32)
    x[0, :3] = 0
    x[1, 5:] = 0
    return x


@pytest.mark.parametrize("generation", ["keras3", "tf_keras"])
def test_live_keras_model_gives_kerass_numbers_and_writes_for_tfjs(generation, tmp_path):
    if generation == "tf_keras":
        import tf_keras as k  # in the test extra, as TensorFlow is
    else:
        k = keras
    live = _masked_model(k)
    _fill(live, 3)
    x = _tokens()
    want = np.asarray(live(x, training=False)) if generation == "tf_keras" else keras_predict(live, [x])[0]
    model = tfjs_interop.from_keras(live)
    np.testing.assert_allclose(model.predict(x), want, atol=1e-5, rtol=0)
    assert "live Keras model" in model.source
    tfjs_interop.save_tfjs(model, tmp_path / "web")
    np.testing.assert_allclose(tfjs_interop.load(tmp_path / "web").predict(x), want, atol=1e-5, rtol=0)


def test_lambda_in_a_live_model_is_refused():
    x = keras.Input((3, 2))
    live = keras.Model(x, keras.layers.Lambda(lambda t: t * 2)(x))
    with pytest.raises(tfjs_interop.UnsupportedLayerError, match="Lambda"):
        tfjs_interop.from_keras(live)


def test_something_else_is_refused():
    with pytest.raises(tfjs_interop.InputError, match="takes a Keras model"):
        tfjs_interop.from_keras(object())
