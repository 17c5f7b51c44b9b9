"""Reading the recorded fixtures: each case folder holds a model, inputs and the outputs of the real library."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
TFJS_FIXTURES = ROOT / "fixtures" / "tfjs"
KERAS_FIXTURES = ROOT / "fixtures" / "keras"
TFJS_SCRIPTS = ROOT / "scripts" / "tfjs"  # the Node scripts that run the real TF.js


def cases(root: Path = TFJS_FIXTURES) -> list[Path]:
    """Every case folder under ``root`` (those with an expected.json)."""
    return sorted(p.parent for p in root.glob("*/expected.json"))


def expected(case: Path) -> dict:
    """A case's expected.json: its calls, tolerance and what the library recorded."""
    return json.loads((case / "expected.json").read_text())


def run_calls(model, case: Path) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """Run a case's recorded calls in order on one model; yield (call, output index, ours, recorded)."""
    record = expected(case)
    results = []
    for c, call in enumerate(record["calls"]):
        if call.get("reset_states"):
            model.reset_states()
        inputs = [np.load(case / name) for name in call["inputs"]]
        outputs = model.predict(inputs)
        outputs = outputs if isinstance(outputs, list) else [outputs]
        recorded = [np.load(case / name) for name in call["outputs"]]
        assert len(outputs) == len(recorded), f"{case.name}: {len(outputs)} outputs, recorded {len(recorded)}"
        results += [(c, k, ours, want) for k, (ours, want) in enumerate(zip(outputs, recorded))]
    return results


def assert_matches(model, case: Path, atol: float | None = None) -> float:
    """Check every recorded output within the case's tolerance; return the worst max abs error."""
    atol = expected(case)["atol"] if atol is None else atol
    worst = 0.0
    for c, k, ours, want in run_calls(model, case):
        assert ours.shape == want.shape, f"{case.name} call {c} output {k}: shape {ours.shape} != {want.shape}"
        error = float(np.max(np.abs(ours.astype(np.float64) - want))) if want.size else 0.0
        assert error <= atol, (f"{case.name} call {c} output {k}: max abs error {error:.3g} > atol {atol:g}; "
                               f"inputs {expected(case)['calls'][c]['inputs']}")
        worst = max(worst, error)
    return worst


def load_keras_file(case: Path, file: str, kind: str):
    """Load one of the files a Keras case holds (``kind`` "weights": a weights file with the case's topology)."""
    import tfjs_interop

    if kind == "weights":
        return tfjs_interop.load(case / "model_config.json", weights=case / file)
    return tfjs_interop.load(case / file)
