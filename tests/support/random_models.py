"""Random small TF.js models made, saved, reloaded and run by the real TF.js (scripts/tfjs/random_models.js).

    TFJS_INTEROP_RANDOM_MODELS=200 TFJS_INTEROP_RANDOM_SEED=7 python -m pytest tests/live
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .fixtures import TFJS_SCRIPTS

COUNT = int(os.environ.get("TFJS_INTEROP_RANDOM_MODELS", "40"))
SEED = os.environ.get("TFJS_INTEROP_RANDOM_SEED", "20250101")


def generate(node: str, out: Path, count: int, *extra: str) -> None:
    """Have the real TF.js make ``count`` random models (with their calls and outputs) in ``out``."""
    subprocess.run([node, str(TFJS_SCRIPTS / "random_models.js"), "--seed", SEED, "--count", str(count), "--out",
                    str(out), "--quiet", *extra], check=True, capture_output=True, timeout=300)
