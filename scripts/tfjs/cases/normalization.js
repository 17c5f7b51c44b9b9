'use strict';
// LayerNormalization and BatchNormalization (on sequences, off the last axis, on images).

const {family, seqModel, funcModel} = require('../lib/cases');

module.exports = family('normalization', (tf, defCase) => {
  const L = tf.layers;

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
});
