"""Core, merge, normalization, convolution/pooling and activation layers against float64 NumPy references.

Every reference here is written from the layer's definition (loops, piecewise formulas), not from the runtime's code.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.layers import close, make, rand
from tfjs_interop.errors import InputError, ModelFormatError, UnsupportedLayerError
from tfjs_interop.runtime.layers import build_layer

# --- core --------------------------------------------------------------------------------------------------

def test_dense_on_a_sequence_with_bias_activation_and_mask():
    kernel, bias, x = rand(3, 4), rand(4), rand(2, 5, 3)
    layer = make("Dense", {"units": 4, "activation": "tanh"}, (None, 5, 3), [kernel, bias])
    reference = np.zeros((2, 5, 4))
    for b, t, u in np.ndindex(2, 5, 4):
        reference[b, t, u] = np.tanh(sum(float(x[b, t, i]) * float(kernel[i, u]) for i in range(3)) + bias[u])
    close(layer.call(x), reference)
    assert layer.output_shape((None, 5, 3)) == (None, 5, 4)
    mask = np.array([[True, True, False, True, False]] * 2)
    assert layer.compute_mask(x, mask) is mask
    assert [v.path for v in layer.weights] == ["kernel", "bias"]


def test_dense_without_bias_and_bad_configs():
    layer = make("Dense", {"units": 2, "use_bias": False}, (None, 3), [np.ones((3, 2))])
    close(layer.call(np.array([[1, 2, 3]], np.float32)), [[6, 6]])
    with pytest.raises(ModelFormatError, match="`units`, expected a positive integer, got -1"):
        build_layer("Dense", "d", {"units": -1})
    with pytest.raises(ModelFormatError, match="use_bias"):
        build_layer("Dense", "d", {"units": 2, "use_bias": "yes"})
    with pytest.raises(UnsupportedLayerError, match="activation 'swishy'"):
        build_layer("Dense", "d", {"units": 2, "activation": "swishy"})
    with pytest.raises(UnsupportedLayerError, match="lora_rank"):
        build_layer("Dense", "d", {"units": 2, "lora_rank": 4})
    with pytest.raises(ModelFormatError, match="known last dimension"):
        make("Dense", {"units": 2}, (None, None))


@pytest.mark.parametrize("class_name,config", [
    ("Dropout", {"rate": 0.5}), ("SpatialDropout1D", {"rate": 0.3}), ("GaussianNoise", {"stddev": 1.0}),
    ("GaussianDropout", {"rate": 0.2}), ("AlphaDropout", {"rate": 0.1})])
def test_training_only_layers_are_identities_that_keep_the_mask(class_name, config):
    x, mask = rand(2, 4, 3), np.array([[True, False, True, True]] * 2)
    layer = make(class_name, config, (None, 4, 3))
    np.testing.assert_array_equal(layer.call(x, mask=mask), x)
    assert layer.compute_mask(x, mask) is mask
    assert layer.output_shape((None, 4, 3)) == (None, 4, 3)


def test_dropout_rate_is_validated():
    with pytest.raises(ModelFormatError, match="between 0 and 1"):
        build_layer("Dropout", "d", {"rate": 1.5})


def test_activation_layer():
    x = rand(3, 4)
    close(make("Activation", {"activation": "sigmoid"}, (None, 4)).call(x), 1 / (1 + np.exp(-x.astype(float))))
    with pytest.raises(ModelFormatError, match="activation"):
        build_layer("Activation", "a", {})


def test_flatten_channels_last_and_first():
    x = rand(2, 3, 4, 5)
    last = make("Flatten", {}, (None, 3, 4, 5))
    close(last.call(x), np.array([[x[b, i, j, k] for i in range(3) for j in range(4) for k in range(5)]
                                  for b in range(2)]))
    first = make("Flatten", {"data_format": "channels_first"}, (None, 3, 4, 5))
    # channels (axis 1) become the fastest-varying index, as after a move to channels_last
    close(first.call(x), np.array([[x[b, c, j, k] for j in range(4) for k in range(5) for c in range(3)]
                                   for b in range(2)]))
    assert last.output_shape((None, 3, 4, 5)) == (None, 60)
    assert last.output_shape((None, None, 4)) == (None, None)
    assert last.compute_mask(x, np.ones((2, 3), bool)) is None


def test_reshape_permute_repeat_vector():
    x = rand(2, 6, 4)
    reshape = make("Reshape", {"target_shape": [-1, 3]}, (None, 6, 4))
    assert reshape.output_shape((None, 6, 4)) == (None, 8, 3)
    assert reshape.output_shape((None, None, 4)) == (None, None, 3)
    close(reshape.call(x), np.array([np.asarray(x[b]).ravel().reshape(8, 3) for b in range(2)]))
    with pytest.raises(ModelFormatError, match="cannot reshape"):
        make("Reshape", {"target_shape": [5, -1]}, (None, 6, 4))
    with pytest.raises(InputError, match="cannot reshape"):
        make("Reshape", {"target_shape": [5, -1]}, (None, None, 4)).call(x)
    with pytest.raises(ModelFormatError, match="target_shape"):
        build_layer("Reshape", "r", {"target_shape": [-1, -1]})

    permute = make("Permute", {"dims": [2, 1]}, (None, 6, 4))
    assert permute.output_shape((None, 6, 4)) == (None, 4, 6)
    close(permute.call(x), np.array([[[x[b, t, f] for t in range(6)] for f in range(4)] for b in range(2)]))
    with pytest.raises(ModelFormatError, match="permutation"):
        build_layer("Permute", "p", {"dims": [0, 1]})
    with pytest.raises(ModelFormatError, match="rank 4"):
        make("Permute", {"dims": [1, 3, 2]}, (None, 6, 4))

    repeat = make("RepeatVector", {"n": 3}, (None, 4))
    v = rand(2, 4)
    assert repeat.output_shape((None, 4)) == (None, 3, 4)
    close(repeat.call(v), np.stack([v, v, v], axis=1))


def test_embedding_truncates_float_ids_and_masks_zero():
    table = rand(5, 3)
    layer = make("Embedding", {"input_dim": 5, "output_dim": 3, "mask_zero": True}, (None, 4), [table])
    ids = np.array([[1.9, 0.0, 4.2, 3.0], [0.4, 2.0, 2.99, 1.0]], np.float32)
    rows = [[1, 0, 4, 3], [0, 2, 2, 1]]  # tf.cast(float -> int32) truncates toward zero
    close(layer.call(ids), table[rows])
    np.testing.assert_array_equal(layer.compute_mask(ids, None), [[True, False, True, True], [True, True, True, True]])
    assert layer.output_shape((None, 4)) == (None, 4, 3)
    int_ids = np.array([[0, 4]], np.int32)
    close(layer.call(int_ids), table[[[0, 4]]])


def test_embedding_errors_and_input_length():
    layer = make("Embedding", {"input_dim": 5, "output_dim": 2}, (None, 3), [np.zeros((5, 2))], name="emb")
    assert layer.compute_mask(np.ones((1, 3)), np.ones((1, 3), bool)) is None
    with pytest.raises(InputError, match=r"'emb'.*index 5.*input_dim=5"):
        layer.call(np.array([[1, 5, 0]], np.int32))
    with pytest.raises(InputError, match="index -1"):
        layer.call(np.array([[-1.0, 0, 0]], np.float32))
    fixed = make("Embedding", {"input_dim": 5, "output_dim": 2, "input_length": 3}, (None, None), [np.zeros((5, 2))])
    assert fixed.output_shape((None, None)) == (None, 3, 2)
    with pytest.raises(ModelFormatError, match="input_length"):
        fixed.output_shape((None, 4))
    with pytest.raises(ModelFormatError, match="input_dim"):
        build_layer("Embedding", "e", {"output_dim": 2})


def test_masking():
    x = rand(2, 4, 3)
    x[0, 1] = 0.5
    x[1, 3] = 0.5
    x[1, 0, 0] = 0.5  # only one feature equals the mask value: not masked
    layer = make("Masking", {"mask_value": 0.5}, (None, 4, 3))
    keep = np.array([[True, False, True, True], [True, True, True, False]])
    np.testing.assert_array_equal(layer.compute_mask(x, None), keep)
    close(layer.call(x), np.where(keep[..., None], x, 0))


# --- merges ------------------------------------------------------------------------------------------------

def test_elementwise_merges():
    a, b, c = rand(2, 3, 4), rand(2, 3, 4), rand(2, 3, 4)
    shapes = [(None, 3, 4)] * 3
    a64 = a.astype(float)
    cases = {"Add": a64 + b + c, "Multiply": a64 * b * c, "Average": (a64 + b + c) / 3,
             "Maximum": np.maximum(np.maximum(a, b), c), "Minimum": np.minimum(np.minimum(a, b), c)}
    for class_name, reference in cases.items():
        layer = make(class_name, {}, shapes)
        close(layer.call([a, b, c]), reference)
        assert layer.output_shape(shapes) == (None, 3, 4)
    close(make("Subtract", {}, shapes[:2]).call([a, b]), a.astype(float) - b)
    with pytest.raises(ModelFormatError, match="exactly 2 inputs, received 3"):
        make("Subtract", {}, shapes)


def test_merge_broadcasts_lower_rank_inputs_after_the_batch_axis():
    seq, vec = rand(2, 3, 4), rand(2, 4)
    layer = make("Add", {}, [(None, 3, 4), (None, 4)])
    assert layer.output_shape([(None, 3, 4), (None, 4)]) == (None, 3, 4)
    close(layer.call([seq, vec]), np.array([[seq[b, t] + vec[b] for t in range(3)] for b in range(2)]))
    with pytest.raises(ModelFormatError, match="incompatible"):
        make("Add", {}, [(None, 3, 4), (None, 5)])


def test_merge_masks_are_anded():
    layer = make("Add", {}, [(None, 3, 2)] * 3)
    m1, m2 = np.array([[True, True, False]]), np.array([[False, True, True]])
    np.testing.assert_array_equal(layer.compute_mask([None] * 3, [m1, None, m2]), [[False, True, False]])
    assert layer.compute_mask([None] * 3, [None, None, None]) is None


def test_concatenate_values_shapes_and_masks():
    a, b = rand(2, 3, 4), rand(2, 3, 2)
    last = make("Concatenate", {}, [(None, 3, 4), (None, 3, 2)])
    close(last.call([a, b]), np.array([[list(a[i, t]) + list(b[i, t]) for t in range(3)] for i in range(2)]))
    assert last.output_shape([(None, 3, 4), (None, None, 2)]) == (None, 3, 6)
    m = np.array([[True, False, True], [False, True, True]])
    np.testing.assert_array_equal(last.compute_mask([a, b], [m, None]), m)  # unmasked input: all True
    n = np.array([[True, True, False], [True, True, True]])
    np.testing.assert_array_equal(last.compute_mask([a, b], [m, n]), m & n)
    assert last.compute_mask([a, b], [None, None]) is None

    c = rand(2, 5, 4)
    time = make("Concatenate", {"axis": 1}, [(None, 3, 4), (None, 5, 4)])
    assert time.output_shape([(None, 3, 4), (None, 5, 4)]) == (None, 8, 4)
    close(time.call([a, c]), np.array([list(a[i]) + list(c[i]) for i in range(2)]))
    k = np.array([[True] * 4 + [False], [False] + [True] * 4])
    np.testing.assert_array_equal(time.compute_mask([a, c], [m, k]), np.concatenate([m, k], axis=1))
    with pytest.raises(UnsupportedLayerError, match="masks"):
        time.compute_mask([a, c], [m, None])  # Keras cannot join a (2, 3, 1) mask to a (2, 5, 4) one either
    with pytest.raises(ModelFormatError, match="matching sizes"):
        make("Concatenate", {"axis": 1}, [(None, 3, 4), (None, 5, 2)])


def test_dot_products():
    x, y = rand(2, 5), rand(2, 5)
    layer = make("Dot", {"axes": -1}, [(None, 5), (None, 5)])
    assert layer.output_shape([(None, 5), (None, 5)]) == (None, 1)
    close(layer.call([x, y]), np.array([[sum(float(x[b, i]) * y[b, i] for i in range(5))] for b in range(2)]))
    cosine = make("Dot", {"axes": 1, "normalize": True}, [(None, 5), (None, 5)])
    reference = [[np.dot(x[b], y[b]) / np.linalg.norm(x[b].astype(float)) / np.linalg.norm(y[b].astype(float))]
                 for b in range(2)]
    close(cosine.call([x, y]), reference)
    assert layer.compute_mask([x, y], [np.ones((2, 5), bool), None]) is None

    p, q = rand(2, 4, 3), rand(2, 5, 3)
    seq = make("Dot", {"axes": [2, 2]}, [(None, 4, 3), (None, 5, 3)])
    assert seq.output_shape([(None, 4, 3), (None, 5, 3)]) == (None, 4, 5)
    close(seq.call([p, q]), np.array([[[np.dot(p[b, i].astype(float), q[b, j]) for j in range(5)] for i in range(4)]
                                      for b in range(2)]))
    r = rand(2, 4, 2)
    over_time = make("Dot", {"axes": 1}, [(None, 4, 3), (None, 4, 2)])
    assert over_time.output_shape([(None, 4, 3), (None, 4, 2)]) == (None, 3, 2)
    close(over_time.call([p, r]), np.array([p[b].astype(float).T @ r[b] for b in range(2)]))
    v = rand(2, 3)
    mixed = make("Dot", {"axes": [2, 1]}, [(None, 4, 3), (None, 3)])
    assert mixed.output_shape([(None, 4, 3), (None, 3)]) == (None, 4)
    close(mixed.call([p, v]), np.array([p[b].astype(float) @ v[b] for b in range(2)]))
    with pytest.raises(ModelFormatError, match="axis 0"):
        make("Dot", {"axes": 0}, [(None, 5), (None, 5)])
    with pytest.raises(ModelFormatError, match="one size"):
        make("Dot", {"axes": 1}, [(None, 5), (None, 4)])


# --- normalization -----------------------------------------------------------------------------------------

def test_layer_normalization_last_axis_and_several_axes():
    x, gamma, beta = rand(2, 3, 4), rand(4, low=0.5, high=1.5), rand(4)
    layer = make("LayerNormalization", {"epsilon": 1e-3}, (None, 3, 4), [gamma, beta])
    reference = np.zeros((2, 3, 4))
    for b, t in np.ndindex(2, 3):
        row = x[b, t].astype(float)
        reference[b, t] = (row - row.mean()) / np.sqrt(row.var() + 1e-3) * gamma + beta
    close(layer.call(x), reference)
    mask = np.ones((2, 3), bool)
    assert layer.compute_mask(x, mask) is mask

    g2 = rand(3, 4, low=0.5, high=1.5)
    both = make("LayerNormalization", {"axis": [1, 2], "center": False}, (None, 3, 4), [g2])
    sample = x.astype(float).reshape(2, -1)
    mean, var = sample.mean(1)[:, None, None], sample.var(1)[:, None, None]
    close(both.call(x), (x - mean) / np.sqrt(var + 1e-3) * g2)
    assert [v.path for v in both.weights] == ["gamma"]
    with pytest.raises(UnsupportedLayerError, match="rms_scaling"):
        build_layer("LayerNormalization", "n", {"rms_scaling": True})
    with pytest.raises(ModelFormatError, match="epsilon"):
        build_layer("LayerNormalization", "n", {"epsilon": -1})


def test_batch_normalization_uses_moving_statistics():
    x = rand(2, 3, 4)
    gamma, beta, mean, var = rand(4, low=0.8, high=1.2), rand(4), rand(4), rand(4, low=0.5, high=1.5)
    layer = make("BatchNormalization", {"epsilon": 0.01}, (None, 3, 4), [gamma, beta, mean, var])
    assert [(v.path, v.trainable) for v in layer.weights] == [
        ("gamma", True), ("beta", True), ("moving_mean", False), ("moving_variance", False)]
    close(layer.call(x), (x.astype(float) - mean) / np.sqrt(var.astype(float) + 0.01) * gamma + beta)

    channels = make("BatchNormalization", {"axis": 1, "scale": False}, (None, 3, 4), [beta[:3], mean[:3], var[:3]])
    reference = np.zeros((2, 3, 4))
    for b, c, t in np.ndindex(2, 3, 4):
        reference[b, c, t] = (x[b, c, t] - float(mean[c])) / np.sqrt(float(var[c]) + 1e-3) + beta[c]
    close(channels.call(x), reference)
    with pytest.raises(UnsupportedLayerError, match="renorm"):
        build_layer("BatchNormalization", "bn", {"renorm": True})
    with pytest.raises(UnsupportedLayerError, match="several axes"):
        build_layer("BatchNormalization", "bn", {"axis": [1, 2]})


# --- convolution and pooling -------------------------------------------------------------------------------

def conv1d_reference(x, kernel, bias, stride, padding, dilation):
    """Direct loops: TF pads 'same' with the smaller half first, 'causal' only on the left."""
    k, length = kernel.shape[0], x.shape[1]
    span = (k - 1) * dilation + 1
    if padding == "valid":
        out, left = (length - span) // stride + 1, 0
    elif padding == "same":
        out = -(-length // stride)
        left = max((out - 1) * stride + span - length, 0) // 2
    else:
        out, left = -(-length // stride), span - 1
    y = np.zeros((x.shape[0], out, kernel.shape[2]))
    for b, o, f in np.ndindex(*y.shape):
        total = float(bias[f])
        for j in range(k):
            t = o * stride - left + j * dilation
            if 0 <= t < length:
                total += float(np.dot(x[b, t].astype(float), kernel[j, :, f]))
        y[b, o, f] = total
    return y


@pytest.mark.parametrize("kernel_size,stride,padding,dilation", [
    (3, 1, "valid", 1), (4, 1, "same", 1), (3, 1, "same", 2), (3, 1, "valid", 2), (3, 2, "valid", 1),
    (4, 2, "same", 1), (3, 1, "causal", 2), (2, 3, "causal", 1)])
def test_conv1d(kernel_size, stride, padding, dilation):
    x, kernel, bias = rand(2, 9, 3), rand(kernel_size, 3, 4), rand(4)
    config = {"filters": 4, "kernel_size": [kernel_size], "strides": stride, "padding": padding,
              "dilation_rate": dilation}
    layer = make("Conv1D", config, (None, 9, 3), [kernel, bias])
    reference = conv1d_reference(x, kernel, bias, stride, padding, dilation)
    close(layer.call(x), reference)
    assert layer.output_shape((None, 9, 3)) == (None, reference.shape[1], 4)
    assert layer.compute_mask(x, np.ones((2, 9), bool)) is None


def test_conv1d_refusals():
    base = {"filters": 2, "kernel_size": 3}
    with pytest.raises(UnsupportedLayerError, match="groups"):
        build_layer("Conv1D", "c", {**base, "groups": 2})
    with pytest.raises(UnsupportedLayerError, match="channels_first"):
        build_layer("Conv1D", "c", {**base, "data_format": "channels_first"})
    with pytest.raises(ModelFormatError, match="strides"):
        build_layer("Conv1D", "c", {**base, "strides": 2, "dilation_rate": 2})
    with pytest.raises(ModelFormatError, match="padding"):
        build_layer("Conv1D", "c", {**base, "padding": "full"})
    with pytest.raises(ModelFormatError, match="kernel_size"):
        build_layer("Conv1D", "c", {"filters": 2, "kernel_size": [3, 3]})
    with pytest.raises(ModelFormatError, match="at least 5 steps"):
        make("Conv1D", {**base, "dilation_rate": 2}, (None, 4, 3))
    short = make("Conv1D", base, (None, None, 3), [np.zeros((3, 3, 2)), np.zeros(2)])
    with pytest.raises(InputError, match="2 steps is smaller than the dilated kernel"):
        short.call(rand(1, 2, 3))


def pool_reference(x, size, stride, padding, reduce):
    length = x.shape[1]
    if padding == "valid":
        out, left = (length - size) // stride + 1, 0
    else:
        out = -(-length // stride)
        left = max((out - 1) * stride + size - length, 0) // 2
    y = np.zeros((x.shape[0], out, x.shape[2]))
    for o in range(out):
        taps = [t for t in range(o * stride - left, o * stride - left + size) if 0 <= t < length]
        y[:, o] = reduce(x[:, taps].astype(float), axis=1)
    return y


@pytest.mark.parametrize("class_name,reduce", [("MaxPooling1D", np.max), ("AveragePooling1D", np.mean)])
@pytest.mark.parametrize("size,stride,padding", [(2, None, "valid"), (3, 2, "same"), (2, 1, "same"), (3, 2, "valid")])
def test_pooling1d(class_name, reduce, size, stride, padding):
    x = rand(2, 9, 3)
    layer = make(class_name, {"pool_size": size, "strides": stride, "padding": padding}, (None, 9, 3))
    reference = pool_reference(x, size, stride or size, padding, reduce)
    close(layer.call(x), reference)
    assert layer.output_shape((None, 9, 3)) == (None, reference.shape[1], 3)
    assert layer.compute_mask(x, np.ones((2, 9), bool)) is None


def test_pooling1d_channels_first():
    x = rand(2, 3, 9)  # (batch, channels, steps)
    layer = make("MaxPooling1D", {"pool_size": [3], "data_format": "channels_first"}, (None, 3, 9))
    assert layer.output_shape((None, 3, 9)) == (None, 3, 3)
    close(layer.call(x), np.swapaxes(pool_reference(np.swapaxes(x, 1, 2), 3, 3, "valid", np.max), 1, 2))


def test_global_pooling_with_mask_and_keepdims():
    x = rand(2, 5, 3)
    mask = np.array([[True, True, False, True, False], [False, True, True, True, True]])
    average = make("GlobalAveragePooling1D", {}, (None, 5, 3))
    close(average.call(x), x.astype(float).mean(axis=1))
    reference = np.array([x[b, mask[b]].astype(float).mean(axis=0) for b in range(2)])
    close(average.call(x, mask=mask), reference)
    assert average.compute_mask(x, mask) is None
    assert average.output_shape((None, 5, 3)) == (None, 3)
    kept = make("GlobalMaxPooling1D", {"keepdims": True}, (None, 5, 3))
    close(kept.call(x), x.astype(float).max(axis=1, keepdims=True))
    assert kept.output_shape((None, 5, 3)) == (None, 1, 3)
    first = make("GlobalAveragePooling1D", {"data_format": "channels_first"}, (None, 3, 5))
    close(first.call(np.swapaxes(x, 1, 2), mask=mask), reference)
    assert first.output_shape((None, 3, 5)) == (None, 3)


# --- activation layers -------------------------------------------------------------------------------------

def relu_reference(x, max_value=None, negative_slope=0.0, threshold=0.0):
    """Keras ReLU, piecewise: max_value above it, x above threshold, else negative_slope · (x - threshold)."""
    out = np.empty(x.shape)
    for i, v in np.ndenumerate(x.astype(float)):
        if max_value is not None and v >= max_value:
            out[i] = max_value
        elif v > threshold:
            out[i] = v
        else:
            out[i] = negative_slope * (v - threshold)
    return out


@pytest.mark.parametrize("config", [{}, {"max_value": 0.8}, {"max_value": 6.0}, {"negative_slope": 0.1},
                                    {"negative_slope": 0.2, "threshold": 0.5, "max_value": 1.5},
                                    {"threshold": 0.3}, {"negative_slope": 0.3, "max_value": 1.0}])
def test_relu(config):
    x = rand(3, 8, low=-3, high=8)
    layer = make("ReLU", config, (None, 8))
    close(layer.call(x), relu_reference(x, **config))
    mask = np.ones((3,), bool)
    assert layer.compute_mask(x, mask) is mask


def test_relu_config_errors():
    with pytest.raises(ModelFormatError, match="max_value"):
        build_layer("ReLU", "r", {"max_value": -1})
    with pytest.raises(ModelFormatError, match="negative_slope"):
        build_layer("ReLU", "r", {"negative_slope": -0.1})


def test_leaky_relu_elu_thresholded_relu():
    x = rand(4, 5)
    x64 = x.astype(float)
    close(make("LeakyReLU", {}, (None, 5)).call(x), np.where(x64 > 0, x64, 0.3 * x64))
    close(make("LeakyReLU", {"alpha": 0.2}, (None, 5)).call(x), np.where(x64 > 0, x64, 0.2 * x64))
    close(make("LeakyReLU", {"negative_slope": 0.05}, (None, 5)).call(x), np.where(x64 > 0, x64, 0.05 * x64))
    close(make("ELU", {}, (None, 5)).call(x), np.where(x64 > 0, x64, np.exp(x64) - 1))
    close(make("ELU", {"alpha": 0.7}, (None, 5)).call(x), np.where(x64 > 0, x64, 0.7 * (np.exp(x64) - 1)))
    close(make("ThresholdedReLU", {"theta": 0.4}, (None, 5)).call(x), np.where(x64 > 0.4, x64, 0))
    with pytest.raises(ModelFormatError, match="theta"):
        build_layer("ThresholdedReLU", "t", {"theta": -1})


def test_prelu_with_and_without_shared_axes():
    x = rand(2, 3, 4)
    alpha = rand(3, 4, low=0.05, high=0.5)
    layer = make("PReLU", {}, (None, 3, 4), [alpha])
    close(layer.call(x), np.where(x > 0, x, alpha * x.astype(float)))
    shared = rand(1, 4, low=0.05, high=0.5)
    layer = make("PReLU", {"shared_axes": [1]}, (None, 3, 4), [shared])
    reference = np.array([[[x[b, t, f] if x[b, t, f] > 0 else shared[0, f] * float(x[b, t, f]) for f in range(4)]
                           for t in range(3)] for b in range(2)])
    close(layer.call(x), reference)
    make("PReLU", {"shared_axes": 1}, (None, None, 4), [shared])  # a shared axis may have an unknown size
    with pytest.raises(ModelFormatError, match="known sizes"):
        make("PReLU", {}, (None, None, 4))


def test_softmax_axes_and_mask():
    x = rand(2, 3, 4)
    x64 = x.astype(float)

    def softmax(v, axis):
        e = np.exp(v - v.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    close(make("Softmax", {}, (None, 3, 4)).call(x), softmax(x64, -1))
    close(make("Softmax", {"axis": 1}, (None, 3, 4)).call(x), softmax(x64, 1))
    close(make("Softmax", {"axis": [1, 2]}, (None, 3, 4)).call(x), softmax(x64, (1, 2)))
    scores, mask = rand(2, 4), np.array([[True, True, False, True], [False, True, True, False]])
    masked = make("Softmax", {}, (None, 4)).call(scores, mask=mask)
    close(masked, np.where(mask, softmax(np.where(mask, scores.astype(float), -np.inf), -1), 0))
    with pytest.raises(InputError, match=r"mask of shape \(2, 3\) does not broadcast"):
        make("Softmax", {}, (None, 3, 4)).call(x, mask=np.ones((2, 3), bool))
    widened = make("Softmax", {}, (None, 1)).call(rand(2, 1), mask=mask[:, :3])  # (2, 1) logits, (2, 3) mask
    assert widened.shape == (2, 3)
    kept = mask[:, :3]
    close(widened, np.where(kept, 1 / kept.sum(axis=1, keepdims=True), 0.0))  # one logit spread over kept steps


def test_a_class_the_runtime_implements_is_not_listed_as_missing():
    from tfjs_interop.runtime.layers import LAYERS
    from tfjs_interop.runtime.layers.base import NOT_IMPLEMENTED

    assert not NOT_IMPLEMENTED & set(LAYERS)
    with pytest.raises(UnsupportedLayerError, match="does not implement yet"):
        build_layer("ConvLSTM3D", "c", {})


def test_an_rnn_given_no_steps_and_a_mask_says_so():
    """A mask of (2, 0) for inputs of (2, 0, 8) was called the wrong shape while it was the right one."""
    from tfjs_interop.runtime.layers.recurrent import LSTM

    layer = LSTM("lstm", "LSTM", {"units": 3})
    layer.ensure_built((None, None, 8))
    with pytest.raises(InputError, match=r"inputs of shape \(2, 0, 8\) and a mask of as many samples and steps"):
        layer.call(np.zeros((2, 0, 8), np.float32), mask=np.zeros((2, 0), bool))
