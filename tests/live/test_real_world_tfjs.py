"""Live (issue 11): what real-world models broke, checked in the real TF.js 4.22 and against real Keras.

- Every Keras fixture file (and the derived ones: old class names, a Windows .keras) goes through save_tfjs:
  a refusal is fine; a written model must give, in the real TF.js, Keras's recorded outputs and real Keras's
  outputs on every input the same-numbers check probes with (so a probe that misses a Keras-vs-TF.js
  difference fails here, fixed batch sizes included).
- An encoder whose output and states both feed layers runs in TF.js once written (and TF.js fails on the form
  that writes the output and the states as such); renamed layers load where TF.js refuses the original names;
  a float weight declared int32 is refused by TF.js as by us; predict with another batch than a stateful
  model's fixed one is refused by TF.js as by us.
Needs Node (`npm ci` in scripts/tfjs) and TensorFlow (Keras 3, tf_keras); both are required in CI.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import KERAS_FIXTURES, TFJS_FIXTURES, TFJS_SCRIPTS, cases, expected
from tests.support.keras_live import keras_predict
from tests.support.requires import node as require_node
from tfjs_interop.formats.tfjs import writer as tfjs_writer
from tfjs_interop.write_checks import fresh_copy, probe_inputs

pytestmark = [pytest.mark.node, pytest.mark.tensorflow]
DERIVED_LOADABLE = ("model_tf2_pre.h5", "model_windows.keras")


def _keras_files() -> list[str]:
    out = []
    for case in cases(KERAS_FIXTURES):
        record = expected(case)
        if record.get("refused"):
            continue
        files = [f for f in record["files"] if f.endswith((".h5", ".keras")) and "weights" not in f]
        out += [f"{case.name}/{f}" for f in files + [d for d in record.get("derived", {}) if d in DERIVED_LOADABLE]]
    return out


KERAS_FILES = _keras_files()


@dataclass
class Job:
    name: str
    folder: Path
    calls: list[dict]
    expected: list[list[np.ndarray]] = field(default_factory=list)


def _keras_reference(case: Path):
    """The case's model as real Keras reloads it from a file it reads faithfully (tf_keras for k2_ cases)."""
    record = expected(case)
    bad = set(record.get("keras_cannot_reload", {})) | set(record.get("keras_reload_differs", {}))
    file = next(f for f in record["files"] if f not in bad)
    if case.name.startswith("k2_"):
        import tf_keras as library
    else:
        import keras as library
    return library.models.load_model(str(case / file), compile=False)


def _save_inputs(folder: Path, tag: str, inputs: list[np.ndarray]) -> list[str]:
    paths = []
    for i, x in enumerate(inputs):
        np.save(folder / f"{tag}_input{i}.npy", x)
        paths.append(str(folder / f"{tag}_input{i}.npy"))
    return paths


def _audit_job(entry: str, out: Path) -> Job | str:
    """The Keras file written for TF.js, its recorded call and the probes, with Keras's outputs; or why it was
    refused."""
    case_name, file = entry.split("/")
    case = KERAS_FIXTURES / case_name
    folder = out / entry.replace("/", "__")
    model = tfjs_interop.load(case / file)
    try:
        tfjs_interop.save_tfjs(model, folder)
    except tfjs_interop.UnsupportedLayerError as exc:
        return str(exc)
    record = expected(case)
    call = record["calls"][0]
    calls = [{"inputs": [str(case / name) for name in call["inputs"]], "reset_states": True}]
    wanted = [[np.load(case / name) for name in call["outputs"]]]
    reference = _keras_reference(case)
    (out / "inputs").mkdir(exist_ok=True)
    for k, probe in enumerate(probe_inputs(fresh_copy(model))):
        calls.append({"inputs": _save_inputs(out / "inputs", f"{entry.replace('/', '__')}_probe{k}", probe),
                      "reset_states": True})
        wanted.append(keras_predict(reference, probe))
    return Job(entry, folder, calls, wanted)


AUDIT_REFUSED: dict[str, str] = {}
# Written by the old writer although TF.js computes other numbers: the hole of issue 11 item 1.
MUST_BE_REFUSED = ["k2_masked_seq2seq_fixed_batch/model.h5", "k2_bidi_mask_fixed_batch/model.h5",
                   "k3_bidi_mask_fixed_batch/model.keras", "k3_bidi_mask_fixed_batch/model.h5"]
MUST_BE_WRITTEN = ["k3_encoder_states_used_twice/model.keras", "k2_encoder_states_used_twice/model.h5",
                   "k3_names_tfjs_refuses/model.keras", "k3_td_nested_sequential/model.keras",
                   "k2_td_nested_sequential/model.h5", "k2_old_class_names/model_tf2_pre.h5",
                   "k3_windows_archive/model_windows.keras"]


def _raw_encoder_job(out: Path, monkeypatch_states) -> Job:
    """The encoder written with its output and states as such (the writer's rewrite undone): TF.js fails."""
    entry = "k3_encoder_states_used_twice/model.keras"
    model = tfjs_interop.load(KERAS_FIXTURES / entry)
    with monkeypatch_states():
        tfjs_interop.save_tfjs(model, out / "raw_encoder")
    case = KERAS_FIXTURES / entry.split("/")[0]
    call = expected(case)["calls"][0]
    return Job("raw_encoder", out / "raw_encoder", [{"inputs": [str(case / n) for n in call["inputs"]]}])


