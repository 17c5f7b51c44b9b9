"""Keras files that are broken, hostile or unusual: each gets the package's own error, naming what is wrong."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import ROOT, assert_matches
from tfjs_interop import ModelFormatError, SecurityError, UnsupportedLayerError, WeightsError
from tfjs_interop.formats.keras import archive as keras_zip
from tfjs_interop.formats.keras.v3_weights import saving_keys

KERAS = ROOT / "fixtures" / "keras"


def _copy(tmp_path: Path, case: str, file: str) -> Path:
    target = tmp_path / file
    shutil.copy(KERAS / case / file, target)
    return target


def _rewrite_zip(path: Path, edit) -> None:
    """Rewrite a .keras archive, passing {member: bytes} through ``edit``."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members = edit(members)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _edit_config(path: Path, edit) -> None:
    def change(members):
        config = json.loads(members["config.json"])
        edit(config)
        members["config.json"] = json.dumps(config).encode()
        return members
    _rewrite_zip(path, change)


def test_an_h5_read_from_a_copy_gives_the_same_numbers(tmp_path):
    path = _copy(tmp_path, "k2_conv_front_end", "model.h5")
    model = tfjs_interop.load(path)
    x = np.load(KERAS / "k2_conv_front_end" / "call0_input0.npy")
    np.testing.assert_allclose(model.predict(x), np.load(KERAS / "k2_conv_front_end" / "call0_output0.npy"),
                               atol=1e-5, rtol=0)


def test_the_file_kind_comes_from_the_contents_not_the_name(tmp_path):
    keras = _copy(tmp_path, "k3_gru_reset_after", "model.keras")
    renamed = keras.rename(tmp_path / "model.bin")
    assert_matches(tfjs_interop.load(renamed), KERAS / "k3_gru_reset_after")


def test_external_link_in_h5_is_refused(tmp_path):
    outside = tmp_path / "outside.h5"
    with h5py.File(outside, "w") as f:
        f["secret"] = np.ones((8, 32), np.float32)
    path = _copy(tmp_path, "k2_lstm_seq_dense", "model.h5")
    with h5py.File(path, "a") as f:
        group = f["model_weights/lstm/lstm/lstm_cell"]
        del group["kernel:0"]
        group["kernel:0"] = h5py.ExternalLink(str(outside), "secret")
    with pytest.raises(SecurityError, match="ExternalLink"):
        tfjs_interop.load(path)


def test_soft_link_in_h5_is_refused(tmp_path):
    path = _copy(tmp_path, "k2_lstm_seq_dense", "model.h5")
    with h5py.File(path, "a") as f:
        group = f["model_weights/head/head"]
        del group["bias:0"]
        group["bias:0"] = h5py.SoftLink("/model_weights/lstm/lstm/lstm_cell/bias:0")
    with pytest.raises(SecurityError, match="SoftLink"):
        tfjs_interop.load(path)


def test_dataset_stored_in_an_external_raw_file_is_refused(tmp_path):
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.zeros(4, np.float32).tobytes())
    path = _copy(tmp_path, "k2_lstm_seq_dense", "model.h5")
    with h5py.File(path, "a") as f:
        group = f["model_weights/head/head"]
        del group["bias:0"]
        group.create_dataset("bias:0", shape=(4,), dtype=np.float32, external=[(str(raw), 0, 16)])
    with pytest.raises(SecurityError, match="outside the file"):
        tfjs_interop.load(path)


def test_missing_weight_dataset_names_it(tmp_path):
    path = _copy(tmp_path, "k2_lstm_seq_dense", "model.h5")
    with h5py.File(path, "a") as f:
        del f["model_weights/head/head/bias:0"]
    with pytest.raises(ModelFormatError, match="bias:0"):
        tfjs_interop.load(path)


def test_misshapen_weight_names_layer_and_shapes(tmp_path):
    path = _copy(tmp_path, "k2_lstm_seq_dense", "model.h5")
    with h5py.File(path, "a") as f:
        del f["model_weights/head/head/kernel:0"]
        f["model_weights/head/head/kernel:0"] = np.zeros((3, 3), np.float32)
    with pytest.raises(WeightsError, match=r"head.*\[16, 4\]"):
        tfjs_interop.load(path)


def test_string_weights_are_refused(tmp_path):
    path = _copy(tmp_path, "k2_lstm_seq_dense", "model.h5")
    with h5py.File(path, "a") as f:
        del f["model_weights/head/head/bias:0"]
        f["model_weights/head/head/bias:0"] = np.array([b"a", b"b", b"c", b"d"])
    with pytest.raises(WeightsError, match="dtype"):
        tfjs_interop.load(path)


def test_model_config_that_is_not_json_names_the_file(tmp_path):
    path = _copy(tmp_path, "k2_lstm_seq_dense", "model.h5")
    with h5py.File(path, "a") as f:
        f.attrs["model_config"] = "{not json"
    with pytest.raises(ModelFormatError, match="model_config"):
        tfjs_interop.load(path)


