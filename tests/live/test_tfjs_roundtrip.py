"""Live: models written by ``save_tfjs``, loaded by the real TF.js 4.22 (``tf.loadLayersModel``) and run in Node.

Every TF.js fixture goes TF.js -> ours -> save_tfjs -> real TF.js, and must give the outputs TF.js recorded for
the original (≤ 1e-5, repeated and stateful calls included); so must the random TF.js models of
tests/live/test_tfjs_random.py; also multi-shard, quantized and metadata-carrying files, a Keras 3-dialect
topology, and the Keras fixtures TF.js can run (which must give the outputs Keras recorded). All models run in
one Node process (scripts/tfjs/roundtrip.js).
Skipped without Node or `npm ci` in scripts/tfjs, except in CI (TFJS_INTEROP_REQUIRE_NODE=1).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import tfjs_interop
from tests.support.exclusions import LOAD, SAVE_TFJS, TFJS_RUNS_AS_KERAS, kept
from tests.support.fixtures import KERAS_FIXTURES, TFJS_FIXTURES, TFJS_SCRIPTS, cases, expected
from tests.support.modelfiles import functional, input_layer, layer, write_model
from tests.support.random_models import COUNT, SEED, generate
from tests.support.requires import node as require_node
from tfjs_interop.formats.tfjs.manifest import encode_tensors
from tfjs_interop.formats.tfjs.reader import read_tfjs
from tfjs_interop.formats.tfjs.writer import quantization_rule
from tfjs_interop.loading import model_from_file
from tfjs_interop.topology import Dialect, Engine

pytestmark = pytest.mark.node

WRITABLE = [c.name for c in kept(cases(), LOAD, SAVE_TFJS)]
QUANTIZED = {"uint8": "uint8", "uint16": "uint16", "float16": "float16",
             "mixed": {"uint8": ["dense*"], "float16": ["lstm_LSTM1/recurrent_kernel"]}}
# How far quantized weights may move lstm_stacked_dense's outputs from its float32 ones: about 20 times what was
# seen (uint8 2.7e-4, uint16 1.5e-6, float16 2.0e-5, mixed 1.2e-4); a wrong scale or byte order is far beyond.
QUANTIZED_BOUND = {"uint8": 5e-3, "uint16": 3e-5, "float16": 4e-4, "mixed": 3e-3}
METADATA = {"labels": ["neg", "pos"], "version": 3, "nested": {"ok": True}}


@dataclass
class Job:
    """A model to write, the calls to run on it in TF.js, and the outputs TF.js must give."""

    name: str
    folder: Path
    calls: list[dict]
    expected: list[list[np.ndarray]]
    atol: float = 1e-5
    extra: dict = field(default_factory=dict)


def _fixture_calls(case: Path) -> tuple[list[dict], list[list[np.ndarray]]]:
    record = expected(case)
    calls = [{"inputs": [str(case / name) for name in call["inputs"]], "reset_states": call.get("reset_states", False)}
             for call in record["calls"]]
    return calls, [[np.load(case / name) for name in call["outputs"]] for call in record["calls"]]


def _fixture_jobs(out: Path) -> list[Job]:
    jobs = []
    for name in WRITABLE:
        case = TFJS_FIXTURES / name
        tfjs_interop.save_tfjs(tfjs_interop.load(case), out / name)
        jobs.append(Job(name, out / name, *_fixture_calls(case)))
    seed = TFJS_FIXTURES / "lstm_stacked_dense"
    tfjs_interop.save_tfjs(tfjs_interop.load(seed), out / "written_multishard", shard_size_bytes=256)
    jobs.append(Job("written_multishard", out / "written_multishard", *_fixture_calls(seed)))
    tfjs_interop.save_tfjs(tfjs_interop.load(seed), out / "written_metadata", metadata=METADATA)
    jobs.append(Job("written_metadata", out / "written_metadata", *_fixture_calls(seed)))
    return jobs



def _keras_jobs(out: Path) -> list[Job]:
    """Keras files -> ours -> TF.js: TF.js must give the outputs Keras recorded."""
    jobs = []
    for entry in TFJS_RUNS_AS_KERAS:
        case, file = entry.split("/")
        name = f"keras_{case}_{file.replace('.', '_')}"
        tfjs_interop.save_tfjs(tfjs_interop.load(KERAS_FIXTURES / case / file), out / name)
        jobs.append(Job(name, out / name, *_fixture_calls(KERAS_FIXTURES / case)))
    return jobs


def _quantized_jobs(out: Path) -> list[Job]:
    """Quantized copies: TF.js must give exactly what the runtime gives on the weights as stored (read back)."""
    case = TFJS_FIXTURES / "lstm_stacked_dense"
    calls, float_outputs = _fixture_calls(case)
    jobs = []
    for name, spec in QUANTIZED.items():
        folder = out / f"written_{name}"
        tfjs_interop.save_tfjs(tfjs_interop.load(case), folder, quantize=spec)
        back = tfjs_interop.load(folder)
        ours = [[back.predict([np.load(x) for x in call["inputs"]])] for call in calls]
        jobs.append(Job(f"written_{name}", folder, calls, ours, extra={"float": float_outputs, "kind": name}))
    return jobs


def _keras3_tensor(layer: str, shape: list) -> dict:
    return {"class_name": "__keras_tensor__", "config": {"shape": shape, "dtype": "float32",
                                                          "keras_history": [layer, 0, 0]}}


def _keras3_layer(class_name: str, name: str, inbound: str | None, shape: list | None, **config) -> dict:
    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}
    config = {"name": name, "trainable": True, "dtype": policy, **config}
    nodes = [] if inbound is None else [{"args": [_keras3_tensor(inbound, shape)], "kwargs": {}}]
    return {"module": "keras.layers", "class_name": class_name, "config": config, "registered_name": None,
            "build_config": {"input_shape": shape}, "name": name, "inbound_nodes": nodes}


def _keras3_job(out: Path) -> Job:
    """A Keras 3-dialect topology (DTypePolicy objects, keras tensors, batch_shape, module keys, backward_layer)
    run by the runtime's Keras engine; TF.js must compute the same from what save_tfjs writes."""
    rng = np.random.default_rng(5)
    init = {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": None},
            "registered_name": None}
    lstm = {"module": "keras.layers", "class_name": "LSTM", "registered_name": None,
            "config": {"name": "lstm", "units": 4, "activation": "tanh", "recurrent_activation": "sigmoid",
                       "return_sequences": True, "kernel_initializer": init, "seed": None, "unit_forget_bias": True}}
    backward = json.loads(json.dumps(lstm))
    backward["config"].update(name="backward_lstm", go_backwards=True)
    layers = [
        {"module": "keras.layers", "class_name": "InputLayer", "name": "x", "inbound_nodes": [],
         "config": {"batch_shape": [None, 5, 3], "dtype": "float32", "sparse": False, "name": "x"}},
        _keras3_layer("Bidirectional", "bidi", "x", [None, 5, 3], merge_mode="concat", layer=lstm,
                      backward_layer=backward),
        _keras3_layer("GRU", "gru", "bidi", [None, 5, 8], units=3, reset_after=False, activation="tanh",
                      recurrent_activation="sigmoid"),
        _keras3_layer("LeakyReLU", "leaky", "gru", [None, 3], negative_slope=0.2),
        _keras3_layer("Dense", "dense", "leaky", [None, 3], units=2, activation="softmax", kernel_initializer=init),
    ]
    topology = {"class_name": "Functional", "keras_version": "3.6.0",
                "config": {"name": "keras3_model", "layers": layers, "input_layers": [["x", 0, 0]],
                           "output_layers": [["dense", 0, 0]]}}
    shapes = {"bidi/forward_lstm/kernel": (3, 16), "bidi/forward_lstm/recurrent_kernel": (4, 16),
              "bidi/forward_lstm/bias": (16,), "bidi/backward_lstm/kernel": (3, 16),
              "bidi/backward_lstm/recurrent_kernel": (4, 16), "bidi/backward_lstm/bias": (16,),
              "gru/kernel": (8, 9), "gru/recurrent_kernel": (3, 9), "gru/bias": (9,), "dense/kernel": (3, 2),
              "dense/bias": (2,)}
    weights = {k: rng.uniform(-0.6, 0.6, s).astype(np.float32) for k, s in shapes.items()}
    source = model_from_file(read_tfjs(write_model(out / "keras3_source", topology, weights)), Dialect.KERAS3,
                             Engine.KERAS)
    x = rng.uniform(-2, 2, (4, 5, 3)).astype(np.float32)
    np.save(out / "keras3_x.npy", x)
    tfjs_interop.save_tfjs(source, out / "keras3")
    return Job("keras3", out / "keras3", [{"inputs": [str(out / "keras3_x.npy")], "reset_states": False}],
               [[source.predict(x)]])


