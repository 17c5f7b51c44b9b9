#!/usr/bin/env node
'use strict';
// Differential testing: builds random but valid small TF.js layers models with the real
// @tensorflow/tfjs 4.22 (pure-JS CPU backend), sets every weight from a seeded PRNG, saves
// and records each one with the fixtures' recorder (lib/recorder.js: model.json + group1-shard*of*.bin,
// sometimes several small shards, sometimes quantized; reloaded from disk with tf.loadLayersModel,
// predicted, written in the fixture format of fixtures/tfjs/README.md).
//
//   node scripts/tfjs/random_models.js --seed S --count N --out DIR [--only K[,K...]] [--quiet]
//   node scripts/tfjs/random_models.js --recipe FILE --out CASE_DIR [--allow-reload-mismatch]
//
// Output: DIR/<k>/ for k = 0..N-1 with model.json, shards, expected.json, call{c}_input{i}.npy,
// call{c}_output{j}.npy and recipe.json (what was built, replayable with --recipe), and
// DIR/summary.json (the TF.js failures that made a model be regenerated, by kind).
//
// Same seed -> byte-identical output: model k depends only on (seed, k). Every layer is named
// explicitly, so TF.js's process-wide automatic names play no part. A model on which TF.js
// fails (building, saving, reloading, predicting, non-finite outputs, or a reloaded model that
// does not reproduce the in-memory one) is regenerated with the next attempt's PRNG and the
// failure is counted under its kind (RANDOM_MODELS_DEBUG=1 prints each failure; RANDOM_MODELS_KEEP_FAILED=DIR
// keeps the recipe of each failed attempt there).

const {fnv1a, mulberry32} = require('./prng');
const fs = require('fs');
const path = require('path');
const recorder = require('./lib/recorder');
const {maskedFloats, maskedIds} = require('./lib/inputs');

const {StageError, stage, sizeOf} = recorder;
const MAX_ATTEMPTS = 40;
const MAX_ABS_OUTPUT = 10; // larger outputs are regenerated (float32 rounding would exceed the 1e-5 atol)

// ---------------------------------------------------------------------------
// PRNG: the FNV-1a + mulberry32 pair of prng.js, as make_fixtures.js uses it.
// ---------------------------------------------------------------------------

class Rng {
  constructor(key) {
    this.f = mulberry32(fnv1a(String(key)));
  }
  next() {
    return this.f();
  }
  int(lo, hi) { // inclusive
    return lo + Math.floor(this.f() * (hi - lo + 1));
  }
  chance(p) {
    return this.f() < p;
  }
  pick(items) {
    return items[Math.floor(this.f() * items.length)];
  }
  weighted(entries) { // [[item, weight], ...]
    const live = entries.filter((e) => e[1] > 0);
    const total = live.reduce((s, e) => s + e[1], 0);
    let r = this.f() * total;
    for (const [item, w] of live) {
      r -= w;
      if (r < 0) return item;
    }
    return live[live.length - 1][0];
  }
  uniform(n, lo, hi) {
    return Float32Array.from({length: n}, () => lo + (hi - lo) * this.f());
  }
  round(lo, hi, digits = 2) { // a "nice" config number
    const v = lo + (hi - lo) * this.f();
    return Number(v.toFixed(digits));
  }
}


// Every activation string TF.js 4.22 knows, except gelu_new (saved, but TF.js cannot reload it).
const ACTS = ['elu', 'selu', 'relu', 'relu6', 'linear', 'sigmoid', 'hardSigmoid', 'softplus', 'softsign',
  'tanh', 'softmax', 'logSoftmax', 'gelu', 'mish', 'swish'];
const RNN_CLASSES = ['lstm', 'gru', 'simpleRNN'];
const CELL_OF = {lstm: 'lstmCell', gru: 'gruCell', simpleRNN: 'simpleRNNCell'};
const STATES_OF = {lstm: 2, gru: 1, simpleRNN: 1, lstmCell: 2, gruCell: 1, simpleRNNCell: 1};
const ELEMENTWISE = ['add', 'multiply', 'average', 'maximum', 'minimum'];

// ---------------------------------------------------------------------------
// Building TF.js models from a recipe (plain JSON): used both while generating
// (to learn shapes and let TF.js validate each step) and to build the model
// that is saved, so that a recipe.json always rebuilds the same model.
//
// recipe = {mode: 'functional'|'sequential', name, inputs: [{name, shape, dtype, batch}],
//           ops: [{id, spec, in: [tensorId], initialState?: [tensorId], reuse?: opId}],
//           outputs: [tensorId]}
// spec   = {cls: <tf.layers factory>, cfg: {...}, layer?: spec, cells?: [spec], stack?: bool}
//        | {cls: 'nested', recipe}
// Tensor ids: an input's name, or '<opId>:<j>' for output j of an op.
// ---------------------------------------------------------------------------

function createLayer(tf, spec) {
  if (spec.cls === 'nested') return buildModel(tf, spec.recipe);
  const cfg = Object.assign({}, spec.cfg);
  if (spec.layer) cfg.layer = createLayer(tf, spec.layer);
  if (spec.cells) {
    const cells = spec.cells.map((c) => createLayer(tf, c));
    // An explicit StackedRNNCells with its own name: the one TF.js makes from a list is named by a
    // process-wide counter, which would make a model depend on the models generated before it.
    cfg.cell = spec.stack ? tf.layers.stackedRNNCells({cells, name: `${cfg.name}_stack`}) : cells[0];
  }
  const factory = tf.layers[spec.cls];
  if (typeof factory !== 'function') throw new Error(`generator: no tf.layers.${spec.cls}`);
  return factory(cfg);
}

function makeInput(tf, inp) {
  const args = {name: inp.name, dtype: inp.dtype};
  if (inp.batch != null) args.batchShape = [inp.batch, ...inp.shape];
  else args.shape = inp.shape;
  return tf.input(args);
}

/** Applies one recipe op to the symbolic tensors; returns its output tensors. */
function applyOp(tf, op, tensors, layers) {
  const layer = op.reuse != null ? layers[op.reuse] : createLayer(tf, op.spec);
  if (layer == null) throw new Error(`generator: op ${op.id} reuses unknown op ${op.reuse}`);
  layers[op.id] = layer;
  const xs = op.in.map((id) => tensors[id]);
  if (xs.some((x) => x == null)) throw new Error(`generator: op ${op.id} reads an unknown tensor`);
  const kwargs = op.initialState ? {initialState: op.initialState.map((id) => tensors[id])} : undefined;
  let out = layer.apply(xs.length === 1 ? xs[0] : xs, kwargs);
  out = Array.isArray(out) ? out : [out];
  out.forEach((t, j) => {
    tensors[`${op.id}:${j}`] = t;
  });
  return out;
}

function buildModel(tf, recipe) {
  if (recipe.mode === 'sequential') {
    const layers = recipe.ops.map((op) => createLayer(tf, op.spec));
    return tf.sequential({name: recipe.name, layers});
  }
  const tensors = {};
  const layers = {};
  const inputs = recipe.inputs.map((inp) => {
    const t = makeInput(tf, inp);
    tensors[inp.name] = t;
    return t;
  });
  for (const op of recipe.ops) applyOp(tf, op, tensors, layers);
  const outputs = recipe.outputs.map((id) => tensors[id]);
  return tf.model({name: recipe.name, inputs, outputs});
}

// ---------------------------------------------------------------------------
// Random generation
// ---------------------------------------------------------------------------

/** A graph under construction: TF.js validates each op as it is added. */
class Graph {
  constructor(tf, rng, root, opts) {
    this.tf = tf;
    this.rng = rng;
    this.root = root || this; // the top-level graph owns the name counter
    this.counter = 0;
    this.chain = !!opts.chain; // Sequential: every op reads the previous op's single output
    this.stateful = !!opts.stateful;
    this.batch = opts.batch;
    this.nested = !!opts.nested;
    this.prefix = opts.prefix || '';
    this.inputs = [];
    this.ops = [];
    this.tensors = []; // {id, sym, shape, deps: Set, uses, input, state}
    this.byId = {};
    this.layers = {};
    this.layerInfo = {}; // opId -> {spec, inShape, single, stateful}
  }

