// WASM section of the benchmark: tessera's WebAssembly backend against
// libsodium-wrappers (libsodium compiled to wasm) and @noble/ciphers (pure
// JS), in Node and in Chromium, as same-run ratios. Called from run.mjs
// (`--only wasm`); the cases are bench/web/cases.mjs (shared by both
// environments), Chromium is driven by bench/wasm-browser.mjs, formatting
// and targets are in bench/wasm-report.mjs.
//
// Node: each module flavor runs in its own child process
//   node --expose-gc bench/wasm.mjs --child <simd|scalar> --out <file> [--quick] [--no-chunked]
// started with TESSERA_BACKEND=wasm TESSERA_WASM=<flavor>, because
// lib/backend/node.ts reads TESSERA_WASM once and caches the backend. In
// the child the public API (aead.seal, AeadKey, encryptChunkedAsync) runs on
// the wasm backend, and the competitors run in the same process and run.
//   AEAD     tinybench, ROUNDS rounds per (alg, size) group (task order
//            reversed every other round), the median round per row, as in
//            run.mjs (both use bench/rounds.mjs).
//   chunked  Cobblestone-256 encryptChunkedAsync / decryptChunkedAsync of
//            16 MiB with { threads: 1 } and { threads: 2 } (worker_threads
//            pool, size set to 2), interleaved runs, median (GC between runs).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { cpuSnapshot, otherCpuPercent, sizeLabel } from './report.mjs';
import { ROUNDS, runRounds, taskName } from './rounds.mjs';
import { nodeOpen, nodeSeal } from './impls.mjs';
import * as C from './web/cases.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const SETTINGS = {
  full: {
    aead: {
      64: { time: 600, warmupTime: 150 },
      [C.KiB]: { time: 600, warmupTime: 150 },
      [16 * C.KiB]: { time: 600, warmupTime: 150 },
      [C.MiB]: { time: 900, warmupTime: 150, iterations: 9, warmupIterations: 3 },
    },
    chunked: { reps: 9, warmup: 1 },
    browser: { aead: { reps: 15, warmup: 2, sampleMs: 50 }, chunked: { reps: 9, warmup: 1 } },
  },
  quick: {
    aead: {
      64: { time: 100, warmupTime: 30 },
      [C.KiB]: { time: 100, warmupTime: 30 },
      [16 * C.KiB]: { time: 100, warmupTime: 30 },
      [C.MiB]: { time: 120, warmupTime: 30, iterations: 3, warmupIterations: 1 },
    },
    chunked: { reps: 3, warmup: 1 },
    browser: { aead: { reps: 5, warmup: 1, sampleMs: 20 }, chunked: { reps: 3, warmup: 1 } },
  },
};