def _random_jobs(node: str, out: Path) -> list[Job]:
    """The random TF.js models of tests/live/test_tfjs_random.py (same seed and count), written by save_tfjs."""
    generate(node, out / "generated", COUNT)
    jobs = []
    for k in range(COUNT):
        case = out / "generated" / str(k)
        try:
            model = tfjs_interop.load(case)
        except tfjs_interop.UnsupportedLayerError as exc:  # outside what the runtime claims (test_tfjs_random)
            REFUSED[f"random_{k}"] = f"skip: the runtime refuses it: {exc}"
            continue
        try:
            tfjs_interop.save_tfjs(model, out / f"random_{k}")
        except tfjs_interop.TfjsInteropError as exc:
            REFUSED[f"random_{k}"] = f"fail: save_tfjs refused a model TF.js runs: {exc}"
            continue
        jobs.append(Job(f"random_{k}", out / f"random_{k}", *_fixture_calls(case), atol=expected(case)["atol"]))
    return jobs


REFUSED: dict[str, str] = {}


def _keras2_job(out: Path, name: str, layers: list, outputs: list, weights: dict, inputs: list[np.ndarray]) -> Job:
    """A Keras 2 model run by the runtime's Keras engine, written by save_tfjs; TF.js must compute the same."""
    source = model_from_file(read_tfjs(write_model(out / f"{name}_source", functional(
        layers, [spec["name"] for spec in layers if spec["class_name"] == "InputLayer"], outputs, "2.15.0"),
        weights)), Dialect.KERAS2, Engine.KERAS)
    files = []
    for i, x in enumerate(inputs):
        np.save(out / f"{name}_x{i}.npy", x)
        files.append(str(out / f"{name}_x{i}.npy"))
    tfjs_interop.save_tfjs(source, out / name)
    want = source.predict(inputs)
    return Job(name, out / name, [{"inputs": files, "reset_states": False}], [want if isinstance(want, list)
                                                                               else [want]])


