// Turns tinybench task results into rows with same-run ratios, checks the
// performance targets (reported, not enforced: CI enforces bench/floors.json)
// and writes the markdown report of a result set (bench/run.mjs).
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

import { allocMarkdown } from './alloc.mjs';
import { chunkedMarkdown } from './chunked-report.mjs';
import { keyringMarkdown } from './keyring.mjs';
import { wasmMarkdown } from './wasm-report.mjs';

// Busy CPU time of the whole machine minus this process and the processes it
// started (bench children, chromium): how much other work (a compiler, a test
// run) shared the cores with the benchmark.
export function cpuSnapshot() {
  let busy = 0,
    total = 0;
  for (const { times: t } of os.cpus()) {
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    total += all;
    busy += all - t.idle;
  }
  const own = process.cpuUsage();
  return { busy, total, own: (own.user + own.system) / 1000 + descendantsCpuMs() };
}
export function otherCpuPercent(a, b) {
  const total = b.total - a.total;
  return total > 0 ? Math.max(0, (100 * (b.busy - a.busy - (b.own - a.own))) / total) : 0;
}

/**
 * CPU time (ms) of this process's descendants, Linux /proc: the live ones
 * (utime + stime + the reaped children they account for) plus the children
 * this process reaped itself. 0 where /proc is missing.
 */
function descendantsCpuMs() {
  const TICK_MS = 10; // USER_HZ = 100
  const stat = (pid) => {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // f[0] = state (field 3)
      return { ppid: +f[1], self: +f[11] + +f[12], children: +f[13] + +f[14] };
    } catch {
      return undefined;
    }
  };
  const me = stat(process.pid);
  if (!me) return 0;
  let pids;
  try {
    pids = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return 0;
  }
  const kids = new Map();
  const info = new Map();
  for (const pid of pids) {
    const st = stat(pid);
    if (!st) continue;
    info.set(pid, st);
    if (!kids.has(st.ppid)) kids.set(st.ppid, []);
    kids.get(st.ppid).push(pid);
  }
  let ticks = me.children;
  const stack = [...(kids.get(process.pid) ?? [])];
  while (stack.length) {
    const pid = stack.pop();
    const st = info.get(pid);
    ticks += st.self + st.children;
    stack.push(...(kids.get(pid) ?? []));
  }
  return ticks * TICK_MS;
}

export function sizeLabel(n) {
  if (n >= 2 ** 30 && n % 2 ** 30 === 0) return `${n / 2 ** 30} GiB`;
  if (n >= 1 << 20) return `${n / (1 << 20)} MiB`;
  if (n >= 1024) return `${n / 1024} KiB`;
  return `${n} B`;
}

// The extended-nonce algorithms have no node:crypto counterpart; their ratio
// is against node:crypto running the base algorithm (marked †).
const BASE_ALG = { 'xchacha20-poly1305': 'chacha20-poly1305', 'xaes-256-gcm': 'aes-256-gcm' };

/** One row from a finished case (tinybench Task in c.task). */
export function toRow(c) {
  const row = { alg: c.alg, size: c.size, sizeLabel: sizeLabel(c.size), op: c.op, impl: c.impl, api: c.api, perCall: c.perCall ?? 1 };
  if (c.na) return { ...row, state: 'n/a', note: c.na };
  const r = c.task.result;
  if (r.state !== 'completed') return { ...row, state: r.state, error: r.error?.message };
  const lat = r.latency;
  // ops/s from tinybench's mean latency (= runs / total time): unlike the mean
  // of per-sample throughputs it is not inflated by short samples, and it
  // charges GC pauses to the code that caused them.
  const callsPerSec = 1000 / lat.mean;
  const opsPerSec = callsPerSec * row.perCall;
  return {
    ...row,
    state: r.state,
    baseline: !!c.baseline,
    sodiumBase: !!c.sodiumBase,
    pair: c.pair,
    opsPerSec,
    MBps: (opsPerSec * c.size) / 1e6,
    rme: lat.rme,
    samples: lat.samplesCount,
    latencyNs: { mean: lat.mean * 1e6, p50: lat.p50 * 1e6, p99: lat.p99 * 1e6, min: lat.min * 1e6, max: lat.max * 1e6 },
    throughputStats: { mean: r.throughput.mean * row.perCall, p50: r.throughput.p50 * row.perCall, rme: r.throughput.rme },
  };
}

