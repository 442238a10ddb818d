// Chunked section of the benchmark: Cobblestone-256 (c2sp.org/chunked-encryption,
// the default suite) through tessera's chunked APIs, against node:crypto in
// the same run. Called from run.mjs; formatting is in chunked-report.mjs.
//
//   buffers  encryptChunked / decryptChunked of 64 MiB and 1 GiB at threads 1
//            and 2, vs node:crypto one-shot AES-256-GCM over the whole buffer
//            and vs a straightforward JS Cobblestone (one createCipheriv per
//            16 KiB chunk). Timed per call, cases interleaved, median (see
//            interleaved()); 1 GiB gets only a few runs.
//   files    encryptFile / decryptFile of a 1 GiB file at threads 1 and 2 vs
//            fs.promises.copyFile + fsync of the copy on the same disk
//            (page-cache-warm source; median of a few runs).
//   loop     event-loop delay (monitorEventLoopDelay, 1 ms) while 64 MiB
//            encryptChunkedAsync / decryptChunkedAsync run back to back.
//   sweep    encryptChunked at 2 threads vs 1 thread from 64 KiB to 16 MiB:
//            where the second thread starts paying off (the pool's batch is
//            TSR_CHUNKED_BATCH = 32 chunks = 512 KiB, a compile-time constant).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { tessera as T } from './impls.mjs';
import { allocOnlyLoop, drainNode, drainWeb, idleLoop, loopDuring, pieces, webPieces } from './loop.mjs';
import { sizeLabel } from './report.mjs';

const KiB = 1024,
  MiB = 1024 * KiB,
  GiB = 1024 * MiB;
export const SUITE = 'cobblestone-256';
const CONTEXT = 'tessera bench chunked';
const CHUNK = 16384,
  TAG = 16,
  SALT = 24,
  COMMIT = 32,
  HEADER = SALT + COMMIT;

// Results land here so no call is dead code.
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- written, never read: holds each benchmarked call's result so the optimiser cannot drop the work
let sink;
const gc = () => {
  sink = null;
  global.gc?.();
};

// ---------------------------------------------------------------------------
// Baselines.

/** node:crypto one-shot AES-256-GCM over the whole buffer: update + final + getAuthTag (no concat). */
function nodeOneShotSeal(key, pt) {
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', key, iv);
  const ct = c.update(pt);
  c.final();
  return { iv, ct, tag: c.getAuthTag() };
}

function nodeOneShotOpen(key, { iv, ct, tag }) {
  const d = crypto.createDecipheriv('aes-256-gcm', key, iv);
  d.setAuthTag(tag);
  const pt = d.update(ct);
  d.final();
  return pt;
}

// A straightforward JS Cobblestone-256 on node:crypto (what a user writes
// without tessera): HKDF-SHA-512-Expand by hand (node:crypto has no
// expand-only HKDF), then one createCipheriv per 16 KiB chunk with
// base nonce XOR be96(counter), written into an output allocated once per call.
const INFO_PREFIX = Buffer.from('c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM\0', 'latin1');

function hkdfSha512Expand(prk, info, len) {
  const blocks = [];
  let t = Buffer.alloc(0);
  for (let i = 1, got = 0; got < len; i++, got += 64) {
    t = crypto
      .createHmac('sha512', prk)
      .update(t)
      .update(info)
      .update(Buffer.from([i]))
      .digest();
    blocks.push(t);
  }
  return Buffer.concat(blocks).subarray(0, len);
}

function jsDerive(key, salt, context) {
  const okm = hkdfSha512Expand(key, Buffer.concat([INFO_PREFIX, salt, Buffer.from(context)]), 32 + 12 + COMMIT);
  return { key: okm.subarray(0, 32), base: okm.subarray(32, 44), commitment: okm.subarray(44) };
}

function chunkNonce(nonce, base, k) {
  base.copy(nonce);
  const lo = k >>> 0,
    hi = Math.floor(k / 2 ** 32);
  nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ lo) >>> 0, 8);
  nonce.writeUInt32BE((nonce.readUInt32BE(4) ^ hi) >>> 0, 4);
}

