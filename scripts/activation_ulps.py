#!/usr/bin/env python3
"""How close the compiled kernels' tanh and sigmoid are to the exact values, and what a ≤ 1-ulp candidate costs.

    python scripts/activation_ulps.py [--step N]

Every N-th float32 (by bit pattern; N=1: all of them, a few minutes) of tanh's range (|x| ≤ 10) and sigmoid's
(−110 ≤ x ≤ 40) goes through ``_kernels.tanh`` / ``_kernels.sigmoid``, through a candidate evaluated in float64,
and through float64 libm (``math.tanh``, ``1 / (1 + math.exp(-x))``) rounded to float32, the reference. Reported:
the largest distance in float32 steps (ulps), the largest absolute error, and the time per value of each in a
loop over 2^18 values (interleaved rounds, the best of each).

The candidate: tanh(x) = x·P(t)/Q(t), t = 2x²/9.1² − 1, a [5/5] rational fitted here (Sanathanan–Koerner
iterations of relative least squares on [0, 9.1]; beyond 9.1 tanh is ±1 in float32), and sigmoid = 1/(1 + e^−x)
with e^u a degree-12 Taylor polynomial of u/128 squared 7 times, both in float64 and branch-free, so that they
vectorise as the kernels' float32 rational does.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from numba import njit

from tfjs_interop.runtime import _kernels as kernels

F32, F64 = np.float32, np.float64
CHUNK = 1 << 24
TANH_LIMIT = 9.1
SIGMOID_LIMIT = 104.0


def fit_tanh(degree: int = 5, limit: float = TANH_LIMIT, iterations: int = 40) -> tuple:
    """P and Q (lowest degree first, Q[0] = 1) of tanh(x)/x in t, and the fit's largest relative error."""
    x = np.unique(np.concatenate([np.linspace(0, limit, 20000), limit * np.sin(np.linspace(0, np.pi / 2, 20000))]))
    f = np.ones_like(x)
    f[x > 0] = np.tanh(x[x > 0]) / x[x > 0]
    t = x * x * (2 / limit**2) - 1
    q_previous = np.ones_like(x)
    for _ in range(iterations):  # p(t) - f·(q(t) - 1) = f, each row weighted by 1 / (q_previous(t)·f)
        powers = np.vander(t, degree + 1, increasing=True)
        rows = np.hstack([powers, -f[:, None] * powers[:, 1:]])
        w = 1 / (q_previous * f)
        c = np.linalg.lstsq(rows * w[:, None], f * w, rcond=None)[0]
        p, q = c[:degree + 1], np.concatenate([[1.0], c[degree + 1:]])
        q_previous = np.polyval(q[::-1], t)
    error = np.max(np.abs(np.polyval(p[::-1], t) / q_previous / f - 1))
    return tuple(map(float, p)), tuple(map(float, q)), float(error)


(P0, P1, P2, P3, P4, P5), (Q0, Q1, Q2, Q3, Q4, Q5), FIT_ERROR = fit_tanh()
T_SCALE = 2 / TANH_LIMIT**2
E0, E1, E2, E3, E4, E5, E6, E7, E8, E9, E10, E11, E12 = (1 / math.factorial(k) for k in range(13))
OPTIONS = {**kernels.OPTIONS, "cache": False}  # the coefficients are this run's fit


@njit(**OPTIONS)
def candidate_tanh(x):
    y = min(max(F64(x), -TANH_LIMIT), TANH_LIMIT)
    t = y * y * T_SCALE - 1.0
    p = ((((P5 * t + P4) * t + P3) * t + P2) * t + P1) * t + P0
    q = ((((Q5 * t + Q4) * t + Q3) * t + Q2) * t + Q1) * t + Q0
    return F32(y * (p / q))


@njit(**OPTIONS)
def candidate_sigmoid(x):
    u = min(max(-F64(x), -SIGMOID_LIMIT), SIGMOID_LIMIT) * (1.0 / 128)
    e = ((((((E12 * u + E11) * u + E10) * u + E9) * u + E8) * u + E7) * u + E6) * u + E5
    e = ((((e * u + E4) * u + E3) * u + E2) * u + E1) * u + E0
    for _ in range(7):
        e *= e
    return F32(1.0 / (1.0 + e))


