// Keyring section of the benchmark: `ring.encrypt` of 64 B fields with a
// cached data key, against node:crypto createCipheriv per field (target >= 3x).
// Called from run.mjs (`--only keyring`); same-run ratios, tinybench via
// bench/rounds.mjs (ROUNDS rounds, order reversed every other round, the
// median round per row).
//
// "A cached data key": a Keyring over a FileKeyStore in a temp dir with
// kek.fromKey; the purpose's data key is unwrapped once at open into an
// AeadKey held in memory, so ring.encrypt / ring.decrypt make no KEK call.
// The rings run with their defaults (XAES-256-GCM, countFlushEvery 1000: a
// store commit with fsync every 1000 uses, which the rows pay for), plus a
// ring with algorithm 'aes-256-gcm' (node:crypto's algorithm) for
// like-for-like. Each task is a loop of FIELDS sequential calls
// (`await ring.encrypt(...)` one after another; node:crypto the same loop,
// synchronously), so tinybench's per-iteration cost is spread thin on both
// sides; rows count fields, not task calls.
import crypto from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { tessera } from './impls.mjs';
import { ROUNDS, runRounds } from './rounds.mjs';

const { Keyring, FileKeyStore, kek, encryptFields, encryptFieldsBatch, decryptFields, decryptFieldsBatch } = tessera;

const SIZE = 64;
const FIELDS = 100; // sequential calls per tinybench task call
const RECORDS = 1000; // encryptFieldsBatch records per call
const LAZY_FLUSH = 100_000;
export const SETTINGS = { full: { time: 1500, warmupTime: 300 }, quick: { time: 150, warmupTime: 50 } };

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- written, never read: holds each benchmarked call's result so the optimiser cannot drop the work
let sink;
const rand = (n) => {
  const b = Buffer.allocUnsafeSlow(n);
  crypto.randomFillSync(b);
  return b;
};
const check = (ok, what) => {
  if (!ok) throw new Error(`keyring bench self-check failed: ${what}`);
};

// node:crypto as users write it per field: random 12-byte IV, createCipheriv,
// update/final/getAuthTag, iv||ct||tag (bench/impls.mjs nodeSeal without setAAD:
// ring.encrypt here has no aad either).
function nodeSeal(key, pt) {
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  const ct = c.update(pt);
  const fin = c.final();
  return Buffer.concat([iv, ct, fin, c.getAuthTag()]);
}
function nodeOpen(key, sealed) {
  const d = crypto.createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12), { authTagLength: 16 });
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  const pt = d.update(sealed.subarray(12, sealed.length - 16));
  const fin = d.final();
  return fin.length === 0 ? pt : Buffer.concat([pt, fin]);
}

async function openRing(dir, name, opts = {}) {
  const store = new FileKeyStore(path.join(dir, `${name}.json`));
  const ring = await Keyring.open(store, { kek: kek.fromKey(rand(32)), ...opts });
  return { ring, store };
}

