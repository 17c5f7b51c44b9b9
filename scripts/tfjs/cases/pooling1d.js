'use strict';
// 1-D pooling (Max/Average/Global, masked GlobalAveragePooling1D) and Conv1D -> pooling -> LSTM stacks.

const {family, seqModel, funcModel, MASK_ROWS_6} = require('../lib/cases');

module.exports = family('pooling1d', (tf, defCase) => {
  const L = tf.layers;

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
});
