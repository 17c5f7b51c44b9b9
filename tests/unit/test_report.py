"""Report: the comparison verify() and golden checks share."""

import json

import numpy as np
import pytest

from tfjs_interop.report import Report, compare_output


def test_within_tolerance_passes_and_reports_errors():
    ref = np.array([[1.0, -2.0], [0.0, 4.0]], np.float32)
    ours = ref + np.float32(5e-6)
    out = compare_output("y", ours, ref, atol=1e-5, rtol=0.0)
    assert out.passed
    assert abs(out.max_abs_error - 5e-6) < 1e-7
    assert abs(out.max_rel_error - 5e-6) < 1e-7


def test_error_beyond_tolerance_fails():
    ref = np.ones((2, 3), np.float32)
    ours = ref.copy()
    ours[1, 2] += 1e-3
    out = compare_output("y", ours, ref, atol=1e-5, rtol=1e-4)
    assert not out.passed
    assert abs(out.max_abs_error - 1e-3) < 1e-6


def test_shape_and_nan_mismatches_fail():
    assert not compare_output("y", np.zeros((2, 3)), np.zeros((3, 2)), atol=1, rtol=1).passed
    assert not compare_output("y", np.array([np.nan, 1.0]), np.array([0.0, 1.0]), atol=1, rtol=1).passed
    same = compare_output("y", np.array([np.nan, np.inf]), np.array([np.nan, np.inf]), atol=0, rtol=0)
    assert same.passed and same.max_abs_error == 0.0


def test_report_summarises_outputs_and_serialises_to_json():
    ref = [np.zeros(3, np.float32), np.ones(2, np.float32)]
    ours = [ref[0], ref[1] + 1]
    report = Report.compare(ours, ref, ["a", "b"], atol=1e-5, rtol=1e-4, against="golden.npz")
    assert not report.passed
    assert report.max_abs_error == 1.0
    assert [o.passed for o in report.outputs] == [True, False]
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is False and data["outputs"][1]["name"] == "b"
    assert "FAILED" in report.table() and "golden.npz" in report.table()


@pytest.mark.parametrize("ours,recorded,passed", [
    (np.inf, np.inf, True), (-np.inf, -np.inf, True),
    (-np.inf, np.inf, False), (3e38, np.inf, False), (np.inf, 3e38, False), (np.inf, 1.0, False)])
def test_an_infinity_is_close_only_to_itself(ours, recorded, passed):
    """A recorded inf gave a limit of atol + rtol * inf = inf, which any value met: a golden check passed when an
    output that overflowed to +inf came back -inf or finite (numpy.isclose says no)."""
    out = compare_output("y", np.array([ours, 1.0]), np.array([recorded, 1.0]), atol=1e-5, rtol=1e-4)
    assert out.passed is passed
    assert passed or out.max_rel_error == np.inf
