"""Golden records: round trips, a changed weight caught, file hashes reported, malformed files refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import tfjs_interop
from tests.support.exclusions import LOAD, kept
from tests.support.fixtures import TFJS_FIXTURES, cases, expected
from tfjs_interop import golden
from tfjs_interop.errors import GoldenMismatchError, InputError, ModelFormatError, SecurityError, TfjsInteropError
from tfjs_interop.formats.files import model_files
from tfjs_interop.topology import TensorRef


def copy_case(name: str, tmp_path):
    """A writable copy of a fixture case."""
    return shutil.copytree(TFJS_FIXTURES / name, tmp_path / name)


def bump_first_weight(folder, delta: float = 0.5) -> None:
    """Change the first float32 of the model's first shard (a kernel entry in the cases used here)."""
    shard = model_files(folder)[1]
    values = np.frombuffer(shard.read_bytes(), "<f4").copy()
    values[0] += delta
    shard.write_bytes(values.tobytes())


def recorded_inputs(case):
    return [np.load(case / name) for name in expected(case)["calls"][0]["inputs"]]


def test_record_stores_what_tfjs_computed_and_checks_clean(tmp_path):
    case = copy_case("seed_lstm", tmp_path)
    path = golden.record(case, case / "call0_input0.npy", tmp_path / "g.npz")
    record = golden.read_golden(path)
    np.testing.assert_array_equal(record.inputs["input1"], np.load(case / "call0_input0.npy"))
    # The recorded outputs are the runtime's; they agree with what the real TF.js computed for this case.
    np.testing.assert_allclose(record.outputs["lstm_LSTM1"], np.load(case / "call0_output0.npy"), atol=1e-5, rtol=0)
    assert (record.atol, record.rtol) == (1e-5, 1e-4)
    assert record.files == {name: golden.sha256_of(case / name) for name in ("model.json", "group1-shard1of1.bin")}
    assert record.producer["tfjs_interop"] == tfjs_interop.__version__ and record.producer["numpy"] == np.__version__
    report = golden.check(case, path)
    assert report.passed and report.max_abs_error == 0.0 and report.notes == []
    assert report.against == "g.npz" and [o.name for o in report.outputs] == ["lstm_LSTM1"]


@pytest.mark.parametrize("case", kept(cases(), LOAD), ids=lambda c: c.name)
def test_every_fixture_round_trips(tmp_path, case):
    call = expected(case)["calls"][0]
    path = golden.record(case, [np.load(case / name) for name in call["inputs"]], tmp_path / "g.npz")
    for ours, name in zip(golden.read_golden(path).outputs.values(), call["outputs"]):
        np.testing.assert_allclose(ours, np.load(case / name), atol=expected(case)["atol"], rtol=0)
    report = golden.check(case, path)
    assert report.passed and report.max_abs_error == 0.0 and report.notes == []


def test_golden_file_reads_without_pickle_and_names_its_arrays(tmp_path):
    case = copy_case("lstm_return_state", tmp_path)
    path = golden.record(case, case / "call0_input0.npy", tmp_path / "g.npz")
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["golden.json", "inputs/input1", "outputs/lstm_LSTM1:0",
                                         "outputs/lstm_LSTM1:1", "outputs/lstm_LSTM1:2"]
        meta = json.loads(archive["golden.json"].item())
    assert meta["format"] == "tfjs-interop-golden" and meta["outputs"] == ["lstm_LSTM1:0", "lstm_LSTM1:1",
                                                                           "lstm_LSTM1:2"]