export const pkgVersion = (name) => {
  try {
    return JSON.parse(readFileSync(path.join(HERE, '..', 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
};

// ---------------------------------------------------------------------------
// Child: one module flavor, in its own process.

async function loadCompetitors() {
  const sodium = (await import('libsodium-wrappers')).default;
  await sodium.ready;
  const { gcm } = await import('@noble/ciphers/aes.js');
  const { chacha20poly1305, xchacha20poly1305 } = await import('@noble/ciphers/chacha.js');
  return { sodium, noble: { gcm, chacha20poly1305, xchacha20poly1305 } };
}

async function aeadGroup(T, comp, alg, size, flavor, settings, log) {
  const { cases, notes, dispose } = C.aeadCases({ T, ...comp, nodeSeal: [nodeSeal, nodeOpen], alg, size, label: `wasm ${flavor}` });
  const g = await runRounds(cases, { alg, size, ...settings[size] });
  dispose();
  const other = g.otherCpuPercent;
  const rows = cases.map((c) => ({ ...g.rows.get(c), role: c.role, otherCpuPercent: other, method: `tinybench, median of ${ROUNDS} rounds` }));
  for (const r of rows) if (r.state !== 'completed') log(`  ERROR ${taskName(r)}: ${r.error ?? r.state}`);
  log(`  node ${flavor} ${alg} ${sizeLabel(size)}: ${cases.length} tasks x ${ROUNDS} rounds in ${g.seconds.toFixed(1)} s (other processes: ${other}% CPU)`);
  return { rows, notes };
}

async function chunkedNode(T, settings, log) {
  T.workerPool({ size: 2 });
  const key = C.rand(32),
    pt = C.rand(C.CHUNKED_SIZE);
  const { cases } = await C.chunkedCases({ T, key, pt });
  const cpu0 = cpuSnapshot();
  const t0 = performance.now();
  const rows = await C.interleave(cases, {
    ...settings,
    now: () => performance.now(),
    between: async () => {
      global.gc?.();
      await sleep(5);
    },
  });
  const other = +otherCpuPercent(cpu0, cpuSnapshot()).toFixed(1);
  key.fill(0);
  log(
    `  node Cobblestone-256 ${sizeLabel(C.CHUNKED_SIZE)}: ${cases.length} cases x ${settings.reps} runs in ${((performance.now() - t0) / 1000).toFixed(1)} s (other processes: ${other}% CPU)`,
  );
  return { rows: rows.map((r) => ({ ...r, sizeLabel: sizeLabel(r.size), otherCpuPercent: other })), pool: T.workerPool(), otherCpuPercent: other };
}

async function child() {
  const a = process.argv;
  const flavor = a[a.indexOf('--child') + 1];
  const out = a[a.indexOf('--out') + 1];
  const quick = a.includes('--quick');
  const S = quick ? SETTINGS.quick : SETTINGS.full;
  const log = (m) => console.log(m);
  const { writeFileSync } = await import('node:fs');
  const T = require('../dist/cjs/index.js');
  const front = require('../dist/cjs/front/backend.js');
  const engine = /** @type {{ engine?: { flavor: string } }} */ (front.engineOf(require('../dist/cjs/backend/select.js').getBackend())).engine;
  if (T.backend() !== 'wasm' || engine?.flavor !== flavor)
    throw new Error(`expected the wasm backend with the ${flavor} module, got ${T.backend()} ${engine?.flavor}`);
  const comp = await loadCompetitors();
  const cpu0 = cpuSnapshot();
  const t0 = performance.now();
  const rows = [],
    notes = new Set();
  for (const [alg, size] of C.aeadPlan(true)) {
    const g = await aeadGroup(T, comp, alg, size, flavor, S.aead, log);
    rows.push(...g.rows);
    for (const n of g.notes) notes.add(n);
    global.gc?.();
  }
  C.addRatios(rows);
  const chunked = a.includes('--no-chunked') ? undefined : await chunkedNode(T, S.chunked, log);
  const result = {
    env: 'node',
    flavor,
    rows,
    chunked,
    notes: [...notes],
    otherCpuPercent: +otherCpuPercent(cpu0, cpuSnapshot()).toFixed(1),
    durationS: (performance.now() - t0) / 1000,
    info: { node: process.version, v8: process.versions.v8, pool: T.workerPool(), sodiumVersion: comp.sodium.SODIUM_VERSION_STRING },
  };
  writeFileSync(out, JSON.stringify(result));
}

// ---------------------------------------------------------------------------
// Parent: the children, then Chromium.

function runChild(flavor, { quick, chunked }, log) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-wasm-'));
  const out = path.join(dir, `${flavor}.json`);
  const args = [
    '--expose-gc',
    fileURLToPath(import.meta.url),
    '--child',
    flavor,
    '--out',
    out,
    ...(quick ? ['--quick'] : []),
    ...(chunked ? [] : ['--no-chunked']),
  ];
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, TESSERA_BACKEND: 'wasm', TESSERA_WASM: flavor },
    });
    p.on('error', (e) => resolve({ env: 'node', flavor, error: e.message }));
    p.on('exit', (code, signal) => {
      let r;
      try {
        r = JSON.parse(readFileSync(out, 'utf8'));
      } catch {
        r = { env: 'node', flavor, error: `child exited with ${code ?? signal} and no result` };
      }
      rmSync(dir, { recursive: true, force: true });
      if (r.error) log(`  node ${flavor}: ${r.error}`);
      resolve(r);
    });
  });
}

/**
 * Runs the wasm section; returns { node: { simd, scalar }, browser, config, versions, durationS }.
 * @param {{ quick?: boolean, browser?: boolean, step?: (label: string) => void, log?: (...args: any[]) => void }} [opts]
 */
export async function runWasm({ quick = false, browser: withBrowser = true, step = () => {}, log = console.log } = {}) {
  const started = performance.now();
  const S = quick ? SETTINGS.quick : SETTINGS.full;
  step('wasm: Node, simd module (child process, TESSERA_BACKEND=wasm TESSERA_WASM=simd)');
  const simd = await runChild('simd', { quick, chunked: true }, log);
  step('wasm: Node, scalar module (child process, AEAD only)');
  const scalar = await runChild('scalar', { quick, chunked: false }, log);
  /** @type {{ error?: string, [page: string]: any }} */
  let browser = { error: 'not run (--ci runs the Node half only; Chromium in full and --quick runs)' };
  if (withBrowser) {
    step('wasm: Chromium');
    const { runBrowser } = await import('./wasm-browser.mjs');
    try {
      browser = await runBrowser({ settings: S.browser, log });
    } catch (e) {
      browser = { error: e.message };
      log(`  wasm: Chromium failed: ${e.message}`);
    }
  }
  const wasmFile = (f) => {
    try {
      return readFileSync(path.join(HERE, '..', 'wasm', f)).length;
    } catch {
      return undefined;
    }
  };
  return {
    config: { quick, rounds: ROUNDS, settings: S, chunkedSize: C.CHUNKED_SIZE, suite: C.SUITE },
    versions: {
      'libsodium-wrappers': pkgVersion('libsodium-wrappers'),
      libsodium: pkgVersion('libsodium'),
      '@noble/ciphers': pkgVersion('@noble/ciphers'),
      tinybench: pkgVersion('tinybench'),
      'playwright-core': pkgVersion('playwright-core'),
      wasmBytes: { simd: wasmFile('tessera-simd.wasm'), scalar: wasmFile('tessera-scalar.wasm') },
    },
    node: { simd, scalar },
    browser,
    durationS: (performance.now() - started) / 1000,
  };
}

if (process.argv.includes('--child')) {
  try {
    await child();
  } catch (e) {
    // The parent reads the reason from the result file (and the stack is on stderr).
    const a = process.argv;
    console.error(e);
    (await import('node:fs')).writeFileSync(
      a[a.indexOf('--out') + 1],
      JSON.stringify({ env: 'node', flavor: a[a.indexOf('--child') + 1], error: String(e?.message ?? e).split('\n')[0] }),
    );
    process.exitCode = 1;
  }
}
