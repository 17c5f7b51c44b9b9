'use strict';
// What TF.js's executor does that Keras does not: stale masks left in its shared kwargs, stateful layers
// run once per output used, merged masks, the loader's node order (a reloaded model that differs from the one
// that saved it); with the recurrent cases added alongside them (Bidirectional returnState, a stateful masked
// GRU, TimeDistributed(LSTM), a masked backwards SimpleRNN), kept here so that fixtures/tfjs/README.md, which
// lists the cases family by family, keeps its order.

const {family, seqModel, funcModel, MASK_ROWS_6} = require('../lib/cases');

module.exports = family('engine_quirks', (tf, defCase) => {
  const L = tf.layers;

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

  defCase('stateful_bidirectional_lstm',
      'Masking(0) -> Bidirectional(stateful LSTM(3, returnSequences), concat) with batchShape [2,5,4]: each ' +
      'direction keeps its state across two calls (the backward one its state after the reversed steps), then ' +
      'resetStates before a third; padded rows.',
      (h) => {
        const x = tf.input({batchShape: [2, 5, 4]});
        const y = L.bidirectional({layer: L.lstm({units: 3, stateful: true, returnSequences: true})})
            .apply(L.masking({maskValue: 0}).apply(x));
        const rows = [['11110', '00111'], ['11111', '11011'], ['01111', '11100']];
        return {
          model: funcModel(tf, x, y),
          calls: rows.map((r, i) => ({reset_states: i === 2, inputs: [h.maskedSeq([2, 5, 4], r)]})),
        };
      });

  defCase('stateful_bidirectional_gru_sum',
      'Bidirectional(stateful GRU(4), mergeMode sum, last output only) with batchShape [3,6,2], no mask: state ' +
      'carried across two calls, reset before a third.',
      (h) => {
        const x = tf.input({batchShape: [3, 6, 2]});
        const y = L.bidirectional({layer: L.gru({units: 4, stateful: true}), mergeMode: 'sum'}).apply(x);
        return {
          model: funcModel(tf, x, y),
          calls: [0, 1, 2].map((i) => ({reset_states: i === 2, inputs: [h.x([3, 6, 2])]})),
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

  // TF.js applies a weight's constraint whenever the weight is written (LayerVariable.write), so also when
  // tf.loadLayersModel sets the weights, but fit() does not: a model trained in TF.js is saved with weights that
  // break their constraints, and the reloaded model (what a browser runs) computes with constrained ones.
  defCase('constraints_trained_lstm_dense',
      'LSTM(8, returnSequences:false) on [6,3] with kernelConstraint maxNorm({maxValue:0.5}), ' +
      'recurrentConstraint unitNorm({axis:1}), biasConstraint minMaxNorm({minValue:0.5, maxValue:1, rate:0.7}) ' +
      '-> Dense(3) kernelConstraint nonNeg, biasConstraint maxNorm({maxValue:0.3, axis:-1}); trained 6 epochs ' +
      '(adam 0.05, batch 16) after seeded weights, saved in several shards. fit() does not apply constraints, ' +
      'tf.loadLayersModel does (LayerVariable.write): recorded is the reloaded model, which differs.',
      (h) => {
        const model = seqModel(tf, [
          L.lstm({units: 8, inputShape: [6, 3], kernelConstraint: tf.constraints.maxNorm({maxValue: 0.5}),
            recurrentConstraint: tf.constraints.unitNorm({axis: 1}),
            biasConstraint: tf.constraints.minMaxNorm({minValue: 0.5, maxValue: 1, rate: 0.7})}),
          L.dense({units: 3, kernelConstraint: tf.constraints.nonNeg(),
            biasConstraint: tf.constraints.maxNorm({maxValue: 0.3, axis: -1})}),
        ]);
        return {model, inputs: [h.x([5, 6, 3])],
          fit: {x: h.x([48, 6, 3]), y: h.x([48, 3], -1, 1), epochs: 6, batchSize: 16, learningRate: 0.05}};
      }, {reloadDiffers: true, save: {shardSizeBytes: 512}});

  defCase('constraints_trained_layers',
      'Constraints on the other weights TF.js constrains, trained 6 epochs (adam 0.05) and reloaded: Conv1D(4, ' +
      '2) kernel maxNorm({maxValue:0.4, axis:[0,1]}), bias nonNeg -> BatchNormalization gamma unitNorm, beta ' +
      'nonNeg (moving statistics: none) -> PReLU alpha minMaxNorm({minValue:0.1, maxValue:0.3, axis:-1}) -> ' +
      'Bidirectional(GRU(3, returnSequences) kernel unitNorm, recurrent maxNorm({maxValue:0.3})) -> ' +
      'TimeDistributed(Dense(2) kernel nonNeg, bias maxNorm({maxValue:0.1})) on [6,3]; recorded is the ' +
      'reloaded model, which differs.',
      (h) => {
        const C = tf.constraints;
        const model = seqModel(tf, [
          L.conv1d({filters: 4, kernelSize: 2, inputShape: [6, 3],
            kernelConstraint: C.maxNorm({maxValue: 0.4, axis: [0, 1]}), biasConstraint: C.nonNeg()}),
          L.batchNormalization({gammaConstraint: C.unitNorm({}), betaConstraint: C.nonNeg()}),
          L.prelu({alphaConstraint: C.minMaxNorm({minValue: 0.1, maxValue: 0.3, axis: -1})}),
          L.bidirectional({layer: L.gru({units: 3, returnSequences: true, kernelConstraint: C.unitNorm({}),
            recurrentConstraint: C.maxNorm({maxValue: 0.3})})}),
          L.timeDistributed({layer: L.dense({units: 2, kernelConstraint: C.nonNeg(),
            biasConstraint: C.maxNorm({maxValue: 0.1})})}),
        ]);
        return {model, inputs: [h.x([4, 6, 3])],
          fit: {x: h.x([32, 6, 3]), y: h.x([32, 5, 2], -1, 1), epochs: 6, batchSize: 16, learningRate: 0.05}};
      }, {reloadDiffers: true});
});
