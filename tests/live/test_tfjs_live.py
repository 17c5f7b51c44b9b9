"""Live: regenerate fixtures with the real TF.js in Node into a temporary folder and check the runtime on them.

Skipped where Node or the npm packages of scripts/tfjs are missing, except in CI (TFJS_INTEROP_REQUIRE_NODE=1),
where that is a failure.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import TFJS_FIXTURES, TFJS_SCRIPTS, assert_matches, expected
from tests.support.requires import node as require_node

LIVE_CASES = ["seed_lstm", "masking_lstm_seq", "quantized_uint8", "stale_mask_autoencoder", "multishard"]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    node = require_node()
    out = tmp_path_factory.mktemp("tfjs")
    subprocess.run([node, str(TFJS_SCRIPTS / "make_fixtures.js"), "--out", str(out), "--only", ",".join(LIVE_CASES)],
                   check=True, capture_output=True, timeout=300)
    return out


@pytest.mark.node
@pytest.mark.parametrize("name", LIVE_CASES)
def test_live_tfjs_fixture_matches_runtime(regenerated, name):
    case = regenerated / name
    assert_matches(tfjs_interop.load(case), case)


@pytest.mark.node
@pytest.mark.parametrize("name", LIVE_CASES)
def test_committed_fixture_is_what_tfjs_makes_today(regenerated, name):
    fresh, committed = regenerated / name, TFJS_FIXTURES / name
    assert (fresh / "model.json").read_bytes() == (committed / "model.json").read_bytes()
    calls_fresh, calls_committed = expected(fresh)["calls"], expected(committed)["calls"]
    assert len(calls_fresh) == len(calls_committed)
    for call_fresh, call_committed in zip(calls_fresh, calls_committed):
        assert len(call_fresh["outputs"]) == len(call_committed["outputs"])
        for a, b in zip(call_fresh["inputs"] + call_fresh["outputs"],
                        call_committed["inputs"] + call_committed["outputs"]):
            np.testing.assert_array_equal(np.load(fresh / a), np.load(committed / b))
    for shard in sorted(committed.glob("*.bin")):
        assert (fresh / shard.name).read_bytes() == shard.read_bytes(), shard.name
