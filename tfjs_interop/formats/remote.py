"""TF.js models at ``http(s)://`` URLs, fetched as ``tf.loadLayersModel`` does, with the standard library only.

model.json comes from the URL given; each manifest path is fetched from the URL's folder with the model.json URL's
query appended (TF.js's ``parseUrl``: ``prefix + path + suffix``). A path may not leave that folder: no ``..``,
no absolute paths or URLs, no ``?`` or ``#``, also once percent-decoded. Redirects must stay on the same origin
(scheme, host and port). ``timeout`` bounds each wait for the server (connecting, or the next bytes); every
response is streamed against the load's byte budget and refused as soon as it goes past it.

The optional cache (``cache_dir``) keeps each fetched file under the SHA-256 of its URL (``<key>.bin``) with a
record of its URL, ETag, Last-Modified and content hash (``<key>.json``). Each load revalidates every file with
the server (``If-None-Match`` / ``If-Modified-Since``; a 304 reuses the cached bytes); when model.json's server
cannot be reached at all, the whole model comes from the cache, with a warning. Files are written to the cache
only after every file of the model has been fetched and decoded, so the cache never mixes two versions.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import quote, unquote, urlsplit, urlunsplit
from urllib.request import HTTPRedirectHandler, OpenerDirector, Request, build_opener

from ..errors import NetworkError, SecurityError, TfjsInteropError
from .common import DEFAULT_MAX_BYTES, ByteBudget, ModelFile, parse_json
from .tfjs import decode_model_json

CHUNK = 1 << 16


def is_url(path: object) -> bool:
    """Whether ``path`` is an ``http://`` or ``https://`` URL (rather than a file path)."""
    return isinstance(path, str) and path[:8].lower().startswith(("http://", "https://"))


def read_tfjs_url(url: str, max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = 30.0,
                  cache_dir: str | os.PathLike | None = None, headers: Mapping[str, str] | None = None,
                  on_progress: Callable[[float], object] | None = None) -> ModelFile:
    """Fetch and read a TF.js layers model from the URL of its model.json.

    ``headers`` are sent with every request (TF.js's ``requestInit.headers``: ``Authorization``...);
    ``on_progress(fraction)`` is called as each file arrives, from 0 to 1, as TF.js's ``onProgress``.

    Raises:
        NetworkError: when a file cannot be fetched (no connection, timeout, HTTP error status).
        SecurityError: when a weight path leaves the model's URL folder, or a server redirects to another origin.
        LimitError: when the files exceed ``max_bytes``.
        ModelFormatError, WeightsError: as for a model read from disk.
    """
    client = HttpClient(ByteBudget(max_bytes, url), timeout, Cache(Path(cache_dir)) if cache_dir else None,
                        dict(headers or {}))
    report = on_progress or (lambda fraction: None)
    report(0.0)
    document = parse_json(client.get(url, "model.json"), url)
    files, done = 1 + _count_paths(document), [1]
    report(1 / files)

    def fetch(path: str) -> bytes:
        data = client.get(weight_url(url, path), path)
        done[0] += 1
        report(min(done[0] / files, 1.0))
        return data

    model_file = decode_model_json(document, url, fetch, max_bytes)
    client.commit()
    return model_file


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
    """A cached file: its bytes and the validators the server sent with them."""

    data: bytes
    etag: str | None
    last_modified: str | None


class HttpClient:
    """GETs files within one byte budget, revalidating cached copies, or from the cache alone when offline."""

    def __init__(self, budget: ByteBudget, timeout: float, cache: Cache | None, headers: dict[str, str] | None = None):
        self.budget, self.timeout, self.cache = budget, timeout, cache
        self.headers = headers or {}
        self.opener: OpenerDirector = build_opener(_SameOriginRedirects)
        self.offline = False
        self.fetched: dict[str, Cached] = {}

    def get(self, url: str, what: str) -> bytes:
        """The bytes at ``url``; ``what`` names the file in messages."""
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
        """Write every file fetched by this load to the cache (only once all of them are known good)."""
        if self.cache and not self.offline:
            for url, entry in self.fetched.items():
                self.cache.store(url, entry)

    def _from_cache(self, url: str, cached: Cached | None, what: str) -> bytes:
        if cached is None:
            raise NetworkError(f"{url}: the server cannot be reached and the cache holds no copy of {what}")
        self.budget.take(len(cached.data), what)
        return cached.data

    def _download(self, url: str, cached: Cached | None, what: str) -> bytes:
        request = Request(url, headers={**self.headers, **_validators(cached)})
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                data = self._read_body(response, what)
                entry = Cached(data, response.headers.get("ETag"), response.headers.get("Last-Modified"))
        except HTTPError as exc:
            exc.close()
            if exc.code != 304 or cached is None:
                raise _network_error(url, f"HTTP {exc.code} {exc.reason} for {what}", True) from None
            self.budget.take(len(cached.data), what)
            entry = cached
        except TfjsInteropError:
            raise
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise _describe(url, what, exc, self.timeout) from None
        self.fetched[url] = entry
        return entry.data

    def _read_body(self, response: http.client.HTTPResponse, what: str) -> bytes:
        length = response.headers.get("Content-Length", "")
        if length.isdigit():
            self.budget.check(int(length), f"{what} (Content-Length {length})")
        chunks = []
        while chunk := response.read(CHUNK):
            self.budget.take(len(chunk), what)
            chunks.append(chunk)
        return b"".join(chunks)


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
    """Fetched files on disk, keyed by the SHA-256 of their URL, checked by the SHA-256 of their bytes."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode()).hexdigest()
        return self.folder / f"{key}.bin", self.folder / f"{key}.json"

    def lookup(self, url: str) -> Cached | None:
        """The cached copy of ``url``, or None when there is none or it does not match its record."""
        data_path, record_path = self._paths(url)
        try:
            record = json.loads(record_path.read_text())
            data = data_path.read_bytes()
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("url") != url or \
                record.get("sha256") != hashlib.sha256(data).hexdigest():
            return None
        return Cached(data, record.get("etag"), record.get("last_modified"))

    def store(self, url: str, entry: Cached) -> None:
        """Write ``entry`` for ``url``, each file atomically (a temporary file, then a rename)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        data_path, record_path = self._paths(url)
        record = {"url": url, "etag": entry.etag, "last_modified": entry.last_modified,
                  "sha256": hashlib.sha256(entry.data).hexdigest()}
        _write_atomic(data_path, entry.data)
        _write_atomic(record_path, json.dumps(record).encode())


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
