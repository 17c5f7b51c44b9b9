'use strict';
// Volumes and video clips: Conv3D (padding, strides, dilation, channelsFirst), Conv3DTranspose, 3-D pooling,
// and the models built from them (a Conv3D -> MaxPooling3D -> Reshape -> LSTM clip classifier).

const {family, seqModel, funcModel} = require('../lib/cases');

module.exports = family('conv3d', (tf, defCase) => {
  const L = tf.layers;

  defCase('conv3d_options',
      'Conv3D(3, 3) valid; (2, [2,3,2], strides [1,2,2], same, relu: even kernel sizes put the extra padding ' +
      'after); (2, 2, dilationRate [2,1,2], same, tanh); (3, [1,2,3], strides 2, valid, no bias, sigmoid); on ' +
      'input [5,6,7,2]; four outputs.',
      (h) => {
        const x = tf.input({shape: [5, 6, 7, 2]});
        const outs = [L.conv3d({filters: 3, kernelSize: 3}),
          L.conv3d({filters: 2, kernelSize: [2, 3, 2], strides: [1, 2, 2], padding: 'same', activation: 'relu'}),
          L.conv3d({filters: 2, kernelSize: 2, dilationRate: [2, 1, 2], padding: 'same', activation: 'tanh'}),
          L.conv3d({filters: 3, kernelSize: [1, 2, 3], strides: 2, useBias: false, activation: 'sigmoid'}),
        ].map((l) => l.apply(x));
        return {model: funcModel(tf, x, outs), inputs: [h.x([2, 5, 6, 7, 2])]};
      });

  defCase('conv3d_channels_first',
      'Conv3D(3, [2,3,2], strides [1,2,1], same) and Conv3D(2, 2, dilationRate 2, valid) with dataFormat ' +
      'channelsFirst (TF.js transposes to NDHWC and back), input [2,5,6,7] = 2 channels of 5x6x7; two outputs.',
      (h) => {
        const x = tf.input({shape: [2, 5, 6, 7]});
        const o1 = L.conv3d({filters: 3, kernelSize: [2, 3, 2], strides: [1, 2, 1], padding: 'same',
          dataFormat: 'channelsFirst'}).apply(x);
        const o2 = L.conv3d({filters: 2, kernelSize: 2, dilationRate: 2, dataFormat: 'channelsFirst'}).apply(x);
        return {model: funcModel(tf, x, [o1, o2]), inputs: [h.x([2, 2, 5, 6, 7])]};
      });

  defCase('conv3d_flatten_dense',
      'Conv3D(2, 2x2x2) -> Flatten -> Dense(3) on input [4,4,4,1].',
      (h) => ({
        model: seqModel(tf, [L.conv3d({filters: 2, kernelSize: 2, inputShape: [4, 4, 4, 1]}),
          L.flatten(), L.dense({units: 3})]),
        inputs: [h.x([3, 4, 4, 4, 1])],
      }));

  defCase('conv3d_transpose',
      'Conv3DTranspose(3, 3) valid strides 1; (2, [2,3,2], strides [2,1,2], same, relu); (2, 2, strides 3, ' +
      'valid: kernel smaller than stride leaves gaps); (2, 3, strides 2, same) channelsFirst; on input [3,4,3,2]; ' +
      'four outputs.',
      (h) => {
        const x = tf.input({shape: [3, 4, 3, 2]});
        const o1 = L.conv3dTranspose({filters: 3, kernelSize: 3}).apply(x);
        const o2 = L.conv3dTranspose({filters: 2, kernelSize: [2, 3, 2], strides: [2, 1, 2], padding: 'same',
          activation: 'relu'}).apply(x);
        const o3 = L.conv3dTranspose({filters: 2, kernelSize: 2, strides: 3}).apply(x);
        const o4 = L.conv3dTranspose({filters: 2, kernelSize: 3, strides: 2, padding: 'same',
          dataFormat: 'channelsFirst'}).apply(x);
        return {model: funcModel(tf, x, [o1, o2, o3, o4]), inputs: [h.x([2, 3, 4, 3, 2])]};
      });

  defCase('pooling3d_max',
      'MaxPooling3D poolSize 2 (strides = poolSize, valid); poolSize [2,3,2] strides [1,2,1] same; poolSize ' +
      '[3,2,2] strides 2 valid channelsFirst (5 channels of 7x6x2); on input [5,7,6,2]; three outputs.',
      (h) => {
        const x = tf.input({shape: [5, 7, 6, 2]});
        const o1 = L.maxPooling3d({poolSize: 2}).apply(x);
        const o2 = L.maxPooling3d({poolSize: [2, 3, 2], strides: [1, 2, 1], padding: 'same'}).apply(x);
        const o3 = L.maxPooling3d({poolSize: [3, 2, 2], strides: 2, dataFormat: 'channelsFirst'}).apply(x);
        return {model: funcModel(tf, x, [o1, o2, o3]), inputs: [h.x([2, 5, 7, 6, 2])]};
      });

  defCase('pooling3d_avg',
      'AveragePooling3D poolSize 2 valid; poolSize 3 strides 2 same (edge windows average only the real ' +
      'voxels); poolSize [2,2,3] strides 1 same channelsFirst; on input [5,7,6,2]; three outputs.',
      (h) => {
        const x = tf.input({shape: [5, 7, 6, 2]});
        const o1 = L.averagePooling3d({poolSize: 2}).apply(x);
        const o2 = L.averagePooling3d({poolSize: 3, strides: 2, padding: 'same'}).apply(x);
        const o3 = L.averagePooling3d({poolSize: [2, 2, 3], strides: 1, padding: 'same',
          dataFormat: 'channelsFirst'}).apply(x);
        return {model: funcModel(tf, x, [o1, o2, o3]), inputs: [h.x([2, 5, 7, 6, 2])]};
      });

  defCase('conv3d_same_unclamped',
      'Same padding where a window is smaller than its stride, on input [4,7,6,2]: TF.js\'s 3-D kernels ' +
      '(tfjs-core get3DPadAndOutInfo) do not clamp the padding at 0 as TF and TF.js\'s 2-D kernels do, so a ' +
      'negative total starts each window later: Conv3D(2, [1,2,1], strides [2,3,2]), Conv3D(2, 1, strides 3), ' +
      'MaxPooling3D([1,1,2], strides [2,3,3]), AveragePooling3D(1, strides 2), Conv3DTranspose(2, [1,2,1], ' +
      'strides 2), all same; five outputs (Keras computes other numbers).',
      (h) => {
        const x = tf.input({shape: [4, 7, 6, 2]});
        const outs = [L.conv3d({filters: 2, kernelSize: [1, 2, 1], strides: [2, 3, 2], padding: 'same'}),
          L.conv3d({filters: 2, kernelSize: 1, strides: 3, padding: 'same'}),
          L.maxPooling3d({poolSize: [1, 1, 2], strides: [2, 3, 3], padding: 'same'}),
          L.averagePooling3d({poolSize: 1, strides: 2, padding: 'same'}),
          L.conv3dTranspose({filters: 2, kernelSize: [1, 2, 1], strides: 2, padding: 'same'}),
        ].map((l) => l.apply(x));
        return {model: funcModel(tf, x, outs), inputs: [h.x([2, 4, 7, 6, 2])]};
      });

  defCase('conv3d_video_lstm',
      'A clip classifier on video [6 frames, 8, 8, 1]: Conv3D(4, 3, same, relu) -> MaxPooling3D([1,2,2]) -> ' +
      'Conv3D(6, [3,3,3], same, relu) -> AveragePooling3D([1,2,2]) -> Reshape([6, 24]) -> LSTM(5, ' +
      'returnSequences) -> LSTM(4) -> Dense(3, softmax).',
      (h) => ({
        model: seqModel(tf, [
          L.conv3d({filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [6, 8, 8, 1]}),
          L.maxPooling3d({poolSize: [1, 2, 2]}),
          L.conv3d({filters: 6, kernelSize: [3, 3, 3], padding: 'same', activation: 'relu'}),
          L.averagePooling3d({poolSize: [1, 2, 2]}),
          L.reshape({targetShape: [6, 24]}),
          L.lstm({units: 5, returnSequences: true}),
          L.lstm({units: 4}),
          L.dense({units: 3, activation: 'softmax'}),
        ]),
        inputs: [h.x([3, 6, 8, 8, 1])],
      }));

  defCase('conv3d_autoencoder',
      'A volumetric autoencoder: Conv3D(4, 3, strides 2, same, relu) -> MaxPooling3D(1) -> ' +
      'Conv3DTranspose(3, 3, strides 2, same, relu) -> Conv3D(1, 1, sigmoid); input [4,6,6,1].',
      (h) => ({
        model: seqModel(tf, [
          L.conv3d({filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu',
            inputShape: [4, 6, 6, 1]}),
          L.maxPooling3d({poolSize: 1}),
          L.conv3dTranspose({filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu'}),
          L.conv3d({filters: 1, kernelSize: 1, activation: 'sigmoid'}),
        ]),
        inputs: [h.x([2, 4, 6, 6, 1])],
      }));
});
