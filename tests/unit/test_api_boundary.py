"""Only TfjsInteropError leaves the public API (issue 11): load, predict, save_tfjs, save_keras, verify, golden.

The mechanism is one decorator, ``errors.api_boundary``, on each public function; these tests check that it is
there and works, and run every fixture (TF.js and Keras) with its nesting mutated — layers wrapped in
TimeDistributed or Bidirectional, in nested Sequential models, models inside wrappers, nested configs emptied —
through load, predict, save_tfjs, save_keras and golden record / check: each either works or raises our error.
"""

from __future__ import annotations

import copy
import json
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import KERAS_FIXTURES, TFJS_FIXTURES, cases, expected
from tfjs_interop import golden
from tfjs_interop.errors import FileAccessError, ModelFormatError, TfjsInteropError, api_boundary

PUBLIC = [tfjs_interop.load, tfjs_interop.from_keras, tfjs_interop.save_tfjs, tfjs_interop.save_keras,
          tfjs_interop.verify, golden.record, golden.check, golden.write_golden, tfjs_interop.Model.predict]


@pytest.mark.parametrize("function", PUBLIC, ids=lambda f: f.__qualname__)
def test_every_public_entry_point_is_behind_the_boundary(function):
    assert hasattr(function, "__wrapped__"), f"{function.__qualname__} is not decorated with api_boundary"


@pytest.mark.parametrize(("raised", "expected_class"), [
    (KeyError("topology"), ModelFormatError), (TypeError("x"), ModelFormatError),
    (RecursionError("deep"), ModelFormatError), (PermissionError(13, "denied", "/x"), FileAccessError),
    (MemoryError(), tfjs_interop.LimitError)])
def test_the_boundary_turns_anything_else_into_our_errors(raised, expected_class):
    @api_boundary(ModelFormatError)
    def public():
        raise raised

    with pytest.raises(expected_class) as info:
        public()
    assert isinstance(info.value, TfjsInteropError) and info.value.__cause__ is raised


def test_the_boundary_lets_interrupts_through():
    @api_boundary(ModelFormatError)
    def public():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        public()


def test_a_bare_error_deep_inside_load_leaves_as_ours(monkeypatch):
    from tfjs_interop import binding

    def broken(*args, **kwargs):
        raise KeyError("topology")

    monkeypatch.setattr(binding, "parse_topology", broken)
    with pytest.raises(ModelFormatError, match="KeyError: 'topology'"):
        tfjs_interop.load(TFJS_FIXTURES / "seed_lstm")


# --- nesting mutations over every fixture ----------------------------------------------------------------------

def _layers(topology: dict) -> list:
    config = topology.get("config")
    return config if isinstance(config, list) else config["layers"]


def _wrap(entry: dict, wrapper: str) -> dict:
    inner = {"class_name": entry["class_name"], "config": copy.deepcopy(entry.get("config"))}
    if wrapper == "Sequential":
        inner = {"class_name": "Sequential", "config": {"name": f"{entry.get('name', 'l')}_seq", "layers": [inner]}}
        wrapper = "TimeDistributed"
    out = {key: value for key, value in entry.items() if key not in ("class_name", "config")}
    return {**out, "class_name": wrapper, "config": {"name": (entry.get("config") or {}).get("name"), "layer": inner}}


def _as_nested(entry: dict) -> dict:
    inner = {"class_name": entry["class_name"], "config": copy.deepcopy(entry.get("config"))}
    name = (entry.get("config") or {}).get("name") or entry.get("name")
    out = {key: value for key, value in entry.items() if key not in ("class_name", "config")}
    return {**out, "class_name": "Sequential", "config": {"name": name, "layers": [inner]}}


MUTATIONS = {
    "TimeDistributed": lambda topology, entry: _wrap(entry, "TimeDistributed"),
    "Bidirectional": lambda topology, entry: _wrap(entry, "Bidirectional"),
    "TimeDistributed(Sequential)": lambda topology, entry: _wrap(entry, "Sequential"),
    "nested Sequential": lambda topology, entry: _as_nested(entry),
    "the model in TimeDistributed": lambda topology, entry: {**_wrap(entry, "TimeDistributed"), "config": {
        "name": "td_model", "layer": copy.deepcopy({"class_name": topology["class_name"],
                                                    "config": topology["config"]})}},
    "nested model without layers": lambda topology, entry: {**_wrap(entry, "Sequential"), "config": {
        "name": "td_empty", "layer": {"class_name": "Sequential", "config": {"name": "s"}}}},
    "nested model with a non-list config": lambda topology, entry: {**_wrap(entry, "Sequential"), "config": {
        "name": "td_bad", "layer": {"class_name": "Functional", "config": {"layers": {"x": 1}}}}},
}


