'use strict';
// The activation layers: ReLU, LeakyReLU, ELU, PReLU, Softmax, ThresholdedReLU.

const {family, funcModel} = require('../lib/cases');

module.exports = family('activation_layers', (tf, defCase) => {
  const L = tf.layers;

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
});
