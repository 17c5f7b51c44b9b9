"""Rescaling, Resizing, CenterCrop, CategoryEncoding and RandomWidth: references from the definitions, TF.js's own
ways (pinned by fixtures/tfjs/center_crop and the probes), and what the writers refuse."""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import KERAS_FIXTURES, TFJS_FIXTURES
from tests.support.layers import close, make, rand
from tests.support.modelfiles import functional, input_layer, layer, write_model
from tfjs_interop.engines import TFJS
from tfjs_interop.errors import InputError, UnsupportedLayerError
from tfjs_interop.parsing import normalise_config
from tfjs_interop.runtime.layers import build_layer
from tfjs_interop.saving import tfjs_artifacts
from tfjs_interop.topology import Dialect, Engine, Origin


def test_rescaling_computes_in_float32_and_casts_integers():
    x = rand(2, 3, 4, 2, low=0, high=255)
    layer = make("Rescaling", {"scale": 1 / 127.5, "offset": -1.0}, (None, 3, 4, 2))
    np.testing.assert_array_equal(layer.call(x), x * np.float32(1 / 127.5) + np.float32(-1))
    ids = np.array([[1, 2, 3]], np.int32)
    assert make("Rescaling", {"scale": [1, 2, 3]}, (None, 3)).call(ids).tolist() == [[1.0, 4.0, 9.0]]


def test_center_crop_keras_slices_and_tfjs_samples_its_box():
    x = rand(2, 7, 8, 2)
    keras = make("CenterCrop", {"height": 3, "width": 7}, (None, 7, 8, 2))
    np.testing.assert_array_equal(keras.call(x), x[:, 2:5, 0:7])
    tfjs = make("CenterCrop", {"height": 3, "width": 7}, (None, 7, 8, 2), engine=TFJS)
    # TF.js moves the one-column margin left (columns 1..7) and samples rows (H-1)/H·(2 + 1.5 y), rounded
    np.testing.assert_array_equal(tfjs.call(x), x[:, [2, 3, 4]][:, :, 1:8])
    with pytest.raises(InputError, match="larger than the image.*TF.js 4.22 fails"):
        make("CenterCrop", {"height": 9, "width": 8}, (None, 7, 8, 2), engine=TFJS).call(x)
    larger = make("CenterCrop", {"height": 9, "width": 10}, (None, 7, 8, 2))  # Keras resizes
    assert larger.call(x).shape == (2, 9, 10, 2)


def test_tfjs_center_crop_fixture_differs_from_an_exact_crop():
    model = tfjs_interop.load(TFJS_FIXTURES / "center_crop")
    crops = [layer for layer in model.layers if layer.class_name == "CenterCrop"]
    assert all(layer.options.tfjs_crop_and_resize for layer in crops)
    x = np.load(TFJS_FIXTURES / "center_crop" / "call0_input0.npy")
    exact = [x[:, 1:5, 1:6], x[:, 2:5, 0:7], x[:, :, 1:7]]
    ours = model.predict(x)
    assert any(not np.array_equal(a, b) for a, b in zip(ours, exact))


def category_reference(ids, n, mode):
    out = np.zeros((ids.shape[0], n))
    for b, token in np.ndindex(*ids.shape):
        out[b, ids[b, token]] += 1
    return np.minimum(out, 1) if mode != "count" else out


@pytest.mark.parametrize("mode", ["multi_hot", "count"])
def test_category_encoding_matches_the_reference(mode):
    ids = np.random.default_rng(3).integers(0, 6, (4, 5))
    layer = make("CategoryEncoding", {"num_tokens": 6, "output_mode": mode}, (None, 5))
    close(layer.call(ids), category_reference(ids, 6, mode))
    assert layer.output_shape((None, 5)) == (None, 6)


def test_category_encoding_one_hot_shapes_and_bad_ids():
    one_hot = make("CategoryEncoding", {"num_tokens": 4, "output_mode": "one_hot"}, (None, 1))
    np.testing.assert_array_equal(one_hot.call(np.array([[2], [0]])), np.eye(4)[[2, 0]])
    assert one_hot.output_shape((None, 3)) == (None, 3, 4) and one_hot.output_shape((None, 1)) == (None, 4)
    with pytest.raises(InputError, match=r"ids must be in \[0, 4\).*found 0..4"):
        one_hot.call(np.array([[0], [4]]))
    with pytest.raises(UnsupportedLayerError, match="output_mode='tf_idf'"):
        build_layer("CategoryEncoding", "c", {"num_tokens": 4, "output_mode": "tf_idf"})


