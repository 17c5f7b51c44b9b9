"""The recurrent maths against an independent float64 step-by-step reference, on small hand-made weights.

The references below are written from the equations (FORMAT-NOTES "Recurrent maths"), not from the runtime.
"""

from __future__ import annotations

import numpy as np
import pytest

import tfjs_interop
from tests.support.layers import make
from tests.support.modelfiles import functional, input_layer, layer, write_model

pytestmark = pytest.mark.usefixtures("each_loop")  # every test with each RNN time loop

ATOL = 2e-6
RNG = np.random.default_rng(1234)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _hard_sigmoid(x):
    return np.clip(0.2 * x + 0.5, 0, 1)


def _hard_sigmoid_keras3(x):
    return np.clip(x + 3, 0, 6) / 6


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# The reference applies a recurrent activation to each gate alone: softmax rows are one gate's units. (log_softmax
# gates, whose values are negative, make the cell state grow and amplify float32 rounding past any tolerance here:
# the TF.js fixture td_lstm_softmax_gates pins them.)
REC = {"sigmoid": _sigmoid, "hard_sigmoid": _hard_sigmoid, "tanh": np.tanh, "softmax": _softmax}


def lstm_ref(x, W, U, b, rec, act=np.tanh, h=None, c=None, mask=None, backwards=False):
    batch, steps, _ = x.shape
    units = U.shape[0]
    h = np.zeros((batch, units)) if h is None else h.astype(float)
    c = np.zeros((batch, units)) if c is None else c.astype(float)
    order = range(steps - 1, -1, -1) if backwards else range(steps)
    outputs, prev = [], np.zeros((batch, units))
    for t in order:
        z = x[:, t].astype(float) @ W + h @ U + b
        i, f, g, o = (z[:, k * units:(k + 1) * units] for k in range(4))
        c_new = rec(f) * c + rec(i) * act(g)
        h_new = rec(o) * act(c_new)
        if mask is not None:
            keep = mask[:, t:t + 1]
            c_new, h_new = np.where(keep, c_new, c), np.where(keep, h_new, h)
            out = np.where(keep, h_new, prev)
        else:
            out = h_new
        h, c, prev = h_new, c_new, out
        outputs.append(out)
    return np.stack(outputs, 1), h, c


def gru_ref(x, W, U, b, rec, reset_after, backwards=False):
    batch, steps, _ = x.shape
    u = U.shape[0]
    h = np.zeros((batch, u))
    outputs = []
    for t in (range(steps - 1, -1, -1) if backwards else range(steps)):
        xt = x[:, t].astype(float)
        if reset_after:
            xw = xt @ W + b[0]
            hu = h @ U + b[1]
            z = rec(xw[:, :u] + hu[:, :u])
            r = rec(xw[:, u:2 * u] + hu[:, u:2 * u])
            hh = np.tanh(xw[:, 2 * u:] + r * hu[:, 2 * u:])
        else:
            xw = xt @ W + b
            z = rec(xw[:, :u] + h @ U[:, :u])
            r = rec(xw[:, u:2 * u] + h @ U[:, u:2 * u])
            hh = np.tanh(xw[:, 2 * u:] + (r * h) @ U[:, 2 * u:])
        h = z * h + (1 - z) * hh
        outputs.append(h)
    return np.stack(outputs, 1)


def simple_rnn_ref(x, W, U, b, act):
    h = np.zeros((x.shape[0], U.shape[0]))
    outputs = []
    for t in range(x.shape[1]):
        h = act(x[:, t].astype(float) @ W + h @ U + b)
        outputs.append(h)
    return np.stack(outputs, 1)


def _weights(n_in, units, gates, bias_shape=None):
    W = RNG.uniform(-0.7, 0.7, (n_in, gates * units)).astype(np.float32)
    U = RNG.uniform(-0.7, 0.7, (units, gates * units)).astype(np.float32)
    b = RNG.uniform(-0.7, 0.7, bias_shape or (gates * units,)).astype(np.float32)
    return W, U, b


