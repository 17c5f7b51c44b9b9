"""TF Serving's REST API, as JSON in and out: request bodies to arrays, arrays to response bodies, status and
metadata documents. No HTTP here (see ``app``), so every rule can be tested on bytes.

The rules and messages follow tensorflow/serving's ``util/json_tensor.cc`` and ``model_servers/
http_rest_api_handler.cc``: a predict body holds ``instances`` (row format, one item per sample, objects keyed by
input name for several inputs) or ``inputs`` (columnar: a value, or an object by input name), never both. Floats
are written exactly: each float32 widened to float64, in Python's shortest repr (TF Serving rounds them to six or
nine significant digits, which read back as the same float32 but not as the same float64).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..runtime.model import Model, TensorSpec

ROW, COLUMNAR = "row", "columnar"
VERSION = 1  # every model is served as its version 1
DTYPES = {"float32": "DT_FLOAT", "int32": "DT_INT32", "bool": "DT_BOOL"}  # TF's DataType names
MAX_DEBUG_CHARS = 256  # as TF Serving's JsonValueToDebugString


class RestError(Exception):
    """An answer other than 200: the HTTP status and the message of TF Serving's ``{"error": ...}`` body."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> bytes:
        """The JSON error document."""
        return json.dumps({"error": self.message}).encode()


def bad_request(message: str) -> RestError:
    return RestError(400, message)


@dataclass(frozen=True)
class PredictRequest:
    """A parsed predict body: one array per model input (in input order) and the format to answer in."""

    feeds: list[np.ndarray]
    format: str


def model_status() -> dict:
    """``GET /v1/models/{name}``: the one version, AVAILABLE."""
    return {"model_version_status": [{"version": str(VERSION), "state": "AVAILABLE",
                                      "status": {"error_code": "OK", "error_message": ""}}]}


def model_metadata(model: Model, name: str) -> dict:
    """``GET /v1/models/{name}/metadata``: the ``serving_default`` signature in TF Serving's ``signature_def`` form,
    with ``-1`` for any size. Inputs are keyed by input name, outputs by :func:`golden.output_names`."""
    signature = {"inputs": {spec.name: _tensor_info(spec) for spec in model.inputs},
                 "outputs": {key: _tensor_info(spec) for key, spec in zip(output_keys(model), model.outputs)},
                 "method_name": "tensorflow/serving/predict", "defaults": {}}
    return {"model_spec": {"name": name, "signature_name": "", "version": str(VERSION)},
            "metadata": {"signature_def": {"signature_def": {"serving_default": signature}}}}


def output_keys(model: Model) -> list[str]:
    """The name each output is answered under: its layer's, ``layer:i`` when a layer gives several."""
    from ..golden_model import output_names

    return output_names(model)


def _tensor_info(spec: TensorSpec) -> dict:
    dims = [{"size": str(-1 if d is None else d), "name": ""} for d in spec.shape]
    return {"dtype": DTYPES.get(spec.dtype, "DT_FLOAT"), "tensor_shape": {"dim": dims, "unknown_rank": False},
            "name": f"serving_default_{spec.name}:0"}


def parse_predict(body: bytes, model: Model) -> PredictRequest:
    """A predict body -> checked arrays, one per input.

    Raises:
        RestError: 400, with TF Serving's message, naming the input and the expected and received shape.
    """
    doc = _parse_json(body)
    if "signature_name" in doc:
        if not isinstance(doc["signature_name"], str):
            raise bad_request(f"JSON Value: {_debug(doc)} not formatted correctly. 'signature_name' key must be a "
                              "string value.")
        if doc["signature_name"] not in ("", "serving_default"):
            raise bad_request(f'Serving signature name: "{doc["signature_name"]}" not found in signature def')
    if "instances" in doc and "inputs" in doc:
        raise bad_request(f"JSON Value: {_debug(doc)} Not formatted correctly expecting only one of 'inputs' or "
                          "'instances' keys to exist ")
    specs = model.inputs
    bools = b"true" in body or b"false" in body  # NumPy would quietly make numbers of booleans among numbers
    if "instances" in doc:
        return PredictRequest(_check_feeds(_rows(doc, specs, bools), specs, ROW), ROW)
    if "inputs" in doc:
        return PredictRequest(_check_feeds(_columns(doc["inputs"], specs, bools), specs, COLUMNAR), COLUMNAR)
    raise bad_request("Missing 'inputs' or 'instances' key")


