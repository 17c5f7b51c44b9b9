"""Optional libraries and Node in the tests: skip where one is missing, fail where the environment requires it.

Three variables turn a skip into a failure; ``.ci/run`` sets all three, so CI runs every test or fails:

- ``TFJS_INTEROP_REQUIRE_TF=1``: TensorFlow, Keras 3 and tf_keras (tests marked ``tensorflow``);
- ``TFJS_INTEROP_REQUIRE_NODE=1``: Node.js with ``npm ci`` done in scripts/tfjs (tests marked ``node``);
- ``TFJS_INTEROP_REQUIRE_EXTRAS=1``: the test extra's other libraries (numba, threadpoolctl, Dask, the HTTP stack,
  tqdm; tests marked ``needs("module", ...)``).

A test declares what it needs by a marker (checked at collection and before its fixtures, see tests/conftest.py)
or, for a module that imports the library at its top, by ``module("name")`` there, which skips (or fails) the whole
module.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import shutil
from types import ModuleType

import pytest

from tfjs_interop.verification import prefer_onednn

from .fixtures import TFJS_SCRIPTS

TF_MODULES = ("tensorflow", "keras", "tf_keras")  # the test extra's reference libraries
prefer_onednn()  # the tests' TensorFlow (imported after this module, by tests and the processes they start) as verify's
REQUIRE_TF = "TFJS_INTEROP_REQUIRE_TF"
REQUIRE_NODE = "TFJS_INTEROP_REQUIRE_NODE"
REQUIRE_EXTRAS = "TFJS_INTEROP_REQUIRE_EXTRAS"
NO_NODE = "needs Node.js and `npm ci` in scripts/tfjs"


def absent(reason: str, variable: str) -> None:
    """Skip the test (or the module being collected) for ``reason``, or fail it where ``variable`` is 1."""
    __tracebackhide__ = True
    if os.environ.get(variable) == "1":
        pytest.fail(f"{reason}, which is required here ({variable}=1): pip install -e '.[test]' and "
                    "(cd scripts/tfjs && npm ci)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


@functools.cache
def installed(name: str) -> bool:
    """Whether ``import name`` would find the module (without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _variable(name: str) -> str:
    return REQUIRE_TF if name in TF_MODULES else REQUIRE_EXTRAS


def need(*names: str) -> None:
    """Skip (or fail, see the module's variables) unless every module in ``names`` is installed."""
    __tracebackhide__ = True
    for name in names:
        if not installed(name):
            absent(f"{name} is not installed", _variable(name))


def module(name: str) -> ModuleType:
    """``import name``, or skip (or fail) the caller: for test modules that use the library at their top."""
    __tracebackhide__ = True
    need(name)
    if name in TF_MODULES:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow's first import: quiet C++ logs
    return importlib.import_module(name)


@functools.cache
def _node_path() -> str | None:
    path = shutil.which("node")
    return path if path and (TFJS_SCRIPTS / "node_modules" / "@tensorflow" / "tfjs").is_dir() else None


def node() -> str:
    """The path of ``node``, with scripts/tfjs's npm packages installed; else skip (or fail)."""
    __tracebackhide__ = True
    path = _node_path()
    if path is None:
        absent(NO_NODE, REQUIRE_NODE)
    return path


def shortfalls(item: pytest.Item) -> list[tuple[str, str]]:
    """(reason, REQUIRE variable) for each thing a test's ``tensorflow``, ``node`` or ``needs(...)`` marker names
    that is missing here."""
    names = [*(TF_MODULES if item.get_closest_marker("tensorflow") else ()),
             *(name for marker in item.iter_markers("needs") for name in marker.args)]
    found = [(f"{name} is not installed", _variable(name)) for name in dict.fromkeys(names) if not installed(name)]
    if item.get_closest_marker("node") and _node_path() is None:
        found.append((NO_NODE, REQUIRE_NODE))
    return found


def skip_what_is_missing(items: list[pytest.Item]) -> None:
    """At collection: mark skipped each test that lacks what its markers name, unless that is required here."""
    for item in items:
        for reason, variable in shortfalls(item):
            if os.environ.get(variable) != "1":
                item.add_marker(pytest.mark.skip(reason=reason))
                break


def check_markers(item: pytest.Item) -> None:
    """Before a test's fixtures: fail it if it lacks what its markers name where that is required (else skip)."""
    __tracebackhide__ = True
    for reason, variable in shortfalls(item):
        absent(reason, variable)
