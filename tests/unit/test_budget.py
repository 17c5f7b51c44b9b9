"""One resource budget, honoured before allocating: small hostile files that declare big costs are refused fast and
in bounded memory (peak RSS measured in a subprocess), with short messages; plus the small edge cases of the
server issue (a batch of 0, NumPy integer batch sizes, Keras targets and names HDF5 cannot store)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import ROOT
from tfjs_interop.errors import InputError, LimitError, ModelFormatError, UnsupportedLayerError, WeightsError
from tfjs_interop.formats.common import parse_json

SEED = ROOT / "fixtures" / "tfjs" / "seed_lstm"
WEIGHTS_ONLY = ROOT / "fixtures" / "keras" / "k2_weights_only"
MB = 1024 * 1024


def _measured(setup: str, action: str) -> dict:
    """Run ``action`` in a fresh interpreter after ``setup`` (HDF5 in-process, so its memory is counted); return
    the peak RSS it added (MB), its seconds and its outcome (``ok`` or ``ErrorClass: message``)."""
    script = (f"import json, resource, time\n{setup}\n"
              "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
              "start = time.monotonic()\n"
              f"try:\n    {action}\n    outcome = 'ok'\n"
              "except Exception as exc:\n    outcome = f'{type(exc).__name__}: {exc}'\n"
              "print(json.dumps({'mb': (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024,"
              " 's': time.monotonic() - start, 'outcome': outcome}))\n")
    env = {"TFJS_INTEROP_HDF5_IN_PROCESS": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120, cwd=ROOT,
                          env={**__import__("os").environ, **env})
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


LOAD = "import h5py, tfjs_interop\n"


def _weights_file(tmp_path: Path, edit) -> Path:
    import h5py

    target = tmp_path / "weights.h5"
    shutil.copy(WEIGHTS_ONLY / "weights.h5", target)
    with h5py.File(target, "a") as h5:
        edit(h5["gru_7"])
    return target


def _set_names(group, names: list[str]) -> None:
    del group.attrs["weight_names"]
    for i in range(0, len(names), 2000):
        group.attrs[f"weight_names{i // 2000}"] = np.array([n.encode() for n in names[i:i + 2000]])


def test_an_h5_declaring_a_huge_dataset_is_refused_before_it_is_allocated(tmp_path):
    def add_huge(group):
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
        group.create_dataset("gru_7/gru_cell/huge:0", shape=(2**26,), dtype="f4")  # 256 MiB, never written
        _set_names(group, names + ["gru_7/gru_cell/huge:0"])

    weights = _weights_file(tmp_path, add_huge)
    assert weights.stat().st_size < 100_000
    result = _measured(LOAD, f"tfjs_interop.load({str(WEIGHTS_ONLY / 'model_config.json')!r}, "
                             f"weights={str(weights)!r}, max_bytes=16 * 1024 * 1024)")
    assert result["outcome"].startswith("LimitError") and "huge:0" in result["outcome"], result
    assert result["mb"] < 64, f"refusing the file took {result['mb']:.0f} MB"


def test_an_h5_dataset_stored_in_one_huge_compressed_chunk_is_refused_before_it_is_inflated(tmp_path):
    """Another shape of the same fault: a (2, 15) dataset in one 128 MiB gzip chunk (a file of ~150 KB). HDF5
    inflates the whole chunk to read any of it, so the chunk, not the dataset's shape, is what a read costs."""
    def one_huge_chunk(group):
        bias = group["gru_7/gru_cell/bias:0"][()]
        del group["gru_7/gru_cell/bias:0"]
        group.create_dataset("gru_7/gru_cell/bias:0", data=bias, maxshape=(None, None), chunks=(2, 2**24),
                             compression="gzip", compression_opts=1)

    weights = _weights_file(tmp_path, one_huge_chunk)
    assert weights.stat().st_size < 1_000_000
    result = _measured(LOAD, f"tfjs_interop.load({str(WEIGHTS_ONLY / 'model_config.json')!r}, "
                             f"weights={str(weights)!r}, max_bytes=16 * 1024 * 1024)")
    assert result["outcome"].startswith("LimitError") and "chunks of shape [2, 16777216]" in result["outcome"], \
        result
    assert result["mb"] < 64, f"refusing the file took {result['mb']:.0f} MB"


def test_a_weight_name_repeated_12000_times_is_handled_in_linear_time(tmp_path):
    def repeat(group):
        _set_names(group, ["gru_7/gru_cell/kernel:0"] * 12_000)

    weights = _weights_file(tmp_path, repeat)
    started = time.monotonic()
    with pytest.raises(WeightsError) as caught:
        tfjs_interop.load(WEIGHTS_ONLY / "model_config.json", weights=weights)
    assert time.monotonic() - started < 20
    assert len(str(caught.value)) < 1500


