"""The Keras-shaped model API (get_config, to_json, save, input_shape, output_shape, repr) and TF.js's loader habits
(request headers, download progress)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import tfjs_interop
from tests.support import http_site
from tests.support.fixtures import TFJS_FIXTURES, expected
from tfjs_interop.errors import InputError, NetworkError

SEED = TFJS_FIXTURES / "seed_lstm"
KERAS = TFJS_FIXTURES.parent / "keras"
MULTI = KERAS / "k2_multi_io_merges" / "model.h5"
X = np.load(SEED / "call0_input0.npy")


def test_shapes_as_keras_gives_them():
    model = tfjs_interop.load(SEED)
    assert model.input_shape == (None, 10, 8) and model.output_shape == (None, 10, 32)
    multi = tfjs_interop.load(MULTI)
    assert multi.input_shape == [(None, 6, 4), (None, 6, 4)] and multi.output_shape == [(None, 6, 3), (None, 4)]


def test_repr_says_what_the_model_is():
    text = repr(tfjs_interop.load(SEED))
    assert text.startswith("<tfjs_interop.Model 'model1': inputs [input1 (None, 10, 8) float32], outputs "
                           "[lstm_LSTM1 (None, 10, 32) float32], 2 layers, 5,248 params, tfjs engine from ")
    assert "seed_lstm" in text


def test_get_config_and_to_json_describe_the_layers():
    model = tfjs_interop.load(MULTI)
    config = model.get_config()
    assert [layer["name"] for layer in config["layers"]] == [layer.name for layer in model.layers]
    assert [layer["class_name"] for layer in config["layers"]] == [layer.class_name for layer in model.layers]
    assert [ref[0] for ref in config["input_layers"]] == ["a", "b"]
    document = json.loads(model.to_json(indent=2))
    assert document["class_name"] == "Functional" and document["config"] == config


def test_to_json_reads_back_with_the_weights_file(tmp_path):
    """A topology JSON from to_json() plus a Keras weights file loads as Keras's own pair does."""
    case = KERAS / "k3_weights_only"
    model = tfjs_interop.load(case / "model_config.json", weights=case / "model.weights.h5")
    (tmp_path / "model.json").write_text(model.to_json())
    again = tfjs_interop.load(tmp_path / "model.json", weights=case / "model.weights.h5")
    x = np.load(case / "call0_input0.npy")
    np.testing.assert_allclose(again.predict(x), np.load(case / "call0_output0.npy"), atol=1e-5, rtol=0)


def test_save_by_suffix_or_folder(tmp_path):
    model = tfjs_interop.load(SEED)
    want = model.predict(X)
    for name in ("m.keras", "m.h5", "web", "web2/", "deep/er/m.keras"):
        written = model.save(tmp_path / name if not name.endswith("/") else f"{tmp_path / name}")
        np.testing.assert_allclose(tfjs_interop.load(written).predict(X), want, atol=1e-5, rtol=0)
    assert (tmp_path / "web" / "model.json").is_file() and (tmp_path / "web2" / "model.json").is_file()
    model.save(tmp_path / "web3", shard_size_bytes=5000, quantize="float16")
    assert len(list((tmp_path / "web3").glob("group1-shard*"))) == 3


@pytest.mark.parametrize("name,message", [("m.onnx", "not a '.onnx' file"), ("m.KERAS", "use m.keras")])
def test_save_refuses_an_unknown_suffix(tmp_path, name, message):
    with pytest.raises(InputError, match=message):
        tfjs_interop.load(SEED).save(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_save_keeps_what_exists_unless_overwrite(tmp_path):
    model = tfjs_interop.load(SEED)
    model.save(tmp_path / "m.keras")
    with pytest.raises(InputError, match=r"exists; pass overwrite=True \(--overwrite\)"):
        model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.keras", overwrite=True)
    with pytest.raises(InputError, match="quantize applies to TF.js output only"):
        model.save(tmp_path / "n.keras", quantize="uint8")


class _Recording(http_site.Handler):
    """Refuses every request without the right Authorization header, as a private model store would."""

    def do_GET(self):
        if self.headers.get("Authorization") != "Bearer s3cret":
            self.requested = self.path
            self.send_response(401)
            self.end_headers()
            return
        super().do_GET()


@pytest.fixture
def private_server(tmp_path):
    import functools

    site = http_site.fixture_site(tmp_path / "site")
    server = http_site.Server(("127.0.0.1", 0), functools.partial(_Recording, directory=str(site)))
    server.log = []
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/files/multishard/model.json"
    http_site.stop(server)


def test_headers_go_with_every_request_and_progress_is_reported(private_server):
    with pytest.raises(NetworkError, match="HTTP 401"):
        tfjs_interop.load(private_server)
    fractions: list[float] = []
    model = tfjs_interop.load(private_server, headers={"Authorization": "Bearer s3cret"},
                              on_progress=fractions.append)
    http_site.same_as_folder(model, "multishard")
    shards = sum(len(g["paths"]) for g in json.loads((TFJS_FIXTURES / "multishard" / "model.json").read_text())
                 ["weightsManifest"])
    assert len(fractions) == shards + 2 and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)


def test_the_cli_sends_headers(private_server):
    import subprocess
    import sys
    from pathlib import Path

    command = str(Path(sys.executable).with_name("tfjs-interop"))
    result = subprocess.run([command, "summary", private_server, "--header", "Authorization: Bearer s3cret"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Total params" in result.stdout, result.stderr


@pytest.mark.parametrize("headers", [{"X-A": "1\r\nX-B: 2"}, {"": "v"}, {"X": 3}, ["X: 1"]])
def test_bad_headers_are_refused_before_any_request(headers):
    with pytest.raises(InputError, match="headers"):
        tfjs_interop.load("http://127.0.0.1:9/model.json", headers=headers)


@pytest.mark.tensorflow
def test_keras_reads_to_json_and_takes_get_weights():
    """Real Keras 3: model_from_json(to_json()) with set_weights(get_weights()) computes what the runtime does."""
    from tests.support.keras_live import keras

    case = TFJS_FIXTURES / "lstm_relu_sigmoid"
    model = tfjs_interop.load(case)
    rebuilt = keras.models.model_from_json(model.to_json())
    rebuilt.set_weights(model.get_weights())
    x = np.load(case / "call0_input0.npy")
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), model.predict(x), atol=1e-5, rtol=0)


def test_golden_records_of_a_private_url_model_use_the_loads_headers_and_bytes(private_server, tmp_path):
    """The golden commands hashed a URL model by fetching it again, without the load's headers (401) or cache;
    load(check=True) fetched golden.npz so too. The hashes are now of the bytes the load read."""
    from tfjs_interop.cli import main

    x = [np.load(TFJS_FIXTURES / "multishard" / name) for name in expected(TFJS_FIXTURES / "multishard")["calls"][0]
         ["inputs"]]
    np.savez(tmp_path / "x.npz", *x)
    golden_file = tmp_path / "g.npz"
    header = ["--header", "Authorization: Bearer s3cret"]
    assert main(["golden", "record", private_server, "--input", str(tmp_path / "x.npz"), "--output",
                 str(golden_file), *header]) == 0
    assert main(["golden", "check", private_server, str(golden_file), *header]) == 0
    served = Path(private_server.split("/files/", 1)[1]).parent
    shutil.copy(golden_file, tmp_path / "site" / served / "golden.npz")
    model = tfjs_interop.load(private_server, headers={"Authorization": "Bearer s3cret"}, check=True)
    recorded = tfjs_interop.golden.read_golden(golden_file).files
    assert model.file_hashes == recorded and len(recorded) > 2
