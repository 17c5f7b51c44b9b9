'use strict';
// Core layers: TimeDistributed(Dense), Dense, dropouts (inactive at predict), reshaping layers, and every
// activation string TF.js knows.

const {family, seqModel, funcModel} = require('../lib/cases');

module.exports = family('core', (tf, defCase) => {
  const L = tf.layers;

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
});