/** The round with the median ops/s stands for the row; the others are kept. */
export function mergeRounds(rounds) {
  const ok = rounds.filter((r) => r.opsPerSec !== undefined).sort((a, b) => a.opsPerSec - b.opsPerSec);
  if (ok.length === 0) return rounds[0];
  const med = ok[(ok.length - 1) >> 1];
  return {
    ...med,
    rounds: rounds.map((r) => ({ opsPerSec: r.opsPerSec, rme: r.rme, samples: r.samples, state: r.state })),
    samplesTotal: ok.reduce((n, r) => n + r.samples, 0),
  };
}

export function addRatios(rows) {
  for (const row of rows) {
    if (row.opsPerSec === undefined) continue;
    const baseAlg = BASE_ALG[row.alg] ?? row.alg;
    const base = rows.find((b) => b.baseline && b.alg === baseAlg && b.size === row.size && b.op === row.op && b.opsPerSec);
    if (base) {
      row.ratio = row.opsPerSec / base.opsPerSec;
      if (baseAlg !== row.alg) row.ratioNote = `vs node:crypto ${baseAlg}`;
    }
    if (row.impl === 'tessera' && row.pair) {
      const s = rows.find((b) => b.sodiumBase && b.alg === row.alg && b.size === row.size && b.op === row.op && b.pair === row.pair && b.opsPerSec);
      if (s) row.ratioSodium = row.opsPerSec / s.opsPerSec;
    }
  }
  return rows;
}

const find = (rows, alg, size, op, api) =>
  rows.find((r) => r.alg === alg && r.size === size && r.op === op && r.impl === 'tessera' && (r.api === api || r.api.startsWith(`${api} `)));

export function checkTargets(rows, eventLoop) {
  const KiB = 1024,
    MiB = 1024 * KiB;
  /** @type {Array<[name: string, alg: string, size: number, op: string, api: string, want: number]>} */
  const spec = [
    ['AES-256-GCM 64 B key.sealInto vs node:crypto', 'aes-256-gcm', 64, 'seal', 'key.sealInto', 10],
    ['AES-256-GCM 64 B key.seal vs node:crypto', 'aes-256-gcm', 64, 'seal', 'key.seal', 4],
    ['AES-256-GCM 64 B key.sealBatch per message vs node:crypto', 'aes-256-gcm', 64, 'seal', 'key.sealBatch', 15],
    ['AES-256-GCM 64 B raw aead.sealInto vs node:crypto', 'aes-256-gcm', 64, 'seal', 'aead.sealInto', 5],
    ['AES-256-GCM 1 MiB key.seal vs node:crypto', 'aes-256-gcm', MiB, 'seal', 'key.seal', 1.8],
    ['AES-256-GCM 1 MiB key.open vs node:crypto', 'aes-256-gcm', MiB, 'open', 'key.open', 2.5],
    ['AES-256-GCM 64 MiB key.seal vs node:crypto', 'aes-256-gcm', 64 * MiB, 'seal', 'key.seal', 7],
  ];
  /** @type {Array<{ name: string, target: string, value: number | undefined, unit?: string, status: string }>} */
  const out = spec.map(([name, alg, size, op, api, want]) => {
    const r = find(rows, alg, size, op, api);
    const got = r?.ratio;
    return { name, target: `>= ${want}x`, value: got, status: got === undefined ? 'SKIP' : got >= want ? 'PASS' : 'FAIL' };
  });
  for (const [api, label] of [
    ['key.sealInto', 'key.sealInto vs sodium-native randombytes_buf + encrypt'],
    ['aead.sealInto', 'aead.sealInto vs sodium-native encrypt (fixed nonce)'],
  ]) {
    const r = find(rows, 'chacha20-poly1305', 64, 'seal', api);
    const got = r?.ratioSodium;
    out.push({ name: `ChaCha20-Poly1305 64 B ${label}`, target: '>= 1x', value: got, status: got === undefined ? 'SKIP' : got >= 1 ? 'PASS' : 'FAIL' });
  }
  // Own kernels against the openssl tier (same API, same run): OpenSSL 3.0
  // (Node 20) has no VAES GCM, OpenSSL 3.5 (Node 22+) has.
  const ossl30 = process.versions.openssl.startsWith('3.0.');
  const tier = (alg, size, op, t) => {
    const api = op === 'seal' ? 'key.sealInto' : 'key.openInto';
    const a = rows.find((r) => r.impl === `tessera ${t}` && r.alg === alg && r.size === size && r.op === op && r.api === api && r.opsPerSec);
    const b = rows.find((r) => r.impl === 'tessera openssl' && r.alg === alg && r.size === size && r.op === op && r.api === api && r.opsPerSec);
    return a && b ? a.opsPerSec / b.opsPerSec : undefined;
  };
  const tierTarget = (name, v, want) => out.push({ name, target: `>= ${want}x`, value: v, status: v === undefined ? 'SKIP' : v >= want ? 'PASS' : 'FAIL' });
  for (const op of ['seal', 'open']) {
    for (const size of [64, KiB])
      tierTarget(`AES-256-GCM ${sizeLabel(size)} ${op} vaes512 tier vs openssl tier`, tier('aes-256-gcm', size, op, 'vaes512'), 1.2);
    for (const size of [16 * KiB, 64 * KiB, MiB])
      tierTarget(`AES-256-GCM ${sizeLabel(size)} ${op} vaes512 tier vs openssl tier`, tier('aes-256-gcm', size, op, 'vaes512'), ossl30 ? 2.0 : 1.0);
    if (ossl30)
      for (const size of [16 * KiB, MiB])
        tierTarget(`AES-256-GCM ${sizeLabel(size)} ${op} aesni tier vs openssl tier`, tier('aes-256-gcm', size, op, 'aesni'), 1.0);
    for (const size of [16 * KiB, MiB])
      tierTarget(`ChaCha20-Poly1305 ${sizeLabel(size)} ${op} vaes512 tier (AVX-512) vs openssl tier`, tier('chacha20-poly1305', size, op, 'vaes512'), 1.0);
    const into = find(rows, 'aes-256-gcm', MiB, op, op === 'seal' ? 'key.sealInto' : 'key.openInto');
    tierTarget(`AES-256-GCM 1 MiB key.${op}Into vs node:crypto`, into?.ratio, 5);
  }
  const p99 = eventLoop?.sealAsync?.p99;
  out.push({
    name: 'key.sealAsync 64 MiB event-loop delay p99',
    target: '<= 2 ms',
    value: p99,
    unit: 'ms',
    status: p99 === undefined ? 'SKIP' : p99 <= 2 ? 'PASS' : 'FAIL',
  });
  const p99i = eventLoop?.sealIntoAsync?.p99;
  out.push({
    name: 'key.sealIntoAsync 64 MiB (reused output) event-loop delay p99',
    target: '<= 2 ms',
    value: p99i,
    unit: 'ms',
    status: p99i === undefined ? 'SKIP' : p99i <= 2 ? 'PASS' : 'FAIL',
  });
  return out;
}

