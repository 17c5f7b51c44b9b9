"""Inputs and outputs as JSON, in TF Serving's REST forms, for ``predict --input x.json`` / ``--output y.json``.

Inputs: ``{"instances": [...]}`` (the row form: one item per sample, an object by input name when the model has
several inputs), ``{"inputs": ...}`` (the columnar form: the batch of the one input, or an object by input name),
or a plain nested list (the batch of the one input). Outputs answer in the form asked: ``{"predictions": [...]}``
for rows (one item per sample, an object by output name when there are several), ``{"outputs": ...}`` for columns.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .errors import InputError, ModelFormatError
from .formats.common import parse_json

ROWS, COLUMNS = "instances", "inputs"


def parse_inputs(text: bytes, names: list[str], source: str) -> tuple[dict[str, np.ndarray], str]:
    """The arrays by input name of a JSON request, and its form (``"instances"`` or ``"inputs"``).

    Raises:
        InputError: for invalid JSON, another shape of document, missing or unknown input names, or ragged lists.
    """
    try:
        document = parse_json(text, source, constants=True)  # NaN and Infinity, as format_outputs writes them
    except ModelFormatError as exc:
        raise InputError(str(exc)) from None
    if isinstance(document, list):
        return _one_input(document, names, source, "a plain list"), ROWS
    if not isinstance(document, dict) or (ROWS in document) == (COLUMNS in document):
        raise InputError(f"{source}: expected {{\"instances\": [...]}}, {{\"inputs\": ...}} or a nested list")
    if ROWS in document:
        rows = document[ROWS]
        if not isinstance(rows, list):
            raise InputError(f"{source}: \"instances\" must be a list, one item per sample")
        if rows and all(isinstance(row, dict) for row in rows):
            columns = {name: [_field(row, name, source, f"instance {i}") for i, row in enumerate(rows)]
                       for name in names}
            _refuse_unknown(rows, names, source)
            return {name: _array(value, name, source) for name, value in columns.items()}, ROWS
        return _one_input(rows, names, source, "\"instances\""), ROWS
    columns = document[COLUMNS]
    if isinstance(columns, dict):
        _refuse_unknown([columns], names, source)
        return {name: _array(_field(columns, name, source, "\"inputs\""), name, source) for name in names}, COLUMNS
    return _one_input(columns, names, source, "\"inputs\""), COLUMNS


def format_outputs(outputs: dict[str, np.ndarray], form: str) -> str:
    """The JSON answer for outputs by name, in the request's form (see the module docstring)."""
    if form == COLUMNS:
        body: Any = next(iter(outputs.values())).tolist() if len(outputs) == 1 else \
            {name: value.tolist() for name, value in outputs.items()}
        return json.dumps({"outputs": body})
    if len(outputs) == 1:
        return json.dumps({"predictions": next(iter(outputs.values())).tolist()})
    count = len(next(iter(outputs.values())))
    rows = [{name: value[i].tolist() for name, value in outputs.items()} for i in range(count)]
    return json.dumps({"predictions": rows})


def _one_input(value: object, names: list[str], source: str, what: str) -> dict[str, np.ndarray]:
    if len(names) != 1:
        raise InputError(f"{source}: {what} is the batch of one input, but the model takes {len(names)} {names}; give "
                         "objects by input name")
    return {names[0]: _array(value, names[0], source)}


def _field(row: dict, name: str, source: str, where: str) -> object:
    if name not in row:
        raise InputError(f"{source}: {where} has no input {name!r} (has {sorted(row)})")
    return row[name]


def _refuse_unknown(rows: list[dict], names: list[str], source: str) -> None:
    unknown = sorted({key for row in rows for key in row} - set(names))
    if unknown:
        raise InputError(f"{source}: unknown input(s) {unknown}; the model's inputs are {names}")


def _array(value: object, name: str, source: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except ValueError as exc:
        raise InputError(f"{source}: input {name!r} is not a rectangular array of numbers: {exc}") from None
    if array.dtype.kind not in "biuf":
        raise InputError(f"{source}: input {name!r} must hold numbers in nested lists of equal lengths, found "
                         f"{array.dtype} values")
    return array
