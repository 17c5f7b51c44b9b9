"""``tfjs-interop convert`` with the official ``tensorflowjs_converter``'s flags, run as the installed command on the
command lines the converter's README and its own pip-package tests (tfjs-converter/python/test_pip_package.py) use.
The folders written are loaded by the real TF.js (scripts/tfjs/roundtrip.js) as well as by the runtime."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import TFJS_FIXTURES, expected

TFJS_INTEROP = str(Path(sys.executable).with_name("tfjs-interop"))
KERAS = TFJS_FIXTURES.parent / "keras"
H5 = KERAS / "k2_lstm_seq_dense" / "model.h5"
SEED = TFJS_FIXTURES / "seed_lstm"
STACKED = TFJS_FIXTURES / "lstm_stacked_dense"


def _cli(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([TFJS_INTEROP, *map(str, args)], capture_output=True, text=True, timeout=180, cwd=cwd)


def _ok(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = _cli(*args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result


def _refused(*args: object) -> str:
    result = _cli(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr


def _recorded(case: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    call = expected(case)["calls"][0]
    return [np.load(case / n) for n in call["inputs"]], [np.load(case / n) for n in call["outputs"]]


def _assert_gives(folder: Path, case: Path, atol: float = 1e-5) -> None:
    x, want = _recorded(case)
    got = tfjs_interop.load(folder).predict(x)
    for ours, theirs in zip(got if isinstance(got, list) else [got], want):
        np.testing.assert_allclose(ours, theirs, atol=atol, rtol=0)


def _manifest(folder: Path) -> list[dict]:
    return json.loads((folder / "model.json").read_text())["weightsManifest"]


def _weight_bytes(folder: Path) -> list[int]:
    return [p.stat().st_size for p in sorted(folder.glob("group*.bin"))]


def test_keras_h5_to_layers_model(tmp_path):
    """testKerasH5ConversionWorksFromCLI: --input_format keras model.h5 out_dir -> one weight group."""
    _ok("convert", "--input_format", "keras", H5, tmp_path / "web")
    assert len(_manifest(tmp_path / "web")) == 1 and len(list((tmp_path / "web").glob("group*"))) == 1
    _assert_gives(tmp_path / "web", H5.parent)


def test_split_weights_by_layer_makes_one_group_per_layer(tmp_path):
    """testKerasH5ConversionSplitWeightsByLayerWorksFromCLI: two layers with weights -> two groups."""
    _ok("convert", "--input_format", "keras", "--split_weights_by_layer", H5, tmp_path / "web")
    manifest = _manifest(tmp_path / "web")
    assert [g["paths"] for g in manifest] == [["group1-shard1of1.bin"], ["group2-shard1of1.bin"]]
    assert [[w["name"].split("/")[0] for w in g["weights"]] for g in manifest] == [["lstm"] * 3, ["head"] * 2]
    _assert_gives(tmp_path / "web", H5.parent)


def test_layers_model_to_keras_h5_and_keras_keras(tmp_path):
    """testConvertTensorflowjsArtifactsToKerasH5 (and keras_keras): model.json -> .h5 / .keras."""
    _ok("convert", "--input_format", "tfjs_layers_model", "--output_format", "keras", SEED / "model.json",
        tmp_path / "model_2.h5")
    _ok("convert", "--input_format", "tfjs_layers_model", "--output_format", "keras_keras", SEED / "model.json",
        tmp_path / "model_3.keras")
    x, (want,) = _recorded(SEED)
    for file in ("model_2.h5", "model_3.keras"):
        np.testing.assert_allclose(tfjs_interop.load(tmp_path / file).predict(x), want, atol=1e-5, rtol=0)
    assert "must end in .keras" in _refused("convert", "--output_format", "keras_keras", SEED, tmp_path / "m.h5")


def test_weight_shard_size_bytes_cuts_shards_like_the_converter(tmp_path):
    """testConvertTfjsLayersModelIntoShardedWeights: 0.3 of the weight bytes per shard -> 4 files, three equal."""
    total = 4 * tfjs_interop.load(STACKED).count_params()
    _ok("convert", "--input_format", "tfjs_layers_model", "--output_format", "tfjs_layers_model",
        "--weight_shard_size_bytes", int(total * 0.3), STACKED / "model.json", tmp_path / "tfjs_sharded")
    sizes = _weight_bytes(tmp_path / "tfjs_sharded")
    assert len(sizes) == 4 and sum(sizes) == total and sizes[0] == sizes[1] == sizes[2] > sizes[3]
    _assert_gives(tmp_path / "tfjs_sharded", STACKED)
    # and back into a Keras h5 without --output_format (told by the suffix)
    _ok("convert", "--input_format", "tfjs_layers_model", tmp_path / "tfjs_sharded" / "model.json",
        tmp_path / "new_h5.h5")
    _assert_gives(tmp_path / "new_h5.h5", STACKED)


@pytest.mark.parametrize("flags", [["--quantization_bytes", "2"], ["--quantize_uint16", "*"], ["--quantize_uint16"]])
def test_uint16_quantization_halves_the_weight_bytes(tmp_path, flags):
    """testConvertTfjsLayersModelWithLegacyQuantization / WithQuantization: the weights take half the bytes."""
    total = 4 * tfjs_interop.load(STACKED).count_params()
    _ok("convert", "--input_format", "tfjs_layers_model", "--output_format", "tfjs_layers_model", *flags,
        STACKED / "model.json", tmp_path / "q")
    assert _weight_bytes(tmp_path / "q") == [total // 2]
    assert {w["quantization"]["dtype"] for w in _manifest(tmp_path / "q")[0]["weights"]} == {"uint16"}
    _assert_gives(tmp_path / "q", STACKED, atol=1e-3)


def test_a_quantize_flag_followed_by_the_paths_takes_all_weights(tmp_path):
    """The README's form `--quantize_uint16 original_model/model.json quantized_model/`: argparse gives the model
    path to the flag; it is taken back as SRC and the flag as 'every weight'."""
    _ok("convert", "--input_format", "tfjs_layers_model", "--output_format", "tfjs_layers_model",
        "--quantize_uint16", STACKED / "model.json", tmp_path / "quantized_model")
    assert {w["quantization"]["dtype"] for w in _manifest(tmp_path / "quantized_model")[0]["weights"]} == {"uint16"}


def test_patterns_and_a_fallthrough_dtype(tmp_path):
    """--quantize_float16 PATTERNS with --quantize_uint8 alone: uint8 takes the weights the patterns leave."""
    _ok("convert", "--quantize_float16=lstm_LSTM1/*,*/bias", "--quantize_uint8", "--", STACKED, tmp_path / "q")
    dtypes = {w["name"]: w["quantization"]["dtype"] for w in _manifest(tmp_path / "q")[0]["weights"]}
    assert dtypes == {"lstm_LSTM1/kernel": "float16", "lstm_LSTM1/recurrent_kernel": "float16",
                      "lstm_LSTM1/bias": "float16", "lstm_LSTM2/kernel": "uint8",
                      "lstm_LSTM2/recurrent_kernel": "uint8", "lstm_LSTM2/bias": "float16",
                      "dense_Dense1/kernel": "uint8", "dense_Dense1/bias": "float16"}
    assert "--quantization_bytes cannot be used" in _refused(
        "convert", "--quantization_bytes", "1", "--quantize_float16", "*", SEED, tmp_path / "r")
    assert "not both" in _refused("convert", "--quantize", "uint8", "--quantize_float16", "*", SEED, tmp_path / "r")


def test_the_issues_command_line(tmp_path):
    """The line existing scripts use: keras input, uint8 for all, 4 MiB shards, metadata key:path."""
    (tmp_path / "meta.json").write_text('{"classes": ["a", "b", "c", "d"]}')
    (tmp_path / "more.json").write_text('[1, 2]')
    _ok("convert", "--input_format", "keras", "--quantize_uint8", "*", "--weight_shard_size_bytes", "4194304",
        "--metadata", "labels:meta.json,extra:more.json", H5, "web/", cwd=tmp_path)
    document = json.loads((tmp_path / "web" / "model.json").read_text())
    assert document["userDefinedMetadata"] == {"labels": {"classes": ["a", "b", "c", "d"]}, "extra": [1, 2]}
    assert {w["quantization"]["dtype"] for w in document["weightsManifest"][0]["weights"]} == {"uint8"}
    _assert_gives(tmp_path / "web", H5.parent, atol=2e-2)
    stderr = _refused("convert", "--metadata", "labels:missing.json", H5, tmp_path / "w2")
    assert "cannot read missing.json" in stderr


def test_weights_only_keras_model_converts_with_weights(tmp_path):
    """A topology JSON plus a weights-only file (its GRU reset_after=True has no TF.js form: to Keras files)."""
    case = KERAS / "k3_weights_only"
    for out in ("m.keras", "m.h5"):
        _ok("convert", "--input_format", "keras", case / "model_config.json", tmp_path / out, "--weights",
            case / "model.weights.h5")
        _assert_gives(tmp_path / out, case)
    assert "holds no weights" in _refused("convert", case / "model_config.json", tmp_path / "n.keras")


@pytest.mark.parametrize("flags,message", [
    (["--input_format", "tf_saved_model"], "--input_format tf_saved_model: tfjs-interop converts layers models"),
    (["--input_format", "keras_saved_model"], "need the official tensorflowjs_converter"),
    (["--output_format", "tfjs_graph_model"], "--output_format tfjs_graph_model: tfjs-interop converts layers"),
    (["--input_format", "keras", "--signature_name", "bar"], "--signature_name: a flag of graph-model conversion"),
    (["--strip_debug_ops=True", "--control_flow_v2", "True"], "--strip_debug_ops, --control_flow_v2: a flag of"),
    (["--output_node_names", "a,b", "--skip_op_check"], "--skip_op_check, --output_node_names: a flag of"),
    (["--input_format", "nonsensical_format"], "--input_format nonsensical_format: expected one of keras"),
])
def test_graph_model_flags_are_refused_clearly(tmp_path, flags, message):
    assert message in _refused("convert", *flags, H5, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fmt,src,message", [
    ("keras", SEED, "expected SRC"), ("keras_keras", H5, "a Keras .keras (zip) file"),
    ("tfjs_layers_model", H5, "a TF.js model.json or its folder"),
])
def test_input_format_must_describe_src(tmp_path, fmt, src, message):
    assert message in _refused("convert", "--input_format", fmt, src, tmp_path / "out")


def test_missing_paths_are_usage_errors(tmp_path):
    result = _cli("convert")
    assert result.returncode == 2 and "src" in result.stderr
    assert "convert needs SRC and DST" in _refused("convert", SEED)


@pytest.mark.parametrize("name,message", [
    ("out.onnx", "must be a .h5 or .keras file or a TF.js folder, not a '.onnx' file; end it with /"),
    ("out.KERAS", "Keras reads only the lowercase suffix: use out.keras"),
    ("model.json", "not a '.json' file"),
])
def test_an_unknown_output_suffix_is_an_error_not_a_folder(tmp_path, name, message):
    assert message in _refused("convert", SEED, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_a_trailing_slash_or_output_format_makes_a_folder_of_any_name(tmp_path):
    _ok("convert", SEED, f"{tmp_path / 'web.v2'}/")
    _ok("convert", "--output_format", "tfjs_layers_model", SEED, tmp_path / "web.v3")
    assert (tmp_path / "web.v2" / "model.json").is_file() and (tmp_path / "web.v3" / "model.json").is_file()


def test_tfjs_flags_for_keras_output_are_refused(tmp_path):
    assert "--shard-size, --split_weights_by_layer apply to TF.js output only" in _refused(
        "convert", "--weight_shard_size_bytes", "100", "--split_weights_by_layer", SEED, tmp_path / "m.h5")


@pytest.mark.node
def test_the_real_tfjs_loads_what_the_official_flags_wrote(tmp_path):
    """Split groups, uint8 with key:path metadata, and fine shards, each loaded by tf.loadLayersModel."""
    from tests.support.fixtures import TFJS_SCRIPTS
    from tests.support.requires import node as require_node

    node = require_node()
    (tmp_path / "meta.json").write_text('{"classes": ["a", "b"]}')
    written = {"split": ["--split_weights_by_layer"], "shards": ["--weight_shard_size_bytes", "300"],
               "uint8": ["--quantize_uint8", "--metadata", f"labels:{tmp_path / 'meta.json'}"]}
    plan, x = [], [str(H5.parent / "call0_input0.npy")]
    for name, flags in written.items():
        _ok("convert", "--input_format", "keras", *flags, H5, tmp_path / name)
        plan.append({"model": str(tmp_path / name), "out": str(tmp_path / "tfjs" / name), "calls": [{"inputs": x}]})
    (tmp_path / "jobs.json").write_text(json.dumps(plan))
    subprocess.run([node, str(TFJS_SCRIPTS / "roundtrip.js"), str(tmp_path / "jobs.json")], check=True,
                   capture_output=True, timeout=300)
    want = np.load(H5.parent / "call0_output0.npy")
    for name in written:
        result = json.loads((tmp_path / "tfjs" / name / "result.json").read_text())
        assert result["ok"], result["error"]
        got = np.load(tmp_path / "tfjs" / name / "call0_output0.npy")
        ours = tfjs_interop.load(tmp_path / name).predict(np.load(x[0]))
        np.testing.assert_allclose(got, ours, atol=1e-5, rtol=0)  # TF.js computes what the runtime reads
        np.testing.assert_allclose(got, want, atol=2e-2 if name == "uint8" else 1e-5, rtol=0)
    assert json.loads((tmp_path / "tfjs" / "uint8" / "result.json").read_text())["userDefinedMetadata"] == {
        "labels": {"classes": ["a", "b"]}}
