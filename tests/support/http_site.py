"""A local HTTP site of fixture folders on 127.0.0.1, served from a thread, with routes that misbehave on purpose
(/slow/, /redirect-away/, /redirect-here/, /stream/, /huge/; the folder itself under /files/)."""

from __future__ import annotations

import functools
import shutil
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

import tfjs_interop

from .fixtures import TFJS_FIXTURES, expected

SLOW_SECONDS = 1.5


class Handler(SimpleHTTPRequestHandler):
    """Serves the test folder under /files/, plus routes that misbehave on purpose."""

    def log_message(self, *args):
        pass

    def send_response(self, code, message=None):
        self.server.log.append((self.requested, int(code)))
        super().send_response(code, message)

    def do_GET(self):
        self.requested = self.path
        route, _, rest = self.path.lstrip("/").partition("/")
        if route == "slow":
            time.sleep(SLOW_SECONDS)
        elif route in ("redirect-away", "redirect-here"):
            host = "localhost" if route == "redirect-away" else "127.0.0.1"
            self.send_response(302)
            self.send_header("Location", f"http://{host}:{self.server.server_port}/files/{rest}")
            self.end_headers()
            return
        elif route == "stream":  # no Content-Length: the body ends when the connection closes
            self.send_response(200)
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"x" * 16384)
            return
        elif route == "huge":  # a Content-Length far over any cap, and no body worth waiting for
            self.send_response(200)
            self.send_header("Content-Length", str(10**12))
            self.end_headers()
            return
        self.path = "/" + rest
        super().do_GET()


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that timed out leaves a broken pipe behind; nothing to report


def serve(root: Path):
    server = Server(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    server.log = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop(server):
    server.shutdown()
    server.server_close()


def fixture_site(root: Path) -> Path:
    """Copy the fixtures seed_lstm and multishard into ``root`` (a site to serve)."""
    for case in ("seed_lstm", "multishard"):
        shutil.copytree(TFJS_FIXTURES / case, root / case)
    return root


def same_as_folder(model, case):
    folder = tfjs_interop.load(TFJS_FIXTURES / case)
    for ours, theirs in zip(model.get_weights(), folder.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    x = [np.load(TFJS_FIXTURES / case / name) for name in expected(TFJS_FIXTURES / case)["calls"][0]["inputs"]]
    np.testing.assert_array_equal(model.predict(x), folder.predict(x))
