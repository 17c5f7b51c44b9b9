'use strict';
// Save/load TF.js layers models to/from a directory, the way the official
// Python converter lays them out: model.json + group1-shard{i}of{n}.bin.
//
//   saveArtifacts(dir, artifacts, {shardSizeBytes, wrapConverter, quantize})
//       `artifacts` is what tf.io.withSaveHandler hands over in model.save().
//   loadFromDir(dir)
//       an IOHandler for tf.loadLayersModel() reading such a directory.

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

const TFJS_VERSION = '4.22.0';
const DEFAULT_SHARD_SIZE = 4 * 1024 * 1024; // converter default: 4194304 bytes
const BYTES_PER_ELEMENT = {float32: 4, int32: 4, bool: 1, complex64: 8};

// ---------------------------------------------------------------------------
// Quantization, replicating tensorflowjs/quantization.py (converter 4.x):
//   uint8/uint16: min/max of the tensor (as float64);
//     min == max -> q = 0, scale = 1.0, min = that value;
//     else scale = (max - min) / (2^bits - 1); if min <= 0 <= max the range is
//     nudged so that 0 is exact: zp = round((0 - min) / scale) (numpy rounds half
//     to even), min = -zp * scale, max = quant_max * scale + min;
//     q = round((clip(x, min, max) - min) / scale), half to even.
//   float16: IEEE half, round to nearest even (numpy astype(float16)).
//   Only float32 tensors are quantized. The manifest entry keeps dtype
//   "float32" and gains quantization {dtype, min, scale, original_dtype} (or
//   {dtype: "float16", original_dtype} for float16).
// Arithmetic is done in float64 (numpy >= 2 promotes the float32 tensor to
// float64 when clipping against float64 scalars).
// ---------------------------------------------------------------------------

function roundHalfEven(x) {
  const r = Math.round(x); // rounds .5 up
  if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

function affineQuantize(values, bits) {
  const quantMax = bits === 8 ? 255 : 65535;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < min) min = values[i];
    if (values[i] > max) max = values[i];
  }
  const out = bits === 8 ? new Uint8Array(values.length) : new Uint16Array(values.length);
  if (values.length === 0) return {data: out, min: 0, scale: 1.0};
  if (min === max) return {data: out, min, scale: 1.0};
  const scale = (max - min) / quantMax;
  let nudgedMin = min;
  let nudgedMax = max;
  if (min <= 0 && 0 <= max) {
    const nudgedZeroPoint = roundHalfEven((0 - min) / scale);
    nudgedMin = -nudgedZeroPoint * scale;
    nudgedMax = quantMax * scale + nudgedMin;
  }
  for (let i = 0; i < values.length; i++) {
    const v = Math.min(Math.max(values[i], nudgedMin), nudgedMax);
    out[i] = roundHalfEven((v - nudgedMin) / scale);
  }
  return {data: out, min: nudgedMin, scale};
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** float32 -> IEEE 754 half bits, round to nearest even (like numpy). */
function float32ToFloat16Bits(value) {
  f32buf[0] = value;
  const x = u32buf[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // inf / nan
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) { // half subnormal (or zero)
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++; // carry may give inf: correct
  return sign | h;
}

function float16Quantize(values) {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]);
  return {data: out};
}

function toLittleEndianBytes(typed) {
  // Typed arrays use host byte order; convert explicitly to little endian.
  const buf = Buffer.alloc(typed.length * typed.BYTES_PER_ELEMENT);
  for (let i = 0; i < typed.length; i++) {
    if (typed instanceof Uint8Array) buf.writeUInt8(typed[i], i);
    else if (typed instanceof Uint16Array) buf.writeUInt16LE(typed[i], i * 2);
    else throw new Error('unexpected typed array');
  }
  return buf;
}