def _keras2_jobs(out: Path) -> list[Job]:
    """Keras 2 models the writer judges TF.js runs the same: a shared layer whose calls TF.js's loader reorders
    (so the writer must list them, and number references, in TF.js's order), and masked recurrent models."""
    rng = np.random.default_rng(8)

    def w(*shape):
        return rng.uniform(-0.6, 0.6, shape).astype(np.float32)

    def lstm(name, n_in, units):
        return {f"{name}/kernel": w(n_in, 4 * units), f"{name}/recurrent_kernel": w(units, 4 * units),
                f"{name}/bias": w(4 * units)}

    shared = [input_layer("x", [None, 3]),
              {**layer("Dense", "shared", None, units=3, activation="tanh"),
               "inbound_nodes": [[["pre", 0, 0, {}]], [["x", 0, 0, {}]]]},
              layer("Dense", "pre", [["x", 0, 0]], units=3),
              layer("Concatenate", "cat", [["shared", 0, 0], ["shared", 1, 0]])]
    ids = np.array([[3, 1, 4, 1, 5, 9], [2, 6, 5, 0, 0, 0], [0, 0, 8, 9, 7, 9]], np.int32)
    # Returning the last output only: returning sequences, Keras zeroes a Bidirectional's masked steps, TF.js not
    bidi = {"class_name": "LSTM", "config": {"name": "lstm", "units": 4, "return_sequences": False}}
    masked_bidi = [input_layer("ids", [None, 6], "int32"),
                   layer("Embedding", "emb", [["ids", 0, 0]], input_dim=10, output_dim=3, mask_zero=True),
                   layer("Bidirectional", "bi", [["emb", 0, 0]], layer=bidi),
                   layer("Dense", "td", [["bi", 0, 0]], units=2)]
    bidi_weights = {f"bi/{d}_lstm/{key.split('/')[-1]}": value for d in ("forward", "backward")
                    for key, value in lstm("x", 3, 4).items()}
    features = rng.uniform(-2, 2, (3, 6, 3)).astype(np.float32)
    features[1, 4:] = 0
    features[2, :2] = 0
    masking = [input_layer("f", [None, 6, 3]), layer("Masking", "m", [["f", 0, 0]], mask_value=0.0),
               layer("LSTM", "l", [["m", 0, 0]], units=4, return_sequences=True)]
    return [
        _keras2_job(out, "keras2_shared_order", shared, ["cat"],
                    {"shared/kernel": w(3, 3), "shared/bias": w(3), "pre/kernel": w(3, 3), "pre/bias": w(3)},
                    [rng.uniform(-2, 2, (4, 3)).astype(np.float32)]),
        _keras2_job(out, "keras2_masked_bidi", masked_bidi, ["td"],
                    {"emb/embeddings": w(10, 3), **bidi_weights, "td/kernel": w(8, 2), "td/bias": w(2)}, [ids]),
        _keras2_job(out, "keras2_masking_lstm", masking, ["l"], lstm("l", 3, 4), [features]),
    ]


