"""TF.js models at ``http(s)://`` URLs, fetched as ``tf.loadLayersModel`` does, with the standard library only.

model.json comes from the URL given; each manifest path is fetched from the URL's folder with the model.json URL's
query appended (TF.js's ``parseUrl``: ``prefix + path + suffix``). A path may not leave that folder: no ``..``,
no absolute paths or URLs, no ``?`` or ``#``, also once percent-decoded. Redirects must stay on the same origin
(scheme, host and port). ``timeout`` bounds each wait for the server (connecting, or the next bytes); every
response is streamed against the load's byte budget and refused as soon as it goes past it.

``deadline`` bounds the whole load.

The optional cache (``cache_dir``) keeps a model's files as one versioned entry (see :class:`Cache`), with each
file's ETag, Last-Modified and content hash. Each load revalidates every file with the server (``If-None-Match`` /
``If-Modified-Since``; a 304 reuses the cached bytes); when model.json's server cannot be reached at all, the whole
model comes from the cache, with a warning. A load commits its files only after every file of the model has been
fetched and decoded, as one new version switched in atomically, so the cache never mixes two versions, even when
the process is killed mid-commit.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import stat
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import quote, unquote, urlsplit, urlunsplit
from urllib.request import HTTPRedirectHandler, OpenerDirector, Request, build_opener

from ..errors import NetworkError, SecurityError, TfjsInteropError
from .atomic import write_file, write_folder
from .common import DEFAULT_MAX_BYTES, ByteBudget, ModelFile, parse_json
from .tfjs.reader import decode_model_json

CHUNK = 1 << 16


def is_url(path: object) -> bool:
    """Whether ``path`` is an ``http://`` or ``https://`` URL (rather than a file path)."""
    return isinstance(path, str) and path[:8].lower().startswith(("http://", "https://"))


def read_tfjs_url(url: str, max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = 30.0,
                  cache_dir: str | os.PathLike | None = None, deadline: float | None = None,
                  headers: Mapping[str, str] | None = None,
                  on_progress: Callable[[float], object] | None = None) -> ModelFile:
    """Fetch and read a TF.js layers model from the URL of its model.json.

    ``timeout`` bounds each wait for the server; ``deadline`` (seconds, None for none) the whole load, however
    the server trickles its bytes. A cache that cannot be read is a miss; one that cannot be written is a
    warning, and the fetched model is returned all the same. ``headers`` are sent with every request (TF.js's
    ``requestInit.headers``: ``Authorization``...); ``on_progress(fraction)`` is called as each file arrives,
    from 0 to 1, as TF.js's ``onProgress``.

    Raises:
        NetworkError: when a file cannot be fetched (no connection, timeout, deadline, HTTP error status).
        SecurityError: when a weight path leaves the model's URL folder, or a server redirects to another origin.
        LimitError: when the files exceed ``max_bytes``.
        ModelFormatError, WeightsError: as for a model read from disk.
    """
    cache = Cache(Path(cache_dir), url, max_bytes) if cache_dir else None
    client = HttpClient(ByteBudget(max_bytes, url), timeout, cache, deadline, dict(headers or {}))
    report = on_progress or (lambda fraction: None)
    report(0.0)
    document = parse_json(client.get(url, "model.json"), url)
    files, done, names = 1 + _count_paths(document), [1], {url: _json_name(url)}
    report(1 / files)

    def fetch(path: str) -> bytes:
        file_url = weight_url(url, path)
        data = client.get(file_url, path)
        names[file_url] = path
        done[0] += 1
        report(min(done[0] / files, 1.0))
        return data

    model_file = decode_model_json(document, url, fetch, max_bytes)
    model_file.file_hashes = {name: client.served[file_url].sha256 for file_url, name in names.items()}
    client.commit()
    return model_file


def _json_name(url: str) -> str:
    """model.json's name as a folder would hold it: the URL's last path segment."""
    return urlsplit(url).path.rsplit("/", 1)[-1] or "model.json"


def read_beside_url(model_url: str, name: str, max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = 30.0,
                    deadline: float | None = None, headers: Mapping[str, str] | None = None) -> bytes:
    """A file beside a model.json URL (its golden record), fetched as a shard is (with the load's headers).

    Raises:
        NetworkError: when it cannot be fetched (an HTTP 404 included: ``error.status`` holds the code).
        SecurityError, LimitError: as for shards.
    """
    client = HttpClient(ByteBudget(max_bytes, model_url), timeout, None, deadline, dict(headers or {}))
    return client.get(weight_url(model_url, name), name)


