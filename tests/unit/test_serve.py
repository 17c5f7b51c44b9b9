"""``tfjs-interop serve``: the real server on 127.0.0.1 (a subprocess), spoken to over HTTP, answering with TF.js's
(and Keras's) recorded numbers in TF Serving's REST API; every route and status; concurrency; SIGTERM."""

from __future__ import annotations

import functools
import http.client
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

import tfjs_interop
from tests.support.fixtures import KERAS_FIXTURES, TFJS_FIXTURES, expected
from tests.support.serving import Server, exchange

pytestmark = pytest.mark.needs("starlette", "uvicorn")  # the serve extra

KERAS_CASE = KERAS_FIXTURES / "k3_encoder_decoder"
CASES = ["seed_lstm", "multi_io_shared_lstm", "embedding_mask_lstm", "masking_bidi_lstm_seq", "lstm_return_state",
         "merged_mask_rnn"]
MAX_REQUEST_BYTES = 1_000_000
LOG_LINE = re.compile(r'INFO 127\.0\.0\.1:\d+ "(GET|POST|PUT|DELETE) (\S+)" (\d{3}) \d+B [\d.]+ms( batch=(\d+))?$')


@pytest.fixture(scope="module")
def server():
    paths = [str(TFJS_FIXTURES / case) for case in [*CASES, "lstm_stateful"]] + [str(KERAS_CASE / "model.keras")]
    running = Server(*paths, "--enable-batching", "--max-batch-size", "16", "--batch-timeout-micros", "20000",
                     "--max-request-bytes", str(MAX_REQUEST_BYTES))
    yield running
    assert running.stop() == 0


def _case(name: str) -> tuple[dict, list[np.ndarray], list[np.ndarray]]:
    folder = KERAS_CASE if name == "model" else TFJS_FIXTURES / name
    record = expected(folder)
    call = record["calls"][0] if "calls" in record else record
    return (record, [np.load(folder / f) for f in call["inputs"]], [np.load(folder / f) for f in call["outputs"]])


def _names(server: Server, case: str) -> tuple[list[str], list[str]]:
    """The signature's input and output names, in model order (the recorded outputs' order)."""
    status, answer, _ = server.request("GET", f"/v1/models/{case}/metadata")
    signature = answer["metadata"]["signature_def"]["signature_def"]["serving_default"]
    return list(signature["inputs"]), list(signature["outputs"])


def _row_body(names: list[str], xs: list[np.ndarray], rows: slice = slice(None)) -> dict:
    if len(xs) == 1:
        return {"instances": xs[0][rows].tolist()}
    return {"instances": [dict(zip(names, sample)) for sample in zip(*(x[rows].tolist() for x in xs))]}


def _row_outputs(answer: dict, keys: list[str]) -> list[np.ndarray]:
    predictions = answer["predictions"]
    if len(keys) == 1:
        return [np.array(predictions, dtype=np.float32)]
    return [np.array([item[key] for item in predictions], dtype=np.float32) for key in keys]


def _assert_close(ours: list[np.ndarray], recorded: list[np.ndarray], atol: float, what: str) -> None:
    assert len(ours) == len(recorded), what
    for k, (a, b) in enumerate(zip(ours, recorded)):
        assert a.shape == b.shape, f"{what} output {k}: shape {a.shape}, recorded {b.shape}"
        error = float(np.max(np.abs(a.astype(np.float64) - b))) if b.size else 0.0
        assert error <= atol, f"{what} output {k}: max abs error {error:.3g} > {atol:g}"


# -- predict: the recorded numbers, in both formats ---------------------------------------------------------------

@pytest.mark.parametrize("case", [*CASES, "model"])
def test_predict_rows_give_the_recorded_outputs(server, case):
    record, xs, ys = _case(case)
    inputs, outputs = _names(server, case)
    status, answer, _ = server.request("POST", f"/v1/models/{case}:predict", _row_body(inputs, xs))
    assert status == 200, answer
    _assert_close(_row_outputs(answer, outputs), ys, record["atol"], case)