export function jsEncryptChunked(key, pt, context) {
  const salt = crypto.randomBytes(SALT);
  const d = jsDerive(key, salt, context);
  const n = pt.length;
  const chunks = Math.floor(n / CHUNK) + 1;
  const out = Buffer.allocUnsafeSlow(HEADER + n + chunks * TAG);
  salt.copy(out, 0);
  d.commitment.copy(out, SALT);
  const nonce = Buffer.alloc(12);
  let o = HEADER;
  for (let k = 0; k < chunks; k++) {
    chunkNonce(nonce, d.base, k);
    const c = crypto.createCipheriv('aes-256-gcm', d.key, nonce);
    const ct = c.update(pt.subarray(k * CHUNK, Math.min(n, (k + 1) * CHUNK)));
    out.set(ct, o);
    o += ct.length;
    c.final();
    out.set(c.getAuthTag(), o);
    o += TAG;
  }
  return out;
}

export function jsDecryptChunked(key, ct, context) {
  const d = jsDerive(key, ct.subarray(0, SALT), context);
  if (!crypto.timingSafeEqual(d.commitment, ct.subarray(SALT, HEADER))) throw new Error('commitment mismatch');
  const body = ct.length - HEADER;
  const full = Math.floor(body / (CHUNK + TAG)),
    rest = body % (CHUNK + TAG);
  if (rest < TAG) throw new Error('truncated');
  const n = full * CHUNK + rest - TAG;
  const out = Buffer.allocUnsafeSlow(n);
  const nonce = Buffer.alloc(12);
  let i = HEADER,
    o = 0;
  for (let k = 0; k <= full; k++) {
    const len = Math.min(CHUNK + TAG, ct.length - i);
    chunkNonce(nonce, d.base, k);
    const dc = crypto.createDecipheriv('aes-256-gcm', d.key, nonce);
    dc.setAuthTag(ct.subarray(i + len - TAG, i + len));
    const p = dc.update(ct.subarray(i, i + len - TAG));
    dc.final();
    out.set(p, o);
    o += p.length;
    i += len;
  }
  return out;
}

function same(a, b, what) {
  if (a.length !== b.length || Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) !== 0)
    throw new Error(`chunked self-check failed: ${what}`);
}

/** The JS Cobblestone must read tessera's ciphertext and the other way round. */
function selfCheck(key) {
  for (const n of [0, 100, CHUNK, 3 * CHUNK + 777, 40 * CHUNK]) {
    const pt = crypto.randomBytes(n);
    same(jsDecryptChunked(key, T.encryptChunked(key, pt, { context: CONTEXT }), CONTEXT), pt, `JS opens tessera (${n} B)`);
    same(T.decryptChunked(key, jsEncryptChunked(key, pt, CONTEXT), { context: CONTEXT }), pt, `tessera opens JS (${n} B)`);
  }
}

// ---------------------------------------------------------------------------
// Measurement.

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Interleaved timing. Every case runs once per pass, passes alternate the
 * case order, and a row reports the median pass. tinybench would run each
 * case as one contiguous block; here the cost of a first touch of fresh
 * memory (which every output below pays) drifts over seconds, and only
 * fine interleaving keeps that drift out of the same-run ratios.
 *
 * opts: reps (passes), warmup (untimed passes first), calls (calls per timed
 * sample, for small messages), gcEach (collect garbage before each sample,
 * untimed, so freeing the previous output is not charged to the next call).
 * A case's prep() runs untimed before each of its samples.
 *
 * @typedef {{ size: number, op: string, impl: string, api: string, fn: () => unknown, prep?: () => unknown,
 *   threads?: number, kind?: string, reference?: boolean, baseline?: string, tierBase?: boolean }} Case
 * @param {Case[]} cases
 * @param {{ reps: number, warmup?: number, calls?: (c: Case) => number, gcEach?: boolean, method?: string }} opts
 */