  name(cls) {
    this.root.counter += 1;
    return `${this.prefix}l${this.root.counter}_${cls.toLowerCase()}`;
  }

  addInput(inp) {
    const sym = makeInput(this.tf, inp);
    this.inputs.push(inp);
    const t = {id: inp.name, sym, shape: sym.shape.slice(1), deps: new Set([inp.name]), uses: 0, input: true};
    this.tensors.push(t);
    this.byId[t.id] = t;
    return t;
  }

  /** Adds an op (TF.js builds it symbolically); returns its output tensor records. */
  add(op) {
    op.id = op.id || `n${this.ops.length}`;
    const tensors = {};
    for (const t of this.tensors) tensors[t.id] = t.sym;
    const outs = applyOp(this.tf, op, tensors, this.layers);
    this.ops.push(op);
    const srcIds = op.in.concat(op.initialState || []);
    const deps = new Set();
    for (const id of srcIds) {
      const src = this.byId[id];
      src.uses += 1;
      for (const d of src.deps) deps.add(d);
    }
    const recs = outs.map((sym, j) => {
      const t = {id: `${op.id}:${j}`, sym, shape: sym.shape.slice(1), deps: new Set(deps), uses: 0,
        input: false, state: j > 0 && op.returnsState};
      this.tensors.push(t);
      this.byId[t.id] = t;
      return t;
    });
    op.shapes = recs.map((rec) => rec.shape);
    if (op.reuse == null) {
      this.layerInfo[op.id] = {spec: op.spec, inShape: this.byId[op.in[0]].shape.slice(),
        single: op.in.length === 1 && !op.initialState, outputs: outs.length,
        rnnLike: op.rnnLike || false};
    }
    return recs;
  }

  rank(t) {
    return t.shape.length;
  }
}

/** A one-line account of a recipe: each op, what it reads and the shapes it makes. */
function describeRecipe(recipe) {
  const parts = recipe.ops.map((op) => {
    const shapes = (op.shapes || []).map((s) => `[${s}]`).join(',');
    return `${op.id}=${describeSpec(op.spec)}${op.reuse != null ? ` (reuse ${op.reuse})` : ''}` +
        `(${op.in.join(',')}${op.initialState ? `; init ${op.initialState.join(',')}` : ''})->${shapes}`;
  });
  const inputs = recipe.inputs.map((i) => `${i.name}[${i.shape}]${i.dtype === 'int32' ? 'i' : ''}` +
      `${i.pad ? ' padded' : ''}`);
  return `${recipe.mode} (${inputs.join(', ')}): ${parts.join('; ')} => ${recipe.outputs.join(', ')}`;
}

function describeSpec(spec) {
  if (spec.cls === 'nested') {
    return `${spec.recipe.mode === 'sequential' ? 'Sequential' : 'Model'}[${describeRecipe(spec.recipe)}]`;
  }
  const c = spec.cfg || {};
  const flags = [];
  for (const [k, v] of Object.entries(c)) {
    if (k === 'name' || k === 'inputShape' || k === 'batchInputShape') continue;
    if (v === true) flags.push(k);
    else if (v !== false && v !== undefined) flags.push(`${k}=${JSON.stringify(v)}`);
  }
  let inner = '';
  if (spec.layer) inner = `<${describeSpec(spec.layer)}>`;
  if (spec.cells) inner = `<${spec.cells.map(describeSpec).join('+')}${spec.stack ? ' stack' : ''}>`;
  return `${spec.cls}${inner}{${flags.join(' ')}}`;
}

// --- specs of single layers ------------------------------------------------------------------

function act(g) {
  return g.rng.pick(ACTS);
}

function rnnCellCfg(g, cls, cfg) {
  const r = g.rng;
  cfg.units = r.weighted([[1, 1], [2, 3], [3, 4], [4, 4], [5, 2]]);
  if (r.chance(0.4)) cfg.activation = r.chance(0.5) ? r.pick(['tanh', 'relu', 'sigmoid']) : act(g);
  if (cls !== 'simpleRNN' && cls !== 'simpleRNNCell' && r.chance(0.5)) {
    cfg.recurrentActivation = r.chance(0.6) ? r.pick(['sigmoid', 'hardSigmoid']) : act(g);
  }
  if (r.chance(0.15)) cfg.useBias = false;
  if (r.chance(0.1)) cfg.dropout = 0.2;
  if (r.chance(0.1)) cfg.recurrentDropout = 0.3;
  if ((cls === 'lstm' || cls === 'lstmCell') && r.chance(0.1)) cfg.unitForgetBias = true;
  return cfg;
}

/** An LSTM / GRU / SimpleRNN layer spec. */
function rnnLayerSpec(g, cls, o = {}) {
  const r = g.rng;
  const cfg = rnnCellCfg(g, cls, {name: g.name(cls)});
  cfg.returnSequences = o.returnSequences != null ? o.returnSequences : r.chance(0.5);
  cfg.returnState = o.returnState != null ? o.returnState : r.chance(0.25);
  if (r.chance(0.3)) cfg.goBackwards = true;
  if (o.stateful) cfg.stateful = true;
  if (r.chance(0.04)) cfg.unroll = true;
  return {cls, cfg};
}

/** tf.layers.rnn over one cell or a stack of cells. */
function rnnCellsSpec(g, o = {}) {
  const r = g.rng;
  const name = g.name('rnn');
  const n = r.weighted([[1, 3], [2, 4], [3, 1]]);
  const cells = [];
  for (let i = 0; i < n; i++) {
    const base = r.pick(RNN_CLASSES);
    const cls = CELL_OF[base];
    cells.push({cls, cfg: rnnCellCfg(g, cls, {name: `${name}_c${i}`})});
  }
  const cfg = {name};
  cfg.returnSequences = o.returnSequences != null ? o.returnSequences : r.chance(0.5);
  cfg.returnState = o.returnState != null ? o.returnState : r.chance(0.25);
  if (r.chance(0.3)) cfg.goBackwards = true;
  if (o.stateful) cfg.stateful = true;
  return {cls: 'rnn', cfg, cells, stack: n > 1 || r.chance(0.3)};
}

/** The state sizes an RNN spec takes (TF.js order: stacked cells last cell first). */
function stateSizes(spec) {
  if (spec.cells) {
    const sizes = [];
    const cells = spec.stack ? spec.cells.slice().reverse() : spec.cells;
    for (const c of cells) for (let i = 0; i < STATES_OF[c.cls]; i++) sizes.push(c.cfg.units);
    return sizes;
  }
  return Array(STATES_OF[spec.cls]).fill(spec.cfg.units);
}

function outputUnits(spec) {
  return spec.cells ? spec.cells[spec.cells.length - 1].cfg.units : spec.cfg.units;
}

function anyRnnSpec(g, o = {}) {
  return g.rng.chance(0.25) ? rnnCellsSpec(g, o) : rnnLayerSpec(g, g.rng.pick(RNN_CLASSES), o);
}

function denseSpec(g, units) {
  const cfg = {name: g.name('dense'), units: units != null ? units : g.rng.int(1, 6)};
  if (g.rng.chance(0.5)) cfg.activation = act(g);
  if (g.rng.chance(0.1)) cfg.useBias = false;
  return {cls: 'dense', cfg};
}