@pytest.fixture(scope="module")
def tfjs_results(tmp_path_factory) -> dict[str, tuple[Job, dict]]:
    node = require_node()
    out = tmp_path_factory.mktemp("roundtrip")
    jobs = (_fixture_jobs(out / "written") + _quantized_jobs(out / "written")
            + [_keras3_job(out)] + _keras2_jobs(out) + _keras_jobs(out / "keras") + _random_jobs(node, out / "random"))
    plan = [{"model": str(job.folder), "out": str(out / "tfjs" / job.name), "calls": job.calls} for job in jobs]
    (out / "jobs.json").write_text(json.dumps(plan))
    subprocess.run([node, str(TFJS_SCRIPTS / "roundtrip.js"), str(out / "jobs.json")], check=True, capture_output=True,
                   timeout=600)
    results = {}
    for job in jobs:
        folder = out / "tfjs" / job.name
        result = json.loads((folder / "result.json").read_text())
        result["outputs"] = [[np.load(folder / f"call{k}_output{j}.npy") for j in range(len(want))]
                             for k, want in enumerate(job.expected)] if result["ok"] else []
        results[job.name] = (job, result)
    return results


def _check(job: Job, result: dict) -> None:
    assert result["ok"], f"TF.js failed on {job.folder}: {result['error']}"
    for k, (got_call, want_call) in enumerate(zip(result["outputs"], job.expected)):
        for j, (got, want) in enumerate(zip(got_call, want_call)):
            assert got.shape == want.shape, f"{job.name} call {k} output {j}: shape {got.shape} != {want.shape}"
            error = float(np.max(np.abs(got.astype(np.float64) - want))) if want.size else 0.0
            assert error <= job.atol, f"{job.name} call {k} output {j}: max abs error {error:.3g} > {job.atol:g}"


@pytest.mark.parametrize("name", WRITABLE + ["written_multishard", "written_metadata", "keras3",
                                              "keras2_shared_order", "keras2_masked_bidi", "keras2_masking_lstm"])
def test_written_model_gives_tfjs_the_same_numbers(tfjs_results, name):
    _check(*tfjs_results[name])


@pytest.mark.parametrize("entry", TFJS_RUNS_AS_KERAS)
def test_keras_file_written_for_tfjs_gives_kerass_numbers_in_tfjs(tfjs_results, entry):
    case, file = entry.split("/")
    _check(*tfjs_results[f"keras_{case}_{file.replace('.', '_')}"])


