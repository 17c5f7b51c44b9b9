"""ConvLSTM2D without the real libraries: an independent per-gate reference, defaults by engine, and refusals.

The real libraries' numbers are pinned by the fixtures (fixtures/tfjs/convlstm2d_*, fixtures/keras/k?_convlstm2d_*).
"""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import ROOT
from tests.support.modelfiles import functional, input_layer, layer, write_model
from tfjs_interop.errors import InputError, ModelFormatError, UnsupportedLayerError
from tfjs_interop.formats.tfjs.reader import read_tfjs
from tfjs_interop.loading import model_from_file
from tfjs_interop.runtime.layers import build_layer
from tfjs_interop.topology import Dialect, Engine

RNG = np.random.default_rng(15)
KERAS = ROOT / "fixtures" / "keras"


def _conv_same_or_valid(x, w, strides, padding, dilation):
    """A direct 2-D convolution, tap by tap in float64: (B, H, W, C) * (kh, kw, C, F) -> (B, oh, ow, F)."""
    kh, kw = w.shape[:2]
    span = [(k - 1) * d + 1 for k, d in zip((kh, kw), dilation)]
    if padding == "same":
        out = [-(-n // s) for n, s in zip(x.shape[1:3], strides)]
        pad = [max((o - 1) * s + k - n, 0) for o, s, k, n in zip(out, strides, span, x.shape[1:3])]
        x = np.pad(x, ((0, 0), (pad[0] // 2, pad[0] - pad[0] // 2), (pad[1] // 2, pad[1] - pad[1] // 2), (0, 0)))
    out = [(n - k) // s + 1 for n, k, s in zip(x.shape[1:3], span, strides)]
    y = np.zeros((x.shape[0], *out, w.shape[-1]))
    for i in range(kh):
        for j in range(kw):
            r, c = i * dilation[0], j * dilation[1]
            patch = x[:, r:r + strides[0] * out[0]:strides[0], c:c + strides[1] * out[1]:strides[1], :]
            y += patch.astype(np.float64) @ w[i, j].astype(np.float64)
    return y


def _reference(x, kernel, recurrent, bias, strides, padding, dilation, rec_act):
    """ConvLSTM by the formulas: gates i, f, c, o; returns every step's h, (B, T, oh, ow, F)."""
    sigma = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "hard_sigmoid": lambda z: np.clip(0.2 * z + 0.5, 0, 1)}[rec_act]
    f = kernel.shape[-1] // 4
    h = c = None
    outputs = []
    for t in range(x.shape[1]):
        z = _conv_same_or_valid(x[:, t], kernel, strides, padding, dilation) + bias
        h = np.zeros(z.shape[:-1] + (f,)) if h is None else h
        c = np.zeros_like(h) if c is None else c
        z = z + _conv_same_or_valid(h, recurrent, (1, 1), "same", (1, 1))
        i, fg, g, o = (z[..., k * f:(k + 1) * f] for k in range(4))
        c = sigma(fg) * c + sigma(i) * np.tanh(g)
        h = sigma(o) * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, 1)


@pytest.mark.parametrize("options", [
    {"kernel_size": 3, "padding": "same"},
    {"kernel_size": [3, 2], "strides": [2, 1], "recurrent_activation": "hard_sigmoid"},
    {"kernel_size": 2, "dilation_rate": [1, 2], "padding": "same"},
    {"kernel_size": [2, 3], "strides": 2, "padding": "same"},
])
def test_convlstm2d_gives_the_formulas_numbers(options):
    config = {"filters": 3, "return_sequences": True, "recurrent_activation": "sigmoid", **options}
    lstm = build_layer("ConvLSTM2D", "c", config)
    lstm.ensure_built((None, 4, 7, 6, 2))
    for weight in lstm.weights:
        weight.value = RNG.uniform(-0.6, 0.6, weight.shape).astype(np.float32)
    x = RNG.uniform(-2, 2, (3, 4, 7, 6, 2)).astype(np.float32)
    got = lstm.call(x)
    want = _reference(x, *(w.value for w in lstm.weights), lstm.cell.strides, config.get("padding", "valid"),
                      lstm.cell.dilation, config["recurrent_activation"])
    assert got.shape == want.shape and lstm.output_shape((None, *x.shape[1:])) == (None, *want.shape[1:])
    assert np.abs(got - want).max() < 1e-5, np.abs(got - want).max()


def _model(tmp_path, config, keras_version, dialect, engine, mask=False):
    layers = [input_layer("x", [None, 3, 4, 4, 2])]
    source = "x"
    if mask:
        layers.append(layer("Masking", "m", [["x", 0, 0]], mask_value=0.0))
        source = "m"
    layers.append(layer("ConvLSTM2D", "c", [[source, 0, 0]], filters=2, kernel_size=3, **config))
    weights = {"c/kernel": RNG.uniform(-1, 1, (3, 3, 2, 8)).astype(np.float32),
               "c/recurrent_kernel": RNG.uniform(-1, 1, (3, 3, 2, 8)).astype(np.float32),
               "c/bias": RNG.uniform(-1, 1, 8).astype(np.float32)}
    path = write_model(tmp_path / f"{engine.value}{dialect.value}", functional(layers, ["x"], ["c"], keras_version),
                       weights)
    return model_from_file(read_tfjs(path), dialect, engine)


@pytest.mark.parametrize(("version", "dialect", "engine", "activation"), [
    ("tfjs-layers 4.22.0", Dialect.TFJS, Engine.TFJS, "hard_sigmoid"),  # LSTMCell's default, ConvLSTM2DCell's
    ("2.15.0", Dialect.KERAS2, Engine.KERAS, "hard_sigmoid"),  # tf_keras's ConvLSTM2D kept it
    ("3.6.0", Dialect.KERAS3, Engine.KERAS, "sigmoid"),
])
def test_a_missing_recurrent_activation_is_the_writers_default(tmp_path, version, dialect, engine, activation):
    model = _model(tmp_path, {}, version, dialect, engine)
    explicit = _model(tmp_path / "explicit", {"recurrent_activation": activation}, version, dialect, engine)
    for mine, theirs in zip(model.layers, explicit.layers):
        for a, b in zip(mine.weights, theirs.weights):
            b.value = a.value
    x = RNG.uniform(-3, 3, (2, 3, 4, 4, 2)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x), explicit.predict(x))


def test_a_per_pixel_mask_on_valid_convolutions_fails_as_in_tfjs_and_keras(tmp_path):
    """Masking's mask is (batch, time, rows, cols); a valid convolution makes smaller images (probe
    probe_convlstm2d_masked_valid: TF.js fails, and so does Keras)."""
    model = _model(tmp_path, {"padding": "valid"}, "tfjs-layers 4.22.0", Dialect.TFJS, Engine.TFJS, mask=True)
    with pytest.raises(InputError, match="does not broadcast"):
        model.predict(RNG.uniform(-1, 1, (2, 3, 4, 4, 2)).astype(np.float32))


def test_a_step_mask_on_images_is_refused_for_tfjs(tmp_path):
    """Keras broadcasts a (batch, time) mask over each image; TF.js's rnn() fails on it (probe
    probe_convlstm2d_step_mask), so the writer refuses a Keras model that has one."""
    model = tfjs_interop.load(KERAS / "k3_convlstm2d_step_mask" / "model.keras")
    with pytest.raises(UnsupportedLayerError, match=r"TF.js would fail.*one rank below its inputs only"):
        tfjs_interop.save_tfjs(model, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_keras3_hard_sigmoid_cannot_be_written_for_tfjs(tmp_path):
    model = tfjs_interop.load(KERAS / "k3_convlstm2d_options" / "model.keras")
    with pytest.raises(UnsupportedLayerError, match=r"\(ConvLSTM2D\).*Keras 3's 'hard_sigmoid'"):
        tfjs_interop.save_tfjs(model, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_channels_first_keeps_its_layout_at_the_boundaries():
    config = {"filters": 2, "kernel_size": [3, 2], "padding": "same", "return_sequences": True, "return_state": True}
    first = build_layer("ConvLSTM2D", "c", {**config, "data_format": "channels_first"})
    last = build_layer("ConvLSTM2D", "c", config)
    first.ensure_built((None, 3, 2, 5, 4))
    last.ensure_built((None, 3, 5, 4, 2))
    for a, b in zip(first.weights, last.weights):
        a.value = b.value = RNG.uniform(-1, 1, a.shape).astype(np.float32)
    x = RNG.uniform(-1, 1, (2, 3, 5, 4, 2)).astype(np.float32)
    h0 = [RNG.uniform(-1, 1, (2, 5, 4, 2)).astype(np.float32) for _ in range(2)]
    want = last.call(x, initial_state=h0)
    got = first.call(np.moveaxis(x, -1, 2), initial_state=[np.moveaxis(s, -1, 1) for s in h0])
    assert first.output_shape((None, 3, 2, 5, 4)) == [(None, 3, 2, 5, 4), (None, 2, 5, 4), (None, 2, 5, 4)]
    np.testing.assert_array_equal(got[0], np.moveaxis(want[0], -1, 2))
    for g, w in zip(got[1:], want[1:]):
        np.testing.assert_array_equal(g, np.moveaxis(w, -1, 1))
    with pytest.raises(UnsupportedLayerError, match="channels_first"):
        first.call(np.moveaxis(x, -1, 2), mask=np.ones((2, 3, 2, 5), bool))


def test_an_rnn_over_the_cell_is_refused_as_tfjs_refuses_it():
    """TF.js registers ConvLSTM2DCell, but its RNN takes rank-3 inputs only (probe probe_rnn_convlstm2d_cell);
    Keras's RNN cannot run its ConvLSTM cell either."""
    rnn = build_layer("RNN", "r", {"cell": {"class_name": "ConvLSTM2DCell",
                                            "config": {"filters": 2, "kernel_size": 3}}})
    with pytest.raises(InputError, match=r"\(batch, time, features\)"):
        rnn.ensure_built((None, 3, 5, 5, 2))


@pytest.mark.parametrize(("config", "words"), [
    ({"filters": 0, "kernel_size": 3}, "`filters`"),
    ({"filters": 2, "kernel_size": [3, 3, 3]}, "`kernel_size`"),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "`strides`"),
    ({"filters": 2, "kernel_size": 3, "padding": "causal"}, "`padding`"),
])
def test_bad_configs_name_the_argument(config, words):
    with pytest.raises(ModelFormatError, match=words):
        build_layer("ConvLSTM2D", "c", config)


def test_inputs_of_another_rank_or_too_small_are_refused():
    with pytest.raises(ModelFormatError, match=r"\(batch, time, rows, cols, channels\)"):
        build_layer("ConvLSTM2D", "c", {"filters": 2, "kernel_size": 3}).ensure_built((None, 3, 5, 2))
    with pytest.raises(ModelFormatError, match="at least as large"):
        build_layer("ConvLSTM2D", "c", {"filters": 2, "kernel_size": 3}).ensure_built((None, 3, 2, 5, 2))


def test_unroll_is_refused_for_tfjs(tmp_path):
    """TF.js's ConvRNN2D throws "Unrolling is not possible with convolutional RNNs" (probe_convlstm2d_unroll);
    Keras ignores unroll at inference."""
    model = _model(tmp_path, {"unroll": True, "padding": "same"}, "3.6.0", Dialect.KERAS3, Engine.KERAS)
    model.predict(RNG.uniform(-1, 1, (2, 3, 4, 4, 2)).astype(np.float32))
    with pytest.raises(UnsupportedLayerError, match=r"\(ConvLSTM2D\).*unroll"):
        tfjs_interop.save_tfjs(model, tmp_path / "out")
    assert not (tmp_path / "out").exists()
