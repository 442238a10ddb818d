// tessera benchmark: tessera (native) vs node:crypto vs @noble/ciphers vs
// sodium-native, in one process and one run, reported as same-run ratios
// (DESIGN section 8).
//
//   node --expose-gc bench/run.mjs [--quick] [--only <section> | --skip <section>]
//
// Needs a built package (npm run build). Writes bench/results/. Sections:
// aead (this file), chunked (Cobblestone, bench/chunked.mjs) and wasm (the
// WebAssembly backend vs libsodium-wrappers and @noble/ciphers in Node and
// Chromium, bench/wasm.mjs), keyring (ring.encrypt of 64 B fields with a
// cached data key, bench/keyring.mjs) and hsm (PKCS#11 wrap/unwrap through
// SoftHSM2 and keyring encrypt with an HSM KEK, bench/hsm.mjs; in a full run
// only when SoftHSM2 is installed); `--only <section>` runs just one and
// writes latest-<section>[-quick].* so the full latest.* is kept.
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';

import { runChunked } from './chunked.mjs';
import { chunkedTargets } from './chunked-report.mjs';
import { measureEventLoop } from './eventloop.mjs';
import { hsmTargets, hsmUnavailable, printHsm, runHsm } from './hsm.mjs';
import { keyringTargets, runKeyring } from './keyring.mjs';
import { runWasm } from './wasm.mjs';
import { wasmTargets } from './wasm-report.mjs';
import { buildCases, makeInputs, tessera } from './impls.mjs';
import { addRatios, checkTargets, cpuSnapshot, otherCpuPercent, printConsole, sizeLabel, toRow, writeResults } from './report.mjs';
import { ROUNDS, runRounds } from './rounds.mjs';

const quick = process.argv.includes('--quick');
// --only <section> / --skip <section> (also --only=<section>); sections: aead (everything before), chunked, wasm, keyring, hsm.
function sectionArg(flag) {
  const a = process.argv;
  const i = a.indexOf(flag);
  const v = i >= 0 ? a[i + 1] : a.find((x) => x.startsWith(`${flag}=`))?.slice(flag.length + 1);
  if (v !== undefined && !['aead', 'chunked', 'wasm', 'keyring', 'hsm'].includes(v)) throw new Error(`${flag}: unknown section ${v} (aead, chunked, wasm, keyring or hsm)`);
  return v;
}
const only = sectionArg('--only'), skip = sectionArg('--skip');
const runs = (section) => (only ? only === section : skip !== section);
const KiB = 1024, MiB = 1024 * KiB;
const AES = 'aes-256-gcm', CHACHA = 'chacha20-poly1305', XCHACHA = 'xchacha20-poly1305', XAES = 'xaes-256-gcm';

// tinybench settings per size: 64 MiB tasks run a handful of iterations,
// small ones run for a time budget.
const FULL = {
  64: { time: 1000, warmupTime: 200 },
  [KiB]: { time: 600, warmupTime: 150 },
  [16 * KiB]: { time: 600, warmupTime: 150 },
  [MiB]: { time: 800, warmupTime: 150, iterations: 8, warmupIterations: 3 },
  [64 * MiB]: { time: 500, warmupTime: 0, iterations: 6, warmupIterations: 2 },
};
const QUICK = {
  64: { time: 100, warmupTime: 30 },
  [16 * KiB]: { time: 100, warmupTime: 30 },
  [MiB]: { time: 100, warmupTime: 30, iterations: 4, warmupIterations: 2 },
  [64 * MiB]: { time: 0, warmupTime: 0, iterations: 3, warmupIterations: 1 },
};

