"""The registry of Keras cases: each family module registers its builders with ``@case``, in the order they run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    """A case: ``build(keras, rng) -> (model, inputs)``, the Keras generations it is made for and how it is saved.

    ``derive(folder, generation) -> {file: note}``, when given, writes more files from the ones Keras wrote, as
    other releases or platforms write them (``derived`` in expected.json says how); Keras's outputs are those of
    the files Keras wrote. ``refused`` names what tfjs-interop must refuse (no outputs are recorded);
    ``weights_only`` saves ``model.to_json()`` beside ``save_weights()`` instead of whole-model files.
    """

    name: str
    family: str
    build: Callable
    generations: tuple[int, ...]
    description: str
    refused: str | None = None
    derive: Callable | None = None
    weights_only: bool = False


CASES: dict[str, Case] = {}


def case(*generations: int, description: str, refused: str | None = None, derive: Callable | None = None,
         weights_only: bool = False) -> Callable:
    """Register the decorated builder as a case of its module's family for the given Keras generations."""
    def register(build):
        if build.__name__ in CASES:
            raise ValueError(f"case {build.__name__} is defined twice")
        family = build.__module__.rpartition(".")[2]
        CASES[build.__name__] = Case(build.__name__, family, build, generations, description, refused, derive,
                                     weights_only)
        return build
    return register
