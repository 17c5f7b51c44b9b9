#!/usr/bin/env node
'use strict';
// Runs a saved layers model with the real TF.js (pure-JS CPU backend).
//
//   node scripts/tfjs/predict.js MODEL_DIR --out OUT_DIR IN0.npy [IN1.npy ...]
//
// MODEL_DIR holds model.json and the weight files listed in its manifest.
// Inputs are given in the order of the model's inputs; each is cast to the
// dtype the model input declares (float32 or int32). Writes output0.npy,
// output1.npy, ... (float32, or int32 for int32 outputs) into OUT_DIR.
// On error: message on stderr, exit status 1.

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const {loadFromDir} = require('./io');
const npy = require('./npy');

function usage() {
  return 'usage: node predict.js MODEL_DIR --out OUT_DIR IN0.npy [IN1.npy ...]';
}

function parseArgs(argv) {
  let modelDir = null;
  let outDir = null;
  const inputs = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') {
      if (i + 1 >= argv.length) throw new Error('--out needs a directory');
      outDir = argv[++i];
    } else if (a.startsWith('--out=')) {
      outDir = a.slice(6);
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(usage() + '\n');
      process.exit(0);
    } else if (a.startsWith('--')) {
      throw new Error(`unknown option ${a}`);
    } else if (modelDir == null) {
      modelDir = a;
    } else {
      inputs.push(a);
    }
  }
  if (modelDir == null || outDir == null || inputs.length === 0) throw new Error(usage());
  return {modelDir, outDir, inputs};
}

function toTensor(arr, dtype, file) {
  let values;
  if (dtype === 'int32') {
    if (arr.dtype === 'float32' || arr.dtype === 'float64') {
      values = Int32Array.from(arr.data, (v) => {
        if (!Number.isInteger(v)) throw new Error(`${file}: non-integer value ${v} for an int32 input`);
        return v;
      });
    } else {
      values = Int32Array.from(arr.data, (v) => Number(v));
    }
  } else if (dtype === 'float32') {
    values = Float32Array.from(arr.data, (v) => Number(v));
  } else if (dtype === 'bool') {
    values = Uint8Array.from(arr.data, (v) => (Number(v) !== 0 ? 1 : 0));
  } else {
    throw new Error(`unsupported model input dtype ${dtype}`);
  }
  return tf.tensor(values, arr.shape, dtype);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  await tf.setBackend('cpu');
  await tf.ready();
  if (tf.getBackend() !== 'cpu') throw new Error(`backend is ${tf.getBackend()}, expected cpu`);

  const model = await tf.loadLayersModel(loadFromDir(args.modelDir));
  if (args.inputs.length !== model.inputs.length) {
    throw new Error(`model has ${model.inputs.length} input(s), got ${args.inputs.length} file(s)`);
  }
  const xs = args.inputs.map((file, i) => {
    const arr = npy.readNpy(file);
    const expected = model.inputs[i].shape;
    if (arr.shape.length !== expected.length ||
        arr.shape.some((d, k) => expected[k] != null && expected[k] !== d)) {
      throw new Error(`${file}: shape [${arr.shape}] does not match model input ` +
          `${model.inputLayers[i].name} [${expected.map((d) => (d == null ? 'null' : d))}]`);
    }
    return toTensor(arr, model.inputs[i].dtype, file);
  });
  const batch = xs[0].shape[0];
  let ys = model.predict(xs.length === 1 ? xs[0] : xs, {batchSize: Math.max(1, batch)});
  if (!Array.isArray(ys)) ys = [ys];

  fs.mkdirSync(args.outDir, {recursive: true});
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    const dtype = y.dtype === 'int32' ? 'int32' : 'float32';
    const data = await y.data();
    npy.writeNpy(path.join(args.outDir, `output${i}.npy`), data, y.shape, dtype);
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`predict.js: ${err && err.message ? err.message : err}\n`);
    process.exit(1);
  });
}

module.exports = {toTensor};
