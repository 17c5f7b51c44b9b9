"""The TF.js writer without Node: what it encodes, how it quantizes and shards, what it refuses, how it writes.

What the real TF.js makes of the files is checked in tests/live/test_tfjs_roundtrip.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import tfjs_interop
from tests.support.exclusions import LOAD, SAVE_TFJS, kept
from tests.support.fixtures import ROOT, TFJS_FIXTURES, assert_matches, cases
from tests.support.modelfiles import functional, input_layer, layer, write_model
from tfjs_interop.errors import InputError, UnsupportedLayerError, WeightsError
from tfjs_interop.formats.tfjs.manifest import dequantize, encode_tensors, parse_manifest, quantize, read_weights, shard
from tfjs_interop.formats.tfjs.reader import decode_model_json, read_tfjs
from tfjs_interop.formats.tfjs.writer import quantization_rule
from tfjs_interop.loading import model_from_file
from tfjs_interop.runtime.layers.base import engine_option_names
from tfjs_interop.saving import tfjs_artifacts
from tfjs_interop.topology import Dialect, Engine

RNG = np.random.default_rng(11)
WRITABLE = kept(cases(), LOAD, SAVE_TFJS)


def _read_back(artifacts):
    """What our own reader makes of the encoded model (as a TF.js file)."""
    return model_from_file(decode_model_json(artifacts.model_json, "written", artifacts.shards.__getitem__),
                           Dialect.TFJS, Engine.TFJS)


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


# --- quantization ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype,levels", [("uint8", 255), ("uint16", 65535)])
def test_affine_quantization_is_within_half_a_step_and_keeps_zero_exact(dtype, levels):
    values = np.concatenate([RNG.uniform(-0.7, 1.3, 200), [0.0]]).astype(np.float32)
    stored, q = quantize(values, dtype, "w")
    assert stored.dtype == np.dtype(dtype) and q["original_dtype"] == "float32"
    assert q["scale"] == pytest.approx((values.max() - values.min()) / levels)
    back = dequantize(stored, parse_manifest([{"paths": [], "weights": [
        {"name": "w", "shape": [201], "dtype": "float32", "quantization": q}]}], "m")[0].entries[0].quantization,
        "float32")
    assert np.max(np.abs(back - values)) <= q["scale"] / 2 + 1e-7
    assert back[-1] == 0.0  # the nudge makes zero exact


def test_constant_and_all_positive_tensors():
    stored, q = quantize(np.full(5, 0.25, np.float32), "uint8", "w")
    assert (stored == 0).all() and q["scale"] == 1.0 and q["min"] == 0.25
    stored, q = quantize(np.array([1.0, 2.0, 3.0], np.float32), "uint8", "w")
    assert q["min"] == 1.0 and list(stored) == [0, 128, 255]  # no nudge without 0 in range; 127.5 -> 128 (even)


def test_float16_rounds_to_nearest_and_refuses_overflow():
    values = np.array([0.1, -3.5, 1e-6, 60000], np.float32)
    stored, q = quantize(values, "float16", "w")
    assert q == {"dtype": "float16", "original_dtype": "float32"}
    np.testing.assert_array_equal(stored, values.astype(np.float16))
    with pytest.raises(WeightsError, match="'big'.*float16's range"):
        quantize(np.array([70000], np.float32), "float16", "big")
    with pytest.raises(WeightsError, match="NaN"):
        quantize(np.array([np.nan], np.float32), "uint8", "w")


def test_only_float32_weights_are_quantized_and_the_reader_reads_them_back():
    tensors = [("a/kernel", RNG.normal(size=(3, 4)).astype(np.float32)), ("ids", np.arange(3, dtype=np.int32)),
               ("b/bias", RNG.normal(size=7).astype(np.float32))]
    entries, data = encode_tensors(tensors, quantization_rule({"uint8": "a/*", "float16": ["b/*"]}))
    assert [e.get("quantization", {}).get("dtype") for e in entries] == ["uint8", None, "float16"]
    assert len(data) == 12 + 12 + 14
    back = read_weights(parse_manifest([{"paths": ["w.bin"], "weights": entries}], "m"), lambda _: data)
    np.testing.assert_array_equal(back["ids"], tensors[1][1])
    assert np.abs(back["a/kernel"] - tensors[0][1]).max() <= entries[0]["quantization"]["scale"] / 2 + 1e-7
    np.testing.assert_array_equal(back["b/bias"], tensors[2][1].astype(np.float16).astype(np.float32))


def test_a_dtype_without_patterns_takes_the_rest():
    rule = quantization_rule({"uint8": ["dense*"], "float16": None})
    assert [rule(n) for n in ("dense/kernel", "lstm/bias")] == ["uint8", "float16"]
    assert quantization_rule("uint16")("anything") == "uint16"
    assert quantization_rule({"uint8": "a/*"})("b/bias") is None


@pytest.mark.parametrize("spec,message", [("int8", "unknown dtype 'int8'"), (3, "quantize must be"),
                                          ({"uint8": "*", "float16": "a*"}, "matches the patterns of"),
                                          ({"uint8": None, "float16": True}, "only one dtype can take the rest")])
def test_bad_quantize_specs(spec, message):
    with pytest.raises(InputError, match=message):
        quantization_rule(spec)("a/kernel")


# --- shards and encoding ---------------------------------------------------------------------------------------

def test_shards_are_cut_at_the_size_and_named_like_the_converter():
    data = bytes(range(256)) * 5
    files = shard(data, 300)
    assert list(files) == [f"group1-shard{i}of5.bin" for i in range(1, 6)]
    assert all(len(b) <= 300 for b in files.values()) and b"".join(files.values()) == data
    assert list(shard(b"", 10)) == ["group1-shard1of1.bin"]


@pytest.mark.parametrize("case", WRITABLE, ids=lambda c: c.name)
def test_every_fixture_reads_back_with_the_same_weights_and_numbers(case):
    model = tfjs_interop.load(case)
    artifacts = tfjs_artifacts(model, shard_size_bytes=1000)
    back = _read_back(artifacts)
    for read in back.layers:  # a constrained weight is constrained again on loading, as TF.js does: ulps move
        for got, want in zip(read.weights, model.get_layer(read.name).weights):
            if got.constraint is None:
                np.testing.assert_array_equal(got.value, want.value)
            else:
                np.testing.assert_allclose(got.value, want.value, rtol=0, atol=1e-6)
    assert_matches(back, case)
    assert all(len(b) <= 1000 for b in artifacts.shards.values())


@pytest.mark.parametrize("case", WRITABLE, ids=lambda c: c.name)
def test_model_json_has_the_tfjs_form_only(case):
    document = tfjs_artifacts(tfjs_interop.load(case)).model_json
    text = json.dumps(document, allow_nan=False)
    assert document["format"] == "layers-model"
    assert document["convertedBy"] == f"tfjs-interop {tfjs_interop.__version__}"
    assert document["modelTopology"]["class_name"] == "Model"
    assert not _keys(document["modelTopology"]) & (engine_option_names() | {"batch_shape", "module", "registered_name"})
    for entry in document["modelTopology"]["config"]["layers"]:
        assert isinstance(entry["inbound_nodes"], list)
        if entry["class_name"] == "InputLayer":
            assert "batch_input_shape" in entry["config"] and isinstance(entry["config"]["dtype"], str)
    assert "NaN" not in text and "Infinity" not in text


def test_weight_names_are_what_tfjs_writes():
    for name in ("bidi_lstm_concat", "rnn_stacked_cells", "lstm_timedistributed_dense", "nested_sequential_shared",
                 "batch_norm_seq"):
        original = json.loads((TFJS_FIXTURES / name / "model.json").read_text())["weightsManifest"][0]["weights"]
        written = tfjs_artifacts(tfjs_interop.load(TFJS_FIXTURES / name)).model_json["weightsManifest"][0]["weights"]
        assert [w["name"] for w in written] == [w["name"] for w in original], name


# --- a Keras-engine model --------------------------------------------------------------------------------------

def _keras_model(tmp_path, layers, inputs, outputs, weights, version="2.15.0"):
    path = write_model(tmp_path, functional(layers, inputs, outputs, keras_version=version), weights)
    return model_from_file(read_tfjs(path), Dialect.KERAS2 if version < "3" else Dialect.KERAS3, Engine.KERAS)


def _lstm_weights(name, n_in, units, gates=4):
    return {f"{name}/kernel": RNG.normal(size=(n_in, gates * units)).astype(np.float32),
            f"{name}/recurrent_kernel": RNG.normal(size=(units, gates * units)).astype(np.float32),
            f"{name}/bias": RNG.normal(size=gates * units).astype(np.float32)}


def _masked_lstm(tmp_path, decoder: bool):
    layers = [input_layer("ids", [None, 6], "int32"),
              layer("Embedding", "emb", [["ids", 0, 0]], input_dim=10, output_dim=3, mask_zero=True),
              layer("LSTM", "enc", [["emb", 0, 0]], units=4)]
    weights = {"emb/embeddings": RNG.normal(size=(10, 3)).astype(np.float32), **_lstm_weights("enc", 3, 4)}
    if decoder:  # TF.js hands the decoder the encoder's stale mask; Keras runs it unmasked
        layers += [layer("RepeatVector", "rep", [["enc", 0, 0]], n=6),
                   layer("LSTM", "dec", [["rep", 0, 0]], units=2, return_sequences=True)]
        weights.update(_lstm_weights("dec", 4, 2))
    return _keras_model(tmp_path, layers, ["ids"], ["dec" if decoder else "enc"], weights)


def test_a_masked_keras_lstm_that_tfjs_runs_the_same_is_written(tmp_path):
    model = _masked_lstm(tmp_path / "src", decoder=False)
    model.metadata.pop("generatedBy")  # the source file's is kept; without one, the Keras version says
    document = tfjs_artifacts(model).model_json
    lstm = next(e for e in document["modelTopology"]["config"]["layers"] if e["name"] == "enc")
    assert lstm["config"]["recurrent_activation"] == "sigmoid"  # Keras's default, written out for TF.js
    assert document["generatedBy"] == "keras v2.15.0"


def test_a_keras_model_tfjs_would_run_differently_is_refused_before_writing(tmp_path):
    model = _masked_lstm(tmp_path / "src", decoder=True)
    with pytest.raises(UnsupportedLayerError, match=r"would run this keras model differently: output 0 differs"):
        tfjs_interop.save_tfjs(model, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_masked_keras_models_tfjs_runs_otherwise_are_refused(tmp_path):
    emb = [input_layer("ids", [None, 6], "int32"),
           layer("Embedding", "emb", [["ids", 0, 0]], input_dim=10, output_dim=3, mask_zero=True),
           layer("LSTM", "l", [["emb", 0, 0]], units=4, return_sequences=True)]
    weights = {"emb/embeddings": RNG.normal(size=(10, 3)).astype(np.float32), **_lstm_weights("l", 3, 4)}
    pooled = _keras_model(tmp_path / "gap", emb + [layer("GlobalAveragePooling1D", "gap", [["l", 0, 0]])],
                          ["ids"], ["gap"], weights)  # Keras averages unmasked steps, TF.js all of them
    with pytest.raises(UnsupportedLayerError, match="would run this keras model differently"):
        tfjs_artifacts(pooled)
    zeroed = _keras_model(tmp_path / "k3", emb[:2] + [layer("LSTM", "l", [["emb", 0, 0]], units=4,
                                                            return_sequences=True, zero_output_for_mask=True)],
                          ["ids"], ["l"], weights, version="3.6.0")  # TF.js cannot emit zeros at masked steps
    with pytest.raises(UnsupportedLayerError, match="would run this keras model differently"):
        tfjs_artifacts(zeroed)


def test_real_keras_masked_bidirectional_sequences_are_refused(tmp_path):
    """Keras (both generations) zeroes a Bidirectional's masked steps when it returns sequences; TF.js cannot."""
    for generation in ("k2", "k3"):
        model = tfjs_interop.load(ROOT / "fixtures" / "keras" / f"{generation}_bidi_lstm_embedding_mask" / "model.h5")
        with pytest.raises(UnsupportedLayerError, match="would run this keras model differently"):
            tfjs_interop.save_tfjs(model, tmp_path / generation)
        assert not (tmp_path / generation).exists()


