"""Live check against the real Keras: fresh models built by scripts/keras/make_fixtures.py with new weights.

The script builds each case with Keras 3 (TensorFlow's) and with tf_keras (Keras 2), saves .h5 / .keras /
weights-only files, reloads them with Keras and records Keras's outputs; every file must give those numbers here.
A new weight seed each run (printed on failure) keeps the fixtures from being the only models ever checked.
Skipped where TensorFlow or tf_keras is missing, except in CI (TFJS_INTEROP_REQUIRE_TF=1), where that fails.

    TFJS_INTEROP_KERAS_SEED=7 python -m pytest tests/live/test_keras_live.py
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fixtures import ROOT, assert_matches, cases, expected, load_keras_file
from tests.support.requires import need

SCRIPT = ROOT / "scripts" / "keras" / "make_fixtures.py"
SEED = int(os.environ.get("TFJS_INTEROP_KERAS_SEED", random.randrange(1, 2**31)))
CASES = ["lstm_hard_sigmoid", "gru_reset_after", "bidi_lstm_embedding_mask", "masked_encoder_decoder",
         "conv_front_end", "rnn_stacked_cells", "nested_sequential_masked", "weights_only"]


@pytest.mark.parametrize("generation", ["2", "3"])
def test_fresh_keras_models_match_keras(generation, tmp_path: Path):
    need("tensorflow", "tf_keras" if generation == "2" else "keras")
    command = [sys.executable, str(SCRIPT), "--keras", generation, "--out", str(tmp_path), "--seed", str(SEED),
               "--only", *CASES]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"the Keras script failed (seed {SEED}):\n{run.stderr[-3000:]}"
    made = cases(tmp_path)
    assert len(made) == len(CASES)
    for case in made:
        for file, kind in expected(case)["files"].items():
            try:
                assert_matches(load_keras_file(case, file, kind), case)
            except AssertionError as exc:
                raise AssertionError(f"{case.name}/{file} with TFJS_INTEROP_KERAS_SEED={SEED}: {exc}") from None