def test_every_input_form_records_the_same_file_content(tmp_path):
    case = copy_case("multi_io_shared_lstm", tmp_path)
    a, b = recorded_inputs(case)
    np.savez(tmp_path / "named.npz", seq_b=b, seq_a=a)
    np.savez(tmp_path / "ordered.npz", a, b)
    forms = [[a, b], (a, b), {"seq_b": b, "seq_a": a}, tmp_path / "named.npz", str(tmp_path / "ordered.npz")]
    records = [golden.read_golden(golden.record(case, form, tmp_path / f"g{i}.npz")) for i, form in enumerate(forms)]
    tfjs_outputs = [np.load(case / "call0_output0.npy"), np.load(case / "call0_output1.npy")]
    for record in records:
        assert list(record.inputs) == ["seq_a", "seq_b"] and list(record.outputs) == ["head_b", "head_ab"]
        np.testing.assert_array_equal(record.inputs["seq_b"], b)
        for ours, want in zip(record.outputs.values(), tfjs_outputs):
            np.testing.assert_allclose(ours, want, atol=1e-5, rtol=0)
            assert golden.check(case, tmp_path / "g0.npz").passed


def test_a_single_array_is_the_one_input(tmp_path):
    case = copy_case("seed_lstm", tmp_path)
    x = np.load(case / "call0_input0.npy")
    record = golden.read_golden(golden.record(case, x, tmp_path / "g.npz"))
    np.testing.assert_array_equal(record.inputs["input1"], x)


def test_a_changed_weight_is_caught_and_the_shard_named(tmp_path):
    case = copy_case("seed_lstm", tmp_path)
    path = golden.record(case, case / "call0_input0.npy", tmp_path / "g.npz")
    bump_first_weight(case)
    report = golden.check(case, path)
    assert not report.passed and report.max_abs_error > 1e-3
    assert any("'group1-shard1of1.bin' changed since the record" in note for note in report.notes)
    assert "FAIL" in report.table()


def test_a_changed_weight_within_tolerance_passes_with_a_note(tmp_path):
    case = copy_case("seed_lstm", tmp_path)
    path = golden.record(case, case / "call0_input0.npy", tmp_path / "g.npz", atol=1.0)
    bump_first_weight(case, delta=1e-3)
    report = golden.check(case, path)
    assert report.passed and 0 < report.max_abs_error < 1.0
    assert any("changed since the record" in note for note in report.notes)
    assert any("file hashes alone do not fail it" in note for note in report.notes)


def test_resharding_keeps_outputs_and_reports_added_and_removed_files(tmp_path):
    case = copy_case("seed_lstm", tmp_path)
    path = golden.record(case, case / "call0_input0.npy", tmp_path / "g.npz")
    data = (case / "group1-shard1of1.bin").read_bytes()
    (case / "part1.bin").write_bytes(data[:1000])
    (case / "part2.bin").write_bytes(data[1000:])
    (case / "group1-shard1of1.bin").unlink()
    document = json.loads((case / "model.json").read_text())
    document["weightsManifest"][0]["paths"] = ["part1.bin", "part2.bin"]
    (case / "model.json").write_text(json.dumps(document, indent=1))
    report = golden.check(case, path)
    assert report.passed and report.max_abs_error == 0.0
    notes = "\n".join(report.notes)
    assert "'model.json' changed" in notes and "'part1.bin' is not in the record" in notes
    assert "'part2.bin' is not in the record" in notes
    assert "'group1-shard1of1.bin' of the record is no longer part of the model" in notes


def test_load_with_check_passes_and_raises_on_mismatch(tmp_path):
    case = copy_case("seed_lstm", tmp_path)
    golden.record(case, case / "call0_input0.npy", golden.default_golden_path(case))
    model = tfjs_interop.load(case / "model.json", check=True)
    assert model.count_params() == 5248
    bump_first_weight(case)
    with pytest.raises(GoldenMismatchError) as caught:
        tfjs_interop.load(case, check=True)
    assert isinstance(caught.value, AssertionError) and isinstance(caught.value, TfjsInteropError)
    message = str(caught.value)
    assert "golden.npz" in message and "lstm_LSTM1" in message and "max abs err" in message and "FAIL" in message
    assert not caught.value.report.passed
    assert f"{caught.value.report.outputs[0].max_abs_error:.3g}" in message


def test_load_with_check_without_golden_file_says_so(tmp_path):
    case = copy_case("seed_lstm", tmp_path)
    with pytest.raises(ModelFormatError, match="no golden file beside the model"):
        tfjs_interop.load(case, check=True)
    assert tfjs_interop.load(case).count_params() == 5248  # check is off by default