function conv1dSpec(g, steps) {
  const r = g.rng;
  const cfg = {name: g.name('conv1d'), filters: r.int(1, 5)};
  cfg.padding = r.pick(['valid', 'same']);
  let k = r.int(1, 4);
  let stride = 1;
  let dil = 1;
  const which = r.weighted([['plain', 2], ['stride', 1], ['dilation', 1]]);
  if (which === 'stride') stride = r.int(2, 3);
  if (which === 'dilation') dil = r.int(2, 3);
  if (cfg.padding === 'valid') {
    while (k > 1 && (k - 1) * dil + 1 > steps) k--;
    if ((k - 1) * dil + 1 > steps) dil = 1;
  }
  cfg.kernelSize = r.chance(0.3) ? [k] : k;
  if (stride > 1) cfg.strides = stride;
  if (dil > 1) cfg.dilationRate = dil;
  if (r.chance(0.4)) cfg.activation = act(g);
  if (r.chance(0.1)) cfg.useBias = false;
  return {cls: 'conv1d', cfg};
}

/** A 2-D window that fits [H, W] (valid padding needs it inside the image): kernel, strides, dilation. */
function window2d(g, H, W, padding, allowDilation = true) {
  const r = g.rng;
  const which = r.weighted([['plain', 2], ['stride', 1], ['dilation', allowDilation ? 1 : 0]]);
  const out = {kernel: [r.int(1, 3), r.int(1, 3)], strides: [1, 1], dilation: [1, 1]};
  if (which === 'stride') out.strides = [r.int(1, 3), r.int(1, 3)];
  if (which === 'dilation') out.dilation = [r.int(1, 2), r.int(1, 2)];
  [H, W].forEach((n, i) => {
    if (padding !== 'valid') return;
    while (out.kernel[i] > 1 && (out.kernel[i] - 1) * out.dilation[i] + 1 > n) out.kernel[i]--;
    if ((out.kernel[i] - 1) * out.dilation[i] + 1 > n) out.dilation[i] = 1;
  });
  return out;
}

/** Conv2D, DepthwiseConv2D, SeparableConv2D or Conv2DTranspose over an image [H, W, C]. */
function conv2dSpec(g, shape) {
  const r = g.rng;
  const cls = r.weighted([['conv2d', 3], ['depthwiseConv2d', 1], ['separableConv2d', 1], ['conv2dTranspose', 1]]);
  const cfg = {name: g.name(cls), padding: r.pick(['valid', 'same'])};
  // TF.js's DepthwiseConv2D and Conv2DTranspose ignore the dilation they save: worth generating too.
  const w = window2d(g, shape[0], shape[1], cls === 'conv2dTranspose' ? 'same' : cfg.padding);
  cfg.kernelSize = w.kernel[0] === w.kernel[1] && r.chance(0.5) ? w.kernel[0] : w.kernel;
  if (w.strides.some((v) => v > 1)) cfg.strides = w.strides;
  if (w.dilation.some((v) => v > 1)) cfg.dilationRate = w.dilation;
  if (cls !== 'depthwiseConv2d') cfg.filters = r.int(1, 4);
  if (cls === 'depthwiseConv2d' && r.chance(0.5)) cfg.depthMultiplier = r.int(2, 3);
  if (cls === 'conv2dTranspose' && cfg.dilationRate && cfg.strides) delete cfg.dilationRate;
  if (r.chance(0.4)) cfg.activation = act(g);
  if (r.chance(0.1)) cfg.useBias = false;
  return {cls, cfg};
}

/** A ConvLSTM2D over a sequence of one-channel images [T, H, W, 1], returning its last output [h, w, filters]. */
function convLstm2dSpec(g, H, W) {
  const r = g.rng;
  const cfg = {name: g.name('convLstm2d'), filters: r.int(1, 3), padding: r.pick(['valid', 'same'])};
  const w = window2d(g, H, W, cfg.padding);
  cfg.kernelSize = w.kernel;
  if (w.strides.some((v) => v > 1)) cfg.strides = w.strides;
  if (w.dilation.some((v) => v > 1)) cfg.dilationRate = w.dilation;
  if (r.chance(0.4)) cfg.activation = act(g);
  if (r.chance(0.4)) cfg.recurrentActivation = r.pick(['sigmoid', 'hardSigmoid']);
  if (r.chance(0.2)) cfg.goBackwards = true;
  if (r.chance(0.1)) cfg.useBias = false;
  return {cls: 'convLstm2d', cfg};
}

/** Conv3D, Conv3DTranspose, MaxPooling3D or AveragePooling3D over a volume [D, H, W, C]. */
function volumeSpec(g, shape) {
  const r = g.rng;
  const cls = r.weighted([['conv3d', 2], ['conv3dTranspose', 1], ['maxPooling3d', 1], ['averagePooling3d', 1]]);
  const cfg = {name: g.name(cls), padding: r.pick(['valid', 'same'])};
  const fit = cls !== 'conv3dTranspose' && cfg.padding === 'valid'; // a valid window must fit inside
  const kernel = shape.slice(0, 3).map((n) => Math.min(r.int(1, 3), fit ? n : 3));
  const which = r.weighted([['plain', 2], ['stride', 1], ['dilation', cls === 'conv3d' ? 1 : 0]]);
  if (which === 'stride') cfg.strides = kernel.map(() => r.int(1, 2));
  if (which === 'dilation') cfg.dilationRate = kernel.map((k, i) => (!fit || 2 * k - 1 <= shape[i] ? r.int(1, 2) : 1));
  if (cls.endsWith('Pooling3d')) return {cls, cfg: Object.assign(cfg, {poolSize: kernel})};
  Object.assign(cfg, {kernelSize: kernel, filters: r.int(1, 4)});
  if (r.chance(0.4)) cfg.activation = act(g);
  if (r.chance(0.1)) cfg.useBias = false;
  return {cls, cfg};
}

/** One random op for a rank-4 tensor [D, H, W, C] (batch excluded): a 3-D layer, or back to a sequence. */
function op5d(g, t) {
  const kind = g.rng.weighted([['volume', 3], ['reshape', 1], ['flatten', 0.3]]);
  if (kind === 'volume') return {spec: volumeSpec(g, t.shape), in: [t.id]};
  const cls = kind === 'flatten' ? 'flatten' : 'reshape';
  const cfg = {name: g.name(cls)};
  if (kind === 'reshape') cfg.targetShape = [t.shape[0], t.shape[1] * t.shape[2] * t.shape[3]];
  return {spec: {cls, cfg}, in: [t.id]};
}

/** Pooling, padding, cropping or upsampling over an image [H, W, C]. */
function image2dSpec(g, shape) {
  const r = g.rng;
  const [H, W] = shape;
  const kind = r.weighted([['pool', 2], ['gpool', 1], ['pad', 1], ['crop', H > 1 || W > 1 ? 1 : 0], ['up', 1]]);
  if (kind === 'pool') {
    const cls = r.pick(['maxPooling2d', 'averagePooling2d']);
    const padding = r.pick(['valid', 'same']);
    const w = window2d(g, H, W, padding, false);
    const cfg = {name: g.name(cls), poolSize: w.kernel, padding};
    if (r.chance(0.5)) cfg.strides = [r.int(1, 3), r.int(1, 3)];
    return {cls, cfg};
  }
  if (kind === 'gpool') {
    const cls = r.pick(['globalAveragePooling2d', 'globalMaxPooling2d']);
    return {cls, cfg: {name: g.name(cls)}};
  }
  if (kind === 'pad') {
    const padding = r.pick([r.int(0, 2), [r.int(0, 2), r.int(0, 2)],
      [[r.int(0, 2), r.int(0, 2)], [r.int(0, 2), r.int(0, 2)]]]);
    return {cls: 'zeroPadding2d', cfg: {name: g.name('zeroPadding2d'), padding}};
  }
  if (kind === 'crop') {
    const split = (n) => {
      const total = r.int(0, n - 1);
      const a = r.int(0, total);
      return [a, total - a];
    };
    return {cls: 'cropping2D', cfg: {name: g.name('cropping2D'), cropping: [split(H), split(W)]}};
  }
  const cfg = {name: g.name('upSampling2d'), size: [r.int(1, 3), r.int(1, 3)]};
  if (r.chance(0.5)) cfg.interpolation = 'bilinear';
  return {cls: 'upSampling2d', cfg};
}

