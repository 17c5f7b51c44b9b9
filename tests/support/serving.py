"""Starting the real server (``tfjs-interop serve``) in a subprocess on 127.0.0.1 and speaking HTTP to it."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time

from .fixtures import ROOT

STARTUP_SECONDS = 120  # loads, probes and (first time) compiles the numba kernels on a shared machine
REQUEST_SECONDS = 60
LISTENING = re.compile(r"serving \d+ model\(s\) .* on http://127\.0\.0\.1:(\d+)")


class Server:
    """``python -m tfjs_interop serve ARGS --port 0``, its port, and its log lines."""

    def __init__(self, *args: str):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tfjs_interop", "serve", *args, "--host", "127.0.0.1", "--port", "0"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: list[str] = []
        self._ended = False  # stderr closed: the process is gone
        self._terminated = False
        self._seen = threading.Condition()
        threading.Thread(target=self._read_log, daemon=True).start()
        self.port = int(self.wait_for(LISTENING, STARTUP_SECONDS).group(1))

    def _read_log(self) -> None:
        for line in self.process.stderr:
            with self._seen:
                self.lines.append(line.rstrip("\n"))
                self._seen.notify_all()
        with self._seen:
            self._ended = True
            self._seen.notify_all()

    def wait_for(self, pattern: re.Pattern, seconds: float) -> re.Match:
        """The first log line matching ``pattern``, waiting at most ``seconds``."""
        deadline = time.monotonic() + seconds
        with self._seen:
            while True:
                for line in self.lines:
                    if match := pattern.search(line):
                        return match
                left = deadline - time.monotonic()
                if left <= 0 or self._ended:
                    raise AssertionError(f"no log line matching {pattern.pattern!r} within {seconds} s; the "
                                         "server's log:\n" + "\n".join(self.lines))
                self._seen.wait(min(left, 0.5))

    def request(self, method: str, path: str, body: bytes | str | dict | None = None,
                headers: dict | None = None) -> tuple[int, dict, dict]:
        """One request on a new connection: (status, JSON body, headers)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_SECONDS)
        try:
            return exchange(connection, method, path, body, headers)
        finally:
            connection.close()

    def terminate(self) -> None:
        """Send SIGTERM (once)."""
        if not self._terminated and self.process.poll() is None:
            self._terminated = True
            self.process.terminate()

    def stop(self, seconds: float = 60) -> int:
        """SIGTERM, then the exit status (killed, and a failure, if it takes longer than ``seconds``)."""
        self.terminate()
        try:
            return self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"the server did not stop within {seconds} s of SIGTERM") from None


def exchange(connection: http.client.HTTPConnection, method: str, path: str, body=None,
             headers: dict | None = None) -> tuple[int, dict, dict]:
    """Send one request on ``connection`` and read the whole answer, which must be JSON."""
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    raw = response.read()
    assert response.getheader("content-type") == "application/json", (response.status, raw[:200])
    return response.status, json.loads(raw), dict(response.getheaders())