/** Byte length of one tensor of the manifest inside the weight byte stream. */
function specByteLength(spec, bytes, offset) {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.quantization != null) {
    const q = spec.quantization.dtype;
    return size * (q === 'uint8' ? 1 : 2);
  }
  if (spec.dtype === 'string') {
    let p = offset;
    for (let i = 0; i < size; i++) p += 4 + bytes.readUInt32LE(p);
    return p - offset;
  }
  const b = BYTES_PER_ELEMENT[spec.dtype];
  if (b == null) throw new Error(`Unsupported dtype ${spec.dtype} for ${spec.name}`);
  return size * b;
}

/** Quantizes every float32 tensor; returns {specs, bytes}. */
function quantizeWeights(weightSpecs, bytes, quantize) {
  const bits = {uint8: 8, uint16: 16}[quantize];
  if (bits == null && quantize !== 'float16') {
    throw new Error(`quantize must be 'uint8', 'uint16' or 'float16', got ${quantize}`);
  }
  const specs = [];
  const chunks = [];
  let offset = 0;
  for (const spec of weightSpecs) {
    if (spec.quantization != null) throw new Error(`${spec.name} is already quantized`);
    const n = specByteLength(spec, bytes, offset);
    const chunk = bytes.subarray(offset, offset + n);
    offset += n;
    if (spec.dtype !== 'float32') {
      specs.push(Object.assign({}, spec));
      chunks.push(chunk);
      continue;
    }
    const values = new Float32Array(n / 4);
    for (let i = 0; i < values.length; i++) values[i] = chunk.readFloatLE(i * 4);
    const newSpec = Object.assign({}, spec);
    if (bits != null) {
      const q = affineQuantize(values, bits);
      newSpec.quantization = {dtype: quantize, min: q.min, scale: q.scale, original_dtype: 'float32'};
      chunks.push(toLittleEndianBytes(q.data));
    } else {
      const q = float16Quantize(values);
      newSpec.quantization = {dtype: 'float16', original_dtype: 'float32'};
      chunks.push(toLittleEndianBytes(q.data));
    }
    specs.push(newSpec);
  }
  if (offset !== bytes.length) {
    throw new Error(`weight specs cover ${offset} bytes but weight data has ${bytes.length}`);
  }
  return {specs, bytes: Buffer.concat(chunks)};
}

function weightDataToBuffer(weightData) {
  if (weightData == null) return Buffer.alloc(0);
  const ab = Array.isArray(weightData) ? tf.io.CompositeArrayBuffer.join(weightData) : weightData;
  return Buffer.from(new Uint8Array(ab));
}

/**
 * Writes model.json and group1-shard{i}of{n}.bin files.
 * @param {string} dir output directory (created if missing)
 * @param {object} artifacts tf.io.ModelArtifacts from a save handler
 * @param {object} [opts]
 * @param {number} [opts.shardSizeBytes=4194304]
 * @param {boolean|object} [opts.wrapConverter] write the topology in the
 *     converter's {keras_version, backend, model_config, training_config}
 *     form; an object may set keras_version, backend, generatedBy, convertedBy.
 * @param {'uint8'|'uint16'|'float16'} [opts.quantize]
 * @returns {{modelJSON: object, paths: string[]}}
 */
