#!/usr/bin/env python3
"""Side-by-side benchmark: this runtime vs Keras 3 (``predict`` and a direct call) vs ONNX Runtime.

Every case is one recurrent layer (LSTM or GRU, return_sequences=True), a Bidirectional LSTM (concat), two
stacked LSTMs, or a CRNN (a Conv2D front end, 3x3 same relu, reshaped into frames for an LSTM), with the same
random weights in every engine: written as a TF.js model.json for this runtime, set into a Keras model, and built
into an ONNX graph with ``onnx.helper`` (LSTM gates i,f,c,o reordered to ONNX's i,o,f,c; GRU's z,r,h kept,
reset_after as ``linear_before_reset``; Bidirectional as ``direction="bidirectional"``; the CRNN's Conv2D as an
NCHW ``Conv`` between transposes). Before timing, each engine's output is checked against this runtime's. The grid
is issue 14's, plus two CRNN cases (issue 15).

Each engine runs in its own worker process (so its peak RSS is its own) that stays alive for the whole grid; the
engines are timed in turn within each round, so machine noise hits them alike, and the median of all samples is
reported. This runtime is timed twice: as installed (the compiled loop when numba is there) and with the NumPy loop
forced (``TFJS_INTEROP_COMPILED=0``). Cold start runs ``import + load + first predict`` of fixtures/tfjs/seed_lstm
in fresh processes, ours against TensorFlow's (``keras.saving.load_model`` of the same model saved as .keras).

    python scripts/bench.py [--quick] [--threads 1,2] [--out DIR] [--tf-python PATH]

Writes DIR/bench.md (the tables) and DIR/bench.json (every number); prints the Markdown. Engines that are not
installed are left out and said so. TensorFlow may live in another environment: ``--tf-python`` names its python.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SEED_MODEL = ROOT / "fixtures" / "tfjs" / "seed_lstm"
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                    "TFJS_INTEROP_THREADS", "BENCH_THREADS")
AGREEMENT = 1e-4  # max abs difference between engines' float32 outputs that counts as "the same numbers"


FILTERS = 8  # the CRNN front end's Conv2D filters (3x3, same padding, relu)


@dataclass(frozen=True)
class Case:
    kind: str  # "lstm" or "gru"
    batch: int
    steps: int
    features: int
    units: int
    reset_after: bool = False  # GRU only; TF.js's GRU is reset_after=False, Keras's default True
    model: str = "single"  # "single" layer, "bidi" (Bidirectional, concat), "stacked" (two layers) or "crnn"
    # (a Conv2D front end: (batch, time, features, 1) -> Conv2D(FILTERS, 3x3, same, relu) -> Reshape -> the layer)

    @property
    def name(self) -> str:
        ra = "_ra" if self.reset_after else ""
        prefix = "" if self.model == "single" else f"{self.model}_"
        return f"{prefix}{self.kind}{ra}_b{self.batch}_t{self.steps}_{self.features}x{self.units}"

    @property
    def layer_inputs(self) -> list[int]:
        """The input width of each recurrent layer's weights."""
        return {"single": [self.features], "bidi": [self.features] * 2, "stacked": [self.features, self.units],
                "crnn": [self.features * FILTERS]}[self.model]

    @property
    def input_shape(self) -> tuple[int, ...]:
        rest = (self.features, 1) if self.model == "crnn" else (self.features,)
        return (self.batch, self.steps, *rest)

    @property
    def flops(self) -> float:
        """Multiply-adds x2 of the input, recurrent and convolution products (the activations are not counted)."""
        gates = 4 if self.kind == "lstm" else 3
        conv = 2.0 * self.batch * self.steps * self.features * FILTERS * 9 if self.model == "crnn" else 0.0
        return conv + sum(2.0 * self.batch * self.steps * gates * self.units * (f + self.units)
                          for f in self.layer_inputs)


