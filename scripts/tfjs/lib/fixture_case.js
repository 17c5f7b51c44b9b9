'use strict';
// One hand-written case (cases/*.js) from its definition to its fixture folder: the model is built, every weight
// is set from a PRNG seeded by the case name (lib/cases.js's helpers draw the inputs from the same PRNG), and the
// shared recorder (lib/recorder.js) saves, reloads, checks and writes it; quantized saves are checked against
// the weights that were saved, an included optimizer against the manifest.

const fs = require('fs');
const os = require('os');
const path = require('path');
const {fnv1a, mulberry32} = require('../prng');
const recorder = require('./recorder');
const {makeHelpers} = require('./cases');

function weightRangeFor(name, c) {
  const base = name.split('/').pop();
  const custom = c.weightRanges || {};
  for (const key of Object.keys(custom)) {
    if (base === key || base.endsWith(key)) {
      const r = custom[key];
      return Array.isArray(r) ? r : [-r, r];
    }
  }
  if (base === 'moving_variance') return [0.5, 1.5];
  if (base === 'moving_mean') return [-0.5, 0.5];
  if (base === 'gamma') return [0.8, 1.2];
  if (base === 'beta') return [-0.3, 0.3];
  if (base === 'alpha') return [0.05, 0.5];
  const r = c.weightRange != null ? c.weightRange : 0.6;
  return [-r, r];
}

function tensorFromSpec(tf, spec) {
  return tf.tensor(spec.data, spec.shape, spec.dtype);
}

function rmrf(dir) {
  fs.rmSync(dir, {recursive: true, force: true});
}

/** Checks TF.js's dequantized weights against the saved model's own (within half a quantization step). */
function checkDequantized(caseDir, model, reloaded) {
  const modelJSON = JSON.parse(fs.readFileSync(path.join(caseDir, 'model.json'), 'utf8'));
  const loadedByName = {};
  for (const v of reloaded.weights) loadedByName[v.originalName] = v.read().dataSync();
  const origByName = {};
  for (const v of model.weights) origByName[v.originalName] = v.read().dataSync();
  let maxErr = 0;
  for (const s of modelJSON.weightsManifest[0].weights) {
    const got = loadedByName[s.name];
    const orig = origByName[s.name];
    if (got == null || orig == null) throw new Error(`weight ${s.name} not found after reload`);
    const q = s.quantization;
    const bound = q.dtype === 'float16' ? 1e-3 * 1.0 : q.scale / 2 + 1e-6;
    const e = recorder.maxAbsDiff(got, orig);
    if (e > bound) throw new Error(`dequantized ${s.name} is off by ${e} (> ${bound})`);
    maxErr = Math.max(maxErr, e);
  }
  return maxErr;
}

/** The optimizer weights model.save({includeOptimizer: true}) wrote (there must be some, and a trainingConfig). */
function optimizerWeights(caseDir) {
  const modelJSON = JSON.parse(fs.readFileSync(path.join(caseDir, 'model.json'), 'utf8'));
  const opt = modelJSON.weightsManifest[0].weights.filter((w) => w.group === 'optimizer');
  if (opt.length === 0) throw new Error('includeOptimizer: no group "optimizer" entries in the manifest');
  if (modelJSON.trainingConfig == null) throw new Error('includeOptimizer: no trainingConfig in model.json');
  return opt.map((w) => w.name);
}

/** Builds the case with its seeded weights (and its training, if any); returns {model, calls}. */
async function buildCase(tf, c) {
  const h = makeHelpers(mulberry32(fnv1a(c.seedName || c.name)));
  const built = c.build(h);
  const model = built.model;
  if (c.setWeights !== false) {
    recorder.setWeights(tf, model, (name, n) => {
      const [lo, hi] = weightRangeFor(name, c);
      return h.uniform(n, lo, hi);
    });
  }
  if (built.fit) {  // {x, y} (+ epochs: 1, batchSize: the whole batch, learningRate: adam's default)
    const f = built.fit;
    model.compile({optimizer: f.learningRate ? tf.train.adam(f.learningRate) : 'adam', loss: 'meanSquaredError'});
    const fx = tensorFromSpec(tf, f.x);
    const fy = tensorFromSpec(tf, f.y);
    await model.fit(fx, fy, {epochs: f.epochs || 1, batchSize: f.batchSize || f.x.shape[0], shuffle: false,
      verbose: 0});
    tf.dispose([fx, fy]);
  }
  return {model, calls: built.calls || [{reset_states: false, inputs: built.inputs}]};
}

/**
 * Records one case into outDir/<name> with the shared recorder (a probe into a temporary folder, removed after);
 * returns what the parent prints ({outcome} for a probe, {files, bytes, ...} for a case).
 * A case marked reloadDiffers pins TF.js's loader reading the file differently from the model that saved it:
 * there the reloaded predictions (the ones recorded) must differ.
 */
async function runCase(tf, c, outDir) {
  const isProbe = !!c.probe;
  const {model, calls} = await buildCase(tf, c);
  const caseDir = path.join(outDir, c.name);
  const dir = isProbe ? fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-probe-')) : caseDir;
  const saveOpts = c.save || {};
  const info = {};
  try {
    const r = await recorder.record(tf, model, calls, dir, {name: c.name, description: c.description, atol: c.atol,
      save: saveOpts, reload: c.reloadDiffers ? 'differs' : 'same'});
    info.maxDiffVsInMemory = r.maxDiffVsInMemory;
    if (isProbe) return Object.assign(info, {outcome: 'reloaded and matched the in-memory model bit for bit'});
    if (saveOpts.quantize) info.maxWeightQuantError = checkDequantized(caseDir, model, r.reloaded);
    if (saveOpts.includeOptimizer) info.optimizerWeights = optimizerWeights(caseDir);
  } catch (err) {
    if (!isProbe && err.stage !== 'predict') rmrf(caseDir);
    if (err.stage === 'reload' || err.stage === 'reload-predict') {
      throw new Error(`reloading the saved model failed: ${err.message}`);
    }
    throw err;
  } finally {
    if (isProbe) rmrf(dir);
  }
  info.files = fs.readdirSync(caseDir).length;
  info.bytes = fs.readdirSync(caseDir).reduce((s, f) => s + fs.statSync(path.join(caseDir, f)).size, 0);
  return info;
}

module.exports = {runCase, weightRangeFor};
