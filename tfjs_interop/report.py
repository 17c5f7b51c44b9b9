"""``Report``: how a model's outputs compare with a reference (TensorFlow, or a golden record)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class OutputReport:
    """One output's comparison.

    Attributes:
        name: the output's name.
        shape: the shape this runtime produced.
        reference_shape: the shape the reference produced.
        max_abs_error: ``max |ours - reference|`` (``inf`` when shapes or NaN positions differ).
        max_rel_error: ``max |ours - reference| / |reference|`` over elements where the reference is not zero.
        passed: every element within ``atol + rtol * |reference|``, same shape, NaN where the reference has NaN.
    """

    name: str
    shape: tuple[int, ...]
    reference_shape: tuple[int, ...]
    max_abs_error: float
    max_rel_error: float
    passed: bool

    def to_dict(self) -> dict:
        """A JSON-ready dict of this comparison."""
        return {"name": self.name, "shape": list(self.shape), "reference_shape": list(self.reference_shape),
                "max_abs_error": _finite_or_none(self.max_abs_error),
                "max_rel_error": _finite_or_none(self.max_rel_error), "passed": self.passed}


@dataclass
class Report:
    """The result of comparing every output of a model with a reference.

    Attributes:
        passed: every output passed.
        max_abs_error: the largest ``max_abs_error`` over the outputs.
        outputs: one :class:`OutputReport` per output, in the model's output order.
        first_divergent_layer: when a comparison failed and was traced layer by layer, the first layer whose output
            diverged; otherwise None.
        atol, rtol: the tolerances used.
        against: what the reference was (``"tensorflow 2.x / keras 3.x"``, ``"golden.npz"``...).
        notes: anything else the comparison found worth saying (skipped layers, regenerated inputs...).
    """

    outputs: list[OutputReport]
    atol: float
    rtol: float
    against: str
    first_divergent_layer: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(output.passed for output in self.outputs)

    @property
    def max_abs_error(self) -> float:
        return max((output.max_abs_error for output in self.outputs), default=0.0)

    @classmethod
    def compare(cls, ours: Sequence[np.ndarray], reference: Sequence[np.ndarray], names: Sequence[str], *,
                atol: float, rtol: float, against: str) -> Report:
        """Compare outputs pairwise (in the same order as ``names``)."""
        if not len(ours) == len(reference) == len(names):
            raise ValueError(f"{len(ours)} outputs, {len(reference)} reference outputs and {len(names)} names")
        outputs = [compare_output(name, a, b, atol=atol, rtol=rtol) for name, a, b in zip(names, ours, reference)]
        return cls(outputs=outputs, atol=atol, rtol=rtol, against=against)

    def to_dict(self) -> dict:
        """A JSON-ready dict of the whole report."""
        return {"passed": self.passed, "max_abs_error": _finite_or_none(self.max_abs_error),
                "atol": self.atol, "rtol": self.rtol, "against": self.against,
                "first_divergent_layer": self.first_divergent_layer,
                "outputs": [output.to_dict() for output in self.outputs], "notes": list(self.notes)}

    def table(self) -> str:
        """A readable table for a terminal."""
        width = max([len("output")] + [len(output.name) for output in self.outputs])
        lines = [f"against {self.against} (atol={self.atol:g}, rtol={self.rtol:g})",
                 f"{'output':<{width}}  {'shape':<18} {'max abs err':>12} {'max rel err':>12}  result"]
        for output in self.outputs:
            shape = str(list(output.shape))
            if output.shape != output.reference_shape:
                shape += f" vs {list(output.reference_shape)}"
            lines.append(f"{output.name:<{width}}  {shape:<18} {output.max_abs_error:>12.3g} "
                         f"{output.max_rel_error:>12.3g}  {'pass' if output.passed else 'FAIL'}")
        if self.first_divergent_layer is not None:
            lines.append(f"first divergent layer: {self.first_divergent_layer}")
        lines.extend(f"note: {note}" for note in self.notes)
        lines.append("PASSED" if self.passed else "FAILED")
        return "\n".join(lines)


def compare_output(name: str, ours: np.ndarray, reference: np.ndarray, *, atol: float, rtol: float) -> OutputReport:
    """Compare one output with its reference, ``numpy.isclose``-style (``|a - b| <= atol + rtol * |b|``)."""
    a, b = np.asarray(ours), np.asarray(reference)
    if a.shape != b.shape:
        return OutputReport(name, a.shape, b.shape, float("inf"), float("inf"), False)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if not np.array_equal(np.isnan(a64), np.isnan(b64)):
        return OutputReport(name, a.shape, b.shape, float("inf"), float("inf"), False)
    both = ~np.isnan(b64)
    with np.errstate(invalid="ignore"):  # equal infinities are equal, not inf - inf
        diff = np.where(a64[both] == b64[both], 0.0, np.abs(a64[both] - b64[both]))
    scale = np.abs(b64[both])
    finite = np.isfinite(a64[both]) & np.isfinite(b64[both])  # an infinity is close only to itself (numpy's rule)
    max_abs = float(diff.max(initial=0.0))
    nonzero = scale > 0
    with np.errstate(invalid="ignore"):  # inf / inf: an infinity that changed, relatively infinite too
        relative = np.nan_to_num(diff[nonzero] / scale[nonzero], nan=np.inf, posinf=np.inf)
        passed = bool(np.all((diff == 0) | (finite & (diff <= atol + rtol * scale))))
    return OutputReport(name, a.shape, b.shape, max_abs, float(relative.max(initial=0.0)), passed)


def _finite_or_none(value: float) -> float | None:
    return value if np.isfinite(value) else None
