"""3-D convolution, transposed convolution and pooling against float64 references written from the definitions
(loops over output voxels and taps), and what the readers and writers refuse for them.

The TF.js and Keras fixtures (conv3d_*, pooling3d_*, k*_conv3d_*) pin the libraries' own numbers; these tests pin
the maths on options the fixtures do not reach, and the bounded blocks.
"""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import KERAS_FIXTURES
from tests.support.layers import close, make, rand, tf_pads
from tfjs_interop.engines import TFJS
from tfjs_interop.errors import InputError, ModelFormatError, UnsupportedLayerError
from tfjs_interop.runtime.layers import build_layer, windows
from tfjs_interop.saving import tfjs_artifacts


def conv3d_reference(x, kernel, bias, strides, padding, dilation):
    """Channels-last 3-D convolution, one output voxel and one tap at a time, in float64."""
    spatial, taps = x.shape[1:4], kernel.shape[:3]
    sizes = [tf_pads(n, (k - 1) * d + 1, s, padding) for n, k, s, d in zip(spatial, taps, strides, dilation)]
    y = np.zeros((x.shape[0], *(o for o, _ in sizes), kernel.shape[-1]))
    for b, *out in np.ndindex(*y.shape[:4]):
        for tap in np.ndindex(*taps):
            at = [o * s - before + t * d for o, s, (_, before), t, d in zip(out, strides, sizes, tap, dilation)]
            if all(0 <= a < n for a, n in zip(at, spatial)):
                y[(b, *out)] += x[(b, *at)].astype(np.float64) @ kernel[tap].astype(np.float64)
    return y + (0 if bias is None else bias)


CONV_OPTIONS = [
    dict(kernel_size=3, strides=1, padding="valid", dilation_rate=1),
    dict(kernel_size=[2, 3, 2], strides=[1, 2, 2], padding="same", dilation_rate=1),
    dict(kernel_size=2, strides=1, padding="same", dilation_rate=[2, 1, 3]),
    dict(kernel_size=[1, 2, 3], strides=2, padding="valid", dilation_rate=1),
]


@pytest.mark.parametrize("options", CONV_OPTIONS, ids=lambda o: "-".join(f"{k}{v}" for k, v in o.items()))
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv3d_matches_the_reference(options, data_format):
    kd, kh, kw = windows.int_tuple(options["kernel_size"], 3)
    kernel, bias, x = rand(kd, kh, kw, 2, 3, low=-0.6, high=0.6), rand(3), rand(2, 5, 6, 7, 2)
    first = data_format == "channels_first"
    shape = (None, 2, 5, 6, 7) if first else (None, 5, 6, 7, 2)
    layer = make("Conv3D", {"filters": 3, "data_format": data_format, **options}, shape, [kernel, bias])
    reference = conv3d_reference(x, kernel, bias, windows.int_tuple(options["strides"], 3), options["padding"],
                                 windows.int_tuple(options["dilation_rate"], 3))
    ours = layer.call(np.moveaxis(x, -1, 1) if first else x)
    close(np.moveaxis(ours, 1, -1) if first else ours, reference, atol=1e-5)
    assert layer.output_shape(shape)[1:] == ours.shape[1:]


