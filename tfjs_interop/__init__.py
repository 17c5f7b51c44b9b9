"""tfjs-interop: run TensorFlow.js and Keras LSTM-family models in pure NumPy, exactly.

    import tfjs_interop
    model = tfjs_interop.load("fixtures/tfjs/seed_lstm")
    y = model.predict(x)
    tfjs_interop.save_tfjs(model, "out/")   # back to the TF.js layers format
"""

from . import golden
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
from .formats.keras_save import save_keras
from .loading import from_keras, load
from .report import Report
from .runtime.model import Model, TensorSpec
from .verify import verify
from .writing import save_tfjs

__version__ = "0.1.0"

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
    "golden",
    "load",
    "save_keras",
    "save_tfjs",
    "verify",
]