def url_model_files(url: str, max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = 30.0) -> dict[str, bytes]:
    """The bytes of a URL model's files by name, as a folder would hold them: model.json (the URL's last path
    segment) first, then every file its manifest lists (fetched and decoded as :func:`read_tfjs_url` does)."""
    client = HttpClient(ByteBudget(max_bytes, url), timeout, None)
    files = {_json_name(url): client.get(url, "model.json")}

    def fetch(path: str) -> bytes:
        files[path] = client.get(weight_url(url, path), path)
        return files[path]

    decode_model_json(parse_json(next(iter(files.values())), url), url, fetch, max_bytes)
    return files


def _count_paths(document: object) -> int:
    """How many weight files the manifest names (for progress only: the manifest is checked where it is read)."""
    manifest = document.get("weightsManifest") if isinstance(document, dict) else None
    groups = manifest if isinstance(manifest, list) else []
    return sum(len(g["paths"]) for g in groups if isinstance(g, dict) and isinstance(g.get("paths"), list))


def weight_url(model_url: str, path: str) -> str:
    """The URL of a manifest path: the model.json URL's folder + ``path`` + the model.json URL's query."""
    decoded = unquote(path)
    parts = decoded.split("/")
    if (not path or "\0" in decoded or "\\" in decoded or "?" in path or "#" in path or "://" in decoded
            or decoded.startswith("/") or any(part in (".", "..") for part in parts)):
        raise SecurityError(f"{model_url}: weight path {path!r} must be a plain relative path under the model's "
                            "URL folder (no '..', absolute paths, URLs, queries or fragments)")
    base = urlsplit(model_url)
    folder = base.path[:base.path.rfind("/") + 1] or "/"
    return urlunsplit((base.scheme, base.netloc, folder + quote(path, safe="/%"), base.query, ""))


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class _SameOriginRedirects(HTTPRedirectHandler):
    """Follow a redirect only to the same scheme, host and port."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 (urllib's signature)
        if _origin(newurl) != _origin(req.full_url):
            fp.close()
            raise SecurityError(f"{req.full_url}: the server redirects to {newurl!r}, another origin; a model's "
                                "files must come from the origin of its model.json")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@dataclass
class Cached:
    """A fetched or cached file: its bytes and the validators the server sent with them."""

    data: bytes
    etag: str | None
    last_modified: str | None

    @functools.cached_property
    def sha256(self) -> str:
        """Its bytes' SHA-256 in hex, worked out once (the cache's check, its record and golden files use it)."""
        return hashlib.sha256(self.data).hexdigest()


class HttpClient:
    """GETs files within one byte budget, revalidating cached copies, or from the cache alone when offline."""

    def __init__(self, budget: ByteBudget, timeout: float, cache: Cache | None, deadline: float | None = None,
                 headers: dict[str, str] | None = None):
        self.budget, self.timeout, self.cache, self.deadline = budget, timeout, cache, deadline
        self.ends = None if deadline is None else time.monotonic() + deadline
        self.headers = headers or {}
        self.opener: OpenerDirector = build_opener(_SameOriginRedirects)
        self.offline = False
        self.fetched: dict[str, Cached] = {}  # downloaded or revalidated: what commit stores
        self.served: dict[str, Cached] = {}  # every file get returned, the cache's copies when offline too

    def get(self, url: str, what: str) -> bytes:
        """The bytes at ``url``; ``what`` names the file in messages (the cache's copy is of this load's version)."""
        cached = self.cache.lookup(url) if self.cache else None
        if self.offline:
            return self._from_cache(url, cached, what)
        try:
            return self._download(url, cached, what)
        except NetworkError as exc:
            if not self.fetched and cached is not None and not getattr(exc, "reached_server", True):
                warnings.warn(f"{exc}; using the cached copy in {self.cache.folder}", stacklevel=4)
                self.offline = True
                return self._from_cache(url, cached, what)
            raise

    def commit(self) -> None:
        """Write every file fetched by this load to the cache as one version (only once all are known good); a
        cache that cannot be written is a warning, not a failed load."""
        if self.cache and not self.offline:
            try:
                self.cache.store(self.fetched)
            except (OSError, TfjsInteropError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                warnings.warn(f"{self.cache.folder}: the cache cannot be written ({reason}); the model was "
                              "fetched and is returned uncached", stacklevel=4)

    def wait(self, url: str, what: str) -> float:
        """How long the next wait for the server may last: ``timeout``, or less when the deadline is nearer."""
        if self.ends is None:
            return self.timeout
        left = self.ends - time.monotonic()
        if left <= 0:
            raise _network_error(url, f"the load's deadline of {self.deadline} s passed while fetching {what}",
                                 True)
        return min(self.timeout, left)

    def _from_cache(self, url: str, cached: Cached | None, what: str) -> bytes:
        if cached is None:
            raise NetworkError(f"{url}: the server cannot be reached and the cache holds no copy of {what}")
        self.budget.take(len(cached.data), what)
        self.served[url] = cached
        return cached.data

    def _download(self, url: str, cached: Cached | None, what: str) -> bytes:
        request = Request(url, headers={**self.headers, **_validators(cached)})
        try:
            with self.opener.open(request, timeout=self.wait(url, what)) as response:
                data = self._read_body(response, url, what)
                entry = Cached(data, response.headers.get("ETag"), response.headers.get("Last-Modified"))
        except HTTPError as exc:
            exc.close()
            if exc.code != 304 or cached is None:
                error = _network_error(url, f"HTTP {exc.code} {exc.reason} for {what}", True)
                error.status = exc.code
                raise error from None
            self.budget.take(len(cached.data), what)
            entry = cached
        except TfjsInteropError:
            raise
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if self.ends is not None and time.monotonic() >= self.ends:
                self.wait(url, what)  # raises: the wait that failed was cut short by the deadline
            raise _describe(url, what, exc, self.timeout) from None
        self.fetched[url] = self.served[url] = entry
        return entry.data

    def _read_body(self, response: http.client.HTTPResponse, url: str, what: str) -> bytes:
        length = response.headers.get("Content-Length", "")
        if length.isdigit():
            self.budget.check(int(length), f"{what} (Content-Length {length})")
        chunks = []
        while True:
            _set_timeout(response, self.wait(url, what))  # a trickling server meets the deadline between chunks
            chunk = response.read1(CHUNK)  # what one wait brings: read() would wait for a full chunk
            if not chunk:
                return b"".join(chunks)
            self.budget.take(len(chunk), what)
            chunks.append(chunk)


def _set_timeout(response: http.client.HTTPResponse, seconds: float) -> None:
    """Bound the next socket wait of ``response`` (best effort: http.client keeps its socket private)."""
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(seconds)


def _validators(cached: Cached | None) -> dict[str, str]:
    headers = {"User-Agent": "tfjs-interop"}
    if cached and cached.etag:
        headers["If-None-Match"] = cached.etag
    if cached and cached.last_modified:
        headers["If-Modified-Since"] = cached.last_modified
    return headers


def _network_error(url: str, what: str, reached_server: bool) -> NetworkError:
    """A NetworkError naming the URL; ``reached_server`` tells a server's answer from no answer at all."""
    error = NetworkError(f"{url}: {what}")
    error.reached_server = reached_server
    return error


