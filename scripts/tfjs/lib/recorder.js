'use strict';
// The one recorder of TF.js cases, shared by the hand-written fixtures (make_fixtures.js) and the random models
// (random_models.js): it sets seeded weights, runs the calls, saves the model the way the converter lays it out
// (io.saveArtifacts over what model.save hands a save handler: model.json + group1-shard{i}of{n}.bin), reloads it
// from disk with tf.loadLayersModel, runs the calls again, checks the reloaded model against the one that saved it
// and writes the case folder: call{k}_input{i}.npy, call{k}_output{j}.npy (what the RELOADED model computes, i.e.
// what a browser loading the file runs) and expected.json (see fixtures/tfjs/README.md for its fields).
//
// A failure is a StageError naming the stage it happened in (predict, save, reload, reload-predict,
// reload-mismatch, non-finite, ill-conditioned); its message is TF.js's own where TF.js failed.

const fs = require('fs');
const os = require('os');
const path = require('path');
const io = require('../io');
const npy = require('../npy');
const {sameBits} = require('../prng');

const TFJS_VERSION = '4.22.0';
const DEFAULT_ATOL = 1e-5;
const CASE_FILES = /^(model\.json|expected\.json|recipe\.json|group\d+-shard\d+of\d+\.bin|call\d+_(in|out)put\d+\.npy)$/;

class StageError extends Error {
  constructor(stage, err) {
    super(err && err.message ? err.message : String(err));
    this.stage = stage;
    if (err && err.stack) this.stack = `${stage}: ${err.stack}`;
  }
}

/** Runs fn; a failure becomes a StageError of that stage (one already staged keeps its stage). */
async function stage(name, fn) {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StageError) throw err;
    throw new StageError(name, err);
  }
}

const sizeOf = (shape) => shape.reduce((a, b) => a * b, 1);

/** Checks that TF.js is the pinned version on the pure-JS CPU backend. */
async function useCpuBackend(tf) {
  await tf.setBackend('cpu');
  await tf.ready();
  if (tf.getBackend() !== 'cpu') throw new Error(`backend is ${tf.getBackend()}`);
  if (tf.version.tfjs !== TFJS_VERSION) throw new Error(`expected tfjs ${TFJS_VERSION}, got ${tf.version.tfjs}`);
}

/** Writes every weight of the model, in model.weights order, from values(name, size) -> Float32Array. */
function setWeights(tf, model, values) {
  for (const v of model.weights) {
    const name = v.originalName || v.name;
    if (v.dtype !== 'float32') throw new Error(`unexpected weight dtype ${v.dtype} for ${name}`);
    const t = tf.tensor(values(name, sizeOf(v.shape)), v.shape, 'float32');
    v.write(t);
    t.dispose();
  }
}

/**
 * Runs the calls in order on one model (model.resetStates() first where a call asks), each as one predict over
 * its whole batch. A call is {reset_states, inputs: [{dtype, shape, data}]}; returns, per call, its outputs in the
 * same {dtype, shape, data} form.
 */
async function runCalls(tf, model, calls) {
  const results = [];
  for (const call of calls) {
    if (call.reset_states) model.resetStates();
    const xs = call.inputs.map((s) => tf.tensor(s.data, s.shape, s.dtype));
    let ys = model.predict(xs.length === 1 ? xs[0] : xs, {batchSize: xs[0].shape[0]});
    if (!Array.isArray(ys)) ys = [ys];
    const outs = [];
    for (const y of ys) {
      const data = await y.data();
      outs.push({dtype: y.dtype === 'int32' ? 'int32' : 'float32', shape: y.shape.slice(),
        data: y.dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data)});
    }
    tf.dispose(xs);
    tf.dispose(ys);
    results.push(outs);
  }
  return results;
}

/** Removes the files a case folder gets (other files, e.g. a script that made it, stay). */
function clearCase(dir) {
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) {
    if (CASE_FILES.test(f)) fs.rmSync(path.join(dir, f));
  }
}

/** The calls run on a model saved WITHOUT quantization: proves that TF.js reloads the model that saved it. */
async function runUnquantized(tf, artifacts, calls) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-recorder-'));
  try {
    await stage('save', () => io.saveArtifacts(tmp, artifacts, {}));
    const copy = await stage('reload', () => tf.loadLayersModel(io.loadFromDir(tmp)));
    const outs = await stage('reload-predict', () => runCalls(tf, copy, calls));
    copy.dispose();
    return outs;
  } finally {
    fs.rmSync(tmp, {recursive: true, force: true});
  }
}

function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function checkValues(data, maxAbsOutput) {
  for (const v of data) {
    if (!Number.isFinite(v)) throw new StageError('non-finite', 'non-finite output');
    // float32 rounding alone exceeds the tolerance on large values: such a model tests nothing exactly.
    if (maxAbsOutput != null && Math.abs(v) > maxAbsOutput) {
      throw new StageError('ill-conditioned', `an output exceeds ${maxAbsOutput} in magnitude`);
    }
  }
}

/**
 * Compares what the reloaded model computed with what the model that saved it computed (`plain`: the reloaded
 * outputs, or an unquantized copy's for a quantized save). policy 'same': bit for bit; 'differs': the file must
 * make TF.js's loader build another model (some output differs); 'any': no comparison. Returns the largest
 * absolute difference.
 */
