'use strict';
// Seeded inputs, shared by the hand-written cases (lib/cases.js) and the random models: float sequences whose
// masked steps are zero vectors, and token ids with 0 for padding. patterns[b][t] === '0' marks a masked step of
// row b (no patterns: nothing masked).

const {sizeOf} = require('./recorder');

/** float32 [B, T, ...] from uniform(n) (n values), the steps patterns mark set to zero vectors (Masking(0)). */
function maskedFloats(uniform, shape, patterns) {
  const data = uniform(sizeOf(shape));
  if (patterns != null) {
    const [B, T] = shape;
    const F = sizeOf(shape.slice(2));
    for (let b = 0; b < B; b++) {
      if (patterns[b].length !== T) throw new Error(`pattern ${patterns[b]} is not ${T} long`);
      for (let t = 0; t < T; t++) {
        if (patterns[b][t] === '0') data.fill(0, (b * T + t) * F, (b * T + t + 1) * F);
      }
    }
  }
  return {dtype: 'float32', shape, data};
}

/** Token ids [B, T] in 1..vocab-1 drawn from next() (floats in [0, 1)), 0 at the steps patterns mark. */
function maskedIds(next, shape, vocab, patterns, dtype = 'int32') {
  const [B, T] = shape;
  const vals = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const pad = patterns != null && patterns[b][t] === '0';
      vals.push(pad ? 0 : 1 + Math.floor(next() * (vocab - 1)));
    }
  }
  return {dtype, shape, data: dtype === 'int32' ? Int32Array.from(vals) : Float32Array.from(vals)};
}

module.exports = {maskedFloats, maskedIds};