def _single(tmp_path, class_name, config, weights, shape=(None, 6, 3), keras_version="tfjs-layers 4.22.0"):
    topology = functional([input_layer("x", list(shape)), layer(class_name, "rnn", [["x", 0, 0]], **config)],
                          ["x"], ["rnn"], keras_version)
    names = ["rnn/kernel", "rnn/recurrent_kernel", "rnn/bias"]
    return tfjs_interop.load(write_model(tmp_path, topology, dict(zip(names, weights))))


@pytest.mark.parametrize("rec", ["hard_sigmoid", "sigmoid", "softmax"])
@pytest.mark.parametrize("backwards", [False, True])
def test_lstm_matches_float64_reference(tmp_path, rec, backwards):
    W, U, b = _weights(3, 5, 4)
    x = RNG.normal(size=(4, 6, 3)).astype(np.float32)
    model = _single(tmp_path, "LSTM", {"units": 5, "return_sequences": True, "recurrent_activation": rec,
                                       "go_backwards": backwards}, (W, U, b))
    expected, _, _ = lstm_ref(x, W, U, b, REC[rec], backwards=backwards)
    np.testing.assert_allclose(model.predict(x), expected, atol=ATOL)


def test_keras3_hard_sigmoid_is_relu6_form(tmp_path):
    W, U, b = _weights(3, 4, 4)
    x = RNG.normal(size=(2, 6, 3)).astype(np.float32) * 3
    config = {"units": 4, "return_sequences": True, "recurrent_activation": "hard_sigmoid"}
    keras3 = _single(tmp_path / "k3", "LSTM", config, (W, U, b), keras_version="3.6.0")
    tfjs = _single(tmp_path / "tfjs", "LSTM", config, (W, U, b))
    np.testing.assert_allclose(keras3.predict(x), lstm_ref(x, W, U, b, _hard_sigmoid_keras3)[0], atol=ATOL)
    np.testing.assert_allclose(tfjs.predict(x), lstm_ref(x, W, U, b, _hard_sigmoid)[0], atol=ATOL)
    assert np.abs(keras3.predict(x) - tfjs.predict(x)).max() > 1e-3


def test_tfjs_default_recurrent_activation_is_hard_sigmoid(tmp_path):
    W, U, b = _weights(3, 4, 4)
    x = RNG.normal(size=(2, 6, 3)).astype(np.float32)
    model = _single(tmp_path, "LSTM", {"units": 4, "return_sequences": True}, (W, U, b))
    np.testing.assert_allclose(model.predict(x), lstm_ref(x, W, U, b, _hard_sigmoid)[0], atol=ATOL)


@pytest.mark.parametrize("rec", ["sigmoid", "softmax"])
@pytest.mark.parametrize("reset_after", [False, True])
def test_gru_matches_float64_reference(tmp_path, reset_after, rec):
    W, U, b = _weights(3, 5, 3, (2, 15) if reset_after else None)
    x = RNG.normal(size=(3, 6, 3)).astype(np.float32)
    model = _single(tmp_path, "GRU", {"units": 5, "return_sequences": True, "reset_after": reset_after,
                                      "recurrent_activation": rec}, (W, U, b))
    np.testing.assert_allclose(model.predict(x), gru_ref(x, W, U, b, REC[rec], reset_after), atol=ATOL)


def test_simple_rnn_matches_float64_reference(tmp_path):
    W, U, b = _weights(3, 4, 1)
    x = RNG.normal(size=(3, 6, 3)).astype(np.float32)
    model = _single(tmp_path, "SimpleRNN", {"units": 4, "return_sequences": True, "activation": "relu"},
                    (W, U, b))
    np.testing.assert_allclose(model.predict(x), simple_rnn_ref(x, W, U, b, lambda v: np.maximum(v, 0)),
                               atol=ATOL)


