"""Optional libraries and Node in the tests: skip where one is missing, fail where the environment requires it.

Three variables turn a skip into a failure; ``.ci/run`` sets all three, so CI runs every test or fails:

- ``TFJS_INTEROP_REQUIRE_TF=1``: TensorFlow, Keras 3 and tf_keras (tests marked ``tensorflow``);
- ``TFJS_INTEROP_REQUIRE_NODE=1``: Node.js with ``npm ci`` done in scripts/tfjs (tests marked ``node``);
- ``TFJS_INTEROP_REQUIRE_EXTRAS=1``: the test extra's other libraries (numba, threadpoolctl, Dask, the HTTP stack,
  tqdm; tests marked ``needs("module", ...)``).

A test declares what it needs by a marker (checked before its fixtures are set up, see tests/conftest.py) or, for a
module that imports the library at its top, by ``module("name")`` there, which skips (or fails) the whole module.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
from types import ModuleType

import pytest

from .fixtures import TFJS_SCRIPTS

TF_MODULES = ("tensorflow", "keras", "tf_keras")  # the test extra's reference libraries
REQUIRE_TF = "TFJS_INTEROP_REQUIRE_TF"
REQUIRE_NODE = "TFJS_INTEROP_REQUIRE_NODE"
REQUIRE_EXTRAS = "TFJS_INTEROP_REQUIRE_EXTRAS"


def absent(reason: str, variable: str) -> None:
    """Skip the test (or the module being collected) for ``reason``, or fail it where ``variable`` is 1."""
    __tracebackhide__ = True
    if os.environ.get(variable) == "1":
        pytest.fail(f"{reason}, which is required here ({variable}=1): pip install -e '.[test]' and "
                    "(cd scripts/tfjs && npm ci)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def installed(name: str) -> bool:
    """Whether ``import name`` would find the module (without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def need(*names: str) -> None:
    """Skip (or fail, see the module's variables) unless every module in ``names`` is installed."""
    __tracebackhide__ = True
    for name in names:
        if not installed(name):
            absent(f"{name} is not installed", REQUIRE_TF if name in TF_MODULES else REQUIRE_EXTRAS)


def module(name: str) -> ModuleType:
    """``import name``, or skip (or fail) the caller: for test modules that use the library at their top."""
    __tracebackhide__ = True
    need(name)
    if name in TF_MODULES:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow's first import: quiet C++ logs
    return importlib.import_module(name)


def node() -> str:
    """The path of ``node``, with scripts/tfjs's npm packages installed; else skip (or fail)."""
    __tracebackhide__ = True
    path = shutil.which("node")
    if path and (TFJS_SCRIPTS / "node_modules" / "@tensorflow" / "tfjs").is_dir():
        return path
    absent("needs Node.js and `npm ci` in scripts/tfjs", REQUIRE_NODE)
    raise AssertionError("unreachable")  # absent() raised


def check_markers(item: pytest.Item) -> None:
    """Skip (or fail) a test whose ``tensorflow``, ``node`` or ``needs(...)`` marker names something missing."""
    __tracebackhide__ = True
    if item.get_closest_marker("tensorflow"):
        need(*TF_MODULES)
    if item.get_closest_marker("node"):
        node()
    for marker in item.iter_markers("needs"):
        need(*marker.args)
