'use strict';
// Images: Conv2D (padding, strides, dilation, channelsFirst), 2-D pooling, ZeroPadding2D, Cropping2D,
// UpSampling2D, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose and the models built from them (CRNN,
// TimeDistributed convolutions, an autoencoder).

const {family, seqModel, funcModel} = require('../lib/cases');

module.exports = family('conv2d', (tf, defCase) => {
  const L = tf.layers;

  for (const [name, cfg, desc] of [
    ['conv2d_valid', {filters: 4, kernelSize: 3}, 'kernel 3x3, padding valid'],
    ['conv2d_same_even', {filters: 3, kernelSize: [4, 2], padding: 'same', activation: 'relu'},
      'kernel [4,2] (even: same padding puts the extra row and column after), padding same, relu'],
    ['conv2d_strided', {filters: 3, kernelSize: 3, strides: [2, 3], padding: 'valid'}, 'strides [2,3], valid'],
    ['conv2d_strided_same', {filters: 3, kernelSize: [3, 2], strides: 2, padding: 'same', activation: 'tanh'},
      'kernel [3,2], strides 2, padding same, tanh'],
    ['conv2d_dilated', {filters: 2, kernelSize: 2, dilationRate: [2, 3], padding: 'same'},
      'dilationRate [2,3], padding same'],
    ['conv2d_dilated_valid', {filters: 2, kernelSize: 3, dilationRate: 2}, 'dilationRate 2, padding valid'],
    ['conv2d_no_bias', {filters: 5, kernelSize: [1, 3], useBias: false, activation: 'sigmoid'},
      'kernel [1,3], useBias false, sigmoid'],
  ]) {
    defCase(name, `Conv2D ${desc}, input [7,8,3].`, (h) => ({
      model: seqModel(tf, [L.conv2d(Object.assign({inputShape: [7, 8, 3]}, cfg))]),
      inputs: [h.x([3, 7, 8, 3])],
    }));
  }

  defCase('conv2d_channels_first',
      'Conv2D(4, [3,2], strides [1,2], same) and Conv2D(2, 2, dilation 2) with dataFormat channelsFirst ' +
      '(TF.js transposes to NHWC and back), input [3,6,7] = 3 channels of 6x7; two outputs.',
      (h) => {
        const x = tf.input({shape: [3, 6, 7]});
        const o1 = L.conv2d({filters: 4, kernelSize: [3, 2], strides: [1, 2], padding: 'same',
          dataFormat: 'channelsFirst'}).apply(x);
        const o2 = L.conv2d({filters: 2, kernelSize: 2, dilationRate: 2, dataFormat: 'channelsFirst'}).apply(x);
        return {model: funcModel(tf, x, [o1, o2]), inputs: [h.x([2, 3, 6, 7])]};
      });

  defCase('conv2d_flatten_dense',
      'Conv2D(3, 3x3, relu) -> Flatten -> Dense(4) on input [6,6,2].',
      (h) => ({
        model: seqModel(tf, [L.conv2d({filters: 3, kernelSize: 3, activation: 'relu', inputShape: [6, 6, 2]}),
          L.flatten(), L.dense({units: 4})]),
        inputs: [h.x([3, 6, 6, 2])],
      }));

  defCase('pooling2d_max',
      'MaxPooling2D poolSize 2 (strides = poolSize, valid); poolSize [3,2] strides [2,1] same; poolSize 3 ' +
      'strides 2 valid channelsFirst; on input [7,9,3]; three outputs.',
      (h) => {
        const x = tf.input({shape: [7, 9, 3]});
        const o1 = L.maxPooling2d({poolSize: 2}).apply(x);
        const o2 = L.maxPooling2d({poolSize: [3, 2], strides: [2, 1], padding: 'same'}).apply(x);
        const o3 = L.maxPooling2d({poolSize: 3, strides: 2, dataFormat: 'channelsFirst'}).apply(x);
        return {model: funcModel(tf, x, [o1, o2, o3]), inputs: [h.x([3, 7, 9, 3])]};
      });

  defCase('pooling2d_avg',
      'AveragePooling2D poolSize 2 valid; poolSize 3 strides 2 same (edge windows average only the real ' +
      'pixels); poolSize [2,3] strides 1 same channelsFirst; on input [7,9,3]; three outputs.',
      (h) => {
        const x = tf.input({shape: [7, 9, 3]});
        const o1 = L.averagePooling2d({poolSize: 2}).apply(x);
        const o2 = L.averagePooling2d({poolSize: 3, strides: 2, padding: 'same'}).apply(x);
        const o3 = L.averagePooling2d({poolSize: [2, 3], strides: 1, padding: 'same',
          dataFormat: 'channelsFirst'}).apply(x);
        return {model: funcModel(tf, x, [o1, o2, o3]), inputs: [h.x([3, 7, 9, 3])]};
      });

  defCase('pooling2d_global',
      'GlobalAveragePooling2D and GlobalMaxPooling2D, channelsLast and channelsFirst, on a Conv2D(4, 3, same) ' +
      'output of input [6,5,2]; four outputs.',
      (h) => {
        const x = tf.input({shape: [6, 5, 2]});
        const c = L.conv2d({filters: 4, kernelSize: 3, padding: 'same'}).apply(x);
        const outs = [L.globalAveragePooling2d({}).apply(c), L.globalMaxPooling2d({}).apply(c),
          L.globalAveragePooling2d({dataFormat: 'channelsFirst'}).apply(c),
          L.globalMaxPooling2d({dataFormat: 'channelsFirst'}).apply(c)];
        return {model: funcModel(tf, x, outs), inputs: [h.x([3, 6, 5, 2])]};
      });

  defCase('zero_padding2d',
      'ZeroPadding2D default (1), padding 2, [1,2], [[0,2],[3,1]], and [[2,0],[1,1]] channelsFirst, on input ' +
      '[4,5,3]; five outputs.',
      (h) => {
        const x = tf.input({shape: [4, 5, 3]});
        const outs = [L.zeroPadding2d({}), L.zeroPadding2d({padding: 2}), L.zeroPadding2d({padding: [1, 2]}),
          L.zeroPadding2d({padding: [[0, 2], [3, 1]]}),
          L.zeroPadding2d({padding: [[2, 0], [1, 1]], dataFormat: 'channelsFirst'})].map((l) => l.apply(x));
        return {model: funcModel(tf, x, outs), inputs: [h.x([2, 4, 5, 3])]};
      });

  defCase('cropping2d',
      'Cropping2D 1, [1,2], [[0,2],[3,1]], and [[2,0],[1,1]] channelsFirst, on input [6,7,4]; four outputs.',
      (h) => {
        const x = tf.input({shape: [6, 7, 4]});
        const outs = [L.cropping2D({cropping: 1}), L.cropping2D({cropping: [1, 2]}),
          L.cropping2D({cropping: [[0, 2], [3, 1]]}),
          L.cropping2D({cropping: [[2, 0], [1, 1]], dataFormat: 'channelsFirst'})].map((l) => l.apply(x));
        return {model: funcModel(tf, x, outs), inputs: [h.x([2, 6, 7, 4])]};
      });

  defCase('upsampling2d',
      'UpSampling2D nearest size 2 (default), [2,3], and [3,2] channelsFirst, on input [3,4,2]; three outputs.',
      (h) => {
        const x = tf.input({shape: [3, 4, 2]});
        const outs = [L.upSampling2d({}), L.upSampling2d({size: [2, 3]}),
          L.upSampling2d({size: [3, 2], dataFormat: 'channelsFirst'})].map((l) => l.apply(x));
        return {model: funcModel(tf, x, outs), inputs: [h.x([2, 3, 4, 2])]};
      });

  defCase('upsampling2d_bilinear',
      'UpSampling2D bilinear [2,3], [3,2], and [2,2] channelsFirst, on input [3,4,2]: TF.js resizeBilinear ' +
      'samples at pixel corners (alignCorners false, no half-pixel centres), where Keras samples at pixel ' +
      'centres, so Keras computes other numbers; three outputs.',
      (h) => {
        const x = tf.input({shape: [3, 4, 2]});
        const outs = [L.upSampling2d({size: [2, 3], interpolation: 'bilinear'}),
          L.upSampling2d({size: [3, 2], interpolation: 'bilinear'}),
          L.upSampling2d({size: [2, 2], interpolation: 'bilinear', dataFormat: 'channelsFirst'})]
            .map((l) => l.apply(x));
        return {model: funcModel(tf, x, outs), inputs: [h.x([2, 3, 4, 2])]};
      });

  defCase('crnn_spectrogram',
      'A CRNN on a spectrogram [16 frames, 12 bins, 1]: Conv2D(6, 3, same, relu) -> BatchNormalization -> ' +
      'MaxPooling2D(2) -> Conv2D(8, 3, same, relu) -> MaxPooling2D([1,2]) -> Reshape([8, 24]) -> ' +
      'Bidirectional(LSTM(6, returnSequences)) -> Dense(5, softmax) per frame.',
      (h) => ({
        model: seqModel(tf, [
          L.conv2d({filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [16, 12, 1]}),
          L.batchNormalization({}),
          L.maxPooling2d({poolSize: 2}),
          L.conv2d({filters: 8, kernelSize: 3, padding: 'same', activation: 'relu'}),
          L.maxPooling2d({poolSize: [1, 2]}),
          L.reshape({targetShape: [8, 24]}),
          L.bidirectional({layer: L.lstm({units: 6, returnSequences: true})}),
          L.dense({units: 5, activation: 'softmax'}),
        ]),
        inputs: [h.x([3, 16, 12, 1])],
      }));

  defCase('td_conv2d_gap_gru',
      'Image sequences [5 frames, 8, 8, 2]: TimeDistributed(Conv2D(4, 3, relu)) -> ' +
      'TimeDistributed(MaxPooling2D(2)) -> TimeDistributed(GlobalAveragePooling2D) -> GRU(6) -> Dense(3).',
      (h) => ({
        model: seqModel(tf, [
          L.timeDistributed({layer: L.conv2d({filters: 4, kernelSize: 3, activation: 'relu'}),
            inputShape: [5, 8, 8, 2]}),
          L.timeDistributed({layer: L.maxPooling2d({poolSize: 2})}),
          L.timeDistributed({layer: L.globalAveragePooling2d({})}),
          L.gru({units: 6}),
          L.dense({units: 3}),
        ]),
        inputs: [h.x([3, 5, 8, 8, 2])],
      }));

  // ---- DepthwiseConv2D, SeparableConv2D, Conv2DTranspose ----------------------------------------------
  defCase('depthwise_conv2d',
      'DepthwiseConv2D kernel 3 valid (depthMultiplier 1); kernel [2,3] depthMultiplier 2, strides 2, same, relu; ' +
      'kernel 2 depthMultiplier 3 channelsFirst, no bias; on input [7,8,3]; three outputs.',
      (h) => {
        const x = tf.input({shape: [7, 8, 3]});
        const o1 = L.depthwiseConv2d({kernelSize: 3}).apply(x);
        const o2 = L.depthwiseConv2d({kernelSize: [2, 3], depthMultiplier: 2, strides: 2, padding: 'same',
          activation: 'relu'}).apply(x);
        const o3 = L.depthwiseConv2d({kernelSize: 2, depthMultiplier: 3, dataFormat: 'channelsFirst',
          useBias: false}).apply(x);
        return {model: funcModel(tf, x, [o1, o2, o3]), inputs: [h.x([2, 7, 8, 3])]};
      });

  defCase('depthwise_conv2d_dilation_ignored',
      'DepthwiseConv2D kernel 2, dilationRate 2, padding same: TF.js 4.22 saves the dilation but computes the ' +
      'undilated convolution (its call passes no dilation; "TODO(cais): Add support for dilation"); input [6,6,2].',
      (h) => ({
        model: seqModel(tf, [L.depthwiseConv2d({kernelSize: 2, dilationRate: 2, padding: 'same',
          inputShape: [6, 6, 2]})]),
        inputs: [h.x([2, 6, 6, 2])],
      }));

  defCase('separable_conv2d',
      'SeparableConv2D(4, 3) valid; SeparableConv2D(5, [2,3], strides 2, same, tanh); SeparableConv2D(3, 2, ' +
      'dilationRate 2, same, no bias); on input [7,8,3]; three outputs. (depthMultiplier > 1 is not saved by ' +
      'TF.js, see probes.)',
      (h) => {
        const x = tf.input({shape: [7, 8, 3]});
        const o1 = L.separableConv2d({filters: 4, kernelSize: 3}).apply(x);
        const o2 = L.separableConv2d({filters: 5, kernelSize: [2, 3], strides: 2, padding: 'same',
          activation: 'tanh'}).apply(x);
        const o3 = L.separableConv2d({filters: 3, kernelSize: 2, dilationRate: 2, padding: 'same',
          useBias: false}).apply(x);
        return {model: funcModel(tf, x, [o1, o2, o3]), inputs: [h.x([2, 7, 8, 3])]};
      });

  defCase('conv2d_transpose',
      'Conv2DTranspose(4, 3) valid strides 1; (3, [3,2], strides 2, same, relu); (2, 2, strides 3, valid: ' +
      'kernel smaller than stride leaves gaps); (3, 3, strides 2, same) channelsFirst; on input [4,5,3]; four ' +
      'outputs.',
      (h) => {
        const x = tf.input({shape: [4, 5, 3]});
        const o1 = L.conv2dTranspose({filters: 4, kernelSize: 3}).apply(x);
        const o2 = L.conv2dTranspose({filters: 3, kernelSize: [3, 2], strides: 2, padding: 'same',
          activation: 'relu'}).apply(x);
        const o3 = L.conv2dTranspose({filters: 2, kernelSize: 2, strides: 3}).apply(x);
        const o4 = L.conv2dTranspose({filters: 3, kernelSize: 3, strides: 2, padding: 'same',
          dataFormat: 'channelsFirst'}).apply(x);
        return {model: funcModel(tf, x, [o1, o2, o3, o4]), inputs: [h.x([2, 4, 5, 3])]};
      });

  defCase('conv2d_transpose_dilation_ignored',
      'Conv2DTranspose(2, 2, strides 1, dilationRate 2): TF.js 4.22 saves the dilation but computes (and sizes) ' +
      'the undilated transposed convolution; input [4,4,2].',
      (h) => ({
        model: seqModel(tf, [L.conv2dTranspose({filters: 2, kernelSize: 2, dilationRate: 2,
          inputShape: [4, 4, 2]})]),
        inputs: [h.x([2, 4, 4, 2])],
      }));

  defCase('conv_autoencoder',
      'A convolutional autoencoder: Conv2D(4, 3, same, relu, strides 2) -> SeparableConv2D(6, 3, same) -> ' +
      'Conv2DTranspose(4, 3, strides 2, same, relu) -> DepthwiseConv2D(3, same) -> Conv2D(1, 1, sigmoid); input ' +
      '[8,8,1].',
      (h) => ({
        model: seqModel(tf, [
          L.conv2d({filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu',
            inputShape: [8, 8, 1]}),
          L.separableConv2d({filters: 6, kernelSize: 3, padding: 'same'}),
          L.conv2dTranspose({filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu'}),
          L.depthwiseConv2d({kernelSize: 3, padding: 'same'}),
          L.conv2d({filters: 1, kernelSize: 1, activation: 'sigmoid'}),
        ]),
        inputs: [h.x([2, 8, 8, 1])],
      }));
});