FULL_GRID = [  # issue 14's grid
    Case("lstm", 1, 10, 8, 32),  # the seed model's shape
    Case("lstm", 32, 10, 8, 32),
    Case("lstm", 1, 100, 64, 256),
    Case("lstm", 256, 50, 64, 256),
    Case("lstm", 1024, 10, 8, 32),
    Case("gru", 1, 10, 8, 32),
    Case("gru", 256, 50, 64, 256, reset_after=True),
    Case("lstm", 1, 10, 8, 32, model="bidi"),
    Case("lstm", 256, 50, 64, 256, model="bidi"),
    Case("lstm", 1, 10, 8, 32, model="stacked"),
    Case("lstm", 256, 50, 64, 256, model="stacked"),
    Case("lstm", 1, 50, 32, 64, model="crnn"),  # issue 15: a Conv2D front end (a spectrogram of 50 frames x 32 bins)
    Case("lstm", 64, 50, 32, 64, model="crnn"),
]
QUICK_GRID = [Case("lstm", 1, 10, 8, 32), Case("lstm", 4, 6, 5, 16), Case("gru", 3, 6, 5, 16),
              Case("gru", 3, 6, 5, 16, reset_after=True), Case("lstm", 3, 6, 5, 16, model="bidi"),
              Case("lstm", 3, 6, 5, 16, model="stacked"), Case("lstm", 2, 6, 5, 16, model="crnn")]


# --- weights and model files (main process) -------------------------------------------------------------------

KEYS = ("kernel", "recurrent_kernel", "bias")


def make_weights(case: Case, seed: int) -> list[dict[str, np.ndarray]]:
    """Keras-layout weights of each recurrent layer: kernel (in, g·u), recurrent_kernel (u, g·u), bias (g·u) or
    (2, g·u)."""
    rng = np.random.default_rng(seed)
    gates = 4 if case.kind == "lstm" else 3
    width = gates * case.units
    bias_shape = (2, width) if case.reset_after else (width,)
    return [{"kernel": rng.uniform(-1, 1, (features, width)) / np.sqrt(features),
             "recurrent_kernel": rng.uniform(-1, 1, (case.units, width)) / np.sqrt(case.units),
             "bias": rng.uniform(-0.5, 0.5, bias_shape)} for features in case.layer_inputs]


def make_conv(seed: int) -> dict[str, np.ndarray]:
    """The CRNN front end's Conv2D weights, Keras layout: kernel (3, 3, 1, FILTERS), bias (FILTERS,)."""
    rng = np.random.default_rng(seed + 2)
    return {"kernel": rng.uniform(-0.6, 0.6, (3, 3, 1, FILTERS)).astype(np.float32),
            "bias": rng.uniform(-0.3, 0.3, (FILTERS,)).astype(np.float32)}


def write_case(case: Case, folder: Path, seed: int) -> None:
    """model.json + shard (this runtime), weights.npz + case.json (the others), input.npy."""
    folder.mkdir(parents=True)
    layers = [{k: v.astype(np.float32) for k, v in w.items()} for w in make_weights(case, seed)]
    conv = make_conv(seed) if case.model == "crnn" else {}
    np.savez(folder / "weights.npz", **{f"{i}/{k}": v for i, w in enumerate(layers) for k, v in w.items()},
             **{f"conv/{k}": v for k, v in conv.items()})
    (folder / "case.json").write_text(json.dumps(asdict(case)))
    x = np.random.default_rng(seed + 1).standard_normal(case.input_shape).astype(np.float32)
    np.save(folder / "input.npy", x)
    def rnn_config(name: str) -> dict:
        config = {"name": name, "units": case.units, "activation": "tanh", "recurrent_activation": "sigmoid",
                  "use_bias": True, "return_sequences": True}
        return config | ({"reset_after": case.reset_after} if case.kind == "gru" else {})

    batch_shape = {"batch_input_shape": [None, case.steps, case.features]}
    rnn_class = case.kind.upper()
    if case.model == "bidi":
        specs = [{"class_name": "Bidirectional", "config": {"name": "bidi", "merge_mode": "concat", **batch_shape,
                                                              "layer": {"class_name": rnn_class,
                                                                        "config": rnn_config(case.kind)}}}]
        prefixes = [f"bidi/forward_{case.kind}", f"bidi/backward_{case.kind}"]
    else:
        prefixes = [f"{case.kind}1", f"{case.kind}2"] if case.model == "stacked" else [case.kind]
        specs = [{"class_name": rnn_class, "config": rnn_config(name)} for name in prefixes]
        specs[0]["config"] |= batch_shape
    entries, shard = [], b""
    if case.model == "crnn":
        specs = [{"class_name": "Conv2D", "config": {"name": "conv", "filters": FILTERS, "kernel_size": [3, 3],
                                                     "padding": "same", "activation": "relu", "use_bias": True,
                                                     "batch_input_shape": [None, case.steps, case.features, 1]}},
                 {"class_name": "Reshape", "config": {"name": "frames",
                                                      "target_shape": [case.steps, case.features * FILTERS]}},
                 {"class_name": rnn_class, "config": rnn_config(case.kind)}]
        for key in ("kernel", "bias"):
            entries.append({"name": f"conv/{key}", "shape": list(conv[key].shape), "dtype": "float32"})
            shard += conv[key].astype("<f4").tobytes()
    topology = {"class_name": "Sequential", "keras_version": "tfjs-layers 4.22.0", "backend": "tensor_flow.js",
                "config": {"name": "bench", "layers": specs}}
    for prefix, weights in zip(prefixes, layers):
        for key in KEYS:
            entries.append({"name": f"{prefix}/{key}", "shape": list(weights[key].shape), "dtype": "float32"})
            shard += weights[key].astype("<f4").tobytes()
    (folder / "weights.bin").write_bytes(shard)
    document = {"format": "layers-model", "modelTopology": topology,
                "weightsManifest": [{"paths": ["weights.bin"], "weights": entries}]}
    (folder / "model.json").write_text(json.dumps(document))


