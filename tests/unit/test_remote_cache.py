"""The URL cache as a long-running server meets it: one model version committed whole (SIGKILL at any point),
unusable cache folders, planted FIFOs and symlinks, and an overall deadline against a trickling server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import tfjs_interop
from tests.support.concurrency import in_threads, killed_midway
from tests.support.fixtures import ROOT
from tests.support.http_site import fixture_site, same_as_folder, serve, stop
from tfjs_interop.errors import NetworkError
from tfjs_interop.formats import atomic
from tfjs_interop.formats.remote import Cache, Cached


@pytest.fixture
def site(tmp_path):
    server = serve(fixture_site(tmp_path / "site"))
    server.root = tmp_path / "site"
    server.url = f"http://127.0.0.1:{server.server_port}/files/multishard/model.json"
    yield server
    stop(server)


@pytest.fixture
def bounded():
    """Fail (rather than hang) a test whose load blocks."""
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError("the load blocked")))
    signal.alarm(20)
    yield
    signal.alarm(0)


def _version_folder(cache: Path) -> Path:
    (folder,) = [p for p in cache.iterdir() if p.is_dir()]
    return folder


@pytest.mark.parametrize("problem", ["a file", "full"])
def test_an_unusable_cache_is_a_warning_and_the_model_is_returned(site, tmp_path, monkeypatch, problem):
    cache = tmp_path / "cache"
    if problem == "a file":
        cache.write_text("not a folder")
    else:
        monkeypatch.setattr(atomic, "_write_new", lambda path, data: (_ for _ in ()).throw(
            OSError(28, "No space left on device")))
    with pytest.warns(UserWarning, match="the cache cannot be written .*returned uncached"):
        model = tfjs_interop.load(site.url, cache_dir=cache)
    same_as_folder(model, "multishard")


@pytest.mark.parametrize("where", ["data", "pointer"])
def test_a_fifo_planted_in_the_cache_is_a_miss_not_a_block(site, tmp_path, bounded, where):
    cache = tmp_path / "cache"
    tfjs_interop.load(site.url, cache_dir=cache)
    victim = next(_version_folder(cache).glob("0.bin")) if where == "data" else next(cache.glob("*.json"))
    victim.unlink()
    os.mkfifo(victim)
    same_as_folder(tfjs_interop.load(site.url, cache_dir=cache), "multishard")


@pytest.mark.parametrize("content", [b"[" * 200_000, b"\xff\xfe not JSON", b'{"version": 7}'],
                         ids=["deeply-nested", "not-json", "wrong-type"])
@pytest.mark.parametrize("where", ["record", "pointer"])
def test_a_corrupted_cache_record_is_a_miss(site, tmp_path, where, content):
    cache = tmp_path / "cache"
    tfjs_interop.load(site.url, cache_dir=cache)
    victim = _version_folder(cache) / "record.json" if where == "record" else next(cache.glob("*.json"))
    victim.write_bytes(content)
    site.log.clear()
    same_as_folder(tfjs_interop.load(site.url, cache_dir=cache), "multishard")
    assert {code for _, code in site.log} == {200}  # everything fetched again


def test_a_symlink_planted_in_the_cache_is_not_followed(site, tmp_path):
    cache = tmp_path / "cache"
    tfjs_interop.load(site.url, cache_dir=cache)
    data = next(_version_folder(cache).glob("0.bin"))
    copy = tmp_path / "elsewhere.bin"
    shutil.copy(data, copy)
    data.unlink()
    data.symlink_to(copy)  # same bytes, so only a refusal to follow links makes this a miss
    site.log.clear()
    tfjs_interop.load(site.url, cache_dir=cache)
    codes = [code for _, code in site.log]
    assert codes[0] == 200 and set(codes[1:]) == {304}  # the linked file (model.json) fetched again, shards reused


def test_a_crash_between_the_new_version_and_the_switch_leaves_the_old_one_whole(site, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    tfjs_interop.load(site.url, cache_dir=cache)
    shard = site.root / "multishard" / "group1-shard1of19.bin"
    shard.write_bytes(bytes(len(shard.read_bytes())))  # a new version of the model on the server
    later = time.time() + 10
    os.utime(shard, (later, later))  # Last-Modified is in whole seconds
    real = atomic.write_file

    def crash(path, data, **kwargs):
        if str(path).endswith(".json"):
            raise KeyboardInterrupt  # dies right before the pointer switch
        return real(path, data, **kwargs)

    monkeypatch.setattr("tfjs_interop.formats.remote.write_file", crash)
    with pytest.raises(KeyboardInterrupt):
        tfjs_interop.load(site.url, cache_dir=cache)
    monkeypatch.undo()
    stop(site)
    with pytest.warns(UserWarning, match="using the cached copy"):
        same_as_folder(tfjs_interop.load(site.url, cache_dir=cache), "multishard")  # the old version, whole


COMMITTER = r"""
import sys
from pathlib import Path
from tfjs_interop.formats.remote import Cache, Cached
folder, urls = Path(sys.argv[1]), sys.argv[2:]
print("ready", flush=True)
i = 0
while True:
    i += 1
    tag = str(i).encode() * 30000
    Cache(folder, urls[0], 1 << 30).store({url: Cached(tag, None, None) for url in urls})
