#!/usr/bin/env node
'use strict';
// Generates the TF.js ground-truth fixtures with the real @tensorflow/tfjs 4.22 (pure-JS CPU backend).
//
//   node scripts/tfjs/make_fixtures.js [--out DIR] [--only NAME,NAME...] [--no-probes] [--list]
//
// The cases live in cases/<family>.js (listed in cases/index.js); --only takes case names and family names
// (a family stands for all its cases; other case folders are left alone); --list prints every case with its
// family. Probes (cases/probes.js: experiments known to fail or to be unfaithful in TF.js 4.22, which write no
// fixture) always run unless --no-probes; README.md is rewritten from the case folders present and the probes'
// outcomes.
//
// Default DIR: <repo>/fixtures/tfjs. Each case is built, seeded and recorded by lib/fixture_case.js with the
// recorder random_models.js uses too (lib/recorder.js): saved as model.json + group1-shard*of*.bin, reloaded
// from disk with tf.loadLayersModel, and the reloaded model's predictions recorded (for unquantized cases they
// must equal the in-memory model's bit for bit).
//
// Each case runs in its own Node process so that TF.js's automatic layer names (input1, lstm_LSTM1, ...) depend
// only on the case itself.

const fs = require('fs');
const os = require('os');
const path = require('path');
const {spawn} = require('child_process');
const {loadCases} = require('./cases');
const {writeReadme} = require('./lib/fixtures_readme');

const DEFAULT_OUT = path.join(path.resolve(__dirname, '..', '..'), 'fixtures', 'tfjs');
const USAGE = 'usage: node make_fixtures.js [--out DIR] [--only NAME,NAME...] [--no-probes] [--list]\n';

function parseArgs(argv) {
  const args = {out: DEFAULT_OUT, only: null, probes: true, child: null, list: false};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--out') args.out = path.resolve(next());
    else if (a.startsWith('--out=')) args.out = path.resolve(a.slice(6));
    else if (a === '--only') args.only = next().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a.startsWith('--only=')) args.only = a.slice(7).split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--no-probes') args.probes = false;
    else if (a === '--list') args.list = true;
    else if (a === '--child') args.child = next();
    else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

function runInChild(name, outDir, isProbe) {
  return new Promise((resolve) => {
    const argv = [__filename, '--child', name, '--out', outDir];
    const p = spawn(process.execPath, argv, {cwd: __dirname, stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => {
      const m = /^RESULT (.*)$/m.exec(stdout);
      const result = m ? JSON.parse(m[1]) : {ok: false, error: `child exited with ${code}`};
      // Keep TF.js's own messages visible, minus the once-per-process tfjs-node advertisement.
      const noise = stderr.split('\n').filter((l) => l.trim() &&
          !/^=+$/.test(l.trim()) && !/Looks like you are running TensorFlow\.js in Node\.js/.test(l) &&
          !/^Hi,? /.test(l.trim()));
      const extraOut = stdout.split('\n').filter((l) => l.trim() && !l.startsWith('RESULT ') &&
          !/^=+$/.test(l.trim()) && !/Looks like you are running TensorFlow\.js in Node\.js/.test(l));
      result.messages = extraOut.concat(noise);
      resolve(Object.assign({name, probe: isProbe}, result));
    });
  });
}

async function pool(items, n, fn) {
  const results = new Array(items.length);
  let next = 0;
  const workers = Array.from({length: Math.min(n, items.length)}, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return results;
}

/** The cases --only names: each name is a case or a family (all of its cases), in the cases' order. */
function selectCases(cases, families, only) {
  if (!only) return cases;
  const unknown = only.filter((n) => !families.includes(n) && !cases.some((c) => c.name === n));
  if (unknown.length) throw new Error(`unknown case or family name(s): ${unknown.join(', ')}`);
  return cases.filter((c) => only.includes(c.name) || only.includes(c.family));
}

/** Child mode: records one case or probe; its result goes to the parent as a RESULT line. */
async function runChild(name, outDir) {
  const tf = require('@tensorflow/tfjs');
  const {runCase} = require('./lib/fixture_case');
  const recorder = require('./lib/recorder');
  try {
    await recorder.useCpuBackend(tf);
    const {cases, probes} = loadCases(tf);
    const c = cases.concat(probes).find((x) => x.name === name);
    if (c == null) throw new Error(`unknown case ${name}`);
    const info = await runCase(tf, c, outDir);
    process.stdout.write(`RESULT ${JSON.stringify(Object.assign({ok: true}, info))}\n`);
  } catch (err) {
    const msg = err && err.message ? err.message : String(err);
    process.stdout.write(`RESULT ${JSON.stringify({ok: false, error: msg})}\n`);
    if (process.env.FIXTURES_DEBUG) process.stderr.write(`${err.stack}\n`);
  }
}

function describeResult(r) {
  if (!r.ok) return r.error;
  if (r.probe) return r.outcome;
  let detail = `${r.files} files, ${r.bytes} bytes`;
  if (r.maxWeightQuantError != null) {
    detail += `, max |dequantized-original| weight ${r.maxWeightQuantError.toExponential(2)}, ` +
        `max |reloaded-in-memory| output ${r.maxDiffVsInMemory.toExponential(2)}`;
  }
  if (r.optimizerWeights) detail += `, optimizer weights: ${r.optimizerWeights.join(', ')}`;
  return detail;
}

function totalBytes(dir) {
  let total = 0;
  for (const f of fs.readdirSync(dir)) {
    const p = path.join(dir, f);
    const st = fs.statSync(p);
    total += st.isDirectory() ? totalBytes(p) : st.size;
  }
  return total;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.child) return runChild(args.child, args.out);

  // Case definitions only need the layer constructors for names.
  const {families, cases, probes} = loadCases(require('@tensorflow/tfjs'));
  if (args.list) {
    for (const c of cases) process.stdout.write(`${c.name} (${c.family})\n`);
    for (const p of probes) process.stdout.write(`${p.name} (probe)\n`);
    return;
  }
  const selected = selectCases(cases, families, args.only);
  // Probes are cheap and feed README.md, so they always run (unless --no-probes).
  const jobs = selected.concat(args.probes ? probes : []).map((c) => ({name: c.name, probe: !!c.probe}));
  fs.mkdirSync(args.out, {recursive: true});

  const t0 = Date.now();
  const nproc = Math.max(1, Math.min(4, os.cpus().length));
  const results = await pool(jobs, nproc, async (j) => {
    const r = await runInChild(j.name, args.out, j.probe);
    const status = r.ok ? 'ok ' : (r.probe ? 'prb' : 'ERR');
    process.stdout.write(`[${status}] ${j.name}${j.probe ? ' (probe)' : ''}: ${describeResult(r)}\n`);
    for (const m of r.messages || []) process.stdout.write(`      | ${m}\n`);
    return r;
  });

  const caseResults = results.filter((r) => !r.probe);
  writeReadme(args.out, cases, probes, results.filter((r) => r.probe));
  const failed = caseResults.filter((r) => !r.ok);
  process.stdout.write(`\n${caseResults.length - failed.length}/${caseResults.length} cases written to ` +
      `${args.out} (${(totalBytes(args.out) / 1024).toFixed(1)} KiB total) in ` +
      `${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  if (failed.length) {
    process.stdout.write(`FAILED: ${failed.map((r) => r.name).join(', ')}\n`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  process.stderr.write(`make_fixtures.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
