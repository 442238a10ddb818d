// SVG charts of a result set, rendered in Node with no browser: Vega-Lite
// specs compiled to Vega and rendered headless (renderer 'none', toSVG).
// Vega-Lite was chosen over a hand-written SVG writer: a maintained grammar
// with log scales, facets and legends, at ~25 MB of dev dependencies.
//   throughput-node<major>.svg  MB/s by message size per algorithm (log-log),
//                               one line per backend or peer (seal)
//   ratio.svg                   tessera native vs node:crypto per size, per Node version
//   event-loop.svg              event-loop delay during back-to-back 64 MiB
//                               Cobblestone async calls, per thread count and Node version
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as vega from 'vega';
import * as vl from 'vega-lite';

import { nodeMajor } from './ratios.mjs';
import { sizeLabel } from './report.mjs';

const ALGS = ['aes-256-gcm', 'chacha20-poly1305', 'xchacha20-poly1305', 'xaes-256-gcm'];
const SIZES = [64, 1024, 16384, 1 << 20];

async function render(spec) {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** One point per (series, alg, size) of the run's seal or open rows. */
export function throughputPoints(run, op = 'seal') {
  const pts = [];
  const push = (series, r) => {
    if (r?.MBps && ALGS.includes(r.alg) && SIZES.includes(r.size)) pts.push({ series, alg: r.alg, size: r.size, MBps: r.MBps });
  };
  const rows = run.rows ?? [];
  const nat = (api) => rows.filter((r) => r.impl === 'tessera' && r.op === op && r.api === api);
  for (const r of nat(`key.${op}Into`)) push('tessera native (into a buffer)', r);
  for (const r of nat(`key.${op}`)) push('tessera native', r);
  for (const r of rows.filter((x) => x.op === op && x.impl === 'node:crypto')) push('node:crypto', r);
  for (const r of rows.filter((x) => x.op === op && x.impl === 'sodium-native' && x.pair === 'message')) push('sodium-native', r);
  for (const r of rows.filter((x) => x.op === op && x.impl === '@noble/ciphers')) push('@noble/ciphers', r);
  const w = run.wasm?.node ?? {};
  for (const flavor of ['simd', 'scalar']) {
    for (const r of (w[flavor]?.rows ?? []).filter((x) => x.op === op)) {
      if (r.role === 'key') push(`tessera wasm ${flavor}`, r);
      if (r.role === 'sodium' && flavor === 'simd') push('libsodium-wrappers', r);
    }
  }
  return pts;
}

function throughputSpec(run) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `AEAD seal throughput, Node ${run.machine.node} (OpenSSL ${run.machine.openssl})`,
      subtitle: `${run.machine.cpus}x ${run.machine.cpuModel}; higher is better`,
    },
    data: { values: throughputPoints(run) },
    facet: { column: { field: 'alg', type: 'nominal', sort: ALGS, title: null } },
    spec: {
      width: 210,
      height: 230,
      layer: [
        {
          mark: { type: 'line', point: true, strokeWidth: 1.5 },
          encoding: {
            x: {
              field: 'size',
              type: 'quantitative',
              scale: { type: 'log', base: 2, domain: [48, 1.5 * (1 << 20)] },
              axis: { values: SIZES, labelExpr: "datum.value >= 1048576 ? '1 MiB' : datum.value >= 1024 ? datum.value / 1024 + ' KiB' : datum.value + ' B'" },
              title: 'message size',
            },
            y: { field: 'MBps', type: 'quantitative', scale: { type: 'log' }, title: 'MB/s (log)' },
            color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 4, labelLimit: 260 } },
          },
        },
      ],
    },
  };
}

function ratioSpec(set) {
  const values = [];
  for (const run of set.runs) {
    for (const r of run.rows ?? []) {
      if (r.impl !== 'tessera' || r.ratio === undefined || r.ratioNote) continue;
      if (!['key.sealInto', 'key.openInto', 'key.seal', 'key.open'].includes(r.api) || !SIZES.includes(r.size)) continue;
      values.push({
        node: `Node ${nodeMajor(run)}`,
        case: `${r.alg} ${sizeLabel(r.size)}`,
        api: r.api,
        ratio: r.ratio,
        order: ALGS.indexOf(r.alg) * 10 + SIZES.indexOf(r.size),
      });
    }
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'tessera native vs node:crypto (same-run ratio, log scale)',
      subtitle: `${set.machine.cores}x ${set.machine.cpuModel}; bars start at 1 = as fast as node:crypto written as users write it`,
    },
    data: { values },
    facet: { row: { field: 'api', type: 'nominal', title: null, sort: ['key.sealInto', 'key.seal', 'key.openInto', 'key.open'] } },
    spec: {
      width: 620,
      height: 120,
      layer: [
        {
          mark: 'bar',
          encoding: {
            x: { field: 'case', type: 'nominal', sort: { field: 'order' }, title: null, axis: { labelAngle: -30, labelLimit: 220 } },
            xOffset: { field: 'node' },
            y: { field: 'ratio', type: 'quantitative', scale: { type: 'log' }, title: 'x node:crypto' },
            y2: { datum: 1 },
            color: { field: 'node', type: 'nominal', title: null, legend: { orient: 'top' } },
          },
        },
        { mark: { type: 'rule', color: '#444', strokeDash: [4, 3] }, encoding: { y: { datum: 1 } } },
      ],
    },
  };
}

function eventLoopSpec(set) {
  const values = [];
  for (const run of set.runs) {
    for (const e of run.chunked?.eventLoop?.runs ?? []) {
      const what = `${(e.workload ?? 'async buffers').split(' (')[0]}, ${e.sizeLabel ?? '64 MiB'}, ${e.threads} thread${e.threads === 1 ? '' : 's'}`;
      for (const stat of ['p50', 'p99', 'max']) values.push({ node: `Node ${nodeMajor(run)}`, threads: what, stat, ms: e[stat] });
    }
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Event-loop delay while Cobblestone-256 workloads run back to back',
      subtitle: 'monitorEventLoopDelay, 1 ms resolution (an idle loop reads ~1 ms); targets p99 <= 2 ms, max <= 5 ms; lower is better',
    },
    data: { values },
    facet: { column: { field: 'node', type: 'nominal', title: null } },
    spec: {
      width: 260,
      height: 200,
      mark: 'bar',
      encoding: {
        x: { field: 'threads', type: 'nominal', title: null, axis: { labelAngle: -40, labelLimit: 260 } },
        xOffset: { field: 'stat', sort: ['p50', 'p99', 'max'] },
        y: { field: 'ms', type: 'quantitative', title: 'delay (ms)' },
        color: { field: 'stat', type: 'nominal', sort: ['p50', 'p99', 'max'], title: null, legend: { orient: 'top' } },
      },
    },
  };
}

/** Writes the charts of a result set into dir; returns the file names. */
export async function writeCharts(set, dir) {
  const files = [];
  const put = async (name, spec) => {
    writeFileSync(join(dir, name), await render(spec));
    files.push(name);
  };
  for (const run of set.runs) if (run.rows?.length || run.wasm) await put(`throughput-node${nodeMajor(run)}.svg`, throughputSpec(run));
  if (set.runs.some((r) => r.rows?.some((x) => x.ratio !== undefined))) await put('ratio.svg', ratioSpec(set));
  if (set.runs.some((r) => r.chunked?.eventLoop?.runs?.length)) await put('event-loop.svg', eventLoopSpec(set));
  return files;
}