def test_stateful_models_are_recorded_and_checked_from_fresh_states(tmp_path):
    case = copy_case("stateful_masked_gru_backwards", tmp_path)
    calls = expected(case)["calls"]
    x0, x1 = (np.load(case / call["inputs"][0]) for call in calls[:2])
    model = tfjs_interop.load(case)
    model.predict(x0)  # the model now holds state...
    golden.write_golden(model, x0, golden.default_golden_path(case), case)
    # ...which recording neither used nor disturbed: the next call continues from it, as in TF.js.
    np.testing.assert_allclose(model.predict(x1), np.load(case / calls[1]["outputs"][0]), atol=1e-5, rtol=0)
    record = golden.read_golden(golden.default_golden_path(case))
    np.testing.assert_allclose(record.outputs["gru_GRU1"], np.load(case / calls[0]["outputs"][0]), atol=1e-5, rtol=0)
    checked = tfjs_interop.load(case, check=True)  # the check leaves the loaded model's state fresh
    np.testing.assert_allclose(checked.predict(x0), np.load(case / calls[0]["outputs"][0]), atol=1e-5, rtol=0)


def test_output_names_are_distinct():
    refs = [TensorRef("lstm", 0, 0), TensorRef("lstm", 0, 1), TensorRef("dense"), TensorRef("td", 0, 0),
            TensorRef("td", 1, 0)]
    model = SimpleNamespace(topology=SimpleNamespace(outputs=refs))
    assert golden.output_names(model) == ["lstm:0", "lstm:1", "dense", "td:0#3", "td:0#4"]


def test_default_golden_path():
    assert golden.default_golden_path(TFJS_FIXTURES / "seed_lstm") == TFJS_FIXTURES / "seed_lstm" / "golden.npz"
    assert golden.default_golden_path(TFJS_FIXTURES / "seed_lstm" / "model.json") == (
        TFJS_FIXTURES / "seed_lstm" / "golden.npz")
    assert golden.default_golden_path("models/chat.h5").as_posix() == "models/chat.golden.npz"


def test_model_files_lists_model_json_then_shards_in_manifest_order(tmp_path):
    files = model_files(TFJS_FIXTURES / "multishard")
    assert [f.name for f in files] == ["model.json"] + [f"group1-shard{i}of19.bin" for i in range(1, 20)]
    assert model_files(TFJS_FIXTURES / "multishard" / "model.json") == files
    single = tmp_path / "model.h5"
    single.write_bytes(b"\x89HDF\r\n\x1a\n")
    assert model_files(single) == [single]
    with pytest.raises(ModelFormatError, match="no such model file"):
        model_files(tmp_path / "missing.keras")


@pytest.mark.parametrize("content,message", [
    ("{not json", "invalid JSON"),
    ('{"modelTopology": {}}', "expected a JSON object with a 'weightsManifest'"),
    ('{"weightsManifest": {}}', "weightsManifest"),
])
def test_model_files_refuses_malformed_model_json(tmp_path, content, message):
    (tmp_path / "model.json").write_text(content)
    with pytest.raises(ModelFormatError, match=message):
        model_files(tmp_path)


def test_model_files_refuses_shards_outside_the_folder(tmp_path):
    case = copy_case("seed_lstm", tmp_path)
    document = json.loads((case / "model.json").read_text())
    document["weightsManifest"][0]["paths"] = ["../secret.bin"]
    (case / "model.json").write_text(json.dumps(document))
    with pytest.raises(SecurityError, match="leaves the model's folder"):
        model_files(case)


@pytest.mark.parametrize("inputs,message", [
    ({"wrong": np.zeros((1, 10, 8))}, "exactly the model's inputs"),
    ([np.zeros((1, 10, 8))] * 2, "takes 1 input"),
    (np.array([["a"] * 8] * 10), "expected numbers"),
    (np.zeros((1, 9, 8)), "expected shape"),
])
def test_record_refuses_inputs_that_do_not_fit(tmp_path, inputs, message):
    case = copy_case("seed_lstm", tmp_path)
    with pytest.raises(InputError, match=message):
        golden.record(case, inputs, tmp_path / "g.npz")
    assert not (tmp_path / "g.npz").exists()