"""


def test_a_commit_killed_at_any_point_leaves_one_whole_version(tmp_path):
    urls = [f"http://example.invalid/m/{name}" for name in ("model.json", "a.bin", "b.bin", "c.bin")]
    rng = np.random.default_rng(7)
    seen = set()
    for _ in range(12):
        killed_midway(COMMITTER, [str(tmp_path), *urls], float(rng.uniform(0.0, 0.3)), ROOT)
        cache = Cache(tmp_path, urls[0], 1 << 30)
        found = [cache.lookup(url) for url in urls]
        if cache.version is None:
            continue
        assert all(f is not None for f in found), "the current version is missing files"
        assert len({f.data for f in found}) == 1, "the cache mixes two versions of the model"
        seen.add(found[0].data[:8])
    assert seen, "no commit finished before a kill"
    Cache(tmp_path, urls[0], 1 << 30).store({url: Cached(b"x", None, None) for url in urls})
    versions = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(versions) <= 12 and not [p for p in tmp_path.iterdir() if atomic.TEMP_MARK in p.name]


def _trickling_server() -> tuple[socket.socket, threading.Event]:
    """A server that answers any request with a huge body, 2 bytes every 0.1 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                while not stop.is_set():
                    try:
                        conn.sendall(b"{ ")
                    except OSError:
                        break
                    time.sleep(0.1)

    threading.Thread(target=serve, daemon=True).start()
    return listener, stop


def test_a_trickling_server_is_stopped_by_the_deadline():
    listener, stop = _trickling_server()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/model.json"
    started = time.monotonic()
    try:
        with pytest.raises(NetworkError, match="deadline of 1.5 s passed while fetching model.json"):
            tfjs_interop.load(url, timeout=1, deadline=1.5)
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - started < 3.0


def test_the_cache_survives_a_concurrent_load(site, tmp_path):
    """Loads in threads sharing a cache folder all succeed and leave one version."""
    cache = tmp_path / "cache"

    def run(i: int) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            same_as_folder(tfjs_interop.load(site.url, cache_dir=cache), "multishard")

    in_threads(run, 6, timeout=60)
    assert Cache(cache, site.url, 1 << 30).version is not None


def test_a_revalidated_load_writes_no_new_version(site, tmp_path):
    """Every load wrote and fsynced a whole new version, even when each file came back 304 unchanged."""
    cache = tmp_path / "cache"
    tfjs_interop.load(site.url, cache_dir=cache)
    first = Cache(cache, site.url, 1 << 30).version
    tfjs_interop.load(site.url, cache_dir=cache)
    assert Cache(cache, site.url, 1 << 30).version == first
    assert [p.name for p in cache.glob("*.v-*")] == [first]


def test_versions_no_pointer_names_are_removed_once_stale(tmp_path):
    """Writers racing on one cache each removed only the version they had seen: the others' stayed for good.
    A store now also removes unnamed versions older than STALE_VERSION_SECONDS (younger ones may be another
    writer's, about to be switched in)."""
    from tfjs_interop.formats import remote

    url = "http://127.0.0.1:1/m/model.json"
    cache = Cache(tmp_path, url, 1 << 20)
    cache.store({url: Cached(b"{}", None, None)})
    first = Cache(tmp_path, url, 1 << 20).version
    old, young = tmp_path / f"{cache.key}.v-{'a' * 16}", tmp_path / f"{cache.key}.v-{'b' * 16}"
    for orphan in (old, young):
        orphan.mkdir()
    past = time.time() - remote.STALE_VERSION_SECONDS - 5
    os.utime(old, (past, past))
    same = Cache(tmp_path, url, 1 << 20)
    same.store({url: Cached(b"{}", None, None)})  # the same files: nothing written, nothing swept
    assert Cache(tmp_path, url, 1 << 20).version == first and old.exists()
    Cache(tmp_path, url, 1 << 20).store({url: Cached(b'{"a": 1}', None, None)})
    current = Cache(tmp_path, url, 1 << 20).version
    assert sorted(p.name for p in tmp_path.glob("*.v-*")) == sorted([current, young.name])