# --- refusals --------------------------------------------------------------------------------------------------

def _dense_into(tmp_path, extra, version="2.15.0", weights=None):
    layers = [input_layer("x", [None, 4, 3]), layer("Dense", "d", [["x", 0, 0]], units=3), *extra]
    weights = {"d/kernel": RNG.normal(size=(3, 3)).astype(np.float32), "d/bias": np.ones(3, np.float32),
               **(weights or {})}
    return _keras_model(tmp_path, layers, ["x"], [extra[-1]["name"]], weights, version)


REFUSALS = {
    "gru_reset_after": ([layer("GRU", "g", [["d", 0, 0]], units=2)],
                        {"g/kernel": np.ones((3, 6), np.float32), "g/recurrent_kernel": np.ones((2, 6), np.float32),
                         "g/bias": np.ones((2, 6), np.float32)}, r"'g' \(GRU\).*reset_after=True.*retrain with "
                                                                  r"reset_after=False"),
    "subtract": ([layer("Subtract", "s", [["d", 0, 0], ["x", 0, 0]])], {},
                 r"'s' \(Subtract\).*cannot deserialise class 'Subtract'.*fix: .*Add"),
    "causal": ([layer("Conv1D", "c", [["d", 0, 0]], filters=2, kernel_size=2, padding="causal")],
               {"c/kernel": np.ones((2, 3, 2), np.float32), "c/bias": np.ones(2, np.float32)},
               r"'c' \(Conv1D\).*padding='causal'"),
    "elu_alpha": ([layer("ELU", "e", [["d", 0, 0]], alpha=0.5)], {}, r"'e' \(ELU\).*alpha=0.5"),
    "gelu_new": ([layer("Activation", "a", [["d", 0, 0]], activation="gelu_new")], {}, r"no activation 'gelu_new'"),
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_refusals_name_the_layer_and_write_nothing(tmp_path, name):
    extra, weights, message = REFUSALS[name]
    model = _dense_into(tmp_path / "src", extra, weights=weights)
    with pytest.raises(UnsupportedLayerError, match=message):
        tfjs_interop.save_tfjs(model, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


@pytest.mark.parametrize("axis,ok", [(-1, True), (2, True), ([1, 2], True), (1, False), ([1], False)])
def test_softmax_must_run_on_the_last_axis_or_several(tmp_path, axis, ok):
    model = _dense_into(tmp_path / "src", [layer("Softmax", "s", [["d", 0, 0]], axis=axis)])
    if ok:
        tfjs_artifacts(model)
    else:
        with pytest.raises(UnsupportedLayerError, match=r"'s' \(Softmax\).*last axis only.*of a rank-3 input"):
            tfjs_artifacts(model)


def test_keras3_hard_sigmoid_is_refused(tmp_path):
    extra = [layer("Activation", "a", [["d", 0, 0]], activation="hard_sigmoid")]
    with pytest.raises(UnsupportedLayerError, match=r"'a' \(Activation\).*Keras 3's 'hard_sigmoid'.*relu6") as info:
        tfjs_interop.save_tfjs(_dense_into(tmp_path / "src", extra, version="3.6.0"), tmp_path / "out")
    assert "keras3" not in str(info.value)  # the runtime's internal name (issue 11)
    tfjs_artifacts(_dense_into(tmp_path / "k2", extra))  # Keras 2's hard_sigmoid is TF.js's


def test_lambda_and_custom_classes_are_refused(tmp_path):
    model = _dense_into(tmp_path / "src", [layer("Dense", "e", [["d", 0, 0]], units=1)],
                        weights={"e/kernel": np.ones((3, 1), np.float32), "e/bias": np.ones(1, np.float32)})
    for class_name, message in (("Lambda", "Python code"), ("MyLayer", "replace it by layers TF.js has")):
        model.topology.layers[-1].class_name = class_name
        with pytest.raises(UnsupportedLayerError, match=rf"'e' \({class_name}\).*{message}"):
            tfjs_artifacts(model)


# --- the folder ------------------------------------------------------------------------------------------------

def _seed():
    return tfjs_interop.load(TFJS_FIXTURES / "seed_lstm")


def test_save_writes_model_json_and_shards(tmp_path):
    out = tfjs_interop.save_tfjs(_seed(), tmp_path / "a" / "b", shard_size_bytes=8192, metadata={"vocab": [1, 2]})
    names = sorted(p.name for p in out.iterdir())
    assert names == ["group1-shard1of3.bin", "group1-shard2of3.bin", "group1-shard3of3.bin", "model.json"]
    assert json.loads((out / "model.json").read_text())["userDefinedMetadata"] == {"vocab": [1, 2]}
    assert_matches(tfjs_interop.load(out), TFJS_FIXTURES / "seed_lstm")


def test_the_source_files_metadata_is_kept_unless_replaced(tmp_path):
    model = _seed()
    model.metadata["userDefinedMetadata"] = {"from": "source"}
    assert tfjs_artifacts(model).model_json["userDefinedMetadata"] == {"from": "source"}
    assert tfjs_artifacts(model, metadata={"new": 1}).model_json["userDefinedMetadata"] == {"new": 1}
    assert "userDefinedMetadata" not in tfjs_artifacts(_seed()).model_json


def test_an_empty_folder_is_filled_and_dot_works(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    tfjs_interop.save_tfjs(_seed(), tmp_path / "empty")
    monkeypatch.chdir(tmp_path / "empty")
    tfjs_interop.save_tfjs(_seed(), ".", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]
    assert sorted(p.name for p in (tmp_path / "empty").iterdir()) == ["group1-shard1of1.bin", "model.json"]


def test_non_empty_target_needs_overwrite(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    with pytest.raises(InputError, match="not empty; pass overwrite=True"):
        tfjs_interop.save_tfjs(_seed(), tmp_path / "out")
    tfjs_interop.save_tfjs(_seed(), tmp_path / "out", overwrite=True)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["group1-shard1of1.bin", "model.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("existing", [False, True])
def test_a_failure_midway_leaves_nothing_behind(tmp_path, monkeypatch, existing):
    if existing:
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "model.json").write_text("old")
    from tfjs_interop.formats import atomic

    real = atomic._write_new
    written = []

    def failing(path, data):
        if written:
            raise OSError(28, "No space left on device")
        written.append(path)
        return real(path, data)

    monkeypatch.setattr(atomic, "_write_new", failing)
    with pytest.raises(OSError, match="No space"):
        tfjs_interop.save_tfjs(_seed(), tmp_path / "out", overwrite=True)
    monkeypatch.undo()
    assert written, "the failure was not injected midway"
    assert sorted(p.name for p in tmp_path.iterdir()) == (["out"] if existing else [])
    if existing:
        assert (tmp_path / "out" / "model.json").read_text() == "old"


@pytest.mark.parametrize("kwargs,message", [({"metadata": [1]}, "metadata must be a JSON object"),
                                            ({"metadata": {"x": float("nan")}}, "NaN or Infinity"),
                                            ({"shard_size_bytes": 0}, "positive integer")])
def test_bad_arguments_write_nothing(tmp_path, kwargs, message):
    with pytest.raises(InputError, match=message):
        tfjs_interop.save_tfjs(_seed(), tmp_path / "out", **kwargs)
    assert not any(tmp_path.iterdir())


def test_a_keras_initial_state_tfjs_would_leak_into_a_timedistributed_rnn_is_refused(tmp_path):
    td_inner = {"class_name": "LSTM", "config": {"name": "inner", "units": 2}}
    layers = [input_layer("x", [None, 4, 3]), input_layer("y", [None, 2, 4, 3]),
              layer("LSTM", "enc", [["x", 0, 0]], units=2, return_state=True),
              layer("LSTM", "dec", [["x", 0, 0], ["enc", 0, 1], ["enc", 0, 2]], units=2),
              layer("TimeDistributed", "td", [["y", 0, 0]], layer=td_inner)]
    weights = {**_lstm_weights("enc", 3, 2), **_lstm_weights("dec", 3, 2), **_lstm_weights("td", 3, 2)}
    model = _keras_model(tmp_path, layers, ["x", "y"], ["dec", "td"], weights)
    with pytest.raises(UnsupportedLayerError, match=r"'dec' is given an initial state.*TimeDistributed RNN 'td'"):
        tfjs_artifacts(model)


def test_golden_vectors_are_stored_beside_the_written_model_and_checked_on_load(tmp_path):
    model = tfjs_interop.load(TFJS_FIXTURES / "lstm_stacked_dense")
    x = np.load(TFJS_FIXTURES / "lstm_stacked_dense" / "call0_input0.npy")
    out = tfjs_interop.save_tfjs(model, tmp_path / "web", golden=x)
    assert (out / "golden.npz").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["web"]  # written in the temporary folder, renamed whole
    report = tfjs_interop.golden.check(out, out / "golden.npz")
    assert report.passed and not report.notes, report.table()
    tfjs_interop.load(out, check=True)
    shard = next(out.glob("*.bin"))
    data = bytearray(shard.read_bytes())
    data[:4] = np.float32(9.0).tobytes()
    shard.write_bytes(bytes(data))
    with pytest.raises(tfjs_interop.GoldenMismatchError):
        tfjs_interop.load(out, check=True)


def test_golden_inputs_that_do_not_fit_write_nothing(tmp_path):
    model = tfjs_interop.load(TFJS_FIXTURES / "lstm_stacked_dense")
    with pytest.raises(tfjs_interop.InputError):
        tfjs_interop.save_tfjs(model, tmp_path / "web", golden=np.zeros((2, 3), np.float32))
    assert not any(tmp_path.iterdir())


def test_a_reshape_to_minus_one_is_written_with_the_size_tfjs_cannot_infer(tmp_path):
    """TF.js leaves a -1 of target_shape unknown in a model (its input's batch size is), so a Dense or LSTM
    after it failed to load ("shape comprised of positive integers but got shape [,8]"); the size is static."""
    topology = functional([input_layer("x", [None, 6, 4]), layer("Reshape", "r", [["x", 0, 0]], target_shape=[3, -1]),
                           layer("Dense", "d", [["r", 0, 0]], units=2)], ["x"], ["d"])
    path = write_model(tmp_path / "m", topology, {"d/kernel": RNG.standard_normal((8, 2)).astype(np.float32),
                                                  "d/bias": RNG.standard_normal(2).astype(np.float32)})
    model = tfjs_interop.load(path)
    artifacts = tfjs_artifacts(model)
    layers = artifacts.model_json["modelTopology"]["config"]["layers"]
    assert next(entry for entry in layers if entry["name"] == "r")["config"]["target_shape"] == [3, 8]
    x = RNG.standard_normal((2, 6, 4)).astype(np.float32)
    np.testing.assert_array_equal(_read_back(artifacts).predict(x), model.predict(x))


def test_a_model_listing_one_output_twice_is_refused_for_tfjs(tmp_path):
    """TF.js loads it with a warning ("redundant") and then fails in predict."""
    topology = functional([input_layer("x", [None, 4]), layer("Dense", "d", [["x", 0, 0]], units=2)], ["x"],
                          ["d", "d"])
    path = write_model(tmp_path / "m", topology, {"d/kernel": RNG.standard_normal((4, 2)).astype(np.float32),
                                                  "d/bias": RNG.standard_normal(2).astype(np.float32)})
    with pytest.raises(UnsupportedLayerError, match="lists output 0 of layer 'd' twice among its outputs"):
        tfjs_artifacts(tfjs_interop.load(path))