# --- engines (worker processes) -----------------------------------------------------------------------------

def load_case(folder: Path) -> tuple[Case, list[dict[str, np.ndarray]], np.ndarray]:
    """The case, each recurrent layer's weights (and the CRNN's front end as ``conv/...``), the input."""
    case = Case(**json.loads((folder / "case.json").read_text()))
    with np.load(folder / "weights.npz") as data:
        layers = [{k: data[f"{i}/{k}"] for k in KEYS} for i in range(len(case.layer_inputs))]
        if case.model == "crnn":
            layers[0] |= {f"conv/{k}": data[f"conv/{k}"] for k in ("kernel", "bias")}
    return case, layers, np.load(folder / "input.npy")


def ours_engine(folder: Path) -> dict:
    import tfjs_interop

    tfjs_interop.warm_up()  # as a server would: numba's kernels loaded before the timed calls (unless disabled)
    model = tfjs_interop.load(folder)
    x = np.load(folder / "input.npy")
    return {"predict": lambda: model.predict(x)}


def keras_engine(folder: Path) -> dict:
    threads = int(os.environ.get("BENCH_THREADS", "0"))
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras

    case, layers, x = load_case(folder)
    layer_class = keras.layers.LSTM if case.kind == "lstm" else keras.layers.GRU
    options = {"reset_after": case.reset_after} if case.kind == "gru" else {}

    def rnn():
        return layer_class(case.units, recurrent_activation="sigmoid", return_sequences=True, **options)

    front = [keras.layers.Conv2D(FILTERS, 3, padding="same", activation="relu"),
             keras.layers.Reshape((case.steps, case.features * FILTERS))] if case.model == "crnn" else []
    stack = {"single": [rnn()], "bidi": [keras.layers.Bidirectional(rnn())], "stacked": [rnn(), rnn()],
             "crnn": [rnn()]}[case.model]
    model = keras.Sequential([keras.Input(case.input_shape[1:]), *front, *stack])
    conv = [layers[0]["conv/kernel"], layers[0]["conv/bias"]] if case.model == "crnn" else []
    model.set_weights(conv + [w[k] for w in layers for k in KEYS])
    return {"predict": lambda: model.predict(x, batch_size=case.batch, verbose=0),
            "call": lambda: np.asarray(model(x, training=False))}