async function interleaved(cases, { reps, warmup = 0, calls = () => 1, gcEach = true, method }) {
  const times = new Map(cases.map((c) => [c, []]));
  for (let pass = -warmup; pass < reps; pass++) {
    for (const c of pass % 2 === 0 ? cases : [...cases].reverse()) {
      if (c.prep) await c.prep();
      if (gcEach) {
        gc();
        await sleep(5);
      }
      const n = calls(c);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) sink = await c.fn();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6 / n;
      if (pass >= 0) times.get(c).push(ms);
    }
  }
  gc();
  return cases.map((c) => {
    const ms = times.get(c);
    const med = median(ms);
    return {
      alg: SUITE,
      size: c.size,
      sizeLabel: sizeLabel(c.size),
      op: c.op,
      impl: c.impl,
      api: c.api,
      threads: c.threads,
      kind: c.kind,
      reference: c.reference,
      baseline: c.baseline,
      state: 'completed',
      opsPerSec: 1000 / med,
      MBps: c.size / 1e6 / (med / 1000),
      samples: ms.length,
      callsPerSample: calls(c),
      msPerCall: { median: med, min: Math.min(...ms), max: Math.max(...ms) },
      timesMs: ms.map((x) => +x.toPrecision(4)),
      method: method ?? `median of ${reps} interleaved runs${warmup ? ` (+${warmup} warm-up)` : ''}`,
    };
  });
}

function bufferCases(key, size, pt, opts = {}) {
  const ctx = { context: CONTEXT };
  const tct = T.encryptChunked(key, pt, ctx);
  same(T.decryptChunked(key, tct, ctx), pt, `tessera round trip ${sizeLabel(size)}`);
  const jct = jsEncryptChunked(key, pt, CONTEXT);
  if (size <= 64 * MiB) same(jsDecryptChunked(key, jct, CONTEXT), pt, `JS round trip ${sizeLabel(size)}`);
  const nct = nodeOneShotSeal(key, pt);
  const cases = [];
  const add = (op, impl, api, fn, extra = {}) => cases.push({ size, op, impl, api, fn, ...extra });
  for (const threads of [1, 2]) {
    add('encrypt', 'tessera', `encryptChunked({ threads: ${threads} })`, () => (sink = T.encryptChunked(key, pt, { context: CONTEXT, threads })), { threads });
  }
  for (const threads of [1, 2]) {
    add(
      'encrypt',
      'tessera',
      `encryptChunkedAsync({ threads: ${threads} })`,
      async () => (sink = await T.encryptChunkedAsync(key, pt, { context: CONTEXT, threads })),
      { threads, kind: 'async' },
    );
  }
  // The same call on the openssl kernel tier (lib/kernels.ts): the default
  // tier's gain where Cobblestone spends its time, one thread each.
  const onOpenssl = (fn) => () => {
    T.useNativeKernel('openssl');
    try {
      return fn();
    } finally {
      T.useNativeKernel('auto');
    }
  };
  if (T.backend() === 'native') {
    add(
      'encrypt',
      'tessera openssl tier',
      'encryptChunked({ threads: 1 })',
      onOpenssl(() => (sink = T.encryptChunked(key, pt, { context: CONTEXT, threads: 1 }))),
      { threads: 1, tierBase: true },
    );
  }
  add('encrypt', 'node:crypto', 'one-shot createCipheriv update+final+getAuthTag', () => (sink = nodeOneShotSeal(key, pt)), { baseline: 'node' });
  add('encrypt', 'node:crypto', 'JS Cobblestone loop (createCipheriv per 16 KiB chunk)', () => (sink = jsEncryptChunked(key, pt, CONTEXT)), { baseline: 'js' });
  for (const threads of [1, 2]) {
    add('decrypt', 'tessera', `decryptChunked({ threads: ${threads} })`, () => (sink = T.decryptChunked(key, tct, { context: CONTEXT, threads })), { threads });
  }
  for (const threads of [1, 2]) {
    add(
      'decrypt',
      'tessera',
      `decryptChunkedAsync({ threads: ${threads} })`,
      async () => (sink = await T.decryptChunkedAsync(key, tct, { context: CONTEXT, threads })),
      { threads, kind: 'async' },
    );
  }
  if (T.backend() === 'native') {
    add(
      'decrypt',
      'tessera openssl tier',
      'decryptChunked({ threads: 1 })',
      onOpenssl(() => (sink = T.decryptChunked(key, tct, { context: CONTEXT, threads: 1 }))),
      { threads: 1, tierBase: true },
    );
  }
  add('decrypt', 'node:crypto', 'one-shot createDecipheriv setAuthTag+update+final', () => (sink = nodeOneShotOpen(key, nct)), { baseline: 'node' });
  add('decrypt', 'node:crypto', 'JS Cobblestone loop (createDecipheriv per 16 KiB chunk)', () => (sink = jsDecryptChunked(key, jct, CONTEXT)), {
    baseline: 'js',
  });
  if (opts.floor) {
    // Every row above writes a fresh output of about this size; this is
    // what allocating and first-touching one costs (page faults + memset).
    add('alloc', '(reference)', `fresh output: Buffer.allocUnsafeSlow(${sizeLabel(size)}).fill(0)`, () => (sink = Buffer.allocUnsafeSlow(size).fill(0)), {
      reference: true,
    });
  }
  return cases;
}