def conv3d_transpose_reference(x, kernel, bias, strides, padding):
    """Channels-last transposed 3-D convolution: each input voxel adds x · kernel[tap]ᵀ at its output position;
    the output is n·s (same) or n·s + max(k - s, 0) (valid) long, ``same`` cutting the smaller half of the excess
    before (as TF), in float64."""
    spatial, taps = x.shape[1:4], kernel.shape[:3]
    full = [(n - 1) * s + k for n, s, k in zip(spatial, strides, taps)]
    sizes = [n * s + (max(k - s, 0) if padding == "valid" else 0) for n, s, k in zip(spatial, strides, taps)]
    cut = [max(f - o, 0) // 2 for f, o in zip(full, sizes)]
    y = np.zeros((x.shape[0], *(max(f, c + o) for f, c, o in zip(full, cut, sizes)), kernel.shape[3]))
    for b, *at in np.ndindex(*x.shape[:4]):
        for tap in np.ndindex(*taps):
            out = tuple(a * s + t for a, s, t in zip(at, strides, tap))
            y[(b, *out)] += kernel[tap].astype(np.float64) @ x[(b, *at)].astype(np.float64)
    return y[:, cut[0]:cut[0] + sizes[0], cut[1]:cut[1] + sizes[1], cut[2]:cut[2] + sizes[2]] + bias


@pytest.mark.parametrize("kernel_size,strides,padding", [(3, 1, "valid"), ([2, 3, 2], [2, 1, 2], "same"),
                                                         (2, 3, "valid"), ([3, 1, 2], 2, "same")])
def test_conv3d_transpose_matches_the_reference(kernel_size, strides, padding):
    taps = windows.int_tuple(kernel_size, 3)
    kernel, bias, x = rand(*taps, 3, 2, low=-0.6, high=0.6), rand(3), rand(2, 3, 4, 3, 2)
    config = {"filters": 3, "kernel_size": kernel_size, "strides": strides, "padding": padding}
    layer = make("Conv3DTranspose", config, (None, 3, 4, 3, 2), [kernel, bias])
    reference = conv3d_transpose_reference(x, kernel, bias, windows.int_tuple(strides, 3), padding)
    ours = layer.call(x)
    close(ours, reference, atol=1e-5)
    assert layer.output_shape((None, 3, 4, 3, 2))[1:] == ours.shape[1:]
    first = make("Conv3DTranspose", {**config, "data_format": "channels_first"}, (None, 2, 3, 4, 3), [kernel, bias])
    np.testing.assert_array_equal(np.moveaxis(first.call(np.moveaxis(x, -1, 1)), 1, -1), ours)


def pool3d_reference(x, pool, strides, padding, mode):
    """Channels-last 3-D pooling over the real voxels of each window only, in float64."""
    spatial = x.shape[1:4]
    sizes = [tf_pads(n, k, s, padding) for n, k, s in zip(spatial, pool, strides)]
    y = np.zeros((x.shape[0], *(o for o, _ in sizes), x.shape[-1]))
    for b, *out in np.ndindex(*y.shape[:4]):
        lo = [o * s - before for o, s, (_, before) in zip(out, strides, sizes)]
        box = x[(b, *(slice(max(a, 0), a + k) for a, k in zip(lo, pool)))].astype(np.float64).reshape(-1, x.shape[-1])
        y[(b, *out)] = box.max(axis=0) if mode == "max" else box.mean(axis=0)
    return y


@pytest.mark.parametrize("class_name,mode", [("MaxPooling3D", "max"), ("AveragePooling3D", "avg")])
@pytest.mark.parametrize("pool,strides,padding", [(2, None, "valid"), ([2, 3, 2], [1, 2, 1], "same"),
                                                  (3, 2, "same"), ([1, 2, 4], 3, "valid")])
def test_pooling3d_matches_the_reference(class_name, mode, pool, strides, padding):
    x = rand(2, 5, 7, 6, 2)
    config = {"pool_size": pool, "strides": strides, "padding": padding}
    pool_t = windows.int_tuple(pool, 3)
    strides_t = pool_t if strides is None else windows.int_tuple(strides, 3)
    reference = pool3d_reference(x, pool_t, strides_t, padding, mode)
    close(make(class_name, config, (None, 5, 7, 6, 2)).call(x), reference)
    first = make(class_name, {**config, "data_format": "channels_first"}, (None, 2, 5, 7, 6))
    close(np.moveaxis(first.call(np.moveaxis(x, -1, 1)), 1, -1), reference)


@pytest.mark.parametrize("class_name,config,weights", [
    ("Conv3D", {"filters": 3, "kernel_size": 2, "padding": "same"}, [(2, 2, 2, 2, 3), (3,)]),
    ("Conv3DTranspose", {"filters": 3, "kernel_size": 2, "strides": 2}, [(2, 2, 2, 3, 2), (3,)]),
    ("MaxPooling3D", {"pool_size": 2, "padding": "same"}, []),
    ("AveragePooling3D", {"pool_size": [2, 1, 3], "strides": 1, "padding": "same"}, []),
])
def test_blocks_of_samples_give_the_same_numbers(monkeypatch, class_name, config, weights):
    layer = make(class_name, config, (None, 3, 4, 5, 2), [rand(*s, low=-0.6, high=0.6) for s in weights])
    x = rand(5, 3, 4, 5, 2)
    whole = layer.call(x)
    monkeypatch.setattr(windows, "IM2COL_BYTES", 1)  # one sample per block
    np.testing.assert_array_equal(layer.call(x), whole)


def test_conv3d_configs_it_cannot_run_are_refused():
    base = {"filters": 2, "kernel_size": 3}
    with pytest.raises(UnsupportedLayerError, match="groups=2"):
        build_layer("Conv3D", "c", {**base, "groups": 2})
    with pytest.raises(ModelFormatError, match="`strides`, expected 1 when dilation_rate > 1"):
        build_layer("Conv3D", "c", {**base, "strides": 2, "dilation_rate": 2})
    with pytest.raises(ModelFormatError, match="`padding`"):
        build_layer("Conv3D", "c", {**base, "padding": "causal"})
    with pytest.raises(ModelFormatError, match="`kernel_size`, expected a positive integer or a list of 3"):
        build_layer("Conv3D", "c", {"filters": 2, "kernel_size": [3, 3]})
    with pytest.raises(ModelFormatError, match="`pool_size`, expected a positive integer or a list of 3"):
        build_layer("MaxPooling3D", "p", {"pool_size": [2, 2]})
    with pytest.raises(ModelFormatError, match="`output_padding`"):
        build_layer("Conv3DTranspose", "t", {**base, "strides": 2, "output_padding": [1, 2, 1]})
    with pytest.raises(ModelFormatError, match=r"expected an input \(batch, depth, rows, cols, channels\)"):
        make("Conv3D", base, (None, 5, 5, 2))
    with pytest.raises(ModelFormatError, match="at least"):
        make("Conv3D", {**base, "dilation_rate": 3}, (None, 9, 5, 9, 2))
    free = make("Conv3D", base, (None, None, None, None, 2), [np.zeros((3, 3, 3, 2, 2)), np.zeros(2)])
    with pytest.raises(InputError, match="smaller than the dilated kernel"):
        free.call(np.zeros((1, 4, 2, 5, 2), np.float32))


@pytest.mark.parametrize("class_name,config,weights", [
    ("Conv3D", {"filters": 2, "kernel_size": 1, "strides": 2, "padding": "same"}, [(1, 1, 1, 2, 2), (2,)]),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 1, "strides": 2, "padding": "same"}, [(1, 1, 1, 2, 2), (2,)]),
    ("MaxPooling3D", {"pool_size": 1, "strides": 2, "padding": "same"}, []),
    ("AveragePooling3D", {"pool_size": [1, 2, 1], "strides": 2, "padding": "same"}, []),
])
def test_tfjs_starts_3d_windows_smaller_than_their_strides_later(class_name, config, weights):
    """TF.js's 3-D same padding is not clamped at 0: on 4 steps, a window of 1 with stride 2 needs -1 (TF: 0),
    half of which (rounded down: -1) goes first, so TF.js reads steps 1 and 3 where Keras reads 0 and 2."""
    values = [rand(*s, low=-0.6, high=0.6) for s in weights]
    tfjs = make(class_name, config, (None, 4, 4, 4, 2), values, engine=TFJS)
    keras = make(class_name, config, (None, 4, 4, 4, 2), values)
    x = rand(2, 4, 4, 4, 2)
    assert tfjs.options.unclamped_same and not keras.options.unclamped_same
    if class_name == "MaxPooling3D":
        np.testing.assert_array_equal(tfjs.call(x), x[:, 1::2, 1::2, 1::2])
        np.testing.assert_array_equal(keras.call(x), x[:, ::2, ::2, ::2])
    assert tfjs.call(x).shape == keras.call(x).shape and np.max(np.abs(tfjs.call(x) - keras.call(x))) > 0.1