def _original_names_job(out: Path) -> Job:
    """The renamed model's files with the Keras names put back: TF.js refuses them."""
    written = out / "k3_names_tfjs_refuses__model.keras"
    folder = out / "original_names"
    shutil.copytree(written, folder)
    text = (folder / "model.json").read_text()
    for new, old in (("enc_lstm", "enc>lstm"), ('"out"', '"_out"'), ("out/", "_out/")):
        text = text.replace(new, old)
    (folder / "model.json").write_text(text)
    case = KERAS_FIXTURES / "k3_names_tfjs_refuses"
    return Job("original_names", folder, [{"inputs": [str(case / "call0_input0.npy")]}])


def _int32_kernel_job(out: Path) -> Job:
    folder = out / "int32_kernel"
    shutil.copytree(TFJS_FIXTURES / "seed_lstm", folder)
    document = json.loads((folder / "model.json").read_text())
    document["weightsManifest"][0]["weights"][0]["dtype"] = "int32"
    (folder / "model.json").write_text(json.dumps(document))
    return Job("int32_kernel", folder, [{"inputs": [str(TFJS_FIXTURES / "seed_lstm" / "call0_input0.npy")]}])


def _stateful_batch_job() -> Job:
    case = TFJS_FIXTURES / "lstm_stateful"
    return Job("stateful_batch", case, [{"inputs": [str(case / "call0_input0.npy")], "batch_size": 1}])


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, tuple[Job, dict]]:
    from contextlib import contextmanager

    node = require_node()
    out = tmp_path_factory.mktemp("real_world")

    @contextmanager
    def raw_states():
        original = tfjs_writer.states_for_outputs
        tfjs_writer.states_for_outputs = lambda topology: topology
        try:
            yield
        finally:
            tfjs_writer.states_for_outputs = original

    jobs = []
    for entry in KERAS_FILES:
        job = _audit_job(entry, out)
        if isinstance(job, str):
            AUDIT_REFUSED[entry] = job
        else:
            jobs.append(job)
    jobs += [_raw_encoder_job(out, raw_states), _original_names_job(out), _int32_kernel_job(out),
             _stateful_batch_job()]
    plan = [{"model": str(job.folder), "out": str(out / "tfjs" / job.name.replace("/", "__")),
             "calls": [{"reset_states": False, **call} for call in job.calls]} for job in jobs]
    (out / "jobs.json").write_text(json.dumps(plan))
    subprocess.run([node, str(TFJS_SCRIPTS / "roundtrip.js"), str(out / "jobs.json")], check=True, capture_output=True,
                   timeout=900)
    found = {}
    for job in jobs:
        folder = out / "tfjs" / job.name.replace("/", "__")
        result = json.loads((folder / "result.json").read_text())
        result["outputs"] = [[np.load(folder / f"call{k}_output{j}.npy") for j in range(len(want))]
                             for k, want in enumerate(job.expected)] if result["ok"] else []
        found[job.name] = (job, result)
    return found


@pytest.mark.parametrize("entry", KERAS_FILES)
def test_keras_file_written_for_tfjs_gives_kerass_numbers_in_tfjs_on_every_probe(results, entry):
    if entry in AUDIT_REFUSED:
        assert entry not in MUST_BE_WRITTEN, AUDIT_REFUSED[entry]
        return
    assert entry not in MUST_BE_REFUSED, f"{entry} was written; TF.js computes other numbers for it"
    job, result = results[entry]
    assert result["ok"], f"TF.js failed on {entry}: {result['error']}"
    for k, (got_call, want_call) in enumerate(zip(result["outputs"], job.expected)):
        for j, (got, want) in enumerate(zip(got_call, want_call)):
            assert got.shape == want.shape, f"{entry} call {k} output {j}: {got.shape} != {want.shape}"
            error = float(np.max(np.abs(got.astype(np.float64) - want))) if want.size else 0.0
            assert error <= 1e-5, f"{entry} call {k} (0: recorded, else probe {k - 1}) output {j}: {error:.3g}"


@pytest.mark.parametrize("entry", MUST_BE_REFUSED)
def test_a_model_tfjs_computes_differently_is_refused_fixed_batch_included(results, entry):
    assert entry in AUDIT_REFUSED and "differently" in AUDIT_REFUSED[entry], AUDIT_REFUSED.get(entry)


def test_tfjs_fails_on_an_encoder_whose_output_and_states_are_written_as_such(results):
    _, result = results["raw_encoder"]
    assert not result["ok"] and "backend" in result["error"]


def test_tfjs_refuses_the_names_the_writer_renames(results):
    _, result = results["original_names"]
    assert not result["ok"] and "Not a valid tensor name" in result["error"]


def test_a_float_weight_declared_int32_is_refused_by_tfjs_and_by_us(results):
    job, result = results["int32_kernel"]
    assert not result["ok"], "TF.js ran a model whose float kernel is declared int32"
    with pytest.raises(tfjs_interop.WeightsError, match=r"'lstm_LSTM1/kernel'.*int32.*float32"):
        tfjs_interop.load(job.folder)


def test_predict_on_other_batches_than_a_stateful_models_is_refused_by_tfjs_and_by_us(results):
    _, result = results["stateful_batch"]
    assert not result["ok"] and "incompatible" in result["error"]
    model = tfjs_interop.load(TFJS_FIXTURES / "lstm_stateful")
    x = np.load(TFJS_FIXTURES / "lstm_stateful" / "call0_input0.npy")
    with pytest.raises(tfjs_interop.InputError, match="fixed batch size of 2"):
        model.predict(x, batch_size=1)
