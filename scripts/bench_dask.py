#!/usr/bin/env python3
"""Sequences per second scored by one local process, and by a Dask LocalCluster of 1 and 2 worker processes.

The model is Embedding(10,000 → 64, mask_zero) → LSTM(128) → Dense(1, sigmoid) with seeded random weights, written
as a TF.js model.json; the data are token-id sequences of 40 steps, post-padded to random lengths. Every engine
scores the same sequences in the same chunks (``model.predict(x, batch_size=CHUNK)`` locally, ``tfjs_interop.dask
.predict`` over a dask array of those chunks on the cluster), and the outputs are checked equal bit for bit.

BLAS runs one thread in every process (set below, before NumPy is imported, and passed to the workers), so one
worker is one core. The input array is persisted on the workers before timing (as data read by the workers would
be); each timed run includes building the graph, shipping the model and gathering the results. Each configuration
is run ``--rounds`` times after a warm-up, in turns, and the median is reported.

    python scripts/bench_dask.py [--sequences 300000] [--chunk 5000] [--rounds 3] [--out DIR]

Needs the ``dask`` extra. Writes DIR/bench_dask.md and DIR/bench_dask.json and prints the table.
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # one core per process
    os.environ[_variable] = "1"

import argparse  # noqa: E402  (the thread settings must precede NumPy's import)
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

VOCAB, EMBED, UNITS, STEPS = 10_000, 64, 128, 40


def write_model(folder: Path, seed: int = 0) -> Path:
    """The Embedding + LSTM + Dense model as a TF.js layers model.json with one shard."""
    rng = np.random.default_rng(seed)
    weights = [("embedding/embeddings", rng.uniform(-0.05, 0.05, (VOCAB, EMBED))),
               ("lstm/kernel", rng.uniform(-1, 1, (EMBED, 4 * UNITS)) / np.sqrt(EMBED)),
               ("lstm/recurrent_kernel", rng.uniform(-1, 1, (UNITS, 4 * UNITS)) / np.sqrt(UNITS)),
               ("lstm/bias", rng.uniform(-0.5, 0.5, (4 * UNITS,))),
               ("dense/kernel", rng.uniform(-1, 1, (UNITS, 1)) / np.sqrt(UNITS)),
               ("dense/bias", rng.uniform(-0.5, 0.5, (1,)))]
    layers = [
        {"class_name": "Embedding", "config": {"name": "embedding", "input_dim": VOCAB, "output_dim": EMBED,
                                               "mask_zero": True, "batch_input_shape": [None, STEPS]}},
        {"class_name": "LSTM", "config": {"name": "lstm", "units": UNITS, "activation": "tanh",
                                          "recurrent_activation": "sigmoid", "use_bias": True}},
        {"class_name": "Dense", "config": {"name": "dense", "units": 1, "activation": "sigmoid", "use_bias": True}},
    ]
    topology = {"class_name": "Sequential", "keras_version": "tfjs-layers 4.22.0", "backend": "tensor_flow.js",
                "config": {"name": "bench_dask", "layers": layers}}
    (folder / "weights.bin").write_bytes(b"".join(w.astype("<f4").tobytes() for _, w in weights))
    manifest = [{"paths": ["weights.bin"],
                 "weights": [{"name": n, "shape": list(w.shape), "dtype": "float32"} for n, w in weights]}]
    (folder / "model.json").write_text(json.dumps({"format": "layers-model", "modelTopology": topology,
                                                   "weightsManifest": manifest}))
    return folder / "model.json"


def make_sequences(count: int, seed: int = 1) -> np.ndarray:
    """Token ids in [1, VOCAB), each row post-padded with 0 to a random length of 5 to STEPS."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, VOCAB, (count, STEPS)).astype(np.float32)
    lengths = rng.integers(5, STEPS + 1, count)
    x[np.arange(STEPS) >= lengths[:, None]] = 0
    return x


