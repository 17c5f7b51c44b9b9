"""Each runtime layer's ``KerasFacts.keras3_mask_argument`` is what real Keras 3 says: whether its class's ``call``
takes a ``mask``. Keras 3 fixes such a call's mask in the graph; a call without one passes on the run-time masks of
its inputs, which a MultiHeadAttention removes (fixtures ``k3_mha_through_dense``, ``k3_mha_parallel_chain``)."""

from __future__ import annotations

import inspect

import pytest

from tests.support.keras_live import keras
from tfjs_interop.runtime.layers.base import catalog
from tfjs_interop.runtime.nested import NestedModel
from tfjs_interop.topology import MODEL_CLASSES

pytestmark = pytest.mark.tensorflow

KERAS_CLASSES = {name: getattr(keras.layers, name) for name in sorted(catalog())
                 if name not in MODEL_CLASSES and hasattr(keras.layers, name)}


@pytest.mark.parametrize("name", list(KERAS_CLASSES))
def test_the_mask_argument_fact_is_keras_3s(name):
    takes_mask = "mask" in inspect.signature(KERAS_CLASSES[name].call).parameters
    assert catalog()[name].keras.keras3_mask_argument is takes_mask


def test_nested_models_take_a_mask_as_keras_3s_functional_and_sequential_do():
    from keras.src.models.functional import Functional

    assert all("mask" in inspect.signature(cls.call).parameters for cls in (Functional, keras.Sequential))
    assert NestedModel.keras.keras3_mask_argument
