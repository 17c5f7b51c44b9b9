"""Fuzzing: mutated fixture model.json files and shards either load (and run) or raise our own errors.

Reproducible in CI: hypothesis runs derandomized with a fixed number of examples. Run longer locally with
``TFJS_INTEROP_FUZZ_EXAMPLES=5000 python -m pytest tests/unit/test_fuzz.py`` (and ``TFJS_INTEROP_FUZZ_SEED`` to explore
other examples). Anything found becomes a named test in ``tests/unit/test_hostile.py``.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np

import tfjs_interop
from tests.support.fixtures import KERAS_FIXTURES, TFJS_FIXTURES, expected
from tests.support.requires import module

hypothesis = module("hypothesis")  # the test extra's; without it this module is skipped (see requires)
HealthCheck, given, seed, settings = hypothesis.HealthCheck, hypothesis.given, hypothesis.seed, hypothesis.settings
st = hypothesis.strategies

CASES = ["seed_lstm", "bidi_lstm_concat", "quantized_uint8", "quantized_float16", "multishard",
         "nested_sequential_shared", "rnn_stacked_cells", "encoder_decoder_initial_state", "embedding_mask_lstm",
         "conv_pool_lstm", "merge_concatenate", "converter_wrapper", "with_optimizer", "lstm_stateful"]
EXAMPLES = int(os.environ.get("TFJS_INTEROP_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=10), database=None,
                derandomize="TFJS_INTEROP_FUZZ_SEED" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SEED = int(os.environ.get("TFJS_INTEROP_FUZZ_SEED", "0"))

HOSTILE_VALUES = [None, True, 0, -1, 1, 2, 7, 10**12, 2**63, -2**31, 0.5, -0.0, 1e308, "", "NaN", "Infinity", "x",
                  "float32", "float64", "string", "uint8", "../outside.bin", "/etc/passwd", "http://example.com/w",
                  "input1", "Dense", "LSTM", "Model", [], [None], [0], [-1], [1, 2], [10**12, 10**12], ["x", 0, 0],
                  {}, {"class_name": "Dense"}, {"dtype": "uint8", "scale": -1, "min": 0}, [[[[]]]],
                  "Bidirectional", "TimeDistributed", "RNN", "GRU", "Conv1D", "Embedding", "Reshape", "Concatenate",
                  "StackedRNNCells", "InputLayer", "Sequential"]


def _paths(value: object, prefix: tuple = ()) -> list[tuple]:
    """Every position inside a JSON value, as a tuple of keys and indices."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += _paths(child, (*prefix, i))
    return found


def _mutate(document: dict, path: tuple, action: str, new: object) -> None:
    """Apply one JSON-level mutation at ``path`` (a non-empty position)."""
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if action == "drop":
        del parent[key]
    elif action == "retype":  # the same value as another JSON type
        parent[key] = str(parent[key]) if not isinstance(parent[key], str) else [parent[key]]
    elif action == "duplicate" and isinstance(parent, list):
        parent.insert(key, parent[key])
    else:
        parent[key] = copy.deepcopy(new)


def _apply(document: dict, mutations: list) -> None:
    """Apply (path, action, value) mutations in order; one whose position an earlier one removed is skipped."""
    for path, action, new in mutations:
        try:
            _mutate(document, path, action, new)
        except (KeyError, IndexError, TypeError):
            pass


@st.composite
def json_mutations(draw, document: dict) -> list:
    everywhere = [p for p in _paths(document) if p]
    manifest = [p for p in everywhere if p[0] == "weightsManifest"]
    positions = draw(st.sampled_from([everywhere, manifest]))  # the manifest is small: give it half the draws
    count = draw(st.integers(1, 3))
    return [(draw(st.sampled_from(positions)), draw(st.sampled_from(["drop", "replace", "retype", "duplicate"])),
             draw(st.sampled_from(HOSTILE_VALUES))) for _ in range(count)]


def _load_and_run(folder: Path, case: str) -> None:
    """Load the model and run it on the case's recorded input; only our errors may escape."""
    try:
        model = tfjs_interop.load(folder)
        inputs = [np.load(TFJS_FIXTURES / case / name) for name in expected(TFJS_FIXTURES / case)["calls"][0]["inputs"]]
        model.predict(inputs)
    except tfjs_interop.TfjsInteropError:
        pass


def _copy_case(case: str, into: Path) -> Path:
    folder = into / case
    shutil.copytree(TFJS_FIXTURES / case, folder)
    return folder