def _mutants(topology: dict) -> list[tuple[str, dict]]:
    """Each mutation applied to the first and the last layer that is not an input."""
    positions = [i for i, entry in enumerate(_layers(topology)) if isinstance(entry, dict)
                 and entry.get("class_name") != "InputLayer"]
    out = []
    for i in sorted({positions[0], positions[-1]}) if positions else []:
        for name, mutate in MUTATIONS.items():
            document = copy.deepcopy(topology)
            _layers(document)[i] = mutate(topology, _layers(document)[i])
            out.append((f"{name} at layer {i}", document))
    return out


def _exercise(path: Path, inputs: list[np.ndarray], tmp: Path) -> None:
    """Every public entry point on one file; only our errors may leave."""
    try:
        model = tfjs_interop.load(path)
    except TfjsInteropError:
        return
    for call in (lambda: model.predict(inputs), lambda: model.predict(inputs, batch_size=1),
                 lambda: tfjs_interop.save_tfjs(model, tmp / "tfjs", overwrite=True),
                 lambda: tfjs_interop.save_keras(model, tmp / "k.keras"),
                 lambda: golden.record(path, inputs, tmp / "g.npz"), lambda: golden.check(path, tmp / "g.npz")):
        try:
            call()
        except TfjsInteropError:
            pass


def _inputs(case: Path) -> list[np.ndarray]:
    return [np.load(case / name) for name in expected(case)["calls"][0]["inputs"]] if "calls" in expected(case) \
        else []


TFJS_CASES = [case.name for case in cases()]


@pytest.mark.parametrize("case", TFJS_CASES)
def test_tfjs_fixture_with_mutated_nesting_gives_only_our_errors(case, tmp_path):
    document = json.loads((TFJS_FIXTURES / case / "model.json").read_text())
    topology = document["modelTopology"]
    topology = topology.get("model_config", topology)
    for label, mutant in _mutants(topology):
        folder = tmp_path / "model"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(TFJS_FIXTURES / case, folder)
        changed = copy.deepcopy(document)
        if "model_config" in changed["modelTopology"]:
            changed["modelTopology"]["model_config"] = mutant
        else:
            changed["modelTopology"] = mutant
        (folder / "model.json").write_text(json.dumps(changed))
        try:
            _exercise(folder, _inputs(TFJS_FIXTURES / case), tmp_path)
        except Exception as exc:
            raise AssertionError(f"{case}, {label}: {type(exc).__name__}: {exc}") from exc


KERAS_FILES = [(case.name, file) for case in cases(KERAS_FIXTURES) for file in expected(case)["files"]
               if file.endswith((".h5", ".keras")) and "weights" not in file]


def _rewritten(source: Path, target: Path, topology: dict) -> None:
    if source.suffix == ".keras":
        with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
            for name in archive.namelist():
                out.writestr(name, json.dumps(topology) if name == "config.json" else archive.read(name))
        return
    shutil.copyfile(source, target)
    with h5py.File(target, "a") as file:
        file.attrs["model_config"] = json.dumps(topology)


def _keras_topology(path: Path) -> dict:
    if path.suffix == ".keras":
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("config.json"))
    with h5py.File(path, "r") as file:
        return json.loads(file.attrs["model_config"])


@pytest.mark.parametrize(("case", "file"), KERAS_FILES, ids=[f"{c}/{f}" for c, f in KERAS_FILES])
def test_keras_fixture_with_mutated_nesting_gives_only_our_errors(case, file, tmp_path):
    source = KERAS_FIXTURES / case / file
    for label, mutant in _mutants(_keras_topology(source)):
        target = tmp_path / f"mutant{source.suffix}"
        _rewritten(source, target, mutant)
        try:
            _exercise(target, _inputs(KERAS_FIXTURES / case), tmp_path)
        except Exception as exc:
            raise AssertionError(f"{case}/{file}, {label}: {type(exc).__name__}: {exc}") from exc
