/**
 * tessera/metrics (lib/metrics/): the event channels carry exactly the
 * operations a keyring performs, with bounded labels only; the Prometheus
 * binding (prom-client) and the OpenTelemetry binding (SDK MeterProvider +
 * its Prometheus exporter) count them by the amounts the test causes; and
 * the example service (examples/metrics-server.mjs) serves them over real
 * HTTP, through both bindings, and stops cleanly on SIGTERM.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as dc from 'node:diagnostics_channel';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, test } from 'vitest';

import { root, T } from './tessera';

const require = createRequire(import.meta.url);
const M = require(path.join(root, 'dist/cjs/metrics/index.js')) as typeof import('../dist/cjs/metrics/index');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-metrics-'));
let n = 0;
const ringOf = () => T.Keyring.open(new T.FileKeyStore(path.join(dir, `ring-${++n}.json`)), { kek: T.kek.fromKey(randomBytes(32)) });
const flip = (m: Uint8Array) => {
  const b = Uint8Array.from(m);
  b[b.length - 1]! ^= 1;
  return b;
};

/** Prometheus text exposition (https://prometheus.io/docs/instrumenting/exposition_formats/) as name{labels} -> value. */
export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

/** Label values of every sample. */
function labelValues(samples: Map<string, number>): string[] {
  const vals: string[] = [];
  for (const k of samples.keys()) for (const m of k.matchAll(/="((?:[^"\\]|\\.)*)"/g)) vals.push(m[1]!);
  return vals;
}

const sum = (s: Map<string, number>, name: string, labels: Record<string, string> = {}) => {
  let t = 0;
  for (const [k, v] of s) {
    if (!k.startsWith(`${name}{`) && k !== name) continue;
    if (Object.entries(labels).every(([l, val]) => k.includes(`${l}="${val}"`))) t += v;
  }
  return t;
};

/** Histogram buckets of `name` are cumulative, end at +Inf and +Inf equals _count. */
function checkHistogram(s: Map<string, number>, name: string) {
  const series = new Map<string, [number, number][]>();
  for (const [k, v] of s) {
    const m = new RegExp(`^${name}_bucket\\{(.*)le="([^"]+)"(.*)\\}$`).exec(k);
    if (!m) continue;
    const key = `${m[1]}${m[3]}`;
    const le = m[2] === '+Inf' ? Infinity : Number(m[2]);
    if (!series.has(key)) series.set(key, []);
    series.get(key)!.push([le, v]);
  }
  expect(series.size).toBeGreaterThan(0);
  for (const [key, buckets] of series) {
    buckets.sort((a, b) => a[0] - b[0]);
    expect(buckets.at(-1)![0]).toBe(Infinity);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]![1]).toBeGreaterThanOrEqual(buckets[i - 1]![1]);
    expect(buckets.length).toBeGreaterThan(5);
    const count = [...s].find(
      ([k]) =>
        k.startsWith(`${name}_count`) &&
        k
          .replace(/^[^{]*\{|\}$/g, '')
          .split(',')
          .every((p) => key.replace(/,$/, '').includes(p)),
    )?.[1];
    expect(count).toBe(buckets.at(-1)![1]);
  }
}

afterEach(() => {
  for (const c of Object.values(M.CHANNELS)) expect(dc.hasSubscribers(c), `${c} left subscribed`).toBe(false);
});

