'use strict';
// Masks: Masking(0) and Embedding(maskZero) in front of recurrent layers and wrappers, on rows unpadded,
// post-padded, pre-padded and with a gap (MASK_ROWS_*).

const {family, seqModel, funcModel, MASK_ROWS_6, MASK_ROWS_7} = require('../lib/cases');

module.exports = family('masking', (tf, defCase) => {
  const L = tf.layers;

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
});