/** Runs the section; returns { rows, config, durationS, otherCpuPercent }. */
export async function runKeyring({ quick = false, log = console.log } = {}) {
  const t0 = performance.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-keyring-'));
  const rings = [];
  try {
    const xaes = await openRing(dir, 'xaes');
    const aes = await openRing(dir, 'aes', { algorithm: 'aes-256-gcm' });
    // The same with use counts persisted every 100 000 uses instead of 1000 (informational rows).
    const xaesLazy = await openRing(dir, 'xaes-lazy', { countFlushEvery: LAZY_FLUSH });
    const aesLazy = await openRing(dir, 'aes-lazy', { algorithm: 'aes-256-gcm', countFlushEvery: LAZY_FLUSH });
    rings.push(xaes, aes, xaesLazy, aesLazy);
    const pts = Array.from({ length: FIELDS }, () => rand(SIZE));
    const nodeKey = rand(32);
    // First use creates the purpose and its data key (a store commit); from here on it is cached.
    for (const { ring } of rings) check(Buffer.from(await ring.decrypt(await ring.encrypt('fields', pts[0]))).equals(pts[0]), 'ring round trip');
    const msgs = await Promise.all(pts.map((p) => xaes.ring.encrypt('fields', p)));
    const lazyMsgs = await Promise.all(pts.map((p) => xaesLazy.ring.encrypt('fields', p)));
    const nodeMsgs = pts.map((p) => nodeSeal(nodeKey, p));
    check(nodeOpen(nodeKey, nodeMsgs[0]).equals(pts[0]), 'node round trip');

    // Fields: a 63-character string, 64 B of plaintext with encryptFields' type tag.
    const email = (i) => `${String(i).padStart(6, '0')}.${'x'.repeat(44)}@example.com`;
    check(email(0).length === 63, 'field length');
    const record = { id: 1, email: email(1) };
    const records = Array.from({ length: RECORDS }, (_, i) => ({ id: i, email: email(i) }));
    const enc = await encryptFields(record, ['email'], xaes.ring, 'fields');
    check((await decryptFields(enc, ['email'], xaes.ring)).email === record.email, 'encryptFields round trip');
    const encB = await encryptFieldsBatch(records, ['email'], xaes.ring, 'fields');
    check((await decryptFieldsBatch(encB, ['email'], xaes.ring))[RECORDS - 1].email === records[RECORDS - 1].email, 'encryptFieldsBatch round trip');

    const cases = [];
    const add = (op, impl, api, fn, extra = {}) => cases.push({ alg: 'xaes-256-gcm', size: SIZE, op, impl, api, fn, perCall: FIELDS, async: true, ...extra });
    add(
      'seal',
      'tessera',
      'await ring.encrypt(purpose, pt)',
      async () => {
        for (let i = 0; i < FIELDS; i++) sink = await xaes.ring.encrypt('fields', pts[i]);
      },
      { judged: true },
    );
    add(
      'seal',
      'tessera',
      'await ring.encrypt(purpose, pt), algorithm aes-256-gcm',
      async () => {
        for (let i = 0; i < FIELDS; i++) sink = await aes.ring.encrypt('fields', pts[i]);
      },
      { alg: 'aes-256-gcm' },
    );
    add('seal', 'tessera', 'await ring.encrypt(purpose, pt), countFlushEvery 100 000', async () => {
      for (let i = 0; i < FIELDS; i++) sink = await xaesLazy.ring.encrypt('fields', pts[i]);
    });
    add(
      'seal',
      'tessera',
      'await ring.encrypt(purpose, pt), algorithm aes-256-gcm, countFlushEvery 100 000',
      async () => {
        for (let i = 0; i < FIELDS; i++) sink = await aesLazy.ring.encrypt('fields', pts[i]);
      },
      { alg: 'aes-256-gcm' },
    );
    add('seal', 'tessera', 'await encryptFields(record, [1 field], ring, purpose)', async () => {
      for (let i = 0; i < FIELDS; i++) sink = await encryptFields(record, ['email'], xaes.ring, 'fields');
    });
    add(
      'seal',
      'tessera',
      `await encryptFieldsBatch(${RECORDS} records, [1 field]) (per field)`,
      async () => {
        sink = await encryptFieldsBatch(records, ['email'], xaes.ring, 'fields');
      },
      { perCall: RECORDS },
    );
    add(
      'seal',
      'tessera',
      `await encryptFieldsBatch(${RECORDS} records, [1 field]) (per field), countFlushEvery 100 000`,
      async () => {
        sink = await encryptFieldsBatch(records, ['email'], xaesLazy.ring, 'fields');
      },
      { perCall: RECORDS },
    );
    add(
      'seal',
      'node:crypto',
      'randomBytes(12) + createCipheriv + update/final/getAuthTag + concat',
      () => {
        for (let i = 0; i < FIELDS; i++) sink = nodeSeal(nodeKey, pts[i]);
      },
      { alg: 'aes-256-gcm', async: false, baseline: true },
    );
    add('open', 'tessera', 'await ring.decrypt(message)', async () => {
      for (let i = 0; i < FIELDS; i++) sink = await xaes.ring.decrypt(msgs[i]);
    });
    add('open', 'tessera', 'await ring.decrypt(message), countFlushEvery 100 000', async () => {
      for (let i = 0; i < FIELDS; i++) sink = await xaesLazy.ring.decrypt(lazyMsgs[i]);
    });
    add(
      'open',
      'node:crypto',
      'createDecipheriv + setAuthTag + update/final',
      () => {
        for (let i = 0; i < FIELDS; i++) sink = nodeOpen(nodeKey, nodeMsgs[i]);
      },
      { alg: 'aes-256-gcm', async: false, baseline: true },
    );

    const g = await runRounds(cases, { alg: 'keyring', size: SIZE, ...SETTINGS[quick ? 'quick' : 'full'] });
    const rows = cases.map((c) => ({ ...g.rows.get(c), baseline: !!c.baseline, judged: !!c.judged, otherCpuPercent: g.otherCpuPercent }));
    for (const r of rows) {
      if (r.state !== 'completed') log(`  ERROR keyring ${r.op} ${r.impl} ${r.api}: ${r.error ?? r.state}`);
      const base = rows.find((b) => b.baseline && b.op === r.op && b.opsPerSec);
      if (!r.baseline && base && r.opsPerSec) r.ratio = r.opsPerSec / base.opsPerSec;
    }
    log(`  keyring 64 B: ${cases.length} tasks x ${ROUNDS} rounds in ${g.seconds.toFixed(1)} s (other processes: ${g.otherCpuPercent}% CPU)`);
    // What one use-count flush (a FileKeyStore commit: temp file, fsync, rename, directory fsync) costs here.
    const flushMs = [];
    for (let i = 0; i < (quick ? 5 : 15); i++) {
      await xaes.ring.encrypt('fields', pts[0]);
      const t = performance.now();
      await xaes.ring.flush();
      flushMs.push(performance.now() - t);
    }
    flushMs.sort((a, b) => a - b);
    const status = xaes.ring.status().find((k) => k.purpose === 'fields' && k.state === 'active');
    return {
      rows,
      config: {
        quick,
        fieldsPerTask: FIELDS,
        records: RECORDS,
        size: SIZE,
        settings: SETTINGS[quick ? 'quick' : 'full'],
        store: 'FileKeyStore (temp dir, os.tmpdir())',
        kek: 'kek.fromKey',
        countFlushEvery: 1000,
        countFlushEveryLazyRows: LAZY_FLUSH,
      },
      keyStatus: status ? { id: status.id, algorithm: status.algorithm, encrypted: status.encrypted } : undefined,
      flushMs: { median: flushMs[flushMs.length >> 1], min: flushMs[0], max: flushMs[flushMs.length - 1], runs: flushMs.length },
      durationS: (performance.now() - t0) / 1000,
      otherCpuPercent: g.otherCpuPercent,
    };
  } finally {
    for (const { ring, store } of rings) {
      await ring.close().catch(() => {});
      await store.close?.().catch(() => {});
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// Targets and markdown.

const int = (n) => Math.round(n).toLocaleString('en-US');
const x = (v) => (v === undefined ? '' : `${v.toFixed(2)}x`);
const us = (ops) => (1e6 / ops).toFixed(2);
const spread = (r) => {
  const v = (r.rounds ?? []).map((q) => q.opsPerSec).filter((q) => q !== undefined);
  return v.length > 1 ? `${((100 * (Math.max(...v) - Math.min(...v))) / r.opsPerSec).toFixed(0)}%` : '';
};

export function keyringTargets(k) {
  const r = k.rows.find((q) => q.judged);
  const v = r?.ratio;
  return [
    {
      name: 'Keyring ring.encrypt of 64 B fields (cached data key, XAES-256-GCM) vs node:crypto createCipheriv per field',
      target: '>= 3x',
      value: v,
      status: v === undefined ? 'SKIP' : v >= 3 ? 'PASS' : 'FAIL',
    },
  ];
}

export function keyringMarkdown(k, targets) {
  const L = ['### Keyring', ''];
  L.push(
    `64 B fields with a cached data key: a Keyring over a FileKeyStore in a temp dir (\`kek.fromKey\`; the purpose's data key unwrapped once, held as an AeadKey), default options (XAES-256-GCM, use counts persisted every 1000 uses, a store commit with fsync that the rows pay for). ` +
      `Each task is ${k.config.fieldsPerTask} sequential calls (\`await\` one after another); the batch row is one call over ${k.config.records} records. Rows count fields. Ratios are against node:crypto AES-256-GCM written per field as users write it, measured in the same run. ` +
      `Fields are a 63-character string (64 B plaintext with encryptFields' type tag; output is a \`tsr1.\` string). Other processes used ${k.otherCpuPercent}% of the machine's CPU during this section.`,
  );
  L.push('');
  L.push('| op | algorithm | implementation | fields/s | µs per field | ratio vs node:crypto | round spread |');
  L.push('|---|---|---|--:|--:|--:|--:|');
  for (const r of k.rows) {
    const ops = r.opsPerSec !== undefined ? int(r.opsPerSec) : (r.error ?? r.state);
    L.push(
      `| ${r.op} | ${r.alg} | ${`${r.impl} ${r.api}`.replace(/\|/g, '\\|')} | ${ops} | ${r.opsPerSec ? us(r.opsPerSec) : ''} | ${r.baseline ? '1.00x (baseline)' : r.ratio !== undefined ? `**${x(r.ratio)}**` : ''} | ${spread(r)} |`,
    );
  }
  L.push('');
  const f = k.flushMs;
  if (f)
    L.push(
      `- Use counts: with the default countFlushEvery (1000) every 1000th call waits for a store commit; one commit took ${f.median.toFixed(2)} ms here (median of ${f.runs}; ${f.min.toFixed(2)}-${f.max.toFixed(2)} ms), ~${f.median.toFixed(1)} µs per field. The countFlushEvery 100 000 rows show the cost without it (a crash then loses up to 99 999 uses from the persisted counts).`,
    );
  for (const t of targets)
    L.push(
      `- Target ${t.status === 'PASS' ? 'met' : t.status === 'FAIL' ? 'not met' : 'not measured'}: ${t.name}: ${t.value === undefined ? 'n/a' : x(t.value)} (${t.target}).`,
    );
  if (k.otherCpuPercent > 10)
    L.push(
      `- CPU contention: other processes used ${k.otherCpuPercent}% of the CPU during this section, so these ratios are noisier than usual; rerun on an idle machine.`,
    );
  else
    L.push(
      `- CPU contention: other processes used ${k.otherCpuPercent}% of the CPU during this section (low); the round spread column shows how much the three rounds moved.`,
    );
  return L.join('\n');
}
