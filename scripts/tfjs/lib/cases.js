'use strict';
// What the hand-written case modules (cases/*.js) are written with: family() to declare a family's cases, the
// seeded input helpers a case's build gets, and the masking row patterns.
//
// A case is {name, description, build(h) -> {model, inputs} | {model, calls} (+ fit: {x, y}), ...options}:
//   setWeights: false      keep TF.js's own (seeded) initializers
//   weightRange: r         kernels and biases uniform in [-r, r] (default 0.6)
//   weightRanges: {suffix: r | [lo, hi]}  per weight name
//   seedName: s            seed the PRNG with s instead of the case name (cases that share numbers)
//   save: {...}            the recorder's save options (lib/recorder.js: shards, quantize, wrapConverter,
//                          includeOptimizer)
//   reloadDiffers: true    TF.js's loader builds another model from the file: the recorded outputs must differ
//   atol: a                the tolerance recorded in expected.json (default 1e-5)

const {sizeOf} = require('./recorder');
const {maskedFloats, maskedIds} = require('./inputs');

// Masking patterns: unpadded row, post-padded, pre-padded, a gap in the middle.
const MASK_ROWS_7 = ['1111111', '1111100', '0001111', '1101011'];
const MASK_ROWS_6 = ['111111', '111100', '001111', '110101'];

/** The input makers a case's build(h) gets, all drawing from the case's PRNG `rng` (floats in [0, 1)). */
function makeHelpers(rng) {
  const uniform = (n, lo, hi) => Float32Array.from({length: n}, () => lo + (hi - lo) * rng());
  return {
    rng,
    uniform,
    /** float32 input in [lo, hi). */
    x(shape, lo = -2, hi = 2) {
      return {dtype: 'float32', shape, data: uniform(sizeOf(shape), lo, hi)};
    },
    /**
     * float32 sequences [B, T, F] where patterns[b][t] === '0' marks a step whose
     * features are all 0 (masked by Masking(maskValue=0)).
     */
    maskedSeq(shape, patterns) {
      return maskedFloats((n) => uniform(n, -2, 2), shape, patterns);
    },
    /** integer ids [B, T] in 1..vocab-1, 0 where patterns[b][t] === '0'. */
    ids(shape, vocab, patterns, dtype = 'int32') {
      return maskedIds(rng, shape, vocab, patterns, dtype);
    },
  };
}

function seqModel(tf, layers) {
  return tf.sequential({layers});
}

function funcModel(tf, inputs, outputs) {
  return tf.model({inputs, outputs});
}

/**
 * Declares a family: body(tf, def) calls def(name, description, build, opts) once per case, in the order the
 * fixture README lists them. Returns {name, define(tf) -> [case]}; each case carries its family's name.
 */
function family(name, body) {
  return {
    name,
    define(tf) {
      const cases = [];
      body(tf, (caseName, description, build, opts = {}) => {
        cases.push(Object.assign({name: caseName, description, build, family: name}, opts));
      });
      return cases;
    },
  };
}

module.exports = {family, makeHelpers, seqModel, funcModel, MASK_ROWS_6, MASK_ROWS_7};
