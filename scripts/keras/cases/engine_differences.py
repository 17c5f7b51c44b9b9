"""Where TF.js computes other numbers than Keras or cannot run the model (issue 11): fixed-batch masked
Bidirectional and seq2seq, the audit cases of save_tfjs's engine check, states used twice, names TF.js refuses."""

from __future__ import annotations

from .inputs import floats, tokens
from .registry import case


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