def _describe(url: str, what: str, exc: BaseException, timeout: float) -> NetworkError:
    reason = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, TimeoutError):
        return _network_error(url, f"no answer within the timeout of {timeout} s while fetching {what}", False)
    if isinstance(exc, ValueError):
        return _network_error(url, f"not a valid URL: {exc}", False)
    if isinstance(exc, (URLError, ConnectionRefusedError)):
        return _network_error(url, f"cannot connect to fetch {what}: {reason}", False)
    return _network_error(url, f"the connection failed while fetching {what}: {reason!r}", True)


class Cache:
    """One model's fetched files, kept as one versioned entry that is switched in whole.

    Layout in ``folder`` (``<key>`` is the SHA-256 of the model.json URL): ``<key>.v-<random>/`` holds the files
    (``0.bin``, ``1.bin``...) and ``record.json`` (each file's URL, ETag, Last-Modified, size and SHA-256);
    ``<key>.json`` names the current version. A commit writes a new version folder, then replaces the pointer
    (one atomic rename), then removes the old version: a load, or a crash at any point, sees one version whole.
    Only regular files are opened (no symlinks, FIFOs or devices), each checked against its record's size and
    hash; anything else is a cache miss.
    """

    def __init__(self, folder: Path, model_url: str, max_bytes: int):
        self.folder, self.max_bytes = folder, max_bytes
        self.key = hashlib.sha256(model_url.encode()).hexdigest()
        self.pointer = folder / f"{self.key}.json"
        self.version, self.record = self._current()

    def _current(self) -> tuple[str | None, dict]:
        """The current version's name and its files' records by URL (nothing when absent or unusable)."""
        pointer = _json_or_none(_read_regular(self.pointer, MAX_RECORD_BYTES))
        version = pointer.get("version") if isinstance(pointer, dict) else None
        if not isinstance(version, str) or not self._is_version(version):
            return None, {}
        record = _json_or_none(_read_regular(self.folder / version / "record.json", MAX_RECORD_BYTES))
        files = record.get("files") if isinstance(record, dict) else None
        return (version, files) if isinstance(files, dict) else (None, {})

    def lookup(self, url: str) -> Cached | None:
        """The cached copy of ``url`` in the current version, or None when there is none or it fails its record."""
        entry = self.record.get(url)
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str) or \
                not re.fullmatch(r"\d+\.bin", entry["file"]) or not isinstance(entry.get("size"), int) or \
                not 0 <= entry["size"] <= self.max_bytes:
            return None
        data = _read_regular(self.folder / self.version / entry["file"], entry["size"])
        if data is None or len(data) != entry["size"]:
            return None
        cached = Cached(data, entry.get("etag"), entry.get("last_modified"))
        return cached if entry.get("sha256") == cached.sha256 else None

    def store(self, fetched: dict[str, Cached]) -> None:
        """Commit ``fetched`` (every file of the model) as the new current version, unless the current one holds
        exactly these files (a load whose every file was revalidated unchanged writes nothing). Versions that no
        pointer names and that are older than ``STALE_VERSION_SECONDS`` (left by writers that raced this one, or
        died before their switch) are removed too; younger ones may be another writer's, about to be switched in."""
        files: dict[str, bytes] = {}
        record: dict[str, dict] = {}
        for i, (url, entry) in enumerate(fetched.items()):
            files[f"{i}.bin"] = entry.data
            record[url] = {"file": f"{i}.bin", "etag": entry.etag, "last_modified": entry.last_modified,
                           "size": len(entry.data), "sha256": entry.sha256}
        previous, current = self._current()
        if previous and _same_files(current, record):
            return
        version = f"{self.key}.v-{secrets.token_hex(8)}"
        files["record.json"] = json.dumps({"files": record}).encode()
        write_folder(self.folder / version, files, overwrite=False)
        write_file(self.pointer, json.dumps({"version": version}).encode())  # the switch
        if previous and previous != version:
            shutil.rmtree(self.folder / previous, ignore_errors=True)
        self._remove_stale_versions(version)

    def _remove_stale_versions(self, keep: str) -> None:
        now = time.time()
        for path in self.folder.glob(f"{self.key}.v-*"):
            try:
                stale = path.name != keep and now - path.lstat().st_mtime > STALE_VERSION_SECONDS
            except OSError:
                continue
            if stale and self._is_version(path.name):
                shutil.rmtree(path, ignore_errors=True)

    def _is_version(self, name: str) -> bool:
        """Whether ``name`` is one of this model's version folders (``<key>.v-<16 hex digits>``)."""
        return re.fullmatch(rf"{self.key}\.v-[0-9a-f]{{16}}", name) is not None


def _same_files(current: dict, record: dict) -> bool:
    """Whether a version's record lists the same URLs with the same bytes and validators as ``record``."""
    keys = ("sha256", "size", "etag", "last_modified")
    return current.keys() == record.keys() and all(
        isinstance(current[url], dict) and all(current[url].get(k) == record[url][k] for k in keys) for url in record)


STALE_VERSION_SECONDS = 600  # an unnamed version folder older than this is no writer's any more


MAX_RECORD_BYTES = 16 * 1024 * 1024


def _read_regular(path: Path, most: int) -> bytes | None:
    """A regular file's bytes (at most ``most``), or None: never follows a symlink or blocks on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > most:
            return None
        try:
            return file.read(most + 1)
        except OSError:
            return None


def _json_or_none(data: bytes | None) -> object:
    try:
        return None if data is None else json.loads(data)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's recursion: a miss like any other
        return None
