"""The Keras 3 operations merge layers' ``compute_mask`` records in saved graphs (ExpandDims, ZerosLike, OnesLike,
ops.concatenate; keras/src/layers/merging/concatenate.py), how they are told from layers in Keras 3's legacy H5,
which writes no modules, and how they are written back. Fixtures: ``k3_concat_masked_branches``,
``k3_concat_masked_unmasked``, ``k3_concat_masks_over_time`` (tests/fixtures/test_keras_fixtures.py)."""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import KERAS_FIXTURES, assert_matches
from tfjs_interop import ModelFormatError
from tfjs_interop.dialects import is_keras3_operation
from tfjs_interop.engines import engine_for
from tfjs_interop.parsing import normalise_config
from tfjs_interop.runtime.layers import build_layer
from tfjs_interop.topology import OP_PREFIX, Dialect, Engine, Origin

KERAS3 = Origin(Dialect.KERAS3, Engine.KERAS)


def _op(name: str, **config):
    return build_layer(OP_PREFIX + name, "op", {"name": "op", **config})


@pytest.mark.parametrize(("axis", "shape"), [(-1, (2, 3, 1)), (0, (1, 2, 3)), (1, (2, 1, 3)), (-2, (2, 1, 3)),
                                             (-3, (1, 2, 3)), ([0, -1], (1, 2, 3, 1)), ([1, 2], (2, 1, 1, 3))])
def test_expand_dims_places_axes_as_numpy_and_keras_do(axis, shape):
    """Negative axes count from the end of the output (Keras's compute_expand_dims_output_shape, NumPy)."""
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    op = _op("ExpandDims", axis=axis)
    want = np.expand_dims(x, tuple(axis) if isinstance(axis, list) else axis)
    assert want.shape == shape
    np.testing.assert_array_equal(op.call(x), want)
    assert op.output_shape((2, 3)) == shape
    assert op.output_shape((None, 3)) == tuple(None if d == 2 else d for d in shape)


def test_expand_dims_of_a_mask_keeps_it_boolean():
    mask = np.array([[True, False, True]])
    got = _op("ExpandDims", axis=-1).call(mask)
    assert got.dtype == bool and got.shape == (1, 3, 1)


@pytest.mark.parametrize("axis", [3, -4, [0, 0], [], None, True, "1"])
def test_expand_dims_refuses_axes_it_cannot_place(axis):
    with pytest.raises(ModelFormatError, match="axis"):
        _op("ExpandDims", axis=axis).output_shape((2, 3))


@pytest.mark.parametrize("name, value", [("ZerosLike", 0), ("OnesLike", 1)])
@pytest.mark.parametrize("dtype", [None, "bool", "float32", "int32", "uint8"])
def test_fill_like_gives_the_inputs_shape_in_its_dtype(name, value, dtype):
    x = np.full((2, 4, 3), 7, dtype=np.float32)
    got = _op(name, dtype=dtype).call(x)
    assert got.shape == x.shape and got.dtype == np.dtype(dtype or np.float32)
    np.testing.assert_array_equal(got, np.full(x.shape, value))
    ints = _op(name, dtype=dtype).call(np.ones((2, 5), np.int32))
    assert ints.dtype == np.dtype(dtype or np.int32)


@pytest.mark.parametrize("dtype", ["bfloat16", "string", 3])
def test_fill_like_refuses_dtypes_numpy_cannot_give(dtype):
    with pytest.raises(ModelFormatError, match="dtype"):
        _op("ZerosLike", dtype=dtype)


def test_operations_dtypes_are_not_dtype_policies():
    """An operation's ``dtype`` is its result's (``zeros_like(x, dtype="bool")``), not a layer's compute policy."""
    assert _op("Cast", dtype="bool").call(np.array([0.0, 2.0])).tolist() == [False, True]
    assert _op("OnesLike", dtype="int8").call(np.zeros(2)).dtype == np.int8