const int = (n) => Math.round(n).toLocaleString('en-US');
const mbps = (n) => (n >= 100 ? int(n) : n.toFixed(1));
const ratio = (x) => (x === undefined ? '' : `${x.toFixed(2)}x`);
const impl = (r) => `${r.impl} ${r.api}`;
export const fmtTarget = (t) =>
  `${t.status} ${t.name}: ${t.value === undefined ? 'not measured' : t.unit ? `${t.value.toFixed(2)} ${t.unit}` : `${t.value.toFixed(2)}x`} (target ${t.target})`;

function eventLoopLines(el) {
  const n = el.nodeSync;
  const line = (name, a) =>
    `tessera ${name} x${a.runs} (64 MiB, sequential): event-loop delay p50 ${a.p50.toFixed(2)} ms, p99 ${a.p99.toFixed(2)} ms, max ${a.max.toFixed(2)} ms; ` +
    `synchronous submit ${a.submitMs.mean.toFixed(2)} ms mean (max ${a.submitMs.max.toFixed(2)}); ${a.wallMsPerCall.toFixed(1)} ms per call, ${int(a.MBps)} MB/s`;
  return [
    line('key.sealAsync', el.sealAsync),
    ...(el.sealIntoAsync ? [line('key.sealIntoAsync (reused output)', el.sealIntoAsync)] : []),
    `node:crypto sync seal x${n.runs} (64 MiB): blocks the event loop ${n.blockingMs.mean.toFixed(1)} ms per call (min ${n.blockingMs.min.toFixed(1)}, max ${n.blockingMs.max.toFixed(1)}); ` +
      `histogram p50 ${n.p50.toFixed(2)} ms, p99 ${n.p99.toFixed(2)} ms, max ${n.max.toFixed(2)} ms`,
  ];
}

