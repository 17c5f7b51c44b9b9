"""The Keras side's one recorder: seed a built model's weights, save it as Keras does, reload every file written
with Keras and record what Keras computes (the files must agree with each other and with the built model).

Used by make_fixtures.py for every case of cases/; TensorFlow and Keras are imported by the caller (and
TensorFlow here, where a prediction runs), never at import time.
"""

from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path

import numpy as np

ATOL = 1e-5


def fill_weights(model, rng):
    """Seeded uniform weights; biases non-zero; BatchNormalization variances positive."""
    values = []
    for w in model.weights:
        name = w.path if hasattr(w, "path") else w.name
        if "variance" in name:
            values.append(rng.uniform(0.5, 1.5, w.shape).astype(np.float32))
        elif "embeddings" in name:
            values.append(rng.uniform(-1.0, 1.0, w.shape).astype(np.float32))
        else:
            values.append(rng.uniform(-0.6, 0.6, w.shape).astype(np.float32))
    model.set_weights(values)


def save_files(generation, model, folder, weights_only):
    """Write the case's files; return {file: how to load it} for the reload check."""
    files = {}
    if weights_only:
        (folder / "model_config.json").write_text(model.to_json())
        weights = "model.weights.h5" if generation == 3 else "weights.h5"
        model.save_weights(str(folder / weights))
        files[weights] = "weights"
        return files
    model.save(str(folder / "model.h5"))
    files["model.h5"] = "model"
    model.save(str(folder / "model.keras"))  # tf_keras writes the zip format too, in its own dialect
    files["model.keras"] = "model"
    return files


def reload(keras, folder, file, kind, custom_objects):
    if kind == "weights":
        model = keras.models.model_from_json((folder / "model_config.json").read_text())
        model.load_weights(str(folder / file))
        return model
    kwargs = {"safe_mode": False} if file.endswith(".keras") else {}
    return keras.models.load_model(str(folder / file), compile=False, custom_objects=custom_objects, **kwargs)


def predict(model, inputs):
    """Keras's outputs for ``inputs``, flattened in model output order (``model.outputs`` is flat too).

    In graph mode, as ``predict`` runs a model: eagerly, TensorFlow 2.21 runs a channels_first Conv2D on the CPU
    through oneDNN, which can give other numbers than its graph (NHWC) form. Eagerly where graph mode refuses a
    layer name as a name scope (``'a b'``, legal in Keras 3: names_tfjs_refuses)."""
    import tensorflow as tf

    def call(x):
        return model(x, training=False)

    x = inputs if len(inputs) > 1 else inputs[0]
    try:
        outputs = tf.function(call)(x)
    except ValueError as exc:
        if "is not a valid scope name" not in str(exc):
            raise
        outputs = call(x)
    return [np.asarray(o, dtype=np.float32) for o in tf.nest.flatten(outputs)]


def record_case(keras, versions: dict, generation: int, spec, out_root: Path, seed: int = 0) -> Path:
    """Build, seed, save and reload one case (a ``cases.Case``) into ``out_root/k{generation}_{name}``.

    Writes the files Keras saves, ``call0_input{i}.npy``, the outputs of the reloaded files ``call0_output{j}.npy``
    and ``expected.json``; returns the folder.
    """
    rng = np.random.default_rng(zlib.crc32(spec.name.encode()) + seed)
    model, inputs = spec.build(keras, rng)
    fill_weights(model, rng)
    folder = out_root / f"k{generation}_{spec.name}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    files = save_files(generation, model, folder, spec.weights_only)
    record = {"case": folder.name, "description": spec.description, **versions, "atol": ATOL, "files": files,
              "inputs": [{"name": t.name.split(":")[0], "dtype": str(getattr(t.dtype, "name", t.dtype)),
                          "shape": list(t.shape)} for t in model.inputs]}
    if spec.derive is not None:
        record["derived"] = spec.derive(folder, generation)
    if spec.refused:
        record["refused"] = spec.refused
    else:
        for i, x in enumerate(inputs):
            np.save(folder / f"call0_input{i}.npy", x)
        outputs = check_reloads(keras, folder, files, inputs, predict(model, inputs), record)
        for j, y in enumerate(outputs):
            np.save(folder / f"call0_output{j}.npy", y)
        record["outputs"] = [{"name": t.name.split(":")[0], "shape": list(t.shape)} for t in model.outputs]
        record["calls"] = [{"reset_states": False, "inputs": [f"call0_input{i}.npy" for i in range(len(inputs))],
                            "outputs": [f"call0_output{j}.npy" for j in range(len(outputs))]}]
    (folder / "expected.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"{folder.name}: {', '.join(files)}")
    return folder


def check_reloads(keras, folder, files, inputs, built, record):
    """Predict with every written file reloaded by Keras; they must agree with each other and the built model.

    A file Keras cannot read back itself (Keras 3's legacy H5 of a graph with mask ops), or reads back with other
    numbers than the model that wrote it (seen with Keras 3.3), is noted in the record; the recorded outputs are
    those of the files Keras reads back faithfully.
    """
    results = []
    for file, kind in files.items():
        try:
            outputs = predict(reload(keras, folder, file, kind, None), inputs)
        except Exception as exc:  # noqa: BLE001 - what Keras says is the record
            record.setdefault("keras_cannot_reload", {})[file] = f"{type(exc).__name__}: {str(exc)[:160]}"
            continue
        worst = max(float(np.max(np.abs(got - want))) for got, want in zip(outputs, built))
        if worst > 1e-6:
            record.setdefault("keras_reload_differs", {})[file] = worst
            continue
        results.append(outputs)
    if not results:
        raise SystemExit(f"{folder.name}: Keras reads back none of {list(files)} faithfully")
    return results[0]
