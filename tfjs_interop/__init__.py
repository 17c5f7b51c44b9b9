"""tfjs-interop: run TensorFlow.js and Keras LSTM-family models in pure NumPy, exactly.

    import tfjs_interop
    model = tfjs_interop.load("fixtures/tfjs/seed_lstm")
    y = model.predict(x)
"""

from .errors import (
    DependencyError,
    InputError,
    ModelFormatError,
    SecurityError,
    TfjsInteropError,
    UnsupportedLayerError,
    WeightsError,
)
from .formats.keras_save import save_keras
from .loading import load
from .report import Report
from .runtime.model import Model, TensorSpec
from .verify import verify

__version__ = "0.1.0"

__all__ = [
    "DependencyError",
    "InputError",
    "Model",
    "Report",
    "ModelFormatError",
    "SecurityError",
    "TensorSpec",
    "TfjsInteropError",
    "UnsupportedLayerError",
    "WeightsError",
    "__version__",
    "load",
    "save_keras",
    "verify",
]