@pytest.mark.parametrize("case", [*CASES, "model"])
def test_predict_columns_give_the_recorded_outputs(server, case):
    record, xs, ys = _case(case)
    inputs, outputs = _names(server, case)
    body = {"inputs": xs[0].tolist() if len(xs) == 1 else {n: x.tolist() for n, x in zip(inputs, xs)}}
    status, answer, _ = server.request("POST", f"/v1/models/{case}/versions/1:predict", body)
    assert status == 200, answer
    got = answer["outputs"]
    ours = [np.array(got, np.float32)] if len(outputs) == 1 else [np.array(got[k], np.float32) for k in outputs]
    _assert_close(ours, ys, record["atol"], case)


def test_columnar_inputs_may_be_a_list_in_input_order(server):
    record, xs, ys = _case("multi_io_shared_lstm")
    status, answer, _ = server.request("POST", "/v1/models/multi_io_shared_lstm:predict",
                                       {"inputs": [x.tolist() for x in xs], "signature_name": "serving_default"})
    assert status == 200, answer
    keys = _names(server, "multi_io_shared_lstm")[1]
    _assert_close([np.array(answer["outputs"][k], np.float32) for k in keys], ys, record["atol"], "list")


def test_one_input_instances_may_be_objects_by_name(server):
    record, xs, ys = _case("seed_lstm")
    status, answer, _ = server.request("POST", SEED, {"instances": [{"input1": x} for x in xs[0].tolist()]})
    assert status == 200, answer
    _assert_close(_row_outputs(answer, ["x"]), ys, record["atol"], "objects")


def test_floats_are_written_exactly(server):
    _, xs, ys = _case("seed_lstm")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    connection.request("POST", "/v1/models/seed_lstm:predict", json.dumps({"instances": xs[0][:1].tolist()}))
    text = connection.getresponse().read().decode()
    connection.close()
    numbers = np.array(re.findall(r"-?\d[\d.]*(?:e[-+]\d+)?", text), dtype=np.float64)
    assert numbers.size == ys[0][0].size
    np.testing.assert_array_equal(numbers, numbers.astype(np.float32).astype(np.float64))  # each one a float32


def test_a_stateful_model_is_never_merged_and_carries_its_state(server):
    case = TFJS_FIXTURES / "lstm_stateful"
    record = expected(case)
    server.wait_for(re.compile(r"model lstm_stateful: one predict per request \(the model is stateful"), 5)
    for call in record["calls"][:2]:  # call 1 continues from call 0's state, as in TF.js (call 2 resets)
        xs = [np.load(case / f) for f in call["inputs"]]
        status, answer, _ = server.request("POST", "/v1/models/lstm_stateful:predict", {"instances": xs[0].tolist()})
        assert status == 200, answer
        _assert_close(_row_outputs(answer, ["x"]), [np.load(case / call["outputs"][0])], record["atol"], "stateful")


def test_a_model_that_mixes_the_samples_of_a_batch_is_not_merged(server):
    server.wait_for(re.compile(r"model merged_mask_rnn: one predict per request \(a probe batch"), 5)
    server.wait_for(re.compile(r"model seed_lstm: requests merged"), 5)


# -- concurrency: many clients at once, merged, every answer right ------------------------------------------------

def test_many_clients_at_once_all_get_their_own_answers(server):
    cases = {name: _case(name) for name in ("seed_lstm", "multi_io_shared_lstm", "embedding_mask_lstm")}
    names = {name: _names(server, name) for name in cases}

    def client(index: int) -> list[str]:
        failures = []
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        for repeat in range(4):
            name = list(cases)[(index + repeat) % len(cases)]
            record, xs, ys = cases[name]
            n = len(xs[0])
            rows = slice((index + repeat) % n, (index + repeat) % n + 1 + (index % 2) * (n > 2))
            inputs, outputs = names[name]
            status, answer, _ = exchange(connection, "POST", f"/v1/models/{name}:predict", _row_body(inputs, xs, rows))
            if status != 200:
                failures.append(f"{name}: {status} {answer}")
                continue
            try:
                _assert_close(_row_outputs(answer, outputs), [y[rows] for y in ys], record["atol"], name)
            except AssertionError as exc:
                failures.append(str(exc))
        connection.close()
        return failures

    with ThreadPoolExecutor(32) as pool:
        failures = [f for result in pool.map(client, range(32)) for f in result]
    assert not failures, failures[:5]
    merged = [int(m.group(5)) for line in server.lines if (m := LOG_LINE.search(line)) and m.group(5)]
    assert max(merged) > 2, "no request was merged with another"


# -- the other routes ---------------------------------------------------------------------------------------------

