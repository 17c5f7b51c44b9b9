"""``verify``: run a model in our runtime and in real Keras 3 (TensorFlow) and compare every output.

The Keras model is built from the model's own topology and weights (:mod:`tfjs_interop.formats.keras.writer`,
with a custom activation reproducing the TF.js / Keras 2 ``hard_sigmoid`` exactly), and both run on the same
inputs. When an output differs, the layers are compared one by one, in Keras's order, and the first whose output
differs is named.

A model read from TF.js files runs here under TF.js's engine, which for some graphs genuinely computes something
else than Keras does for the same topology (stale masks, masked outputs taken from the state, stacked-cell state
order, BatchNormalization on a non-last axis...; see the README). TensorFlow cannot compute TF.js's numbers, so the
comparison is made with our runtime running the same topology under Keras's rules; when our TF.js-engine result
differs from that on these inputs, the report says so in a note: there TF.js itself computes differently from Keras.

TensorFlow is imported here only, when ``verify`` runs.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .engines import KERAS3
from .engines import dependency_order as keras_order
from .errors import DependencyError, ModelFormatError, TfjsInteropError, api_boundary
from .formats.keras.files import keras_zip_bytes
from .formats.keras.writer import KERAS2_HARD_SIGMOID, HardSigmoid, keras_export, keras_rules
from .golden_model import output_names
from .report import Report, compare_output
from .runtime.layers import catalog
from .runtime.model import Model
from .sample_inputs import sample_inputs
from .saving import model_parts
from .topology import Engine, Topology
from .write_checks import fresh_copy

INSTALL_HINT = "pip install 'tfjs-interop[tf]'"


@api_boundary(ModelFormatError)
def verify(model: Model, inputs: Any = None, *, atol: float = 1e-5, rtol: float = 1e-4, seed: int = 0) -> Report:
    """Compare the runtime's outputs for ``model`` with those of the same model built in Keras 3 (TensorFlow).

    Args:
        model: a runtime model.
        inputs: as :meth:`Model.predict` takes them; None generates seeded inputs that fit the model
            (:func:`tfjs_interop.sample_inputs.sample_inputs`).
        atol, rtol: an element passes when ``|ours - keras| <= atol + rtol * |keras|``.
        seed: the seed of generated inputs.

    Returns:
        A :class:`~tfjs_interop.report.Report`; ``first_divergent_layer`` is set when an output failed.

    Raises:
        DependencyError: when TensorFlow (with Keras 3) is not installed.
        UnsupportedLayerError: when Keras 3 cannot express the model.
        InputError: when ``inputs`` do not fit the model.
    """
    keras = import_keras()
    ours_model = fresh_copy(model, keras_rules(model.topology, catalog()), KERAS3)
    feeds = sample_inputs(model, seed) if inputs is None else ours_model.check_inputs(inputs)
    theirs_model = build_keras_model(model, keras)
    trace = ours_model.trace(feeds)
    ours = [trace[(r.layer, r.node_index)][r.tensor_index] for r in ours_model.topology.outputs]
    theirs = _keras_run(keras, theirs_model, feeds)
    names = output_names(model)  # distinct: layer:i for a layer's several outputs, as golden files name them
    against = f"tensorflow {_tf_version()} / keras {keras.__version__}"
    report = Report.compare(ours, theirs, names, atol=atol, rtol=rtol, against=against)
    if not report.passed:
        report.first_divergent_layer = first_divergent_layer(ours_model.topology, trace, theirs_model, feeds,
                                                             keras, atol=atol, rtol=rtol)
    if model.topology.origin.engine is Engine.TFJS:
        report.notes += _tfjs_engine_notes(model, feeds, ours, names, atol=atol, rtol=rtol)
    if inputs is None:
        report.notes.append(f"inputs generated with seed {seed}: shapes {[list(f.shape) for f in feeds]}")
    return report


ONEDNN = "TF_ENABLE_ONEDNN_OPTS"  # read by TensorFlow when it is first imported


def prefer_onednn() -> None:
    """Have TensorFlow, when it is imported next, run oneDNN on every CPU, unless the user chose
    (``TF_ENABLE_ONEDNN_OPTS``) or TensorFlow is already loaded. TensorFlow runs oneDNN by default on Intel CPUs and
    not on AMD ones, where its own CPU kernels take no channels_first convolution at all ("The Conv2D op currently
    only supports the NHWC tensor format on the CPU"; seen on a Zen 3 VM with TensorFlow 2.21), so the reference is
    the same whichever CPU verifies. The tests call it too (``tests/support/requires.py``)."""
    if "tensorflow" not in sys.modules:
        os.environ.setdefault(ONEDNN, "1")


def import_keras() -> Any:
    """Keras 3 on TensorFlow (with oneDNN: ``prefer_onednn``), or DependencyError saying what to install."""
    prefer_onednn()
    try:
        import keras
        import tensorflow  # noqa: F401  (Keras 3 runs on it)
    except ImportError as exc:
        raise DependencyError(f"verify needs TensorFlow with Keras 3 ({exc}); install it with: "
                              f"{INSTALL_HINT}") from None
    if not keras.__version__.startswith("3."):
        raise DependencyError(f"verify needs Keras 3 (TensorFlow >= 2.16), found keras {keras.__version__}; "
                              f"install it with: {INSTALL_HINT}")
    if keras.backend.backend() != "tensorflow":
        raise DependencyError(f"verify compares with Keras on TensorFlow, but Keras runs on "
                              f"{keras.backend.backend()!r}; unset KERAS_BACKEND or set it to 'tensorflow'")
    return keras


def build_keras_model(model: Model, keras: Any) -> Any:
    """The model rebuilt in Keras 3 from a ``.keras`` file written for it (a TF.js hard_sigmoid as a custom
    activation)."""
    data = keras_zip_bytes(keras_export(model_parts(model), HardSigmoid.CUSTOM))

    def hard_sigmoid_keras2(x: Any) -> Any:
        return keras.ops.clip(x * 0.2 + 0.5, 0.0, 1.0)

    hard_sigmoid_keras2.__name__ = KERAS2_HARD_SIGMOID  # Keras re-serializes it by name (Bidirectional copies)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        path.write_bytes(data)
        return keras.models.load_model(path, custom_objects={KERAS2_HARD_SIGMOID: hard_sigmoid_keras2},
                                       compile=False)


def first_divergent_layer(topology: Topology, trace: dict, keras_model: Any, feeds: list[np.ndarray], keras: Any,
                          *, atol: float, rtol: float) -> str | None:
    """The first layer (in Keras's order) whose output differs between our trace and the Keras model's."""
    calls = {(spec.name, i): call for spec in topology.layers for i, call in enumerate(spec.calls)}
    nodes = [node for node in keras_order(topology.outputs, calls, lambda node: None) if node in trace]
    tensors = [_keras_outputs(keras_model, topology, node) for node in nodes]
    flat = [t for group in tensors for t in group]
    inputs = keras_model.inputs
    probe = keras.Model(inputs[0] if len(inputs) == 1 else inputs, flat)  # takes feeds as the model does
    values = iter(_keras_run(keras, probe, feeds))
    for node, group in zip(nodes, tensors):
        theirs = [next(values) for _ in group]
        for k, (ours, their) in enumerate(zip(trace[node], theirs)):
            if not compare_output(f"{node[0]}[{k}]", ours, their, atol=atol, rtol=rtol).passed:
                return node[0]
    return None


def _keras_outputs(keras_model: Any, topology: Topology, node: tuple[str, int]) -> list[Any]:
    layer = keras_model.get_layer(node[0])
    calls = len(topology.layer(node[0]).calls)
    offset = len(layer._inbound_nodes) - calls  # a nested model may count its own construction as a node
    return list(layer._inbound_nodes[offset + node[1]].output_tensors)


def _keras_run(keras: Any, keras_model: Any, feeds: list[np.ndarray]) -> list[np.ndarray]:
    """The model's outputs in graph mode, as ``predict`` runs it: eagerly, TensorFlow 2.21 runs a channels_first
    Conv2D on the CPU through oneDNN, which can give other numbers than its graph (NHWC) form."""
    import tensorflow as tf

    x = feeds if len(feeds) > 1 else feeds[0]
    try:
        outputs = tf.function(lambda x: keras_model(x, training=False))(x)
    except ValueError as exc:  # a graph scope cannot take some names Keras 3 allows ('a b'): run those eagerly
        if "valid scope name" not in str(exc):
            raise
        outputs = keras_model(x, training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return [np.asarray(keras.ops.convert_to_numpy(y)) for y in outputs]


def _tfjs_engine_notes(model: Model, feeds: list[np.ndarray], keras_rules_outputs: list[np.ndarray],
                       names: list[str], *, atol: float, rtol: float) -> list[str]:
    """Say where TF.js's engine gives other numbers than Keras's rules for the same topology on these inputs."""
    try:
        outputs = fresh_copy(model).predict(feeds)
    except TfjsInteropError as exc:
        return [f"TF.js itself fails on these inputs ({exc}); compared under Keras's rules"]
    outputs = outputs if isinstance(outputs, list) else [outputs]
    differing = [compare_output(name, a, b, atol=atol, rtol=rtol)
                 for name, a, b in zip(names, outputs, keras_rules_outputs)]
    return [f"output {o.name!r}: TF.js itself computes differently from Keras for this model on these inputs "
            f"(its engine's result differs by {o.max_abs_error:.3g}"
            f"{'' if o.shape == o.reference_shape else f', shape {list(o.shape)} vs {list(o.reference_shape)}'}); "
            "compared here under Keras's rules" for o in differing if not o.passed]


def _tf_version() -> str:
    import tensorflow

    return tensorflow.__version__