def onnx_weights(case: Case, weights: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One direction's W (g·u, in), R (g·u, u), B (2·g·u) in ONNX's layout and gate order."""
    u = case.units
    kernel, recurrent, bias = weights["kernel"], weights["recurrent_kernel"], weights["bias"]
    if case.kind == "lstm":  # Keras i,f,c,o -> ONNX i,o,f,c
        order = np.concatenate([np.arange(0, u), np.arange(3 * u, 4 * u), np.arange(u, 2 * u), np.arange(2 * u, 3 * u)])
        kernel, recurrent, bias = kernel[:, order], recurrent[:, order], bias[order]
        return kernel.T, recurrent.T, np.concatenate([bias, np.zeros_like(bias)])
    onnx_bias = bias.reshape(-1) if case.reset_after else np.concatenate([bias, np.zeros_like(bias)])  # z,r,h in both
    return kernel.T, recurrent.T, onnx_bias


def onnx_model(case: Case, layers: list[dict[str, np.ndarray]]):
    """An ONNX graph (batch, time, features) -> (batch, time, units or 2·units) with the Keras weights."""
    from onnx import TensorProto, helper, numpy_helper

    u = case.units
    attributes = {"linear_before_reset": int(case.reset_after)} if case.kind == "gru" else {}
    initializers = [numpy_helper.from_array(np.array([1], np.int64), "axis1")]
    nodes = [helper.make_node("Transpose", ["x"], ["x0"], perm=[1, 0, 2])]  # ONNX RNNs are time-major
    if case.model == "crnn":  # (batch, time, features, 1) -> NCHW Conv -> (time, batch, features·FILTERS)
        nodes, initializers = onnx_front_end(case, layers[0], initializers)
    groups = [layers] if case.model == "bidi" else [[w] for w in layers]  # the directions of each node
    for i, group in enumerate(groups):
        for name, arrays in zip("WRB", zip(*(onnx_weights(case, w) for w in group))):
            initializers.append(numpy_helper.from_array(np.stack(arrays).astype(np.float32), f"{name}{i}"))
        direction = "bidirectional" if len(group) == 2 else "forward"
        nodes.append(helper.make_node(case.kind.upper(), [f"x{i}", f"W{i}", f"R{i}", f"B{i}"], [f"y{i}"],
                                      hidden_size=u, direction=direction, **attributes))
        if direction == "forward":  # (time, 1, batch, units) -> (time, batch, units)
            nodes.append(helper.make_node("Squeeze", [f"y{i}", "axis1"], [f"x{i + 1}"]))
    if case.model == "bidi":  # (time, 2, batch, units) -> (batch, time, 2, units) -> (batch, time, 2·units)
        initializers.append(numpy_helper.from_array(np.array([0, 0, 2 * u], np.int64), "shape"))
        nodes += [helper.make_node("Transpose", ["y0"], ["y_bt"], perm=[2, 0, 1, 3]),
                  helper.make_node("Reshape", ["y_bt", "shape"], ["y"])]
    else:
        nodes.append(helper.make_node("Transpose", [f"x{len(groups)}"], ["y"], perm=[1, 0, 2]))
    width = 2 * u if case.model == "bidi" else u
    graph = helper.make_graph(
        nodes, "bench", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, *case.input_shape[1:]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, case.steps, width])], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def onnx_front_end(case: Case, weights: dict[str, np.ndarray], initializers: list) -> tuple[list, list]:
    """The CRNN's Conv2D in ONNX: NHWC -> NCHW, Conv (pads 1), Relu, back to (time, batch, features·FILTERS)."""
    from onnx import helper, numpy_helper

    kernel = weights["conv/kernel"].transpose(3, 2, 0, 1)  # (kh, kw, in, out) -> (out, in, kh, kw)
    initializers = initializers + [
        numpy_helper.from_array(np.ascontiguousarray(kernel), "conv_w"),
        numpy_helper.from_array(weights["conv/bias"], "conv_b"),
        numpy_helper.from_array(np.array([0, case.steps, case.features * FILTERS], np.int64), "frames")]
    nodes = [helper.make_node("Transpose", ["x"], ["x_nchw"], perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["x_nchw", "conv_w", "conv_b"], ["conv"], kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["conv"], ["relu"]),
             helper.make_node("Transpose", ["relu"], ["nhwc"], perm=[0, 2, 3, 1]),
             helper.make_node("Reshape", ["nhwc", "frames"], ["frames_bt"]),
             helper.make_node("Transpose", ["frames_bt"], ["x0"], perm=[1, 0, 2])]
    return nodes, initializers


def onnx_engine(folder: Path) -> dict:
    import onnxruntime

    case, weights, x = load_case(folder)
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = int(os.environ.get("BENCH_THREADS", "0"))
    options.intra_op_num_threads = int(os.environ.get("BENCH_THREADS", "0"))  # 0: ORT's default
    session = onnxruntime.InferenceSession(onnx_model(case, weights).SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])
    return {"run": lambda: session.run(["y"], {"x": x})[0]}


ENGINES = {"ours": ours_engine, "keras": keras_engine, "onnxruntime": onnx_engine}


