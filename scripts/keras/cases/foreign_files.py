"""Files as other releases and platforms wrote them (derived from what Keras writes: older class names, a Keras 1
file, a Windows .keras archive), and a Lambda layer that must be refused."""

from __future__ import annotations

import json
import shutil

from .inputs import floats
from .registry import case


def _rewrite_h5_config(source, target, rewrite):
    """Copy an H5 model file with its model_config (and keras_version) attributes passed through ``rewrite``."""
    import h5py

    shutil.copyfile(source, target)
    with h5py.File(target, "r+") as f:
        config, version = rewrite(json.loads(f.attrs["model_config"]), f.attrs.get("keras_version"))
        f.attrs["model_config"] = json.dumps(config)
        if version is not None:
            f.attrs["keras_version"] = version


def _rename_classes(value, names):
    if isinstance(value, dict):
        return {k: names.get(v, v) if k == "class_name" else _rename_classes(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename_classes(v, names) for v in value]
    return value


def derive_old_class_names(folder, generation):
    """model_tf2_pre.h5: the class names tf.keras 1.13 / TF 2.0 pre-releases wrote (tfjs issue 1255)."""
    names = {"BatchNormalization": "BatchNormalizationV1", "LSTM": "UnifiedLSTM", "GRU": "UnifiedGRU"}
    _rewrite_h5_config(folder / "model.h5", folder / "model_tf2_pre.h5",
                       lambda config, version: (_rename_classes(config, names), None))
    keras1 = {"Conv1D": "Convolution1D"}
    _rewrite_h5_config(folder / "model.h5", folder / "model_keras1.h5",
                       lambda config, version: (_rename_classes(config, keras1), "1.2.2"))
    return {"model_tf2_pre.h5": "model.h5 with class names BatchNormalizationV1, UnifiedLSTM, UnifiedGRU",
            "model_keras1.h5": "model.h5 with keras_version 1.2.2 and Conv1D named Convolution1D (refused)"}


@case(2, description="Conv1D -> BatchNormalization -> LSTM -> GRU(reset_after=False): with the class names older "
                     "releases wrote (BatchNormalizationV1, UnifiedLSTM, UnifiedGRU) and as a Keras 1 file (issue 11)",
      derive=derive_old_class_names)
def old_class_names(keras, rng):
    L = keras.layers
    x = keras.Input((8, 3))
    y = L.Conv1D(4, 3, padding="same")(x)
    y = L.BatchNormalization()(y)
    y = L.LSTM(5, return_sequences=True)(y)
    y = L.GRU(3, reset_after=False)(y)
    return keras.Model(x, y), [floats(rng, 3, 8, 3)]


def derive_windows_archive(folder, generation):
    """model_windows.keras: model.keras with the weight groups named as Keras 3 on Windows named them
    (``layers\\lstm\\cell\\vars``: os.path.join'd, so one group name with backslashes per object)."""
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(folder / "model.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    source = h5py.File(io.BytesIO(members["model.weights.h5"]), "r")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as target:
        def copy(name, item):
            if isinstance(item, h5py.Dataset):
                group, _, leaf = name.rpartition("/")
                holder = target.require_group(group.replace("/", "\\")) if group else target
                holder[leaf] = item[()]
            elif isinstance(item, h5py.Group) and item.attrs:
                holder = target.require_group(name.replace("/", "\\"))
                holder.attrs.update(dict(item.attrs))
        source.visititems(copy)
    source.close()
    members["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(folder / "model_windows.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return {"model_windows.keras": "model.keras with backslash-joined weight group names, as saved on Windows"}


@case(3, description="Bidirectional(LSTM) -> TimeDistributed(Dense), also as a .keras archive saved on Windows "
                     "(weight groups named layers\\bidirectional\\forward_layer\\cell\\vars; issue 11)",
      derive=derive_windows_archive)
def windows_archive(keras, rng):
    L = keras.layers
    x = keras.Input((6, 3))
    y = L.Bidirectional(L.LSTM(4, return_sequences=True))(x)
    y = L.TimeDistributed(L.Dense(2))(y)
    return keras.Model(x, y), [floats(rng, 3, 6, 3)]


@case(2, 3, description="A Lambda layer: marshalled Python code that must never be run", refused="Lambda")
def lambda_layer(keras, rng):
    L = keras.layers
    x = keras.Input((4, 3))
    y = L.Lambda(lambda t: t * 2.0)(x)
    y = L.LSTM(3)(y)
    return keras.Model(x, y), [floats(rng, 2, 4, 3)]
