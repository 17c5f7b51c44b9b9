#!/usr/bin/env node
'use strict';
// Loads many saved layers models with the real TF.js (pure-JS CPU backend) in one process and runs their calls.
//
//   node scripts/tfjs/roundtrip.js JOBS.json
//
// JOBS.json is a list of {model: MODEL_DIR, out: OUT_DIR, calls: [{inputs: [IN.npy...], reset_states: bool,
// batch_size?: int}]} (batch_size: predict's batchSize, default the whole batch).
// Each model is loaded once with tf.loadLayersModel (an IOHandler reading MODEL_DIR), its calls are run in
// order on that one model (model.resetStates() first where asked), and OUT_DIR receives
// call{k}_output{j}.npy and result.json: {ok, error, userDefinedMetadata, weights: [names the model holds]}.
// A model that fails to load or run is recorded in its result.json; the script goes on with the next one.

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const {loadFromDir} = require('./io');
const npy = require('./npy');
const {toTensor} = require('./predict');

async function runCall(model, call, k, out) {
  if (call.reset_states) model.resetStates();
  const xs = call.inputs.map((file, i) => toTensor(npy.readNpy(file), model.inputs[i].dtype, file));
  const batchSize = call.batch_size || Math.max(1, xs[0].shape[0]);
  let ys = model.predict(xs.length === 1 ? xs[0] : xs, {batchSize});
  if (!Array.isArray(ys)) ys = [ys];
  for (let j = 0; j < ys.length; j++) {
    const dtype = ys[j].dtype === 'int32' ? 'int32' : 'float32';
    npy.writeNpy(path.join(out, `call${k}_output${j}.npy`), await ys[j].data(), ys[j].shape, dtype);
  }
  tf.dispose([...xs, ...ys]);
}

async function runJob(job) {
  fs.mkdirSync(job.out, {recursive: true});
  const result = {ok: false, error: null, userDefinedMetadata: null, weights: []};
  let model = null;
  try {
    model = await tf.loadLayersModel(loadFromDir(job.model));
    result.userDefinedMetadata = model.getUserDefinedMetadata() || null;
    result.weights = model.weights.map((w) => w.originalName);
    for (let k = 0; k < job.calls.length; k++) await runCall(model, job.calls[k], k, job.out);
    result.ok = true;
  } catch (err) {
    result.error = err && err.message ? err.message : String(err);
  }
  if (model != null) model.dispose();
  fs.writeFileSync(path.join(job.out, 'result.json'), JSON.stringify(result));
}

async function main() {
  if (process.argv.length !== 3) throw new Error('usage: node roundtrip.js JOBS.json');
  await tf.setBackend('cpu');
  await tf.ready();
  const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  for (const job of jobs) await runJob(job);
}

main().catch((err) => {
  process.stderr.write(`roundtrip.js: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