def time_calls(function, budget: float, max_calls: int) -> list[float]:
    """Call ``function`` until ``budget`` seconds pass (at least 3, at most ``max_calls`` times)."""
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < 3 or (time.perf_counter() - start < budget and len(samples) < max_calls):
        t0 = time.perf_counter()
        function()
        samples.append(time.perf_counter() - t0)
    return samples


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM, not ru_maxrss: a child's ru_maxrss starts from its
    parent's peak at fork."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def worker(engine: str) -> None:
    """Answer JSON commands on stdin: ``prepare`` a case (first call, output saved), ``time`` it."""
    prepared: dict = {}
    for line in sys.stdin:
        command = json.loads(line)
        try:
            folder = Path(command["folder"])
            if command["op"] == "prepare":
                prepared = {"folder": folder, "calls": ENGINES[engine](folder)}
                outputs = {}
                for label, function in prepared["calls"].items():
                    outputs[label] = str(folder / f"out_{engine}_{label}.npy")
                    np.save(outputs[label], np.asarray(function()))  # also compiles / warms up
                reply = {"outputs": outputs}
            else:
                reply = {"samples": {label: time_calls(function, command["budget"], command["max_calls"])
                                     for label, function in prepared["calls"].items()}}
            reply["peak_rss_mb"] = peak_rss_mb()
        except Exception as exc:  # reported to the main process, which leaves the engine out of the case
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)


def thread_env(threads: int) -> dict:
    """Environment variables that limit every engine to ``threads`` threads (0: leave the defaults)."""
    return {name: str(threads) for name in THREAD_VARIABLES} if threads else {}


class Worker:
    """A worker process for one engine, driven over pipes."""

    def __init__(self, label: str, engine: str, python: str, env: dict):
        self.label = label
        self.process = subprocess.Popen([python, __file__, "--worker", engine], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env={**os.environ, **env})

    def ask(self, **command) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            return {"error": f"worker {self.label} exited with status {self.process.wait()}"}
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


# --- the main process -------------------------------------------------------------------------------------------

def can_import(python: str, *modules: str) -> bool:
    code = "import " + ", ".join(modules)
    return subprocess.run([python, "-c", code], capture_output=True).returncode == 0


def sgemm_peak(size: int, budget: float) -> float:
    """Float32 GFLOP/s of NumPy's matmul on square matrices of ``size`` (median of repeated calls)."""
    a = np.random.default_rng(0).standard_normal((size, size)).astype(np.float32)
    samples = time_calls(lambda: a @ a, budget, 1000)
    return 2 * size**3 / statistics.median(samples) / 1e9


def measure_sgemm(size: int, budget: float, env: dict) -> float:
    """:func:`sgemm_peak` in a fresh process with the engines' thread settings."""
    command = [sys.executable, __file__, "--sgemm", str(size), str(budget)]
    return float(subprocess.run(command, capture_output=True, text=True, check=True,
                                env={**os.environ, **env}).stdout)


def start_workers(tf_python: str | None, env: dict) -> list[Worker]:
    workers = [Worker("ours", "ours", sys.executable, env),
               Worker("ours_numpy", "ours", sys.executable, {**env, "TFJS_INTEROP_COMPILED": "0"})]
    if can_import(sys.executable, "onnx", "onnxruntime"):
        workers.append(Worker("onnxruntime", "onnxruntime", sys.executable, env))
    if tf_python and can_import(tf_python, "keras", "tensorflow"):
        workers.append(Worker("keras", "keras", tf_python, env))
    return workers


def run_case(case: Case, folder: Path, workers: list[Worker], rounds: int, budget: float) -> dict:
    """Prepare every engine, check outputs against ours, then time them round-robin."""
    result: dict = {"case": asdict(case) | {"name": case.name}, "engines": {}, "problems": []}
    reference = None
    live = []
    for w in workers:
        reply = w.ask(op="prepare", folder=str(folder))
        if "error" in reply:
            result["problems"].append(f"{w.label}: {reply['error']}")
            continue
        for label, path in reply["outputs"].items():
            output = np.load(path)
            reference = output if reference is None else reference
            diff = float(np.max(np.abs(output - reference))) if output.shape == reference.shape else float("inf")
            name = w.label if label in ("predict", "run") else f"{w.label}_{label}"
            result["engines"][name] = {"max_abs_diff": diff, "samples": []}
            if diff > AGREEMENT:
                result["problems"].append(f"{name}: output differs from ours by {diff:.3g}")
        live.append(w)
    for _ in range(rounds):
        for w in live:
            reply = w.ask(op="time", folder=str(folder), budget=budget, max_calls=1000)
            if "error" in reply:
                result["problems"].append(f"{w.label}: {reply['error']}")
                continue
            for label, samples in reply["samples"].items():
                name = w.label if label in ("predict", "run") else f"{w.label}_{label}"
                result["engines"][name]["samples"] += samples
                result["engines"][name]["peak_rss_mb"] = reply["peak_rss_mb"]
    for stats in result["engines"].values():
        stats["median_ms"] = statistics.median(stats["samples"]) * 1e3 if stats["samples"] else None
        stats["gflops"] = case.flops / (stats["median_ms"] / 1e3) / 1e9 if stats["median_ms"] else None
        stats["calls"] = len(stats.pop("samples"))
    return result