// The 2-D layers whose output shape TF.js builds as a new array. TF.js's CenterCrop writes its output size into
// its input's shape array, so it reads only a tensor one of these made, that nothing else reads before or after.
const FRESH_2D = new Set(['conv2d', 'depthwiseConv2d', 'separableConv2d', 'conv2dTranspose', 'maxPooling2d',
  'averagePooling2d', 'zeroPadding2d', 'cropping2D', 'upSampling2d']);

/** Rescaling, or CenterCrop where TF.js can run it (a box no larger than the image), over an image t [H, W, C]. */
function preprocessSpec(g, t) {
  const r = g.rng;
  const [H, W] = t.shape;
  const producer = t.input ? null : g.ops.find((op) => `${op.id}:0` === t.id);
  const canCrop = producer != null && producer.reuse == null && FRESH_2D.has(producer.spec.cls) && t.uses === 0;
  if (canCrop && r.chance(0.8)) {
    t.spent = true;
    return {cls: 'centerCrop', cfg: {name: g.name('centerCrop'), height: r.int(1, H), width: r.int(1, W)}};
  }
  const cfg = {name: g.name('rescaling'), scale: r.pick([1 / 255, 2, 0.5, -1.5])};
  if (r.chance(0.5)) cfg.offset = r.pick([-1, 0.25]);
  return {cls: 'rescaling', cfg};
}

function poolSpec(g, steps) {
  const r = g.rng;
  const cls = r.pick(['maxPooling1d', 'averagePooling1d']);
  const cfg = {name: g.name(cls), poolSize: r.int(1, 3)};
  if (r.chance(0.5)) cfg.strides = r.int(1, 3);
  cfg.padding = r.pick(['valid', 'same']);
  if (cfg.padding === 'valid' && cfg.poolSize > steps) cfg.poolSize = steps;
  return {cls, cfg};
}

function advancedActivationSpec(g, rank) {
  const r = g.rng;
  const cls = r.pick(['reLU', 'leakyReLU', 'elu', 'prelu', 'softmax', 'thresholdedReLU']);
  const cfg = {name: g.name(cls)};
  if (cls === 'reLU' && r.chance(0.6)) cfg.maxValue = r.round(0.3, 1.5);
  if (cls === 'leakyReLU' && r.chance(0.7)) cfg.alpha = r.round(0.05, 0.5);
  if (cls === 'elu' && r.chance(0.3)) cfg.alpha = 1.0;
  if (cls === 'prelu' && rank >= 2 && r.chance(0.4)) cfg.sharedAxes = [r.int(1, rank)];
  if (cls === 'softmax') {
    // TF.js's Softmax layer defaults to axis 1 and refuses a single non-last axis.
    if (rank >= 2 || r.chance(0.3)) cfg.axis = -1;
    if (rank >= 2 && r.chance(0.3)) cfg.axis = rank === 2 ? [1, 2] : r.pick([[2, 3], [1, 2, 3]]);
  }
  if (cls === 'thresholdedReLU' && r.chance(0.7)) cfg.theta = r.round(0, 1);
  return {cls, cfg};
}

function normSpec(g, t) {
  const r = g.rng;
  const rank = t.shape.length;
  if (r.chance(0.5)) {
    const cfg = {name: g.name('layerNormalization')};
    if (rank >= 2 && r.chance(0.2)) cfg.axis = [-2, -1];
    if (r.chance(0.4)) cfg.epsilon = r.pick([1e-3, 1e-2, 1e-5]);
    if (r.chance(0.15)) cfg.center = false;
    if (r.chance(0.15)) cfg.scale = false;
    return {cls: 'layerNormalization', cfg};
  }
  const cfg = {name: g.name('batchNormalization')};
  if (rank === 2 && r.chance(0.2)) cfg.axis = 1;
  if (r.chance(0.4)) cfg.epsilon = r.pick([1e-3, 1e-2]);
  if (r.chance(0.15)) cfg.center = false;
  if (r.chance(0.15)) cfg.scale = false;
  return {cls: 'batchNormalization', cfg};
}

function identitySpec(g, rank) {
  const r = g.rng;
  const options = ['dropout', 'gaussianNoise', 'gaussianDropout', 'alphaDropout'];
  if (rank === 2) options.push('spatialDropout1d');
  const cls = r.pick(options);
  const cfg = {name: g.name(cls)};
  if (cls === 'gaussianNoise') cfg.stddev = r.round(0.1, 1);
  else cfg.rate = r.round(0.1, 0.5);
  return {cls, cfg};
}

function divisors(n) {
  const out = [];
  for (let d = 2; d < n; d++) if (n % d === 0) out.push(d);
  return out;
}

/** A Reshape target for a shape (without batch), or null. */
function reshapeTarget(g, shape) {
  const r = g.rng;
  const total = sizeOf(shape);
  const options = [];
  if (shape.length === 2) options.push([shape[1], shape[0]], [total]);
  if (shape.length === 3) options.push([shape[0], shape[1] * shape[2]], [total]);
  for (const d of divisors(total)) {
    if (total / d <= 12) options.push([total / d, d]);
    if (shape.length === 2 && total % (shape[0] * d) === 0 && shape[1] % d === 0 && d < shape[1]) {
      options.push([shape[0], shape[1] / d, d]);
    }
  }
  if (!options.length) return null;
  const target = r.pick(options).slice();
  // TF.js keeps a -1 as an unknown size (null) in the output shape, which later layers may refuse.
  if (target.length > 1 && r.chance(0.1)) target[r.int(0, target.length - 1)] = -1;
  return target;
}

function permuteDims(g, rank) {
  if (rank === 2) return [2, 1];
  const perms = [[1, 3, 2], [2, 1, 3], [2, 3, 1], [3, 1, 2], [3, 2, 1]];
  return g.rng.pick(perms);
}

// --- choosing ops ----------------------------------------------------------------------------

function pickTarget(g, filter) {
  const r = g.rng;
  const ok = g.tensors.filter(filter);
  if (!ok.length) return null;
  const unusedInputs = ok.filter((t) => t.input && t.uses === 0);
  if (unusedInputs.length) return unusedInputs[0];
  const leaves = ok.filter((t) => t.uses === 0 && !t.input);
  if (leaves.length && r.chance(0.65)) return r.pick(leaves);
  return r.pick(ok);
}

/** Tensors of shape [size] for initial states, adding Dense ops where needed; null if impossible. */
function stateSources(g, sizes, exclude) {
  const r = g.rng;
  const vectors = g.tensors.filter((t) => t.shape.length === 1 && !exclude.has(t.id) && !isIdsTensor(g, t));
  if (!vectors.length) return null;
  const ids = [];
  for (const size of sizes) {
    const exact = vectors.filter((t) => t.shape[0] === size);
    if (exact.length && r.chance(0.8)) {
      ids.push(r.pick(exact).id);
    } else {
      const src = r.pick(vectors);
      const [rec] = g.add({spec: denseSpec(g, size), in: [src.id]});
      ids.push(rec.id);
    }
  }
  return ids;
}

function isIdsTensor(g, t) {
  return t.input && g.inputs.find((i) => i.name === t.id).kind === 'ids';
}

function usable(g, t) {
  return !t.spent && !isIdsTensor(g, t);
}

