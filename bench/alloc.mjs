// Allocating one-shots in a service loop: AeadKey.seal/open against
// node:crypto and against sealInto/openInto a reused buffer (the engine's
// ceiling), AES-256-GCM at 64 KiB, 1 MiB and 16 MiB.
//
// tinybench's rows (bench/suite.mjs) call seal in a loop that never yields.
// A service yields to its event loop between requests, and that is when
// Node runs the finalizers that return output memory for reuse (docs/API.md
// "Output memory"). Here every case runs in a loop that turns the event loop
// once per ~4 MiB of output (at least once per call), for every
// implementation alike; cases are interleaved, a row is the median pass.
import { setImmediate as turn } from 'node:timers/promises';

import { makeInputs, nodeOpen, nodeSeal, tessera as T } from './impls.mjs';

const KiB = 1024,
  MiB = 1024 * KiB;
const sizeLabel = (n) => (n >= MiB ? `${n / MiB} MiB` : `${n / KiB} KiB`);
export const ALLOC_SIZES = [64 * KiB, MiB, 16 * MiB];
const TURN_BYTES = 4 * MiB;
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- written, never read: holds each benchmarked call's result so the optimiser cannot drop the work
let sink;

const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

function cases(inp) {
  const { key, keyBytes, pt, aad, alg } = inp;
  const sealed = key.seal(pt, { aad });
  const nsealed = nodeSeal(alg, keyBytes, pt, aad);
  const out = Buffer.alloc(key.sealedLength(pt.length));
  const back = Buffer.alloc(pt.length);
  return [
    { op: 'seal', api: 'key.seal', fn: () => (sink = key.seal(pt, { aad })) },
    { op: 'seal', api: 'key.sealInto (reused output)', into: true, fn: () => (sink = key.sealInto(out, pt, { aad })) },
    { op: 'seal', api: 'node:crypto createCipheriv + concat', node: true, fn: () => (sink = nodeSeal(alg, keyBytes, pt, aad)) },
    { op: 'open', api: 'key.open', fn: () => (sink = key.open(sealed, { aad })) },
    { op: 'open', api: 'key.openInto (reused output)', into: true, fn: () => (sink = key.openInto(back, sealed, { aad })) },
    { op: 'open', api: 'node:crypto createDecipheriv', node: true, fn: () => (sink = nodeOpen(alg, keyBytes, nsealed, aad)) },
  ];
}

/** Calls per pass: ~passMs of work for the slowest case, measured once. */
async function calibrate(cs, size, passMs) {
  let worst = 0;
  for (const c of cs) {
    c.fn();
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) c.fn();
    worst = Math.max(worst, (performance.now() - t0) / 3);
  }
  return Math.max(4, Math.min(20000, Math.round(passMs / Math.max(worst, 1e-3))));
}

export async function runAlloc({ quick = false } = {}) {
  /** @type {Array<{ [field: string]: any, ratioVsNode?: number, ratioVsInto?: number }>} */
  const rows = [];
  const passes = quick ? 5 : 11;
  for (const size of ALLOC_SIZES) {
    const inp = makeInputs('aes-256-gcm', size);
    const cs = cases(inp);
    const n = await calibrate(cs, size, quick ? 60 : 150);
    const every = Math.max(1, Math.floor(TURN_BYTES / size));
    const times = new Map(cs.map((c) => [c, []]));
    for (let pass = -1; pass < passes; pass++) {
      for (const c of pass % 2 === 0 ? cs : [...cs].reverse()) {
        await turn();
        const t0 = performance.now();
        for (let i = 0; i < n; i++) {
          c.fn();
          if ((i + 1) % every === 0) await turn();
        }
        if (pass >= 0) times.get(c).push((performance.now() - t0) / n);
      }
    }
    for (const c of cs) {
      const ms = median(times.get(c));
      rows.push({
        alg: 'aes-256-gcm',
        size,
        sizeLabel: sizeLabel(size),
        op: c.op,
        api: c.api,
        node: !!c.node,
        into: !!c.into,
        opsPerSec: 1000 / ms,
        MBps: size / 1e6 / (ms / 1000),
        callsPerPass: n,
        turnEvery: every,
        passes,
      });
    }
    for (const r of rows.filter((x) => x.size === size && !x.node && !x.into)) {
      const node = rows.find((x) => x.size === size && x.op === r.op && x.node);
      const into = rows.find((x) => x.size === size && x.op === r.op && x.into);
      r.ratioVsNode = r.opsPerSec / node.opsPerSec;
      r.ratioVsInto = r.opsPerSec / into.opsPerSec;
    }
    inp.key.dispose();
    sink = null;
    global.gc?.();
  }
  return { rows, turnBytes: TURN_BYTES, outputMemory: T.outputMemory() };
}

/** The allocating-API targets: >= 3x node:crypto and >= 70% of the Into call, per size and op. */
export function allocTargets(alloc) {
  const out = [];
  for (const r of alloc.rows.filter((x) => x.ratioVsNode !== undefined)) {
    out.push({
      name: `AES-256-GCM ${r.sizeLabel} ${r.api} vs node:crypto (service loop)`,
      target: '>= 3x',
      value: r.ratioVsNode,
      status: r.ratioVsNode >= 3 ? 'PASS' : 'FAIL',
    });
    out.push({
      name: `AES-256-GCM ${r.sizeLabel} ${r.api} vs ${r.api}Into a reused buffer (service loop)`,
      target: '>= 70%',
      value: 100 * r.ratioVsInto,
      unit: '%',
      status: r.ratioVsInto >= 0.7 ? 'PASS' : 'FAIL',
    });
  }
  return out;
}

export function allocMarkdown(alloc) {
  const L = [];
  L.push('### Allocating one-shots in a service loop');
  L.push('');
  L.push(
    `AES-256-GCM \`key.seal\` / \`key.open\` against node:crypto and against \`sealInto\` / \`openInto\` a reused buffer, in a loop that turns the event loop once per ${alloc.turnBytes / MiB} MiB of output (at least once per call) for every implementation alike, as a service does between requests; cases interleaved, median of passes (bench/alloc.mjs). Output memory after the run: ${JSON.stringify(alloc.outputMemory)}.`,
  );
  L.push('');
  L.push('| size | op | implementation | MB/s | vs node:crypto | vs the Into call | calls per pass (turn every) |');
  L.push('|---|---|---|--:|--:|--:|--:|');
  const f = (v) => (v === undefined ? '' : `**${v.toFixed(2)}x**`);
  for (const r of alloc.rows) {
    L.push(
      `| ${r.sizeLabel} | ${r.op} | ${r.api} | ${Math.round(r.MBps).toLocaleString('en-US')} | ${r.node ? '1.00x (baseline)' : f(r.ratioVsNode)} | ${r.ratioVsInto === undefined ? '' : `**${(100 * r.ratioVsInto).toFixed(0)}%**`} | ${r.callsPerPass} (${r.turnEvery}) |`,
    );
  }
  L.push('');
  return L.join('\n');
}
