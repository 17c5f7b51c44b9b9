'use strict';
// Preprocessing layers: Rescaling, CenterCrop, CategoryEncoding and a front end built from them.

const {family, seqModel, funcModel} = require('../lib/cases');

module.exports = family('preprocessing', (tf, defCase) => {
  const L = tf.layers;

  defCase('rescaling',
      'Rescaling scale 1/127.5 offset -1 and scale 2 (no offset) on image input [4,5,3] of values in [0, 255); ' +
      'two outputs.',
      (h) => {
        const x = tf.input({shape: [4, 5, 3]});
        const outs = [L.rescaling({scale: 1 / 127.5, offset: -1}).apply(x), L.rescaling({scale: 2}).apply(x)];
        return {model: funcModel(tf, x, outs), inputs: [h.x([2, 4, 5, 3], 0, 255)]};
      });

  defCase('center_crop',
      'CenterCrop [4,5] and [3,7] of input [7,8,2] (TF.js samples the box with cropAndResize nearest, and moves ' +
      'a one-column margin to the left edge), and [7,6] (rows kept); three outputs (a crop larger than the ' +
      'input fails in TF.js: see probes). Each CenterCrop follows its own ZeroPadding2D(0): TF.js\'s CenterCrop writes its output ' +
      'size into its input\'s shape, which breaks a model whose input feeds it directly (see probes).',
      (h) => {
        const x = tf.input({shape: [7, 8, 2]});
        const outs = [[4, 5], [3, 7], [7, 6]].map(([height, width]) =>
          L.centerCrop({height, width}).apply(L.zeroPadding2d({padding: 0}).apply(x)));
        return {model: funcModel(tf, x, outs), inputs: [h.x([2, 7, 8, 2])]};
      });

  defCase('category_encoding',
      'CategoryEncoding numTokens 6: multiHot (default) and count over int32 ids [5]; oneHot over ids [1]; two ' +
      'inputs, three outputs. Each follows its own Reshape: TF.js\'s CategoryEncoding writes its output size ' +
      'into its input\'s shape (see probes).',
      (h) => {
        const ids = tf.input({shape: [5], dtype: 'int32'});
        const one = tf.input({shape: [1], dtype: 'int32'});
        const outs = [L.categoryEncoding({numTokens: 6}).apply(L.reshape({targetShape: [5]}).apply(ids)),
          L.categoryEncoding({numTokens: 6, outputMode: 'count'}).apply(L.reshape({targetShape: [5]}).apply(ids)),
          L.categoryEncoding({numTokens: 6, outputMode: 'oneHot'}).apply(L.reshape({targetShape: [1]}).apply(one))];
        const idVals = (n, width) => ({dtype: 'int32', shape: [n, width],
          data: Int32Array.from({length: n * width}, () => Math.floor(h.rng() * 6))});
        return {model: funcModel(tf, [ids, one], outs), inputs: [idVals(4, 5), idVals(4, 1)]};
      });

  defCase('preprocessing_front_end',
      'A browser front end: Rescaling(1/255, offset -0.5) -> Conv2D(4, 3, same, relu) -> CenterCrop [6,6] -> ' +
      'Conv2D(4, 3, relu) -> GlobalAveragePooling2D -> Dense(3, softmax), on input [8,9,3] of values in [0, 255).',
      (h) => ({
        model: seqModel(tf, [L.rescaling({scale: 1 / 255, offset: -0.5, inputShape: [8, 9, 3]}),
          L.conv2d({filters: 4, kernelSize: 3, padding: 'same', activation: 'relu'}),
          L.centerCrop({height: 6, width: 6}), L.conv2d({filters: 4, kernelSize: 3, activation: 'relu'}),
          L.globalAveragePooling2d({}), L.dense({units: 3, activation: 'softmax'})]),
        inputs: [h.x([2, 8, 9, 3], 0, 255)],
      }));
});