def test_tfjs_mode_names_are_normalised():
    config = {"numTokens": 3, "outputMode": "multiHot"}
    assert normalise_config("CategoryEncoding", config, Origin(Dialect.TFJS, Engine.TFJS))["output_mode"] == \
        "multi_hot"


def test_resizing_in_a_tfjs_file_is_refused_with_tfjs_reason():
    with pytest.raises(UnsupportedLayerError, match="Resizing in a TF.js model: TF.js 4.22 fails here"):
        build_layer("Resizing", "r", {"height": 2, "width": 2}, TFJS)
    with pytest.raises(UnsupportedLayerError, match="interpolation='bicubic'"):
        build_layer("Resizing", "r", {"height": 2, "width": 2, "interpolation": "bicubic"})


@pytest.mark.parametrize("case,why", [("image_preprocessing", r"\(Resizing\).*fails in predict"),
                                      ("category_encoding", r"\(CategoryEncoding\).*overwrites the shape")])
@pytest.mark.parametrize("generation", ["k2", "k3"])
def test_keras_preprocessing_tfjs_cannot_run_is_refused(generation, case, why):
    model = tfjs_interop.load(KERAS_FIXTURES / f"{generation}_{case}" / "model.h5")
    with pytest.raises(UnsupportedLayerError, match=why):
        tfjs_artifacts(model)


@pytest.mark.parametrize("factor,why", [
    (0, "a positive number or a list of 2 numbers"), ([0.2], "a positive number or a list of 2 numbers"),
    ("a", "a positive number or a list of 2 numbers"), (2, "values of at least -1"),
    ([-1.5, 0.2], "values of at least -1"), ([0.3, 0.2], "a lower bound not above the upper bound")])
def test_random_width_factor_is_checked_as_tfjs_checks_it(factor, why):
    # The values TF.js 4.22's constructor refuses (probed with the real TF.js; tf_keras's rules are the same).
    with pytest.raises(tfjs_interop.ModelFormatError, match=f"`factor`, expected {why}"):
        build_layer("RandomWidth", "rw", {"factor": factor})


def test_random_width_is_the_identity_at_inference_and_refused_in_tfjs_files():
    x = rand(2, 4, 6, 3)
    layer = make("RandomWidth", {"factor": [-0.2, 0.4], "interpolation": "nearest", "seed": 5}, (None, 4, 6, 3))
    assert layer.call(x) is x and layer.output_shape((None, 4, 6, 3)) == (None, 4, 6, 3)
    with pytest.raises(tfjs_interop.ModelFormatError, match="`interpolation`"):
        build_layer("RandomWidth", "rw", {"factor": 0.2, "interpolation": "cubic"})
    with pytest.raises(tfjs_interop.ModelFormatError, match="`seed`"):
        build_layer("RandomWidth", "rw", {"factor": 0.2, "seed": 1.5})
    with pytest.raises(UnsupportedLayerError, match="RandomWidth in a TF.js model: TF.js 4.22 fails here in predict"):
        build_layer("RandomWidth", "rw", {"factor": 0.2}, TFJS)


def test_keras_random_width_is_refused_by_both_writers(tmp_path):
    model = tfjs_interop.load(KERAS_FIXTURES / "k2_random_width" / "model.h5")
    with pytest.raises(UnsupportedLayerError, match=r"\(RandomWidth\).*fails in predict.*fix: drop the layer"):
        tfjs_artifacts(model)
    with pytest.raises(UnsupportedLayerError, match="Keras 3 has no RandomWidth class"):
        tfjs_interop.save_keras(model, tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()


def test_tfjs_file_with_random_width_is_refused_at_load(tmp_path):
    # As TF.js 4.22 writes it (probe_random_width: its predict fails on the list of inputs).
    topology = functional([input_layer("x", [None, 4, 6, 2]),
                           layer("RandomWidth", "rw", [["x", 0, 0]], factor=0.5, interpolation="bilinear", seed=1)],
                          ["x"], ["rw"])
    with pytest.raises(UnsupportedLayerError, match="'rw'.*RandomWidth in a TF.js model: TF.js 4.22 fails here"):
        tfjs_interop.load(write_model(tmp_path, topology, {}))