@pytest.mark.parametrize("index", range(COUNT), ids=lambda k: f"seed{SEED}-{k}")
def test_written_random_model_gives_tfjs_the_same_numbers(tfjs_results, index):
    refused = REFUSED.get(f"random_{index}", "")
    if refused.startswith("skip"):
        pytest.skip(refused)
    assert not refused, refused
    job, result = tfjs_results[f"random_{index}"]
    try:
        _check(job, result)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{expected(job.folder.parent / 'generated' / str(index))['description']}") \
            from None


def test_multishard_files_are_many_and_small(tfjs_results):
    job, _ = tfjs_results["written_multishard"]
    shards = sorted(job.folder.glob("group1-shard*.bin"))
    assert len(shards) > 3 and all(p.stat().st_size <= 256 for p in shards)


def test_metadata_reaches_tfjs(tfjs_results):
    assert tfjs_results["written_metadata"][1]["userDefinedMetadata"] == METADATA


def test_shared_calls_are_written_in_the_tfjs_loaders_order(tfjs_results):
    job, _ = tfjs_results["keras2_shared_order"]
    entries = json.loads((job.folder / "model.json").read_text())["modelTopology"]["config"]["layers"]
    shared = next(e for e in entries if e["name"] == "shared")
    assert [node[0][0] for node in shared["inbound_nodes"]] == ["x", "pre"]
    cat = next(e for e in entries if e["name"] == "cat")
    assert [ref[:2] for ref in cat["inbound_nodes"][0]] == [["shared", 1], ["shared", 0]]


def test_tfjs_holds_the_weight_names_we_wrote(tfjs_results):
    job, result = tfjs_results["bidi_lstm_concat"]
    manifest = json.loads((job.folder / "model.json").read_text())["weightsManifest"][0]["weights"]
    assert sorted(result["weights"]) == sorted(w["name"] for w in manifest)


@pytest.mark.parametrize("name", sorted(QUANTIZED))
def test_quantized_model_loads_in_tfjs_within_the_bound(tfjs_results, name):
    job, result = tfjs_results[f"written_{name}"]
    _check(job, result)  # TF.js dequantizes exactly as the runtime reads the file back
    for got_call, float_call in zip(result["outputs"], job.extra["float"]):
        error = float(np.max(np.abs(got_call[0].astype(np.float64) - float_call[0])))
        assert 0 < error <= QUANTIZED_BOUND[name], f"{name}: quantized outputs differ by {error:.3g}"


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float16"])
def test_quantization_matches_the_converter_replica_in_io_js(tmp_path, dtype):
    """Same bytes and fields as scripts/tfjs/io.js, which replicates tensorflowjs/quantization.py for fixtures."""
    node = require_node()
    rng = np.random.default_rng(9)
    tensors = {"a": rng.uniform(-0.8, 0.5, 300), "b": rng.uniform(0.1, 2.0, 40), "c": np.full(5, -0.25),
               "d": np.array([0.5, 1.5, 2.5, -0.5, 6e-5, 65519.0, -1e-8])}
    tensors = {k: v.astype(np.float32) for k, v in tensors.items()}
    entries, data = encode_tensors(list(tensors.items()), quantization_rule(dtype))
    specs = [{"name": k, "shape": list(v.shape), "dtype": "float32"} for k, v in tensors.items()]
    (tmp_path / "w.bin").write_bytes(b"".join(v.tobytes() for v in tensors.values()))
    script = ("const io = require(process.argv[1]); const fs = require('fs');"
              "const r = io.quantizeWeights(JSON.parse(process.argv[2]), fs.readFileSync(process.argv[3]),"
              " process.argv[4]);"
              "fs.writeFileSync(process.argv[3] + '.q', r.bytes); process.stdout.write(JSON.stringify(r.specs));")
    io_js = str(TFJS_SCRIPTS / "io.js")
    result = subprocess.run([node, "-e", script, io_js, json.dumps(specs), str(tmp_path / "w.bin"),
                             dtype], check=True, capture_output=True, text=True, timeout=60)
    assert json.loads(result.stdout) == entries
    assert (tmp_path / "w.bin.q").read_bytes() == data
