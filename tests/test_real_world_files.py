"""Files as real releases and platforms write them (issue 11), against the outputs Keras recorded.

``fixtures/keras/k2_old_class_names`` and ``k3_windows_archive`` hold files made by tf_keras / Keras 3 and, derived
from them by ``scripts/keras/make_fixtures.py``, the same models as older releases or Windows wrote them (see
``derived`` in their expected.json): class names ``BatchNormalizationV1`` / ``UnifiedLSTM`` / ``UnifiedGRU``,
a Keras 1 file, a ``.keras`` whose weight groups are joined with backslashes.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import h5py
import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import TFJS_FIXTURES, assert_matches

KERAS_FIXTURES = TFJS_FIXTURES.parent / "keras"


def test_tf2_prerelease_class_names_load_as_the_converter_maps_them():
    case = KERAS_FIXTURES / "k2_old_class_names"
    with h5py.File(case / "model_tf2_pre.h5", "r") as file:
        config = file.attrs["model_config"]
    assert all(name in config for name in ("BatchNormalizationV1", "UnifiedLSTM", "UnifiedGRU"))
    model = tfjs_interop.load(case / "model_tf2_pre.h5")
    assert [layer.class_name for layer in model.layers][2:] == ["BatchNormalization", "LSTM", "GRU"]
    assert_matches(model, case)


def test_a_keras1_file_is_named_as_one():
    with pytest.raises(tfjs_interop.UnsupportedLayerError, match=r"written by Keras 1\.2\.2 \(Keras 1\)") as info:
        tfjs_interop.load(KERAS_FIXTURES / "k2_old_class_names" / "model_keras1.h5")
    assert "custom" not in str(info.value)


def test_a_keras1_class_without_a_version_is_named_as_one(tmp_path):
    path = tmp_path / "m.h5"
    shutil.copyfile(KERAS_FIXTURES / "k2_old_class_names" / "model.h5", path)
    with h5py.File(path, "a") as file:
        config = json.loads(file.attrs["model_config"])
        config["config"]["layers"][1]["class_name"] = "MaxoutDense"
        file.attrs["model_config"] = json.dumps(config)
        del file.attrs["keras_version"]
    with pytest.raises(tfjs_interop.UnsupportedLayerError, match="MaxoutDense is a Keras 1 layer"):
        tfjs_interop.load(path)


def test_a_library_layer_the_runtime_lacks_is_not_called_custom(tmp_path):
    path = tmp_path / "m.h5"
    shutil.copyfile(KERAS_FIXTURES / "k2_old_class_names" / "model.h5", path)
    with h5py.File(path, "a") as file:
        file.attrs["model_config"] = file.attrs["model_config"].replace('"Conv1D"', '"SeparableConv1D"')
    with pytest.raises(tfjs_interop.UnsupportedLayerError,
                       match="SeparableConv1D is a TF.js/Keras layer that tfjs-interop does not implement yet"):
        tfjs_interop.load(path)


def test_a_keras_archive_saved_on_windows_loads_with_kerass_numbers():
    case = KERAS_FIXTURES / "k3_windows_archive"
    with zipfile.ZipFile(case / "model_windows.keras") as archive:
        weights = archive.read("model.weights.h5")
    with h5py.File(io.BytesIO(weights), "r") as file:
        assert any("\\" in key for key in file) and "layers" not in file
    assert_matches(tfjs_interop.load(case / "model_windows.keras"), case)


def test_a_backslash_group_name_cannot_climb_out(tmp_path):
    case = KERAS_FIXTURES / "k3_windows_archive"
    with zipfile.ZipFile(case / "model_windows.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    buffer = io.BytesIO()
    with h5py.File(io.BytesIO(members["model.weights.h5"]), "r") as source, h5py.File(buffer, "w") as target:
        for key in source:
            source.copy(source[key], target, name=key.replace("layers\\", "..\\", 1))
    members["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(tmp_path / "m.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(tfjs_interop.ModelFormatError, match="not a path of groups"):
        tfjs_interop.load(tmp_path / "m.keras")


@pytest.mark.parametrize("path", ["td_nested_sequential", "../keras/k3_td_nested_sequential/model.keras",
                                  "../keras/k3_td_nested_sequential/model.h5",
                                  "../keras/k2_td_nested_sequential/model.h5",
                                  "../keras/k2_td_nested_sequential/model.keras"])
def test_timedistributed_over_a_nested_model_runs(path):
    source = (TFJS_FIXTURES / path).resolve()
    model = tfjs_interop.load(source)
    assert_matches(model, source if source.is_dir() else source.parent)
    assert model.count_params() == 28 + 15 + 48  # Dense(6->4), Dense(4->3) inside; LSTM(3->2) after


def test_a_float_weight_declared_int32_is_refused_naming_it(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(TFJS_FIXTURES / "seed_lstm", folder)
    document = json.loads((folder / "model.json").read_text())
    document["weightsManifest"][0]["weights"][1]["dtype"] = "int32"
    (folder / "model.json").write_text(json.dumps(document))
    with pytest.raises(tfjs_interop.WeightsError, match=r"'lstm_LSTM1/recurrent_kernel' is stored as int32.*"
                                                        r"float32"):
        tfjs_interop.load(folder)


def test_predict_with_another_batch_than_the_fixed_one_is_refused():
    model = tfjs_interop.load(TFJS_FIXTURES / "lstm_stateful")
    x = np.load(TFJS_FIXTURES / "lstm_stateful" / "call0_input0.npy")
    with pytest.raises(tfjs_interop.InputError, match="fixed batch size of 2"):
        model.predict(x, batch_size=1)
    np.testing.assert_array_equal(model.predict(x, batch_size=3), fresh(x))  # one batch of 2, as TF.js runs it


def fresh(x: np.ndarray) -> np.ndarray:
    return tfjs_interop.load(TFJS_FIXTURES / "lstm_stateful").predict(x)


def test_the_cli_refuses_another_batch_size_for_a_fixed_batch_model(tmp_path, capsys):
    from tfjs_interop.cli import main

    case = TFJS_FIXTURES / "lstm_stateful"
    code = main(["predict", str(case), "--input", str(case / "call0_input0.npy"), "--output",
                 str(tmp_path / "y.npy"), "--batch-size", "1"])
    assert code == 2 and "fixed batch size of 2" in capsys.readouterr().err
    assert not (tmp_path / "y.npy").exists()


def test_layers_tfjs_refuses_are_renamed_everywhere_golden_record_included(tmp_path):
    """Names the real TF.js refuses (tests/test_real_world_tfjs.py shows it) are written as names it accepts."""
    case = KERAS_FIXTURES / "k3_names_tfjs_refuses"
    x = np.load(case / "call0_input0.npy")
    tfjs_interop.save_tfjs(tfjs_interop.load(case / "model.keras"), tmp_path / "out", golden=x)
    document = json.loads((tmp_path / "out" / "model.json").read_text())
    layers = document["modelTopology"]["config"]["layers"]
    assert [entry["name"] for entry in layers] == ["in_put", "enc_lstm", "a_b", "out"]
    assert [ref[0] for entry in layers[1:] for ref in entry["inbound_nodes"][0]] == ["in_put", "enc_lstm", "a_b"]
    assert {w["name"].split("/")[0] for w in document["weightsManifest"][0]["weights"]} == {"enc_lstm", "a_b", "out"}
    written = tfjs_interop.load(tmp_path / "out", check=True)
    assert_matches(written, case)
