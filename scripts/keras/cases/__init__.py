"""The Keras cases, family by family (one module each), registered in the order a full run makes them.

The order matters: Keras names unnamed layers from a process-wide counter (``lstm``, ``lstm_1``, ...), so a case's
files depend on the cases built before it in the same run. A new case goes at the end of its family's module; a
new family is one more module, imported here and placed in FAMILIES.
"""

from __future__ import annotations

from . import (
    attention,
    conv,
    conv3d,
    conv_recurrent,
    engine_differences,
    foreign_files,
    masking,
    preprocessing,
    recurrent,
    seq2seq,
    storage,
    structure,
)
from .registry import CASES, Case

FAMILIES = tuple(module.__name__.rpartition(".")[2] for module in (
    recurrent, masking, seq2seq, conv, preprocessing, attention, conv_recurrent, structure, storage,
    engine_differences, foreign_files, conv3d))


def in_order() -> list[Case]:
    """Every case, family by family in FAMILIES order, each family's in the order its module defines them."""
    unlisted = {c.family for c in CASES.values()} - set(FAMILIES)
    if unlisted:
        raise RuntimeError(f"case families {sorted(unlisted)} are not listed in FAMILIES")
    return sorted(CASES.values(), key=lambda c: FAMILIES.index(c.family))


__all__ = ["CASES", "FAMILIES", "Case", "in_order"]
