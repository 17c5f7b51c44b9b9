"""Live differential test: random TF.js models (scripts/tfjs/random_models.js) against the NumPy runtime.

The real TF.js builds, saves, reloads and runs random small models (recurrent layers, wrappers, masks, merges,
shared layers, nested models, quantized and multi-shard weights); every model must give TF.js's numbers here.
Skipped where Node or the npm packages of scripts/tfjs are missing, except in CI (TFJS_INTEROP_REQUIRE_NODE=1),
where that is a failure.

    TFJS_INTEROP_RANDOM_MODELS=200 TFJS_INTEROP_RANDOM_SEED=7 python -m pytest tests/live/test_tfjs_random.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tfjs_interop
from tests.support.fixtures import assert_matches, expected
from tests.support.random_models import COUNT, SEED, generate
from tests.support.requires import node as require_node

# The layer classes README.md lists as supported. A refusal (UnsupportedLayerError) of a model made only of
# these is a failure; one naming another class is outside what the runtime claims.
SUPPORTED = frozenset({
    "InputLayer", "LSTM", "GRU", "SimpleRNN", "RNN", "LSTMCell", "GRUCell", "SimpleRNNCell", "StackedRNNCells",
    "Bidirectional", "TimeDistributed", "Sequential", "Model", "Functional", "Dense", "Activation", "Flatten",
    "Reshape", "Permute", "RepeatVector", "Embedding", "Masking", "Dropout", "SpatialDropout1D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum",
    "Minimum", "Dot", "LayerNormalization", "BatchNormalization", "Conv1D", "MaxPooling1D", "AveragePooling1D",
    "GlobalAveragePooling1D", "GlobalMaxPooling1D", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax",
    "ThresholdedReLU", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "MaxPooling2D",
    "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D", "Cropping2D", "UpSampling2D",
    "Rescaling", "CenterCrop", "CategoryEncoding",
    "Conv3D", "Conv3DTranspose", "MaxPooling3D", "AveragePooling3D",
})


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    node = require_node()
    out = tmp_path_factory.mktemp("random")
    generate(node, out, COUNT)
    return out


def _classes(value: object) -> set[str]:
    """Every layer class in a model topology (nested models, wrapped layers and cells included).

    Layers and cells carry a name in their config; initializers, regularizers and constraints do not.
    """
    found = set()
    if isinstance(value, dict):
        config = value.get("config")
        if isinstance(value.get("class_name"), str) and isinstance(config, dict) and "name" in config:
            found.add(value["class_name"])
        for item in value.values():
            found |= _classes(item)
    elif isinstance(value, list):
        for item in value:
            found |= _classes(item)
    return found


@pytest.mark.node
@pytest.mark.parametrize("index", range(COUNT), ids=lambda k: f"seed{SEED}-{k}")
def test_random_model_matches_tfjs(generated, index):
    case = generated / str(index)
    about = f"random model {case} (seed {SEED}): {expected(case)['description']}"
    try:
        model = tfjs_interop.load(case)
        assert_matches(model, case)
    except tfjs_interop.UnsupportedLayerError as exc:
        topology = json.loads((case / "model.json").read_text())["modelTopology"]
        outside = sorted(_classes(topology) - SUPPORTED)
        if outside:
            pytest.skip(f"uses {outside}, outside the supported classes: {exc}")
        pytest.fail(f"refused a model of supported classes: {exc}\n{about}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{about}") from None
    except tfjs_interop.TfjsInteropError as exc:
        pytest.fail(f"{type(exc).__name__} on a model TF.js runs: {exc}\n{about}")


@pytest.mark.node
def test_random_models_are_reproducible(generated, tmp_path):
    """Same seed, same bytes; and model k does not depend on the models generated before it."""
    node = require_node()
    count = min(COUNT, 4)
    generate(node, tmp_path / "again", count)
    generate(node, tmp_path / "alone", count, "--only", str(count - 1))
    for k in range(count):
        for f in sorted((generated / str(k)).iterdir()):
            assert (tmp_path / "again" / str(k) / f.name).read_bytes() == f.read_bytes(), f"model {k}: {f.name}"
    last = generated / str(count - 1)
    for f in sorted(last.iterdir()):
        assert (tmp_path / "alone" / last.name / f.name).read_bytes() == f.read_bytes(), f.name
