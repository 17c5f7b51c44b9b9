"""pytest plugin (entry point ``pytest11``): check models against their golden outputs in a test suite.

    from tfjs_interop.pytest_plugin import assert_golden

    def test_model_still_computes_its_golden_outputs():
        assert_golden("models/chat", "golden/chat.npz", inputs="models/chat/x.npy")

Relative paths are resolved from the calling test file's folder, then from pytest's rootdir, then from the working
folder, so a suite runs the same from any folder. ``pytest --golden-update`` records every golden file that
``assert_golden`` meets instead of checking it: with the ``inputs`` the test gives, or else the inputs and tolerances
the file already holds; a missing file is created when the test gives ``inputs``. The ``tfjs_golden`` fixture is
``assert_golden`` bound to the run's ``--golden-update``. Neither pytest's run nor ``import tfjs_interop`` loads
numpy or the rest of tfjs_interop until a check runs, so the plugin costs nothing to suites that do not use it.
"""

from __future__ import annotations

import functools
import inspect
import os
from pathlib import Path
from typing import Any

import pytest

_runs: list[tuple[bool, Path]] = []  # (--golden-update, rootdir) per configured run (pytester nests runs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tfjs-interop")
    group.addoption("--golden-update", action="store_true", default=False,
                    help="record the golden files assert_golden checks (with the test's inputs, else those the "
                         "file holds) instead of checking them")


def pytest_configure(config: pytest.Config) -> None:
    _runs.append((bool(config.getoption("golden_update", False)), Path(config.rootpath)))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _runs:
        _runs.pop()


def pytest_report_header(config: pytest.Config) -> str | None:
    if config.getoption("golden_update", False):
        return "tfjs-interop: --golden-update: golden files are re-recorded, not checked"
    return None


def assert_golden(model_path: str | os.PathLike, golden_path: str | os.PathLike | None = None, *,
                  inputs: Any = None, update: bool | None = None, atol: float = 1e-5, rtol: float = 1e-4):
    """Fail unless a model reproduces its golden outputs; under ``--golden-update``, record them first.

    Args:
        model_path: the model, as :func:`tfjs_interop.load` takes it; relative to the test file, else rootdir.
        golden_path: its golden file (default: ``golden.npz`` in a TF.js model's folder, see
            :func:`tfjs_interop.golden.default_golden_path`); a relative one that exists nowhere yet is placed
            where the model was found.
        inputs: what to record under ``--golden-update`` (an array, a list, a dict by input name, or a
            ``.npy`` / ``.npz`` path resolved like the others); without it, the inputs the file holds.
        update: record instead of checking; by default whether pytest runs with ``--golden-update``.
        atol, rtol: the tolerances of a record made from ``inputs``.

    Returns:
        The passing :class:`~tfjs_interop.report.Report`.

    Raises:
        GoldenMismatchError: (an ``AssertionError``) with the per-output table when an output differs.
        ModelFormatError: when the golden file is missing (and cannot be recorded) or malformed.
    """
    __tracebackhide__ = True
    from .errors import GoldenMismatchError
    from .golden import check, default_golden_path

    shown = (os.fspath(model_path), os.fspath(golden_path) if golden_path is not None else None)
    bases = _bases(inspect.stack()[1].filename)
    model_path, base = _resolve(model_path, bases)
    golden_path = default_golden_path(model_path) if golden_path is None else _resolve(golden_path, bases, base)[0]
    if isinstance(inputs, (str, os.PathLike)):
        inputs = _resolve(inputs, bases)[0]
    if update is None:
        update = bool(_runs and _runs[-1][0])
    if update:
        rerecord(model_path, Path(golden_path), inputs, atol=atol, rtol=rtol)
    report = check(model_path, golden_path)
    if not report.passed:
        raise GoldenMismatchError(f"{shown[0]} does not reproduce its golden outputs {shown[1] or str(golden_path)!r}"
                                  f":\n{report.table()}", report)
    return report


def _bases(test_file: str) -> list[Path]:
    """Where relative paths are looked up: the calling test file's folder, pytest's rootdir, the working folder."""
    bases = [Path(test_file).resolve().parent]
    if _runs:
        bases.append(_runs[-1][1])
    return [*bases, Path.cwd()]


def _resolve(path: str | os.PathLike, bases: list[Path], missing_base: Path | None = None) -> tuple[Path, Path]:
    """The first base under which ``path`` exists (or ``missing_base``, or the first base), and that base."""
    path = Path(path)
    if path.is_absolute():
        return path, path.parent
    for base in bases:
        if (base / path).exists():
            return base / path, base
    base = missing_base or bases[0]
    return base / path, base


def rerecord(model_path: str | os.PathLike, golden_path: Path, inputs: Any = None, *, atol: float = 1e-5,
             rtol: float = 1e-4) -> Path:
    """Record a golden file again: with ``inputs`` when given (creating the file if need be), else with the inputs
    and tolerances it holds."""
    from .errors import ModelFormatError
    from .golden import read_golden, record

    if inputs is not None:
        golden_path.parent.mkdir(parents=True, exist_ok=True)
        return record(model_path, inputs, golden_path, atol=atol, rtol=rtol)
    if not golden_path.is_file():
        raise ModelFormatError(f"{str(golden_path)!r}: no golden file to re-record; --golden-update reuses the "
                               f"inputs of an existing one, or records the inputs the test gives "
                               f"(assert_golden(model, golden, inputs=x)); or record it with `tfjs-interop golden "
                               f"record`")
    old = read_golden(golden_path)
    return record(model_path, old.inputs, golden_path, atol=old.atol, rtol=old.rtol)


@pytest.fixture
def tfjs_golden(request: pytest.FixtureRequest):
    """``assert_golden`` bound to this run's ``--golden-update``; paths resolve from the requesting test's file."""
    bound = functools.partial(assert_golden, update=request.config.getoption("golden_update", False))

    def check(model_path: str | os.PathLike, golden_path: str | os.PathLike | None = None, *, inputs: Any = None,
              **kwargs: Any):
        __tracebackhide__ = True
        bases = _bases(str(request.path))
        model, base = _resolve(model_path, bases)
        golden = None if golden_path is None else _resolve(golden_path, bases, base)[0]
        if isinstance(inputs, (str, os.PathLike)):
            inputs = _resolve(inputs, bases)[0]
        return bound(model, golden, inputs=inputs, **kwargs)

    return check