def _seed_document() -> dict:
    return json.loads((SEED / "model.json").read_text())


def test_a_shard_listed_20000_times_is_refused_fast_with_a_short_message(tmp_path):
    document = _seed_document()
    document["weightsManifest"][0]["paths"] *= 20_000
    shutil.copy(SEED / "group1-shard1of1.bin", tmp_path / "group1-shard1of1.bin")
    (tmp_path / "model.json").write_text(json.dumps(document))
    result = _measured(LOAD, f"tfjs_interop.load({str(tmp_path)!r})")
    assert result["outcome"].startswith("ModelFormatError") and "more than once" in result["outcome"], result
    assert "20,000 listings" in result["outcome"] and len(result["outcome"]) < 400, result["outcome"]
    assert result["s"] < 2 and result["mb"] < 64, result


def test_a_string_weight_of_millions_of_empty_strings_is_refused_before_decoding(tmp_path):
    """4 bytes a string in the shard, a Python object each once decoded: 15 MB cost +88 MB and 11 s to be refused
    (within max_bytes); now refused from the manifest's count."""
    document = _seed_document()
    count = 4_000_000
    document["weightsManifest"].append({"paths": ["s.bin"],
                                        "weights": [{"name": "strs", "shape": [count], "dtype": "string"}]})
    shutil.copy(SEED / "group1-shard1of1.bin", tmp_path / "group1-shard1of1.bin")
    (tmp_path / "s.bin").write_bytes(bytes(4 * count))
    (tmp_path / "model.json").write_text(json.dumps(document))
    result = _measured(LOAD, f"tfjs_interop.load({str(tmp_path)!r})")
    assert result["outcome"].startswith("LimitError") and "4,000,000 strings" in result["outcome"], result
    assert result["s"] < 2 and result["mb"] < 40, result


def test_the_json_nesting_check_is_linear_in_time_and_memory(tmp_path):
    """A valid 16 MB model.json: the nesting check adds little to what json.loads itself costs."""
    document = _seed_document()
    document["userDefinedMetadata"] = {"table": [{"name": f"w{i}", "shape": [3, i % 7], "dtype": "float32"}
                                                 for i in range(320_000)]}
    path = tmp_path / "model.json"
    path.write_text(json.dumps(document))
    assert path.stat().st_size > 16 * MB
    setup = f"import json\nfrom tfjs_interop.formats.common import parse_json\ntext = open({str(path)!r}, 'rb').read()"
    plain = _measured(setup, "json.loads(text)")
    ours = _measured(setup, "parse_json(text, 'model.json')")
    assert ours["outcome"] == plain["outcome"] == "ok"
    assert ours["s"] < 2 * plain["s"] + 0.5, (ours, plain)
    assert ours["mb"] < plain["mb"] + 48, (ours, plain)


def test_deep_nesting_is_refused_and_brackets_in_strings_are_text():
    with pytest.raises(ModelFormatError, match="nested too deeply"):
        parse_json("[" * 200 + "]" * 200, "x.json")
    assert parse_json(json.dumps({"a": "[" * 500, "b": "\\\"{{{{"}), "x.json")["a"] == "[" * 500