/** Same-run ratios: tessera vs its own 1-thread row, vs node one-shot, vs the JS loop, vs copy (files). */
function addChunkedRatios(rows) {
  const find = (r, pred) => rows.find((b) => b.section === r.section && b.size === r.size && b.op === r.op && b.opsPerSec !== undefined && pred(b));
  for (const r of rows) {
    if (r.impl !== 'tessera' || r.opsPerSec === undefined) continue;
    const t1 = find(r, (b) => b.impl === 'tessera' && b.threads === 1 && b.kind === r.kind);
    if (r.threads === 2 && t1) r.ratioVs1Thread = r.opsPerSec / t1.opsPerSec;
    const node = find(r, (b) => b.baseline === 'node');
    if (node) r.ratioVsNode = r.opsPerSec / node.opsPerSec;
    const tier = find(r, (b) => b.impl === 'tessera openssl tier' && b.threads === r.threads);
    if (tier) r.ratioVsOpensslTier = r.opsPerSec / tier.opsPerSec;
    const js = find(r, (b) => b.baseline === 'js');
    if (js) r.ratioVsJs = r.opsPerSec / js.opsPerSec;
    if (r.section === 'file') {
      const copy = rows.find((b) => b.section === 'file' && b.size === r.size && b.op === 'copy');
      if (copy) r.ratioVsCopy = r.opsPerSec / copy.opsPerSec;
    }
  }
}

async function buffers(key, size, pt, settings) {
  const cases = bufferCases(key, size, pt, { floor: size === 64 * MiB });
  const rows = (await interleaved(cases, settings)).map((r) => ({ ...r, section: 'buffer' }));
  if (settings.noGc) {
    // The same calls back to back with no forced collection: outputs are
    // freed whenever V8 collects, so a call may find tessera's output cache
    // empty and fault in fresh pages (what a busy process sees).
    const sub = cases.filter((c) => c.impl === 'tessera' || c.baseline === 'node');
    const more = await interleaved(sub, { ...settings, gcEach: false, method: `median of ${settings.reps} interleaved runs, no forced GC` });
    rows.push(...more.map((r) => ({ ...r, section: 'buffer-nogc' })));
  }
  return rows;
}

// ---------------------------------------------------------------------------
// Files.

