'use strict';
// How the file is written: several shards, quantized weights (uint8, uint16, float16), the Python
// converter's topology wrapper, an included optimizer.

const {family, seqModel} = require('../lib/cases');

module.exports = family('storage', (tf, defCase) => {
  const L = tf.layers;

  defCase('multishard',
      'LSTM(64) returnSequences:false on input [5,8] -> Dense(3), saved with shardSizeBytes 4096: 19 shards, ' +
      'tensors straddle shard files.',
      (h) => ({
        model: seqModel(tf, [L.lstm({units: 64, inputShape: [5, 8]}), L.dense({units: 3})]),
        inputs: [h.x([3, 5, 8])],
      }), {save: {shardSizeBytes: 4096}, weightRange: 0.3});

  for (const q of ['uint8', 'uint16', 'float16']) {
    defCase(`quantized_${q}`,
        `LSTM(8, returnSequences) -> Dense(3) on input [6,4], every float32 weight quantized to ${q} exactly as ` +
        'the Python converter does; expected outputs are TF.js\'s predictions from the dequantized weights.',
        (h) => ({
          model: seqModel(tf, [L.lstm({units: 8, returnSequences: true, inputShape: [6, 4]}),
            L.dense({units: 3})]),
          inputs: [h.x([3, 6, 4])],
        }), {save: {quantize: q}, seedName: 'quantized'});
  }

  defCase('converter_wrapper',
      'LSTM(4) -> Dense(2) saved with the Python converter\'s topology wrapper {keras_version: "2.15.0", ' +
      'backend: "tensorflow", model_config: {...}}; TF.js loads it.',
      (h) => ({
        model: seqModel(tf, [L.lstm({units: 4, inputShape: [5, 3]}), L.dense({units: 2})]),
        inputs: [h.x([3, 5, 3])],
      }), {save: {wrapConverter: {keras_version: '2.15.0', backend: 'tensorflow'}}});

  defCase('with_optimizer',
      'LSTM(4) -> Dense(2) compiled with adam/meanSquaredError, fitted 1 epoch on one batch (shuffle off), ' +
      'saved with includeOptimizer:true: manifest carries group "optimizer" entries and trainingConfig.',
      (h) => {
        const model = seqModel(tf, [L.lstm({units: 4, inputShape: [5, 3]}), L.dense({units: 2})]);
        return {model, inputs: [h.x([3, 5, 3])], fit: {x: h.x([4, 5, 3]), y: h.x([4, 2], -1, 1)}};
      }, {save: {includeOptimizer: true}});
});