def test_tfjs_computes_conv3d_transpose_without_its_dilation():
    """TF.js 4.22's Conv3DTranspose passes no dilation to its kernel (and its config drops dilationRate)."""
    config = {"filters": 2, "kernel_size": 2, "dilation_rate": 2}
    kernel, bias, x = rand(2, 2, 2, 2, 2), rand(2), rand(1, 3, 3, 3, 2)
    tfjs = make("Conv3DTranspose", config, (None, 3, 3, 3, 2), [kernel, bias], engine=TFJS)
    undilated = make("Conv3DTranspose", {**config, "dilation_rate": 1}, (None, 3, 3, 3, 2), [kernel, bias])
    keras = make("Conv3DTranspose", config, (None, 3, 3, 3, 2), [kernel, bias])
    np.testing.assert_array_equal(tfjs.call(x), undilated.call(x))
    assert keras.call(x).shape == (1, 5, 5, 5, 2) and tfjs.call(x).shape == (1, 4, 4, 4, 2)


@pytest.mark.parametrize("generation", ["k2", "k3"])
def test_keras_3d_convolutions_tfjs_cannot_run_are_refused(generation):
    model = tfjs_interop.load(KERAS_FIXTURES / f"{generation}_conv3d_keras_only" / "model.h5")
    with pytest.raises(UnsupportedLayerError, match=r"\(Conv3DTranspose\).*output_padding"):
        tfjs_artifacts(model)
    transposes = [spec for spec in model.topology.layers if spec.class_name == "Conv3DTranspose"]
    for spec in transposes:
        spec.config.pop("output_padding", None)
    # tf_keras drops a Conv3DTranspose's dilation_rate (and computes without it, as TF.js); Keras 3 keeps it
    assert ("dilation_rate" in transposes[1].config) == (generation == "k3")
    with pytest.raises(UnsupportedLayerError, match="would run this keras model differently"):
        tfjs_artifacts(model)  # TF.js would ignore the dilation (Keras 3), and shift the same-padded windows
