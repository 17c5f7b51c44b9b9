#!/usr/bin/env node
'use strict';
// Generates the TF.js ground-truth fixtures with the real @tensorflow/tfjs
// (pure-JS CPU backend).
//
//   node scripts/tfjs/make_fixtures.js [--out DIR] [--only case1,case2] [--no-probes] [--list]
//
// --only limits the fixture cases (other case folders are left alone); probes
// always run unless --no-probes (README.md is rewritten from the folders present).
//
// Default DIR: <repo>/fixtures/tfjs. For each case the model is built with
// TF.js, every weight is set from a PRNG seeded by the case name, the model is
// saved with io.saveArtifacts (model.json + group1-shard*of*.bin), reloaded
// from disk with tf.loadLayersModel, and the reloaded model's predictions are
// recorded (for unquantized cases they must equal the in-memory model's
// predictions bit for bit).
//
// Each case runs in its own Node process so that TF.js's automatic layer
// names (input1, lstm_LSTM1, ...) depend only on the case itself.
//
// "Probes" are experiments that are known to fail or to be unfaithful in TF.js
// 4.22; they write no fixture, their outcome is printed and listed in README.md.

const {fnv1a, mulberry32} = require('./prng');
const recorder = require('./lib/recorder');
const fs = require('fs');
const os = require('os');
const path = require('path');
const {spawn} = require('child_process');

const REPO = path.resolve(__dirname, '..', '..');
const DEFAULT_OUT = path.join(REPO, 'fixtures', 'tfjs');
const {TFJS_VERSION, sizeOf} = recorder;

// ---------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------

function makeHelpers(rng) {
  const uniform = (n, lo, hi) => Float32Array.from({length: n}, () => lo + (hi - lo) * rng());
  return {
    rng,
    uniform,
    /** float32 input in [lo, hi). */
    x(shape, lo = -2, hi = 2) {
      return {dtype: 'float32', shape, data: uniform(sizeOf(shape), lo, hi)};
    },
    /**
     * float32 sequences [B, T, F] where patterns[b][t] === '0' marks a step whose
     * features are all 0 (masked by Masking(maskValue=0)).
     */
    maskedSeq(shape, patterns) {
      const [B, T, F] = shape;
      const data = uniform(B * T * F, -2, 2);
      for (let b = 0; b < B; b++) {
        if (patterns[b].length !== T) throw new Error(`pattern ${patterns[b]} is not ${T} long`);
        for (let t = 0; t < T; t++) {
          if (patterns[b][t] === '0') data.fill(0, (b * T + t) * F, (b * T + t + 1) * F);
        }
      }
      return {dtype: 'float32', shape, data};
    },
    /** integer ids [B, T] in 1..vocab-1, 0 where patterns[b][t] === '0'. */
    ids(shape, vocab, patterns, dtype = 'int32') {
      const [B, T] = shape;
      const vals = [];
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          const pad = patterns != null && patterns[b][t] === '0';
          vals.push(pad ? 0 : 1 + Math.floor(rng() * (vocab - 1)));
        }
      }
      return {dtype, shape, data: dtype === 'int32' ? Int32Array.from(vals) : Float32Array.from(vals)};
    },
  };
}

// Masking patterns: unpadded row, post-padded, pre-padded, a gap in the middle.
const MASK_ROWS_7 = ['1111111', '1111100', '0001111', '1101011'];
const MASK_ROWS_6 = ['111111', '111100', '001111', '110101'];

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

const CASES = [];
const PROBES = [];

function defCase(name, description, build, opts = {}) {
  CASES.push(Object.assign({name, description, build}, opts));
}
function defProbe(name, description, build, opts = {}) {
  PROBES.push(Object.assign({name, description, build, probe: true}, opts));
}

function seqModel(tf, layers) {
  return tf.sequential({layers});
}

function funcModel(tf, inputs, outputs) {
  return tf.model({inputs, outputs});
}

