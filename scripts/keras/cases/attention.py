"""Attention and AdditiveAttention, masked (mask_zero) and not, causal."""

from __future__ import annotations

from .inputs import floats, tokens
from .registry import case


@case(2, 3, description="Attention over a BiLSTM: Embedding(mask_zero) -> Bidirectional(LSTM) -> Attention (dot, "
                        "use_scale; concat score) and AdditiveAttention (query = a Dense of the sequence), masks from "
                        "mask_zero; three outputs")
def attention_bilstm(keras, rng):
    L = keras.layers
    ids = keras.Input((9,), dtype="int32", name="tokens")
    seq = L.Bidirectional(L.LSTM(6, return_sequences=True))(L.Embedding(30, 8, mask_zero=True)(ids))
    query = L.Dense(12, activation="tanh")(seq)
    dot = L.Attention(use_scale=True)([query, seq])
    concat = L.Attention(score_mode="concat")([query, seq, query])
    additive = L.AdditiveAttention()([query, seq])
    pooled = L.GlobalAveragePooling1D()(additive)
    return keras.Model(ids, [dot, concat, pooled]), [tokens(rng, 4, 9, 30)]  # no empty row: its mean is NaN


@case(2, 3, description="Attention without masks: causal dot attention, AdditiveAttention without scale, on two "
                        "float inputs; two outputs")
def attention_plain(keras, rng):
    L = keras.layers
    q = keras.Input((5, 4))
    v = keras.Input((7, 4))
    causal = L.Attention()([q, q], use_causal_mask=True)
    additive = L.AdditiveAttention(use_scale=False)([q, v])
    return keras.Model([q, v], [causal, additive]), [floats(rng, 3, 5, 4), floats(rng, 3, 7, 4)]


@case(2, 3, description="MultiHeadAttention self-attention over a BiLSTM: Embedding(mask_zero) -> Bidirectional(LSTM) "
                        "-> MultiHeadAttention(query = value = the sequence), masks from mask_zero (pre-, post-padded, "
                        "full and empty rows: padded query steps are fully masked rows); the attention output, an "
                        "LSTM over it (masked by the query's mask), and an LSTM over the sequence after the attention "
                        "read it")
def mha_bilstm_self(keras, rng):
    L = keras.layers
    ids = keras.Input((8,), dtype="int32", name="tokens")
    seq = L.Bidirectional(L.LSTM(5, return_sequences=True))(L.Embedding(30, 6, mask_zero=True)(ids))
    attended = L.MultiHeadAttention(num_heads=2, key_dim=4)(seq, seq)
    summary = L.LSTM(3)(attended)
    after = L.LSTM(3)(seq)
    return keras.Model(ids, [attended, summary, after]), [tokens(rng, 5, 8, 30)]


@case(2, 3, description="MultiHeadAttention cross attention with a separate key: decoder tokens attend to encoder "
                        "tokens (both Embedding(mask_zero)), key = a Dense of the encoder sequence, value_dim != "
                        "key_dim, three heads; a second layer returns its attention scores, a third has dropout "
                        "(Keras 3 then takes its Softmax path)")
def mha_cross_key(keras, rng):
    L = keras.layers
    dec = keras.Input((6,), dtype="int32", name="decoder")
    enc = keras.Input((7,), dtype="int32", name="encoder")
    query = L.Embedding(20, 5, mask_zero=True)(dec)
    value = L.LSTM(4, return_sequences=True)(L.Embedding(25, 5, mask_zero=True)(enc))
    key = L.Dense(3, activation="tanh")(value)
    cross = L.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=5)(query, value, key)
    scored, scores = L.MultiHeadAttention(num_heads=2, key_dim=3)(query, value, return_attention_scores=True)
    dropped = L.MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.3)(query, value, key=key)
    return keras.Model([dec, enc], [cross, scored, scores, dropped]), [tokens(rng, 5, 6, 20), tokens(rng, 5, 7, 25)]


@case(2, 3, description="MultiHeadAttention without masks: causal self-attention with output_shape (3, 2), cross "
                        "attention with output_shape 5 and use_bias=False, on float inputs")
def mha_causal_shapes(keras, rng):
    L = keras.layers
    q = keras.Input((5, 4))
    v = keras.Input((6, 3))
    causal = L.MultiHeadAttention(num_heads=2, key_dim=3, output_shape=(3, 2))(q, q, use_causal_mask=True)
    plain = L.MultiHeadAttention(num_heads=3, key_dim=2, use_bias=False, output_shape=5)(q, v)
    return keras.Model([q, v], [causal, plain]), [floats(rng, 3, 5, 4), floats(rng, 3, 6, 3)]


@case(2, 3, description="MultiHeadAttention with an explicit attention_mask input (bool, some rows fully masked), "
                        "alone and combined with mask_zero masks and the causal mask")