function markdown(result) {
  const { machine, rows, targets, eventLoop, alloc, config, chunked, wasm, keyring } = result;
  const L = [];
  L.push(
    `Run ${machine.date}: ${machine.cpus}x ${machine.cpuModel}, Node ${machine.node}, OpenSSL ${machine.openssl}, sections ${config.sections.join(', ')} in ${config.durationS.toFixed(0)} s ` +
      `(other processes used ${machine.otherProcessesCpuPercent}% of the CPU during the run; addon built ${machine.tesseraAddonBuilt ?? 'n/a'}).` +
      `${config.quick ? ' Short sampling (quick / ci profile).' : ''} Ratios are against node:crypto measured in the same run unless a column says otherwise.`,
  );
  const lat = rows.filter((r) => r.size === 64 && r.op === 'seal' && r.latencyNs);
  if (lat.length) {
    L.push('');
    L.push('Latency of one 64 B seal (tinybench samples; p50 / p99 of the median round):');
    L.push('');
    L.push('| algorithm | implementation | p50 | p99 |');
    L.push('|---|---|--:|--:|');
    for (const r of lat)
      L.push(`| ${r.alg} | ${impl(r).replace(/\|/g, '\\|')} | ${(r.latencyNs.p50 / 1000).toFixed(2)} µs | ${(r.latencyNs.p99 / 1000).toFixed(2)} µs |`);
  }
  if (rows.length) {
    L.push('');
    L.push('| algorithm | size | op | implementation | ops/s | MB/s | ratio vs node:crypto |');
    L.push('|---|---|---|---|--:|--:|--:|');
    for (const r of rows) {
      const ops = r.opsPerSec !== undefined ? int(r.opsPerSec) : (r.note ?? r.error ?? r.state);
      const mb = r.MBps !== undefined ? mbps(r.MBps) : r.note ? 'n/a' : '';
      const rat = r.ratio !== undefined ? `**${ratio(r.ratio)}**${r.ratioNote ? ' †' : ''}` : r.baseline ? '1.00x' : r.note ? 'n/a' : '';
      L.push(`| ${r.alg} | ${r.sizeLabel} | ${r.op} | ${impl(r).replace(/\|/g, '\\|')} | ${ops} | ${mb} | ${r.baseline ? '1.00x (baseline)' : rat} |`);
    }
    L.push('');
    L.push(
      '† no node:crypto equivalent; ratio against node:crypto running the base algorithm (chacha20-poly1305 / aes-256-gcm) at the same size. ' +
        `Each row is the median of ${config.rounds} tinybench rounds; ops/s is tinybench's mean latency inverted (timer overhead subtracted). ` +
        'Batch rows count messages, not calls. MB/s counts plaintext bytes (10^6).',
    );
  }
  const sod = rows.filter((r) => r.ratioSodium !== undefined);
  if (sod.length) {
    L.push('');
    L.push('ChaCha20-Poly1305 against sodium-native (same call shape):');
    L.push('');
    L.push('| size | op | tessera | sodium-native shape | ratio vs sodium-native |');
    L.push('|---|---|---|---|--:|');
    for (const r of sod) {
      const s = rows.find((b) => b.sodiumBase && b.size === r.size && b.op === r.op && b.pair === r.pair);
      L.push(`| ${r.sizeLabel} | ${r.op} | ${r.api} (${int(r.opsPerSec)} ops/s) | ${s.api} (${int(s.opsPerSec)} ops/s) | ${ratio(r.ratioSodium)} |`);
    }
  }
  if (eventLoop) {
    L.push('');
    L.push('Event loop during 64 MiB AES-256-GCM seals (`perf_hooks.monitorEventLoopDelay({ resolution: 1 })`):');
    L.push('');
    for (const l of eventLoopLines(eventLoop)) L.push(`- ${l}`);
  }
  if (alloc) {
    L.push('');
    L.push(allocMarkdown(alloc));
  }
  if (chunked) {
    L.push('');
    L.push(chunkedMarkdown(chunked, targets));
  }
  if (wasm) {
    L.push('');
    L.push(wasmMarkdown(wasm, targets));
  }
  if (keyring) {
    L.push('');
    L.push(
      keyringMarkdown(
        keyring,
        targets.filter((t) => t.name.startsWith('Keyring ')),
      ),
    );
  }
  L.push('');
  L.push('Targets:');
  L.push('');
  for (const t of targets) L.push(`- ${fmtTarget(t)}`);
  L.push('');
  return L.join('\n');
}