describe('metrics events (node:diagnostics_channel)', () => {
  test('a keyring publishes one event per operation, with bounded fields only', async () => {
    const ring = await ringOf();
    const ops: Record<string, unknown>[] = [];
    const keks: Record<string, unknown>[] = [];
    const keysets: Record<string, unknown>[] = [];
    const onOp = (m: unknown) => ops.push(m as Record<string, unknown>);
    const onKek = (m: unknown) => keks.push(m as Record<string, unknown>);
    const onKeyset = (m: unknown) => keysets.push(m as Record<string, unknown>);
    dc.subscribe(M.CHANNELS.op, onOp);
    dc.subscribe(M.CHANNELS.kek, onKek);
    dc.subscribe(M.CHANNELS.keyset, onKeyset);
    try {
      const a = ring.aead('orders');
      const msg = await a.encrypt(randomBytes(100));
      await a.decrypt(msg);
      await expect(a.decrypt(flip(msg))).rejects.toThrow(expect.objectContaining({ code: 'ERR_AUTH' }));
      await a.encryptBatch([randomBytes(10), randomBytes(20)]);
      await ring.rotate('orders');
    } finally {
      dc.unsubscribe(M.CHANNELS.op, onOp);
      dc.unsubscribe(M.CHANNELS.kek, onKek);
      dc.unsubscribe(M.CHANNELS.keyset, onKeyset);
    }
    expect(ops.map((e) => [e.op, e.result, e.count, e.bytes, e.code])).toEqual([
      ['encrypt', 'ok', 1, 100, undefined],
      ['decrypt', 'ok', 1, expect.any(Number), undefined],
      ['decrypt', 'error', 1, expect.any(Number), 'ERR_AUTH'],
      ['encrypt', 'ok', 2, 30, undefined],
    ]);
    for (const e of ops) {
      expect(Object.keys(e).sort()).toEqual(expect.arrayContaining(['algorithm', 'backend', 'bytes', 'count', 'op', 'purpose', 'result']));
      expect(e).toMatchObject({ algorithm: 'xaes-256-gcm', purpose: 'orders' });
      expect(['native', 'wasm']).toContain(e.backend);
    }
    expect(keysets).toEqual(
      expect.arrayContaining([
        { op: 'create', purpose: 'orders' },
        { op: 'rotate', purpose: 'orders' },
      ]),
    );
    // Two new data keys wrapped (the purpose made on first use, then the rotation): local AES-KWP wraps; never the KEK's id.
    expect(keks).toEqual([0, 1].map(() => expect.objectContaining({ provider: 'aes-kwp', op: 'wrap', result: 'ok', seconds: expect.any(Number) })));
    const ids = ring.status().map((k) => String(k.id));
    for (const e of [...ops, ...keks, ...keysets]) for (const v of Object.values(e)) expect(ids).not.toContain(String(v));
    await ring.close();
  });
});

