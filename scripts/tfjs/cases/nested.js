'use strict';
// Graph structure: several inputs and outputs, a shared layer, models nested as layers (Sequential and
// functional, under TimeDistributed, carrying a mask out).

const {family, funcModel, MASK_ROWS_6} = require('../lib/cases');

module.exports = family('nested', (tf, defCase) => {
  const L = tf.layers;

  defCase('multi_io_shared_lstm',
      'Two inputs a [6,3] and b [4,3] (different lengths); one SHARED LSTM(5) applied to a (node 0) and b ' +
      '(node 1); outputs in the order [head_b (Dense 2 on node 1), head_ab (Dense 3 on concat)].',
      (h) => {
        const a = tf.input({shape: [6, 3], name: 'seq_a'});
        const b = tf.input({shape: [4, 3], name: 'seq_b'});
        const shared = L.lstm({units: 5, name: 'shared_lstm'});
        const ha = shared.apply(a);
        const hb = shared.apply(b);
        const headB = L.dense({units: 2, name: 'head_b'}).apply(hb);
        const headAB = L.dense({units: 3, activation: 'tanh', name: 'head_ab'})
            .apply(L.concatenate().apply([hb, ha]));
        return {model: funcModel(tf, [a, b], [headB, headAB]), inputs: [h.x([3, 6, 3]), h.x([3, 4, 3])]};
      });

  // ---- nested models ----------------------------------------------------------------------
  defCase('nested_sequential_shared',
      'A tf.sequential [LSTM(4) on [5,3], Dense(2)] used as a layer of a functional model and called on two ' +
      'inputs (TF.js saves the calls as node 1 and 2: the nested model\'s own node is 0); outputs ' +
      '[Dense(3) of both, second branch].',
      (h) => {
        const inner = tf.sequential({layers: [L.lstm({units: 4, inputShape: [5, 3]}), L.dense({units: 2})]});
        const a = tf.input({shape: [5, 3]});
        const b = tf.input({shape: [5, 3]});
        const ya = inner.apply(a);
        const yb = inner.apply(b);
        const out = L.dense({units: 3}).apply(L.concatenate().apply([ya, yb]));
        return {model: funcModel(tf, [a, b], [out, yb]), inputs: [h.x([3, 5, 3]), h.x([3, 5, 3])]};
      });

  defCase('td_nested_sequential',
      'TimeDistributed over a nested tf.sequential [Dense(4, tanh) on [6], Dense(3)], then LSTM(2): a model as ' +
      'the layer TimeDistributed applies at every step (its weights are named by the inner layers), input [5,6].',
      (h) => {
        const inner = tf.sequential({layers: [L.dense({units: 4, activation: 'tanh', inputShape: [6]}),
          L.dense({units: 3})]});
        const x = tf.input({shape: [5, 6]});
        const y = L.lstm({units: 2, returnSequences: true}).apply(L.timeDistributed({layer: inner}).apply(x));
        return {model: funcModel(tf, x, y), inputs: [h.x([3, 5, 6])]};
      });

  defCase('nested_functional_masked',
      'A functional model [Masking(0) -> LSTM(4, returnSequences)] used as a layer, followed by LSTM(3): the ' +
      'mask made inside the nested model reaches the outer LSTM. Padded rows, input [6,3].',
      (h) => {
        const ix = tf.input({shape: [6, 3]});
        const inner = funcModel(tf, ix, L.lstm({units: 4, returnSequences: true}).apply(
            L.masking({maskValue: 0}).apply(ix)));
        const x = tf.input({shape: [6, 3]});
        const y = L.lstm({units: 3}).apply(inner.apply(x));
        return {model: funcModel(tf, x, y), inputs: [h.maskedSeq([4, 6, 3], MASK_ROWS_6)]};
      });
});