function defineCases(tf) {
  const L = tf.layers;

  // ---- seed --------------------------------------------------------------
  defCase('seed_lstm',
      'The seed tutorial model: tf.input([10,8]) -> lstm({units:32, inputShape:[10,8], returnSequences:true}) ' +
      'in tf.model (5,248 params), PRNG weights with non-zero bias, default hardSigmoid recurrent activation.',
      (h) => {
        const input = tf.input({shape: [10, 8]});
        const lstm = L.lstm({units: 32, inputShape: [10, 8], returnSequences: true});
        const model = tf.model({inputs: input, outputs: lstm.apply(input)});
        if (model.countParams() !== 5248) throw new Error(`seed model has ${model.countParams()} params`);
        return {model, inputs: [h.x([3, 10, 8])]};
      });

  defCase('seed_lstm_default_init',
      'Seed model with TF.js\'s own (seeded) initializers instead of set weights: glorotUniform kernel, ' +
      'orthogonal recurrent kernel, zeros bias + unitForgetBias:true (forget-gate bias 1, rest 0).',
      (h) => {
        const input = tf.input({shape: [10, 8]});
        const lstm = L.lstm({
          units: 32, inputShape: [10, 8], returnSequences: true, unitForgetBias: true,
          kernelInitializer: tf.initializers.glorotUniform({seed: 42}),
          recurrentInitializer: tf.initializers.orthogonal({seed: 43}),
        });
        const model = tf.model({inputs: input, outputs: lstm.apply(input)});
        if (model.countParams() !== 5248) throw new Error(`seed model has ${model.countParams()} params`);
        return {model, inputs: [h.x([3, 10, 8])]};
      }, {setWeights: false});

  // ---- LSTM variants -----------------------------------------------------
  defCase('lstm_last_output',
      'Sequential LSTM(6) returnSequences:false (last output only), input [7,4].',
      (h) => ({
        model: seqModel(tf, [L.lstm({units: 6, inputShape: [7, 4]})]),
        inputs: [h.x([4, 7, 4])],
      }));

  defCase('lstm_relu_sigmoid',
      'LSTM(5) activation relu + recurrentActivation sigmoid, returnSequences, input [6,3].',
      (h) => ({
        model: seqModel(tf, [L.lstm({units: 5, activation: 'relu', recurrentActivation: 'sigmoid',
          returnSequences: true, inputShape: [6, 3]})]),
        inputs: [h.x([3, 6, 3])],
      }));

  defCase('lstm_hard_sigmoid',
      'LSTM(5) with the default recurrent activation (hard_sigmoid = clip(0.2x+0.5,0,1) in TF.js), ' +
      'weights in [-1.2,1.2] so gates saturate; returnSequences, input [6,4].',
      (h) => ({
        model: seqModel(tf, [L.lstm({units: 5, returnSequences: true, inputShape: [6, 4]})]),
        inputs: [h.x([3, 6, 4])],
      }), {weightRange: 1.2});

  defCase('lstm_go_backwards_seq',
      'LSTM(4) goBackwards:true, returnSequences:true (outputs stay in reversed time order), input [6,3].',
      (h) => ({
        model: seqModel(tf, [L.lstm({units: 4, goBackwards: true, returnSequences: true, inputShape: [6, 3]})]),
        inputs: [h.x([3, 6, 3])],
      }));

  defCase('lstm_go_backwards_last',
      'LSTM(4) goBackwards:true, returnSequences:false, input [6,3].',
      (h) => ({
        model: seqModel(tf, [L.lstm({units: 4, goBackwards: true, inputShape: [6, 3]})]),
        inputs: [h.x([3, 6, 3])],
      }));

  defCase('lstm_no_bias',
      'LSTM(5) useBias:false (only kernel and recurrent_kernel), returnSequences, input [5,3].',
      (h) => ({
        model: seqModel(tf, [L.lstm({units: 5, useBias: false, returnSequences: true, inputShape: [5, 3]})]),
        inputs: [h.x([3, 5, 3])],
      }));

  defCase('lstm_return_state',
      'Functional LSTM(5) returnSequences+returnState; the three tensors [seq, h, c] are the model outputs ' +
      '(all from one layer, tensor_index 0/1/2), input [6,3].',
      (h) => {
        const input = tf.input({shape: [6, 3]});
        const outs = L.lstm({units: 5, returnSequences: true, returnState: true}).apply(input);
        return {model: funcModel(tf, input, outs), inputs: [h.x([3, 6, 3])]};
      });

  defCase('lstm_return_state_last',
      'Functional LSTM(4) returnState only: outputs [last_output, h, c] (last_output equals h), input [5,3].',
      (h) => {
        const input = tf.input({shape: [5, 3]});
        const outs = L.lstm({units: 4, returnState: true}).apply(input);
        return {model: funcModel(tf, input, outs), inputs: [h.x([3, 5, 3])]};
      });

  defCase('lstm_return_state_feeds_layers',
      'Functional LSTM(4) returnSequences+returnState whose outputs feed later layers: Dense(2) on h, ' +
      'Concatenate [h, c], LSTM(2) on the sequence; input [5,3]. (With returnSequences:false, feeding both ' +
      'output and h to layers crashes TF.js, see probes.)',
      (h) => {
        const input = tf.input({shape: [5, 3]});
        const [seq, sh, sc] = L.lstm({units: 4, returnSequences: true, returnState: true}).apply(input);
        const o1 = L.dense({units: 2}).apply(sh);
        const o2 = L.concatenate().apply([sh, sc]);
        const o3 = L.lstm({units: 2}).apply(seq);
        return {model: funcModel(tf, input, [o1, o2, o3]), inputs: [h.x([3, 5, 3])]};
      });

  defCase('lstm_return_state_hc_feed_dense',
      'Functional LSTM(4) returnState (returnSequences:false): h -> Dense(2) and c -> Dense(3); input [5,3].',
      (h) => {
        const input = tf.input({shape: [5, 3]});
        const [, sh, sc] = L.lstm({units: 4, returnState: true}).apply(input);
        const o1 = L.dense({units: 2}).apply(sh);
        const o2 = L.dense({units: 3}).apply(sc);
        return {model: funcModel(tf, input, [o1, o2]), inputs: [h.x([3, 5, 3])]};
      });

  defCase('encoder_decoder_initial_state',
      'Encoder LSTM(4, returnState) on [5,3]; its [h, c] are the initialState of a decoder LSTM(4, ' +
      'returnSequences) on [4,2] via apply(decIn, {initialState}). TF.js serializes this as extra tensors in ' +
      'the decoder\'s inbound node: [[input2,0,0], [lstm_LSTM1,0,1], [lstm_LSTM1,0,2]] (kwargs dropped).',
      (h) => {
        const encIn = tf.input({shape: [5, 3]});
        const decIn = tf.input({shape: [4, 2]});
        const [, eh, ec] = L.lstm({units: 4, returnState: true}).apply(encIn);
        const dec = L.lstm({units: 4, returnSequences: true}).apply(decIn, {initialState: [eh, ec]});
        return {model: funcModel(tf, [encIn, decIn], dec), inputs: [h.x([3, 5, 3]), h.x([3, 4, 2])]};
      });

  defCase('masked_decoder_initial_state',
      'Encoder LSTM(4, returnState) -> [h, c] as initialState of Masking(0) -> decoder LSTM(4, returnSequences) ' +
      'with pre-padded decoder rows: at a masked step TF.js outputs states[0], so leading masked steps repeat the ' +
      'INITIAL h (Keras would emit zeros there). Inputs [5,3] and [6,2].',
      (h) => {
        const encIn = tf.input({shape: [5, 3]});
        const decIn = tf.input({shape: [6, 2]});
        const [, eh, ec] = L.lstm({units: 4, returnState: true}).apply(encIn);
        const masked = L.masking({maskValue: 0}).apply(decIn);
        const dec = L.lstm({units: 4, returnSequences: true}).apply(masked, {initialState: [eh, ec]});
        return {model: funcModel(tf, [encIn, decIn], dec),
          inputs: [h.x([4, 5, 3]), h.maskedSeq([4, 6, 2], MASK_ROWS_6)]};
      });

  defCase('rnn_stacked_cells_return_state',
      'rnn({cell: [lstmCell(5), gruCell(3)], returnState}) on [5,3]: TF.js lists the states LAST cell first ' +
      '(output, h_gru, h_lstm, c_lstm).',
      (h) => {
        const input = tf.input({shape: [5, 3]});
        const outs = L.rnn({cell: [L.lstmCell({units: 5}), L.gruCell({units: 3})], returnState: true}).apply(input);
        return {model: funcModel(tf, input, outs), inputs: [h.x([3, 5, 3])]};
      });

  defCase('lstm_stateful',
      'Stateful LSTM(4) batchShape [2,5,3], returnSequences: call1 continues from call0\'s final state, ' +
      'call2 follows model.resetStates().',
      (h) => {
        const input = tf.input({batchShape: [2, 5, 3]});
        const out = L.lstm({units: 4, stateful: true, returnSequences: true}).apply(input);
        const model = funcModel(tf, input, out);
        return {
          model,
          calls: [
            {reset_states: false, inputs: [h.x([2, 5, 3])]},
            {reset_states: false, inputs: [h.x([2, 5, 3])]},
            {reset_states: true, inputs: [h.x([2, 5, 3])]},
          ],
        };
      });

  defCase('lstm_dropout',
      'LSTM(5) with dropout 0.3 and recurrentDropout 0.2 (no effect at inference), returnSequences, input [6,3].',
      (h) => ({
        model: seqModel(tf, [L.lstm({units: 5, dropout: 0.3, recurrentDropout: 0.2, returnSequences: true,
          inputShape: [6, 3]})]),
        inputs: [h.x([3, 6, 3])],
      }));

  defCase('lstm_unroll',
      'LSTM(4) unroll:true (TF.js accepts it, warns and ignores it), returnSequences, input [5,3].',
      (h) => ({
        model: seqModel(tf, [L.lstm({units: 4, unroll: true, returnSequences: true, inputShape: [5, 3]})]),
        inputs: [h.x([3, 5, 3])],
      }));

  defCase('lstm_stacked_dense',
      'Sequential LSTM(6, returnSequences) -> LSTM(4) -> Dense(3, softmax), input [7,3].',
      (h) => ({
        model: seqModel(tf, [
          L.lstm({units: 6, returnSequences: true, inputShape: [7, 3]}),
          L.lstm({units: 4}),
          L.dense({units: 3, activation: 'softmax'}),
        ]),
        inputs: [h.x([4, 7, 3])],
      }));

  // ---- GRU / SimpleRNN -------------------------------------------------------
  defCase('gru_seq',
      'GRU(5) returnSequences (TF.js GRU: reset_after false, bias [3u], default hard_sigmoid), input [6,3].',
      (h) => ({
        model: seqModel(tf, [L.gru({units: 5, returnSequences: true, inputShape: [6, 3]})]),
        inputs: [h.x([3, 6, 3])],
      }));

  defCase('gru_go_backwards',
      'GRU(4) goBackwards:true, returnSequences:true, input [6,3].',
      (h) => ({
        model: seqModel(tf, [L.gru({units: 4, goBackwards: true, returnSequences: true, inputShape: [6, 3]})]),
        inputs: [h.x([3, 6, 3])],
      }));

  defCase('gru_last_output',
      'GRU(6) returnSequences:false, recurrentActivation sigmoid, input [7,4].',
      (h) => ({
        model: seqModel(tf, [L.gru({units: 6, recurrentActivation: 'sigmoid', inputShape: [7, 4]})]),
        inputs: [h.x([3, 7, 4])],
      }));

  defCase('simple_rnn_tanh',
      'SimpleRNN(5) activation tanh (default), returnSequences, input [6,3].',
      (h) => ({
        model: seqModel(tf, [L.simpleRNN({units: 5, returnSequences: true, inputShape: [6, 3]})]),
        inputs: [h.x([3, 6, 3])],
      }));

  defCase('simple_rnn_relu',
      'SimpleRNN(5) activation relu, returnSequences:false, input [6,3].',
      (h) => ({
        model: seqModel(tf, [L.simpleRNN({units: 5, activation: 'relu', inputShape: [6, 3]})]),
        inputs: [h.x([3, 6, 3])],
      }));

  // ---- generic RNN over cells ---------------------------------------------------
  defCase('rnn_lstm_cell',
      'tf.layers.rnn({cell: lstmCell(5)}) returnSequences (class RNN with a nested LSTMCell config), input [6,3].',
      (h) => ({
        model: seqModel(tf, [L.rnn({cell: L.lstmCell({units: 5}), returnSequences: true, inputShape: [6, 3]})]),
        inputs: [h.x([3, 6, 3])],
      }));

  defCase('rnn_gru_cell',
      'tf.layers.rnn({cell: gruCell(4)}) returnSequences:false, input [6,3].',
      (h) => ({
        model: seqModel(tf, [L.rnn({cell: L.gruCell({units: 4}), inputShape: [6, 3]})]),
        inputs: [h.x([3, 6, 3])],
      }));

  defCase('rnn_simple_rnn_cell',
      'tf.layers.rnn({cell: simpleRNNCell(4, relu)}) returnSequences, input [6,3].',
      (h) => ({
        model: seqModel(tf, [L.rnn({cell: L.simpleRNNCell({units: 4, activation: 'relu'}), returnSequences: true,
          inputShape: [6, 3]})]),
        inputs: [h.x([3, 6, 3])],
      }));

  defCase('rnn_stacked_cells',
      'tf.layers.rnn({cell: [lstmCell(6), gruCell(4)]}) -> StackedRNNCells; returnSequences, input [6,3].',
      (h) => ({
        model: seqModel(tf, [L.rnn({cell: [L.lstmCell({units: 6}), L.gruCell({units: 4})], returnSequences: true,
          inputShape: [6, 3]})]),
        inputs: [h.x([3, 6, 3])],
      }));

  defCase('rnn_stacked_cells_last',
      'tf.layers.rnn({cell: [simpleRNNCell(5), lstmCell(3)]}) returnSequences:false, input [5,2].',
      (h) => ({
        model: seqModel(tf, [L.rnn({cell: [L.simpleRNNCell({units: 5}), L.lstmCell({units: 3})],
          inputShape: [5, 2]})]),
        inputs: [h.x([3, 5, 2])],
      }));

  // ---- Bidirectional ---------------------------------------------------------
  for (const [mode, rs] of [['concat', true], ['sum', false], ['mul', true], ['ave', true]]) {
    defCase(`bidi_lstm_${mode}`,
        `Bidirectional(LSTM(4), mergeMode '${mode}'), returnSequences:${rs}, input [5,3].`,
        (h) => ({
          model: seqModel(tf, [L.bidirectional({layer: L.lstm({units: 4, returnSequences: rs}), mergeMode: mode,
            inputShape: [5, 3]})]),
          inputs: [h.x([3, 5, 3])],
        }));
  }

  defCase('bidi_lstm_none',
      'Functional Bidirectional(LSTM(4), mergeMode null) returnSequences: two outputs [forward, backward] ' +
      '(backward re-reversed to input time order), input [5,3].',
      (h) => {
        const input = tf.input({shape: [5, 3]});
        const outs = L.bidirectional({layer: L.lstm({units: 4, returnSequences: true}), mergeMode: null})
            .apply(input);
        return {model: funcModel(tf, input, outs), inputs: [h.x([3, 5, 3])]};
      });

  defCase('bidi_gru',
      'Bidirectional(GRU(4)) default mergeMode concat, returnSequences:false, then Dense(2), input [6,3].',
      (h) => ({
        model: seqModel(tf, [
          L.bidirectional({layer: L.gru({units: 4}), inputShape: [6, 3]}),
          L.dense({units: 2}),
        ]),
        inputs: [h.x([3, 6, 3])],
      }));

  // ---- Masking -----------------------------------------------------------------
  defCase('masking_lstm_seq',
      'Masking(0) -> LSTM(4) returnSequences; rows: unpadded, post-padded, pre-padded, gap in the middle ' +
      '(TF.js: masked step repeats the previous output/state, zeros before the first real step). Input [7,3].',
      (h) => ({
        model: seqModel(tf, [L.masking({maskValue: 0, inputShape: [7, 3]}),
          L.lstm({units: 4, returnSequences: true})]),
        inputs: [h.maskedSeq([4, 7, 3], MASK_ROWS_7)],
      }));

  defCase('masking_lstm_last',
      'Masking(0) -> LSTM(4) returnSequences:false; same padded rows as masking_lstm_seq. Input [7,3].',
      (h) => ({
        model: seqModel(tf, [L.masking({maskValue: 0, inputShape: [7, 3]}), L.lstm({units: 4})]),
        inputs: [h.maskedSeq([4, 7, 3], MASK_ROWS_7)],
      }));

  defCase('masking_lstm_go_backwards',
      'Masking(0) -> LSTM(4) goBackwards, returnSequences (outputs in reversed order; mask reversed too). ' +
      'Input [7,3].',
      (h) => ({
        model: seqModel(tf, [L.masking({maskValue: 0, inputShape: [7, 3]}),
          L.lstm({units: 4, goBackwards: true, returnSequences: true})]),
        inputs: [h.maskedSeq([4, 7, 3], MASK_ROWS_7)],
      }));

  defCase('masking_gru',
      'Masking(0) -> GRU(4) returnSequences; padded rows. Input [7,3].',
      (h) => ({
        model: seqModel(tf, [L.masking({maskValue: 0, inputShape: [7, 3]}),
          L.gru({units: 4, returnSequences: true})]),
        inputs: [h.maskedSeq([4, 7, 3], MASK_ROWS_7)],
      }));

  defCase('masking_simple_rnn_last',
      'Masking(0) -> SimpleRNN(4) returnSequences:false; padded rows. Input [7,3].',
      (h) => ({
        model: seqModel(tf, [L.masking({maskValue: 0, inputShape: [7, 3]}), L.simpleRNN({units: 4})]),
        inputs: [h.maskedSeq([4, 7, 3], MASK_ROWS_7)],
      }));

  defCase('masking_bidi_lstm_seq',
      'Masking(0) -> Bidirectional(LSTM(3), concat) returnSequences; padded rows. Input [7,3].',
      (h) => ({
        model: seqModel(tf, [L.masking({maskValue: 0, inputShape: [7, 3]}),
          L.bidirectional({layer: L.lstm({units: 3, returnSequences: true})})]),
        inputs: [h.maskedSeq([4, 7, 3], MASK_ROWS_7)],
      }));

  defCase('masking_timedistributed_lstm',
      'Masking(0) -> TimeDistributed(Dense(5, tanh)) -> LSTM(4) returnSequences (does the mask pass through ' +
      'TimeDistributed?). Input [7,3].',
      (h) => ({
        model: seqModel(tf, [L.masking({maskValue: 0, inputShape: [7, 3]}),
          L.timeDistributed({layer: L.dense({units: 5, activation: 'tanh'})}),
          L.lstm({units: 4, returnSequences: true})]),
        inputs: [h.maskedSeq([4, 7, 3], MASK_ROWS_7)],
      }));

  defCase('masking_rnn_stacked_cells',
      'Masking(0) -> rnn({cell: [lstmCell(5), lstmCell(3)]}) returnSequences: at masked steps TF.js emits ' +
      'states[0], which for StackedRNNCells is the LAST cell\'s h (states are listed last cell first). Input [7,3].',
      (h) => ({
        model: seqModel(tf, [L.masking({maskValue: 0, inputShape: [7, 3]}),
          L.rnn({cell: [L.lstmCell({units: 5}), L.lstmCell({units: 3})], returnSequences: true})]),
        inputs: [h.maskedSeq([4, 7, 3], MASK_ROWS_7)],
      }));

  // ---- Embedding ------------------------------------------------------------------
  defCase('embedding_mask_lstm',
      'int32 ids -> Embedding(12, 4, maskZero) -> LSTM(5) returnSequences; ids pre/post-padded with 0. Input [6].',
      (h) => {
        const input = tf.input({shape: [6], dtype: 'int32'});
        let y = L.embedding({inputDim: 12, outputDim: 4, maskZero: true}).apply(input);
        y = L.lstm({units: 5, returnSequences: true}).apply(y);
        return {model: funcModel(tf, input, y), inputs: [h.ids([4, 6], 12, MASK_ROWS_6)]};
      }, {weightRanges: {embeddings: 1.0}});

  defCase('embedding_mask_gru',
      'int32 ids -> Embedding(10, 3, maskZero) -> GRU(4) returnSequences:false; padded ids. Input [6].',
      (h) => {
        const input = tf.input({shape: [6], dtype: 'int32'});
        let y = L.embedding({inputDim: 10, outputDim: 3, maskZero: true}).apply(input);
        y = L.gru({units: 4}).apply(y);
        return {model: funcModel(tf, input, y), inputs: [h.ids([4, 6], 10, MASK_ROWS_6)]};
      }, {weightRanges: {embeddings: 1.0}});

  defCase('embedding_mask_bidi',
      'int32 ids -> Embedding(10, 3, maskZero) -> Bidirectional(LSTM(3)) returnSequences -> ' +
      'TimeDistributed(Dense(2)); padded ids. Input [6].',
      (h) => {
        const input = tf.input({shape: [6], dtype: 'int32'});
        let y = L.embedding({inputDim: 10, outputDim: 3, maskZero: true}).apply(input);
        y = L.bidirectional({layer: L.lstm({units: 3, returnSequences: true})}).apply(y);
        y = L.timeDistributed({layer: L.dense({units: 2})}).apply(y);
        return {model: funcModel(tf, input, y), inputs: [h.ids([4, 6], 10, MASK_ROWS_6)]};
      }, {weightRanges: {embeddings: 1.0}});

  defCase('embedding_no_mask',
      'Sequential Embedding(10, 3) without maskZero (input declared float32, ids fed as float32; id 0 is an ' +
      'ordinary row) -> LSTM(4). Input [6].',
      (h) => ({
        model: seqModel(tf, [L.embedding({inputDim: 10, outputDim: 3, inputLength: 6, inputShape: [6]}),
          L.lstm({units: 4})]),
        inputs: [h.ids([4, 6], 10, MASK_ROWS_6, 'float32')],
      }), {weightRanges: {embeddings: 1.0}});

  // ---- TimeDistributed ------------------------------------------------------------
  defCase('lstm_timedistributed_dense',
      'LSTM(5) returnSequences -> TimeDistributed(Dense(3, sigmoid)), input [6,4].',
      (h) => ({
        model: seqModel(tf, [L.lstm({units: 5, returnSequences: true, inputShape: [6, 4]}),
          L.timeDistributed({layer: L.dense({units: 3, activation: 'sigmoid'})})]),
        inputs: [h.x([3, 6, 4])],
      }));

  // ---- Core layers --------------------------------------------------------------------
  defCase('core_dense_dropouts',
      'Sequential Dense(8, relu) -> Dropout -> GaussianNoise -> GaussianDropout -> AlphaDropout -> ' +
      'Dense(6, tanh) -> Activation(sigmoid) -> Dense(3) (noise/dropout are identities at inference), input [5].',
      (h) => ({
        model: seqModel(tf, [
          L.dense({units: 8, activation: 'relu', inputShape: [5]}),
          L.dropout({rate: 0.3}),
          L.gaussianNoise({stddev: 0.5}),
          L.gaussianDropout({rate: 0.2}),
          L.alphaDropout({rate: 0.1}),
          L.dense({units: 6, activation: 'tanh'}),
          L.activation({activation: 'sigmoid'}),
          L.dense({units: 3}),
        ]),
        inputs: [h.x([4, 5])],
      }));

  defCase('core_reshape_chain',
      'Sequential on [6,4]: Dense(5) on 3D input -> SpatialDropout1D -> Reshape([5,6]) -> Permute([2,1]) -> ' +
      'Flatten -> Dense(4, elu) -> RepeatVector(3) -> LSTM(2, returnSequences).',
      (h) => ({
        model: seqModel(tf, [
          L.dense({units: 5, inputShape: [6, 4]}),
          L.spatialDropout1d({rate: 0.25}),
          L.reshape({targetShape: [5, 6]}),
          L.permute({dims: [2, 1]}),
          L.flatten(),
          L.dense({units: 4, activation: 'elu'}),
          L.repeatVector({n: 3}),
          L.lstm({units: 2, returnSequences: true}),
        ]),
        inputs: [h.x([3, 6, 4])],
      }));

  // ---- activations ---------------------------------------------------------------------
  const ACTS = ['elu', 'selu', 'relu', 'relu6', 'linear', 'sigmoid', 'hardSigmoid', 'softplus', 'softsign',
    'tanh', 'softmax', 'logSoftmax', 'gelu', 'mish', 'swish'];
  defCase('activations',
      'One Dense(4) per activation string on a shared [6] input, 15 outputs named act_<name>: ' + ACTS.join(', ') +
      ' (gelu = exact erf form). gelu_new is not here: TF.js saves it but cannot load it back.',
      (h) => {
        const input = tf.input({shape: [6]});
        const outs = ACTS.map((a) => L.dense({units: 4, activation: a, name: `act_${a}`}).apply(input));
        return {model: funcModel(tf, input, outs), inputs: [h.x([4, 6])]};
      }, {weightRange: 0.9});

  // ---- merges --------------------------------------------------------------------------
  defCase('merge_elementwise',
      'Three inputs [4] each through Dense(4); outputs Add(a,b,c), Multiply(a,b), Average(a,b), ' +
      'Maximum(a,b,c), Minimum(b,c).',
      (h) => {
        const ins = [0, 1, 2].map((i) => tf.input({shape: [4], name: `in_${'abc'[i]}`}));
        const [a, b, c] = ins.map((x) => L.dense({units: 4}).apply(x));
        const outs = [
          L.add().apply([a, b, c]),
          L.multiply().apply([a, b]),
          L.average().apply([a, b]),
          L.maximum().apply([a, b, c]),
          L.minimum().apply([b, c]),
        ];
        return {model: funcModel(tf, ins, outs), inputs: [h.x([3, 4]), h.x([3, 4]), h.x([3, 4])]};
      });

  defCase('merge_concatenate',
      'Concatenate axis -1 of [3,4] and [3,2] -> [3,6]; Concatenate axis 1 of [3,4] and [5,4] -> [8,4]; ' +
      'each followed by LSTM(3).',
      (h) => {
        const x1 = tf.input({shape: [3, 4]});
        const x2 = tf.input({shape: [3, 2]});
        const x3 = tf.input({shape: [5, 4]});
        const c1 = L.concatenate({axis: -1}).apply([x1, x2]);
        const c2 = L.concatenate({axis: 1}).apply([x1, x3]);
        const o1 = L.lstm({units: 3}).apply(c1);
        const o2 = L.lstm({units: 3}).apply(c2);
        return {model: funcModel(tf, [x1, x2, x3], [o1, o2]),
          inputs: [h.x([3, 3, 4]), h.x([3, 3, 2]), h.x([3, 5, 4])]};
      });

  defCase('merge_dot',
      'Dot: axes -1 normalize:true on [5]x[5] vectors (cosine) -> [1]; axes [2,2] on [4,3]x[5,3] -> [4,5]; ' +
      'axes 1 on [4,3]x[4,2] -> [3,2].',
      (h) => {
        const a = tf.input({shape: [5]});
        const b = tf.input({shape: [5]});
        const p = tf.input({shape: [4, 3]});
        const q = tf.input({shape: [5, 3]});
        const r = tf.input({shape: [4, 2]});
        const da = L.dense({units: 5}).apply(a);
        const o1 = L.dot({axes: -1, normalize: true}).apply([da, b]);
        const o2 = L.dot({axes: [2, 2]}).apply([p, q]);
        const o3 = L.dot({axes: 1}).apply([p, r]);
        return {model: funcModel(tf, [a, b, p, q, r], [o1, o2, o3]),
          inputs: [h.x([3, 5]), h.x([3, 5]), h.x([3, 4, 3]), h.x([3, 5, 3]), h.x([3, 4, 2])]};
      });

  defCase('merge_masked_branches',
      'Two masked inputs [6,3] (Masking 0, different padding per branch) -> LSTM(4, returnSequences) each -> ' +
      'Concatenate -> LSTM(3, returnSequences) and LSTM(3); the concatenated mask is the AND of the branch ' +
      'masks. (Add/Multiply/... of masked tensors cannot feed an RNN in TF.js 4.22, see probes.)',
      (h) => {
        const x1 = tf.input({shape: [6, 3]});
        const x2 = tf.input({shape: [6, 3]});
        const m1 = L.masking({maskValue: 0}).apply(x1);
        const m2 = L.masking({maskValue: 0}).apply(x2);
        const s1 = L.lstm({units: 4, returnSequences: true}).apply(m1);
        const s2 = L.lstm({units: 4, returnSequences: true}).apply(m2);
        const c = L.concatenate().apply([s1, s2]);
        const o1 = L.lstm({units: 3, returnSequences: true}).apply(c);
        const o2 = L.lstm({units: 3}).apply(c);
        return {
          model: funcModel(tf, [x1, x2], [o1, o2]),
          inputs: [
            h.maskedSeq([4, 6, 3], ['111111', '111100', '001111', '110111']),
            h.maskedSeq([4, 6, 3], ['111111', '111110', '011111', '111011']),
          ],
        };
      });

  // ---- normalization ---------------------------------------------------------------------
  defCase('layer_norm',
      'LayerNormalization (axis -1, gamma/beta set) on a [5,6] sequence -> LSTM(3, returnSequences) and on ' +
      '2D Dense(6) output; two outputs.',
      (h) => {
        const x = tf.input({shape: [5, 6]});
        const y1 = L.lstm({units: 3, returnSequences: true}).apply(L.layerNormalization().apply(x));
        const flat = L.dense({units: 6}).apply(L.flatten().apply(x));
        const y2 = L.layerNormalization({epsilon: 1e-3}).apply(flat);
        return {model: funcModel(tf, x, [y1, y2]), inputs: [h.x([3, 5, 6])]};
      });

  defCase('batch_norm_seq',
      'BatchNormalization(axis -1) on a [6,4] sequence (moving stats set, variance 0.5..1.5) -> LSTM(4).',
      (h) => ({
        model: seqModel(tf, [L.batchNormalization({inputShape: [6, 4]}), L.lstm({units: 4})]),
        inputs: [h.x([3, 6, 4])],
      }));

  defCase('batch_norm_axis1',
      'BatchNormalization(axis 1) on a [6,4] sequence: TF.js\'s batchNorm kernel indexes the (reshaped) ' +
      'parameters by flat element position modulo 6, not along axis 1, so it differs from Keras. Pins TF.js.',
      (h) => ({
        model: seqModel(tf, [L.batchNormalization({axis: 1, inputShape: [6, 4]})]),
        inputs: [h.x([3, 6, 4])],
      }));

  defCase('batch_norm_2d',
      'Dense(6) -> BatchNormalization(epsilon 0.01, center/scale) -> Dense(3, relu) on input [5].',
      (h) => ({
        model: seqModel(tf, [L.dense({units: 6, inputShape: [5]}), L.batchNormalization({epsilon: 0.01}),
          L.dense({units: 3, activation: 'relu'})]),
        inputs: [h.x([4, 5])],
      }));

  // ---- Conv1D / pooling -----------------------------------------------------------------
  for (const [name, cfg, desc] of [
    ['conv1d_valid', {filters: 4, kernelSize: 3, padding: 'valid'}, 'padding valid, kernel 3'],
    ['conv1d_same', {filters: 4, kernelSize: 4, padding: 'same'}, 'padding same, even kernel 4'],
    ['conv1d_dilated', {filters: 3, kernelSize: 3, padding: 'same', dilationRate: 2, activation: 'relu'},
      'dilationRate 2, padding same, relu'],
    ['conv1d_dilated_valid', {filters: 3, kernelSize: 2, padding: 'valid', dilationRate: 2},
      'dilationRate 2, padding valid'],
    ['conv1d_strided', {filters: 3, kernelSize: 3, strides: 2, padding: 'valid'}, 'strides 2, padding valid'],
    ['conv1d_strided_same', {filters: 3, kernelSize: 3, strides: 2, padding: 'same'}, 'strides 2, padding same'],
  ]) {
    defCase(name, `Conv1D ${desc}, input [9,3].`, (h) => ({
      model: seqModel(tf, [L.conv1d(Object.assign({inputShape: [9, 3]}, cfg))]),
      inputs: [h.x([3, 9, 3])],
    }));
  }

  // ---- Conv2D / 2-D pooling, padding, cropping, upsampling -------------------------------
  for (const [name, cfg, desc] of [
    ['conv2d_valid', {filters: 4, kernelSize: 3}, 'kernel 3x3, padding valid'],
    ['conv2d_same_even', {filters: 3, kernelSize: [4, 2], padding: 'same', activation: 'relu'},
      'kernel [4,2] (even: same padding puts the extra row and column after), padding same, relu'],
    ['conv2d_strided', {filters: 3, kernelSize: 3, strides: [2, 3], padding: 'valid'}, 'strides [2,3], valid'],
    ['conv2d_strided_same', {filters: 3, kernelSize: [3, 2], strides: 2, padding: 'same', activation: 'tanh'},
      'kernel [3,2], strides 2, padding same, tanh'],
    ['conv2d_dilated', {filters: 2, kernelSize: 2, dilationRate: [2, 3], padding: 'same'},
      'dilationRate [2,3], padding same'],
    ['conv2d_dilated_valid', {filters: 2, kernelSize: 3, dilationRate: 2}, 'dilationRate 2, padding valid'],
    ['conv2d_no_bias', {filters: 5, kernelSize: [1, 3], useBias: false, activation: 'sigmoid'},
      'kernel [1,3], useBias false, sigmoid'],
  ]) {
    defCase(name, `Conv2D ${desc}, input [7,8,3].`, (h) => ({
      model: seqModel(tf, [L.conv2d(Object.assign({inputShape: [7, 8, 3]}, cfg))]),
      inputs: [h.x([3, 7, 8, 3])],
    }));
  }

  defCase('conv2d_channels_first',
      'Conv2D(4, [3,2], strides [1,2], same) and Conv2D(2, 2, dilation 2) with dataFormat channelsFirst ' +
      '(TF.js transposes to NHWC and back), input [3,6,7] = 3 channels of 6x7; two outputs.',
      (h) => {
        const x = tf.input({shape: [3, 6, 7]});
        const o1 = L.conv2d({filters: 4, kernelSize: [3, 2], strides: [1, 2], padding: 'same',
          dataFormat: 'channelsFirst'}).apply(x);
        const o2 = L.conv2d({filters: 2, kernelSize: 2, dilationRate: 2, dataFormat: 'channelsFirst'}).apply(x);
        return {model: funcModel(tf, x, [o1, o2]), inputs: [h.x([2, 3, 6, 7])]};
      });

  defCase('conv2d_flatten_dense',
      'Conv2D(3, 3x3, relu) -> Flatten -> Dense(4) on input [6,6,2].',
      (h) => ({
        model: seqModel(tf, [L.conv2d({filters: 3, kernelSize: 3, activation: 'relu', inputShape: [6, 6, 2]}),
          L.flatten(), L.dense({units: 4})]),
        inputs: [h.x([3, 6, 6, 2])],
      }));

  defCase('pooling2d_max',
      'MaxPooling2D poolSize 2 (strides = poolSize, valid); poolSize [3,2] strides [2,1] same; poolSize 3 ' +
      'strides 2 valid channelsFirst; on input [7,9,3]; three outputs.',
      (h) => {
        const x = tf.input({shape: [7, 9, 3]});
        const o1 = L.maxPooling2d({poolSize: 2}).apply(x);
        const o2 = L.maxPooling2d({poolSize: [3, 2], strides: [2, 1], padding: 'same'}).apply(x);
        const o3 = L.maxPooling2d({poolSize: 3, strides: 2, dataFormat: 'channelsFirst'}).apply(x);
        return {model: funcModel(tf, x, [o1, o2, o3]), inputs: [h.x([3, 7, 9, 3])]};
      });

  defCase('pooling2d_avg',
      'AveragePooling2D poolSize 2 valid; poolSize 3 strides 2 same (edge windows average only the real ' +
      'pixels); poolSize [2,3] strides 1 same channelsFirst; on input [7,9,3]; three outputs.',
      (h) => {
        const x = tf.input({shape: [7, 9, 3]});
        const o1 = L.averagePooling2d({poolSize: 2}).apply(x);
        const o2 = L.averagePooling2d({poolSize: 3, strides: 2, padding: 'same'}).apply(x);
        const o3 = L.averagePooling2d({poolSize: [2, 3], strides: 1, padding: 'same',
          dataFormat: 'channelsFirst'}).apply(x);
        return {model: funcModel(tf, x, [o1, o2, o3]), inputs: [h.x([3, 7, 9, 3])]};
      });

  defCase('pooling2d_global',
      'GlobalAveragePooling2D and GlobalMaxPooling2D, channelsLast and channelsFirst, on a Conv2D(4, 3, same) ' +
      'output of input [6,5,2]; four outputs.',
      (h) => {
        const x = tf.input({shape: [6, 5, 2]});
        const c = L.conv2d({filters: 4, kernelSize: 3, padding: 'same'}).apply(x);
        const outs = [L.globalAveragePooling2d({}).apply(c), L.globalMaxPooling2d({}).apply(c),
          L.globalAveragePooling2d({dataFormat: 'channelsFirst'}).apply(c),
          L.globalMaxPooling2d({dataFormat: 'channelsFirst'}).apply(c)];
        return {model: funcModel(tf, x, outs), inputs: [h.x([3, 6, 5, 2])]};
      });

  defCase('zero_padding2d',
      'ZeroPadding2D default (1), padding 2, [1,2], [[0,2],[3,1]], and [[2,0],[1,1]] channelsFirst, on input ' +
      '[4,5,3]; five outputs.',
      (h) => {
        const x = tf.input({shape: [4, 5, 3]});
        const outs = [L.zeroPadding2d({}), L.zeroPadding2d({padding: 2}), L.zeroPadding2d({padding: [1, 2]}),
          L.zeroPadding2d({padding: [[0, 2], [3, 1]]}),
          L.zeroPadding2d({padding: [[2, 0], [1, 1]], dataFormat: 'channelsFirst'})].map((l) => l.apply(x));
        return {model: funcModel(tf, x, outs), inputs: [h.x([2, 4, 5, 3])]};
      });

  defCase('cropping2d',
      'Cropping2D 1, [1,2], [[0,2],[3,1]], and [[2,0],[1,1]] channelsFirst, on input [6,7,4]; four outputs.',
      (h) => {
        const x = tf.input({shape: [6, 7, 4]});
        const outs = [L.cropping2D({cropping: 1}), L.cropping2D({cropping: [1, 2]}),
          L.cropping2D({cropping: [[0, 2], [3, 1]]}),
          L.cropping2D({cropping: [[2, 0], [1, 1]], dataFormat: 'channelsFirst'})].map((l) => l.apply(x));
        return {model: funcModel(tf, x, outs), inputs: [h.x([2, 6, 7, 4])]};
      });

  defCase('upsampling2d',
      'UpSampling2D nearest size 2 (default), [2,3], and [3,2] channelsFirst, on input [3,4,2]; three outputs.',
      (h) => {
        const x = tf.input({shape: [3, 4, 2]});
        const outs = [L.upSampling2d({}), L.upSampling2d({size: [2, 3]}),
          L.upSampling2d({size: [3, 2], dataFormat: 'channelsFirst'})].map((l) => l.apply(x));
        return {model: funcModel(tf, x, outs), inputs: [h.x([2, 3, 4, 2])]};
      });

  defCase('upsampling2d_bilinear',
      'UpSampling2D bilinear [2,3], [3,2], and [2,2] channelsFirst, on input [3,4,2]: TF.js resizeBilinear ' +
      'samples at pixel corners (alignCorners false, no half-pixel centres), where Keras samples at pixel ' +
      'centres, so Keras computes other numbers; three outputs.',
      (h) => {
        const x = tf.input({shape: [3, 4, 2]});
        const outs = [L.upSampling2d({size: [2, 3], interpolation: 'bilinear'}),
          L.upSampling2d({size: [3, 2], interpolation: 'bilinear'}),
          L.upSampling2d({size: [2, 2], interpolation: 'bilinear', dataFormat: 'channelsFirst'})]
            .map((l) => l.apply(x));
        return {model: funcModel(tf, x, outs), inputs: [h.x([2, 3, 4, 2])]};
      });

  defCase('crnn_spectrogram',
      'A CRNN on a spectrogram [16 frames, 12 bins, 1]: Conv2D(6, 3, same, relu) -> BatchNormalization -> ' +
      'MaxPooling2D(2) -> Conv2D(8, 3, same, relu) -> MaxPooling2D([1,2]) -> Reshape([8, 24]) -> ' +
      'Bidirectional(LSTM(6, returnSequences)) -> Dense(5, softmax) per frame.',
      (h) => ({
        model: seqModel(tf, [
          L.conv2d({filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [16, 12, 1]}),
          L.batchNormalization({}),
          L.maxPooling2d({poolSize: 2}),
          L.conv2d({filters: 8, kernelSize: 3, padding: 'same', activation: 'relu'}),
          L.maxPooling2d({poolSize: [1, 2]}),
          L.reshape({targetShape: [8, 24]}),
          L.bidirectional({layer: L.lstm({units: 6, returnSequences: true})}),
          L.dense({units: 5, activation: 'softmax'}),
        ]),
        inputs: [h.x([3, 16, 12, 1])],
      }));

  defCase('td_conv2d_gap_gru',
      'Image sequences [5 frames, 8, 8, 2]: TimeDistributed(Conv2D(4, 3, relu)) -> ' +
      'TimeDistributed(MaxPooling2D(2)) -> TimeDistributed(GlobalAveragePooling2D) -> GRU(6) -> Dense(3).',
      (h) => ({
        model: seqModel(tf, [
          L.timeDistributed({layer: L.conv2d({filters: 4, kernelSize: 3, activation: 'relu'}),
            inputShape: [5, 8, 8, 2]}),
          L.timeDistributed({layer: L.maxPooling2d({poolSize: 2})}),
          L.timeDistributed({layer: L.globalAveragePooling2d({})}),
          L.gru({units: 6}),
          L.dense({units: 3}),
        ]),
        inputs: [h.x([3, 5, 8, 8, 2])],
      }));

  // ---- DepthwiseConv2D, SeparableConv2D, Conv2DTranspose ----------------------------------------------
  defCase('depthwise_conv2d',
      'DepthwiseConv2D kernel 3 valid (depthMultiplier 1); kernel [2,3] depthMultiplier 2, strides 2, same, relu; ' +
      'kernel 2 depthMultiplier 3 channelsFirst, no bias; on input [7,8,3]; three outputs.',
      (h) => {
        const x = tf.input({shape: [7, 8, 3]});
        const o1 = L.depthwiseConv2d({kernelSize: 3}).apply(x);
        const o2 = L.depthwiseConv2d({kernelSize: [2, 3], depthMultiplier: 2, strides: 2, padding: 'same',
          activation: 'relu'}).apply(x);
        const o3 = L.depthwiseConv2d({kernelSize: 2, depthMultiplier: 3, dataFormat: 'channelsFirst',
          useBias: false}).apply(x);
        return {model: funcModel(tf, x, [o1, o2, o3]), inputs: [h.x([2, 7, 8, 3])]};
      });

  defCase('depthwise_conv2d_dilation_ignored',
      'DepthwiseConv2D kernel 2, dilationRate 2, padding same: TF.js 4.22 saves the dilation but computes the ' +
      'undilated convolution (its call passes no dilation; "TODO(cais): Add support for dilation"); input [6,6,2].',
      (h) => ({
        model: seqModel(tf, [L.depthwiseConv2d({kernelSize: 2, dilationRate: 2, padding: 'same',
          inputShape: [6, 6, 2]})]),
        inputs: [h.x([2, 6, 6, 2])],
      }));

  defCase('separable_conv2d',
      'SeparableConv2D(4, 3) valid; SeparableConv2D(5, [2,3], strides 2, same, tanh); SeparableConv2D(3, 2, ' +
      'dilationRate 2, same, no bias); on input [7,8,3]; three outputs. (depthMultiplier > 1 is not saved by ' +
      'TF.js, see probes.)',
      (h) => {
        const x = tf.input({shape: [7, 8, 3]});
        const o1 = L.separableConv2d({filters: 4, kernelSize: 3}).apply(x);
        const o2 = L.separableConv2d({filters: 5, kernelSize: [2, 3], strides: 2, padding: 'same',
          activation: 'tanh'}).apply(x);
        const o3 = L.separableConv2d({filters: 3, kernelSize: 2, dilationRate: 2, padding: 'same',
          useBias: false}).apply(x);
        return {model: funcModel(tf, x, [o1, o2, o3]), inputs: [h.x([2, 7, 8, 3])]};
      });

  defCase('conv2d_transpose',
      'Conv2DTranspose(4, 3) valid strides 1; (3, [3,2], strides 2, same, relu); (2, 2, strides 3, valid: ' +
      'kernel smaller than stride leaves gaps); (3, 3, strides 2, same) channelsFirst; on input [4,5,3]; four ' +
      'outputs.',
      (h) => {
        const x = tf.input({shape: [4, 5, 3]});
        const o1 = L.conv2dTranspose({filters: 4, kernelSize: 3}).apply(x);
        const o2 = L.conv2dTranspose({filters: 3, kernelSize: [3, 2], strides: 2, padding: 'same',
          activation: 'relu'}).apply(x);
        const o3 = L.conv2dTranspose({filters: 2, kernelSize: 2, strides: 3}).apply(x);
        const o4 = L.conv2dTranspose({filters: 3, kernelSize: 3, strides: 2, padding: 'same',
          dataFormat: 'channelsFirst'}).apply(x);
        return {model: funcModel(tf, x, [o1, o2, o3, o4]), inputs: [h.x([2, 4, 5, 3])]};
      });

  defCase('conv2d_transpose_dilation_ignored',
      'Conv2DTranspose(2, 2, strides 1, dilationRate 2): TF.js 4.22 saves the dilation but computes (and sizes) ' +
      'the undilated transposed convolution; input [4,4,2].',
      (h) => ({
        model: seqModel(tf, [L.conv2dTranspose({filters: 2, kernelSize: 2, dilationRate: 2,
          inputShape: [4, 4, 2]})]),
        inputs: [h.x([2, 4, 4, 2])],
      }));

  defCase('conv_autoencoder',
      'A convolutional autoencoder: Conv2D(4, 3, same, relu, strides 2) -> SeparableConv2D(6, 3, same) -> ' +
      'Conv2DTranspose(4, 3, strides 2, same, relu) -> DepthwiseConv2D(3, same) -> Conv2D(1, 1, sigmoid); input ' +
      '[8,8,1].',
      (h) => ({
        model: seqModel(tf, [
          L.conv2d({filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu',
            inputShape: [8, 8, 1]}),
          L.separableConv2d({filters: 6, kernelSize: 3, padding: 'same'}),
          L.conv2dTranspose({filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu'}),
          L.depthwiseConv2d({kernelSize: 3, padding: 'same'}),
          L.conv2d({filters: 1, kernelSize: 1, activation: 'sigmoid'}),
        ]),
        inputs: [h.x([2, 8, 8, 1])],
      }));

  // ---- preprocessing: Rescaling, Resizing, CenterCrop, CategoryEncoding ---------------------------------
  defCase('rescaling',
      'Rescaling scale 1/127.5 offset -1 and scale 2 (no offset) on image input [4,5,3] of values in [0, 255); ' +
      'two outputs.',
      (h) => {
        const x = tf.input({shape: [4, 5, 3]});
        const outs = [L.rescaling({scale: 1 / 127.5, offset: -1}).apply(x), L.rescaling({scale: 2}).apply(x)];
        return {model: funcModel(tf, x, outs), inputs: [h.x([2, 4, 5, 3], 0, 255)]};
      });

  defCase('center_crop',
      'CenterCrop [4,5] and [3,7] of input [7,8,2] (TF.js samples the box with cropAndResize nearest, and moves ' +
      'a one-column margin to the left edge), and [7,6] (rows kept); three outputs (a crop larger than the ' +
      'input fails in TF.js: see probes). Each CenterCrop follows its own ZeroPadding2D(0): TF.js\'s CenterCrop writes its output ' +
      'size into its input\'s shape, which breaks a model whose input feeds it directly (see probes).',
      (h) => {
        const x = tf.input({shape: [7, 8, 2]});
        const outs = [[4, 5], [3, 7], [7, 6]].map(([height, width]) =>
          L.centerCrop({height, width}).apply(L.zeroPadding2d({padding: 0}).apply(x)));
        return {model: funcModel(tf, x, outs), inputs: [h.x([2, 7, 8, 2])]};
      });

  defCase('category_encoding',
      'CategoryEncoding numTokens 6: multiHot (default) and count over int32 ids [5]; oneHot over ids [1]; two ' +
      'inputs, three outputs. Each follows its own Reshape: TF.js\'s CategoryEncoding writes its output size ' +
      'into its input\'s shape (see probes).',
      (h) => {
        const ids = tf.input({shape: [5], dtype: 'int32'});
        const one = tf.input({shape: [1], dtype: 'int32'});
        const outs = [L.categoryEncoding({numTokens: 6}).apply(L.reshape({targetShape: [5]}).apply(ids)),
          L.categoryEncoding({numTokens: 6, outputMode: 'count'}).apply(L.reshape({targetShape: [5]}).apply(ids)),
          L.categoryEncoding({numTokens: 6, outputMode: 'oneHot'}).apply(L.reshape({targetShape: [1]}).apply(one))];
        const idVals = (n, width) => ({dtype: 'int32', shape: [n, width],
          data: Int32Array.from({length: n * width}, () => Math.floor(h.rng() * 6))});
        return {model: funcModel(tf, [ids, one], outs), inputs: [idVals(4, 5), idVals(4, 1)]};
      });

  defCase('preprocessing_front_end',
      'A browser front end: Rescaling(1/255, offset -0.5) -> Conv2D(4, 3, same, relu) -> CenterCrop [6,6] -> ' +
      'Conv2D(4, 3, relu) -> GlobalAveragePooling2D -> Dense(3, softmax), on input [8,9,3] of values in [0, 255).',
      (h) => ({
        model: seqModel(tf, [L.rescaling({scale: 1 / 255, offset: -0.5, inputShape: [8, 9, 3]}),
          L.conv2d({filters: 4, kernelSize: 3, padding: 'same', activation: 'relu'}),
          L.centerCrop({height: 6, width: 6}), L.conv2d({filters: 4, kernelSize: 3, activation: 'relu'}),
          L.globalAveragePooling2d({}), L.dense({units: 3, activation: 'softmax'})]),
        inputs: [h.x([2, 8, 9, 3], 0, 255)],
      }));

  defCase('pooling1d_max',
      'MaxPooling1D poolSize 2 (strides default = poolSize, valid) and poolSize 3 strides 2 padding same; ' +
      'input [9,3], two outputs.',
      (h) => {
        const x = tf.input({shape: [9, 3]});
        const o1 = L.maxPooling1d({poolSize: 2}).apply(x);
        const o2 = L.maxPooling1d({poolSize: 3, strides: 2, padding: 'same'}).apply(x);
        return {model: funcModel(tf, x, [o1, o2]), inputs: [h.x([3, 9, 3])]};
      });

  defCase('pooling1d_avg',
      'AveragePooling1D poolSize 3 strides 2 valid, and poolSize 2 strides 1 same (edge windows average only ' +
      'real elements), after Conv1D(3, 2); input [8,2], two outputs.',
      (h) => {
        const x = tf.input({shape: [8, 2]});
        const c = L.conv1d({filters: 3, kernelSize: 2}).apply(x);
        const o1 = L.averagePooling1d({poolSize: 3, strides: 2}).apply(c);
        const o2 = L.averagePooling1d({poolSize: 2, strides: 1, padding: 'same'}).apply(c);
        return {model: funcModel(tf, x, [o1, o2]), inputs: [h.x([3, 8, 2])]};
      });

  defCase('pooling1d_global',
      'GlobalAveragePooling1D and GlobalMaxPooling1D on a Conv1D(4, 3, same) output; input [7,3], two outputs.',
      (h) => {
        const x = tf.input({shape: [7, 3]});
        const c = L.conv1d({filters: 4, kernelSize: 3, padding: 'same'}).apply(x);
        const o1 = L.globalAveragePooling1d().apply(c);
        const o2 = L.globalMaxPooling1d().apply(c);
        return {model: funcModel(tf, x, [o1, o2]), inputs: [h.x([3, 7, 3])]};
      });

  defCase('embedding_mask_global_avg_pool',
      'int32 ids -> Embedding(10, 3, maskZero) -> GlobalAveragePooling1D -> Dense(2): TF.js ignores the mask ' +
      'and averages every step (Keras averages the unmasked steps only). Padded ids, input [6].',
      (h) => {
        const input = tf.input({shape: [6], dtype: 'int32'});
        let y = L.embedding({inputDim: 10, outputDim: 3, maskZero: true}).apply(input);
        y = L.globalAveragePooling1d().apply(y);
        y = L.dense({units: 2}).apply(y);
        return {model: funcModel(tf, input, y), inputs: [h.ids([4, 6], 10, MASK_ROWS_6)]};
      }, {weightRanges: {embeddings: 1.0}});

  defCase('conv_pool_lstm',
      'Front end Conv1D(6, 3, relu, same) -> MaxPooling1D(2) -> LSTM(5) -> Dense(2), input [10,3].',
      (h) => ({
        model: seqModel(tf, [
          L.conv1d({filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [10, 3]}),
          L.maxPooling1d({poolSize: 2}),
          L.lstm({units: 5}),
          L.dense({units: 2}),
        ]),
        inputs: [h.x([3, 10, 3])],
      }));

  // ---- advanced activation layers ---------------------------------------------------------
  defCase('advanced_activations',
      'Dense(5) on input [4,3], then ReLU(maxValue 0.8), LeakyReLU(alpha 0.2), ELU (alpha 1.0: TF.js rejects ' +
      'other values), PReLU (alpha weights [4,5]), Softmax (axis -1: TF.js rejects others), ThresholdedReLU ' +
      '(theta 0.4); six outputs.',
      (h) => {
        const x = tf.input({shape: [4, 3]});
        const d = L.dense({units: 5}).apply(x);
        const outs = [
          L.reLU({maxValue: 0.8}).apply(d),
          L.leakyReLU({alpha: 0.2}).apply(d),
          L.elu({alpha: 1.0}).apply(d),
          L.prelu().apply(d),
          L.softmax({axis: -1}).apply(d),
          L.thresholdedReLU({theta: 0.4}).apply(d),
        ];
        return {model: funcModel(tf, x, outs), inputs: [h.x([3, 4, 3])]};
      }, {weightRanges: {alpha: [0.05, 0.5]}});

  // ---- several inputs / outputs, shared layer --------------------------------------------
  defCase('multi_io_shared_lstm',
      'Two inputs a [6,3] and b [4,3] (different lengths); one SHARED LSTM(5) applied to a (node 0) and b ' +
      '(node 1); outputs in the order [head_b (Dense 2 on node 1), head_ab (Dense 3 on concat)].',
      (h) => {
        const a = tf.input({shape: [6, 3], name: 'seq_a'});
        const b = tf.input({shape: [4, 3], name: 'seq_b'});
        const shared = L.lstm({units: 5, name: 'shared_lstm'});
        const ha = shared.apply(a);
        const hb = shared.apply(b);
        const headB = L.dense({units: 2, name: 'head_b'}).apply(hb);
        const headAB = L.dense({units: 3, activation: 'tanh', name: 'head_ab'})
            .apply(L.concatenate().apply([hb, ha]));
        return {model: funcModel(tf, [a, b], [headB, headAB]), inputs: [h.x([3, 6, 3]), h.x([3, 4, 3])]};
      });

  // ---- storage variants -------------------------------------------------------------------
  defCase('nested_sequential_shared',
      'A tf.sequential [LSTM(4) on [5,3], Dense(2)] used as a layer of a functional model and called on two ' +
      'inputs (TF.js saves the calls as node 1 and 2: the nested model\'s own node is 0); outputs ' +
      '[Dense(3) of both, second branch].',
      (h) => {
        const inner = tf.sequential({layers: [L.lstm({units: 4, inputShape: [5, 3]}), L.dense({units: 2})]});
        const a = tf.input({shape: [5, 3]});
        const b = tf.input({shape: [5, 3]});
        const ya = inner.apply(a);
        const yb = inner.apply(b);
        const out = L.dense({units: 3}).apply(L.concatenate().apply([ya, yb]));
        return {model: funcModel(tf, [a, b], [out, yb]), inputs: [h.x([3, 5, 3]), h.x([3, 5, 3])]};
      });

  defCase('td_nested_sequential',
      'TimeDistributed over a nested tf.sequential [Dense(4, tanh) on [6], Dense(3)], then LSTM(2): a model as ' +
      'the layer TimeDistributed applies at every step (its weights are named by the inner layers), input [5,6].',
      (h) => {
        const inner = tf.sequential({layers: [L.dense({units: 4, activation: 'tanh', inputShape: [6]}),
          L.dense({units: 3})]});
        const x = tf.input({shape: [5, 6]});
        const y = L.lstm({units: 2, returnSequences: true}).apply(L.timeDistributed({layer: inner}).apply(x));
        return {model: funcModel(tf, x, y), inputs: [h.x([3, 5, 6])]};
      });

  defCase('nested_functional_masked',
      'A functional model [Masking(0) -> LSTM(4, returnSequences)] used as a layer, followed by LSTM(3): the ' +
      'mask made inside the nested model reaches the outer LSTM. Padded rows, input [6,3].',
      (h) => {
        const ix = tf.input({shape: [6, 3]});
        const inner = funcModel(tf, ix, L.lstm({units: 4, returnSequences: true}).apply(
            L.masking({maskValue: 0}).apply(ix)));
        const x = tf.input({shape: [6, 3]});
        const y = L.lstm({units: 3}).apply(inner.apply(x));
        return {model: funcModel(tf, x, y), inputs: [h.maskedSeq([4, 6, 3], MASK_ROWS_6)]};
      });

  defCase('stale_mask_autoencoder',
      'Embedding(10, 3, maskZero) -> LSTM(4) -> RepeatVector(6) -> LSTM(3, returnSequences) -> ' +
      'TimeDistributed(Dense(2)). TF.js\'s executor keeps the last mask it passed in a shared kwargs object, so ' +
      'the decoder LSTM (whose input has no mask) is masked with the ENCODER\'s mask. Keras would not mask it.',
      (h) => {
        const input = tf.input({shape: [6], dtype: 'int32'});
        let y = L.embedding({inputDim: 10, outputDim: 3, maskZero: true}).apply(input);
        y = L.lstm({units: 4}).apply(y);
        y = L.repeatVector({n: 6}).apply(y);
        y = L.lstm({units: 3, returnSequences: true}).apply(y);
        y = L.timeDistributed({layer: L.dense({units: 2})}).apply(y);
        return {model: funcModel(tf, input, y), inputs: [h.ids([4, 6], 10, MASK_ROWS_6)]};
      }, {weightRanges: {embeddings: 1.0}});

  defCase('stale_mask_two_branches',
      'Branch A: Masking(0) -> LSTM(3); branch B: LSTM(3) on an unmasked input; Concatenate([B, A]). TF.js runs ' +
      'branch A first (its depth-first order takes the last input first), so B\'s LSTM gets A\'s stale mask.',
      (h) => {
        const a = tf.input({shape: [6, 3]});
        const b = tf.input({shape: [6, 2]});
        const ya = L.lstm({units: 3}).apply(L.masking({maskValue: 0}).apply(a));
        const yb = L.lstm({units: 3}).apply(b);
        const out = L.concatenate().apply([yb, ya]);
        return {model: funcModel(tf, [a, b], out), inputs: [h.maskedSeq([4, 6, 3], MASK_ROWS_6), h.x([4, 6, 2])]};
      });

  defCase('stale_mask_longer_than_sequence',
      'Embedding(10, 3, maskZero) on 6 steps -> LSTM(4) -> RepeatVector(4) -> LSTM(2) and LSTM(2, goBackwards), ' +
      'both returnSequences, concatenated: the stale 6-step encoder mask reaches 4-step decoders, and TF.js reads ' +
      'its first 4 steps (after reversing it for goBackwards).',
      (h) => {
        const input = tf.input({shape: [6], dtype: 'int32'});
        let y = L.embedding({inputDim: 10, outputDim: 3, maskZero: true}).apply(input);
        y = L.repeatVector({n: 4}).apply(L.lstm({units: 4}).apply(y));
        const f = L.lstm({units: 2, returnSequences: true}).apply(y);
        const b = L.lstm({units: 2, returnSequences: true, goBackwards: true}).apply(y);
        return {model: funcModel(tf, input, L.concatenate().apply([f, b])),
          inputs: [h.ids([4, 6], 10, MASK_ROWS_6)]};
      }, {weightRanges: {embeddings: 1.0}});

  defCase('merge_add_drops_second_mask',
      'Dense(3) on input a + Masking(0) on input b -> Add -> LSTM(4, returnSequences): TF.js\'s ' +
      'Merge.computeMask keeps only the FIRST input\'s mask (none here), so the LSTM runs unmasked. Inputs [6,3].',
      (h) => {
        const a = tf.input({shape: [6, 3]});
        const b = tf.input({shape: [6, 3]});
        const sum = L.add().apply([L.dense({units: 3}).apply(a), L.masking({maskValue: 0}).apply(b)]);
        const y = L.lstm({units: 4, returnSequences: true}).apply(sum);
        return {model: funcModel(tf, [a, b], y), inputs: [h.x([4, 6, 3]), h.maskedSeq([4, 6, 3], MASK_ROWS_6)]};
      });

  defCase('stale_mask_through_conv',
      'Masking(0) -> Conv1D(4, 3, same) -> LSTM(3, returnSequences): Conv1D passes no mask on, but TF.js\'s shared ' +
      'kwargs still hold the Masking mask, so the LSTM is masked anyway. Padded rows, input [6,3].',
      (h) => ({
        model: seqModel(tf, [L.masking({maskValue: 0, inputShape: [6, 3]}),
          L.conv1d({filters: 4, kernelSize: 3, padding: 'same'}), L.lstm({units: 3, returnSequences: true})]),
        inputs: [h.maskedSeq([4, 6, 3], MASK_ROWS_6)],
      }));

  defCase('stateful_return_state_both_used',
      'Stateful LSTM(3, returnSequences, returnState) batchShape [2,4,3] whose sequence AND h are model outputs: ' +
      'TF.js applies the layer once per needed output tensor, so the state advances twice per predict. Three calls.',
      (h) => {
        const input = tf.input({batchShape: [2, 4, 3]});
        const [seq, hState] = L.lstm({units: 3, stateful: true, returnSequences: true, returnState: true})
            .apply(input);
        const model = funcModel(tf, input, [seq, hState]);
        return {
          model,
          calls: [
            {reset_states: false, inputs: [h.x([2, 4, 3])]},
            {reset_states: false, inputs: [h.x([2, 4, 3])]},
            {reset_states: true, inputs: [h.x([2, 4, 3])]},
          ],
        };
      });

  defCase('bidi_lstm_return_state',
      'Bidirectional(LSTM(3, returnSequences, returnState)) concat: outputs [merged sequence, h_fw, c_fw, h_bw, ' +
      'c_bw] (all from one layer call), input [5,3].',
      (h) => {
        const x = tf.input({shape: [5, 3]});
        const outs = L.bidirectional({layer: L.lstm({units: 3, returnSequences: true, returnState: true})}).apply(x);
        return {model: funcModel(tf, x, outs), inputs: [h.x([3, 5, 3])]};
      });

  defCase('stateful_masked_gru_backwards',
      'Masking(0) -> stateful GRU(3, goBackwards, returnSequences) with batchShape [2,6,3]: padded rows, state ' +
      'carried across two calls, then resetStates before a third.',
      (h) => {
        const x = tf.input({batchShape: [2, 6, 3]});
        const y = L.gru({units: 3, stateful: true, goBackwards: true, returnSequences: true})
            .apply(L.masking({maskValue: 0}).apply(x));
        const rows = [['111100', '001111'], ['110101', '111111'], ['111111', '000111']];
        return {
          model: funcModel(tf, x, y),
          calls: rows.map((r, i) => ({reset_states: i === 2, inputs: [h.maskedSeq([2, 6, 3], r)]})),
        };
      });

  defCase('timedistributed_lstm_4d',
      'TimeDistributed(LSTM(3)) on a 4-D input [4,5,3] (an LSTM over each of 4 sequences), then Dense(2).',
      (h) => {
        const x = tf.input({shape: [4, 5, 3]});
        const y = L.dense({units: 2}).apply(L.timeDistributed({layer: L.lstm({units: 3})}).apply(x));
        return {model: funcModel(tf, x, y), inputs: [h.x([3, 4, 5, 3])]};
      });

  defCase('simple_rnn_go_backwards_masked',
      'Masking(0) -> SimpleRNN(4, goBackwards, returnSequences): padded rows read backwards. Input [6,3].',
      (h) => ({
        model: seqModel(tf, [L.masking({maskValue: 0, inputShape: [6, 3]}),
          L.simpleRNN({units: 4, goBackwards: true, returnSequences: true})]),
        inputs: [h.maskedSeq([4, 6, 3], MASK_ROWS_6)],
      }));

  defCase('td_rnn_stale_mask',
      'Masking(a) -> Dense; TimeDistributed(SimpleRNN(3)) on b [3,2,2]: TF.js\'s TimeDistributed hands the inner ' +
      'RNN its call\'s kwargs at every step, so the stale Masking mask masks the inner RNN. Outputs [dense, td].',
      (h) => {
        const a = tf.input({shape: [4, 3]});
        const b = tf.input({shape: [3, 2, 2]});
        const masked = L.dense({units: 2}).apply(L.masking({maskValue: 0}).apply(a));
        const y = L.timeDistributed({layer: L.simpleRNN({units: 3})}).apply(b);
        return {model: funcModel(tf, [a, b], [masked, y]),
          inputs: [h.maskedSeq([4, 4, 3], ['1111', '0011', '0111', '1100']), h.x([4, 3, 2, 2])]};
      });

  defCase('repeat_call_stale_mask',
      'LSTM(3, returnState) on a; outputs [h, Dense(Masking(b)), c]: TF.js applies the LSTM once per needed ' +
      'output; the second run (for c) sees b\'s stale mask, and the model returns that run for h and c.',
      (h) => {
        const a = tf.input({shape: [4, 3]});
        const b = tf.input({shape: [4, 2]});
        const [, hs, cs] = L.lstm({units: 3, returnState: true}).apply(a);
        const m = L.dense({units: 2}).apply(L.masking({maskValue: 0}).apply(b));
        return {model: funcModel(tf, [a, b], [hs, m, cs]),
          inputs: [h.x([3, 4, 3]), h.maskedSeq([3, 4, 2], ['1111', '1100', '0011'])]};
      });

  defCase('merged_mask_rnn',
      'Add([Masking(a), b]) -> LSTM(3, returnSequences), batch 4, 3 steps: TF.js\'s merged mask has shape ' +
      '[1,4,3]; its rnn() transposes it to [4,1,3] and step t uses SAMPLE t\'s mask row, broadcast over units.',
      (h) => {
        const a = tf.input({shape: [3, 2]});
        const b = tf.input({shape: [3, 2]});
        const sum = L.add().apply([L.masking({maskValue: 0}).apply(a), b]);
        const y = L.lstm({units: 3, returnSequences: true}).apply(sum);
        return {model: funcModel(tf, [a, b], y),
          inputs: [h.maskedSeq([4, 3, 2], ['111', '011', '101', '110']), h.x([4, 3, 2])]};
      });

  defCase('softmax_stale_mask_broadcast',
      'Masking -> LSTM(4) -> Dense(1) -> Softmax(-1): the stale [4,3] mask broadcasts the [4,1] logits to [4,3], ' +
      'so TF.js returns a [4,3] output although the model declares [null,1].',
      (h) => ({
        model: seqModel(tf, [L.masking({maskValue: 0, inputShape: [3, 2]}), L.lstm({units: 4}),
          L.dense({units: 1}), L.softmax({axis: -1})]),
        inputs: [h.maskedSeq([4, 3, 2], ['111', '011', '110', '010'])],
      }));

  defCase('reload_shared_node_order',
      'Shared Dense: call 0 on ReLU(x), call 1 on x. TF.js\'s loader makes call 1 first (its input exists ' +
      'sooner), so the file\'s [dense, 0] then means the call on x: the reloaded model differs from the one ' +
      'that saved it. Recorded: the reloaded model, which is what a browser loading the file runs.',
      (h) => {
        const x = tf.input({shape: [3]});
        const relu = L.reLU().apply(x);
        const dense = L.dense({units: 2});
        const d0 = dense.apply(relu);
        const d1 = dense.apply(x);
        const g = L.globalMaxPooling1d().apply(L.repeatVector({n: 2}).apply(d1));
        return {model: funcModel(tf, x, L.concatenate().apply([g, d0])), inputs: [h.x([3, 3])]};
      }, {reloadDiffers: true});

  defCase('multishard',
      'LSTM(64) returnSequences:false on input [5,8] -> Dense(3), saved with shardSizeBytes 4096: 19 shards, ' +
      'tensors straddle shard files.',
      (h) => ({
        model: seqModel(tf, [L.lstm({units: 64, inputShape: [5, 8]}), L.dense({units: 3})]),
        inputs: [h.x([3, 5, 8])],
      }), {save: {shardSizeBytes: 4096}, weightRange: 0.3});

  for (const q of ['uint8', 'uint16', 'float16']) {
    defCase(`quantized_${q}`,
        `LSTM(8, returnSequences) -> Dense(3) on input [6,4], every float32 weight quantized to ${q} exactly as ` +
        'the Python converter does; expected outputs are TF.js\'s predictions from the dequantized weights.',
        (h) => ({
          model: seqModel(tf, [L.lstm({units: 8, returnSequences: true, inputShape: [6, 4]}),
            L.dense({units: 3})]),
          inputs: [h.x([3, 6, 4])],
        }), {save: {quantize: q}, seedName: 'quantized'});
  }

  defCase('converter_wrapper',
      'LSTM(4) -> Dense(2) saved with the Python converter\'s topology wrapper {keras_version: "2.15.0", ' +
      'backend: "tensorflow", model_config: {...}}; TF.js loads it.',
      (h) => ({
        model: seqModel(tf, [L.lstm({units: 4, inputShape: [5, 3]}), L.dense({units: 2})]),
        inputs: [h.x([3, 5, 3])],
      }), {save: {wrapConverter: {keras_version: '2.15.0', backend: 'tensorflow'}}});

  defCase('with_optimizer',
      'LSTM(4) -> Dense(2) compiled with adam/meanSquaredError, fitted 1 epoch on one batch (shuffle off), ' +
      'saved with includeOptimizer:true: manifest carries group "optimizer" entries and trainingConfig.',
      (h) => {
        const model = seqModel(tf, [L.lstm({units: 4, inputShape: [5, 3]}), L.dense({units: 2})]);
        return {model, inputs: [h.x([3, 5, 3])], fit: {x: h.x([4, 5, 3]), y: h.x([4, 2], -1, 1)}};
      }, {save: {includeOptimizer: true}});

  defCase('unsupported_conv3d',
      'Conv3D(2, 2x2x2) -> Flatten -> Dense(3) on input [4,4,4,1]: a layer TF.js runs but our runtime does ' +
      'not support (expect a clear "unsupported layer" error).',
      (h) => ({
        model: seqModel(tf, [L.conv3d({filters: 2, kernelSize: 2, inputShape: [4, 4, 4, 1]}),
          L.flatten(), L.dense({units: 3})]),
        inputs: [h.x([3, 4, 4, 4, 1])],
      }));

  // ---- probes (no fixture) --------------------------------------------------------------------
  defProbe('probe_gelu_new',
      'Dense with activation gelu_new: saved as "gelu_new", reload in TF.js?',
      (h) => ({
        model: seqModel(tf, [L.dense({units: 3, activation: 'gelu_new', inputShape: [4]})]),
        inputs: [h.x([3, 4])],
      }));

  defProbe('probe_return_state_output_and_h_feed_layers',
      'LSTM(4) returnState, returnSequences:false, with BOTH the output (tensor 0) and h (tensor 1) feeding ' +
      'Dense layers (output and h are the same tensor in TF.js).',
      (h) => {
        const input = tf.input({shape: [5, 3]});
        const [o, sh] = L.lstm({units: 4, returnState: true}).apply(input);
        return {model: funcModel(tf, input, [L.dense({units: 2}).apply(o), L.dense({units: 2}).apply(sh)]),
          inputs: [h.x([3, 5, 3])]};
      });

  defProbe('probe_masked_add_lstm',
      'Two masked LSTM(4, returnSequences) branches -> Add -> LSTM(3).',
      (h) => {
        const x1 = tf.input({shape: [6, 3]});
        const x2 = tf.input({shape: [6, 3]});
        const s1 = L.lstm({units: 4, returnSequences: true}).apply(L.masking({maskValue: 0}).apply(x1));
        const s2 = L.lstm({units: 4, returnSequences: true}).apply(L.masking({maskValue: 0}).apply(x2));
        const o = L.lstm({units: 3}).apply(L.add().apply([s1, s2]));
        return {model: funcModel(tf, [x1, x2], o),
          inputs: [h.maskedSeq([4, 6, 3], MASK_ROWS_6), h.maskedSeq([4, 6, 3], MASK_ROWS_6)]};
      });

  defProbe('probe_conv1d_causal',
      'Conv1D padding causal.',
      (h) => ({
        model: seqModel(tf, [L.conv1d({filters: 3, kernelSize: 3, padding: 'causal', inputShape: [9, 3]})]),
        inputs: [h.x([3, 9, 3])],
      }));

  defProbe('probe_conv2d_strides_and_dilation',
      'Conv2D with strides 2 and dilationRate 2 together.',
      (h) => ({
        model: seqModel(tf, [L.conv2d({filters: 2, kernelSize: 2, strides: 2, dilationRate: 2,
          inputShape: [7, 7, 2]})]),
        inputs: [h.x([2, 7, 7, 2])],
      }));

  defProbe('probe_conv2d_causal',
      'Conv2D padding causal.',
      (h) => ({
        model: seqModel(tf, [L.conv2d({filters: 2, kernelSize: 2, padding: 'causal', inputShape: [5, 5, 2]})]),
        inputs: [h.x([2, 5, 5, 2])],
      }));

  defProbe('probe_upsampling2d_bicubic',
      'UpSampling2D interpolation bicubic (Keras has it).',
      (h) => ({
        model: seqModel(tf, [L.upSampling2d({size: 2, interpolation: 'bicubic', inputShape: [3, 3, 1]})]),
        inputs: [h.x([2, 3, 3, 1])],
      }));

  defProbe('probe_separable_conv2d_channels_first',
      'SeparableConv2D(4, 3) with dataFormat channelsFirst and a bias, on input [3,7,8].',
      (h) => ({
        model: seqModel(tf, [L.separableConv2d({filters: 4, kernelSize: 3, dataFormat: 'channelsFirst',
          inputShape: [3, 7, 8]})]),
        inputs: [h.x([2, 3, 7, 8])],
      }));

  defProbe('probe_separable_conv2d_depth_multiplier',
      'SeparableConv2D(4, 3, depthMultiplier 2) saved by TF.js and reloaded.',
      (h) => ({
        model: seqModel(tf, [L.separableConv2d({filters: 4, kernelSize: 3, depthMultiplier: 2,
          inputShape: [5, 5, 2]})]),
        inputs: [h.x([2, 5, 5, 2])],
      }));

  defProbe('probe_depthwise_conv2d_strides_and_dilation',
      'DepthwiseConv2D kernel 2 with strides 2 and dilationRate 2 (TF.js runs it, ignoring the dilation: see ' +
      'depthwise_conv2d_dilation_ignored).',
      (h) => ({
        model: seqModel(tf, [L.depthwiseConv2d({kernelSize: 2, strides: 2, dilationRate: 2,
          inputShape: [7, 7, 2]})]),
        inputs: [h.x([2, 7, 7, 2])],
      }));

  defProbe('probe_resizing',
      'Resizing [4,4] of input [7,8,2].',
      (h) => ({
        model: seqModel(tf, [L.resizing({height: 4, width: 4, inputShape: [7, 8, 2]})]),
        inputs: [h.x([2, 7, 8, 2])],
      }));

  defProbe('probe_center_crop_larger',
      'CenterCrop [9,10] (larger than the image) after a ZeroPadding2D(0) of input [7,8,2].',
      (h) => ({
        model: seqModel(tf, [L.zeroPadding2d({padding: 0, inputShape: [7, 8, 2]}),
          L.centerCrop({height: 9, width: 10})]),
        inputs: [h.x([2, 7, 8, 2])],
      }));

  defProbe('probe_center_crop_on_model_input',
      'CenterCrop [4,5] applied directly to the model input [7,8,2].',
      (h) => ({
        model: seqModel(tf, [L.centerCrop({height: 4, width: 5, inputShape: [7, 8, 2]})]),
        inputs: [h.x([2, 7, 8, 2])],
      }));

  defProbe('probe_category_encoding_out_of_range',
      'CategoryEncoding numTokens 4 (after a Reshape) fed an id of 4.',
      (h) => ({
        model: seqModel(tf, [L.reshape({targetShape: [3], inputShape: [3]}), L.categoryEncoding({numTokens: 4})]),
        inputs: [{dtype: 'float32', shape: [1, 3], data: Float32Array.from([0, 1, 4])}],
      }));

  defProbe('probe_elu_alpha',
      'ELU layer with alpha 0.7.',
      (h) => ({
        model: seqModel(tf, [L.elu({alpha: 0.7, inputShape: [4]})]),
        inputs: [h.x([3, 4])],
      }));

  defProbe('probe_softmax_axis',
      'Softmax layer with axis 1 on a rank-3 input [4,5].',
      (h) => ({
        model: seqModel(tf, [L.softmax({axis: 1, inputShape: [4, 5]})]),
        inputs: [h.x([3, 4, 5])],
      }));

  defProbe('probe_gru_reset_after',
      'GRU with resetAfter:true (Keras 2/3 default).',
      (h) => ({
        model: seqModel(tf, [L.gru({units: 3, resetAfter: true, inputShape: [4, 2]})]),
        inputs: [h.x([3, 4, 2])],
      }));
}

// ---------------------------------------------------------------------------
// Child: build, save, reload, record one case
// ---------------------------------------------------------------------------

function weightRangeFor(name, c) {
  const base = name.split('/').pop();
  const custom = c.weightRanges || {};
  for (const key of Object.keys(custom)) {
    if (base === key || base.endsWith(key)) {
      const r = custom[key];
      return Array.isArray(r) ? r : [-r, r];
    }
  }
  if (base === 'moving_variance') return [0.5, 1.5];
  if (base === 'moving_mean') return [-0.5, 0.5];
  if (base === 'gamma') return [0.8, 1.2];
  if (base === 'beta') return [-0.3, 0.3];
  if (base === 'alpha') return [0.05, 0.5];
  const r = c.weightRange != null ? c.weightRange : 0.6;
  return [-r, r];
}

function tensorFromSpec(tf, spec) {
  return tf.tensor(spec.data, spec.shape, spec.dtype);
}

function rmrf(dir) {
  fs.rmSync(dir, {recursive: true, force: true});
}

/** Checks TF.js's dequantized weights against the saved model's own (within half a quantization step). */
function checkDequantized(caseDir, model, reloaded) {
  const modelJSON = JSON.parse(fs.readFileSync(path.join(caseDir, 'model.json'), 'utf8'));
  const loadedByName = {};
  for (const v of reloaded.weights) loadedByName[v.originalName] = v.read().dataSync();
  const origByName = {};
  for (const v of model.weights) origByName[v.originalName] = v.read().dataSync();
  let maxErr = 0;
  for (const s of modelJSON.weightsManifest[0].weights) {
    const got = loadedByName[s.name];
    const orig = origByName[s.name];
    if (got == null || orig == null) throw new Error(`weight ${s.name} not found after reload`);
    const q = s.quantization;
    const bound = q.dtype === 'float16' ? 1e-3 * 1.0 : q.scale / 2 + 1e-6;
    const e = recorder.maxAbsDiff(got, orig);
    if (e > bound) throw new Error(`dequantized ${s.name} is off by ${e} (> ${bound})`);
    maxErr = Math.max(maxErr, e);
  }
  return maxErr;
}

/** The optimizer weights model.save({includeOptimizer: true}) wrote (there must be some, and a trainingConfig). */
function optimizerWeights(caseDir) {
  const modelJSON = JSON.parse(fs.readFileSync(path.join(caseDir, 'model.json'), 'utf8'));
  const opt = modelJSON.weightsManifest[0].weights.filter((w) => w.group === 'optimizer');
  if (opt.length === 0) throw new Error('includeOptimizer: no group "optimizer" entries in the manifest');
  if (modelJSON.trainingConfig == null) throw new Error('includeOptimizer: no trainingConfig in model.json');
  return opt.map((w) => w.name);
}

/** Builds the case with its seeded weights (and its one epoch of training, if any); returns {model, calls}. */
async function buildCase(tf, c) {
  const h = makeHelpers(mulberry32(fnv1a(c.seedName || c.name)));
  const built = c.build(h);
  const model = built.model;
  if (c.setWeights !== false) {
    recorder.setWeights(tf, model, (name, n) => {
      const [lo, hi] = weightRangeFor(name, c);
      return h.uniform(n, lo, hi);
    });
  }
  if (built.fit) {
    model.compile({optimizer: 'adam', loss: 'meanSquaredError'});
    const fx = tensorFromSpec(tf, built.fit.x);
    const fy = tensorFromSpec(tf, built.fit.y);
    await model.fit(fx, fy, {epochs: 1, batchSize: built.fit.x.shape[0], shuffle: false, verbose: 0});
    tf.dispose([fx, fy]);
  }
  return {model, calls: built.calls || [{reset_states: false, inputs: built.inputs}]};
}

/**
 * Records one case into outDir/<name> with the shared recorder (a probe into a temporary folder, removed after).
 * A case marked reloadDiffers pins TF.js's loader reading the file differently from the model that saved it:
 * there the reloaded predictions (the ones recorded) must differ.
 */
async function runChild(caseName, outDir, isProbe) {
  const tf = require('@tensorflow/tfjs');
  await recorder.useCpuBackend(tf);
  defineCases(tf);
  const c = (isProbe ? PROBES : CASES).find((x) => x.name === caseName);
  if (c == null) throw new Error(`unknown case ${caseName}`);
  const {model, calls} = await buildCase(tf, c);
  const caseDir = path.join(outDir, c.name);
  const dir = isProbe ? fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-probe-')) : caseDir;
  const saveOpts = c.save || {};
  const info = {};
  try {
    const r = await recorder.record(tf, model, calls, dir, {name: c.name, description: c.description, atol: c.atol,
      save: saveOpts, reload: c.reloadDiffers ? 'differs' : 'same'});
    info.maxDiffVsInMemory = r.maxDiffVsInMemory;
    if (isProbe) return Object.assign(info, {outcome: 'reloaded and matched the in-memory model bit for bit'});
    if (saveOpts.quantize) info.maxWeightQuantError = checkDequantized(caseDir, model, r.reloaded);
    if (saveOpts.includeOptimizer) info.optimizerWeights = optimizerWeights(caseDir);
  } catch (err) {
    if (!isProbe && err.stage !== 'predict') rmrf(caseDir);
    if (err.stage === 'reload' || err.stage === 'reload-predict') {
      throw new Error(`reloading the saved model failed: ${err.message}`);
    }
    throw err;
  } finally {
    if (isProbe) rmrf(dir);
  }
  info.files = fs.readdirSync(caseDir).length;
  info.bytes = fs.readdirSync(caseDir).reduce((s, f) => s + fs.statSync(path.join(caseDir, f)).size, 0);
  return info;
}

// ---------------------------------------------------------------------------
// Parent: run cases in child processes, write README.md
// ---------------------------------------------------------------------------

function parseArgs(argv) {
  const args = {out: DEFAULT_OUT, only: null, probes: true, child: null, probe: false, list: false};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--out') args.out = path.resolve(next());
    else if (a.startsWith('--out=')) args.out = path.resolve(a.slice(6));
    else if (a === '--only') args.only = next().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a.startsWith('--only=')) args.only = a.slice(7).split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--no-probes') args.probes = false;
    else if (a === '--list') args.list = true;
    else if (a === '--child') args.child = next();
    else if (a === '--probe') args.probe = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node make_fixtures.js [--out DIR] [--only case1,case2] [--no-probes] [--list]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

function runInChild(name, outDir, isProbe) {
  return new Promise((resolve) => {
    const argv = [__filename, '--child', name, '--out', outDir];
    if (isProbe) argv.push('--probe');
    const p = spawn(process.execPath, argv, {cwd: __dirname, stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => {
      const m = /^RESULT (.*)$/m.exec(stdout);
      const result = m ? JSON.parse(m[1]) : {ok: false, error: `child exited with ${code}`};
      // Keep TF.js's own messages visible, minus the once-per-process tfjs-node advertisement.
      const noise = stderr.split('\n').filter((l) => l.trim() &&
          !/^=+$/.test(l.trim()) && !/Looks like you are running TensorFlow\.js in Node\.js/.test(l) &&
          !/^Hi,? /.test(l.trim()));
      const extraOut = stdout.split('\n').filter((l) => l.trim() && !l.startsWith('RESULT ') &&
          !/^=+$/.test(l.trim()) && !/Looks like you are running TensorFlow\.js in Node\.js/.test(l));
      result.messages = extraOut.concat(noise);
      resolve(Object.assign({name, probe: isProbe}, result));
    });
  });
}

async function pool(items, n, fn) {
  const results = new Array(items.length);
  let next = 0;
  const workers = Array.from({length: Math.min(n, items.length)}, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return results;
}

function writeReadme(outDir, probeResults) {
  const dirs = fs.readdirSync(outDir).filter((d) => fs.existsSync(path.join(outDir, d, 'expected.json'))).sort();
  const order = new Map(CASES.map((c, i) => [c.name, i]));
  dirs.sort((a, b) => (order.has(a) ? order.get(a) : 1e9) - (order.has(b) ? order.get(b) : 1e9) ||
      a.localeCompare(b));
  const lines = [];
  lines.push('# TF.js ground-truth fixtures');
  lines.push('');
  lines.push(`Generated by \`scripts/tfjs/make_fixtures.js\` with the real \`@tensorflow/tfjs\` ${TFJS_VERSION} ` +
      '(pure-JS `cpu` backend, Node 20). Do not edit by hand.');
  lines.push('');
  lines.push('Regenerate (from the repository root):');
  lines.push('');
  lines.push('```sh');
  lines.push('cd scripts/tfjs && npm ci && cd ../..');
  lines.push('node scripts/tfjs/make_fixtures.js                 # all cases -> fixtures/tfjs');
  lines.push('node scripts/tfjs/make_fixtures.js --only seed_lstm,masking_lstm_seq');
  lines.push('```');
  lines.push('');
  lines.push('How each case is made: the model is built with TF.js; every weight is set from a mulberry32 PRNG seeded');
  lines.push('by the FNV-1a hash of the case name (kernels/biases uniform in [-0.6, 0.6] unless the description says');
  lines.push('otherwise; BatchNormalization moving_variance 0.5..1.5, gamma 0.8..1.2; PReLU alpha 0.05..0.5);');
  lines.push('inputs are PRNG values in [-2, 2) (zeroed rows for masking, integer ids with 0 = padding for');
  lines.push('Embedding). The model is saved (`model.json` + `group1-shard{i}of{n}.bin`, converter layout), reloaded');
  lines.push('from disk with `tf.loadLayersModel`, and the reloaded model\'s predictions are recorded; for');
  lines.push('unquantized cases they are checked to equal the in-memory model\'s predictions bit for bit.');
  lines.push('');
  lines.push('Per case folder: `model.json`, weight shards, `expected.json`, `call{k}_input{i}.npy`,');
  lines.push('`call{k}_output{j}.npy`. `expected.json`:');
  lines.push('');
  lines.push('- `inputs` / `outputs`: model input layers and output layers in model order (`outputs[j].tensor_index`');
  lines.push('  tells which output of a multi-output layer, e.g. LSTM returnState). `shape` has `null` for the batch.');
  lines.push('- `calls`: run in order on ONE loaded model; `reset_states: true` means `model.resetStates()` was');
  lines.push('  called before that call. Input .npy dtypes are what TF.js was fed (float32, or int32 for inputs');
  lines.push('  declared int32).');
  lines.push('- `atol`: absolute tolerance a float32 runtime should meet.');
  lines.push('');
  lines.push('## Cases');
  lines.push('');
  lines.push('| case | what it pins |');
  lines.push('| --- | --- |');
  for (const d of dirs) {
    const e = JSON.parse(fs.readFileSync(path.join(outDir, d, 'expected.json'), 'utf8'));
    lines.push(`| \`${d}\` | ${e.description.replace(/\|/g, '\\|')} |`);
  }
  lines.push('');
  const probes = probeResults && probeResults.length ? probeResults : null;
  if (probes) {
    lines.push('## Probes (no fixture)');
    lines.push('');
    lines.push(`Experiments that give no fixture with TF.js ${TFJS_VERSION}; outcome as observed by this run:`);
    lines.push('');
    for (const p of probes) {
      const def = PROBES.find((x) => x.name === p.name);
      const outcome = p.ok ? (p.outcome || 'worked') : `FAILED: ${p.error}`;
      lines.push(`- \`${p.name}\`: ${def ? def.description : ''} -> ${outcome.replace(/\s+/g, ' ')}`);
    }
    lines.push('');
  }
  fs.writeFileSync(path.join(outDir, 'README.md'), lines.join('\n'));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));

  if (args.child) {
    try {
      const info = await runChild(args.child, args.out, args.probe);
      process.stdout.write(`RESULT ${JSON.stringify(Object.assign({ok: true}, info))}\n`);
    } catch (err) {
      const msg = err && err.message ? err.message : String(err);
      process.stdout.write(`RESULT ${JSON.stringify({ok: false, error: msg})}\n`);
      if (process.env.FIXTURES_DEBUG) process.stderr.write(`${err.stack}\n`);
    }
    return;
  }

  // Case definitions only need the layer constructors for names; build them with a stub-free tf.
  const tf = require('@tensorflow/tfjs');
  defineCases(tf);
  if (args.list) {
    for (const c of CASES) process.stdout.write(`${c.name}\n`);
    for (const p of PROBES) process.stdout.write(`${p.name} (probe)\n`);
    return;
  }
  let selected = CASES;
  if (args.only) {
    const unknown = args.only.filter((n) => !CASES.some((c) => c.name === n));
    if (unknown.length) throw new Error(`unknown case(s): ${unknown.join(', ')}`);
    selected = CASES.filter((c) => args.only.includes(c.name));
  }
  // Probes are cheap and feed README.md, so they always run (unless --no-probes).
  const selectedProbes = args.probes ? PROBES : [];
  fs.mkdirSync(args.out, {recursive: true});

  const t0 = Date.now();
  const jobs = selected.map((c) => ({name: c.name, probe: false}))
      .concat(selectedProbes.map((p) => ({name: p.name, probe: true})));
  const nproc = Math.max(1, Math.min(4, os.cpus().length));
  const results = await pool(jobs, nproc, async (j) => {
    const r = await runInChild(j.name, args.out, j.probe);
    const status = r.ok ? 'ok ' : (r.probe ? 'prb' : 'ERR');
    let detail = '';
    if (r.ok && !r.probe) {
      detail = `${r.files} files, ${r.bytes} bytes`;
      if (r.maxWeightQuantError != null) {
        detail += `, max |dequantized-original| weight ${r.maxWeightQuantError.toExponential(2)}, ` +
            `max |reloaded-in-memory| output ${r.maxDiffVsInMemory.toExponential(2)}`;
      }
      if (r.optimizerWeights) detail += `, optimizer weights: ${r.optimizerWeights.join(', ')}`;
    } else if (r.ok) {
      detail = r.outcome;
    } else {
      detail = r.error;
    }
    process.stdout.write(`[${status}] ${j.name}${j.probe ? ' (probe)' : ''}: ${detail}\n`);
    for (const m of r.messages || []) process.stdout.write(`      | ${m}\n`);
    return r;
  });

  const caseResults = results.filter((r) => !r.probe);
  const probeResults = results.filter((r) => r.probe);
  writeReadme(args.out, probeResults);
  const failed = caseResults.filter((r) => !r.ok);
  let total = 0;
  const walk = (d) => {
    for (const f of fs.readdirSync(d)) {
      const p = path.join(d, f);
      const st = fs.statSync(p);
      if (st.isDirectory()) walk(p);
      else total += st.size;
    }
  };
  walk(args.out);
  process.stdout.write(`\n${caseResults.length - failed.length}/${caseResults.length} cases written to ` +
      `${args.out} (${(total / 1024).toFixed(1)} KiB total) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  if (failed.length) {
    process.stdout.write(`FAILED: ${failed.map((r) => r.name).join(', ')}\n`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  process.stderr.write(`make_fixtures.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