// The plan: [alg, size, case options]. opts: raw (64 B API shapes), batch,
// noble, nobleNA (listed as too slow), sodium, async, only (subset of rows).
function plan() {
  const small = { noble: true, sodium: true };
  const g = [
    [AES, 64, { raw: true, batch: true, ...small }],
    [CHACHA, 64, { raw: true, ...small }],
    [XCHACHA, 64, {}],
    [XAES, 64, {}],
  ];
  const mid = quick ? [16 * KiB] : [KiB, 16 * KiB];
  for (const size of [...mid, MiB]) g.push([AES, size, small], [CHACHA, size, small]);
  g.push([XCHACHA, MiB, {}], [XAES, MiB, {}]);
  if (quick) {
    g.push([AES, 64 * MiB, { only: new Set(['seal tessera key.seal', 'seal node:crypto createCipheriv + concat']) }]);
  } else {
    g.push([AES, 64 * MiB, { async: true, nobleNA: true }], [CHACHA, 64 * MiB, { async: true, nobleNA: true, sodium: true }]);
  }
  return g;
}

// The addon under test: the other half of the repo changes while benches run.
function addonBuilt() {
  try { return statSync(new URL('../build/Release/tessera.node', import.meta.url)).mtime.toISOString(); } catch { return undefined; }
}

const pkgVersion = (name) => {
  try { return JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version; } catch { return undefined; }
};

async function runGroup(alg, size, opts) {
  const inp = makeInputs(alg, size);
  const cases = buildCases(inp, opts);
  const live = cases.filter((c) => !c.na);
  const g = await runRounds(live, { alg, size, ...(quick ? QUICK : FULL)[size] });
  const rows = cases.map((c) => (c.na ? toRow(c) : g.rows.get(c)));
  const other = g.otherCpuPercent;
  for (const r of rows) r.otherCpuPercent = other;
  for (const r of rows) if (r.state === 'errored') console.error(`  ERROR ${r.alg} ${r.sizeLabel} ${r.op} ${r.impl} ${r.api}: ${r.error}`);
  console.log(`  ${alg} ${sizeLabel(size)}: ${live.length} tasks x ${ROUNDS} rounds in ${g.seconds.toFixed(1)} s (other processes: ${other}% CPU)`);
  inp.key.dispose();
  return { rows, timerOverheadMs: g.timerOverheadMs };
}

