'use strict';
// Merge layers: elementwise merges, Concatenate, Dot, and masks through merges.

const {family, funcModel} = require('../lib/cases');

module.exports = family('merge', (tf, defCase) => {
  const L = tf.layers;

  defCase('merge_elementwise',
      'Three inputs [4] each through Dense(4); outputs Add(a,b,c), Multiply(a,b), Average(a,b), ' +
      'Maximum(a,b,c), Minimum(b,c).',
      (h) => {
        const ins = [0, 1, 2].map((i) => tf.input({shape: [4], name: `in_${'abc'[i]}`}));
        const [a, b, c] = ins.map((x) => L.dense({units: 4}).apply(x));
        const outs = [
          L.add().apply([a, b, c]),
          L.multiply().apply([a, b]),
          L.average().apply([a, b]),
          L.maximum().apply([a, b, c]),
          L.minimum().apply([b, c]),
        ];
        return {model: funcModel(tf, ins, outs), inputs: [h.x([3, 4]), h.x([3, 4]), h.x([3, 4])]};
      });

  defCase('merge_concatenate',
      'Concatenate axis -1 of [3,4] and [3,2] -> [3,6]; Concatenate axis 1 of [3,4] and [5,4] -> [8,4]; ' +
      'each followed by LSTM(3).',
      (h) => {
        const x1 = tf.input({shape: [3, 4]});
        const x2 = tf.input({shape: [3, 2]});
        const x3 = tf.input({shape: [5, 4]});
        const c1 = L.concatenate({axis: -1}).apply([x1, x2]);
        const c2 = L.concatenate({axis: 1}).apply([x1, x3]);
        const o1 = L.lstm({units: 3}).apply(c1);
        const o2 = L.lstm({units: 3}).apply(c2);
        return {model: funcModel(tf, [x1, x2, x3], [o1, o2]),
          inputs: [h.x([3, 3, 4]), h.x([3, 3, 2]), h.x([3, 5, 4])]};
      });

  defCase('merge_dot',
      'Dot: axes -1 normalize:true on [5]x[5] vectors (cosine) -> [1]; axes [2,2] on [4,3]x[5,3] -> [4,5]; ' +
      'axes 1 on [4,3]x[4,2] -> [3,2].',
      (h) => {
        const a = tf.input({shape: [5]});
        const b = tf.input({shape: [5]});
        const p = tf.input({shape: [4, 3]});
        const q = tf.input({shape: [5, 3]});
        const r = tf.input({shape: [4, 2]});
        const da = L.dense({units: 5}).apply(a);
        const o1 = L.dot({axes: -1, normalize: true}).apply([da, b]);
        const o2 = L.dot({axes: [2, 2]}).apply([p, q]);
        const o3 = L.dot({axes: 1}).apply([p, r]);
        return {model: funcModel(tf, [a, b, p, q, r], [o1, o2, o3]),
          inputs: [h.x([3, 5]), h.x([3, 5]), h.x([3, 4, 3]), h.x([3, 5, 3]), h.x([3, 4, 2])]};
      });

  defCase('merge_masked_branches',
      'Two masked inputs [6,3] (Masking 0, different padding per branch) -> LSTM(4, returnSequences) each -> ' +
      'Concatenate -> LSTM(3, returnSequences) and LSTM(3); the concatenated mask is the AND of the branch ' +
      'masks. (Add/Multiply/... of masked tensors cannot feed an RNN in TF.js 4.22, see probes.)',
      (h) => {
        const x1 = tf.input({shape: [6, 3]});
        const x2 = tf.input({shape: [6, 3]});
        const m1 = L.masking({maskValue: 0}).apply(x1);
        const m2 = L.masking({maskValue: 0}).apply(x2);
        const s1 = L.lstm({units: 4, returnSequences: true}).apply(m1);
        const s2 = L.lstm({units: 4, returnSequences: true}).apply(m2);
        const c = L.concatenate().apply([s1, s2]);
        const o1 = L.lstm({units: 3, returnSequences: true}).apply(c);
        const o2 = L.lstm({units: 3}).apply(c);
        return {
          model: funcModel(tf, [x1, x2], [o1, o2]),
          inputs: [
            h.maskedSeq([4, 6, 3], ['111111', '111100', '001111', '110111']),
            h.maskedSeq([4, 6, 3], ['111111', '111110', '011111', '111011']),
          ],
        };
      });
});
