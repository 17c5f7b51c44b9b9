"""Every Keras fixture (made by real Keras 3 and tf_keras: scripts/keras/make_fixtures.py) gives Keras's numbers.

Each case folder holds the files Keras wrote (model.h5, model.keras, or a topology JSON with a weights file) and
the outputs Keras computed after reloading them; Lambda cases must be refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import tfjs_interop
from tests.support.fixtures import KERAS_FIXTURES, assert_matches, cases, expected, load_keras_file
from tfjs_interop import UnsupportedLayerError


def _files(case: Path) -> list[tuple[Path, str, str]]:
    return [(case, file, kind) for file, kind in expected(case)["files"].items()]


ALL = [entry for case in cases(KERAS_FIXTURES) for entry in _files(case)]
COMPUTED = [e for e in ALL if not expected(e[0]).get("refused")]
REFUSED = [e for e in ALL if expected(e[0]).get("refused")]


def test_there_are_fixtures_of_both_keras_generations():
    names = {case.name[:3] for case, _, _ in ALL}
    assert names == {"k2_", "k3_"}
    kinds = {file.rsplit(".", 1)[-1] for _, file, _ in ALL}
    assert {"h5", "keras"} <= kinds


@pytest.mark.parametrize(("case", "file", "kind"), COMPUTED, ids=[f"{c.name}/{f}" for c, f, _ in COMPUTED])
def test_keras_fixture_matches_keras(case, file, kind):
    assert_matches(load_keras_file(case, file, kind), case)


@pytest.mark.parametrize(("case", "file", "kind"), REFUSED, ids=[f"{c.name}/{f}" for c, f, _ in REFUSED])
def test_lambda_is_refused_without_running_it(case, file, kind):
    with pytest.raises(UnsupportedLayerError, match="Lambda layers hold Python code"):
        load_keras_file(case, file, kind)


def test_keras3_cannot_reload_its_own_legacy_h5_of_masked_graphs_but_we_can():
    """Keras 3.x writes its mask operations (NotEqual, Any) into legacy H5 without their module and then fails
    to read the file back ("Unknown layer: 'NotEqual'"); the fixture records that, and we read the file."""
    case = KERAS_FIXTURES / "k3_bidi_lstm_embedding_mask"
    assert "NotEqual" in expected(case)["keras_cannot_reload"]["model.h5"]
    assert_matches(tfjs_interop.load(case / "model.h5"), case)


def test_keras_json_topology_alone_asks_for_weights():
    case = KERAS_FIXTURES / "k3_weights_only"
    with pytest.raises(tfjs_interop.ModelFormatError, match="holds no weights"):
        tfjs_interop.load(case / "model_config.json")


def test_weights_only_h5_alone_asks_for_a_topology():
    case = KERAS_FIXTURES / "k2_weights_only"
    with pytest.raises(tfjs_interop.ModelFormatError, match="weights only"):
        tfjs_interop.load(case / "weights.h5")