@seed(SEED)
@FUZZ
@given(case=st.sampled_from(CASES), data=st.data())
def test_mutated_model_json_gives_only_our_errors(case, data):
    document = json.loads((TFJS_FIXTURES / case / "model.json").read_text())
    _apply(document, data.draw(json_mutations(document)))
    with tempfile.TemporaryDirectory() as tmp:
        folder = _copy_case(case, Path(tmp))
        (folder / "model.json").write_text(json.dumps(document))
        _load_and_run(folder, case)


@seed(SEED)
@FUZZ
@given(case=st.sampled_from(CASES), data=st.data())
def test_mutated_shards_give_only_our_errors(case, data):
    with tempfile.TemporaryDirectory() as tmp:
        folder = _copy_case(case, Path(tmp))
        shard = data.draw(st.sampled_from(sorted(folder.glob("*.bin"))))
        content = bytearray(shard.read_bytes())
        action = data.draw(st.sampled_from(["truncate", "extend", "flip", "delete"]))
        if action == "truncate":
            del content[data.draw(st.integers(0, max(len(content) - 1, 0))):]
        elif action == "extend":
            content += data.draw(st.binary(min_size=1, max_size=64))
        elif action == "flip" and content:
            content[data.draw(st.integers(0, len(content) - 1))] ^= data.draw(st.integers(1, 255))
        shard.write_bytes(content)
        if action == "delete":
            shard.unlink()
        _load_and_run(folder, case)


KERAS_CASES = ["k3_bidi_lstm_embedding_mask", "k3_masked_encoder_decoder", "k3_rnn_stacked_cells",
               "k3_nested_sequential_masked", "k3_conv_front_end", "k2_bidi_lstm_embedding_mask",
               "k2_encoder_decoder", "k2_nested_sequential_masked", "k2_rnn_stacked_cells", "k2_multi_io_merges"]


def _run_keras(path: Path, case: str) -> None:
    """Load a Keras file and run it on the case's recorded inputs; only our errors may escape."""
    try:
        model = tfjs_interop.load(path)
        record = expected(KERAS_FIXTURES / case)
        model.predict([np.load(KERAS_FIXTURES / case / name) for name in record["calls"][0]["inputs"]])
    except tfjs_interop.TfjsInteropError:
        pass


def _mutated(document: dict, data) -> dict:
    document = copy.deepcopy(document)
    everywhere = [p for p in _paths(document) if p]
    _apply(document, [(data.draw(st.sampled_from(everywhere)),
                       data.draw(st.sampled_from(["drop", "replace", "retype", "duplicate"])),
                       data.draw(st.sampled_from(HOSTILE_VALUES + KERAS_VALUES)))
                      for _ in range(data.draw(st.integers(1, 3)))])
    return document


KERAS_VALUES = [{"class_name": "__keras_tensor__", "config": {"keras_history": ["x", 0, 0]}},
                {"args": [], "kwargs": {}}, {"module": "keras.src.ops.numpy", "class_name": "NotEqual"},
                "keras.src.ops.numpy", "NotEqual", "Any", "mixed_float16", {"name": "int8"}]


@seed(SEED)
@FUZZ
@given(case=st.sampled_from([c for c in KERAS_CASES if c.startswith("k3")]), data=st.data())
def test_mutated_keras_archive_config_gives_only_our_errors(case, data):
    import zipfile

    with zipfile.ZipFile(KERAS_FIXTURES / case / "model.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["config.json"] = json.dumps(_mutated(json.loads(members["config.json"]), data)).encode()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        with zipfile.ZipFile(path, "w") as archive:
            for name, content in members.items():
                archive.writestr(name, content)
        _run_keras(path, case)


@seed(SEED)
@FUZZ
@given(case=st.sampled_from(KERAS_CASES), data=st.data())
def test_mutated_h5_model_config_and_bytes_give_only_our_errors(case, data):
    import h5py

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.h5"
        shutil.copy(KERAS_FIXTURES / case / "model.h5", path)
        if data.draw(st.booleans()):
            with h5py.File(path, "a") as f:
                f.attrs["model_config"] = json.dumps(_mutated(json.loads(f.attrs["model_config"]), data))
        else:
            content = bytearray(path.read_bytes())
            for _ in range(data.draw(st.integers(1, 8))):
                content[data.draw(st.integers(0, len(content) - 1))] ^= data.draw(st.integers(1, 255))
            path.write_bytes(bytes(content))
        _run_keras(path, case)