async function main() {
  const started = performance.now();
  const cpu0 = cpuSnapshot();
  const date = new Date().toISOString();
  const machine = {
    date,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    node: process.version,
    openssl: process.versions.openssl,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    totalMemGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    loadavgStart: os.loadavg(),
    tesseraBackend: tessera.backend?.() ?? tessera.backend,
    tesseraAddonBuilt: addonBuilt(),
    versions: { tinybench: pkgVersion('tinybench'), '@noble/ciphers': pkgVersion('@noble/ciphers'), 'sodium-native': pkgVersion('sodium-native') },
    exposeGc: typeof global.gc === 'function',
  };
  if (!machine.exposeGc) console.warn('note: run with node --expose-gc so the bench can collect garbage between tasks');
  console.log(`tessera bench (${quick ? 'quick' : 'full'}): ${machine.cpus}x ${machine.cpuModel}, Node ${machine.node}, OpenSSL ${machine.openssl}, load ${machine.loadavgStart.map((x) => x.toFixed(2)).join(' ')}`);
  if (machine.loadavgStart[0] > 0.5 * machine.cpus) console.warn('warning: the machine is busy (1-min load average); ratios will be noisy');

  const rows = [];
  let timerOverheadMs, eventLoop, chunked, wasm, keyring, hsm;
  if (runs('aead')) {
    for (const [alg, size, opts] of plan()) {
      const g = await runGroup(alg, size, opts);
      rows.push(...g.rows);
      timerOverheadMs ??= g.timerOverheadMs;
      global.gc?.();
    }
    addRatios(rows);

    console.log('  event loop: 64 MiB sealAsync vs node:crypto sync seal');
    const inp = makeInputs(AES, 64 * MiB);
    eventLoop = await measureEventLoop({ key: inp.key, pt: inp.pt, aad: inp.aad, keyBytes: inp.keyBytes, asyncRuns: 20, nodeRuns: quick ? 3 : 5 });
    inp.key.dispose();
    global.gc?.();
  }
  if (runs('chunked')) {
    console.log(`  chunked (Cobblestone-256)${quick ? ', quick: no 1 GiB buffers, 256 MiB file' : ''}`);
    chunked = await runChunked({ quick });
    console.log(`  chunked section: ${chunked.durationS.toFixed(1)} s`);
  }
  if (runs('wasm')) {
    console.log(`  wasm backend vs libsodium-wrappers vs @noble/ciphers, Node and Chromium${quick ? ' (quick)' : ''}`);
    wasm = await runWasm({ quick });
    console.log(`  wasm section: ${wasm.durationS.toFixed(1)} s`);
  }

  if (runs('keyring')) {
    console.log(`  keyring: ring.encrypt / encryptFields / ring.decrypt of 64 B fields vs node:crypto${quick ? ' (quick)' : ''}`);
    keyring = await runKeyring({ quick });
    console.log(`  keyring section: ${keyring.durationS.toFixed(1)} s`);
    global.gc?.();
  }

  if (runs('hsm')) {
    const why = hsmUnavailable();
    if (why && only === 'hsm') throw new Error(`--only hsm: ${why}`);
    console.log(`  hsm: PKCS#11 wrap/unwrap (pool 1, 2, 4) and keyring encrypt with an HSM KEK${why ? `: skipped (${why})` : ''}${quick ? ' (quick)' : ''}`);
    hsm = await runHsm({ quick });
    if (!hsm.skipped) console.log(`  hsm section: ${hsm.durationS.toFixed(1)} s`);
  }

  const targets = [...(runs('aead') ? checkTargets(rows, eventLoop) : []), ...(hsm && !hsm.skipped ? hsmTargets(hsm) : []), ...(chunked ? chunkedTargets(chunked) : []), ...(wasm ? wasmTargets(wasm) : []), ...(keyring ? keyringTargets(keyring) : [])];
  const durationS = (performance.now() - started) / 1000;
  machine.loadavgEnd = os.loadavg();
  machine.otherProcessesCpuPercent = +otherCpuPercent(cpu0, cpuSnapshot()).toFixed(1);
  if (machine.otherProcessesCpuPercent > 10) console.warn(`warning: other processes used ${machine.otherProcessesCpuPercent}% of the machine's CPU during the run`);
  const result = {
    machine,
    config: { quick, only, skip, rounds: ROUNDS, timestampProvider: 'hrtimeNow', subtractTimerOverhead: true, timerOverheadNs: timerOverheadMs === undefined ? undefined : timerOverheadMs * 1e6, settings: quick ? QUICK : FULL, durationS },
    rows,
    targets,
    eventLoop,
    chunked,
    wasm,
    keyring,
    hsm,
  };
  console.log('');
  printConsole(rows, targets, eventLoop, chunked, wasm, keyring);
  if (hsm) printHsm(hsm);
  const { dir, stamp, latest } = writeResults(result);
  console.log(`\nwrote ${dir}/${stamp}.json, ${latest}.json, ${latest}.md (${durationS.toFixed(1)} s)`);
  if (wasm && only !== 'wasm') {
    // The wasm section on its own too (latest-wasm[-quick].*), as `--only wasm` writes it.
    const w = writeResults({ ...result, rows: [], eventLoop: undefined, chunked: undefined, keyring: undefined, targets: wasmTargets(wasm), config: { ...result.config, only: 'wasm', skip: undefined, partOfFullRun: true } });
    console.log(`wrote ${w.latest}.json, ${w.latest}.md (the wasm section of this run)`);
  }
  if (keyring && only !== 'keyring') {
    // Likewise the keyring section on its own (latest-keyring[-quick].*).
    const k = writeResults({ ...result, rows: [], eventLoop: undefined, chunked: undefined, wasm: undefined, targets: keyringTargets(keyring), config: { ...result.config, only: 'keyring', skip: undefined, partOfFullRun: true } });
    console.log(`wrote ${k.latest}.json, ${k.latest}.md (the keyring section of this run)`);
  }
}

await main();