def test_h5_that_is_not_hdf5_inside(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(ModelFormatError, match="not a readable HDF5 file"):
        tfjs_interop.load(path)


def test_keras_archive_without_weights_member(tmp_path):
    path = _copy(tmp_path, "k3_lstm_seq_dense", "model.keras")
    _rewrite_zip(path, lambda m: {k: v for k, v in m.items() if k != "model.weights.h5"})
    with pytest.raises(ModelFormatError, match="model.weights.h5"):
        tfjs_interop.load(path)


def test_zip_bomb_is_refused_before_inflating(tmp_path, monkeypatch):
    monkeypatch.setitem(keras_zip.MAX_MEMBER_BYTES, "config.json", 10_000)
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b" " * 5_000_000)  # 5 MB of spaces deflate to a few kB
    assert path.stat().st_size < 20_000
    with pytest.raises(ModelFormatError, match="declares 5000000 bytes, over the limit"):
        tfjs_interop.load(path)


def test_zip_whose_directory_understates_a_member_is_still_capped(tmp_path, monkeypatch):
    monkeypatch.setitem(keras_zip.MAX_MEMBER_BYTES, "config.json", 1_000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b" " * 50_000)
    data = bytearray(buffer.getvalue())
    central = data.rfind(b"PK\x01\x02")  # the central directory's uncompressed size: lie that it is 10 bytes
    data[central + 24:central + 28] = (10).to_bytes(4, "little")
    path = tmp_path / "model.keras"
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match="config.json"):
        tfjs_interop.load(path)


def test_member_names_with_dot_dot_are_never_used_as_paths(tmp_path):
    path = _copy(tmp_path, "k3_lstm_seq_dense", "model.keras")
    _rewrite_zip(path, lambda m: {**m, "../../escape.txt": b"x", "/abs.txt": b"y"})
    assert_matches(tfjs_interop.load(path), KERAS / "k3_lstm_seq_dense")
    assert not (tmp_path.parent / "escape.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]


def test_custom_registered_class_is_refused(tmp_path):
    path = _copy(tmp_path, "k3_lstm_seq_dense", "model.keras")

    def customise(config):
        layer = config["config"]["layers"][-1]
        layer.update({"module": "my_package.layers", "class_name": "FancyDense",
                      "registered_name": "my_package>FancyDense"})
    _edit_config(path, customise)
    with pytest.raises(UnsupportedLayerError, match="FancyDense.*custom classes are never imported"):
        tfjs_interop.load(path)


def test_mixed_precision_policy_is_refused(tmp_path):
    path = _copy(tmp_path, "k3_lstm_seq_dense", "model.keras")

    def mixed(config):
        config["config"]["layers"][1]["config"]["dtype"]["config"]["name"] = "mixed_float16"
    _edit_config(path, mixed)
    with pytest.raises(UnsupportedLayerError, match="mixed_float16"):
        tfjs_interop.load(path)


def test_unknown_keras_operation_is_refused(tmp_path):
    path = _copy(tmp_path, "k3_bidi_lstm_embedding_mask", "model.keras")

    def other_op(config):
        op = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "NotEqual")
        op["class_name"] = "Einsum"
    _edit_config(path, other_op)
    with pytest.raises(UnsupportedLayerError, match="op.Einsum"):
        tfjs_interop.load(path)


def test_weights_file_of_another_model_is_refused_with_the_layer_named():
    case = KERAS / "k3_weights_only"
    wanted = r"layer 'bidirectional_2' \(Bidirectional\) expects weight 'forward/kernel'"
    with pytest.raises(WeightsError, match=wanted):
        tfjs_interop.load(case / "model_config.json", weights=KERAS / "k3_lstm_seq_dense" / "model.h5")


def test_keras3_saving_keys_follow_keras_naming():
    entries = [{"class_name": c} for c in ("InputLayer", "Dense", "Dense", "GlobalAveragePooling1D", "LSTM",
                                           "Dense")]
    assert saving_keys(entries) == ["input_layer", "dense", "dense_1", "global_average_pooling1d", "lstm",
                                    "dense_2"]


def test_a_file_that_hangs_the_hdf5_library_is_stopped(monkeypatch):
    monkeypatch.setenv("TFJS_INTEROP_HDF5_TIMEOUT", "3")
    with pytest.raises(ModelFormatError, match="took over 3 s; the file is corrupt or hostile.*"
                                               "TFJS_INTEROP_HDF5_TIMEOUT"):
        tfjs_interop.load(ROOT / "fixtures" / "hostile" / "hdf5_hangs.h5")


def test_a_crash_of_the_hdf5_library_becomes_our_error():
    from tests.support.hdf5_faults import crash
    from tfjs_interop.formats.isolation import isolated

    with pytest.raises(ModelFormatError, match=r"crashed reading the file \(SIGSEGV\)"):
        isolated(crash, b"", source="x.h5")


def test_errors_in_the_isolated_reader_keep_their_class():
    from tests.support.hdf5_faults import refuse
    from tfjs_interop.formats.isolation import isolated

    with pytest.raises(SecurityError, match="x.h5: refused"):
        isolated(refuse, b"", source="x.h5")


def test_a_fifo_given_as_the_model_file_is_refused_unopened(tmp_path):
    import os

    fifo = tmp_path / "model.h5"
    os.mkfifo(fifo)  # opening it for reading would block forever
    with pytest.raises(ModelFormatError, match="not a regular file"):
        tfjs_interop.load(fifo)