def test_masked_steps_carry_state_and_repeat_output(tmp_path):
    W, U, b = _weights(3, 4, 4)
    x = RNG.normal(size=(3, 6, 3)).astype(np.float32)
    x[0, :2] = 0  # pre-padding
    x[1, 4:] = 0  # post-padding
    topology = functional([input_layer("x", [None, 6, 3]), layer("Masking", "mask", [["x", 0, 0]], mask_value=0),
                           layer("LSTM", "rnn", [["mask", 0, 0]], units=4, return_sequences=True,
                                 return_state=True, recurrent_activation="sigmoid")],
                          ["x"], [["rnn", 0, 0], ["rnn", 0, 1], ["rnn", 0, 2]])
    model = tfjs_interop.load(write_model(tmp_path, topology, {"rnn/kernel": W, "rnn/recurrent_kernel": U,
                                                               "rnn/bias": b}))
    seq, h, c = model.predict(x)
    mask = np.any(x != 0, axis=-1)
    ref_seq, ref_h, ref_c = lstm_ref(x, W, U, b, _sigmoid, mask=mask)
    np.testing.assert_allclose(seq, ref_seq, atol=ATOL)
    np.testing.assert_allclose(h, ref_h, atol=ATOL)
    np.testing.assert_allclose(c, ref_c, atol=ATOL)
    assert np.all(seq[0, :2] == 0) and np.all(seq[1, 4:] == seq[1, 3])


def test_initial_state_from_other_tensors(tmp_path):
    """Keras 2.2 / TF.js style: initial states are extra inbound tensors of the RNN's call."""
    W, U, b = _weights(3, 4, 4)
    x = RNG.normal(size=(2, 6, 3)).astype(np.float32)
    h0 = RNG.normal(size=(2, 4)).astype(np.float32)
    c0 = RNG.normal(size=(2, 4)).astype(np.float32)
    topology = functional([input_layer("x", [None, 6, 3]), input_layer("h0", [None, 4]),
                           input_layer("c0", [None, 4]),
                           layer("LSTM", "rnn", [["x", 0, 0], ["h0", 0, 0], ["c0", 0, 0]], units=4,
                                 recurrent_activation="sigmoid")],
                          ["x", "h0", "c0"], ["rnn"])
    model = tfjs_interop.load(write_model(tmp_path, topology, {"rnn/kernel": W, "rnn/recurrent_kernel": U,
                                                               "rnn/bias": b}))
    _, h, _ = lstm_ref(x, W, U, b, _sigmoid, h=h0, c=c0)
    np.testing.assert_allclose(model.predict([x, h0, c0]), h, atol=ATOL)