@pytest.mark.parametrize("axis", [0, 1, -1, 2, -3])
def test_concatenate_op_joins_along_its_axis(axis):
    a = np.arange(12).reshape(2, 3, 2) > 4
    b = np.ones((2, 3, 2), bool)
    op = _op("Concatenate", axis=axis)
    got = op.call([a, b])
    np.testing.assert_array_equal(got, np.concatenate([a, b], axis=axis))
    assert got.dtype == bool
    assert op.output_shape([a.shape, b.shape]) == got.shape
    free = list(a.shape)
    free[axis] = None
    assert op.output_shape([tuple(free), b.shape])[axis] is None


def test_concatenate_op_defaults_to_keras_axis_0_and_keras_result_types():
    a, b = np.zeros((1, 2), np.float32), np.ones((2, 2), np.int32)
    got = _op("Concatenate").call([a, b])
    assert got.shape == (3, 2) and got.dtype == np.float32  # Keras's result_type, not NumPy's float64
    assert _op("Concatenate").call([b, b]).dtype == np.int32
    assert _op("Concatenate").call([a, np.zeros((1, 2), np.float64)]).dtype == np.float64


def test_concatenate_op_refuses_tensors_that_do_not_join():
    op = _op("Concatenate", axis=-1)
    with pytest.raises(ModelFormatError, match="sizes must match"):
        op.output_shape([(None, 3, 2), (None, 4, 2)])
    with pytest.raises(ModelFormatError, match="axis"):
        op.output_shape([(None, 3, 2), (None, 3)])
    with pytest.raises(ModelFormatError, match="axis"):
        _op("Concatenate", axis=3).output_shape([(None, 3, 2), (None, 3, 2)])


def test_legacy_h5_concatenate_is_an_operation_only_by_its_config():
    """Keras 3's legacy H5 names the mask's ops.concatenate as the Concatenate layer, without modules; a Keras 3
    layer's config always has ``trainable`` and ``dtype`` (Layer.get_config), an operation's never."""
    op = {"name": "concatenate_1", "axis": -1}
    layer = {"name": "concatenate", "trainable": True, "dtype": "float32", "axis": -1}
    assert is_keras3_operation("Concatenate", None, op, Dialect.KERAS3)
    assert not is_keras3_operation("Concatenate", None, layer, Dialect.KERAS3)
    assert not is_keras3_operation("Concatenate", None, op, Dialect.KERAS2)
    assert not is_keras3_operation("Concatenate", "keras.layers", op, Dialect.KERAS3)
    assert is_keras3_operation("Concatenate", "keras.src.ops.numpy", layer, Dialect.KERAS3)
    assert is_keras3_operation("ExpandDims", None, {"axis": -1}, Dialect.KERAS3)


@pytest.mark.parametrize("file", ["model.keras", "model.h5"])
def test_keras3_files_hold_the_mask_ops_as_operations(file):
    model = tfjs_interop.load(KERAS_FIXTURES / "k3_concat_masked_branches" / file)
    classes = {layer.class_name for layer in model.layers}
    assert {"Concatenate", "op.Concatenate", "op.ExpandDims", "op.ZerosLike", "op.LogicalOr", "op.Any"} <= classes


def test_keras3_concatenate_layer_joins_masks_over_time_as_keras3_does():
    """Keras 3 broadcasts a lower-rank mask to its input's shape (``logical_or(expand_dims(m, -1),
    zeros_like(x))``) before joining, so masks join along a time axis; Keras 2 and TF.js cannot."""
    origin = KERAS3
    layer = build_layer("Concatenate", "c", normalise_config("Concatenate", {"name": "c", "axis": 1}, origin),
                        engine_for(origin))
    x, y = np.zeros((2, 3, 4), np.float32), np.zeros((2, 2, 4), np.float32)
    m = np.array([[True, False, True], [False, False, False]])
    np.testing.assert_array_equal(layer.compute_mask([x, y], [m, None]),
                                  np.concatenate([m, np.ones((2, 2), bool)], axis=1))
    keras2 = Origin(Dialect.KERAS2, Engine.KERAS)
    layer2 = build_layer("Concatenate", "c", normalise_config("Concatenate", {"name": "c", "axis": 1}, keras2),
                         engine_for(keras2))
    with pytest.raises(tfjs_interop.UnsupportedLayerError, match="Keras 2 and TF.js cannot concatenate"):
        layer2.compute_mask([x, y], [m, None])


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_the_ops_are_written_back_as_keras3_writes_them(suffix, tmp_path):
    case = KERAS_FIXTURES / "k3_concat_masked_branches"
    model = tfjs_interop.load(case / "model.keras")
    layers = model.get_config()["layers"]
    joined = next(entry for entry in layers if entry["module"] == "keras.src.ops.numpy"
                  and entry["class_name"] == "Concatenate")
    (args,) = joined["inbound_nodes"][0]["args"]  # one list of the masks, as ops.concatenate(xs) takes them
    assert len(args) == 3 and all(a["class_name"] == "__keras_tensor__" for a in args)
    out = tmp_path / f"again{suffix}"
    tfjs_interop.save_keras(model, out)
    assert_matches(tfjs_interop.load(out), case)