@njit(**OPTIONS)
def kernel_sigmoid(x):
    return kernels.sigmoid(x)


@njit(**OPTIONS)
def apply(function, xs, out):
    for i in range(xs.shape[0]):
        out[i] = function(xs[i])


@njit(**OPTIONS)
def exact_tanh(x):
    return F32(math.tanh(F64(x)))


@njit(**OPTIONS)
def exact_sigmoid(x):
    return F32(1.0 / (1.0 + math.exp(-F64(x))))


def _ordered(values: np.ndarray) -> np.ndarray:
    """float32 bit patterns as integers in the order of the values (so that differences count ulps)."""
    bits = values.view(np.int32).astype(np.int64)
    return np.where(bits < 0, -(bits & 0x7FFFFFFF), bits)


def _inputs(low: float, high: float, step: int):
    """Every ``step``-th float32 of [low, high], in chunks, both signs."""
    for lo, hi, sign in ((max(low, 0.0), high, 1.0), (max(-high, 0.0), -low, -1.0)):
        if hi <= lo:
            continue
        first, last = int(np.float32(lo).view(np.int32)), int(np.float32(hi).view(np.int32))
        for start in range(first, last + 1, CHUNK):
            yield np.arange(start, min(last + 1, start + CHUNK), step, dtype=np.int32).view(np.float32) * F32(sign)


def errors(function, exact, low: float, high: float, step: int) -> tuple[int, float, float]:
    """The largest ulp distance (and an input where it occurs) and the largest absolute error."""
    worst, where, absolute = 0, float("nan"), 0.0
    for xs in _inputs(low, high, step):
        ours, reference = np.empty_like(xs), np.empty_like(xs)
        apply(function, xs, ours)
        apply(exact, xs, reference)
        distance = np.abs(_ordered(ours) - _ordered(reference))
        i = int(np.argmax(distance))
        if distance[i] > worst:
            worst, where = int(distance[i]), float(xs[i])
        absolute = max(absolute, float(np.max(np.abs(ours.astype(F64) - reference))))
    return worst, where, absolute


def ns_per_value(functions: dict, rounds: int = 30) -> dict:
    """Each function's best time per value over 2^18 normal(0, 3) inputs, the functions taking turns."""
    xs = (np.random.default_rng(0).standard_normal(1 << 18) * 3).astype(F32)
    out = np.empty_like(xs)
    best = {name: math.inf for name in functions}
    for function in functions.values():
        apply(function, xs, out)  # compile
    for _ in range(rounds):
        for name, function in functions.items():
            t0 = time.perf_counter()
            apply(function, xs, out)
            best[name] = min(best[name], (time.perf_counter() - t0) / xs.size * 1e9)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--step", type=int, default=1, help="test every N-th float32 (default: all)")
    args = parser.parse_args()
    print(f"candidate tanh's fit: largest relative error {FIT_ERROR:.2g} on [0, {TANH_LIMIT}]")
    speed = ns_per_value({"kernel tanh": kernels.tanh, "candidate tanh": candidate_tanh,
                          "kernel sigmoid": kernel_sigmoid, "candidate sigmoid": candidate_sigmoid})
    rows = [("kernel tanh", kernels.tanh, exact_tanh, -10.0, 10.0),
            ("candidate tanh", candidate_tanh, exact_tanh, -10.0, 10.0),
            ("kernel sigmoid", kernel_sigmoid, exact_sigmoid, -110.0, 40.0),
            ("candidate sigmoid", candidate_sigmoid, exact_sigmoid, -110.0, 40.0)]
    print("| function | max ulp | at x | max abs error | ns per value |\n| --- | --- | --- | --- | --- |")
    for name, function, exact, low, high in rows:
        ulps, where, absolute = errors(function, exact, low, high, args.step)
        print(f"| {name} | {ulps} | {where:.7g} | {absolute:.2g} | {speed[name]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