@pytest.mark.parametrize("tolerances", [{"atol": -1.0}, {"rtol": float("nan")}, {"atol": "1e-5"}])
def test_record_refuses_bad_tolerances(tmp_path, tolerances):
    case = copy_case("seed_lstm", tmp_path)
    with pytest.raises(InputError, match="must be a finite number >= 0"):
        golden.record(case, case / "call0_input0.npy", tmp_path / "g.npz", **tolerances)


def test_record_refuses_input_files_of_other_kinds(tmp_path):
    case = copy_case("seed_lstm", tmp_path)
    with pytest.raises(InputError, match="must be a .npy or .npz"):
        golden.record(case, case / "expected.json", tmp_path / "g.npz")
    (tmp_path / "x.npy").write_bytes(b"not an array")
    with pytest.raises(InputError, match="not a readable .npy file"):
        golden.record(case, tmp_path / "x.npy", tmp_path / "g.npz")


def test_record_refuses_to_overwrite_a_model_file(tmp_path):
    case = copy_case("seed_lstm", tmp_path)
    before = (case / "group1-shard1of1.bin").read_bytes()
    with pytest.raises(InputError, match="is one of the model's files"):
        golden.record(case, case / "call0_input0.npy", case / "group1-shard1of1.bin")
    assert (case / "group1-shard1of1.bin").read_bytes() == before