def test_tfjs_cannot_express_the_ops_and_save_tfjs_says_why(tmp_path):
    model = tfjs_interop.load(KERAS_FIXTURES / "k3_concat_masks_over_time" / "model.keras")
    with pytest.raises(tfjs_interop.UnsupportedLayerError, match="Concatenate"):
        tfjs_interop.save_tfjs(model, tmp_path / "web")
    assert not (tmp_path / "web").exists()


def _graph(keras, kind):
    """A Keras 3 model whose saved graph holds merge masks' ops (or the same ops called by hand), and its inputs."""
    L, ops = keras.layers, keras.ops
    rng = np.random.default_rng(5)
    ids = rng.integers(1, 9, size=(4, 6)).astype(np.int32)
    ids[0, :2], ids[1, 4:], ids[3] = 0, 0, 0  # pre- and post-padding, a sample masked at every step
    x = rng.normal(size=(4, 6, 3)).astype(np.float32)
    x[0, 3:], x[2, :4], x[3] = 0, 0, 0
    t, a, b = keras.Input((6,), dtype="int32"), keras.Input((6, 3)), keras.Input((6, 3))
    e = L.Embedding(9, 3, mask_zero=True)(t)
    if kind == "three_inputs":  # masked, unmasked, masked: Keras 3's mask is then all true
        y, inputs, feeds = L.Concatenate()([e, L.Dense(2)(a), L.Masking()(b)]), [t, a, b], [ids, x, x[::-1].copy()]
    elif kind == "two_masks":
        y, inputs, feeds = L.Concatenate(axis=-1)([e, L.Masking()(a)]), [t, a], [ids, x]
    elif kind == "over_time":
        y, inputs, feeds = L.Concatenate(axis=1)([L.Masking()(a), e, L.Dense(3)(b)]), [a, t, b], [x, ids, x]
    elif kind == "after_bidirectional":
        seq = L.Bidirectional(L.GRU(2, return_sequences=True))(e)
        y, inputs, feeds = L.Concatenate()([seq, L.Dense(2)(seq), e]), [t], [ids]
    else:  # the ops called on tensors by hand, a tuple axis among them
        c = keras.Input((6,))
        y = ops.concatenate([a, ops.expand_dims(c, (-1,)), ops.zeros_like(a, dtype="float32"),
                             ops.expand_dims(ops.ones_like(c), axis=2)], axis=-1)
        y, inputs, feeds = L.Masking()(y), [a, c], [x, x[..., 0].copy()]
    model = keras.Model(inputs, L.LSTM(3, return_sequences=True)(L.Dense(4)(y)))
    model.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype(np.float32) for w in model.get_weights()])
    return model, feeds


@pytest.mark.tensorflow
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("kind", ["three_inputs", "two_masks", "over_time", "after_bidirectional", "by_hand"])
def test_keras3_graphs_with_mask_ops_give_kerass_numbers(kind, suffix, tmp_path):
    from tests.support.keras_live import keras, keras_predict

    model, feeds = _graph(keras, kind)
    model.save(tmp_path / f"m{suffix}")
    want = keras_predict(model, feeds)[0]
    np.testing.assert_allclose(tfjs_interop.load(tmp_path / f"m{suffix}").predict(feeds), want, atol=1e-5)
