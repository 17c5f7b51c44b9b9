"""Every fixture made by the real TF.js 4.22 (scripts/tfjs/make_fixtures.js) against the NumPy runtime.

Needs neither TensorFlow nor Node: the models, inputs and TF.js's own predictions are committed.
"""

from __future__ import annotations

import pytest

import tfjs_interop
from tests.support.fixtures import TFJS_FIXTURES, assert_matches, cases, expected

pytestmark = pytest.mark.usefixtures("each_loop")  # every test with each RNN time loop

# Cases whose model holds a layer the runtime refuses, with the class the error must name.
UNSUPPORTED = {"unsupported_conv3d": "Conv3D"}


def test_there_are_fixtures():
    assert len(cases()) >= 30, f"expected the TF.js fixtures under {TFJS_FIXTURES}"


@pytest.mark.parametrize("case", [c for c in cases() if c.name not in UNSUPPORTED], ids=lambda c: c.name)
def test_fixture_matches_tfjs(case):
    model = tfjs_interop.load(case)
    assert_matches(model, case)


@pytest.mark.parametrize("name,class_name", sorted(UNSUPPORTED.items()))
def test_unsupported_layer_gets_the_clear_error(name, class_name):
    """A real layer the runtime lacks is named as one, not as a custom class (issue 11)."""
    wanted = rf"{class_name} is a TF.js/Keras layer that tfjs-interop does not implement yet.*supported classes .*LSTM"
    with pytest.raises(tfjs_interop.UnsupportedLayerError, match=wanted) as info:
        tfjs_interop.load(TFJS_FIXTURES / name)
    assert "custom" not in str(info.value)


def test_seed_model_summary(capsys):
    model = tfjs_interop.load(TFJS_FIXTURES / "seed_lstm" / "model.json")
    model.summary()
    text = capsys.readouterr().out
    assert "(None, 10, 32)" in text and "Total params: 5,248" in text
    assert model.count_params() == 5248
    assert [o.shape for o in model.outputs] == [(None, 10, 32)]
    assert [i.shape for i in model.inputs] == [(None, 10, 8)]
    assert expected(TFJS_FIXTURES / "seed_lstm")["tfjs_version"] == "4.22.0"