def _npz(path: Path, members: dict[str, tuple[tuple, int]]) -> Path:
    """An .npz whose members declare (shape, float32) and hold ``bytes`` zero bytes of data."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (shape, nbytes) in members.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array_header_1_0(member, {"descr": "<f4", "fortran_order": False,
                                                              "shape": shape})
                block = bytes(MB)
                for start in range(0, nbytes, MB):
                    member.write(block[:min(MB, nbytes - start)])
    return path


def test_a_golden_zip_bomb_is_refused_from_its_directory(tmp_path):
    bomb = _npz(tmp_path / "golden.npz", {"outputs/y": ((80 * MB // 4,), 80 * MB)})
    assert bomb.stat().st_size < MB
    result = _measured("from tfjs_interop.golden import read_golden", f"read_golden({str(bomb)!r})")
    assert result["outcome"].startswith("ModelFormatError") and "inflate to" in result["outcome"], result
    assert result["mb"] < 32, result


def test_a_golden_member_declaring_a_huge_array_is_our_error_not_memory_error(tmp_path):
    from tfjs_interop.golden import read_golden

    path = _npz(tmp_path / "golden.npz", {"outputs/y": ((2**40,), 64)})
    with pytest.raises(ModelFormatError, match=r"declares an array of shape \(1099511627776,\)"):
        read_golden(path)


def test_a_70000_character_layer_name_is_refused_on_loading_with_a_short_message(tmp_path):
    shutil.copy(SEED / "group1-shard1of1.bin", tmp_path)
    text = (SEED / "model.json").read_text().replace("lstm_LSTM1", "L" * 70_000)
    (tmp_path / "model.json").write_text(text)
    started = time.monotonic()
    with pytest.raises(LimitError, match="1 layer name.* over 1024 characters") as caught:
        tfjs_interop.load(tmp_path)
    assert time.monotonic() - started < 2 and len(str(caught.value)) < 400


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_save_keras_refuses_names_hdf5_cannot_store(tmp_path, suffix):
    shutil.copy(SEED / "group1-shard1of1.bin", tmp_path)
    (tmp_path / "model.json").write_text((SEED / "model.json").read_text().replace("lstm_LSTM1", "lstm\\u0000x"))
    model = tfjs_interop.load(tmp_path)
    with pytest.raises(UnsupportedLayerError, match="cannot be stored in HDF5.*'lstm\\\\x00x'"):
        tfjs_interop.save_keras(model, tmp_path / f"out{suffix}")
    assert not list(tmp_path.glob("out*"))


def test_save_keras_to_a_folder_or_a_dangling_symlink_is_our_error(tmp_path):
    model = tfjs_interop.load(SEED)
    (tmp_path / "dir.h5").mkdir()
    (tmp_path / "link.keras").symlink_to(tmp_path / "missing" / "m.keras")
    with pytest.raises(InputError, match="is a folder"):
        tfjs_interop.save_keras(model, tmp_path / "dir.h5")
    with pytest.raises(InputError, match="symlink to .* which does not exist"):
        tfjs_interop.save_keras(model, tmp_path / "link.keras")


@pytest.mark.parametrize("case", ["conv1d_valid", "masking_lstm_seq", "embedding_mask_gru", "nested_functional_masked",
                                  "multi_io_shared_lstm"])
def test_a_batch_of_zero_gives_empty_outputs(case, each_loop):
    model = tfjs_interop.load(ROOT / "fixtures" / "tfjs" / case)
    record = json.loads((ROOT / "fixtures" / "tfjs" / case / "expected.json").read_text())
    inputs = [np.load(ROOT / "fixtures" / "tfjs" / case / name) for name in record["calls"][0]["inputs"]]
    want = model.predict(inputs)
    got = model.predict([x[:0] for x in inputs], batch_size=np.int32(4))
    for g, w in zip(got if isinstance(got, list) else [got], want if isinstance(want, list) else [want]):
        assert g.shape == (0, *w.shape[1:]) and g.dtype == np.float32


def test_a_batch_of_zero_for_a_stateful_model_names_the_input():
    model = tfjs_interop.load(ROOT / "fixtures" / "tfjs" / "lstm_stateful")
    with pytest.raises(InputError, match="input 'input1'"):
        model.predict(np.zeros((0, 5, 3), np.float32))


@pytest.mark.parametrize("batch_size", [np.int64(2), np.int32(1), np.uint8(3)])
def test_batch_size_accepts_numpy_integers(batch_size):
    model = tfjs_interop.load(SEED)
    x = np.load(SEED / "call0_input0.npy")
    assert np.array_equal(model.predict(x, batch_size=batch_size), model.predict(x, batch_size=int(batch_size)))


@pytest.mark.parametrize("batch_size", [np.float64(2), True, np.bool_(True), 0, -1])
def test_batch_size_refuses_what_is_not_a_positive_integer(batch_size):
    model = tfjs_interop.load(SEED)
    with pytest.raises(InputError, match="batch_size must be a positive integer"):
        model.predict(np.load(SEED / "call0_input0.npy"), batch_size=batch_size)


def test_the_golden_writer_refuses_what_readers_would_refuse(tmp_path, monkeypatch):
    from tfjs_interop import golden
    from tfjs_interop.formats import golden_file

    model = tfjs_interop.load(SEED)
    monkeypatch.setattr(golden_file, "MAX_GOLDEN_BYTES", 1000)
    with pytest.raises(InputError, match="over the limit of 1,000 that readers accept"):
        golden.write_golden(model, np.load(SEED / "call0_input0.npy"), tmp_path / "g.npz", SEED / "model.json")
    assert not (tmp_path / "g.npz").exists()


def test_an_input_npy_declaring_a_huge_array_is_an_input_error(tmp_path):
    from tfjs_interop.golden import read_input_file

    path = tmp_path / "x.npy"
    with open(path, "wb") as stream:
        np.lib.format.write_array_header_1_0(stream, {"descr": "<f4", "fortran_order": False, "shape": (2**40,)})
        stream.write(bytes(64))
    with pytest.raises(InputError, match=r"declares an array of shape \(1099511627776,\)"):
        read_input_file(path, ["x"])
