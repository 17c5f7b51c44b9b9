"""The model users hold: the runtime's :class:`~tfjs_interop.runtime.model.Model` with the Keras-shaped methods that
write it (``save``, ``get_config``, ``to_json``). They live here, above the writers, because the runtime knows no
file format."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .runtime import model as runtime
from .saving import keras_config, save


class Model(runtime.Model):
    __doc__ = runtime.Model.__doc__

    def get_config(self) -> dict:
        """The model's topology as Keras 3's ``Model.get_config()`` gives it (the config ``save_keras`` writes; a
        TF.js / Keras 2 ``hard_sigmoid`` becomes Keras 3's over weights scaled by 1.2, as there).

        Raises:
            UnsupportedLayerError: when Keras 3 cannot express a layer exactly.
        """
        return keras_config(self)["config"]

    def to_json(self, **kwargs: Any) -> str:
        """The topology as Keras 3's ``model.to_json()`` writes it; ``load(file, weights=...)`` and
        ``keras.models.model_from_json`` read it back. ``kwargs`` go to ``json.dumps`` (``indent=2``)."""
        return json.dumps(keras_config(self), **kwargs)

    def save(self, path: str | os.PathLike, *, overwrite: bool = False, **options: Any) -> Path:
        """Write the model by its destination: a ``.h5`` / ``.keras`` file, or a TF.js layers model folder (an
        existing folder, a path ending in ``/``, or a name without a suffix; ``options`` go to ``save_tfjs``).
        Unlike Keras, an existing destination is replaced only with ``overwrite=True``.

        Raises:
            InputError: for another suffix (``.onnx``...), or an existing destination without ``overwrite``.
            UnsupportedLayerError: when the format cannot represent the model (nothing is written).
        """
        return save(self, path, overwrite=overwrite, **options)