async function fsyncPath(p) {
  const fh = await fs.promises.open(p, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
async function fsyncDir(d) {
  const fh = await fs.promises.open(d, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function files(key, size, pt, reps, dir) {
  const src = path.join(dir, 'plain.bin');
  const enc = path.join(dir, 'plain.bin.tsr');
  const out = path.join(dir, 'out.bin');
  // The source: the benchmark's plaintext (random bytes), fsynced, so it stays in the page cache.
  await fs.promises.writeFile(src, pt);
  await fsyncPath(src);
  // The ciphertext to decrypt, and a check that both directions work (untimed; also warms up).
  await T.encryptFile(src, enc, key, { context: CONTEXT });
  await T.decryptFile(enc, out, key, { context: CONTEXT });
  const [a, b] = [await fs.promises.readFile(src), await fs.promises.readFile(out)];
  same(a, b, `encryptFile/decryptFile round trip ${sizeLabel(size)}`);
  sink = null;
  const encSize = (await fs.promises.stat(enc)).size;
  const rm = () => fs.promises.rm(out, { force: true });
  /** @type {Case[]} */
  const cases = [
    {
      size,
      op: 'copy',
      impl: 'fs',
      api: 'fs.promises.copyFile + fsync (file and directory)',
      baseline: 'copy',
      prep: rm,
      fn: async () => {
        await fs.promises.copyFile(src, out);
        await fsyncPath(out);
        await fsyncDir(dir);
      },
    },
  ];
  for (const threads of [1, 2]) {
    cases.push({
      size,
      op: 'encrypt',
      impl: 'tessera',
      api: `encryptFile({ threads: ${threads} })`,
      threads,
      prep: rm,
      fn: () => T.encryptFile(src, out, key, { context: CONTEXT, threads }),
    });
  }
  for (const threads of [1, 2]) {
    cases.push({
      size,
      op: 'decrypt',
      impl: 'tessera',
      api: `decryptFile({ threads: ${threads} })`,
      threads,
      prep: rm,
      fn: () => T.decryptFile(enc, out, key, { context: CONTEXT, threads }),
    });
  }
  const rows = await interleaved(cases, { reps, method: `median of ${reps} interleaved runs (page-cache-warm input)` });
  await rm();
  return { rows: rows.map((r) => ({ ...r, section: 'file' })), encryptedBytes: encSize };
}

// ---------------------------------------------------------------------------
// Event loop (bench/loop.mjs): each workload encrypts and decrypts `size`
// bytes per step, back to back, at threads 1 and 2.

/**
 * @param {Buffer} key
 * @param {{ pt64: Uint8Array, ct64: Uint8Array, big?: Uint8Array, bigCt?: Uint8Array, src?: string, enc?: string, out?: string }} inputs
 */
function loopWorkloads(key, { pt64, ct64, big, bigCt, src, enc, out }) {
  const o = (threads) => ({ context: CONTEXT, threads });
  const reuse = {};
  const timed = async (calls) => {
    const submitMs = [];
    for (const call of calls) {
      const s = performance.now();
      const p = call(); // the synchronous part: checks, key derivation, submit
      submitMs.push(performance.now() - s);
      sink = await p;
    }
    return submitMs;
  };
  /** @type {Array<{ workload: string, size: number, step: (t: number) => Promise<{ bytes: number, submitMs?: number[] }> }>} */
  const w = [
    {
      workload: 'encryptChunkedAsync + decryptChunkedAsync',
      size: 64 * MiB,
      step: async (t) => ({
        bytes: 2 * pt64.length,
        submitMs: await timed([() => T.encryptChunkedAsync(key, pt64, o(t)), () => T.decryptChunkedAsync(key, ct64, o(t))]),
      }),
    },
    {
      workload: 'encryptChunkedIntoAsync + decryptChunkedIntoAsync (caller-owned outputs, reused)',
      size: 64 * MiB,
      step: async (t) => {
        reuse.ct ??= new Uint8Array(T.chunkedSealedLength(pt64.length));
        reuse.pt ??= new Uint8Array(pt64.length);
        return {
          bytes: 2 * pt64.length,
          submitMs: await timed([() => T.encryptChunkedIntoAsync(reuse.ct, key, pt64, o(t)), () => T.decryptChunkedIntoAsync(reuse.pt, key, ct64, o(t))]),
        };
      },
    },
  ];
  if (src) {
    w.push({
      workload: 'encryptFile + decryptFile',
      size: big.length,
      step: async (t) => {
        await T.encryptFile(src, enc, key, o(t));
        await T.decryptFile(enc, out, key, o(t));
        return { bytes: 2 * big.length };
      },
    });
  }
  if (big)
    w.push(
      {
        workload: 'Node stream encrypt + decrypt (createEncryptStream / createDecryptStream)',
        size: big.length,
        step: async (t) => ({
          bytes: (await drainNode(pieces(big), T.createEncryptStream(key, o(t)))) + (await drainNode(pieces(bigCt), T.createDecryptStream(key, o(t)))),
        }),
      },
      {
        workload: 'Web stream encrypt + decrypt (EncryptTransformStream / DecryptTransformStream)',
        size: big.length,
        step: async (t) => ({
          bytes:
            (await drainWeb(webPieces(big), new T.EncryptTransformStream(key, o(t)))) +
            (await drainWeb(webPieces(bigCt), new T.DecryptTransformStream(key, o(t)))),
        }),
      },
    );
  return w;
}

async function eventLoops(workloads, durationMs) {
  const runs = [];
  for (const wl of workloads) {
    for (const threads of [1, 2]) {
      const r = await loopDuring(() => wl.step(threads), durationMs);
      runs.push({ workload: wl.workload, size: wl.size, sizeLabel: sizeLabel(wl.size), threads, poolSize: T.workerPool().size, ...r });
    }
  }
  return runs;
}

// ---------------------------------------------------------------------------
// Sweep: 2 threads vs 1 at small sizes.

const SWEEP_SIZES = [64 * KiB, 256 * KiB, 512 * KiB, MiB, 4 * MiB, 16 * MiB];

async function sweep(key, { reps, warmup, sampleMs }) {
  const rows = [];
  for (const size of SWEEP_SIZES) {
    const pt = crypto.randomFillSync(Buffer.allocUnsafeSlow(size));
    const cases = [1, 2].map((threads) => ({
      size,
      op: 'encrypt',
      impl: 'tessera',
      api: `encryptChunked({ threads: ${threads} })`,
      threads,
      fn: () => T.encryptChunked(key, pt, { context: CONTEXT, threads }),
    }));
    // Calls per sample: enough for ~sampleMs (measured on 1 thread after a few warm-up calls).
    for (let i = 0; i < 5; i++) sink = cases[0].fn();
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) sink = cases[0].fn();
    const per = (performance.now() - t0) / 5;
    const n = Math.max(1, Math.min(5000, Math.round(sampleMs / per)));
    const [t1, t2] = await interleaved(cases, { reps, warmup, calls: () => n, gcEach: false });
    rows.push({ size, sizeLabel: sizeLabel(size), chunks: Math.floor(size / CHUNK) + 1, t1, t2, ratio: t2.opsPerSec / t1.opsPerSec });
  }
  return rows;
}

// ---------------------------------------------------------------------------

const FULL = {
  buf64: { reps: 11, warmup: 1, noGc: true }, // 64 MiB buffers: interleaved runs per case
  big: { reps: 3 }, // 1 GiB buffers
  file: { size: GiB, reps: 3 },
  loopMs: 2000,
  sweep: { reps: 31, warmup: 3, sampleMs: 10 },
};
const QUICK = {
  buf64: { reps: 3, warmup: 1, noGc: true },
  big: undefined, // no 1 GiB buffers
  file: { size: 256 * MiB, reps: 2 },
  loopMs: 1000,
  sweep: { reps: 11, warmup: 2, sampleMs: 5 },
};

// --ci: what CI needs in its time budget (64 MiB buffers, event loop; a
// small file and a short sweep).
const CI = {
  // 7 passes, not 3: a median of 3 let two slow passes (another tenant on a
  // 2-vCPU VM) put a thread-scaling ratio at 0.14x under its floor.
  buf64: { reps: 7, warmup: 1, noGc: true },
  big: undefined,
  file: { size: 64 * MiB, reps: 1 },
  loopMs: 1000,
  sweep: { reps: 5, warmup: 1, sampleMs: 5 },
};

/** Runs the chunked section; returns { config, rows, sweep, eventLoop, file, notes, durationS }. */
export async function runChunked({ quick = false, ci = false, log = console.log } = {}) {
  const S = ci ? CI : quick ? QUICK : FULL;
  const started = performance.now();
  const key = crypto.randomBytes(32); // the same raw 32-byte key for tessera and node:crypto
  selfCheck(key);
  const pool = T.workerPool();
  const notes = [];
  if (quick || ci)
    notes.push(
      `${ci ? 'ci' : 'quick'} run: 1 GiB buffers skipped; the file is ${sizeLabel(S.file.size)} instead of 1 GiB (${S.file.reps} runs per case); event-loop windows ${S.loopMs / 1000} s; short sampling`,
    );
  if (pool.size < 2) notes.push(`worker pool size is ${pool.size}: threads 2 rows cannot use a second core`);
  const rows = [];

  let t = performance.now();
  const pt64 = crypto.randomFillSync(Buffer.allocUnsafeSlow(64 * MiB));
  rows.push(...(await buffers(key, 64 * MiB, pt64, S.buf64)));
  log(`  chunked 64 MiB buffers: ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // Event loop while 64 MiB async calls run back to back (the file and
  // stream workloads run with the file section below).
  t = performance.now();
  const ct64 = T.encryptChunked(key, pt64, { context: CONTEXT });
  const idle = await idleLoop(500);
  const loop = await eventLoops(loopWorkloads(key, { pt64, ct64 }).slice(0, 2), S.loopMs);
  // The same call on 1 KiB: the submit cost without a 64 MiB output.
  const small = crypto.randomBytes(KiB),
    submitSmall = [];
  for (let i = 0; i < 50; i++) {
    const s = performance.now();
    const p = T.encryptChunkedAsync(key, small, { context: CONTEXT });
    submitSmall.push(performance.now() - s);
    sink = await p;
  }
  const last = loop[loop.length - 1];
  const allocOnly = await allocOnlyLoop(64 * MiB, (2 * last.wallMs) / last.steps, S.loopMs / 2);
  log(`  chunked event loop (64 MiB buffers): ${((performance.now() - t) / 1000).toFixed(1)} s`);

  t = performance.now();
  const sw = await sweep(key, S.sweep);
  log(`  chunked sweep: ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // 1 GiB: the plaintext buffer doubles as the file's content.
  const big = S.big || S.file.size > 64 * MiB ? crypto.randomFillSync(Buffer.allocUnsafeSlow(Math.max(S.big ? GiB : 0, S.file.size))) : pt64;
  if (S.big) {
    t = performance.now();
    rows.push(...(await buffers(key, GiB, big.subarray(0, GiB), S.big)));
    log(`  chunked 1 GiB buffers: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  gc();

  t = performance.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'));
  let file;
  try {
    file = await files(key, S.file.size, big.subarray(0, S.file.size), S.file.reps, dir);
    rows.push(...file.rows);
    log(`  chunked ${sizeLabel(S.file.size)} file: ${((performance.now() - t) / 1000).toFixed(1)} s (${dir}, removed)`);
    // Event loop during files and streams of the file's size.
    t = performance.now();
    const bigPt = big.subarray(0, S.file.size);
    const paths = { src: path.join(dir, 'plain.bin'), enc: path.join(dir, 'loop.tsr'), out: path.join(dir, 'loop.out') };
    const wl = loopWorkloads(key, { pt64, ct64, big: bigPt, bigCt: T.encryptChunked(key, bigPt, { context: CONTEXT }), ...paths }).slice(2);
    loop.push(...(await eventLoops(wl, S.loopMs)));
    log(`  chunked event loop (files, streams): ${((performance.now() - t) / 1000).toFixed(1)} s`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  sink = null;

  addChunkedRatios(rows);
  return {
    config: { quick, suite: SUITE, context: CONTEXT, pool, settings: S, sweepSizes: SWEEP_SIZES, fileDir: os.tmpdir() },
    rows,
    sweep: sw,
    eventLoop: { idle, runs: loop, allocOnly, submit1KiBMs: median(submitSmall) },
    file: { size: S.file.size, sizeLabel: sizeLabel(S.file.size), reps: S.file.reps, encryptedBytes: file.encryptedBytes, pageCache: 'warm' },
    notes,
    durationS: (performance.now() - started) / 1000,
  };
}