function checkReloaded(inMemory, reloaded, plain, policy, maxAbsOutput) {
  let worst = 0;
  let differs = false;
  for (let c = 0; c < reloaded.length; c++) {
    if (reloaded[c].length !== inMemory[c].length) {
      throw new StageError('reload-mismatch', `call ${c}: ${inMemory[c].length} outputs in memory, ` +
          `${reloaded[c].length} reloaded`);
    }
    for (let j = 0; j < reloaded[c].length; j++) {
      const a = inMemory[c][j];
      const b = reloaded[c][j];
      if (policy !== 'any' && a.shape.join() !== b.shape.join()) {
        throw new StageError('reload-mismatch', `output shape [${a.shape}] in memory vs [${b.shape}] reloaded`);
      }
      checkValues(b.data, maxAbsOutput);
      if (a.shape.join() === b.shape.join()) worst = Math.max(worst, maxAbsDiff(a.data, b.data));
      if (policy === 'any' || sameBits(a.data, plain[c][j].data)) continue;
      if (policy === 'same') {
        throw new StageError('reload-mismatch', 'reloaded predictions differ from the in-memory model');
      }
      differs = true;
    }
  }
  if (policy === 'differs' && !differs) {
    throw new StageError('reload-mismatch', 'expected the reloaded model to differ from the in-memory one');
  }
  return worst;
}

/** Writes the calls' inputs and the reloaded model's outputs as .npy, and expected.json; returns the latter. */
function writeCase(dir, reloaded, calls, outputs, meta) {
  const expected = {
    case: meta.name || path.basename(dir),
    description: meta.description || '',
    tfjs_version: TFJS_VERSION,
    backend: 'cpu',
    atol: meta.atol != null ? meta.atol : DEFAULT_ATOL,
    inputs: reloaded.inputLayers.map((l, i) => ({name: l.name, dtype: reloaded.inputs[i].dtype,
      shape: reloaded.inputs[i].shape})),
    outputs: reloaded.outputLayers.map((l, i) => ({name: l.name, node_index: reloaded.outputLayersNodeIndices[i],
      tensor_index: reloaded.outputLayersTensorIndices[i], shape: reloaded.outputs[i].shape})),
    calls: [],
  };
  for (let c = 0; c < calls.length; c++) {
    const call = {reset_states: !!calls[c].reset_states, inputs: [], outputs: []};
    calls[c].inputs.forEach((s, i) => {
      const declared = reloaded.inputs[i].dtype;
      if (declared !== s.dtype) throw new Error(`input ${i} fed as ${s.dtype} but declared ${declared}`);
      const f = `call${c}_input${i}.npy`;
      npy.writeNpy(path.join(dir, f), s.data, s.shape, s.dtype);
      call.inputs.push(f);
    });
    outputs[c].forEach((o, j) => {
      const f = `call${c}_output${j}.npy`;
      npy.writeNpy(path.join(dir, f), o.data, o.shape, o.dtype);
      call.outputs.push(f);
    });
    expected.calls.push(call);
  }
  fs.writeFileSync(path.join(dir, 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
  if (meta.recipe) fs.writeFileSync(path.join(dir, 'recipe.json'), JSON.stringify(meta.recipe, null, 1) + '\n');
  return expected;
}

/**
 * Records one case into dir: runs `calls` on the model, saves it, reloads it from disk, runs the calls again,
 * checks the reloaded model and writes the case files.
 * @param {object} opts
 * @param {object} [opts.save] {shardSizeBytes, quantize ('uint8'|'uint16'|'float16'), wrapConverter (see
 *     io.saveArtifacts), includeOptimizer (model.save's option)}
 * @param {'same'|'differs'|'any'} [opts.reload='same'] how the reloaded model must compare (checkReloaded)
 * @param {number} [opts.maxAbsOutput] larger outputs fail the case ('ill-conditioned')
 * @param {string} [opts.name] expected.json's case (default: the folder's name); opts.description, opts.atol
 * @param {object} [opts.recipe] written as recipe.json (random models)
 * @returns {Promise<{expected, model, reloaded, maxDiffVsInMemory}>} the models are left to the caller to dispose
 */
async function record(tf, model, calls, dir, opts = {}) {
  const save = opts.save || {};
  const inMemory = await stage('predict', () => runCalls(tf, model, calls));
  const artifacts = await stage('save', () => io.captureArtifacts(model, {includeOptimizer: !!save.includeOptimizer}));
  clearCase(dir);
  await stage('save', () => io.saveArtifacts(dir, artifacts, {shardSizeBytes: save.shardSizeBytes || undefined,
    quantize: save.quantize, wrapConverter: save.wrapConverter}));
  const reloaded = await stage('reload', () => tf.loadLayersModel(io.loadFromDir(dir)));
  const outputs = await stage('reload-predict', () => runCalls(tf, reloaded, calls));
  const plain = save.quantize ? await runUnquantized(tf, artifacts, calls) : outputs;
  const maxDiffVsInMemory = checkReloaded(inMemory, outputs, plain, opts.reload || 'same', opts.maxAbsOutput);
  const expected = writeCase(dir, reloaded, calls, outputs, opts);
  return {expected, model, reloaded, maxDiffVsInMemory};
}

module.exports = {TFJS_VERSION, DEFAULT_ATOL, StageError, stage, sizeOf, useCpuBackend, setWeights, runCalls,
  clearCase, maxAbsDiff, record};
