#!/usr/bin/env python3
"""HTTP serving benchmark: requests/s and p50/p99 latency of ``tfjs-interop serve`` on 127.0.0.1, at several
client concurrencies, with and without dynamic batching, and Keras 3 behind the same HTTP stack beside it.

Every server is a subprocess (``python -m tfjs_interop serve``; Keras: this script's ``--keras-server`` mode, which
serves the same architecture and weights, saved as .keras, through the same Starlette/uvicorn application with
Keras's direct call ``model(x)`` in place of our ``predict``). The model is fixtures/tfjs/seed_lstm (LSTM(32) over
10 steps of 8 features); each request is one instance in TF Serving's row format. Clients are threads of this
process, each with its own keep-alive connection, sending requests back to back for ``--seconds``; our answers are
checked against TF.js's recorded outputs first. Servers take turns at each concurrency, so machine noise hits them
alike; still, on a shared machine read ratios, not digits.

    python scripts/bench_serve.py [--seconds 5] [--concurrency 1,8,32] [--threads 1] [--out DIR] [--no-keras]

Writes DIR/bench_serve.md and DIR/bench_serve.json; prints the Markdown table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from bench import SEED_MODEL, can_import, machine, save_seed_as_keras, thread_env  # noqa: E402

LISTENING = re.compile(r"on http://127\.0\.0\.1:(\d+)")
PATH = "/v1/models/seed:predict"
TFJS_ATOL = 1e-5
BATCHING = ["--enable-batching", "--max-batch-size", "32", "--batch-timeout-micros", "1000"]


class ServerProcess:
    """A server subprocess on an ephemeral port of 127.0.0.1."""

    def __init__(self, label: str, command: list[str], env: dict):
        self.label = label
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"})
        self.port = self._port()
        threading.Thread(target=self.process.stderr.read, daemon=True).start()  # keep the pipe from filling

    def _port(self) -> int:
        deadline = time.monotonic() + 300
        for line in self.process.stderr:
            if match := LISTENING.search(line):
                return int(match.group(1))
            if time.monotonic() > deadline:
                break
        raise RuntimeError(f"{self.label}: the server did not start (exit status {self.process.poll()})")

    def stop(self) -> int:
        self.process.terminate()
        return self.process.wait(60)


def ours_server(batching: bool, env: dict) -> ServerProcess:
    command = [sys.executable, "-m", "tfjs_interop", "serve", str(SEED_MODEL), "--model-name", "seed", "--port", "0"]
    return ServerProcess("ours" + (", batching" if batching else ""), command + (BATCHING if batching else []), env)


def keras_server(keras_file: Path, batching: bool, env: dict) -> ServerProcess:
    command = [sys.executable, __file__, "--keras-server", str(keras_file)] + (BATCHING if batching else [])
    return ServerProcess("Keras" + (", batching" if batching else ""), command, env)


def run_keras_server(keras_file: str, batching: bool) -> int:
    """Serve Keras's ``model(x)`` behind our application: our model gives the signature, Keras the numbers."""
    import tensorflow as tf

    threads = int(os.environ.get("BENCH_THREADS", "0"))
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras

    import tfjs_interop
    from tfjs_interop.serving import BatchingOptions, serve

    keras_model = keras.saving.load_model(keras_file)
    model = tfjs_interop.load(SEED_MODEL)
    model.predict = lambda x, batch_size=None: np.asarray(keras_model(x[0] if isinstance(x, list) else x))
    options = BatchingOptions(enabled=True, max_batch_size=32, batch_timeout_micros=1000) if batching else None
    return serve({"seed": model}, "127.0.0.1", 0, batching=options)