def test_a_failed_record_leaves_the_previous_file_whole(tmp_path):
    case = copy_case("seed_lstm", tmp_path)
    path = golden.record(case, case / "call0_input0.npy", tmp_path / "g.npz")
    before = path.read_bytes()
    with pytest.raises(InputError):
        golden.record(case, np.zeros((1, 3, 8)), path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["g.npz", "seed_lstm"]


# -- malformed golden files ----------------------------------------------------------------------------------
@pytest.fixture
def valid_arrays(tmp_path):
    """The arrays of a valid golden file of seed_lstm, and the model's folder."""
    case = copy_case("seed_lstm", tmp_path)
    with np.load(golden.record(case, case / "call0_input0.npy", tmp_path / "g.npz")) as archive:
        return {key: archive[key] for key in archive.files}, case


def _meta(arrays, **changes):
    meta = json.loads(arrays["golden.json"].item())
    meta.update(changes)
    return np.array([json.dumps(meta)])


def _edit(arrays, case, key, value):
    edited = {k: v for k, v in arrays.items() if k != key}
    return edited if value is None else {**edited, key: value(arrays, case) if callable(value) else value}


@pytest.mark.parametrize("key,value,message", [
    ("golden.json", None, "no 'golden.json' record"),
    ("golden.json", np.array(["{not json"]), "not valid JSON"),
    ("golden.json", np.array([1.0]), "must hold one JSON string"),
    ("golden.json", lambda a, c: _meta(a, format="other"), "is not a tfjs-interop-golden record"),
    ("golden.json", lambda a, c: _meta(a, version=2), "golden format version 2"),
    ("golden.json", lambda a, c: _meta(a, atol=-1), "field 'atol'"),
    ("golden.json", lambda a, c: _meta(a, files={"model.json": "abc"}), "field 'files'"),
    ("golden.json", lambda a, c: _meta(a, outputs="lstm_LSTM1"), "field 'outputs'"),
    ("outputs/lstm_LSTM1", None, r"names array\(s\) \['outputs/lstm_LSTM1'\]"),
    ("inputs/input1", np.array([["x"]]), "holds <U1, expected numbers"),
    ("outputs/lstm_LSTM1", np.zeros((5, 10, 32), "f4"), "share one batch size"),
    ("outputs/lstm_LSTM1", np.float32(1.0), "share one batch size"),
])
def test_malformed_golden_files_are_refused_naming_the_file(tmp_path, valid_arrays, key, value, message):
    arrays, case = valid_arrays
    path = tmp_path / "bad.npz"
    np.savez(path, **_edit(arrays, case, key, value))
    with pytest.raises(ModelFormatError, match=message) as caught:
        golden.check(case, path)
    assert str(path) in str(caught.value)


def test_pickled_objects_are_refused(tmp_path, valid_arrays):
    arrays, case = valid_arrays
    path = tmp_path / "pickled.npz"
    np.savez(path, **{**arrays, "outputs/lstm_LSTM1": np.array([{"evil": 1}], dtype=object)})
    with pytest.raises(ModelFormatError, match="pickled.npz: member .* holds Python objects, which are never"):
        golden.read_golden(path)


@pytest.mark.parametrize("content,message", [
    (b"just text", "does not start with a zip signature"),
    (b"PK\x03\x04broken", "not a readable .npz file"),
    (None, "does not start with a zip signature"),  # a .npy array
])
def test_files_that_are_not_npz_archives_are_refused(tmp_path, content, message):
    path = tmp_path / "g.npz"
    if content is None:
        with open(path, "wb") as stream:
            np.save(stream, np.zeros(3))
    else:
        path.write_bytes(content)
    with pytest.raises(ModelFormatError, match=message):
        golden.read_golden(path)
    with pytest.raises(ModelFormatError, match="no such golden file"):
        golden.read_golden(tmp_path / "missing.npz")


def test_recorded_arrays_that_do_not_fit_the_model(tmp_path, valid_arrays):
    arrays, case = valid_arrays
    path = tmp_path / "other.npz"
    np.savez(path, **{**arrays, "inputs/input1": np.zeros((3, 9, 8), "f4")})
    with pytest.raises(InputError, match="other.npz: the recorded inputs do not fit the model"):
        golden.check(case, path)
    np.savez(path, **{**arrays, "outputs/lstm_LSTM1": np.zeros((3, 32), "f4")})
    report = golden.check(case, path)
    assert not report.passed and report.outputs[0].reference_shape == (3, 32)
    np.savez(path, **{**arrays, "outputs/extra": arrays["outputs/lstm_LSTM1"],
                      "golden.json": _meta(arrays, outputs=["lstm_LSTM1", "extra"])})
    with pytest.raises(InputError, match=r"records 2 output\(s\)"):
        golden.check(case, path)


def test_recorded_output_names_that_differ_are_compared_in_order(tmp_path, valid_arrays):
    arrays, case = valid_arrays
    path = tmp_path / "renamed.npz"
    np.savez(path, **{"golden.json": _meta(arrays, outputs=["old_name"]), "inputs/input1": arrays["inputs/input1"],
                      "outputs/old_name": arrays["outputs/lstm_LSTM1"]})
    report = golden.check(case, path)
    assert report.passed and any("output names differ" in note for note in report.notes)


def test_golden_needs_no_tensorflow(tmp_path):
    case = copy_case("seed_lstm", tmp_path)
    code = ("import sys, tfjs_interop.golden as g\n"
            f"p = g.record({str(case)!r}, {str(case / 'call0_input0.npy')!r}, {str(tmp_path / 'g.npz')!r})\n"
            f"assert g.check({str(case)!r}, p).passed\n"
            "assert not any(m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras') for m in sys.modules), 'TF'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_record_and_check_default_to_the_file_beside_the_model(tmp_path, monkeypatch):
    """Without a path, golden.record wrote ./golden.npz in the working folder, where neither check nor
    load(check=True) looks; the command line's default is beside the model."""
    model_dir = tmp_path / "m"
    shutil.copytree(TFJS_FIXTURES / "seed_lstm", model_dir)
    (model_dir / "golden.npz").unlink(missing_ok=True)
    monkeypatch.chdir(tmp_path)
    x = np.load(model_dir / "call0_input0.npy")
    assert golden.record(model_dir, x) == model_dir / "golden.npz"
    assert not (tmp_path / "golden.npz").exists()
    assert golden.check(model_dir).passed
    tfjs_interop.load(model_dir, check=True)
    with pytest.raises(InputError, match="needs a golden_path"):
        golden.record("https://example.invalid/m/model.json", x)
