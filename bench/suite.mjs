// One benchmark run on the running Node: the sections (aead, chunked, wasm,
// keyring, hsm) in this process and its children, as same-run ratios. Called
// by bench/run.mjs, which runs it once per Node version and writes the report.
//
// Sections:
//   aead     tessera native (AeadKey, raw aead) vs node:crypto, sodium-native,
//            @noble/ciphers for the four AEADs at 64 B, 1 KiB, 16 KiB, 1 MiB
//            (and 64 MiB), plus the event loop during 64 MiB async seals
//   chunked  Cobblestone-256 (bench/chunked.mjs)
//   wasm     the WebAssembly backend per module flavor, each in a child
//            process with the same peers, and Chromium (bench/wasm.mjs)
//   keyring  ring.encrypt of 64 B fields with a cached data key (bench/keyring.mjs)
//   hsm      PKCS#11 wrap/unwrap on SoftHSM2 (bench/hsm.mjs)
//   kms      keyring encrypt with an AWS KMS KEK vs a local KEK, KMS calls per 10^5 messages (bench/kms.mjs)
//   metrics  keyring encrypt with the Prometheus binding bound vs unbound (bench/metrics.mjs)
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';

import { runChunked } from './chunked.mjs';
import { chunkedTargets } from './chunked-report.mjs';
import { measureEventLoop } from './eventloop.mjs';
import { hsmTargets, hsmUnavailable, runHsm } from './hsm.mjs';
import { kmsTargets, kmsUnavailable, runKms } from './kms.mjs';
import { metricsTargets, metricsUnavailable, runMetrics } from './metrics.mjs';
import { keyringTargets, runKeyring } from './keyring.mjs';
import { runWasm } from './wasm.mjs';
import { wasmTargets } from './wasm-report.mjs';
import { buildCases, makeInputs, tessera } from './impls.mjs';
import { allocTargets, runAlloc } from './alloc.mjs';
import { addRatios, checkTargets, cpuSnapshot, otherCpuPercent, sizeLabel, toRow } from './report.mjs';
import { ROUNDS, runRounds } from './rounds.mjs';

export const SECTIONS = ['aead', 'chunked', 'wasm', 'keyring', 'hsm', 'kms', 'metrics'];
const KiB = 1024,
  MiB = 1024 * KiB;
const AES = 'aes-256-gcm',
  CHACHA = 'chacha20-poly1305',
  XCHACHA = 'xchacha20-poly1305',
  XAES = 'xaes-256-gcm';

// tinybench settings per size and profile: 64 MiB tasks run a handful of
// iterations, small ones run for a time budget.
const SETTINGS = {
  full: {
    64: { time: 1000, warmupTime: 200 },
    [KiB]: { time: 600, warmupTime: 150 },
    [16 * KiB]: { time: 600, warmupTime: 150 },
    [64 * KiB]: { time: 600, warmupTime: 150 },
    [MiB]: { time: 800, warmupTime: 150, iterations: 8, warmupIterations: 3 },
    [16 * MiB]: { time: 600, warmupTime: 0, iterations: 8, warmupIterations: 2 },
    [64 * MiB]: { time: 500, warmupTime: 0, iterations: 6, warmupIterations: 2 },
  },
  quick: {
    64: { time: 150, warmupTime: 30 },
    [KiB]: { time: 100, warmupTime: 30 },
    [16 * KiB]: { time: 100, warmupTime: 30 },
    [64 * KiB]: { time: 100, warmupTime: 30 },
    [MiB]: { time: 100, warmupTime: 30, iterations: 4, warmupIterations: 2 },
    [16 * MiB]: { time: 0, warmupTime: 0, iterations: 4, warmupIterations: 1 },
    [64 * MiB]: { time: 0, warmupTime: 0, iterations: 3, warmupIterations: 1 },
  },
};
SETTINGS.ci = SETTINGS.quick;

const ALLOC_ROWS = new Set([
  'seal tessera key.seal',
  'seal tessera key.sealInto',
  'open tessera key.open',
  'open tessera key.openInto',
  'seal node:crypto createCipheriv + concat',
  'open node:crypto createDecipheriv',
  'seal tessera aead.seal (key bytes + nonce per call)',
  'seal tessera aead.sealInto (key bytes + nonce per call)',
  'open tessera aead.open (key bytes + nonce per call)',
  'open tessera aead.openInto (key bytes + nonce per call)',
]);

// The plan: [alg, size, case options]. opts: raw (64 B API shapes), batch,
// noble, nobleNA (listed as too slow), sodium, async, only (subset of rows).
// Every profile covers the four AEADs at 64 B, 1 KiB, 16 KiB and 1 MiB.
/**
 * @typedef {{ raw?: boolean, batch?: boolean, noble?: boolean, nobleNA?: boolean, sodium?: boolean, tiers?: boolean, async?: boolean, only?: Set<string> }} GroupOpts
 */
