"""pytest plugin (entry point ``pytest11``): check models against their golden outputs in a test suite.

    from tfjs_interop.pytest_plugin import assert_golden

    def test_model_still_computes_its_golden_outputs():
        assert_golden("models/chat", "tests/golden/chat.npz")

``pytest --golden-update`` re-records every golden file that ``assert_golden`` meets (same inputs and tolerances)
instead of checking it. The ``tfjs_golden`` fixture is ``assert_golden`` bound to the run's ``--golden-update``.
tfjs_interop itself is imported only when a check runs, so the plugin costs nothing to test suites that do not use it.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

_updating: list[bool] = []  # one entry per configured pytest run (pytester nests runs in one process)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tfjs-interop")
    group.addoption("--golden-update", action="store_true", default=False,
                    help="re-record the golden files assert_golden checks (keeping their inputs and tolerances) "
                         "instead of checking them")


def pytest_configure(config: pytest.Config) -> None:
    _updating.append(bool(config.getoption("golden_update", False)))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _updating:
        _updating.pop()


def pytest_report_header(config: pytest.Config) -> str | None:
    if config.getoption("golden_update", False):
        return "tfjs-interop: --golden-update: golden files are re-recorded, not checked"
    return None


def assert_golden(model_path: str | os.PathLike, golden_path: str | os.PathLike | None = None, *,
                  update: bool | None = None):
    """Fail unless a model reproduces its golden outputs; under ``--golden-update``, re-record them first.

    Args:
        model_path: the model, as :func:`tfjs_interop.load` takes it.
        golden_path: its golden file (default: ``golden.npz`` in a TF.js model's folder, see
            :func:`tfjs_interop.golden.default_golden_path`).
        update: re-record instead of checking; by default whether pytest runs with ``--golden-update``.

    Returns:
        The passing :class:`~tfjs_interop.report.Report`.

    Raises:
        GoldenMismatchError: (an ``AssertionError``) with the per-output table when an output differs.
        ModelFormatError: when the golden file is missing or malformed (also under ``--golden-update``, which
            takes its inputs from the existing file).
    """
    __tracebackhide__ = True
    from .errors import GoldenMismatchError
    from .golden import check, default_golden_path

    golden_path = Path(default_golden_path(model_path) if golden_path is None else golden_path)
    if update is None:
        update = bool(_updating and _updating[-1])
    if update:
        rerecord(model_path, golden_path)
    report = check(model_path, golden_path)
    if not report.passed:
        raise GoldenMismatchError(f"{model_path} does not reproduce its golden outputs {str(golden_path)!r}:\n"
                                  f"{report.table()}", report)
    return report


def rerecord(model_path: str | os.PathLike, golden_path: Path) -> Path:
    """Record a golden file again with the inputs and tolerances it holds."""
    from .errors import ModelFormatError
    from .golden import read_golden, record

    if not golden_path.is_file():
        raise ModelFormatError(f"{str(golden_path)!r}: no golden file to re-record; --golden-update reuses the "
                               f"inputs of an existing one (record the first with tfjs_interop.golden.record or "
                               f"`tfjs-interop golden record`)")
    old = read_golden(golden_path)
    return record(model_path, old.inputs, golden_path, atol=old.atol, rtol=old.rtol)


@pytest.fixture
def tfjs_golden(request: pytest.FixtureRequest):
    """``assert_golden`` bound to this run's ``--golden-update``."""
    return functools.partial(assert_golden, update=request.config.getoption("golden_update", False))