def mha_attention_mask(keras, rng):
    L = keras.layers
    ids = keras.Input((5,), dtype="int32", name="tokens")
    allowed = keras.Input((5, 5), dtype="bool", name="allowed")
    x = keras.Input((5, 3), name="features")
    seq = L.Embedding(15, 4, mask_zero=True)(ids)
    masked = L.MultiHeadAttention(num_heads=2, key_dim=2)(seq, seq, attention_mask=allowed, use_causal_mask=True)
    plain = L.MultiHeadAttention(num_heads=1, key_dim=3)(x, x, attention_mask=allowed)
    mask = rng.random((4, 5, 5)) > 0.4
    mask[1, 2] = False  # a fully masked query row
    return keras.Model([ids, allowed, x], [masked, plain]), [tokens(rng, 4, 5, 15), mask, floats(rng, 4, 5, 3)]


@case(2, 3, description="MultiHeadAttention over 4-D inputs: attention over both inner axes (attention_axes (1, 2)) "
                        "and over the second only (attention_axes 2), no masks")
def mha_axes(keras, rng):
    L = keras.layers
    x = keras.Input((3, 4, 5))
    both = L.MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=(1, 2))(x, x)
    second = L.MultiHeadAttention(num_heads=2, key_dim=2, attention_axes=2, output_shape=(4,))(x, x)
    return keras.Model(x, [both, second]), [floats(rng, 2, 3, 4, 5)]


@case(2, 3, description="MultiHeadAttention in an encoder-decoder: decoder self-attention and two stacked cross "
                        "attentions reading one masked encoder sequence, plus a parallel cross attention on the "
                        "decoder embedding. Keras 3 removes the masks of the tensors a MultiHeadAttention reads when "
                        "it runs: the attention Keras 3 runs later on the same tensor runs unmasked (tf_keras masks "
                        "every one)")
def mha_shared_encoder(keras, rng):
    L = keras.layers
    dec = keras.Input((6,), dtype="int32", name="decoder")
    enc = keras.Input((7,), dtype="int32", name="encoder")
    encoded = L.LSTM(4, return_sequences=True)(L.Embedding(25, 4, mask_zero=True)(enc))
    embedded = L.Embedding(20, 4, mask_zero=True)(dec)
    h = L.MultiHeadAttention(num_heads=2, key_dim=3)(embedded, embedded, use_causal_mask=True)
    h = L.MultiHeadAttention(num_heads=2, key_dim=3)(h, encoded)
    h = L.MultiHeadAttention(num_heads=2, key_dim=3)(h, encoded)
    side = L.MultiHeadAttention(num_heads=1, key_dim=2)(embedded, encoded)
    return keras.Model([dec, enc], [h, side]), [tokens(rng, 5, 6, 20), tokens(rng, 5, 7, 25)]


@case(2, 3, description="MultiHeadAttention calls sharing a masked embedding: a self-attention under three Dense "
                        "layers (Keras 3 runs it first), a second one, one more on the second's output, and an LSTM "
                        "on it. In Keras 3 an attention's output carries, as it runs, the mask its query had then "
                        "(none once another attention removed it), while the layers given one tensor keep the masks "
                        "fixed when the graph was built")
def mha_parallel_chain(keras, rng):
    L = keras.layers
    ids = keras.Input((6,), dtype="int32", name="tokens")
    embedded = L.Embedding(20, 4, mask_zero=True)(ids)
    first = L.MultiHeadAttention(num_heads=2, key_dim=3)(embedded, embedded)
    deep = L.Dense(3)(L.Dense(4)(L.Dense(4)(first)))
    second = L.MultiHeadAttention(num_heads=2, key_dim=3)(embedded, embedded)
    chained = L.MultiHeadAttention(num_heads=2, key_dim=3)(second, second)
    return keras.Model(ids, [deep, chained, L.LSTM(3)(second)]), [tokens(rng, 5, 6, 20)]


@case(2, 3, description="MultiHeadAttention through a layer whose call takes no mask: an attention that Keras 3 runs "
                        "unmasked (an earlier one removed the embedding's mask) feeds a Dense, and a third attention "
                        "reads the Dense (Keras 3: unmasked, as the Dense passed on the removed mask; tf_keras: "
                        "masked); an LSTM over the Dense keeps the graph's mask")
def mha_through_dense(keras, rng):
    L = keras.layers
    ids = keras.Input((6,), dtype="int32", name="tokens")
    embedded = L.Embedding(20, 4, mask_zero=True)(ids)
    first = L.MultiHeadAttention(num_heads=2, key_dim=3)(embedded, embedded)
    deep = L.Dense(3)(L.Dense(4)(L.Dense(4)(L.Dense(4)(first))))  # deeper: Keras 3 runs this attention first
    second = L.MultiHeadAttention(num_heads=2, key_dim=3)(embedded, embedded)
    projected = L.Dense(4, activation="tanh")(second)
    third = L.MultiHeadAttention(num_heads=2, key_dim=3)(projected, projected)
    return keras.Model(ids, [deep, third, L.LSTM(3)(projected)]), [tokens(rng, 5, 6, 20)]