function plan(profile) {
  const peers = { noble: true, sodium: true };
  const tiers = { ...peers, tiers: true }; // AES-GCM and ChaCha20-Poly1305 on every native kernel tier too
  /** @type {Array<[alg: string, size: number, opts: GroupOpts]>} */
  const g = [
    [AES, 64, { raw: true, batch: true, ...tiers }],
    [CHACHA, 64, { raw: true, ...tiers }],
    [XCHACHA, 64, peers],
    [XAES, 64, peers],
  ];
  for (const size of [KiB, 16 * KiB, MiB])
    for (const alg of [AES, CHACHA, XCHACHA, XAES])
      g.push([alg, size, alg === AES && size === MiB ? { ...tiers, raw: true } : alg === AES || alg === CHACHA ? tiers : peers]);
  g.push([AES, 64 * KiB, { tiers: true, raw: true }]);
  // Allocating one-shots (key.seal/open, aead.seal/open) past glibc's heap
  // reuse range and into the addon's block cache: AES-256-GCM at 16 MiB.
  g.push([AES, 16 * MiB, { raw: true, only: ALLOC_ROWS }]);
  if (profile === 'full') {
    g.push([AES, 64 * MiB, { async: true, nobleNA: true }], [CHACHA, 64 * MiB, { async: true, nobleNA: true, sodium: true }]);
  } else {
    g.push([AES, 64 * MiB, { only: new Set(['seal tessera key.seal', 'seal node:crypto createCipheriv + concat']) }]);
  }
  return g;
}

// The addon under test: the other half of the repo changes while benches run.
function addonBuilt() {
  try {
    return statSync(new URL('../build/Release/tessera.node', import.meta.url)).mtime.toISOString();
  } catch {
    return undefined;
  }
}

const pkgVersion = (name) => {
  try {
    return JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;
  } catch {
    return undefined;
  }
};

async function runGroup(alg, size, opts, settings) {
  const inp = makeInputs(alg, size);
  const cases = buildCases(inp, opts);
  const live = cases.filter((c) => !c.na);
  const g = await runRounds(live, { alg, size, ...settings[size] });
  const rows = cases.map((c) => (c.na ? toRow(c) : g.rows.get(c)));
  const other = g.otherCpuPercent;
  for (const r of rows) r.otherCpuPercent = other;
  for (const r of rows) if (r.state === 'errored') console.error(`  ERROR ${r.alg} ${r.sizeLabel} ${r.op} ${r.impl} ${r.api}: ${r.error}`);
  inp.key.dispose();
  for (const k of inp.tierKeys ?? []) k.dispose();
  return { rows, timerOverheadMs: g.timerOverheadMs, seconds: g.seconds, other };
}

/** How many progress steps runSuite takes for these sections (bench/run.mjs counts them across Node versions). */
export function suiteSteps(profile, sections) {
  return sections.reduce((n, s) => n + (s === 'aead' ? plan(profile).length + 2 : s === 'wasm' ? 2 + (profile === 'ci' ? 0 : 1) : 1), 0);
}

/**
 * Runs `sections` on this Node with `profile` ('full' | 'quick' | 'ci');
 * step(label) is called before each step (progress). Returns the run:
 * { machine, config, rows, targets, eventLoop, chunked, wasm, keyring, hsm, kms, metrics }.
 *
 * @param {{ profile?: string, sections?: string[], step?: (label: string) => void }} [opts]
 */
