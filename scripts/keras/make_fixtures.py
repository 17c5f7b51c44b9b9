"""Build Keras models with the real Keras and record what Keras computes: the Keras fixtures.

    python scripts/keras/make_fixtures.py --keras 3 [--out fixtures/keras] [--only CASE ...]
    python scripts/keras/make_fixtures.py --keras 2

``--keras 3`` uses TensorFlow's Keras 3 (``import keras`` with the TensorFlow backend) and writes ``model.keras``
(zip), ``model.h5`` (Keras 3's legacy H5) and, for weights-only cases, ``model_config.json`` (``model.to_json()``)
with ``model.weights.h5``. ``--keras 2`` uses ``tf_keras`` and writes ``model.h5`` and ``model.keras`` (tf_keras's
own zip format), or ``model_config.json`` with ``weights.h5``. Every case folder gets inputs
``call0_input{i}.npy``, the outputs Keras computes after reloading each written file ``call0_output{j}.npy``
(checked equal across the files), and ``expected.json``.
Weights are drawn from a seeded generator (biases non-zero), so the numbers are reproducible; the files are not
byte-for-byte (Keras stamps dates).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import zlib
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

ATOL = 1e-5
CASES = {}


def case(*generations, description, refused=None, derive=None):
    """Register a builder ``(keras, rng) -> (model, inputs)`` for the given Keras generations.

    ``derive(folder, generation) -> {file: note}``, when given, writes more files from the ones Keras wrote, as
    other releases or platforms write them (``derived`` in expected.json says how); Keras's outputs are those of
    the files Keras wrote.
    """
    def register(build):
        CASES[build.__name__] = (build, generations, description, refused, derive)
        return build
    return register


# --- inputs --------------------------------------------------------------------------------------------------------

def floats(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def tokens(rng, batch, steps, vocab):
    """Token ids with padding: pre-padded, post-padded, full and empty rows."""
    x = rng.integers(1, vocab, size=(batch, steps)).astype(np.int32)
    for row in range(batch):
        pad = rng.integers(1, steps)
        if row % 4 == 0:
            x[row, :pad] = 0
        elif row % 4 == 1:
            x[row, steps - pad:] = 0
        elif row % 4 == 3:
            x[row, 1::3] = 0
    x[-1] = 0 if batch > 4 else x[-1]
    return x


def padded(rng, batch, steps, features, scale=1.0):
    """Float sequences whose padded steps are all-zero vectors (for Masking): pre, post and inner padding."""
    x = floats(rng, batch, steps, features, scale=scale)
    for row in range(batch):
        pad = rng.integers(1, steps)
        if row % 3 == 0:
            x[row, :pad] = 0
        elif row % 3 == 1:
            x[row, steps - pad:] = 0
        else:
            x[row, 2::4] = 0
    return x


# --- the cases -----------------------------------------------------------------------------------------------------

@case(2, 3, description="LSTM(16, return_sequences, dropout) -> Dense(4, tanh); inputs of varied scale")
def lstm_seq_dense(keras, rng):
    L = keras.layers
    x = keras.Input((10, 8), name="series")
    y = L.LSTM(16, return_sequences=True, dropout=0.2, recurrent_dropout=0.1, name="lstm")(x)
    y = L.Dense(4, activation="tanh", name="head")(y)
    return keras.Model(x, y, name="lstm_seq_dense"), [floats(rng, 5, 10, 8, scale=1.5)]


@case(2, 3, description="hard_sigmoid as LSTM recurrent and output activation and in a Dense: the formula changed "
                        "between Keras 2 (clip(0.2x+0.5)) and Keras 3 (relu6(x+3)/6); inputs scaled to reach both")
def lstm_hard_sigmoid(keras, rng):
    L = keras.layers
    x = keras.Input((9, 5))
    y = L.LSTM(12, activation="hard_sigmoid", recurrent_activation="hard_sigmoid", return_sequences=True)(x)
    y = L.Dense(6, activation="hard_sigmoid")(y)
    return keras.Model(x, y), [floats(rng, 4, 9, 5, scale=4.0)]


@case(2, 3, description="LSTM go_backwards, no bias, unit_forget_bias; stacked LSTM returning the last output")
def lstm_backwards_stacked(keras, rng):
    L = keras.layers
    model = keras.Sequential([
        keras.Input((7, 6)),
        L.LSTM(9, go_backwards=True, return_sequences=True, use_bias=False),
        L.LSTM(7, unit_forget_bias=False),
        L.Dense(3, activation="softmax"),
    ], name="stacked")
    return model, [floats(rng, 3, 7, 6)]


@case(2, 3, description="GRU reset_after=True: the cuDNN-compatible GRU with a (2, 3u) bias")
def gru_reset_after(keras, rng):
    L = keras.layers
    x = keras.Input((8, 5))
    y = L.GRU(12, reset_after=True, return_sequences=True)(x)
    y = L.GRU(6, reset_after=True, go_backwards=True)(y)
    return keras.Model(x, y), [floats(rng, 4, 8, 5, scale=1.5)]


@case(2, 3, description="GRU reset_after=False (TF.js's GRU), with hard_sigmoid recurrent activation")
def gru_reset_before(keras, rng):
    L = keras.layers
    x = keras.Input((8, 5))
    y = L.GRU(10, reset_after=False, recurrent_activation="hard_sigmoid", return_sequences=True)(x)
    return keras.Model(x, y), [floats(rng, 4, 8, 5, scale=2.0)]


@case(2, 3, description="SimpleRNN relu (sequences) -> SimpleRNN tanh (last)")
def simple_rnn(keras, rng):
    L = keras.layers
    x = keras.Input((6, 4))
    y = L.SimpleRNN(10, activation="relu", return_sequences=True)(x)
    y = L.SimpleRNN(6)(y)
    return keras.Model(x, y), [floats(rng, 5, 6, 4)]


@case(2, 3, description="Embedding(mask_zero) -> Bidirectional(LSTM, return_sequences, concat) -> "
                        "TimeDistributed(Dense); pre-, post- and inner padding: masked steps of a Bidirectional")
def bidi_lstm_embedding_mask(keras, rng):
    L = keras.layers
    x = keras.Input((12,), dtype="int32", name="tokens")
    y = L.Embedding(40, 8, mask_zero=True)(x)
    y = L.Bidirectional(L.LSTM(8, return_sequences=True))(y)
    y = L.TimeDistributed(L.Dense(3))(y)
    return keras.Model(x, y), [tokens(rng, 6, 12, 40)]


@case(2, 3, description="Masking -> Bidirectional(GRU reset_after, merge sum) last output; padded float inputs")
def bidi_gru_masking(keras, rng):
    L = keras.layers
    x = keras.Input((10, 4))
    y = L.Masking(0.0)(x)
    y = L.Bidirectional(L.GRU(6), merge_mode="sum")(y)
    y = L.Dense(2)(y)
    return keras.Model(x, y), [padded(rng, 6, 10, 4)]


@case(2, 3, description="Masking -> LSTM(return_sequences) -> GRU(reset_after=False) -> SimpleRNN: masks through a "
                        "stack, pre-, post- and inner padding")
def masking_recurrent_stack(keras, rng):
    L = keras.layers
    x = keras.Input((10, 5))
    y = L.Masking(0.0)(x)
    y = L.LSTM(8, return_sequences=True)(y)
    y = L.GRU(6, return_sequences=True, reset_after=False)(y)
    y = L.SimpleRNN(4)(y)
    return keras.Model(x, y), [padded(rng, 6, 10, 5)]


@case(2, 3, description="Masking -> TimeDistributed(Dense) -> LSTM(return_sequences) -> TimeDistributed(Dense): "
                        "the mask passes through TimeDistributed")
def timedistributed_masked(keras, rng):
    L = keras.layers
    x = keras.Input((8, 3))
    y = L.Masking(0.0)(x)
    y = L.TimeDistributed(L.Dense(5, activation="relu"))(y)
    y = L.LSTM(6, return_sequences=True)(y)
    y = L.TimeDistributed(L.Dense(2))(y)
    return keras.Model(x, y), [padded(rng, 6, 8, 3)]


@case(2, 3, description="Functional encoder-decoder: LSTM(return_state) feeds the decoder LSTM's initial_state; two "
                        "inputs, two outputs (decoder softmax and encoder h)")
def encoder_decoder(keras, rng):
    L = keras.layers
    enc_in = keras.Input((8, 5), name="encoder_in")
    dec_in = keras.Input((6, 4), name="decoder_in")
    _, h, c = L.LSTM(10, return_state=True, name="encoder")(enc_in)
    y = L.LSTM(10, return_sequences=True, name="decoder")(dec_in, initial_state=[h, c])
    y = L.Dense(3, activation="softmax", name="probs")(y)
    return keras.Model([enc_in, dec_in], [y, h]), [floats(rng, 4, 8, 5), floats(rng, 4, 6, 4)]


@case(2, 3, description="Embedding(mask_zero) encoder with GRU return_state feeding a masked GRU decoder's "
                        "initial_state")
def masked_encoder_decoder(keras, rng):
    L = keras.layers
    enc_in = keras.Input((9,), dtype="int32")
    dec_in = keras.Input((7,), dtype="int32")
    embed = L.Embedding(30, 6, mask_zero=True)
    _, h = L.GRU(8, return_state=True)(embed(enc_in))
    y = L.GRU(8, return_sequences=True)(embed(dec_in), initial_state=h)
    y = L.Dense(30)(y)
    return keras.Model([enc_in, dec_in], y), [tokens(rng, 6, 9, 30), tokens(rng, 6, 7, 30)]


@case(2, 3, description="Conv1D (causal, dilated; same, elu) + BatchNormalization + Max/AveragePooling1D front end "
                        "-> LSTM -> GlobalMaxPooling1D and GlobalAveragePooling1D heads")
def conv_front_end(keras, rng):
    L = keras.layers
    x = keras.Input((24, 3))
    y = L.Conv1D(8, 3, padding="causal", dilation_rate=2)(x)
    y = L.BatchNormalization()(y)
    y = L.Activation("relu")(y)
    y = L.MaxPooling1D(2)(y)
    y = L.Conv1D(6, 3, padding="same", activation="elu")(y)
    y = L.AveragePooling1D(2, padding="same")(y)
    y = L.LSTM(8, return_sequences=True)(y)
    a = L.GlobalMaxPooling1D()(y)
    b = L.GlobalAveragePooling1D()(y)
    y = L.Concatenate()([a, b])
    y = L.Dense(2, activation="softmax")(y)
    return keras.Model(x, y), [floats(rng, 4, 24, 3)]


@case(2, 3, description="Two inputs, two outputs: a shared LSTM, Concatenate, Add, Multiply, Subtract, ELU(alpha), "
                        "Softmax on axis 1, LayerNormalization")
def multi_io_merges(keras, rng):
    L = keras.layers
    a = keras.Input((6, 4), name="a")
    b = keras.Input((6, 4), name="b")
    shared = L.LSTM(5, return_sequences=True, name="shared")
    sa, sb = shared(a), shared(b)
    joined = L.Concatenate(name="joined")([sa, sb])
    diff = L.Subtract(name="diff")([sa, sb])
    mixed = L.Add()([L.Multiply()([sa, sb]), diff])
    mixed = L.ELU(alpha=0.5)(mixed)
    mixed = L.Softmax(axis=1)(mixed)
    out1 = L.Dense(3, name="out1")(L.LayerNormalization()(joined))
    out2 = L.LSTM(4, name="out2")(mixed)
    return keras.Model([a, b], [out1, out2]), [floats(rng, 3, 6, 4), floats(rng, 3, 6, 4)]


@case(2, 3, description="RNN over stacked cells (LSTMCell, GRUCell, SimpleRNNCell) returning sequences and states")
def rnn_stacked_cells(keras, rng):
    L = keras.layers
    x = keras.Input((7, 4))
    cells = [L.LSTMCell(8), L.GRUCell(6), L.SimpleRNNCell(5)]
    out = L.RNN(cells, return_sequences=True, return_state=True)(x)
    try:  # the first cell's [h, c] as one nested output, which the file lists as a nested list
        model = keras.Model(x, out[:2])
    except ValueError:  # Keras 3.3 takes flat outputs only
        model = keras.Model(x, [out[0], *out[1]])
    return model, [floats(rng, 3, 7, 4)]


@case(2, 3, description="A Sequential model nested in a functional one, behind Masking: nested models and masks")
def nested_sequential_masked(keras, rng):
    L = keras.layers
    inner = keras.Sequential([keras.Input((8, 4)), L.LSTM(6, return_sequences=True), L.Dense(3)], name="inner")
    x = keras.Input((8, 4))
    y = inner(L.Masking(0.0)(x))
    y = L.GlobalAveragePooling1D()(y)
    return keras.Model(x, y), [padded(rng, 6, 8, 4)]


@case(2, 3, description="250 layers with long names before an LSTM: the H5 layer_names attribute is split into "
                        "chunks (layer_names0, layer_names1, ...)")
def chunked_layer_names(keras, rng):
    L = keras.layers
    x = keras.Input((5, 3))
    y = x
    for i in range(250):
        y = L.Activation("linear", name=f"identity_{i:03d}_" + "x" * 280)(y)
    y = L.LSTM(4, name="lstm_after_long_names")(y)
    return keras.Model(x, y), [floats(rng, 2, 5, 3)]


@case(2, 3, description="Weights-only: the topology as model.to_json() beside save_weights() output")
def weights_only(keras, rng):
    L = keras.layers
    x = keras.Input((6, 5))
    y = L.Bidirectional(L.LSTM(7, return_sequences=True))(x)
    y = L.GRU(5)(y)
    return keras.Model(x, y), [floats(rng, 3, 6, 5)]


@case(2, 3, description="Embedding(mask_zero) -> Bidirectional(LSTM, return_sequences) as the output, with a fixed "
                        "batch size of 4 in the input shape: Keras zeros the masked steps, TF.js does not (issue 11)")
def bidi_mask_fixed_batch(keras, rng):
    L = keras.layers
    x = keras.Input((9,), batch_size=4, dtype="int32", name="ids")
    y = L.Embedding(20, 5, mask_zero=True)(x)
    y = L.Bidirectional(L.LSTM(6, return_sequences=True))(y)
    return keras.Model(x, y), [tokens(rng, 4, 9, 20)]


@case(2, 3, description="Embedding(mask_zero) encoder GRU(return_state) -> masked decoder GRU(initial_state), batch "
                        "size fixed to 2: at pre-padded decoder steps Keras 2 outputs zeros, TF.js the initial state "
                        "(issue 11: probes must pre-pad a fixed batch of 2)")
def masked_seq2seq_fixed_batch(keras, rng):
    L = keras.layers
    enc_in = keras.Input((6,), batch_size=2, dtype="int32", name="enc_ids")
    dec_in = keras.Input((5,), batch_size=2, dtype="int32", name="dec_ids")
    embed = L.Embedding(15, 4, mask_zero=True)
    _, h = L.GRU(5, return_state=True, reset_after=False)(embed(enc_in))
    y = L.GRU(5, return_sequences=True, reset_after=False)(embed(dec_in), initial_state=h)
    enc, dec = tokens(rng, 2, 6, 15), tokens(rng, 2, 5, 15)
    dec[0, :2] = 0  # pre-padded
    dec[1, 3:] = 0  # post-padded
    return keras.Model([enc_in, dec_in], y), [enc, dec]


# --- the Keras-vs-TF.js engine differences of the README, for the audit of save_tfjs's check (issue 11) ------------

@case(2, 3, description="Audit: Embedding(mask_zero) -> LSTM -> RepeatVector -> LSTM(seq) -> TimeDistributed(Dense), "
                        "batch fixed to 1: TF.js runs the decoder with the encoder's stale mask")
def audit_stale_mask(keras, rng):
    L = keras.layers
    x = keras.Input((7,), batch_size=1, dtype="int32")
    y = L.LSTM(4)(L.Embedding(12, 3, mask_zero=True)(x))
    y = L.LSTM(3, return_sequences=True)(L.RepeatVector(7)(y))
    y = L.TimeDistributed(L.Dense(2))(y)
    ids = tokens(rng, 1, 7, 12)
    ids[0, 5:] = 0
    return keras.Model(x, y), [ids]


@case(2, 3, description="Audit: Embedding(mask_zero) -> LSTM(seq) -> GlobalAveragePooling1D, batch fixed to 2: TF.js "
                        "averages the padded steps too")
def audit_masked_average(keras, rng):
    L = keras.layers
    x = keras.Input((6,), batch_size=2, dtype="int32")
    y = L.LSTM(4, return_sequences=True)(L.Embedding(12, 3, mask_zero=True)(x))
    y = L.GlobalAveragePooling1D()(y)
    ids = tokens(rng, 2, 6, 12)
    ids[1, 4:] = 0
    return keras.Model(x, y), [ids]


@case(2, 3, description="Audit: RNN([LSTMCell, SimpleRNNCell], return_state) returning every state, batch fixed to 1: "
                        "TF.js lists stacked cells' states last cell first")
def audit_stacked_states(keras, rng):
    L = keras.layers
    x = keras.Input((5, 3), batch_size=1)
    out = L.RNN([L.LSTMCell(4), L.SimpleRNNCell(3)], return_state=True)(x)
    flat = [out[0]]
    for state in out[1:]:
        flat += list(state) if isinstance(state, (list, tuple)) else [state]
    return keras.Model(x, flat), [floats(rng, 1, 5, 3)]


@case(2, 3, description="Audit: stateful LSTM(seq, return_state) whose sequence and state are both outputs, batch 2: "
                        "TF.js runs it once per output used")
def audit_stateful_both_used(keras, rng):
    L = keras.layers
    x = keras.Input((4, 3), batch_size=2)
    seq, h, _ = L.LSTM(3, stateful=True, return_sequences=True, return_state=True)(x)
    return keras.Model(x, [seq, h]), [floats(rng, 2, 4, 3)]


@case(2, 3, description="Audit: BatchNormalization(axis=1) on (time, features) -> LSTM, batch fixed to 2: TF.js applies"
                        " the parameters by flat position off the last axis")
def audit_batch_norm_axis1(keras, rng):
    L = keras.layers
    x = keras.Input((4, 3), batch_size=2)
    y = L.BatchNormalization(axis=1)(x)
    y = L.LSTM(3)(y)
    return keras.Model(x, y), [floats(rng, 2, 4, 3)]


@case(2, 3, description="Audit: Add([unmasked, masked]) -> LSTM(seq), batch fixed to 1: TF.js passes on only the first "
                        "input's mask")
def audit_merge_masks(keras, rng):
    L = keras.layers
    a = keras.Input((6, 3), batch_size=1)
    b = keras.Input((6, 3), batch_size=1)
    y = L.Add()([L.Dense(3)(a), L.Masking(0.0)(b)])
    y = L.LSTM(3, return_sequences=True)(y)
    xb = floats(rng, 1, 6, 3)
    xb[0, :2] = 0
    return keras.Model([a, b], y), [floats(rng, 1, 6, 3), xb]


@case(2, 3, description="Encoder LSTM(return_sequences=False, return_state=True) whose output feeds a Dense and whose "
                        "states feed the decoder's initial_state: TF.js 4.22 cannot run that form (issue 11)")
def encoder_states_used_twice(keras, rng):
    L = keras.layers
    enc_in = keras.Input((7, 4), name="enc_in")
    dec_in = keras.Input((5, 3), name="dec_in")
    out, h, c = L.LSTM(6, return_state=True, name="encoder")(enc_in)
    summary = L.Dense(2, name="summary")(out)
    y = L.LSTM(6, return_sequences=True, name="decoder")(dec_in, initial_state=[h, c])
    y = L.Dense(3, name="probs")(y)
    return keras.Model([enc_in, dec_in], [y, summary]), [floats(rng, 4, 7, 4), floats(rng, 4, 5, 3)]


@case(2, 3, description="TimeDistributed over a nested Sequential [Dense(4, tanh), Dense(3)] -> LSTM (issue 11)")
def td_nested_sequential(keras, rng):
    L = keras.layers
    inner = keras.Sequential([keras.Input((6,)), L.Dense(4, activation="tanh"), L.Dense(3)], name="per_step")
    x = keras.Input((5, 6))
    y = L.TimeDistributed(inner)(x)
    y = L.LSTM(2, return_sequences=True)(y)
    return keras.Model(x, y), [floats(rng, 3, 5, 6)]


@case(3, description="Layer names TF.js refuses as tensor names ('enc>lstm', '_out', 'a b'), legal in Keras 3 "
                     "(issue 11)")
def names_tfjs_refuses(keras, rng):
    L = keras.layers
    x = keras.Input((6, 3), name="in:put")
    y = L.LSTM(5, return_sequences=True, name="enc>lstm")(x)
    y = L.Dense(4, name="a b")(y)
    y = L.Dense(2, name="_out")(y)
    return keras.Model(x, y), [floats(rng, 3, 6, 3)]


def _rewrite_h5_config(source, target, rewrite):
    """Copy an H5 model file with its model_config (and keras_version) attributes passed through ``rewrite``."""
    import h5py

    shutil.copyfile(source, target)
    with h5py.File(target, "r+") as f:
        config, version = rewrite(json.loads(f.attrs["model_config"]), f.attrs.get("keras_version"))
        f.attrs["model_config"] = json.dumps(config)
        if version is not None:
            f.attrs["keras_version"] = version


def _rename_classes(value, names):
    if isinstance(value, dict):
        return {k: names.get(v, v) if k == "class_name" else _rename_classes(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename_classes(v, names) for v in value]
    return value


def derive_old_class_names(folder, generation):
    """model_tf2_pre.h5: the class names tf.keras 1.13 / TF 2.0 pre-releases wrote (tfjs issue 1255)."""
    names = {"BatchNormalization": "BatchNormalizationV1", "LSTM": "UnifiedLSTM", "GRU": "UnifiedGRU"}
    _rewrite_h5_config(folder / "model.h5", folder / "model_tf2_pre.h5",
                       lambda config, version: (_rename_classes(config, names), None))
    keras1 = {"Conv1D": "Convolution1D"}
    _rewrite_h5_config(folder / "model.h5", folder / "model_keras1.h5",
                       lambda config, version: (_rename_classes(config, keras1), "1.2.2"))
    return {"model_tf2_pre.h5": "model.h5 with class names BatchNormalizationV1, UnifiedLSTM, UnifiedGRU",
            "model_keras1.h5": "model.h5 with keras_version 1.2.2 and Conv1D named Convolution1D (refused)"}


@case(2, description="Conv1D -> BatchNormalization -> LSTM -> GRU(reset_after=False): with the class names older "
                     "releases wrote (BatchNormalizationV1, UnifiedLSTM, UnifiedGRU) and as a Keras 1 file (issue 11)",
      derive=derive_old_class_names)
def old_class_names(keras, rng):
    L = keras.layers
    x = keras.Input((8, 3))
    y = L.Conv1D(4, 3, padding="same")(x)
    y = L.BatchNormalization()(y)
    y = L.LSTM(5, return_sequences=True)(y)
    y = L.GRU(3, reset_after=False)(y)
    return keras.Model(x, y), [floats(rng, 3, 8, 3)]


def derive_windows_archive(folder, generation):
    """model_windows.keras: model.keras with the weight groups named as Keras 3 on Windows named them
    (``layers\\lstm\\cell\\vars``: os.path.join'd, so one group name with backslashes per object)."""
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(folder / "model.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    source = h5py.File(io.BytesIO(members["model.weights.h5"]), "r")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as target:
        def copy(name, item):
            if isinstance(item, h5py.Dataset):
                group, _, leaf = name.rpartition("/")
                holder = target.require_group(group.replace("/", "\\")) if group else target
                holder[leaf] = item[()]
            elif isinstance(item, h5py.Group) and item.attrs:
                holder = target.require_group(name.replace("/", "\\"))
                holder.attrs.update(dict(item.attrs))
        source.visititems(copy)
    source.close()
    members["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(folder / "model_windows.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return {"model_windows.keras": "model.keras with backslash-joined weight group names, as saved on Windows"}


@case(3, description="Bidirectional(LSTM) -> TimeDistributed(Dense), also as a .keras archive saved on Windows "
                     "(weight groups named layers\\bidirectional\\forward_layer\\cell\\vars; issue 11)",
      derive=derive_windows_archive)
def windows_archive(keras, rng):
    L = keras.layers
    x = keras.Input((6, 3))
    y = L.Bidirectional(L.LSTM(4, return_sequences=True))(x)
    y = L.TimeDistributed(L.Dense(2))(y)
    return keras.Model(x, y), [floats(rng, 3, 6, 3)]


@case(2, 3, description="A Lambda layer: marshalled Python code that must never be run", refused="Lambda")
def lambda_layer(keras, rng):
    L = keras.layers
    x = keras.Input((4, 3))
    y = L.Lambda(lambda t: t * 2.0)(x)
    y = L.LSTM(3)(y)
    return keras.Model(x, y), [floats(rng, 2, 4, 3)]


# --- building, saving, recording -----------------------------------------------------------------------------------

def fill_weights(model, rng):
    """Seeded uniform weights; biases non-zero; BatchNormalization variances positive."""
    values = []
    for w in model.weights:
        name = w.path if hasattr(w, "path") else w.name
        if "variance" in name:
            values.append(rng.uniform(0.5, 1.5, w.shape).astype(np.float32))
        elif "embeddings" in name:
            values.append(rng.uniform(-1.0, 1.0, w.shape).astype(np.float32))
        else:
            values.append(rng.uniform(-0.6, 0.6, w.shape).astype(np.float32))
    model.set_weights(values)


def save_files(keras, generation, model, folder, name):
    """Write the case's files; return {file: how to load it} for the reload check."""
    files = {}
    if name == "weights_only":
        (folder / "model_config.json").write_text(model.to_json())
        weights = "model.weights.h5" if generation == 3 else "weights.h5"
        model.save_weights(str(folder / weights))
        files[weights] = "weights"
        return files
    model.save(str(folder / "model.h5"))
    files["model.h5"] = "model"
    model.save(str(folder / "model.keras"))  # tf_keras writes the zip format too, in its own dialect
    files["model.keras"] = "model"
    return files


def reload(keras, folder, file, kind, custom_objects):
    if kind == "weights":
        model = keras.models.model_from_json((folder / "model_config.json").read_text())
        model.load_weights(str(folder / file))
        return model
    kwargs = {"safe_mode": False} if file.endswith(".keras") else {}
    return keras.models.load_model(str(folder / file), compile=False, custom_objects=custom_objects, **kwargs)


def predict(model, inputs):
    """Keras's outputs for ``inputs``, flattened in model output order (``model.outputs`` is flat too)."""
    import tensorflow as tf

    outputs = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    return [np.asarray(o, dtype=np.float32) for o in tf.nest.flatten(outputs)]


def make_case(keras, versions, generation, name, out_root, seed=0):
    build, _, description, refused, derive = CASES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()) + seed)
    model, inputs = build(keras, rng)
    fill_weights(model, rng)
    folder = out_root / f"k{generation}_{name}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    files = save_files(keras, generation, model, folder, name)
    record = {"case": folder.name, "description": description, **versions, "atol": ATOL, "files": files,
              "inputs": [{"name": t.name.split(":")[0], "dtype": str(getattr(t.dtype, "name", t.dtype)),
                          "shape": list(t.shape)} for t in model.inputs]}
    if derive is not None:
        record["derived"] = derive(folder, generation)
    if refused:
        record["refused"] = refused
    else:
        for i, x in enumerate(inputs):
            np.save(folder / f"call0_input{i}.npy", x)
        outputs = check_reloads(keras, folder, files, inputs, predict(model, inputs), record)
        for j, y in enumerate(outputs):
            np.save(folder / f"call0_output{j}.npy", y)
        record["outputs"] = [{"name": t.name.split(":")[0], "shape": list(t.shape)} for t in model.outputs]
        record["calls"] = [{"reset_states": False, "inputs": [f"call0_input{i}.npy" for i in range(len(inputs))],
                            "outputs": [f"call0_output{j}.npy" for j in range(len(outputs))]}]
    (folder / "expected.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"{folder.name}: {', '.join(files)}")


def check_reloads(keras, folder, files, inputs, built, record):
    """Predict with every written file reloaded by Keras; they must agree with each other and the built model.

    A file Keras cannot read back itself (Keras 3's legacy H5 of a graph with mask ops), or reads back with other
    numbers than the model that wrote it (seen with Keras 3.3), is noted in the record; the recorded outputs are
    those of the files Keras reads back faithfully.
    """
    results = []
    for file, kind in files.items():
        try:
            outputs = predict(reload(keras, folder, file, kind, None), inputs)
        except Exception as exc:  # noqa: BLE001 - what Keras says is the record
            record.setdefault("keras_cannot_reload", {})[file] = f"{type(exc).__name__}: {str(exc)[:160]}"
            continue
        worst = max(float(np.max(np.abs(got - want))) for got, want in zip(outputs, built))
        if worst > 1e-6:
            record.setdefault("keras_reload_differs", {})[file] = worst
            continue
        results.append(outputs)
    if not results:
        raise SystemExit(f"{folder.name}: Keras reads back none of {list(files)} faithfully")
    return results[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras", choices=["2", "3"], required=True)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "fixtures" / "keras"))
    parser.add_argument("--only", nargs="*", help="case names (without the k2_/k3_ prefix)")
    parser.add_argument("--seed", type=int, default=0, help="added to each case's seed (0 for the fixtures)")
    args = parser.parse_args(argv)
    generation = int(args.keras)
    import tensorflow as tf
    if generation == 3:
        import keras
    else:
        import tf_keras as keras
    versions = {"keras_version": keras.__version__, "tensorflow_version": tf.__version__}
    names = args.only or [n for n, spec in CASES.items() if generation in spec[1]]
    for name in names:
        make_case(keras, versions, generation, name, Path(args.out), args.seed)


if __name__ == "__main__":
    sys.exit(main())