def _parse_json(body: bytes) -> dict:
    if not body.strip():
        raise bad_request("JSON Parse error: The document is empty")
    try:
        doc = json.loads(body)
    except UnicodeDecodeError as exc:
        raise bad_request(f"JSON Parse error: invalid UTF-8 at offset: {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise bad_request(f"JSON Parse error: {exc.msg} at offset: {exc.pos}") from None
    except RecursionError:
        raise bad_request("JSON Parse error: the document is nested too deeply") from None
    if not isinstance(doc, dict):
        raise bad_request(f"JSON Value: {_debug(doc)} Is not object")
    return doc


def _rows(doc: dict, specs: list[TensorSpec], bools: bool) -> list[np.ndarray]:
    """``instances``: an item per sample; objects keyed by input name when there are several inputs."""
    instances = doc["instances"]
    if not isinstance(instances, list):
        raise bad_request(f"JSON Value: {_debug(doc)} Expecting 'instances' to be an list/array")
    if not instances:
        raise bad_request(f"JSON Value: {_debug(doc)} No values in 'instances' array")
    names = [spec.name for spec in specs]
    if not isinstance(instances[0], dict):
        if len(specs) > 1:
            raise bad_request("instances is a plain list, but expecting list of objects as multiple input tensors "
                              "required as per tensorinfo_map")
        if any(isinstance(item, dict) for item in instances):
            index = next(i for i, item in enumerate(instances) if isinstance(item, dict))
            raise bad_request(f"Expecting value/list but got object at item {index} of input list")
        return [_stack(instances, specs[0], bools)]
    for index, item in enumerate(instances):
        if not isinstance(item, dict):
            raise bad_request(f"Expecting object but got list at item {index} of input list")
        if set(item) != set(names):
            raise bad_request(f"Failed to process element: {index} of 'instances' list. JSON object: {_debug(item)} "
                              f"keys must be equal to: {','.join(sorted(names))}")
    return [_stack([item[spec.name] for item in instances], spec, bools) for spec in specs]


def _columns(value: Any, specs: list[TensorSpec], bools: bool) -> list[np.ndarray]:
    """``inputs``: a value for a one-input model (or a list in input order), else an object by input name."""
    if isinstance(value, dict):
        missing = [spec.name for spec in specs if spec.name not in value]
        if missing:
            raise bad_request(f"Missing named input: {missing[0]} in 'inputs' object.")
        unknown = sorted(set(value) - {spec.name for spec in specs})
        if unknown:
            raise bad_request(f"JSON object: does not have named input: {unknown[0]}")
        return [_tensor(value[spec.name], spec, bools) for spec in specs]
    if len(specs) > 1:
        if isinstance(value, list) and len(value) == len(specs):  # a list in input order
            return [_tensor(item, spec, bools) for item, spec in zip(value, specs)]
        raise bad_request("inputs is a plain value/list, but expecting an object as multiple input tensors "
                          f"required as per tensorinfo_map (or a list of {len(specs)} values, one per input in "
                          f"order {[spec.name for spec in specs]})")
    return [_tensor(value, specs[0], bools)]


def _stack(items: list[Any], spec: TensorSpec, bools: bool) -> np.ndarray:
    """The instances of one input as one array, batch first; every instance of the same shape."""
    shapes = [_dense_shape(item) for item in items]
    for index, shape in enumerate(shapes):
        if shape != shapes[0]:
            raise bad_request(f"Failed to process element: {index} of 'instances' list. Error: input {spec.name!r}: "
                              f"Expecting shape {_shape_text(shapes[0])} but got: {_shape_text(shape)}")
    return _tensor(items, spec, bools)


def _tensor(value: Any, spec: TensorSpec, bools: bool) -> np.ndarray:
    """A JSON value as an array of the input's dtype, refusing ragged lists, strings, nulls and booleans (looked
    for only when the body holds ``true`` or ``false``)."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise bad_request(f"input {spec.name!r}: cannot make a tensor of the value: {exc}") from None
    if spec.dtype == "bool":  # true and false only, as TF Serving reads a DT_BOOL tensor
        if array.dtype.kind != "b":
            raise bad_request(f"input {spec.name!r}: {_first_bad_leaf(value, spec)} is not of expected type: bool")
        return array
    if array.dtype.kind not in "iuf" or (spec.dtype != "float32" and array.dtype.kind == "f"):
        raise bad_request(f"input {spec.name!r}: {_first_bad_leaf(value, spec)} is not of expected type: "
                          f"{DTYPES.get(spec.dtype, spec.dtype).removeprefix('DT_').lower()}")
    if array.dtype.kind in "iu" and spec.dtype == "int32" and array.size and (
            array.min() < -(2 ** 31) or array.max() >= 2 ** 31):
        raise bad_request(f"input {spec.name!r}: a value is out of the range of int32")
    if bools and any(isinstance(leaf, bool) for leaf in _leaves(value)):
        raise bad_request(f"input {spec.name!r}: {_first_bad_leaf(value, spec)} is not of expected type: "
                          f"{DTYPES.get(spec.dtype, spec.dtype).removeprefix('DT_').lower()}")
    return array.astype(spec.dtype)


def _dense_shape(value: Any) -> tuple[int, ...]:
    """The shape of nested lists, from their first items (TF Serving's rule); ragged ones are caught later."""
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return tuple(shape)


def _leaves(value: Any) -> Iterator[Any]:
    """The non-list items of nested lists, in order (without recursion: JSON may nest deeply)."""
    stack = [iter([value])]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            yield item
        else:
            stack.pop()


def _first_bad_leaf(value: Any, spec: TensorSpec) -> str:
    for item in _leaves(value):
        if spec.dtype == "bool":
            if not isinstance(item, bool):
                return f"JSON Value: {_debug(item)} Type: {_json_type(item)}"
        elif isinstance(item, bool) or not isinstance(item, (int, float)) or (
                spec.dtype != "float32" and isinstance(item, float)):
            return f"JSON Value: {_debug(item)} Type: {_json_type(item)}"
    return f"JSON Value: {_debug(value)} (not a dense tensor)"


def _json_type(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "True" if value else "False"
    return {dict: "Object", list: "Array", str: "String"}.get(type(value), "Number")


def _check_feeds(feeds: list[np.ndarray], specs: list[TensorSpec], fmt: str) -> list[np.ndarray]:
    """Each array against its input's shape (any batch), and all of one batch size."""
    for feed, spec in zip(feeds, specs):
        if feed.ndim != len(spec.shape) or any(d is not None and d != a for d, a in zip(spec.shape, feed.shape)):
            expected = [-1 if d is None else d for d in spec.shape]
            what = "each instance" if fmt == ROW else "the value"
            received = list(feed.shape[1:]) if fmt == ROW else list(feed.shape)
            wanted = expected[1:] if fmt == ROW else expected
            raise bad_request(f"input {spec.name!r}: expected shape {expected} (batch first; {what} of shape "
                              f"{wanted}), received {received} (a tensor of shape {list(feed.shape)})")
    if fmt == COLUMNAR and len({int(f.shape[0]) for f in feeds}) > 1:
        raise bad_request(f"all inputs must have the same batch size (first dimension), received "
                          f"{ {spec.name: int(f.shape[0]) for f, spec in zip(feeds, specs)} }")
    return feeds


def predict_response(outputs: list[np.ndarray], keys: list[str], fmt: str) -> bytes:
    """``{"predictions": [...]}`` (row) or ``{"outputs": ...}`` (columnar); objects keyed by output name when
    there are several outputs, as TF Serving answers. Each float32 is written as its exact value (widened to
    float64, Python's shortest repr), so reading it as float32 or float64 gives back the computed number."""
    values = [np.asarray(output, dtype=np.float32).tolist() for output in outputs]
    if fmt == COLUMNAR:
        document = {"outputs": values[0] if len(values) == 1 else dict(zip(keys, values))}
    else:
        rows = values[0] if len(values) == 1 else [dict(zip(keys, items)) for items in zip(*values)]
        document = {"predictions": rows}
    return json.dumps(document).encode()


def _shape_text(shape: tuple[int, ...]) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _debug(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= MAX_DEBUG_CHARS else text[:MAX_DEBUG_CHARS] + "..."
