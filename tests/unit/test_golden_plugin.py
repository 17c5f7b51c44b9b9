"""The pytest plugin, on a sample test project run by pytester (in a subprocess, as a user's pytest would run)."""

from __future__ import annotations

import shutil
from importlib.metadata import entry_points

import numpy as np
import pytest

from tests.support.fixtures import TFJS_FIXTURES
from tfjs_interop import golden
from tfjs_interop.formats.files import model_files

pytest_plugins = ["pytester"]

SAMPLE_TEST = """
from tfjs_interop.pytest_plugin import assert_golden

def test_model_keeps_its_golden_outputs():
    assert_golden("model", "golden/model.npz")

def test_fixture_form(tfjs_golden):
    tfjs_golden("model", "golden/model.npz")
"""


@pytest.fixture
def project(pytester: pytest.Pytester):
    """A sample project: a copy of seed_lstm, its golden record and a test module using the plugin."""
    shutil.copytree(TFJS_FIXTURES / "seed_lstm", pytester.path / "model")
    (pytester.path / "golden").mkdir()
    golden.record(pytester.path / "model", pytester.path / "model" / "call0_input0.npy",
                  pytester.path / "golden" / "model.npz")
    pytester.makepyfile(test_sample=SAMPLE_TEST)
    return pytester


def change_a_weight(folder) -> None:
    shard = model_files(folder)[1]
    values = np.frombuffer(shard.read_bytes(), "<f4").copy()
    values[0] += 0.5
    shard.write_bytes(values.tobytes())


def test_the_plugin_is_registered_under_pytest11():
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("tfjs_interop") == "tfjs_interop.pytest_plugin"


def test_passes_while_the_model_is_unchanged(project):
    result = project.runpytest_subprocess("-q")
    result.assert_outcomes(passed=2)


def test_fails_with_a_table_after_a_weight_change(project):
    change_a_weight(project.path / "model")
    result = project.runpytest_subprocess("-q")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*GoldenMismatchError: model does not reproduce its golden outputs 'golden/model.npz':",
        "*output * shape * max abs err * max rel err * result",
        "*lstm_LSTM1 * [[]3, 10, 32[]] * FAIL",
        "*note: model file 'group1-shard1of1.bin' changed since the record*",
    ])


def test_golden_update_rerecords_then_checks_pass(project):
    before = golden.read_golden(project.path / "golden" / "model.npz")
    change_a_weight(project.path / "model")
    result = project.runpytest_subprocess("-q", "--golden-update", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    after = golden.read_golden(project.path / "golden" / "model.npz")
    np.testing.assert_array_equal(after.inputs["input1"], before.inputs["input1"])
    assert (after.atol, after.rtol) == (before.atol, before.rtol)
    assert not np.array_equal(after.outputs["lstm_LSTM1"], before.outputs["lstm_LSTM1"])
    assert after.files["group1-shard1of1.bin"] != before.files["group1-shard1of1.bin"]
    project.runpytest_subprocess("-q").assert_outcomes(passed=2)


def test_golden_update_is_announced_in_the_header(project):
    result = project.runpytest_subprocess("--golden-update")
    result.stdout.fnmatch_lines(["tfjs-interop: --golden-update: golden files are re-recorded, not checked"])


def test_golden_update_without_a_golden_file_says_to_record_one(project):
    (project.path / "golden" / "model.npz").unlink()
    result = project.runpytest_subprocess("-q", "--golden-update")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*no golden file to re-record; --golden-update reuses the inputs*"])


def test_assert_golden_defaults_to_the_file_beside_the_model(tmp_path):
    from tfjs_interop.errors import GoldenMismatchError
    from tfjs_interop.pytest_plugin import assert_golden

    model = shutil.copytree(TFJS_FIXTURES / "seed_lstm", tmp_path / "model")
    golden.record(model, model / "call0_input0.npy", golden.default_golden_path(model))
    assert assert_golden(model).passed
    change_a_weight(model)
    with pytest.raises(GoldenMismatchError, match="FAIL"):
        assert_golden(model)
    assert assert_golden(model, update=True).passed


NESTED_TEST = """
from tfjs_interop.pytest_plugin import assert_golden

def test_paths_from_this_file():
    assert_golden("../model", "golden/seed.npz", inputs="../model/call0_input0.npy")

def test_paths_from_the_rootdir(tfjs_golden):
    tfjs_golden("model", "golden/root.npz", inputs="model/call0_input0.npy")
"""


@pytest.fixture
def nested(pytester: pytest.Pytester):
    """A project whose tests live in tests/ and name the model relative to their file, or to the rootdir."""
    shutil.copytree(TFJS_FIXTURES / "seed_lstm", pytester.path / "model")
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_nested.py").write_text(NESTED_TEST)
    (pytester.path / "pytest.ini").write_text("[pytest]\n")
    return pytester


def test_golden_update_creates_missing_records_from_the_tests_inputs(nested):
    result = nested.runpytest_subprocess("-q", "tests")
    result.assert_outcomes(failed=2)  # no records yet: say so, fail
    result.stdout.fnmatch_lines(["*no such golden file*"])
    nested.runpytest_subprocess("-q", "--golden-update", "tests").assert_outcomes(passed=2)
    seed = golden.read_golden(nested.path / "tests" / "golden" / "seed.npz")  # beside the test that named it
    np.testing.assert_array_equal(seed.inputs["input1"], np.load(nested.path / "model" / "call0_input0.npy"))
    assert (nested.path / "golden" / "root.npz").is_file()  # the model was found from the rootdir: there
    nested.runpytest_subprocess("-q", "tests").assert_outcomes(passed=2)


def test_paths_resolve_from_the_test_file_whatever_the_working_folder(nested, monkeypatch):
    nested.runpytest_subprocess("-q", "--golden-update", "tests").assert_outcomes(passed=2)
    monkeypatch.chdir(nested.path / "tests")  # running from tests/ used to look for tests/model
    nested.runpytest_subprocess("-q", ".").assert_outcomes(passed=2)


def test_the_plugin_costs_nothing_to_a_run_that_does_not_use_it(pytester: pytest.Pytester):
    """pytest imports the plugin in every run: that must not import numpy or the rest of tfjs_interop."""
    pytester.makepyfile(test_plain="""
import sys

def test_nothing_heavy_was_imported():
    assert "tfjs_interop.pytest_plugin" in sys.modules
    heavy = [m for m in ("numpy", "h5py", "tfjs_interop.loading", "tfjs_interop.golden") if m in sys.modules]
    assert heavy == []
""")
    pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider").assert_outcomes(passed=1)