function saveArtifacts(dir, artifacts, opts = {}) {
  const shardSize = opts.shardSizeBytes == null ? DEFAULT_SHARD_SIZE : opts.shardSizeBytes;
  if (!Number.isInteger(shardSize) || shardSize <= 0) {
    throw new Error(`shardSizeBytes must be a positive integer, got ${shardSize}`);
  }
  if (artifacts.modelTopology == null || artifacts.modelTopology instanceof ArrayBuffer) {
    throw new Error('saveArtifacts expects a JSON modelTopology');
  }
  fs.mkdirSync(dir, {recursive: true});

  let weightSpecs = (artifacts.weightSpecs || []).map((s) => Object.assign({}, s));
  let bytes = weightDataToBuffer(artifacts.weightData);
  if (opts.quantize) {
    ({specs: weightSpecs, bytes} = quantizeWeights(weightSpecs, bytes, opts.quantize));
  }

  const numShards = Math.max(1, Math.ceil(bytes.length / shardSize));
  const paths = [];
  if (bytes.length > 0 || weightSpecs.length > 0) {
    for (let i = 0; i < numShards; i++) {
      const name = `group1-shard${i + 1}of${numShards}.bin`;
      fs.writeFileSync(path.join(dir, name), bytes.subarray(i * shardSize, (i + 1) * shardSize));
      paths.push(name);
    }
  }

  let topology = artifacts.modelTopology;
  let generatedBy = artifacts.generatedBy != null ?
      artifacts.generatedBy : `TensorFlow.js tfjs-layers v${TFJS_VERSION}`;
  let convertedBy = artifacts.convertedBy != null ? artifacts.convertedBy : null;
  if (opts.wrapConverter) {
    const w = typeof opts.wrapConverter === 'object' ? opts.wrapConverter : {};
    const kerasVersion = w.keras_version || '2.15.0';
    topology = {
      keras_version: kerasVersion,
      backend: w.backend || 'tensorflow',
      model_config: {class_name: topology.class_name, config: topology.config},
    };
    if (artifacts.trainingConfig != null) topology.training_config = artifacts.trainingConfig;
    // What the converter writes (keras_h5_conversion.write_artifacts).
    generatedBy = w.generatedBy !== undefined ? w.generatedBy : `keras v${kerasVersion}`;
    convertedBy = w.convertedBy !== undefined ? w.convertedBy :
        `TensorFlow.js Converter v${TFJS_VERSION}`;
  }

  const modelJSON = {
    format: 'layers-model',
    generatedBy,
    convertedBy,
    modelTopology: topology,
    weightsManifest: [{paths, weights: weightSpecs}],
  };
  // Optional keys that TF.js's own save path (getModelJSONForModelArtifacts) carries over.
  if (artifacts.trainingConfig != null && !opts.wrapConverter) {
    modelJSON.trainingConfig = artifacts.trainingConfig;
  }
  if (artifacts.userDefinedMetadata != null) {
    modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
  }
  if (artifacts.signature != null) modelJSON.signature = artifacts.signature;

  const text = JSON.stringify(modelJSON, (k, v) => {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      throw new Error(`model.json would carry a non-finite number under key "${k}"`);
    }
    return v;
  });
  fs.writeFileSync(path.join(dir, 'model.json'), text);
  return {modelJSON, paths};
}

/**
 * IOHandler reading a directory written by saveArtifacts (or by the
 * converter): model.json plus the files listed in each group's `paths`.
 */
function loadFromDir(dir) {
  return {
    load: async () => {
      const modelJSON = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      if (modelJSON.modelTopology == null) throw new Error(`${dir}/model.json has no modelTopology`);
      const weightSpecs = [];
      const buffers = [];
      for (const group of modelJSON.weightsManifest || []) {
        weightSpecs.push(...group.weights);
        for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
      }
      const all = Buffer.concat(buffers);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
      const artifacts = {
        modelTopology: modelJSON.modelTopology,
        format: modelJSON.format,
        generatedBy: modelJSON.generatedBy,
        convertedBy: modelJSON.convertedBy,
        weightSpecs,
        weightData,
      };
      // Like TF.js's own loaders, only the top-level trainingConfig is used
      // (a converter wrapper's modelTopology.training_config is ignored).
      if (modelJSON.trainingConfig != null) artifacts.trainingConfig = modelJSON.trainingConfig;
      if (modelJSON.userDefinedMetadata != null) {
        artifacts.userDefinedMetadata = modelJSON.userDefinedMetadata;
      }
      if (modelJSON.signature != null) artifacts.signature = modelJSON.signature;
      return artifacts;
    },
  };
}

/** Captures the artifacts of model.save() without writing anything. */
async function captureArtifacts(model, saveConfig) {
  let captured = null;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    captured = artifacts;
    return {modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts)};
  }), saveConfig);
  return captured;
}

module.exports = {
  saveArtifacts,
  loadFromDir,
  captureArtifacts,
  // exported for tests / reuse
  affineQuantize,
  quantizeWeights,
  float32ToFloat16Bits,
  roundHalfEven,
  DEFAULT_SHARD_SIZE,
};
