'use strict';
// Shared by make_fixtures.js and random_models.js: the seeded PRNG (FNV-1a of a name seeds mulberry32, so a
// fixture's numbers depend only on its name) and bit-exact comparison of typed arrays.

/** FNV-1a hash of a string, as a uint32. */
function fnv1a(str) {
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i++) {
    h ^= str.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: a small, fast, seeded generator of floats in [0, 1). */
function mulberry32(seed) {
  let a = seed >>> 0;
  return function() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** True when two typed arrays hold the same bytes. */
function sameBits(a, b) {
  if (a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength)
      .equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

module.exports = {fnv1a, mulberry32, sameBits};
