"""Loading from http:// URLs, against a local ``http.server`` on 127.0.0.1 run by the tests in a thread."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import TFJS_FIXTURES
from tests.support.http_site import SLOW_SECONDS, fixture_site, same_as_folder, serve, stop
from tfjs_interop.errors import LimitError, NetworkError, SecurityError, WeightsError
from tfjs_interop.formats.remote import weight_url


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = serve(fixture_site(tmp_path_factory.mktemp("site")))
    server.root = Path(server.RequestHandlerClass.keywords["directory"])
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    stop(server)


@pytest.mark.parametrize("case", ["seed_lstm", "multishard"])
def test_loading_a_url_equals_loading_the_folder(server, case):
    model = tfjs_interop.load(f"{server.url}/files/{case}/model.json")
    same_as_folder(model, case)
    assert model.source == f"{server.url}/files/{case}/model.json"


def test_shards_carry_the_model_urls_query_like_tfjs(server):
    server.log.clear()
    tfjs_interop.load(f"{server.url}/files/seed_lstm/model.json?token=abc")
    assert ("/files/seed_lstm/group1-shard1of1.bin?token=abc", 200) in server.log


def test_a_missing_shard_is_a_network_error_with_status_and_url(server):
    shutil.copytree(server.root / "seed_lstm", server.root / "no_shard")
    (server.root / "no_shard" / "group1-shard1of1.bin").unlink()
    url = f"{server.url}/files/no_shard/group1-shard1of1.bin"
    with pytest.raises(NetworkError, match=f"{url}: HTTP 404 .* for group1-shard1of1.bin"):
        tfjs_interop.load(f"{server.url}/files/no_shard/model.json")


def test_a_slow_server_times_out(server):
    started = time.monotonic()
    with pytest.raises(NetworkError, match="no answer within the timeout of 0.3 s"):
        tfjs_interop.load(f"{server.url}/slow/seed_lstm/model.json", timeout=0.3)
    assert time.monotonic() - started < SLOW_SECONDS


def test_a_response_over_the_cap_is_refused_while_streaming(server):
    with pytest.raises(LimitError, match="model.json takes the model past the limit of 100000 bytes"):
        tfjs_interop.load(f"{server.url}/stream/model.json", max_bytes=100_000)


def test_a_content_length_over_the_cap_is_refused_before_reading(server):
    with pytest.raises(LimitError, match=r"Content-Length 1000000000000"):
        tfjs_interop.load(f"{server.url}/huge/model.json")


def test_shards_count_against_the_same_cap(server):
    size = (server.root / "seed_lstm" / "model.json").stat().st_size + 20992  # model.json and its one shard
    with pytest.raises(LimitError, match=r"group1-shard1of1.bin \(Content-Length 20992\) takes the model past"):
        tfjs_interop.load(f"{server.url}/files/seed_lstm/model.json", max_bytes=size - 1)
    tfjs_interop.load(f"{server.url}/files/seed_lstm/model.json", max_bytes=size)


def test_a_redirect_to_another_origin_is_refused(server):
    with pytest.raises(SecurityError, match="redirects to 'http://localhost:.*another origin"):
        tfjs_interop.load(f"{server.url}/redirect-away/seed_lstm/model.json")


def test_a_redirect_on_the_same_origin_is_followed(server):
    same_as_folder(tfjs_interop.load(f"{server.url}/redirect-here/seed_lstm/model.json"), "seed_lstm")


def test_a_weight_path_leaving_the_url_folder_is_refused_before_any_request(server):
    folder = server.root / "escape"
    shutil.copytree(server.root / "seed_lstm", folder)
    document = json.loads((folder / "model.json").read_text())
    document["weightsManifest"][0]["paths"] = ["../seed_lstm/group1-shard1of1.bin"]
    (folder / "model.json").write_text(json.dumps(document))
    server.log.clear()
    with pytest.raises(SecurityError, match="must be a plain relative path under the model's URL folder"):
        tfjs_interop.load(f"{server.url}/files/escape/model.json")
    assert [path for path, _ in server.log] == ["/files/escape/model.json"]


@pytest.mark.parametrize("path", ["../w.bin", "a/../../w.bin", "%2e%2e/w.bin", "a%2F..%2F..%2Fw.bin", "/w.bin",
                                  "http://evil.example/w.bin", "//evil.example/w.bin", "w.bin?x=1", "w.bin#f",
                                  "a\\..\\w.bin", "w%00.bin", "./w.bin", ""])
def test_weight_urls_stay_under_the_model_folder(path):
    with pytest.raises(SecurityError):
        weight_url("https://host/models/m/model.json?v=2", path)


@pytest.mark.parametrize("model_url,path,url", [
    ("https://host/models/m/model.json?v=2", "group1-shard1of1.bin", "https://host/models/m/group1-shard1of1.bin?v=2"),
    ("http://host:8080/model.json", "sub/w 1.bin", "http://host:8080/sub/w%201.bin"),
    ("http://host/a/model.json", "w%201.bin", "http://host/a/w%201.bin"),
])
def test_weight_urls_are_folder_plus_path_plus_query(model_url, path, url):
    assert weight_url(model_url, path) == url


def test_nothing_listens_is_a_network_error():
    server = serve(Path("."))
    url = f"http://127.0.0.1:{server.server_port}/model.json"
    stop(server)
    with pytest.raises(NetworkError, match=f"{url}: cannot connect to fetch model.json"):
        tfjs_interop.load(url)


def test_the_cache_revalidates_then_serves_a_model_when_the_server_is_gone(tmp_path):
    server = serve(fixture_site(tmp_path / "site"))
    url = f"http://127.0.0.1:{server.server_port}/files/multishard/model.json"
    try:
        tfjs_interop.load(url, cache_dir=tmp_path / "cache")
        server.log.clear()
        same_as_folder(tfjs_interop.load(url, cache_dir=tmp_path / "cache"), "multishard")
        assert {code for _, code in server.log} == {304}  # every file revalidated, none sent again
    finally:
        stop(server)
    with pytest.warns(UserWarning, match="cannot connect.*using the cached copy"):
        model = tfjs_interop.load(url, cache_dir=tmp_path / "cache")
    same_as_folder(model, "multishard")


def test_the_cache_keeps_nothing_from_a_failed_load(server, tmp_path):
    shutil.copytree(server.root / "seed_lstm", server.root / "short_shard")
    shard = server.root / "short_shard" / "group1-shard1of1.bin"
    shard.write_bytes(shard.read_bytes()[:-4])
    with pytest.raises(WeightsError):
        tfjs_interop.load(f"{server.url}/files/short_shard/model.json", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_a_corrupted_cache_entry_is_fetched_again(server, tmp_path):
    url = f"{server.url}/files/seed_lstm/model.json"
    tfjs_interop.load(url, cache_dir=tmp_path)
    for data in tmp_path.rglob("*.bin"):
        data.write_bytes(b"corrupt")
    server.log.clear()
    same_as_folder(tfjs_interop.load(url, cache_dir=tmp_path), "seed_lstm")
    assert {code for _, code in server.log} == {200}


def test_the_cli_loads_a_url(server, capsys):
    from tfjs_interop.cli import main

    assert main(["summary", f"{server.url}/files/seed_lstm/model.json"]) == 0
    assert "Total params: 5,248" in capsys.readouterr().out
    assert main(["summary", f"{server.url}/files/nothing/model.json"]) == 2
    assert "HTTP 404" in capsys.readouterr().err


# --- golden records of URL models (issue 11) -----------------------------------------------------------------

def _golden_site(server, name: str) -> tuple[str, np.ndarray]:
    """A copy of seed_lstm served under ``name``; its URL and recorded input."""
    shutil.copytree(TFJS_FIXTURES / "seed_lstm", server.root / name, dirs_exist_ok=True)
    (server.root / name / "golden.npz").unlink(missing_ok=True)
    return f"{server.url}/files/{name}/model.json", np.load(TFJS_FIXTURES / "seed_lstm" / "call0_input0.npy")


def _change_weights(folder: Path) -> None:
    shard = folder / "group1-shard1of1.bin"
    shard.write_bytes((np.frombuffer(shard.read_bytes(), "<f4") * np.float32(1.5)).tobytes())


def test_golden_record_and_check_take_a_url(server, tmp_path):
    from tfjs_interop import golden

    url, x = _golden_site(server, "golden_url")
    golden.record(url, x, tmp_path / "g.npz")
    report = golden.check(url, tmp_path / "g.npz")
    assert report.passed and not report.notes
    local = golden.read_golden(golden.record(TFJS_FIXTURES / "seed_lstm", x, tmp_path / "local.npz"))
    assert golden.read_golden(tmp_path / "g.npz").files == local.files  # the same names and hashes
    _change_weights(server.root / "golden_url")
    changed = golden.check(url, tmp_path / "g.npz")
    assert not changed.passed and any("group1-shard1of1.bin" in note for note in changed.notes)


def test_load_url_with_check_fetches_the_golden_file_beside_it(server, tmp_path):
    from tfjs_interop import golden

    url, x = _golden_site(server, "golden_beside")
    with pytest.raises(tfjs_interop.ModelFormatError, match="golden.npz: no golden file beside the model"):
        tfjs_interop.load(url, check=True)
    golden.record(url, x, server.root / "golden_beside" / "golden.npz")
    assert tfjs_interop.load(url, check=True).count_params() == 5248
    _change_weights(server.root / "golden_beside")
    with pytest.raises(tfjs_interop.GoldenMismatchError, match="golden.npz"):
        tfjs_interop.load(url, check=True)
    (server.root / "golden_beside" / "golden.npz").write_bytes(b"not a zip")
    with pytest.raises(tfjs_interop.ModelFormatError, match="not an .npz file"):
        tfjs_interop.load(url, check=True)


def test_the_golden_cli_takes_a_url(server, tmp_path, capsys):
    from tfjs_interop.cli import main

    url, _ = _golden_site(server, "golden_cli")
    x = str(TFJS_FIXTURES / "seed_lstm" / "call0_input0.npy")
    assert main(["golden", "record", url, "--inputs", x, "--out", str(tmp_path / "g.npz")]) == 0
    assert main(["golden", "check", url, str(tmp_path / "g.npz")]) == 0
    assert "PASSED" in capsys.readouterr().out
