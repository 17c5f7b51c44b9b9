'use strict';
// ConvLSTM2D over sequences of images [T, rows, cols, C]: padding, strides, dilation, channelsFirst, activations,
// goBackwards, returned states, stateful calls, masks from Masking (per pixel, and whole steps) and a stack of
// two ConvLSTM2D layers with a TimeDistributed head.

const {family, seqModel, funcModel, MASK_ROWS_6} = require('../lib/cases');

/** [B, T, rows, cols, C] floats with the steps MASK_ROWS_6-like patterns mark set to zero images, and the
 * pixels of `pixels` ([b, t, r, c]) set to zero vectors. */
function maskedImages(h, shape, patterns, pixels) {
  const input = h.maskedSeq(shape, patterns);
  const [, T, R, C, F] = shape;
  for (const [b, t, r, c] of pixels) {
    const at = (((b * T + t) * R + r) * C + c) * F;
    input.data.fill(0, at, at + F);
  }
  return input;
}

module.exports = family('conv_recurrent', (tf, defCase) => {
  const L = tf.layers;

  for (const [name, cfg, desc] of [
    ['convlstm2d_same_seq', {filters: 3, kernelSize: 3, padding: 'same', returnSequences: true},
      'kernel 3x3, padding same, returnSequences (default hardSigmoid recurrent activation)'],
    ['convlstm2d_strided_valid', {filters: 4, kernelSize: [3, 2], strides: [2, 1], activation: 'relu',
      recurrentActivation: 'sigmoid'}, 'kernel [3,2], strides [2,1], valid, relu, sigmoid, last output'],
    ['convlstm2d_dilated', {filters: 2, kernelSize: 2, dilationRate: [2, 1], padding: 'same',
      returnSequences: true, goBackwards: true},
      'kernel 2, dilationRate [2,1], padding same, goBackwards with returnSequences (outputs stay reversed)'],
    ['convlstm2d_no_bias', {filters: 3, kernelSize: [1, 3], useBias: false, activation: 'sigmoid',
      recurrentActivation: 'tanh'}, 'kernel [1,3], useBias false, sigmoid, recurrent tanh'],
  ]) {
    defCase(name, `ConvLSTM2D ${desc}, input [4,6,5,2].`, (h) => ({
      model: seqModel(tf, [L.convLstm2d(Object.assign({inputShape: [4, 6, 5, 2]}, cfg))]),
      inputs: [h.x([3, 4, 6, 5, 2])],
    }));
  }

  defCase('convlstm2d_channels_first',
      'ConvLSTM2D(3, [3,2], strides [1,2], same, dataFormat channelsFirst, returnSequences) and ConvLSTM2D(2, 2, ' +
      'channelsFirst) on input [4,2,6,5] = 4 steps of 2 channels of 6x5; two outputs.',
      (h) => {
        const x = tf.input({shape: [4, 2, 6, 5]});
        const o1 = L.convLstm2d({filters: 3, kernelSize: [3, 2], strides: [1, 2], padding: 'same',
          dataFormat: 'channelsFirst', returnSequences: true}).apply(x);
        const o2 = L.convLstm2d({filters: 2, kernelSize: 2, dataFormat: 'channelsFirst'}).apply(x);
        return {model: funcModel(tf, x, [o1, o2]), inputs: [h.x([2, 4, 2, 6, 5])]};
      });

  defCase('convlstm2d_return_state',
      'ConvLSTM2D(3, 3, same) returnState and returnSequences: the sequence, h and c as three outputs; ' +
      'input [5,4,4,2].',
      (h) => {
        const x = tf.input({shape: [5, 4, 4, 2]});
        const outs = L.convLstm2d({filters: 3, kernelSize: 3, padding: 'same', returnState: true,
          returnSequences: true}).apply(x);
        return {model: funcModel(tf, x, outs), inputs: [h.x([2, 5, 4, 4, 2])]};
      });

  defCase('convlstm2d_masked',
      'Masking(0) on images [6,4,5,2] -> ConvLSTM2D(3, 3, same, returnSequences): Masking\'s mask is per pixel ' +
      '[B,T,rows,cols] and TF.js holds each masked pixel\'s previous h and c; whole steps masked (unpadded, ' +
      'post-, pre-padded and gap rows) and single pixels.',
      (h) => ({
        model: seqModel(tf, [L.masking({maskValue: 0, inputShape: [6, 4, 5, 2]}),
          L.convLstm2d({filters: 3, kernelSize: 3, padding: 'same', returnSequences: true})]),
        inputs: [maskedImages(h, [4, 6, 4, 5, 2], MASK_ROWS_6, [[0, 0, 1, 2], [0, 3, 0, 0], [1, 1, 3, 4],
          [2, 4, 2, 2], [3, 0, 0, 1]])],
      }));

  defCase('convlstm2d_stateful',
      'Stateful ConvLSTM2D(2, 3, same) batchShape [2,3,4,4,1], returnSequences: call1 continues from call0\'s ' +
      'final states, call2 follows model.resetStates().',
      (h) => {
        const input = tf.input({batchShape: [2, 3, 4, 4, 1]});
        const out = L.convLstm2d({filters: 2, kernelSize: 3, padding: 'same', stateful: true,
          returnSequences: true}).apply(input);
        return {
          model: funcModel(tf, input, out),
          calls: [
            {reset_states: false, inputs: [h.x([2, 3, 4, 4, 1])]},
            {reset_states: false, inputs: [h.x([2, 3, 4, 4, 1])]},
            {reset_states: true, inputs: [h.x([2, 3, 4, 4, 1])]},
          ],
        };
      });

  defCase('convlstm2d_stack',
      'ConvLSTM2D(4, 3, same, returnSequences) -> ConvLSTM2D(3, [2,2], valid, returnSequences) -> ' +
      'TimeDistributed(GlobalAveragePooling2D) -> LSTM(3) -> Dense(2); input [5,6,6,1].',
      (h) => ({
        model: seqModel(tf, [
          L.convLstm2d({filters: 4, kernelSize: 3, padding: 'same', returnSequences: true, inputShape: [5, 6, 6, 1]}),
          L.convLstm2d({filters: 3, kernelSize: 2, returnSequences: true}),
          L.timeDistributed({layer: L.globalAveragePooling2d({})}),
          L.lstm({units: 3}),
          L.dense({units: 2}),
        ]),
        inputs: [h.x([3, 5, 6, 6, 1])],
      }));

  defCase('convlstm2d_flatten_dense',
      'ConvLSTM2D(2, 3, valid, tanh) last output -> Flatten -> Dense(3, softmax); input [3,5,5,2].',
      (h) => ({
        model: seqModel(tf, [L.convLstm2d({filters: 2, kernelSize: 3, inputShape: [3, 5, 5, 2]}), L.flatten(),
          L.dense({units: 3, activation: 'softmax'})]),
        inputs: [h.x([3, 3, 5, 5, 2])],
      }));
  defCase('convlstm2d_bidirectional',
      'Bidirectional(ConvLSTM2D(2, 3, same, returnSequences)) merge concat, and Bidirectional(ConvLSTM2D(2, 2)) ' +
      'merge sum of the last outputs; input [3,4,4,2].',
      (h) => {
        const x = tf.input({shape: [3, 4, 4, 2]});
        const o1 = L.bidirectional({layer: L.convLstm2d({filters: 2, kernelSize: 3, padding: 'same',
          returnSequences: true})}).apply(x);
        const o2 = L.bidirectional({layer: L.convLstm2d({filters: 2, kernelSize: 2}), mergeMode: 'sum'}).apply(x);
        return {model: funcModel(tf, x, [o1, o2]), inputs: [h.x([2, 3, 4, 4, 2])]};
      });
});
