"""What the package ships: the license text, type information, metadata for the index, a changelog."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from importlib.metadata import metadata

import pytest

from tests.support.fixtures import ROOT


def test_the_license_is_the_apache_2_text_pyproject_names():
    text = (ROOT / "LICENSE").read_text()
    assert text.lstrip().startswith("Apache License\n                           Version 2.0, January 2004")
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert metadata("tfjs-interop")["License-Expression"] == "Apache-2.0"


def test_metadata_has_classifiers_and_no_invented_urls():
    meta = metadata("tfjs-interop")
    assert not meta.get_all("Project-URL")  # none until the project is published at an address of its own
    classifiers = meta.get_all("Classifier")
    assert "Typing :: Typed" in classifiers and "Framework :: Pytest" in classifiers
    assert any(c.startswith("Programming Language :: Python :: 3.1") for c in classifiers)
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text()


def test_the_wheel_carries_py_typed_and_the_license(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("tfjs_interop-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tfjs_interop/py.typed" in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)


@pytest.mark.needs("cloudpickle")
def test_the_lazy_package_gives_the_same_names_whatever_was_imported_first():
    """`import tfjs_interop` imports nothing heavy; the public names resolve on use, and importing the submodule
    `tfjs_interop.verification` (as the CLI does) leaves `tfjs_interop.verify` the function; the package pickles
    by reference, as cloudpickle (Dask, Ray, Spark) needs for closures that name it."""
    code = ("import sys, tfjs_interop\n"
            "assert 'numpy' not in sys.modules\n"
            "from tfjs_interop.verification import verify\n"
            "assert tfjs_interop.verify is verify and callable(tfjs_interop.verify)\n"
            "assert tfjs_interop.golden.record and tfjs_interop.load and tfjs_interop.save_tfjs\n"
            "assert sorted(set(tfjs_interop.__all__) - {'__version__'}) == sorted(n for n in tfjs_interop.__all__ "
            "if n != '__version__' and getattr(tfjs_interop, n) is not None)\n"
            "import cloudpickle, pickle; assert pickle.loads(cloudpickle.dumps(tfjs_interop)) is tfjs_interop\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=120)