const pct = (v) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}%`;

/**
 * The headline table (docs/BENCHMARKS.md): per Node version and AEAD size,
 * seal through `key.sealInto`, with same-run ratios against node:crypto, the
 * openssl kernel tier, sodium-native and @noble/ciphers, and the WASM module's
 * `AeadKey.seal` against @noble/ciphers.
 */
export function headlineMarkdown(set, ratiosOf) {
  const L = [];
  L.push(
    '| Node | AEAD | size | `key.sealInto` MB/s | vs node:crypto | vaes512 tier vs openssl tier | vs sodium-native | vs @noble/ciphers | wasm simd vs @noble/ciphers |',
  );
  L.push('|---|---|---|--:|--:|--:|--:|--:|--:|');
  for (const run of set.runs) {
    const rat = new Map(ratiosOf(run).map((r) => [r.id, r.value]));
    const node = run.machine.node.replace(/^v/, '').split('.')[0];
    for (const r of run.rows ?? []) {
      if (r.impl !== 'tessera' || r.api !== 'key.sealInto' || r.size > 1 << 20) continue;
      const at = `${r.alg} ${r.sizeLabel} seal`;
      const tier = [...rat].find(([id]) => id.startsWith(`${at}: tessera vaes512 key.sealInto / tessera openssl`))?.[1];
      const base = r.alg.startsWith('xaes') ? ' (AES-GCM)' : r.alg.startsWith('xchacha') ? ' (ChaCha)' : '';
      L.push(
        `| ${node} | ${r.alg} | ${r.sizeLabel} | ${mbps(r.MBps)} | ${ratio(r.ratio)}${r.ratio !== undefined ? base : ''} | ${ratio(tier)} | ${ratio(r.ratioSodium ?? rat.get(`${at}: tessera native key.sealInto / sodium-native (message)`))} | ${ratio(rat.get(`${at}: tessera native key.sealInto / @noble/ciphers`))} | ${ratio(rat.get(`${at}: tessera wasm simd AeadKey.seal / @noble/ciphers`))} |`,
      );
    }
  }
  return L.join('\n');
}

/**
 * report.md of a result set: machine, charts, floors, then each Node version's tables.
 * @param {any} set
 * @param {{ charts?: string[], floors?: ReturnType<typeof import('./floors.mjs').checkFloors>,
 *   compare?: { file?: string, commit: string, date: string, changes: ReturnType<typeof import('./ratios.mjs').compareSets> },
 *   ratiosOf?: typeof import('./ratios.mjs').ratiosOf }} [parts]
 */
export function setMarkdown(set, { charts = [], floors, compare, ratiosOf } = {}) {
  const L = [];
  const nodes = set.runs.map((r) => `Node ${r.machine.node} (OpenSSL ${r.machine.openssl})`).join(' and ');
  L.push(`<!-- generated by bench/run.mjs (${set.profile}) on ${set.date}; do not edit -->`);
  L.push(`# tessera benchmark (${set.profile} run)`);
  L.push('');
  L.push(
    `Measured ${set.date} on ${set.machine.cores}x ${set.machine.cpuModel} (${set.machine.platform}, ${set.machine.totalMemGiB} GiB; CPU flags: ${set.machine.flags.join(' ')}), ` +
      `${nodes}, tessera ${set.commit}. The same addon binary runs under every Node version. Every ratio compares two things measured in the same process and run; ` +
      `absolute figures are for orientation only (this is a shared 2-core VM).`,
  );
  if (ratiosOf && set.runs.some((r) => r.rows?.length)) {
    L.push('');
    L.push(headlineMarkdown(set, ratiosOf));
  }
  if (charts.length) {
    L.push('');
    for (const c of charts) L.push(`![${c.replace(/\.svg$/, '')}](${c})`);
  }
  if (floors) {
    const bad = floors.checked.filter((f) => !f.ok);
    L.push('');
    L.push(`## Floors`);
    L.push('');
    L.push(
      `${floors.checked.length - bad.length} of ${floors.checked.length} floored ratios at or above their floor (bench/floors.json).${floors.notes.map((n) => ` ${n}.`).join('')}`,
    );
    if (floors.checked.length) {
      L.push('');
      L.push('| Node | ratio | measured now | floor | when set |');
      L.push('|---|---|--:|--:|--:|');
      for (const f of floors.checked)
        L.push(
          `| ${f.node} | ${f.id} | ${f.value === undefined ? 'not measured' : ratio(f.value)} | ${ratio(f.floor)}${f.ok ? '' : ' **FAIL**'} | ${ratio(f.measured)} |`,
        );
    }
  }
  if (compare) {
    L.push('');
    L.push(`## Change against ${compare.date} (${compare.commit})`);
    L.push('');
    L.push('| Node | ratio | before | now | change |');
    L.push('|---|---|--:|--:|--:|');
    for (const c of compare.changes) L.push(`| ${c.node} | ${c.id} | ${ratio(c.before)} | ${ratio(c.after)} | ${pct(c.change)} |`);
  }
  for (const run of set.runs) {
    L.push('');
    L.push(`## Node ${run.machine.node} (OpenSSL ${run.machine.openssl})`);
    L.push('');
    L.push(markdown(run));
  }
  return L.join('\n') + '\n';
}
