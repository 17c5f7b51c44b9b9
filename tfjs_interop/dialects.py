"""The spellings of TF.js, Keras 2 (tf_keras) and Keras 3, in one place: what a config's names and values mean
whoever wrote them, on the way in, and how each library writes them, on the way out."""

from __future__ import annotations

import re

from .errors import ModelFormatError, UnsupportedLayerError
from .topology import Dialect

# Class names that some releases wrote for standard layers, mapped as the official converter maps them
# (tensorflowjs keras_h5_conversion._CLASS_NAME_MAP): tf.keras 1.13 / 2.0 pre-releases.
CLASS_ALIASES = {"BatchNormalizationV1": "BatchNormalization", "UnifiedLSTM": "LSTM", "UnifiedGRU": "GRU"}
OP_MODULE = "keras.src.ops"
# Operations Keras 3 puts in graphs to compute masks; its legacy H5 files name them without their module.
KERAS3_MASK_OPS = ("NotEqual", "Equal", "Greater", "GreaterEqual", "Less", "LessEqual", "LogicalAnd", "LogicalOr",
                   "LogicalNot", "Any", "All", "Cast", "ConvertToTensor", "ExpandDims", "ZerosLike", "OnesLike")
# Mask operations that share their class name with a layer (Concatenate.compute_mask's ops.concatenate). Without a
# module they are told apart by their config: an operation's holds its name and arguments only, a Keras 3 layer's
# always "trainable" and "dtype" too (Layer.get_config).
KERAS3_OPS_NAMED_AS_LAYERS = ("Concatenate",)
_LAYER_KEYS = ("trainable", "dtype")
ACTIVATION_KEYS = ("activation", "recurrent_activation")
SNAKE_VALUE_KEYS = ("padding", "data_format", "merge_mode", "interpolation", "output_mode")


def dialect_of(keras_version: str | None, default: Dialect) -> Dialect:
    """Tell the writer from a ``keras_version`` string (``"tfjs-layers 4.22.0"``, ``"2.15.0"``, ``"3.6.0"``).

    Raises:
        UnsupportedLayerError: for a file written by Keras 1, whose configs name options otherwise.
    """
    if not keras_version:
        return default
    if keras_version.startswith("tfjs"):
        return Dialect.TFJS
    major = re.match(r"\s*(\d+)", keras_version)
    if major and int(major.group(1)) == 1:
        raise UnsupportedLayerError(
            f"the file was written by Keras {keras_version.strip()} (Keras 1), whose layer configs (output_dim, "
            "border_mode, Merge layers...) tfjs-interop does not read; load it with Keras 2 and save it again")
    if major and int(major.group(1)) >= 3:
        return Dialect.KERAS3
    return Dialect.KERAS2


def snake_case(name: str) -> str:
    """``recurrentActivation`` -> ``recurrent_activation``; snake_case names are left alone."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()



def activation_name(value: object, dialect: Dialect) -> str:
    """The runtime's name for an activation as a config writes it (a string, or a Keras 3 object)."""
    if isinstance(value, dict):  # Keras 3: {"module": ..., "class_name": "function", "config": "tanh", ...}
        value = value.get("config") if isinstance(value.get("config"), str) else value.get("class_name")
    if not isinstance(value, str):
        raise ModelFormatError(f"an activation must be named by a string, found {value!r:.80}")
    name = snake_case(value)
    if name == "hard_sigmoid" and dialect is Dialect.KERAS3:
        return "hard_sigmoid_keras3"
    return name



def plain_dtype(dtype: object) -> str | None:
    """A dtype as a plain string: Keras 3's DTypePolicy objects (and Keras 2's Policy) give their policy name."""
    if isinstance(dtype, dict):
        config = dtype.get("config")
        dtype = config.get("name") if isinstance(config, dict) else (config or dtype.get("name"))
    return dtype if isinstance(dtype, str) else None


def batch_shape(config: dict) -> list | None:
    """An input's shape with its batch axis: Keras 2 and TF.js write ``batch_input_shape``, Keras 3 ``batch_shape``;
    a first layer may give ``input_shape`` (without the batch axis) instead."""
    shape = config.get("batch_input_shape") or config.get("batch_shape")
    if shape is None and isinstance(config.get("input_shape"), list):
        shape = [None, *config["input_shape"]]
    return shape


def is_keras3_operation(class_name: str, module: object, config: object, dialect: Dialect) -> bool:
    """Whether a graph entry is a Keras 3 operation (``keras.ops.*`` on symbolic tensors), not a layer: its module
    says so (``.keras``), or, in Keras 3's legacy H5, which writes no modules, its class name and config do."""
    if str(module or "").startswith(OP_MODULE):
        return True
    if module is not None or dialect is not Dialect.KERAS3:
        return False
    return class_name in KERAS3_MASK_OPS or (class_name in KERAS3_OPS_NAMED_AS_LAYERS and isinstance(config, dict)
                                             and not any(key in config for key in _LAYER_KEYS))