def test_stateful_layer_carries_state_until_reset(tmp_path):
    W, U, b = _weights(3, 4, 4)
    model = _single(tmp_path, "LSTM", {"units": 4, "stateful": True, "recurrent_activation": "sigmoid"},
                    (W, U, b), shape=(2, 6, 3))
    x1, x2 = (RNG.normal(size=(2, 6, 3)).astype(np.float32) for _ in range(2))
    _, h1, c1 = lstm_ref(x1, W, U, b, _sigmoid)
    _, h2, _ = lstm_ref(x2, W, U, b, _sigmoid, h=h1, c=c1)
    np.testing.assert_allclose(model.predict(x1), h1, atol=ATOL)
    np.testing.assert_allclose(model.predict(x2), h2, atol=ATOL)
    model.reset_states()
    np.testing.assert_allclose(model.predict(x2), lstm_ref(x2, W, U, b, _sigmoid)[1], atol=ATOL)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_merges_forward_and_reversed_backward(tmp_path, merge_mode):
    Wf, Uf, bf = _weights(3, 4, 4)
    Wb, Ub, bb = _weights(3, 4, 4)
    x = RNG.normal(size=(2, 6, 3)).astype(np.float32)
    inner = {"class_name": "LSTM", "config": {"name": "lstm", "units": 4, "return_sequences": True,
                                              "recurrent_activation": "sigmoid"}}
    topology = functional([input_layer("x", [None, 6, 3]),
                           layer("Bidirectional", "bi", [["x", 0, 0]], layer=inner, merge_mode=merge_mode)],
                          ["x"], [["bi", 0, 0]] + ([["bi", 0, 1]] if merge_mode is None else []))
    weights = {"bi/forward_lstm/kernel": Wf, "bi/forward_lstm/recurrent_kernel": Uf, "bi/forward_lstm/bias": bf,
               "bi/backward_lstm/kernel": Wb, "bi/backward_lstm/recurrent_kernel": Ub, "bi/backward_lstm/bias": bb}
    model = tfjs_interop.load(write_model(tmp_path, topology, weights))
    forward = lstm_ref(x, Wf, Uf, bf, _sigmoid)[0]
    backward = lstm_ref(x, Wb, Ub, bb, _sigmoid, backwards=True)[0][:, ::-1]
    expected = {"concat": np.concatenate([forward, backward], -1), "sum": forward + backward,
                "mul": forward * backward, "ave": (forward + backward) / 2, None: [forward, backward]}[merge_mode]
    result = model.predict(x)
    for got, want in zip(result if merge_mode is None else [result], expected if merge_mode is None else [expected]):
        np.testing.assert_allclose(got, want, atol=ATOL)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("masked", [False, True])
def test_bidirectional_concat_is_the_bits_of_its_two_directions(kind, masked):
    """Each direction writes its half of the concatenated result (the backward one through a reversed view):
    the very bits of the two layers' own calls, concatenated."""
    gates = 4 if kind == "LSTM" else 3
    inner = {"class_name": kind, "config": {"units": 5, "return_sequences": True, "recurrent_activation": "sigmoid"}}
    weights = [RNG.normal(size=shape).astype(np.float32) for shape in [(3, 5 * gates), (5, 5 * gates),
                                                                         (5 * gates,)] * 2]
    bi = make("Bidirectional", {"layer": inner, "merge_mode": "concat"}, (None, 7, 3), weights)
    x = RNG.normal(size=(6, 7, 3)).astype(np.float32)
    mask = np.ones((6, 7), bool)
    mask[1, :2] = mask[2, 5:] = mask[3, 3:] = False  # pre- and post-padding
    mask = mask if masked else None
    expected = np.concatenate([bi.forward.call(x, mask=mask), bi.backward.call(x, mask=mask)[:, ::-1]], axis=-1)
    np.testing.assert_array_equal(bi.call(x, mask=mask), expected)


def test_stacked_cells_feed_each_other(tmp_path):
    W1, U1, b1 = _weights(3, 4, 4)
    W2, U2, b2 = _weights(4, 5, 3)
    x = RNG.normal(size=(2, 6, 3)).astype(np.float32)
    cells = {"class_name": "StackedRNNCells", "config": {"cells": [
        {"class_name": "LSTMCell", "config": {"units": 4, "recurrent_activation": "sigmoid"}},
        {"class_name": "GRUCell", "config": {"units": 5, "recurrent_activation": "sigmoid"}}]}}
    topology = functional([input_layer("x", [None, 6, 3]),
                           layer("RNN", "rnn", [["x", 0, 0]], cell=cells, return_sequences=True)], ["x"], ["rnn"])
    weights = {"rnn/lstm_cell/kernel": W1, "rnn/lstm_cell/recurrent_kernel": U1, "rnn/lstm_cell/bias": b1,
               "rnn/gru_cell/kernel": W2, "rnn/gru_cell/recurrent_kernel": U2, "rnn/gru_cell/bias": b2}
    model = tfjs_interop.load(write_model(tmp_path, topology, weights))
    first = lstm_ref(x, W1, U1, b1, _sigmoid)[0]
    np.testing.assert_allclose(model.predict(x), gru_ref(first, W2, U2, b2, _sigmoid, False), atol=ATOL)
