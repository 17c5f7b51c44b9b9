"""Build Keras models with the real Keras and record what Keras computes: the Keras fixtures.

    python scripts/keras/make_fixtures.py --keras 3 [--out fixtures/keras] [--only NAME ...] [--list]
    python scripts/keras/make_fixtures.py --keras 2

``--keras 3`` uses TensorFlow's Keras 3 (``import keras`` with the TensorFlow backend) and writes ``model.keras``
(zip), ``model.h5`` (Keras 3's legacy H5) and, for weights-only cases, ``model_config.json`` (``model.to_json()``)
with ``model.weights.h5``. ``--keras 2`` uses ``tf_keras`` and writes ``model.h5`` and ``model.keras`` (tf_keras's
own zip format), or ``model_config.json`` with ``weights.h5``. Every case folder gets inputs
``call0_input{i}.npy``, the outputs Keras computes after reloading each written file ``call0_output{j}.npy``
(checked equal across the files), and ``expected.json``.
Weights are drawn from a seeded generator (biases non-zero), so the numbers are reproducible; the files are not
byte-for-byte (Keras stamps dates).

The cases live in cases/<family>.py; ``--only`` takes case names (without the k2_/k3_ prefix, run in the order
given) and family names (all of the family's cases for that Keras generation). A full run makes every case in
the registry's order, which the files depend on (Keras numbers unnamed layers per process); the recording is
recorder.py's.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import cases  # noqa: E402
from recorder import record_case  # noqa: E402


def select(names: list[str] | None, generation: int) -> list[cases.Case]:
    """The cases to make: every case of this generation, or the named cases and families in the order given."""
    made_here = [c for c in cases.in_order() if generation in c.generations]
    if not names:
        return made_here
    selected = []
    for name in names:
        if name in cases.CASES:
            selected.append(cases.CASES[name])
        elif name in cases.FAMILIES:
            selected += [c for c in made_here if c.family == name]
        else:
            raise SystemExit(f"unknown case or family {name!r}; families: {', '.join(cases.FAMILIES)}")
    return selected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras", choices=["2", "3"], required=True)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "fixtures" / "keras"))
    parser.add_argument("--only", nargs="*", help="case names (without the k2_/k3_ prefix) or family names")
    parser.add_argument("--seed", type=int, default=0, help="added to each case's seed (0 for the fixtures)")
    parser.add_argument("--list", action="store_true", help="print the cases this generation makes and exit")
    args = parser.parse_args(argv)
    generation = int(args.keras)
    selected = select(args.only, generation)
    if args.list:
        for spec in selected:
            print(f"{spec.name} ({spec.family})")
        return 0
    import tensorflow as tf
    if generation == 3:
        import keras
    else:
        import tf_keras as keras
    versions = {"keras_version": keras.__version__, "tensorflow_version": tf.__version__}
    for spec in selected:
        record_case(keras, versions, generation, spec, Path(args.out), args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