/** One random op for a rank-2 (sequence) tensor. */
function seqOp(g, t) {
  const r = g.rng;
  const [T, F] = t.shape;
  const kind = r.weighted([
    ['rnn', 6], ['bidi', 2.5], ['td', 1], ['dense', 1.2], ['conv1d', 1], ['pool', 0.7], ['gpool', 0.7],
    ['flatten', 0.4], ['reshape', 0.5], ['permute', 0.4], ['norm', 0.8], ['adv', 1], ['activation', 0.5],
    ['identity', 0.6], ['masking', g.chain ? 0.3 : 0.5],
  ]);
  const stateful = g.stateful && !g.nested && r.chance(0.6);
  switch (kind) {
    case 'rnn': {
      const o = {stateful};
      if (g.chain) o.returnState = false;
      const spec = anyRnnSpec(g, o);
      const op = {spec, in: [t.id], rnnLike: true, returnsState: !!spec.cfg.returnState};
      if (!g.chain && r.chance(0.22)) {
        const init = stateSources(g, stateSizes(spec), new Set([t.id]));
        if (init) op.initialState = init;
      }
      return op;
    }
    case 'bidi': {
      // Not tf.layers.rnn over cells: TF.js's Bidirectional cannot build it (RNN.fromConfig replaces the
      // shared config's cell by the cell object, so the backward copy fails: "Improper config format").
      const inner = rnnLayerSpec(g, r.pick(RNN_CLASSES), {});
      if (g.chain) inner.cfg.returnState = false;
      delete inner.cfg.goBackwards;
      if (r.chance(0.15)) inner.cfg.goBackwards = true;
      const mergeMode = r.pick(['concat', 'sum', 'mul', 'ave', null, 'default']);
      const cfg = {name: g.name('bidirectional')};
      if (mergeMode !== 'default') cfg.mergeMode = mergeMode;
      if (g.chain && mergeMode === null) cfg.mergeMode = 'concat';
      const op = {spec: {cls: 'bidirectional', cfg, layer: inner}, in: [t.id], rnnLike: true,
        returnsState: !!inner.cfg.returnState};
      if (!g.chain && r.chance(0.1)) {
        const sizes = stateSizes(inner);
        const init = stateSources(g, sizes.concat(sizes), new Set([t.id]));
        if (init) op.initialState = init;
      }
      return op;
    }
    case 'td':
      return {spec: {cls: 'timeDistributed', cfg: {name: g.name('timeDistributed')},
        layer: r.chance(0.8) ? denseSpec(g) : {cls: 'activation', cfg: {name: g.name('activation'),
          activation: act(g)}}}, in: [t.id]};
    case 'dense':
      return {spec: denseSpec(g), in: [t.id]};
    case 'conv1d':
      return {spec: conv1dSpec(g, T), in: [t.id]};
    case 'pool':
      return {spec: poolSpec(g, T), in: [t.id]};
    case 'gpool': {
      const cls = r.pick(['globalAveragePooling1d', 'globalMaxPooling1d']);
      return {spec: {cls, cfg: {name: g.name(cls)}}, in: [t.id]};
    }
    case 'flatten':
      return {spec: {cls: 'flatten', cfg: {name: g.name('flatten')}}, in: [t.id]};
    case 'reshape': {
      const target = reshapeTarget(g, [T, F]);
      if (!target) return null;
      return {spec: {cls: 'reshape', cfg: {name: g.name('reshape'), targetShape: target}}, in: [t.id]};
    }
    case 'permute':
      return {spec: {cls: 'permute', cfg: {name: g.name('permute'), dims: [2, 1]}}, in: [t.id]};
    case 'norm':
      return {spec: normSpec(g, t), in: [t.id]};
    case 'adv':
      return {spec: advancedActivationSpec(g, 2), in: [t.id]};
    case 'activation':
      return {spec: {cls: 'activation', cfg: {name: g.name('activation'), activation: act(g)}}, in: [t.id]};
    case 'identity':
      return {spec: identitySpec(g, 2), in: [t.id]};
    case 'masking':
      return {spec: {cls: 'masking', cfg: {name: g.name('masking'), maskValue: 0}}, in: [t.id]};
    default:
      return null;
  }
}

/** One random op for a rank-1 (vector) tensor. */
function vecOp(g, t) {
  const r = g.rng;
  const [F] = t.shape;
  const kind = r.weighted([['dense', 3], ['repeat', 2], ['reshape', 0.5], ['norm', 0.6], ['adv', 0.8],
    ['activation', 0.5], ['identity', 0.5], ['masking', 0.1]]);
  switch (kind) {
    case 'dense':
      return {spec: denseSpec(g), in: [t.id]};
    case 'repeat':
      return {spec: {cls: 'repeatVector', cfg: {name: g.name('repeatVector'), n: r.int(2, 6)}}, in: [t.id]};
    case 'reshape': {
      const target = reshapeTarget(g, [F]);
      if (!target) return null;
      return {spec: {cls: 'reshape', cfg: {name: g.name('reshape'), targetShape: target}}, in: [t.id]};
    }
    case 'norm':
      return {spec: normSpec(g, t), in: [t.id]};
    case 'adv':
      return {spec: advancedActivationSpec(g, 1), in: [t.id]};
    case 'activation':
      return {spec: {cls: 'activation', cfg: {name: g.name('activation'), activation: act(g)}}, in: [t.id]};
    case 'identity':
      return {spec: identitySpec(g, 1), in: [t.id]};
    case 'masking':
      return {spec: {cls: 'masking', cfg: {name: g.name('masking'), maskValue: 0}}, in: [t.id]};
    default:
      return null;
  }
}

/** One random op for a rank-3 tensor [T1, T2, F] (batch excluded). */
function op4d(g, t) {
  const r = g.rng;
  const [, T2] = t.shape;
  const kind = r.weighted([['tdRnn', 3], ['tdDense', 1], ['tdConv', 0.5], ['dense', 0.6], ['reshape', 0.8],
    ['flatten', 0.5], ['permute', 0.3], ['norm', 0.3], ['adv', 0.3], ['masking', 0.3], ['conv2d', 1.5],
    ['image2d', 1.5], ['preprocess', 0.8], ['convLstm2d', 0.5]]);
  switch (kind) {
    case 'tdRnn': {
      const inner = r.chance(0.2) ? rnnCellsSpec(g, {returnState: false}) :
        rnnLayerSpec(g, r.pick(RNN_CLASSES), {returnState: false});
      return {spec: {cls: 'timeDistributed', cfg: {name: g.name('timeDistributed')}, layer: inner},
        in: [t.id]};
    }
    case 'tdDense':
      return {spec: {cls: 'timeDistributed', cfg: {name: g.name('timeDistributed')}, layer: denseSpec(g)},
        in: [t.id]};
    case 'tdConv':
      return {spec: {cls: 'timeDistributed', cfg: {name: g.name('timeDistributed')},
        layer: conv1dSpec(g, T2)}, in: [t.id]};
    case 'dense':
      return {spec: denseSpec(g), in: [t.id]};
    case 'reshape': {
      const target = reshapeTarget(g, t.shape);
      if (!target) return null;
      return {spec: {cls: 'reshape', cfg: {name: g.name('reshape'), targetShape: target}}, in: [t.id]};
    }
    case 'flatten':
      return {spec: {cls: 'flatten', cfg: {name: g.name('flatten')}}, in: [t.id]};
    case 'permute':
      return {spec: {cls: 'permute', cfg: {name: g.name('permute'), dims: permuteDims(g, 3)}}, in: [t.id]};
    case 'norm': {
      const spec = normSpec(g, t);
      delete spec.cfg.axis;
      return {spec, in: [t.id]};
    }
    case 'adv':
      return {spec: advancedActivationSpec(g, 3), in: [t.id]};
    case 'masking':
      return {spec: {cls: 'masking', cfg: {name: g.name('masking'), maskValue: 0}}, in: [t.id]};
    case 'conv2d':
      return {spec: conv2dSpec(g, t.shape), in: [t.id]};
    case 'image2d':
      return {spec: image2dSpec(g, t.shape), in: [t.id]};
    case 'preprocess':
      return {spec: preprocessSpec(g, t), in: [t.id]};
    case 'convLstm2d': {  // [T1, T2, F] read as T1 steps of one-channel images T2 x F
      const [T1, , F] = t.shape;
      const target = [T1, T2, F, 1];
      const [images] = g.add({spec: {cls: 'reshape', cfg: {name: g.name('reshape'), targetShape: target}}, in: [t.id]});
      return {spec: convLstm2dSpec(g, T2, F), in: [images.id]};
    }
    default:
      return null;
  }
}

