'use strict';
// Conv1D: padding, even kernels, dilation, strides.

const {family, seqModel} = require('../lib/cases');

module.exports = family('conv1d', (tf, defCase) => {
  const L = tf.layers;

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
});
