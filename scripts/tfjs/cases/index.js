'use strict';
// The hand-written TF.js cases, family by family, in the order fixtures/tfjs/README.md lists them; the probes
// (experiments that write no fixture) apart. A new case goes into the module of its family; a new family is one
// more module here.

const FAMILIES = [
  require('./recurrent'),
  require('./masking'),
  require('./core'),
  require('./merge'),
  require('./normalization'),
  require('./conv1d'),
  require('./conv2d'),
  require('./conv_recurrent'),
  require('./conv3d'),
  require('./preprocessing'),
  require('./pooling1d'),
  require('./activation_layers'),
  require('./nested'),
  require('./engine_quirks'),
  require('./storage'),
];
const PROBES = require('./probes');

/** Every case and probe, with the layer constructors of `tf`: {families: [name], cases: [case], probes: [case]}. */
function loadCases(tf) {
  const cases = FAMILIES.flatMap((f) => f.define(tf));
  const probes = PROBES.define(tf).map((p) => Object.assign(p, {probe: true}));
  const names = new Set();
  for (const c of [...cases, ...probes]) {
    if (names.has(c.name)) throw new Error(`case ${c.name} is defined twice`);
    names.add(c.name);
  }
  const families = [...FAMILIES, PROBES].map((f) => f.name);
  const clash = families.filter((f) => names.has(f));
  if (clash.length) throw new Error(`family name(s) ${clash.join(', ')} also name a case`);
  return {families, cases, probes};
}

module.exports = {loadCases};
