"""2-D convolution, pooling, padding, cropping and upsampling against float64 references written from the
definitions (loops over output pixels and taps), and what the readers and writers refuse for them.

The TF.js and Keras fixtures (conv2d_*, pooling2d_*, crnn_*, ...) pin the libraries' own numbers; these tests pin
the maths on shapes and options the fixtures do not reach.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import KERAS_FIXTURES, TFJS_FIXTURES
from tests.support.layers import close, make, rand, tf_pads
from tfjs_interop.engines import TFJS
from tfjs_interop.errors import InputError, ModelFormatError, UnsupportedLayerError
from tfjs_interop.runtime.layers import build_layer, windows
from tfjs_interop.saving import tfjs_artifacts


def conv2d_reference(x, kernel, bias, strides, padding, dilation):
    """Channels-last 2-D convolution, one output pixel and one tap at a time, in float64."""
    batch, height, width, _ = x.shape
    kh, kw, _, filters = kernel.shape
    oh, top = tf_pads(height, (kh - 1) * dilation[0] + 1, strides[0], padding)
    ow, left = tf_pads(width, (kw - 1) * dilation[1] + 1, strides[1], padding)
    y = np.zeros((batch, oh, ow, filters))
    for b, i, j in np.ndindex(batch, oh, ow):
        for p, q in np.ndindex(kh, kw):
            r, c = i * strides[0] - top + p * dilation[0], j * strides[1] - left + q * dilation[1]
            if 0 <= r < height and 0 <= c < width:
                y[b, i, j] += x[b, r, c].astype(np.float64) @ kernel[p, q].astype(np.float64)
    return y + (0 if bias is None else bias)


CONV_OPTIONS = [
    dict(kernel_size=3, strides=1, padding="valid", dilation_rate=1),
    dict(kernel_size=[2, 4], strides=1, padding="same", dilation_rate=1),
    dict(kernel_size=3, strides=[2, 3], padding="same", dilation_rate=1),
    dict(kernel_size=[3, 2], strides=2, padding="valid", dilation_rate=1),
    dict(kernel_size=2, strides=1, padding="same", dilation_rate=[3, 2]),
    dict(kernel_size=[3, 1], strides=1, padding="valid", dilation_rate=2),
]


@pytest.mark.parametrize("options", CONV_OPTIONS, ids=lambda o: "-".join(f"{k}{v}" for k, v in o.items()))
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv2d_matches_the_reference(options, data_format):
    kh, kw = windows.int_tuple(options["kernel_size"], 2)
    kernel, bias, x = rand(kh, kw, 3, 4, low=-0.6, high=0.6), rand(4), rand(2, 9, 8, 3)
    config = {"filters": 4, "activation": "linear", "data_format": data_format, **options}
    first = data_format == "channels_first"
    layer = make("Conv2D", config, (None, 3, 9, 8) if first else (None, 9, 8, 3), [kernel, bias])
    reference = conv2d_reference(x, kernel, bias, windows.int_tuple(options["strides"], 2), options["padding"],
                                 windows.int_tuple(options["dilation_rate"], 2))
    ours = layer.call(np.moveaxis(x, -1, 1) if first else x)
    close(np.moveaxis(ours, 1, -1) if first else ours, reference, atol=1e-5)
    assert layer.output_shape((None, 3, 9, 8) if first else (None, 9, 8, 3))[1:] == ours.shape[1:]


def test_conv2d_in_blocks_of_samples_gives_the_same_numbers(monkeypatch):
    kernel, bias, x = rand(3, 3, 2, 5, low=-0.6, high=0.6), rand(5), rand(7, 6, 6, 2)
    layer = make("Conv2D", {"filters": 5, "kernel_size": 3, "padding": "same", "activation": "relu"},
                 (None, 6, 6, 2), [kernel, bias])
    whole = layer.call(x)
    monkeypatch.setattr(windows, "IM2COL_BYTES", 1000)  # about one sample per GEMM
    assert windows.sample_blocks(7, 36 * 18 * 4) == [slice(i, i + 1) for i in range(7)]
    np.testing.assert_array_equal(layer.call(x), whole)
    close(whole, np.maximum(conv2d_reference(x, kernel, bias, (1, 1), "same", (1, 1)), 0), atol=1e-5)


@pytest.mark.parametrize("activation", ["linear", "relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_conv2d_finishes_its_own_result_in_place_with_the_same_bits(activation, use_bias):
    kernel, bias, x = rand(3, 3, 2, 5, low=-0.6, high=0.6), rand(5), rand(3, 6, 7, 2)
    layer = make("Conv2D", {"filters": 5, "kernel_size": 3, "padding": "same", "activation": activation,
                            "use_bias": use_bias}, (None, 6, 7, 2), [kernel, bias] if use_bias else [kernel])
    y = windows.im2col(x, (3, 3), (1, 1), "same", (1, 1)) @ kernel.reshape(-1, 5)
    expected = layer.finish(y.reshape(3, 6, 7, 5))  # the general form: a new array for the bias and activation
    ours = layer.call(x)
    np.testing.assert_array_equal(ours, expected)
    assert not np.shares_memory(ours, x)


def test_conv2d_configs_it_cannot_run_are_refused():
    base = {"filters": 2, "kernel_size": 3}
    with pytest.raises(UnsupportedLayerError, match="groups=2"):
        build_layer("Conv2D", "c", {**base, "groups": 2})
    with pytest.raises(ModelFormatError, match="`strides`, expected 1 when dilation_rate > 1"):
        build_layer("Conv2D", "c", {**base, "strides": 2, "dilation_rate": 2})
    with pytest.raises(ModelFormatError, match="`padding`"):
        build_layer("Conv2D", "c", {**base, "padding": "causal"})
    with pytest.raises(ModelFormatError, match="`kernel_size`, expected a positive integer or a list of 2"):
        build_layer("Conv2D", "c", {"filters": 2, "kernel_size": [3, 3, 3]})
    with pytest.raises(ModelFormatError, match="at least"):
        make("Conv2D", {**base, "dilation_rate": 3}, (None, 5, 9, 2))
    free = make("Conv2D", base, (None, None, None, 2), [np.zeros((3, 3, 2, 2)), np.zeros(2)])
    with pytest.raises(InputError, match="smaller than the dilated kernel"):
        free.call(np.zeros((1, 2, 5, 2), np.float32))


def pool_reference(x, pool, strides, padding, mode):
    """Channels-last pooling over the real pixels of each window only, in float64."""
    batch, height, width, channels = x.shape
    oh, top = tf_pads(height, pool[0], strides[0], padding)
    ow, left = tf_pads(width, pool[1], strides[1], padding)
    y = np.zeros((batch, oh, ow, channels))
    for b, i, j in np.ndindex(batch, oh, ow):
        r0, c0 = i * strides[0] - top, j * strides[1] - left
        window = x[b, max(r0, 0):r0 + pool[0], max(c0, 0):c0 + pool[1]].astype(np.float64).reshape(-1, channels)
        y[b, i, j] = window.max(axis=0) if mode == "max" else window.mean(axis=0)
    return y


@pytest.mark.parametrize("class_name,mode", [("MaxPooling2D", "max"), ("AveragePooling2D", "avg")])
@pytest.mark.parametrize("pool,strides,padding", [(2, None, "valid"), ([3, 2], [2, 1], "same"), (3, 2, "same"),
                                                  ([2, 4], 3, "valid")])
def test_pooling2d_matches_the_reference(class_name, mode, pool, strides, padding):
    x = rand(2, 7, 9, 3)
    layer = make(class_name, {"pool_size": pool, "strides": strides, "padding": padding}, (None, 7, 9, 3))
    pool_t = windows.int_tuple(pool, 2)
    strides_t = pool_t if strides is None else windows.int_tuple(strides, 2)
    close(layer.call(x), pool_reference(x, pool_t, strides_t, padding, mode))
    first = make(class_name, {"pool_size": pool, "strides": strides, "padding": padding,
                              "data_format": "channels_first"}, (None, 3, 7, 9))
    close(np.moveaxis(first.call(np.moveaxis(x, -1, 1)), 1, -1), pool_reference(x, pool_t, strides_t, padding, mode))


def test_global_pooling2d_both_formats_and_keepdims():
    x = rand(2, 4, 5, 3)
    close(make("GlobalAveragePooling2D", {}, (None, 4, 5, 3)).call(x), x.astype(np.float64).mean(axis=(1, 2)))
    close(make("GlobalMaxPooling2D", {"data_format": "channels_first"}, (None, 4, 5, 3)).call(x), x.max(axis=(2, 3)))
    kept = make("GlobalAveragePooling2D", {"keepdims": True}, (None, 4, 5, 3))
    assert kept.call(x).shape == (2, 1, 1, 3) and kept.output_shape((None, 4, 5, 3)) == (None, 1, 1, 3)


def test_zero_padding_and_cropping_take_every_config_form():
    x = rand(2, 5, 6, 3)
    for padding, pads in [(1, ((1, 1), (1, 1))), ([2, 0], ((2, 2), (0, 0))), ([[0, 2], [3, 1]], ((0, 2), (3, 1)))]:
        layer = make("ZeroPadding2D", {"padding": padding}, (None, 5, 6, 3))
        np.testing.assert_array_equal(layer.call(x), np.pad(x, ((0, 0), *pads, (0, 0))))
        crop = make("Cropping2D", {"cropping": padding}, layer.output_shape((None, 5, 6, 3)))
        np.testing.assert_array_equal(crop.call(layer.call(x)), x)
    with pytest.raises(ModelFormatError, match="`padding`"):
        build_layer("ZeroPadding2D", "z", {"padding": [1, 2, 3]})
    with pytest.raises(ModelFormatError, match="larger than the cropping"):
        make("Cropping2D", {"cropping": [[3, 3], [0, 0]]}, (None, 6, 6, 3))


def bilinear_reference(x, size, half_pixel):
    """Bilinear upsampling of channels-last images, one output pixel at a time, in float64."""
    batch, height, width, channels = x.shape
    out = np.zeros((batch, height * size[0], width * size[1], channels))

    def taps(i, old, new):
        s = (i + 0.5) * old / new - 0.5 if half_pixel else i * old / new
        lo = min(max(math.floor(s), 0), old - 1)
        return lo, min(lo + 1, old - 1), min(max(s - lo, 0.0), 1.0)

    for i, j in np.ndindex(*out.shape[1:3]):
        (r0, r1, fr), (c0, c1, fc) = taps(i, height, out.shape[1]), taps(j, width, out.shape[2])
        top = x[:, r0, c0] * (1 - fc) + x[:, r0, c1] * fc
        bottom = x[:, r1, c0] * (1 - fc) + x[:, r1, c1] * fc
        out[:, i, j] = top * (1 - fr) + bottom * fr
    return out


@pytest.mark.parametrize("size", [(2, 2), (2, 3), (3, 1)])
def test_upsampling2d_nearest_and_both_bilinear_conventions(size):
    x = rand(2, 3, 4, 2)
    nearest = make("UpSampling2D", {"size": list(size)}, (None, 3, 4, 2))
    close(nearest.call(x), x.repeat(size[0], axis=1).repeat(size[1], axis=2))
    keras = make("UpSampling2D", {"size": list(size), "interpolation": "bilinear"}, (None, 3, 4, 2))
    tfjs = make("UpSampling2D", {"size": list(size), "interpolation": "bilinear"}, (None, 3, 4, 2), engine=TFJS)
    close(keras.call(x), bilinear_reference(x, size, half_pixel=True))
    close(tfjs.call(x), bilinear_reference(x, size, half_pixel=False))
    if size != (3, 1):
        assert np.max(np.abs(keras.call(x) - tfjs.call(x))) > 0.1  # the two conventions really differ
    with pytest.raises(UnsupportedLayerError, match="interpolation='bicubic'"):
        build_layer("UpSampling2D", "u", {"interpolation": "bicubic"})


def test_tfjs_files_sample_bilinear_at_pixel_corners_and_keras_files_at_centres():
    tfjs = tfjs_interop.load(TFJS_FIXTURES / "upsampling2d_bilinear").layers[1]
    keras = tfjs_interop.load(KERAS_FIXTURES / "k3_upsampling_bilinear" / "model.keras").layers[1]
    assert tfjs.options.half_pixel_centers is False and keras.options.half_pixel_centers is True


@pytest.mark.parametrize("generation", ["k2", "k3"])
def test_keras_bilinear_upsampling_is_refused_for_tfjs(generation, tmp_path):
    model = tfjs_interop.load(KERAS_FIXTURES / f"{generation}_upsampling_bilinear" / "model.h5")
    with pytest.raises(UnsupportedLayerError, match="would run this keras model differently"):
        tfjs_interop.save_tfjs(model, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_keepdims_global_pooling_is_refused_for_tfjs():
    model = tfjs_interop.load(KERAS_FIXTURES / "k3_conv2d_front_ends" / "model.keras")
    tfjs_artifacts(model)  # the fixture itself is writable
    spec = next(s for s in model.topology.layers if s.class_name == "GlobalAveragePooling2D")
    spec.config["keepdims"] = True
    with pytest.raises(UnsupportedLayerError, match=r"\(GlobalAveragePooling2D\).*keepdims=True"):
        tfjs_artifacts(model)


@pytest.mark.parametrize("generation", ["k2", "k3"])
def test_keras_convolutions_tfjs_cannot_run_are_refused(generation):
    model = tfjs_interop.load(KERAS_FIXTURES / f"{generation}_conv2d_variants_keras_only" / "model.h5")
    with pytest.raises(UnsupportedLayerError, match=r"\(Conv2DTranspose\).*output_padding"):
        tfjs_artifacts(model)
    for spec in model.topology.layers:  # without output_padding, TF.js would still ignore the dilations
        spec.config.pop("output_padding", None)
    with pytest.raises(UnsupportedLayerError, match="would run this keras model differently"):
        tfjs_artifacts(model)


def test_channels_first_separable_conv2d_with_a_bias_is_refused_for_tfjs():
    model = tfjs_interop.load(KERAS_FIXTURES / "k3_depthwise_separable" / "model.keras")
    tfjs_artifacts(model)
    spec = next(s for s in model.topology.layers if s.class_name == "SeparableConv2D")
    spec.config["data_format"] = "channels_first"
    with pytest.raises(UnsupportedLayerError, match=r"\(SeparableConv2D\).*bias along the wrong axis"):
        tfjs_artifacts(model)
