"""tfjs-interop: run TensorFlow.js and Keras LSTM-family models in pure NumPy, exactly.

    import tfjs_interop
    model = tfjs_interop.load("fixtures/tfjs/seed_lstm")
    y = model.predict(x)
    tfjs_interop.save_tfjs(model, "out/")   # back to the TF.js layers format

The names below are imported on first use (PEP 562), so ``import tfjs_interop`` (and the pytest plugin, which
pytest imports in every run) costs nothing until something is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

# public name -> the module that defines it
_EXPORTS = {
    "DependencyError": "errors", "FileAccessError": "errors", "GoldenMismatchError": "errors",
    "InputError": "errors", "LimitError": "errors",
    "ModelFormatError": "errors", "NetworkError": "errors", "SecurityError": "errors",
    "TfjsInteropError": "errors", "UnsupportedLayerError": "errors", "WeightsError": "errors",
    "save_keras": "saving", "from_keras": "loading", "load": "loading", "Report": "report",
    "Model": "runtime.model", "TensorSpec": "runtime.model", "save": "saving", "verify": "verification",
    "save_tfjs": "saving", "get_num_threads": "runtime.threads", "set_num_threads": "runtime.threads",
    "warm_up": "warming",
}

__all__ = [
    "DependencyError",
    "FileAccessError",
    "GoldenMismatchError",
    "InputError",
    "LimitError",
    "Model",
    "ModelFormatError",
    "NetworkError",
    "Report",
    "SecurityError",
    "TensorSpec",
    "TfjsInteropError",
    "UnsupportedLayerError",
    "WeightsError",
    "__version__",
    "from_keras",
    "get_num_threads",
    "golden",
    "load",
    "save",
    "save_keras",
    "save_tfjs",
    "set_num_threads",
    "verify",
    "warm_up",
]

if TYPE_CHECKING:
    from . import golden
    from .api import Model
    from .errors import (
        DependencyError,
        FileAccessError,
        GoldenMismatchError,
        InputError,
        LimitError,
        ModelFormatError,
        NetworkError,
        SecurityError,
        TfjsInteropError,
        UnsupportedLayerError,
        WeightsError,
    )
    from .loading import from_keras, load
    from .report import Report
    from .runtime.model import TensorSpec
    from .runtime.threads import get_num_threads, set_num_threads
    from .saving import save, save_keras, save_tfjs
    from .verification import verify
    from .warming import warm_up



def __getattr__(name: str) -> Any:
    if name == "golden":
        return importlib.import_module(".golden", __name__)
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tfjs_interop' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS, "golden"])