def time_local(model, x: np.ndarray, chunk: int) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    y = model.predict(x, batch_size=chunk)
    return time.perf_counter() - start, y


def time_cluster(client, model, x_persisted, chunk: int) -> tuple[float, np.ndarray]:
    from tfjs_interop import dask as tfjs_dask

    start = time.perf_counter()
    y = client.compute(tfjs_dask.predict(model, x_persisted, batch_size=chunk), sync=True)
    return time.perf_counter() - start, y


def start_cluster(workers: int):
    import dask
    from distributed import Client, LocalCluster

    environ = {v: "1" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    with dask.config.set({"distributed.worker.multiprocessing-method": "spawn",
                          "distributed.nanny.pre-spawn-environ": environ}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
    return cluster, Client(cluster)


def run(sequences: int, chunk: int, rounds: int) -> dict:
    import dask.array as da

    import tfjs_interop

    with tempfile.TemporaryDirectory() as folder:
        model = tfjs_interop.load(write_model(Path(folder)))
    x = make_sequences(sequences)
    _, reference = time_local(model, x[:chunk], chunk)  # warm-up
    clusters = {n: start_cluster(n) for n in (1, 2)}
    persisted = {}
    for n, (_, client) in clusters.items():
        persisted[n] = client.persist(da.from_array(x, chunks=(chunk, STEPS)))
        client.wait_for_workers(n)
        time_cluster(client, model, persisted[n][:2 * n * chunk], chunk)  # warm-up: imports, the model
    samples: dict[str, list[float]] = {"one local process": [], "LocalCluster, 1 worker": [],
                                       "LocalCluster, 2 workers": []}
    reference = None
    for _ in range(rounds):
        seconds, reference = time_local(model, x, chunk)
        samples["one local process"].append(seconds)
        for n, (_, client) in clusters.items():
            seconds, y = time_cluster(client, model, persisted[n], chunk)
            if y.tobytes() != reference.tobytes():
                raise AssertionError(f"the cluster of {n} worker(s) computed other numbers than model.predict")
            samples[f"LocalCluster, {n} worker{'s' if n > 1 else ''}"].append(seconds)
        print(f"round: {json.dumps({name: s[-1] for name, s in samples.items()})}", flush=True)
    for cluster, client in clusters.values():
        client.close()
        cluster.close()
    medians = {name: statistics.median(s) for name, s in samples.items()}
    return {"sequences": sequences, "chunk": chunk, "rounds": rounds, "samples_s": samples, "median_s": medians,
            "sequences_per_s": {name: sequences / s for name, s in medians.items()},
            "machine": machine()}


def machine() -> dict:
    import dask
    import distributed

    return {"cpus": os.cpu_count(), "load_average": os.getloadavg(), "python": platform.python_version(),
            "numpy": np.__version__, "dask": dask.__version__, "distributed": distributed.__version__,
            "processor": platform.processor() or platform.machine()}


def table(result: dict) -> str:
    per_s = result["sequences_per_s"]
    base = per_s["LocalCluster, 1 worker"]
    lines = [f"{result['sequences']:,} sequences of {STEPS} steps, chunks of {result['chunk']:,}; median of "
             f"{result['rounds']} runs", "",
             "| configuration | seconds | sequences/s | vs 1 worker |", "| --- | --- | --- | --- |"]
    for name, seconds in result["median_s"].items():
        lines.append(f"| {name} | {seconds:.2f} | {per_s[name]:,.0f} | {per_s[name] / base:.2f}× |")
    m = result["machine"]
    lines += ["", f"Machine: {m['cpus']} CPUs ({m['processor']}), load average {m['load_average'][0]:.1f} at the end; "
              f"Python {m['python']}, NumPy {m['numpy']}, Dask {m['dask']}, one BLAS thread per process"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=300_000)
    parser.add_argument("--chunk", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args()
    result = run(args.sequences, args.chunk, args.rounds)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_dask.json").write_text(json.dumps(result, indent=2))
    text = table(result)
    (args.out / "bench_dask.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
