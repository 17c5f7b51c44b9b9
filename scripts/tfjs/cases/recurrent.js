'use strict';
// LSTM, GRU, SimpleRNN, RNN over cells and Bidirectional: the seed tutorial model, activations,
// goBackwards, returned and initial states, stateful layers, dropout, unroll, stacked cells, merge modes.

const {family, seqModel, funcModel, MASK_ROWS_6} = require('../lib/cases');

module.exports = family('recurrent', (tf, defCase) => {
  const L = tf.layers;

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

  defCase('rnn_softmax_gates',
      'Softmax-family recurrent activations act on each gate alone (TF.js splits the gates first): ' +
      'Masking -> LSTM(4) recurrentActivation softmax and GRU(3) recurrentActivation softmax over [6,3] ' +
      '(pre- and post-padded rows); two outputs.',
      (h) => {
        const seq = tf.input({shape: [6, 3]});
        const masked = L.masking({maskValue: 0}).apply(seq);
        const outs = [L.lstm({units: 4, recurrentActivation: 'softmax', returnSequences: true}).apply(masked),
          L.gru({units: 3, recurrentActivation: 'softmax', returnSequences: true}).apply(masked)];
        return {model: funcModel(tf, seq, outs), inputs: [h.maskedSeq([4, 6, 3], MASK_ROWS_6)]};
      });

  defCase('td_lstm_softmax_gates',
      'TimeDistributed(LSTM(3) recurrentActivation logSoftmax, activation softmax, returnSequences) over ' +
      '[2,5,3]: each gate normalised alone inside the wrapped cell too (a case of its own: after a masked RNN, ' +
      'TF.js\'s stale mask would mask it).',
      (h) => ({
        model: seqModel(tf, [L.timeDistributed({layer: L.lstm({units: 3, recurrentActivation: 'logSoftmax',
          activation: 'softmax', returnSequences: true}), inputShape: [2, 5, 3]})]),
        inputs: [h.x([4, 2, 5, 3])],
      }));

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
});