PRINT_PEAK = """
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(time.perf_counter() - t0, peak / 1024)
"""
COLD_OURS = """
import time; t0 = time.perf_counter()
import numpy as np, tfjs_interop
model = tfjs_interop.load({model!r})
model.predict(np.load({x!r}))
""" + PRINT_PEAK
COLD_KERAS = """
import time; t0 = time.perf_counter()
import numpy as np, keras
model = keras.saving.load_model({model!r})
model.predict(np.load({x!r}), verbose=0)
""" + PRINT_PEAK


LOAD_SCRIPT = """
import time
from pathlib import Path
import tfjs_interop
folder = Path({folder!r})
t0 = time.perf_counter()
tfjs_interop.load(folder)
t1 = time.perf_counter()
rss = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024
size = sum(len(p.read_bytes()) for p in folder.iterdir())
print(size, time.perf_counter() - t1, t1 - t0, rss)
"""


def load_speed(tmp: Path, env: dict, repeats: int, units: int = 2048, features: int = 1024) -> dict:
    """Load a ~100 MB LSTM (units 2048, 1024 features) against reading its files' bytes, both from the page cache,
    in fresh processes (medians)."""
    folder = tmp / "big_model"
    case = Case("lstm", 1, 1, features, units)
    # Written by another process: Linux children inherit the parent's peak RSS, which would then include it.
    subprocess.run([sys.executable, __file__, "--write-case", json.dumps(asdict(case)), str(folder)], check=True)
    for name in ("weights.npz", "input.npy", "case.json"):
        (folder / name).unlink()
    runs = []
    for _ in range(repeats):
        output = subprocess.run([sys.executable, "-c", LOAD_SCRIPT.format(folder=str(folder))], check=True,
                                capture_output=True, text=True, env={**os.environ, **env}).stdout.split()
        runs.append([float(v) for v in output])
    size, read_s, load_s, rss = (statistics.median(column) for column in zip(*runs))
    return {"megabytes": size / 1e6, "read_files_s": read_s, "load_s": load_s, "peak_rss_mb": rss}


def save_seed_as_keras(tf_python: str, path: Path) -> bool:
    """The seed model's architecture and weights as a Keras .keras file (TensorFlow cannot read model.json).

    Keras 3's hard_sigmoid is not TF.js's, so its numbers differ a little; the work and the start-up do not.
    """
    script = f"""
import json, numpy as np, keras
folder = {str(SEED_MODEL)!r}
manifest = json.load(open(folder + "/model.json"))["weightsManifest"][0]
data = open(folder + "/" + manifest["paths"][0], "rb").read()
weights, offset = [], 0
for entry in manifest["weights"]:
    size = int(np.prod(entry["shape"]))
    weights.append(np.frombuffer(data, "<f4", size, offset).reshape(entry["shape"]))
    offset += 4 * size
model = keras.Sequential([keras.Input((10, 8)), keras.layers.LSTM(32, recurrent_activation="hard_sigmoid",
                                                                   return_sequences=True)])
model.layers[0].set_weights(weights)
model.save({str(path)!r})
"""
    return subprocess.run([tf_python, "-c", script], capture_output=True).returncode == 0