export async function runSuite({ profile = 'full', sections = SECTIONS, step = () => {} } = {}) {
  const quick = profile !== 'full';
  const settings = SETTINGS[profile];
  const runs = (s) => sections.includes(s);
  const started = performance.now();
  const cpu0 = cpuSnapshot();
  const machine = {
    date: new Date().toISOString(),
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
    versions: {
      tinybench: pkgVersion('tinybench'),
      '@noble/ciphers': pkgVersion('@noble/ciphers'),
      'sodium-native': pkgVersion('sodium-native'),
      'libsodium-wrappers': pkgVersion('libsodium-wrappers'),
    },
    exposeGc: typeof global.gc === 'function',
  };
  if (!machine.exposeGc) console.warn('note: run with node --expose-gc so the bench can collect garbage between tasks');
  console.log(
    `tessera bench (${profile}) on Node ${machine.node} (OpenSSL ${machine.openssl}): ${machine.cpus}x ${machine.cpuModel}, load ${machine.loadavgStart.map((x) => x.toFixed(2)).join(' ')}`,
  );
  if (machine.loadavgStart[0] > 0.5 * machine.cpus) console.warn('warning: the machine is busy (1-min load average); ratios will be noisy');

  const rows = [];
  let timerOverheadMs, eventLoop, alloc, chunked, wasm, keyring, hsm, kms, metrics;
  if (runs('aead')) {
    for (const [alg, size, opts] of plan(profile)) {
      step(`aead ${alg} ${sizeLabel(size)}`);
      const g = await runGroup(alg, size, opts, settings);
      rows.push(...g.rows);
      timerOverheadMs ??= g.timerOverheadMs;
      console.log(`    ${g.rows.length} cases x ${ROUNDS} rounds in ${g.seconds.toFixed(1)} s (other processes: ${g.other}% CPU)`);
      global.gc?.();
    }
    addRatios(rows);
    step('aead: event loop during 64 MiB key.sealAsync vs node:crypto sync seal');
    const inp = makeInputs(AES, 64 * MiB);
    eventLoop = await measureEventLoop({ key: inp.key, pt: inp.pt, aad: inp.aad, keyBytes: inp.keyBytes, asyncRuns: quick ? 8 : 20, nodeRuns: quick ? 3 : 5 });
    inp.key.dispose();
    global.gc?.();
    step('aead: allocating one-shots (key.seal/open) in a service loop, 64 KiB / 1 MiB / 16 MiB');
    alloc = await runAlloc({ quick });
    global.gc?.();
  }
  if (runs('chunked')) {
    step(`chunked: Cobblestone-256 buffers, file, event loop, thread sweep${quick ? ' (no 1 GiB buffers, 256 MiB file)' : ''}`);
    chunked = await runChunked({ quick, ci: profile === 'ci' });
    console.log(`    chunked section: ${chunked.durationS.toFixed(1)} s`);
  }
  if (runs('wasm')) {
    wasm = await runWasm({ quick, browser: profile !== 'ci', step });
    console.log(`    wasm section: ${wasm.durationS.toFixed(1)} s`);
  }
  if (runs('keyring')) {
    step('keyring: ring.encrypt / encryptFields / ring.decrypt of 64 B fields');
    keyring = await runKeyring({ quick });
    global.gc?.();
  }
  if (runs('hsm')) {
    const why = hsmUnavailable();
    step(`hsm: PKCS#11 wrap/unwrap (pool 1, 2, 4) and keyring encrypt with an HSM KEK${why ? `: not run (${why})` : ''}`);
    if (why && profile === 'ci') throw new Error(`hsm section: ${why}`);
    hsm = await runHsm({ quick });
  }
  if (runs('kms')) {
    const why = kmsUnavailable();
    step(`kms: keyring encrypt with an AWS KMS KEK (SDK client, protocol server) vs a local KEK${why ? `: not run (${why})` : ''}`);
    if (why && profile === 'ci') throw new Error(`kms section: ${why}`);
    kms = await runKms({ quick });
  }
  if (runs('metrics')) {
    const why = metricsUnavailable();
    step(`metrics: keyring encrypt with the Prometheus binding bound vs unbound${why ? `: not run (${why})` : ''}`);
    if (why && profile === 'ci') throw new Error(`metrics section: ${why}`);
    metrics = await runMetrics({ quick });
  }

  const targets = [
    ...(runs('aead') ? checkTargets(rows, eventLoop) : []),
    ...(alloc ? allocTargets(alloc) : []),
    ...(hsm && !hsm.skipped ? hsmTargets(hsm) : []),
    ...(kms && !kms.skipped ? kmsTargets(kms) : []),
    ...(metrics && !metrics.skipped ? metricsTargets(metrics) : []),
    ...(chunked ? chunkedTargets(chunked) : []),
    ...(wasm ? wasmTargets(wasm) : []),
    ...(keyring ? keyringTargets(keyring) : []),
  ];
  const durationS = (performance.now() - started) / 1000;
  machine.loadavgEnd = os.loadavg();
  machine.otherProcessesCpuPercent = +otherCpuPercent(cpu0, cpuSnapshot()).toFixed(1);
  if (machine.otherProcessesCpuPercent > 10)
    console.warn(`warning: other processes used ${machine.otherProcessesCpuPercent}% of the machine's CPU during the run`);
  return {
    machine,
    config: {
      profile,
      quick,
      sections,
      rounds: ROUNDS,
      timestampProvider: 'hrtimeNow',
      subtractTimerOverhead: true,
      timerOverheadNs: timerOverheadMs === undefined ? undefined : timerOverheadMs * 1e6,
      settings,
      durationS,
    },
    rows,
    targets,
    eventLoop,
    alloc,
    chunked,
    wasm,
    keyring,
    hsm,
    kms,
    metrics,
  };
}
