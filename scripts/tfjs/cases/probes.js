'use strict';
// Probes: experiments known to fail (or to be unfaithful) in TF.js 4.22. They write no fixture; their outcome
// is printed and listed in fixtures/tfjs/README.md.

const {family, seqModel, funcModel, MASK_ROWS_6} = require('../lib/cases');

module.exports = family('probes', (tf, defProbe) => {
  const L = tf.layers;

  defProbe('probe_gelu_new',
      'Dense with activation gelu_new: saved as "gelu_new", reload in TF.js?',
      (h) => ({
        model: seqModel(tf, [L.dense({units: 3, activation: 'gelu_new', inputShape: [4]})]),
        inputs: [h.x([3, 4])],
      }));

  defProbe('probe_return_state_output_and_h_feed_layers',
      'LSTM(4) returnState, returnSequences:false, with BOTH the output (tensor 0) and h (tensor 1) feeding ' +
      'Dense layers (output and h are the same tensor in TF.js).',
      (h) => {
        const input = tf.input({shape: [5, 3]});
        const [o, sh] = L.lstm({units: 4, returnState: true}).apply(input);
        return {model: funcModel(tf, input, [L.dense({units: 2}).apply(o), L.dense({units: 2}).apply(sh)]),
          inputs: [h.x([3, 5, 3])]};
      });

  defProbe('probe_masked_add_lstm',
      'Two masked LSTM(4, returnSequences) branches -> Add -> LSTM(3).',
      (h) => {
        const x1 = tf.input({shape: [6, 3]});
        const x2 = tf.input({shape: [6, 3]});
        const s1 = L.lstm({units: 4, returnSequences: true}).apply(L.masking({maskValue: 0}).apply(x1));
        const s2 = L.lstm({units: 4, returnSequences: true}).apply(L.masking({maskValue: 0}).apply(x2));
        const o = L.lstm({units: 3}).apply(L.add().apply([s1, s2]));
        return {model: funcModel(tf, [x1, x2], o),
          inputs: [h.maskedSeq([4, 6, 3], MASK_ROWS_6), h.maskedSeq([4, 6, 3], MASK_ROWS_6)]};
      });

  defProbe('probe_conv1d_causal',
      'Conv1D padding causal.',
      (h) => ({
        model: seqModel(tf, [L.conv1d({filters: 3, kernelSize: 3, padding: 'causal', inputShape: [9, 3]})]),
        inputs: [h.x([3, 9, 3])],
      }));

  defProbe('probe_conv2d_strides_and_dilation',
      'Conv2D with strides 2 and dilationRate 2 together.',
      (h) => ({
        model: seqModel(tf, [L.conv2d({filters: 2, kernelSize: 2, strides: 2, dilationRate: 2,
          inputShape: [7, 7, 2]})]),
        inputs: [h.x([2, 7, 7, 2])],
      }));

  defProbe('probe_conv2d_causal',
      'Conv2D padding causal.',
      (h) => ({
        model: seqModel(tf, [L.conv2d({filters: 2, kernelSize: 2, padding: 'causal', inputShape: [5, 5, 2]})]),
        inputs: [h.x([2, 5, 5, 2])],
      }));

  defProbe('probe_conv3d_strides_and_dilation',
      'Conv3D with strides 2 and dilationRate 2 together.',
      (h) => ({
        model: seqModel(tf, [L.conv3d({filters: 2, kernelSize: 2, strides: 2, dilationRate: 2,
          inputShape: [6, 6, 6, 1]})]),
        inputs: [h.x([2, 6, 6, 6, 1])],
      }));

  defProbe('probe_conv3d_causal',
      'Conv3D padding causal.',
      (h) => ({
        model: seqModel(tf, [L.conv3d({filters: 2, kernelSize: 2, padding: 'causal', inputShape: [4, 4, 4, 1]})]),
        inputs: [h.x([2, 4, 4, 4, 1])],
      }));

  defProbe('probe_upsampling2d_bicubic',
      'UpSampling2D interpolation bicubic (Keras has it).',
      (h) => ({
        model: seqModel(tf, [L.upSampling2d({size: 2, interpolation: 'bicubic', inputShape: [3, 3, 1]})]),
        inputs: [h.x([2, 3, 3, 1])],
      }));

  defProbe('probe_separable_conv2d_channels_first',
      'SeparableConv2D(4, 3) with dataFormat channelsFirst and a bias, on input [3,7,8].',
      (h) => ({
        model: seqModel(tf, [L.separableConv2d({filters: 4, kernelSize: 3, dataFormat: 'channelsFirst',
          inputShape: [3, 7, 8]})]),
        inputs: [h.x([2, 3, 7, 8])],
      }));

  defProbe('probe_separable_conv2d_depth_multiplier',
      'SeparableConv2D(4, 3, depthMultiplier 2) saved by TF.js and reloaded.',
      (h) => ({
        model: seqModel(tf, [L.separableConv2d({filters: 4, kernelSize: 3, depthMultiplier: 2,
          inputShape: [5, 5, 2]})]),
        inputs: [h.x([2, 5, 5, 2])],
      }));

  defProbe('probe_depthwise_conv2d_strides_and_dilation',
      'DepthwiseConv2D kernel 2 with strides 2 and dilationRate 2 (TF.js runs it, ignoring the dilation: see ' +
      'depthwise_conv2d_dilation_ignored).',
      (h) => ({
        model: seqModel(tf, [L.depthwiseConv2d({kernelSize: 2, strides: 2, dilationRate: 2,
          inputShape: [7, 7, 2]})]),
        inputs: [h.x([2, 7, 7, 2])],
      }));

  defProbe('probe_resizing',
      'Resizing [4,4] of input [7,8,2].',
      (h) => ({
        model: seqModel(tf, [L.resizing({height: 4, width: 4, inputShape: [7, 8, 2]})]),
        inputs: [h.x([2, 7, 8, 2])],
      }));

  defProbe('probe_center_crop_larger',
      'CenterCrop [9,10] (larger than the image) after a ZeroPadding2D(0) of input [7,8,2].',
      (h) => ({
        model: seqModel(tf, [L.zeroPadding2d({padding: 0, inputShape: [7, 8, 2]}),
          L.centerCrop({height: 9, width: 10})]),
        inputs: [h.x([2, 7, 8, 2])],
      }));

  defProbe('probe_center_crop_on_model_input',
      'CenterCrop [4,5] applied directly to the model input [7,8,2].',
      (h) => ({
        model: seqModel(tf, [L.centerCrop({height: 4, width: 5, inputShape: [7, 8, 2]})]),
        inputs: [h.x([2, 7, 8, 2])],
      }));

  defProbe('probe_category_encoding_out_of_range',
      'CategoryEncoding numTokens 4 (after a Reshape) fed an id of 4.',
      (h) => ({
        model: seqModel(tf, [L.reshape({targetShape: [3], inputShape: [3]}), L.categoryEncoding({numTokens: 4})]),
        inputs: [{dtype: 'float32', shape: [1, 3], data: Float32Array.from([0, 1, 4])}],
      }));

  defProbe('probe_random_width',
      'RandomWidth factor 0.5 (seed 1) on the model input [4,6,2] (its output shape is TF.js\'s [null,-1,6]).',
      (h) => {
        const x = tf.input({shape: [4, 6, 2]});
        return {model: funcModel(tf, x, L.randomWidth({factor: 0.5, seed: 1}).apply(x)), inputs: [h.x([2, 4, 6, 2])]};
      });

  defProbe('probe_random_width_then_conv2d',
      'Sequential RandomWidth factor [-0.2, 0.3] nearest on input [4,6,2] -> Conv2D(2, 1).',
      (h) => ({
        model: seqModel(tf, [L.randomWidth({factor: [-0.2, 0.3], interpolation: 'nearest', inputShape: [4, 6, 2]}),
          L.conv2d({filters: 2, kernelSize: 1})]),
        inputs: [h.x([2, 4, 6, 2])],
      }));

  defProbe('probe_elu_alpha',
      'ELU layer with alpha 0.7.',
      (h) => ({
        model: seqModel(tf, [L.elu({alpha: 0.7, inputShape: [4]})]),
        inputs: [h.x([3, 4])],
      }));

  defProbe('probe_softmax_axis',
      'Softmax layer with axis 1 on a rank-3 input [4,5].',
      (h) => ({
        model: seqModel(tf, [L.softmax({axis: 1, inputShape: [4, 5]})]),
        inputs: [h.x([3, 4, 5])],
      }));

  defProbe('probe_gru_reset_after',
      'GRU with resetAfter:true (Keras 2/3 default).',
      (h) => ({
        model: seqModel(tf, [L.gru({units: 3, resetAfter: true, inputShape: [4, 2]})]),
        inputs: [h.x([3, 4, 2])],
      }));

  defProbe('probe_rnn_convlstm2d_cell',
      'RNN over a ConvLSTM2DCell (TF.js registers the cell) on images [3,5,5,2].',
      (h) => {
        const [ConvLSTM2DCell] = tf.serialization.SerializationMap.getMap().classNameMap.ConvLSTM2DCell;
        const cell = new ConvLSTM2DCell({filters: 2, kernelSize: 3, padding: 'same'});
        return {model: seqModel(tf, [L.rnn({cell, inputShape: [3, 5, 5, 2]})]), inputs: [h.x([2, 3, 5, 5, 2])]};
      });

  defProbe('probe_convlstm2d_masked_valid',
      'Masking(0) -> ConvLSTM2D(2, 3, padding valid): the per-pixel mask is larger than the output images.',
      (h) => ({
        model: seqModel(tf, [L.masking({maskValue: 0, inputShape: [3, 5, 5, 2]}),
          L.convLstm2d({filters: 2, kernelSize: 3})]),
        inputs: [h.x([2, 3, 5, 5, 2])],
      }));

  defProbe('probe_convlstm2d_step_mask',
      'Masking(0) on [3,50] -> TimeDistributed(Reshape [5,5,2]) -> ConvLSTM2D(2, 3, same): a [B,T] mask on ' +
      'images (TF.js\'s rnn() transposes the mask with the images\' 5 axes).',
      (h) => ({
        model: seqModel(tf, [L.masking({maskValue: 0, inputShape: [3, 50]}),
          L.timeDistributed({layer: L.reshape({targetShape: [5, 5, 2]})}),
          L.convLstm2d({filters: 2, kernelSize: 3, padding: 'same'})]),
        inputs: [h.maskedSeq([4, 3, 50], ['111', '110', '011', '101'])],
      }));
  defProbe('probe_convlstm2d_unroll',
      'ConvLSTM2D(2, 3) with unroll: true.',
      (h) => ({
        model: seqModel(tf, [L.convLstm2d({filters: 2, kernelSize: 3, unroll: true, inputShape: [3, 5, 5, 2]})]),
        inputs: [h.x([2, 3, 5, 5, 2])],
      }));
});