describe('bindPrometheus (prom-client)', () => {
  test('counters move by what the test does; histograms are sane; unbind stops and removes', async () => {
    const registry = new Registry();
    const b = M.bindPrometheus({ registry });
    const ring = await ringOf();
    try {
      const a = ring.aead('orders');
      await ring.createPurpose('orders');
      const before = parseExposition(await registry.metrics());
      const msgs = [];
      for (let i = 0; i < 25; i++) msgs.push(await a.encrypt(randomBytes(64)));
      for (const m of msgs.slice(0, 20)) await a.decrypt(m);
      for (const m of msgs.slice(0, 3)) await a.decrypt(flip(m)).catch(() => undefined);
      await ring.rotate('orders');
      const after = parseExposition(await registry.metrics());
      const d = (name: string, labels?: Record<string, string>) => sum(after, name, labels) - sum(before, name, labels);
      expect(d('tessera_operations_total', { op: 'encrypt', result: 'ok', algorithm: 'xaes-256-gcm' })).toBe(25);
      expect(d('tessera_operations_total', { op: 'decrypt', result: 'ok' })).toBe(20);
      expect(d('tessera_operations_total', { op: 'decrypt', result: 'error' })).toBe(3);
      expect(d('tessera_auth_failures_total', { purpose: 'orders' })).toBe(3);
      expect(d('tessera_operation_bytes_total', { op: 'encrypt' })).toBe(25 * 64);
      expect(d('tessera_key_rotations_total', { purpose: 'orders' })).toBe(1);
      expect(d('tessera_kek_requests_total', { provider: 'aes-kwp', op: 'wrap', result: 'ok' })).toBe(1);
      expect(d('tessera_operation_duration_seconds_count', { op: 'encrypt' })).toBe(25);
      expect(sum(after, 'tessera_secure_memory_locked_bytes')).toBeGreaterThan(0);
      expect(after.get('tessera_pool_queued_tasks')).toBe(0); // idle (test/chunked.stream.test.ts drives it)
      checkHistogram(after, 'tessera_operation_duration_seconds');
      checkHistogram(after, 'tessera_kek_request_duration_seconds');
      const ids = ring.status().map((k) => String(k.id));
      for (const v of labelValues(after)) expect(ids).not.toContain(v);
    } finally {
      b.unbind();
    }
    expect(await registry.metrics()).not.toContain('tessera_');
    b.unbind(); // idempotent
    await ring.close();
  });

  test('data-key cache: hits, misses and the entries gauge follow keyring files, and entries return to 0 at close', async () => {
    const registry = new Registry();
    const b = M.bindPrometheus({ registry });
    const ring = await T.Keyring.open(new T.FileKeyStore(path.join(dir, `ring-${++n}.json`)), { kek: T.kek.fromKey(randomBytes(32)), cache: {} });
    try {
      const src = path.join(dir, `plain-${n}`);
      fs.writeFileSync(src, randomBytes(1000));
      const before = parseExposition(await registry.metrics());
      const files = ring.streamingAead('files');
      await files.encryptFile(src, `${src}.1`); // miss: a new data key, cached
      await files.encryptFile(src, `${src}.2`); // hit
      await files.decryptFile(`${src}.1`, `${src}.d`); // miss: unwrapped, cached under its header
      const mid = parseExposition(await registry.metrics());
      const d = (name: string) => sum(mid, name) - sum(before, name);
      expect(d('tessera_datakey_cache_hits_total')).toBe(1);
      expect(d('tessera_datakey_cache_misses_total')).toBe(2);
      expect(d('tessera_datakey_cache_entries')).toBe(2);
      await ring.close();
      const after = parseExposition(await registry.metrics());
      expect(sum(after, 'tessera_datakey_cache_entries')).toBe(sum(before, 'tessera_datakey_cache_entries'));
    } finally {
      b.unbind();
      await ring.close();
    }
  });

  test('without prom-client / @opentelemetry/api installed: ERR_BACKEND naming the package', () => {
    // A child process where those two packages do not resolve (a resolver hook, as if not installed).
    const script = `
      const Module = require('node:module');
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (req, ...rest) {
        if (req === 'prom-client' || req === '@opentelemetry/api') throw Object.assign(new Error('Cannot find module ' + req), { code: 'MODULE_NOT_FOUND' });
        return resolve.call(this, req, ...rest);
      };
      const m = require(${JSON.stringify(path.join(root, 'dist/cjs/metrics/index.js'))});
      const out = [];
      for (const f of [() => m.bindPrometheus(), () => m.bindOpenTelemetry()]) {
        try { f(); out.push('bound'); } catch (e) { out.push(e.name + ' ' + e.code + ' ' + e.message); }
      }
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [p, o] = JSON.parse(r.stdout) as [string, string];
    expect(p).toMatch(/^TesseraError ERR_BACKEND .*`prom-client`.*npm install prom-client/);
    expect(o).toMatch(/^TesseraError ERR_BACKEND .*`@opentelemetry\/api`.*npm install @opentelemetry\/api/);
  });

  test('options are checked', () => {
    expect(() => M.bindPrometheus({ prefix: 'bad prefix' })).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
    expect(() => M.bindPrometheus({ registry: {} as never })).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
  });
});

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function scrape(url: string): Promise<Map<string, number>> {
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(url);
      expect(r.status).toBe(200);
      return parseExposition(await r.text());
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

// The OpenTelemetry Prometheus exporter adds `_total` to counters but no unit suffix: its
// histogram and gauge read tessera_operation_duration and tessera_secure_memory_locked.
describe.each([
  ['prometheus', 'prom-client', { duration: 'tessera_operation_duration_seconds', locked: 'tessera_secure_memory_locked_bytes' }],
  ['otel', 'OpenTelemetry SDK + Prometheus exporter', { duration: 'tessera_operation_duration', locked: 'tessera_secure_memory_locked' }],
] as const)('examples/metrics-server.mjs with METRICS=%s (%s)', (mode, _what, names) => {
  test('serves /metrics over HTTP; counters move; failed opens are counted; no key id in any label; SIGTERM exits 0', async () => {
    const port = await freePort();
    const keyringDir = fs.mkdtempSync(path.join(dir, `example-${mode}-`));
    const child = spawn(process.execPath, [path.join(root, 'examples/metrics-server.mjs')], {
      env: { ...process.env, PORT: String(port), METRICS: mode, KEYRING_DIR: keyringDir, LOOP_MS: '5' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (out += c));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const url = `http://127.0.0.1:${port}/metrics`;
      let first = await scrape(url);
      while (sum(first, 'tessera_operations_total', { op: 'encrypt' }) === 0) first = await scrape(url);
      await new Promise((r) => setTimeout(r, 1500));
      const second = await scrape(url);
      const enc = (s: Map<string, number>) => sum(s, 'tessera_operations_total', { op: 'encrypt', result: 'ok' });
      expect(enc(second)).toBeGreaterThan(enc(first));
      expect(sum(second, 'tessera_operations_total', { op: 'decrypt', result: 'error' })).toBeGreaterThan(0);
      expect(sum(second, 'tessera_auth_failures_total', { purpose: 'orders' })).toBe(
        sum(second, 'tessera_operations_total', { op: 'decrypt', result: 'error' }),
      );
      expect(sum(second, 'tessera_operation_bytes_total', { op: 'encrypt' })).toBeGreaterThanOrEqual(64 * enc(second));
      checkHistogram(second, names.duration);
      expect(sum(second, names.locked)).toBeGreaterThan(0);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toMatch(/stopped after \d+ iterations/);
      // The keyring the example wrote: none of its key ids appears as a label value.
      const doc = JSON.parse(fs.readFileSync(path.join(keyringDir, 'keys.json'), 'utf8')) as { keys: { id: number }[] };
      expect(doc.keys.length).toBeGreaterThan(0);
      const ids = doc.keys.map((k) => String(k.id));
      for (const v of labelValues(second)) expect(ids).not.toContain(v);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