def cold_start(python: str, code: str, repeats: int, env: dict) -> dict:
    """Whole-process wall time (median) and peak RSS of running ``code`` in a fresh interpreter."""
    walls, inner, rss = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        process = subprocess.Popen([python, "-c", code], stdout=subprocess.PIPE, text=True,
                                   env={**os.environ, **env})
        output = process.stdout.read().split()
        status = process.wait()
        walls.append(time.perf_counter() - t0)
        process.stdout.close()
        if status != 0 or len(output) != 2:
            return {"error": f"exit status {status}"}
        inner.append(float(output[0]))
        rss.append(float(output[1]))
    return {"wall_s": statistics.median(walls), "in_process_s": statistics.median(inner),
            "peak_rss_mb": max(rss), "runs": repeats}


def run_cold_starts(tf_python: str | None, tmp: Path, repeats: int, env: dict) -> dict:
    x = str(SEED_MODEL / "call0_input0.npy")
    ours = COLD_OURS.format(model=str(SEED_MODEL), x=x)
    results = {"ours": cold_start(sys.executable, ours, repeats, env),
               "ours_numpy": cold_start(sys.executable, ours, repeats, {**env, "TFJS_INTEROP_COMPILED": "0"})}
    keras_file = tmp / "seed_lstm.keras"
    if tf_python and can_import(tf_python, "keras", "tensorflow") and save_seed_as_keras(tf_python, keras_file):
        results["keras"] = cold_start(tf_python, COLD_KERAS.format(model=str(keras_file), x=x), repeats, env)
    return results


# --- report -------------------------------------------------------------------------------------------------------

def machine() -> dict:
    cpu = platform.processor()
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import numpy

    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": numpy.__version__,
            "load_average": os.getloadavg(), "platform": platform.platform(),
            "numba": _version("numba"), "onnxruntime": _version("onnxruntime")}


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return None


COLUMNS = [("ours", "ours"), ("ours_numpy", "ours, NumPy loop"), ("onnxruntime", "ONNX Runtime"),
           ("keras", "Keras predict"), ("keras_call", "Keras call")]


def markdown(report: dict) -> str:
    """Every run's tables, then the machine."""
    lines: list[str] = []
    for run in report["runs"]:
        lines += markdown_run(run) + [""]
    if "load_100mb" in report:
        big = report["load_100mb"]
        lines.append(f"Loading a {big['megabytes']:.0f} MB model: {big['load_s']:.3f} s (reading its files: "
                     f"{big['read_files_s']:.3f} s); peak RSS after loading {big['peak_rss_mb']:.0f} MB")
    m = report["machine"]
    lines += ["", f"Machine: {m['cpu']}, {m['cores']} cores, load average {m['load_average'][0]:.1f} at the start; "
                  f"Python {m['python']}, NumPy {m['numpy']}, numba {m['numba']}, ONNX Runtime {m['onnxruntime']}"]
    return "\n".join(lines)


def markdown_run(run: dict) -> list[str]:
    """One thread count's tables."""
    peak = run["sgemm_gflops"]
    present = [(key, title) for key, title in COLUMNS if any(key in c["engines"] for c in run["cases"])]
    head = "| case | " + " | ".join(f"{title} ms" for _, title in present)
    head += " | ours GFLOP/s (% peak) | ours / ORT | Keras predict / ours |"
    start, end = run["load_average_start"][0], run["load_average_end"][0]
    lines = [f"**{run['threads']} thread(s) per engine** (load average {start:.1f} at the start, {end:.1f} at the "
             f"end); sgemm peak (NumPy matmul, float32): {peak:.0f} GFLOP/s", "", head,
             "|" + " --- |" * (head.count("|") - 1)]
    for c in run["cases"]:
        def ms(key: str, engines: dict = c["engines"]) -> float | None:
            return engines.get(key, {}).get("median_ms")

        engines = c["engines"]
        cells = [f"{ms(k):.3f}" if ms(k) else "–" for k, _ in present]
        ours = ms("ours")
        gflops = engines.get("ours", {}).get("gflops")
        cells.append(f"{gflops:.1f} ({100 * gflops / peak:.0f} %)" if gflops else "–")
        cells.append(f"{ours / ms('onnxruntime'):.2f}" if ours and ms("onnxruntime") else "–")
        cells.append(f"{ms('keras') / ours:.1f}" if ours and ms("keras") else "–")
        flag = " ⚠" if c["problems"] else ""
        lines.append(f"| {c['case']['name']}{flag} | " + " | ".join(cells) + " |")
    rss = {k: max((c["engines"][k].get("peak_rss_mb", 0) for c in run["cases"] if k in c["engines"]),
                  default=0) for k, _ in present}
    lines += ["", "Peak RSS (VmHWM) of each engine's worker process over the whole grid: " +
              ", ".join(f"{title} {rss[k]:.0f} MB" for k, title in present if rss.get(k))]
    if run["cold_start"]:
        lines += ["", "| cold start: import + load + first predict of seed_lstm | wall s | peak RSS MB |",
                  "| --- | --- | --- |"]
    for key, value in run["cold_start"].items():
        if "error" in value:
            lines.append(f"| {key} | failed: {value['error']} | |")
        else:
            lines.append(f"| {key} | {value['wall_s']:.3f} | {value['peak_rss_mb']:.0f} |")
    cold = run["cold_start"]
    if "wall_s" in cold.get("keras", {}):
        ratios = [f"{key} {cold['keras']['wall_s'] / cold[key]['wall_s']:.1f}x" for key in ("ours", "ours_numpy")
                  if "wall_s" in cold.get(key, {})]
        lines.append("\nCold start, Keras / " + ", Keras / ".join(ratios))
    problems = [f"{c['case']['name']}: {p}" for c in run["cases"] for p in c["problems"]]
    if problems:
        lines += ["", "Problems:"] + [f"- {p}" for p in problems]
    return lines