def test_model_status(server):
    want = {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                      "status": {"error_code": "OK", "error_message": ""}}]}
    assert server.request("GET", "/v1/models/seed_lstm")[:2] == (200, want)
    assert server.request("GET", "/v1/models/seed_lstm/versions/1")[:2] == (200, want)
    assert server.request("GET", "/v1/models/seed_lstm/versions/2")[:2] == (
        404, {"error": "Could not find version 2 of model seed_lstm"})
    assert server.request("GET", "/v1/models/nope")[:2] == (404, {"error": "Could not find any versions of model nope"})
    assert server.request("GET", "/v1/models")[:2] == (400, {"error": "Missing model name in request."})


def test_metadata_is_the_signature_def(server):
    status, answer, _ = server.request("GET", "/v1/models/multi_io_shared_lstm/metadata")
    assert status == 200
    assert answer["model_spec"] == {"name": "multi_io_shared_lstm", "signature_name": "", "version": "1"}
    signature = answer["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["method_name"] == "tensorflow/serving/predict"
    record = expected(TFJS_FIXTURES / "multi_io_shared_lstm")
    for spec in record["inputs"]:
        info = signature["inputs"][spec["name"]]
        assert info["dtype"] == "DT_FLOAT"
        sizes = ["-1" if d is None else str(d) for d in spec["shape"]]
        assert info["tensor_shape"] == {"dim": [{"size": s, "name": ""} for s in sizes], "unknown_rank": False}
    assert list(signature["outputs"]) == ["head_b", "head_ab"]
    _, answer, _ = server.request("GET", "/v1/models/embedding_mask_lstm/metadata")
    info = answer["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]["input1"]
    assert info["dtype"] == "DT_INT32" and [d["size"] for d in info["tensor_shape"]["dim"]] == ["-1", "6"]
    assert server.request("GET", "/v1/models/nope/metadata")[:2] == (
        404, {"error": "Servable not found for request: Latest(nope)"})


def test_health(server):
    status, answer, _ = server.request("GET", "/healthz")
    assert status == 200 and answer["status"] == "ok" and "seed_lstm" in answer["models"]


def test_every_request_is_logged_in_one_line(server):
    server.request("GET", "/v1/models/seed_lstm")
    server.wait_for(re.compile(r'"GET /v1/models/seed_lstm" 200 \d+B [\d.]+ms$'), 10)


# -- errors -------------------------------------------------------------------------------------------------------

SEED = "/v1/models/seed_lstm:predict"
BAD_BODIES = [
    ("", "JSON Parse error: The document is empty"),
    ('{"instances": [1', "JSON Parse error"),
    ("\xff", "JSON Parse error"),
    ("[1, 2]", "Is not object"),
    ("{}", "Missing 'inputs' or 'instances' key"),
    ('{"instances": [], "inputs": []}', "expecting only one of 'inputs' or 'instances'"),
    ('{"instances": 3}', "Expecting 'instances' to be an list/array"),
    ('{"instances": []}', "No values in 'instances' array"),
    ('{"instances": [[1, 2]]}', "input 'input1': expected shape [-1, 10, 8] (batch first; each instance of "
                                "shape [10, 8]), received [2]"),
    ('{"inputs": [[1, 2]]}', "input 'input1': expected shape [-1, 10, 8] (batch first; the value of shape "
                             "[-1, 10, 8]), received [1, 2]"),
    ('{"instances": [[["a"]]]}', 'JSON Value: "a" Type: String is not of expected type: float'),
    ('{"instances": [[[true]]]}', "JSON Value: true Type: True is not of expected type: float"),
    ('{"instances": [[[1.0, null]]]}', "JSON Value: null Type: Null is not of expected type: float"),
    ('{"inputs": [[[1.0], [1.0, 2.0]]]}', "input 'input1': cannot make a tensor"),
    ('{"instances": [[[1.0]], [[1.0, 2.0]]]}', "Expecting shape [1,1] but got: [1,2]"),
    ('{"instances": [[[1]], {"input1": 1}]}', "Expecting value/list but got object at item 1"),
    ('{"instances": [{"input1": [[1]]}, [[1]]]}', "Expecting object but got list at item 1"),
    ('{"instances": [[[1]]], "signature_name": 3}', "'signature_name' key must be a string value"),
    ('{"instances": [[[1]]], "signature_name": "other"}', 'Serving signature name: "other" not found'),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
def test_bad_predict_bodies_get_400_and_say_why(server, body, message):
    status, answer, _ = server.request("POST", SEED, body.encode("latin-1"))
    assert status == 400 and message in answer["error"], answer


def test_bad_names_and_dtypes_get_400(server):
    multi = "/v1/models/multi_io_shared_lstm:predict"
    for body, message in [
        ({"instances": [[1]]}, "instances is a plain list, but expecting list of objects"),
        ({"instances": [{"seq_a": [[0] * 3] * 6}]}, "keys must be equal to: seq_a,seq_b"),
        ({"inputs": {"seq_a": [[[0] * 3] * 6]}}, "Missing named input: seq_b in 'inputs' object."),
        ({"inputs": {"seq_a": [[[0] * 3] * 6], "seq_b": [[[0] * 3] * 4], "seq_c": 1}},
         "does not have named input: seq_c"),
        ({"inputs": {"seq_a": [[[0] * 3] * 6] * 2, "seq_b": [[[0] * 3] * 4]}}, "the same batch size"),
    ]:
        status, answer, _ = server.request("POST", multi, body)
        assert status == 400 and message in answer["error"], (body, answer)
    status, answer, _ = server.request("POST", "/v1/models/embedding_mask_lstm:predict",
                                       {"instances": [[1, 2, 3, 0, 0, 1.5]]})
    assert status == 400 and "Type: Number is not of expected type: int32" in answer["error"], answer
    status, answer, _ = server.request("POST", SEED, {"instances": [[[0] * 8] * 10] * 17})
    assert (status, answer) == (400, {"error": "Task size 17 is larger than maximum input batch size 16"})
    status, answer, _ = server.request("POST", "/v1/models/seed_lstm:classify", {"instances": [[[0] * 8] * 10]})
    assert status == 400 and "this server answers :predict" in answer["error"]


def test_unknown_models_versions_and_paths_get_404(server):
    body = {"instances": [[[0] * 8] * 10]}
    assert server.request("POST", "/v1/models/nope:predict", body)[:2] == (
        404, {"error": "Servable not found for request: Latest(nope)"})
    assert server.request("POST", "/v1/models/seed_lstm/versions/3:predict", body)[:2] == (
        404, {"error": "Servable not found for request: Specific(seed_lstm, 3)"})
    assert server.request("POST", "/v1/models/seed_lstm/labels/stable:predict", body)[0] == 404
    assert server.request("GET", "/index.html")[0] == 404
    status, answer, _ = server.request("GET", "/v1/models/seed_lstm/extra")
    assert (status, answer) == (400, {"error": "Malformed request: GET /v1/models/seed_lstm/extra"})


def test_wrong_methods_get_405_with_allow(server):
    for method, path, allow in [("GET", SEED, "POST"), ("POST", "/v1/models/seed_lstm", "GET"),
                                ("DELETE", "/v1/models/seed_lstm/metadata", "GET"), ("PUT", "/healthz", "GET")]:
        status, answer, headers = server.request(method, path, b"{}")
        assert status == 405 and headers["allow"] == allow and "not allowed" in answer["error"], (method, path)


def test_bodies_over_the_limit_get_413_and_the_connection_lives_on(server):
    big = b'{"instances": [' + b"0," * (MAX_REQUEST_BYTES // 2) + b"0]}"
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    status, answer, _ = exchange(connection, "POST", SEED, big)
    assert status == 413 and f"over the limit of {MAX_REQUEST_BYTES} bytes" in answer["error"]
    connection.request("POST", SEED, body=iter([big[:600_000], big[600_000:]]), encode_chunked=True,
                       headers={"Transfer-Encoding": "chunked"})  # no Content-Length: counted as it arrives
    response = connection.getresponse()
    assert response.status == 413 and "more than" in json.loads(response.read())["error"]
    connection.close()
    assert server.request("GET", "/v1/models/seed_lstm")[0] == 200


# -- the queue limit and shutdown (servers of their own) ----------------------------------------------------------

def test_a_full_queue_gets_503_and_every_other_request_its_answer():
    server = Server(str(TFJS_FIXTURES / "seed_lstm"), "--max-enqueued-batches", "1")
    try:
        _, xs, ys = _case("seed_lstm")
        rows = np.repeat(xs[0], 100, axis=0)  # 300 samples: each predict takes a while
        body = json.dumps({"instances": rows.tolist()})
        barrier = threading.Barrier(24)

        def client(_: int) -> tuple[int, dict]:
            barrier.wait(30)
            status, answer, _ = server.request("POST", SEED, body)
            return status, answer

        with ThreadPoolExecutor(24) as pool:
            results = list(pool.map(client, range(24)))
        statuses = [status for status, _ in results]
        assert set(statuses) <= {200, 503} and 503 in statuses and 200 in statuses, statuses
        for status, answer in results:
            if status == 503:
                assert answer == {"error": "The batch scheduling queue to which this task was submitted is full"}
            else:
                _assert_close(_row_outputs(answer, ["x"]), [np.repeat(ys[0], 100, axis=0)], 1e-5, "queued")
    finally:
        assert server.stop() == 0


def test_bodies_held_at_once_are_bounded_503_past_the_budget():
    limit = 20_000  # the server holds at most 16 such bodies at once
    server = Server(str(TFJS_FIXTURES / "seed_lstm"), "--max-request-bytes", str(limit))
    try:
        _, xs, ys = _case("seed_lstm")
        body = json.dumps({"instances": xs[0][:1].tolist()}).encode()
        body += b" " * (limit - 1000 - len(body))  # valid JSON, padded
        barrier = threading.Barrier(24)

        def client(_: int) -> tuple[int, dict]:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            connection.putrequest("POST", SEED)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders()
            connection.send(body[:-100])
            barrier.wait(30)  # every body mostly sent before any is complete
            connection.send(body[-100:])
            response = connection.getresponse()
            result = response.status, json.loads(response.read())
            connection.close()
            return result

        with ThreadPoolExecutor(24) as pool:
            results = list(pool.map(client, range(24)))
        statuses = [status for status, _ in results]
        assert set(statuses) == {200, 503}, statuses
        assert statuses.count(200) <= 16
        for status, answer in results:
            if status == 503:
                assert "bytes of request bodies already" in answer["error"]
            else:
                _assert_close(_row_outputs(answer, ["x"]), [ys[0][:1]], 1e-5, "budget")
        assert server.request("POST", SEED, body)[0] == 200  # all released
    finally:
        assert server.stop() == 0


def test_sigterm_finishes_the_requests_in_flight_then_exits_0():
    server = Server(str(TFJS_FIXTURES / "seed_lstm"))
    _, xs, ys = _case("seed_lstm")
    body = json.dumps({"instances": np.repeat(xs[0], 400, axis=0).tolist()})  # 1,200 samples, ~4 MB of JSON
    results = []
    sent = threading.Event()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        connection.putrequest("POST", SEED)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders()
        connection.send(body[:1000].encode())
        sent.set()  # the request is in flight: the server is reading its body
        connection.send(body[1000:].encode())
        response = connection.getresponse()
        results.append((response.status, json.loads(response.read())))

    thread = threading.Thread(target=client)
    thread.start()
    assert sent.wait(30)
    server.terminate()
    thread.join(60)
    assert server.stop() == 0
    assert results and results[0][0] == 200, results
    _assert_close(_row_outputs(results[0][1], ["x"]), [np.repeat(ys[0], 400, axis=0)], 1e-5, "in flight")
    server.wait_for(re.compile(r"INFO stopped$"), 5)


def test_the_command_refuses_bad_arguments_before_serving(capsys):
    from tfjs_interop.cli import main

    seed = str(TFJS_FIXTURES / "seed_lstm")
    assert main(["serve", seed, seed, "--model-name", "x"]) == 2
    assert "--model-name names a single model; 2 paths were given" in capsys.readouterr().err
    assert main(["serve", seed, "--enable-batching", "--max-batch-size", "0"]) == 2
    assert "max_batch_size must be a positive integer, got 0" in capsys.readouterr().err
    assert main(["serve", seed, seed]) == 2
    assert "two models would be served as 'seed_lstm'" in capsys.readouterr().err
    assert main(["serve", seed, seed, "--weights", "model.weights.h5"]) == 2
    assert "--weights replaces the weights of a single model; 2 paths were given" in capsys.readouterr().err
    assert main(["serve", seed, "--header", "no colon"]) == 2
    assert "--header 'no colon': expected 'NAME: VALUE'" in capsys.readouterr().err
    assert main(["serve", seed, "--port", "99999"]) == 2  # was a traceback of bind()'s OverflowError
    assert "port must be an integer from 0 to 65535 (0: any free one), got 99999" in capsys.readouterr().err
    assert main(["serve", seed, "--max-request-bytes", "0"]) == 2  # was taken for the default
    assert "max_request_bytes must be a positive integer, got 0" in capsys.readouterr().err
    assert main(["serve", seed, "--body-timeout", "0"]) == 2
    assert "body_seconds must be a positive number, got 0.0" in capsys.readouterr().err


def test_a_signal_before_uvicorn_takes_the_signals_stops_the_server():
    """Between our handlers and uvicorn's (installed once its loop runs) a SIGTERM was ignored and the server
    served on; now uvicorn's own handler is in place from before ``run``, so it stops right after start-up."""
    import signal

    from tfjs_interop.serving.server import _signals_to

    class Uvicorn:  # what _signals_to uses of uvicorn.Server
        should_exit = False

        def handle_exit(self, sig, frame):
            self.should_exit = True

    server = Uvicorn()
    before = signal.getsignal(signal.SIGTERM)
    with _signals_to(server):
        signal.raise_signal(signal.SIGTERM)
        assert server.should_exit
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_stalled_upload_gets_408_and_frees_its_bytes():
    server = Server(str(TFJS_FIXTURES / "seed_lstm"), "--body-timeout", "1")
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.putrequest("POST", SEED)
        connection.putheader("Content-Length", "1000")
        connection.endheaders()
        connection.send(b'{"instances": [')  # and then nothing
        response = connection.getresponse()
        assert response.status == 408 and "did not arrive within 1 s (15 bytes received)" in json.loads(
            response.read())["error"]
        connection.close()
        _, xs, ys = _case("seed_lstm")
        status, answer, _ = server.request("POST", SEED, {"instances": xs[0].tolist()})
        assert status == 200
        _assert_close(_row_outputs(answer, ["x"]), [ys[0]], 1e-5, "after a stalled one")
    finally:
        assert server.stop() == 0


def test_a_bool_input_is_dt_bool_and_takes_json_booleans():
    """TF Serving reads a DT_BOOL tensor from true and false only; the metadata said DT_FLOAT, and booleans
    were refused while any number was taken as True."""
    from tfjs_interop.serving import rest

    model = tfjs_interop.load(KERAS_FIXTURES / "k2_mha_attention_mask" / "model.keras")
    specs = {spec.name: spec for spec in model.inputs}
    flag = next(spec for spec in model.inputs if spec.dtype == "bool")
    signature = rest.model_metadata(model, "m")["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["inputs"][flag.name]["dtype"] == "DT_BOOL"
    from tfjs_interop.sample_inputs import sample_inputs

    values = sample_inputs(model, seed=0, batch=2)
    columns = dict(zip(specs, values if isinstance(values, list) else [values]))
    body = json.dumps({"inputs": {name: value.tolist() for name, value in columns.items()}}).encode()
    feeds = rest.parse_predict(body, model).feeds
    assert feeds[list(specs).index(flag.name)].dtype == np.bool_
    assert np.array_equal(feeds[list(specs).index(flag.name)], columns[flag.name])
    numbers = {**columns, flag.name: columns[flag.name].astype(int)}
    with pytest.raises(rest.RestError, match="is not of expected type: bool"):
        rest.parse_predict(json.dumps({"inputs": {n: v.tolist() for n, v in numbers.items()}}).encode(), model)


def test_serve_takes_the_model_commands_load_flags(capsys):
    from tfjs_interop.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    help_text = capsys.readouterr().out
    for flag in ("--weights", "--max-bytes", "--timeout", "--deadline", "--cache-dir", "--header"):
        assert flag in help_text


def test_a_model_is_served_from_a_url_under_its_folder_name():
    handler = functools.partial(_QuietFiles, directory=str(TFJS_FIXTURES))
    files = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=files.serve_forever, daemon=True).start()
    try:
        server = Server(f"http://127.0.0.1:{files.server_address[1]}/seed_lstm/model.json")
        try:
            record, xs, ys = _case("seed_lstm")
            status, answer, _ = server.request("POST", SEED, {"inputs": xs[0].tolist()})
            assert status == 200, answer
            _assert_close([np.array(answer["outputs"], np.float32)], ys, record["atol"], "from a URL")
        finally:
            assert server.stop() == 0
    finally:
        files.shutdown()
        files.server_close()


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