def load(port: int, body: bytes, concurrency: int, seconds: float) -> dict:
    """``concurrency`` client threads sending ``body`` back to back for ``seconds``: rate, latencies, errors."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    start = threading.Barrier(concurrency + 1)
    stop_at = [0.0]

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        start.wait()
        while (now := time.perf_counter()) < stop_at[0]:
            connection.request("POST", PATH, body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            latencies[index].append(time.perf_counter() - now)
            errors[index] += response.status != 200
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    every = sorted(t for per in latencies for t in per)
    p99 = every[min(len(every) - 1, int(0.99 * len(every)))]
    return {"requests": len(every), "errors": sum(errors), "requests_per_s": len(every) / elapsed,
            "p50_ms": 1e3 * statistics.median(every), "p99_ms": 1e3 * p99}


def check_answer(port: int, body: bytes, want: np.ndarray | None) -> float | None:
    """One request; the max abs difference from ``want`` (None: only the shape is checked)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("POST", PATH, body)
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"status {response.status}: {answer}")
    got = np.array(answer["predictions"], np.float32)
    if want is None:
        return None
    if got.shape != want.shape:
        raise RuntimeError(f"shape {got.shape}, expected {want.shape}")
    return float(np.max(np.abs(got - want)))


def markdown(report: dict) -> str:
    levels = report["concurrency"]
    head = "| server | " + " | ".join(f"c={c} req/s | c={c} p50 ms | c={c} p99 ms" for c in levels) + " |"
    lines = [head, "| --- " * (1 + 3 * len(levels)) + "|"]
    for label, results in report["servers"].items():
        cells = []
        for c in levels:
            r = results[str(c)]
            cells += [f"{r['requests_per_s']:.0f}", f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}"]
            if r["errors"]:
                cells[-1] += f" ({r['errors']} errors)"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    m = report["machine"]
    lines.append("")
    lines.append(f"Machine: {m['cpu']}, {m['cores']} cores, load average {m['load_average'][0]:.1f} at the start; "
                 f"threads per engine: {report['threads']}; {report['seconds']} s per cell; Python {m['python']}, "
                 f"NumPy {m['numpy']}, numba {m['numba']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="load time per server and concurrency")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated client thread counts")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/TensorFlow threads per server (0: defaults)")
    parser.add_argument("--no-keras", action="store_true", help="leave Keras out")
    parser.add_argument("--out", default="bench-results", help="folder for bench_serve.md / .json")
    parser.add_argument("--keras-server", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--enable-batching", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--max-batch-size", "--batch-timeout-micros"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.keras_server:
        return run_keras_server(args.keras_server, args.enable_batching)
    levels = [int(c) for c in args.concurrency.split(",")]
    env = thread_env(args.threads)
    x = np.load(SEED_MODEL / "call0_input0.npy")[:1]
    want = np.load(SEED_MODEL / "call0_output0.npy")[:1]
    body = json.dumps({"instances": x.tolist()}).encode()
    report = {"machine": machine(), "threads": args.threads or "default", "seconds": args.seconds,
              "concurrency": levels, "servers": {}, "max_abs_diff_vs_tfjs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        servers = [ours_server(False, env), ours_server(True, env)]
        keras_file = Path(tmp) / "seed_lstm.keras"
        if not args.no_keras and can_import(sys.executable, "keras") and save_seed_as_keras(sys.executable,
                                                                                             keras_file):
            servers += [keras_server(keras_file, False, env), keras_server(keras_file, True, env)]
        try:
            for server in servers:
                diff = check_answer(server.port, body, None if server.label.startswith("Keras") else want)
                if diff is not None:
                    report["max_abs_diff_vs_tfjs"][server.label] = diff
                    if diff > TFJS_ATOL:
                        raise RuntimeError(f"{server.label}: answers differ from TF.js's by {diff}")
                load(server.port, body, 1, min(1.0, args.seconds))  # warm up
            for c in levels:
                for server in servers:
                    report["servers"].setdefault(server.label, {})[str(c)] = load(server.port, body, c, args.seconds)
        finally:
            statuses = {server.label: server.stop() for server in servers}
    report["exit_statuses"] = statuses
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_serve.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (out / "bench_serve.md").write_text(text + "\n")
    print(text)
    return 0 if all(status == 0 for status in statuses.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