def run_grid(grid: list[Case], threads: int, args: argparse.Namespace, tmp: Path) -> dict:
    """Every case and the cold starts with every engine limited to ``threads`` (0: the defaults)."""
    env = thread_env(threads)
    rounds = args.rounds or (1 if args.quick else 5)
    budget = 0.02 if args.quick else 0.3
    run = {"sgemm_gflops": measure_sgemm(256 if args.quick else 2048, budget * 3, env), "cases": [],
           "threads": threads or "default", "load_average_start": os.getloadavg()}
    workers = start_workers(args.tf_python, env)
    try:
        for i, case in enumerate(grid):
            folder = tmp / f"{case.name}_threads{threads}"
            write_case(case, folder, seed=1000 + i)
            run["cases"].append(run_case(case, folder, workers, rounds, budget))
            print(f"{case.name} ({threads or 'default'} threads): done", file=sys.stderr)
    finally:
        for w in workers:
            w.close()
    repeats = 1 if args.quick else 5
    run["cold_start"] = {} if args.no_cold_start else run_cold_starts(args.tf_python, tmp, repeats, env)
    run["load_average_end"] = os.getloadavg()
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tiny grid and short timings (a smoke run)")
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="folder for bench.md and bench.json")
    parser.add_argument("--tf-python", default=sys.executable,
                        help="the python that has tensorflow and keras (default: this one)")
    parser.add_argument("--rounds", type=int, default=None, help="timing rounds per case (engines take turns)")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this text")
    parser.add_argument("--no-cold-start", action="store_true", help="skip the cold-start measurement")
    parser.add_argument("--threads", default="1,2",
                        help="comma-separated thread counts; the grid runs once per count with every engine (BLAS, "
                             "ONNX Runtime, TensorFlow, ours) limited to it (0: the defaults). Default 1,2")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--sgemm", nargs=2, type=float, help=argparse.SUPPRESS)
    parser.add_argument("--write-case", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write_case:
        write_case(Case(**json.loads(args.write_case[0])), Path(args.write_case[1]), seed=7)
        return 0
    if args.worker:
        worker(args.worker)
        return 0
    if args.sgemm:
        print(sgemm_peak(int(args.sgemm[0]), args.sgemm[1]))
        return 0
    grid = [case for case in (QUICK_GRID if args.quick else FULL_GRID) if args.only in case.name]
    counts = [int(n) for n in args.threads.split(",")]
    report = {"machine": machine(), "quick": args.quick, "runs": []}
    with tempfile.TemporaryDirectory(prefix="tfjs-bench-") as tmp:
        for threads in counts:
            report["runs"].append(run_grid(grid, threads, args, Path(tmp)))
        if not args.quick:
            report["load_100mb"] = load_speed(Path(tmp), thread_env(counts[0]), 5)
    args.out.mkdir(parents=True, exist_ok=True)
    text = markdown(report)
    (args.out / "bench.md").write_text(text + "\n")
    (args.out / "bench.json").write_text(json.dumps(report, indent=1))
    print(text)
    return 1 if any(c["problems"] for run in report["runs"] for c in run["cases"]) else 0


if __name__ == "__main__":
    sys.exit(main())