function sameShape(a, b) {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Merge ops (elementwise / concatenate / dot) over 2-3 existing tensors. */
function mergeOp(g) {
  const r = g.rng;
  const pool = g.tensors.filter((t) => usable(g, t));
  const kind = r.weighted([['elementwise', 3], ['concat', 2.5], ['dot', 0.8]]);
  const a = pickTarget(g, (t) => usable(g, t));
  if (!a) return null;
  if (kind === 'elementwise') {
    let partners = pool.filter((t) => t !== a && sameShape(t.shape, a.shape));
    if (!partners.length) {
      // Project another tensor of the same rank and leading sizes onto a's last size.
      const cands = pool.filter((t) => t !== a && t.shape.length === a.shape.length &&
          sameShape(t.shape.slice(0, -1), a.shape.slice(0, -1)));
      if (!cands.length) return null;
      const [proj] = g.add({spec: denseSpec(g, a.shape[a.shape.length - 1]), in: [r.pick(cands).id]});
      partners = [proj];
    }
    const n = Math.min(partners.length, r.weighted([[1, 3], [2, 1]]));
    const chosen = [a];
    const rest = partners.slice();
    for (let i = 0; i < n; i++) chosen.push(rest.splice(r.int(0, rest.length - 1), 1)[0]);
    if (r.chance(0.5)) chosen.reverse();
    const cls = r.pick(ELEMENTWISE);
    return {spec: {cls, cfg: {name: g.name(cls)}}, in: chosen.map((t) => t.id)};
  }
  if (kind === 'concat') {
    const rank = a.shape.length;
    let axis = -1;
    let partners = pool.filter((t) => t !== a && t.shape.length === rank &&
        sameShape(t.shape.slice(0, -1), a.shape.slice(0, -1)));
    if (rank >= 2 && (r.chance(0.3) || !partners.length)) {
      const alt = pool.filter((t) => t !== a && t.shape.length === rank &&
          sameShape(t.shape.slice(1), a.shape.slice(1)));
      if (alt.length) {
        axis = 1;
        partners = alt;
      }
    }
    if (!partners.length) return null;
    const n = Math.min(partners.length, r.weighted([[1, 3], [2, 1]]));
    const chosen = [a];
    const rest = partners.slice();
    for (let i = 0; i < n; i++) chosen.push(rest.splice(r.int(0, rest.length - 1), 1)[0]);
    if (r.chance(0.5)) chosen.reverse();
    const cfg = {name: g.name('concatenate')};
    if (axis !== -1 || r.chance(0.3)) cfg.axis = axis;
    return {spec: {cls: 'concatenate', cfg}, in: chosen.map((t) => t.id)};
  }
  // dot
  const rank = a.shape.length;
  const cfg = {name: g.name('dot')};
  if (rank === 1) {
    const partners = pool.filter((t) => t !== a && sameShape(t.shape, a.shape));
    if (!partners.length) return null;
    cfg.axes = r.pick([-1, 1]);
    if (r.chance(0.5)) cfg.normalize = true;
    return {spec: {cls: 'dot', cfg}, in: [a.id, r.pick(partners).id]};
  }
  if (rank === 2) {
    const lastMatch = pool.filter((t) => t !== a && t.shape.length === 2 && t.shape[1] === a.shape[1]);
    const firstMatch = pool.filter((t) => t !== a && t.shape.length === 2 && t.shape[0] === a.shape[0]);
    if (lastMatch.length && (r.chance(0.5) || !firstMatch.length)) {
      cfg.axes = [2, 2];
      if (r.chance(0.3)) cfg.normalize = true;
      return {spec: {cls: 'dot', cfg}, in: [a.id, r.pick(lastMatch).id]};
    }
    if (firstMatch.length) {
      cfg.axes = 1;
      return {spec: {cls: 'dot', cfg}, in: [a.id, r.pick(firstMatch).id]};
    }
  }
  return null;
}

/** Reapply an existing layer to another tensor it accepts (a shared layer). */
function shareOp(g) {
  const r = g.rng;
  const cands = [];
  for (const [opId, info] of Object.entries(g.layerInfo)) {
    if (!info.single || info.spec.cls === 'embedding') continue; // ids exist only at the inputs
    for (const t of g.tensors) {
      if (!usable(g, t) || t.id.startsWith(`${opId}:`)) continue;
      const same = sameShape(t.shape, info.inShape);
      const rnnOk = info.rnnLike && t.shape.length === 2 && info.inShape.length === 2 &&
          t.shape[1] === info.inShape[1];
      if (same || rnnOk) cands.push([opId, t]);
    }
  }
  // A layer cannot be applied to its own (indirect) outputs: exclude tensors downstream of it.
  const ok = cands.filter(([opId, t]) => !dependsOnOp(g, t, opId));
  if (!ok.length) return null;
  const [opId, t] = r.pick(ok);
  const info = g.layerInfo[opId];
  return {reuse: opId, spec: info.spec, in: [t.id], rnnLike: info.rnnLike,
    returnsState: info.spec.cfg && (info.spec.cfg.returnState || (info.spec.layer && info.spec.layer.cfg.returnState))};
}

function dependsOnOp(g, t, opId) {
  // Walk back through the ops that made t.
  const seen = new Set();
  const stack = [t.id];
  while (stack.length) {
    const id = stack.pop();
    if (seen.has(id)) continue;
    seen.add(id);
    const producer = id.includes(':') ? id.split(':')[0] : null;
    if (producer == null) continue;
    if (producer === opId) return true;
    const op = g.ops.find((o) => o.id === producer);
    if (op && op.reuse === opId) return true;
    if (op) stack.push(...op.in, ...(op.initialState || []));
  }
  return false;
}

/** A nested tf.sequential / tf.model taking tensor t, used as a layer (sometimes twice). */
function nestedOp(g, t) {
  const r = g.rng;
  const sequential = r.chance(0.5);
  const name = g.name(sequential ? 'seq' : 'sub');
  const sub = new Graph(g.tf, r, g.root, {chain: sequential, nested: true, prefix: `${name}_`});
  const inp = {name: `${name}_in`, shape: t.shape.slice(), dtype: 'float32', kind: 'float'};
  sub.addInput(inp);
  const n = r.int(1, 3);
  let cur = sub.tensors[0];
  for (let i = 0; i < n; i++) {
    const op = unaryOpFor(sub, cur);
    if (!op) break;
    if (op.returnsState && sequential) continue;
    const recs = sub.add(op);
    cur = recs[0];
  }
  if (!sub.ops.length) return null;
  const recipe = finishRecipe(sub, name, sequential ? 'sequential' : 'functional');
  return {spec: {cls: 'nested', recipe}, in: [t.id]};
}

function unaryOpFor(g, t) {
  const rank = t.shape.length;
  if (rank === 2) return seqOp(g, t);
  if (rank === 1) return vecOp(g, t);
  if (rank === 3) return op4d(g, t);
  if (rank === 4) return op5d(g, t);
  return null;
}

/** Outputs of a (sub)graph and its recipe; in chain mode the last tensor is the output. */
function finishRecipe(g, name, mode) {
  let outputs;
  if (mode === 'sequential') {
    outputs = [g.tensors[g.tensors.length - 1].id];
    // The first layer declares the input shape.
    const first = g.ops[0].spec;
    const inp = g.inputs[0];
    if (inp.batch != null) first.cfg.batchInputShape = [inp.batch, ...inp.shape];
    else first.cfg.inputShape = inp.shape.slice();
  } else {
    outputs = chooseOutputs(g);
  }
  return {mode, name, inputs: g.inputs, ops: g.ops, outputs};
}

/** 1-3 output tensors (leaves) covering every input; extra leaves are reduced and concatenated. */
function chooseOutputs(g) {
  const r = g.rng;
  let leaves = g.tensors.filter((t) => !t.input && t.uses === 0);
  // Inputs nothing reads get an op of their own.
  for (const inp of g.tensors.filter((t) => t.input && t.uses === 0)) {
    const op = isIdsTensor(g, inp) ? null : unaryOpFor(g, inp);
    if (op) g.add(op);
  }
  leaves = g.tensors.filter((t) => !t.input && t.uses === 0);
  const maxOut = r.weighted([[1, 3], [2, 3], [3, 2]]);
  if (leaves.length > maxOut) {
    // Keep some leaves, reduce the others to vectors and join them.
    const keep = leaves.slice(leaves.length - (maxOut - 1));
    const fold = leaves.slice(0, leaves.length - (maxOut - 1));
    const vectors = fold.map((t) => {
      if (t.shape.length === 1) return t;
      const cls = t.shape.length === 2 && r.chance(0.5) ?
        r.pick(['globalAveragePooling1d', 'globalMaxPooling1d']) : 'flatten';
      return g.add({spec: {cls, cfg: {name: g.name(cls)}}, in: [t.id]})[0];
    });
    const joined = vectors.length > 1 ?
      g.add({spec: {cls: 'concatenate', cfg: {name: g.name('concatenate')}}, in: vectors.map((t) => t.id)})[0] :
      vectors[0];
    leaves = keep.concat([joined]);
  }
  return leaves.map((t) => t.id);
}

// --- a whole model -----------------------------------------------------------------------------

function maskPatterns(r, B, T) {
  const rows = [];
  for (let b = 0; b < B; b++) {
    const kind = r.weighted([['full', 2], ['post', 3], ['pre', 3], ['gap', 2], ['empty', 0.2]]);
    const row = Array(T).fill('1');
    const n = r.int(1, Math.max(1, T - 1));
    if (kind === 'post') for (let t = T - n; t < T; t++) row[t] = '0';
    if (kind === 'pre') for (let t = 0; t < n; t++) row[t] = '0';
    if (kind === 'gap') row[r.int(0, T - 1)] = '0';
    if (kind === 'empty') row.fill('0');
    rows.push(row.join(''));
  }
  return rows;
}

function generateRecipe(tf, seed, k, attempt) {
  const r = new Rng(`random_models:${seed}:${k}:${attempt}`);
  const mode = r.chance(0.18) ? 'sequential' : 'functional';
  const stateful = r.chance(0.14);
  const batch = r.int(2, 4);
  const g = new Graph(tf, r, null, {chain: mode === 'sequential', stateful, batch});
  const T = r.int(3, 7);
  const nIn = mode === 'sequential' ? 1 : r.weighted([[1, 6], [2, 3], [3, 1]]);
  for (let i = 0; i < nIn; i++) {
    const kind = r.weighted([['seq', 5], ['masked', 3], ['ids', 2.5], ['vector', 1.5], ['seq4d', 0.7],
      ['image', 1.2], ['volume', 0.6]]);
    const inp = {name: `input${i}`, dtype: 'float32', kind: kind === 'masked' ? 'seq' : kind};
    if (stateful) inp.batch = batch;
    const steps = r.chance(0.7) ? T : r.int(3, 7);
    if (kind === 'seq' || kind === 'masked') inp.shape = [steps, r.int(1, 5)];
    if (kind === 'vector') inp.shape = [r.int(2, 6)];
    if (kind === 'seq4d') inp.shape = [r.int(2, 4), r.int(2, 5), r.int(1, 4)];
    if (kind === 'image') inp.shape = [r.int(3, 8), r.int(3, 8), r.int(1, 3)]; // rows, cols, channels
    if (kind === 'volume') inp.shape = [r.int(2, 5), r.int(2, 6), r.int(2, 6), r.int(1, 3)]; // depth, rows, cols, C
    if (kind === 'ids') {
      inp.shape = [steps];
      inp.vocab = r.int(4, 12);
      inp.dtype = mode === 'sequential' || r.chance(0.15) ? 'float32' : 'int32';
    }
    const t = g.addInput(inp);
    if (kind === 'masked') {
      inp.pad = true;
      g.add({spec: {cls: 'masking', cfg: {name: g.name('masking'), maskValue: 0}}, in: [t.id]});
    }
    if (kind === 'ids' && r.chance(0.2)) {
      // CategoryEncoding writes its output size into its input's shape: it reads a Reshape of its own.
      inp.pad = r.chance(0.5);
      const [flat] = g.add({spec: {cls: 'reshape', cfg: {name: g.name('reshape'), targetShape: [steps]}},
        in: [t.id]});
      flat.spent = true;
      const cfg = {name: g.name('categoryEncoding'), numTokens: inp.vocab};
      if (r.chance(0.5)) cfg.outputMode = r.pick(['multiHot', 'count']);
      g.add({spec: {cls: 'categoryEncoding', cfg}, in: [flat.id]});
    } else if (kind === 'ids') {
      const maskZero = r.chance(0.7);
      inp.pad = maskZero || r.chance(0.3);
      const cfg = {name: g.name('embedding'), inputDim: inp.vocab, outputDim: r.int(1, 5)};
      if (maskZero) cfg.maskZero = true;
      if (r.chance(0.3)) cfg.inputLength = steps;
      g.add({spec: {cls: 'embedding', cfg}, in: [t.id]});
    }
  }
  const nOps = r.int(2, 9);
  let guard = 0;
  while (g.ops.length < nOps + nIn && guard++ < 60) {
    let op;
    if (g.chain) {
      const cur = g.tensors[g.tensors.length - 1];
      op = cur.input && isIdsTensor(g, cur) ? null : unaryOpFor(g, cur);
      if (op && op.returnsState) op = null;
    } else {
      const kind = r.weighted([['unary', 10], ['merge', 2.2], ['share', 0.9], ['nested', 0.7]]);
      if (kind === 'merge') op = mergeOp(g);
      else if (kind === 'share') op = shareOp(g);
      else {
        const t = pickTarget(g, (x) => usable(g, x) && x.shape.length >= 1 && x.shape.length <= 3);
        if (!t) continue;
        op = kind === 'nested' ? nestedOp(g, t) : unaryOpFor(g, t);
      }
    }
    if (!op) continue;
    g.add(op);
  }
  if (!g.ops.length) throw new GenError('no op could be added');
  const recipe = finishRecipe(g, `m${k}`, mode);
  recipe.stateful = stateful;
  recipe.batch = batch;
  recipe.calls = stateful ? r.int(2, 3) : 1;
  recipe.quantize = r.weighted([[null, 8], ['uint16', 1], ['float16', 1], ['uint8', 0.4]]);
  recipe.shardSizeBytes = r.chance(0.35) ? r.int(16, 600) : null;
  recipe.weightRange = r.weighted([[0.6, 6], [0.3, 1], [1.0, 1]]);
  recipe.seedKey = `random_models:${seed}:${k}:${attempt}`;
  recipe.patterns = {};
  for (const inp of recipe.inputs) {
    if (inp.pad) recipe.patterns[inp.name] = maskPatterns(r, batch, inp.shape[0]);
  }
  return recipe;
}

class GenError extends Error {}

// ---------------------------------------------------------------------------
// Weights, inputs, save / reload / predict, fixture files
// ---------------------------------------------------------------------------

function weightRange(name, recipe) {
  const base = name.split('/').pop();
  if (base === 'moving_variance') return [0.5, 1.5];
  if (base === 'moving_mean') return [-0.5, 0.5];
  if (base === 'gamma') return [0.8, 1.2];
  if (base === 'beta') return [-0.3, 0.3];
  if (base === 'alpha') return [0.05, 0.5];
  if (base === 'embeddings') return [-1, 1];
  const w = recipe.weightRange || 0.6;
  return [-w, w];
}

function setWeights(tf, model, recipe) {
  const r = new Rng(`${recipe.seedKey}:weights`);
  recorder.setWeights(tf, model, (name, n) => {
    const [lo, hi] = weightRange(name, recipe);
    const data = r.uniform(n, lo, hi);
    // Keep values away from zero so that biases are never (nearly) zero.
    if (lo < 0 && hi > 0) return data.map((x) => (Math.abs(x) < 0.02 * hi ? x + Math.sign(x || 1) * 0.05 * hi : x));
    return data;
  });
}

function makeInputs(recipe, call) {
  const r = new Rng(`${recipe.seedKey}:inputs:${call}`);
  return recipe.inputs.map((inp) => {
    const shape = [recipe.batch, ...inp.shape];
    const patterns = recipe.patterns[inp.name];
    if (inp.kind === 'ids') return maskedIds(() => r.next(), shape, inp.vocab, patterns, inp.dtype);
    return maskedFloats((n) => r.uniform(n, -2, 2), shape, patterns);
  });
}

/** Builds one recipe, records it into dir (lib/recorder.js) and returns its expected.json. */
async function realise(tf, recipe, dir, extra = {}) {
  const model = await stage('build', () => buildModel(tf, recipe));
  await stage('build', () => setWeights(tf, model, recipe));
  const calls = [];
  for (let c = 0; c < recipe.calls; c++) {
    calls.push({reset_states: recipe.calls > 1 && c === recipe.calls - 1, inputs: makeInputs(recipe, c)});
  }
  const {expected, reloaded} = await recorder.record(tf, model, calls, dir, {
    save: {quantize: recipe.quantize, shardSizeBytes: recipe.shardSizeBytes},
    description: describeRecipe(recipe), recipe, maxAbsOutput: MAX_ABS_OUTPUT,
    // What TF.js computes after reloading the file is the truth, even where its loader reads the file differently
    // from the model that saved it (see reload_shared_node_order in the fixtures).
    reload: extra.allowReloadMismatch ? 'any' : 'same',
  });
  for (const m of [model, reloaded]) {
    try {
      m.dispose();
    } catch (err) {
      // a layer shared with another model cannot be disposed twice: nothing to free
    }
  }
  return expected;
}

function errorKind(stageName, message) {
  const msg = String(message).split('\n')[0]
      .replace(/l\d+_[A-Za-z0-9_]+/g, '<layer>')
      .replace(/input\d+/g, '<input>')
      .replace(/-?\d+(\.\d+)?(e-?\d+)?/g, '#')
      .replace(/\s+/g, ' ')
      .slice(0, 140);
  return `${stageName}: ${msg}`;
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

function parseArgs(argv) {
  const args = {seed: null, count: null, out: null, only: null, recipe: null, quiet: false,
    allowReloadMismatch: false};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--seed') args.seed = next();
    else if (a === '--count') args.count = Number(next());
    else if (a === '--out') args.out = path.resolve(next());
    else if (a === '--only') args.only = next().split(',').map(Number);
    else if (a === '--recipe') args.recipe = path.resolve(next());
    else if (a === '--quiet') args.quiet = true;
    else if (a === '--allow-reload-mismatch') args.allowReloadMismatch = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node random_models.js --seed S --count N --out DIR [--only K,...] [--quiet]\n' +
          '       node random_models.js --recipe recipe.json --out CASE_DIR [--allow-reload-mismatch]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (args.out == null) throw new Error('--out is required');
  if (args.recipe == null && (args.seed == null || !Number.isInteger(args.count) || args.count < 0)) {
    throw new Error('--seed and --count (a non-negative integer) are required');
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const tf = require('@tensorflow/tfjs');
  await recorder.useCpuBackend(tf);
  // TF.js prints warnings (e.g. unroll) on the console; keep stdout for our report.
  const warn = console.warn;
  console.warn = () => {};

  if (args.recipe) {
    const recipe = JSON.parse(fs.readFileSync(args.recipe, 'utf8'));
    await realise(tf, recipe, args.out, {allowReloadMismatch: args.allowReloadMismatch});
    process.stdout.write(`wrote ${args.out}\n`);
    return;
  }

  fs.mkdirSync(args.out, {recursive: true});
  const t0 = Date.now();
  const failures = {};
  const byStage = {};
  let attemptsTotal = 0;
  const indices = args.only || Array.from({length: args.count}, (_, k) => k);
  const written = [];
  for (const k of indices) {
    const dir = path.join(args.out, String(k));
    let done = false;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && !done; attempt++) {
      attemptsTotal++;
      let recipe;
      try {
        recipe = tf.tidy(() => generateRecipe(tf, args.seed, k, attempt));
      } catch (err) {
        if (process.env.RANDOM_MODELS_DEBUG) process.stderr.write(`[${k}.${attempt}] ${err.stack}\n`);
        const st = err instanceof GenError ? 'generate' : 'build';
        const kind = errorKind(st, err.message);
        failures[kind] = (failures[kind] || 0) + 1;
        byStage[st] = (byStage[st] || 0) + 1;
        continue;
      }
      try {
        // What TF.js computes after reloading the file is the truth, even where its loader reads the file
        // differently from the model that saved it (see reload_shared_node_order in the fixtures).
        const e = await realise(tf, recipe, dir, {allowReloadMismatch: true});
        done = true;
        written.push(k);
        if (!args.quiet) {
          process.stdout.write(`[${k}] ${e.calls.length} call(s), ${e.outputs.length} output(s)` +
              `${recipe.quantize ? `, ${recipe.quantize}` : ''}: ${e.description}\n`);
        }
      } catch (err) {
        fs.rmSync(dir, {recursive: true, force: true});
        if (process.env.RANDOM_MODELS_DEBUG) process.stderr.write(`[${k}.${attempt}] ${err.stack}\n`);
        const st = err instanceof StageError ? err.stage : 'internal';
        if (process.env.RANDOM_MODELS_KEEP_FAILED) { // recipes TF.js failed on, for study (--recipe replays them)
          const keep = process.env.RANDOM_MODELS_KEEP_FAILED;
          fs.mkdirSync(keep, {recursive: true});
          fs.writeFileSync(path.join(keep, `${args.seed}_${k}_${attempt}.json`),
              JSON.stringify(Object.assign({error: `${st}: ${err.message}`}, recipe), null, 1));
        }
        const kind = errorKind(st, err.message);
        failures[kind] = (failures[kind] || 0) + 1;
        byStage[st] = (byStage[st] || 0) + 1;
      }
    }
    if (!done) throw new Error(`model ${k}: TF.js failed on ${MAX_ATTEMPTS} attempts`);
  }
  const kinds = Object.entries(failures).sort((a, b) => b[1] - a[1]);
  const summary = {seed: String(args.seed), count: args.count, written: written.length, attempts: attemptsTotal,
    skipped: attemptsTotal - written.length, skipped_by_stage: byStage, skipped_by_kind: Object.fromEntries(kinds)};
  fs.writeFileSync(path.join(args.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  console.warn = warn;
  process.stdout.write(`${written.length} model(s) in ${args.out} (${attemptsTotal - written.length} TF.js failure(s) ` +
      `skipped) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  for (const [kind, n] of kinds) process.stdout.write(`  ${String(n).padStart(4)}  ${kind}\n`);
}

module.exports = {Rng, buildModel, describeRecipe, makeInputs, realise, setWeights};

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`random_models.js: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  });
}
