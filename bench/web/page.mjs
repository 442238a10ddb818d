// The Chromium bench page (bench/web/index.html), driven by
// bench/wasm-browser.mjs: window.tsrBench.{init, plan, aead, chunked}.
// Timing: performance.now(), calls per sample calibrated to settings.sampleMs,
// cases interleaved (order alternating per pass), median sample per case
// (bench/web/cases.mjs interleave). Results are timings, never bytes.
//
// Besides the cases shared with Node (cases.mjs), the page measures the
// browser's WebCrypto: AES-256-GCM one message at a time (awaited), and a
// Cobblestone-256 written on crypto.subtle for async chunk work (HMAC-SHA-512
// HKDF-Expand for the chunk key, importKey, then every 16 KiB chunk's
// encrypt/decrypt with its per-chunk nonce under one Promise.all), checked
// to interoperate with tessera both ways.
import * as T from '/dist/browser/browser/index.js';
import sodium from 'libsodium-wrappers';
import { gcm } from '/node_modules/@noble/ciphers/aes.js';
import { chacha20poly1305, xchacha20poly1305 } from '/node_modules/@noble/ciphers/chacha.js';
import * as C from './cases.mjs';

const subtle = globalThis.crypto.subtle;
const noble = { gcm, chacha20poly1305, xchacha20poly1305 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let label = 'wasm';

/**
 * init({ simd, webCrypto }): webCrypto (an InitOptions field of newer builds)
 * is passed only when given; webCryptoOption says whether this build of the
 * browser entry has it (then async Cobblestone work runs on crypto.subtle
 * AES-GCM from the page's thread unless webCrypto is false, which puts it on
 * the worker pool with the module's AES).
 */
async function init({ simd, webCrypto }) {
  await T.init(undefined, webCrypto === undefined ? { simd } : { simd, webCrypto });
  await sodium.ready;
  T.workerPool({ size: 2 });
  const st = T.__poolStats();
  label = `wasm ${st.flavor}`;
  const entry = await (await fetch('/dist/browser/browser/index.js')).text();
  return {
    backend: T.backend(),
    flavor: st.flavor,
    pool: T.workerPool(),
    hardwareConcurrency: navigator.hardwareConcurrency,
    webCryptoOption: /\bwebCrypto\b/.test(entry),
    webCrypto: webCrypto ?? 'default',
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated,
    sodiumVersion: sodium.SODIUM_VERSION_STRING,
  };
}

/** WebCrypto AES-256-GCM, one awaited message per call (the CryptoKey imported once). */
async function webCryptoAeadCases(alg, size, inputs, tesseraSealed) {
  if (alg !== C.AES) return [];
  const { key, nonce, aad, pt } = inputs;
  const ck = await subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']);
  const p = { name: 'AES-GCM', iv: nonce, additionalData: aad };
  const s = new Uint8Array(await subtle.encrypt(p, ck, pt));
  if (!C.equal(s, tesseraSealed)) throw new Error('self-check failed: WebCrypto AES-GCM vs tessera bytes');
  if (!C.equal(new Uint8Array(await subtle.decrypt(p, ck, s)), pt)) throw new Error('self-check failed: WebCrypto AES-GCM round trip');
  const base = { alg, size, impl: 'WebCrypto', role: 'webcrypto', async: true };
  return [
    {
      ...base,
      op: 'seal',
      api: "await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData }, key, pt)",
      fn: async () => C.consume(await subtle.encrypt(p, ck, pt)),
    },
    {
      ...base,
      op: 'open',
      api: "await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData }, key, sealed)",
      fn: async () => C.consume(await subtle.decrypt(p, ck, s)),
    },
  ];
}

async function aead(alg, size, settings) {
  const g = C.aeadCases({ T, sodium, noble, alg, size, label });
  try {
    const cases = [...g.cases, ...(await webCryptoAeadCases(alg, size, g.inputs, g.inputs.sealed))];
    const calls = new Map();
    for (const c of cases) calls.set(c, await C.calibrate(c, settings.sampleMs));
    const rows = await C.interleave(cases, { reps: settings.reps, warmup: settings.warmup, calls: (c) => calls.get(c) });
    for (const r of rows) r.method = `${r.method}, ${r.callsPerSample} call${r.callsPerSample === 1 ? '' : 's'} per sample`;
    return { rows: C.addRatios(rows), notes: g.notes };
  } finally {
    g.dispose();
  }
}

// ---------------------------------------------------------------------------
// Cobblestone-256 on WebCrypto (c2sp.org/chunked-encryption, as bench/chunked.mjs's JS loop).

const CHUNK = 16384,
  TAG = 16,
  SALT = 24,
  COMMIT = 32,
  HEADER = SALT + COMMIT;
const INFO_PREFIX = new TextEncoder().encode('c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM\0');
const CONTEXT = new TextEncoder().encode(C.CONTEXT);

const cat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** HKDF-SHA-512-Expand(PRK = the input key, info = prefix || salt || context, 76) -> chunk key, base nonce, commitment. */
async function derive(key, salt) {
  const hk = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-512' }, false, ['sign']);
  const info = cat(INFO_PREFIX, salt, CONTEXT);
  const t1 = new Uint8Array(await subtle.sign('HMAC', hk, cat(info, [1])));
  const t2 = new Uint8Array(await subtle.sign('HMAC', hk, cat(t1, info, [2])));
  const okm = cat(t1, t2);
  const chunkKey = await subtle.importKey('raw', okm.subarray(0, 32), 'AES-GCM', false, ['encrypt', 'decrypt']);
  const r = { chunkKey, base: okm.slice(32, 44), commitment: okm.slice(44, 76) };
  okm.fill(0);
  return r;
}

function chunkNonce(base, k) {
  const n = base.slice();
  const v = new DataView(n.buffer);
  v.setUint32(8, (v.getUint32(8) ^ k) >>> 0);
  v.setUint32(4, (v.getUint32(4) ^ Math.floor(k / 2 ** 32)) >>> 0);
  return n;
}

async function wcEncrypt(key, pt) {
  const salt = C.rand(SALT);
  const d = await derive(key, salt);
  const n = pt.length,
    chunks = Math.floor(n / CHUNK) + 1;
  const out = new Uint8Array(HEADER + n + chunks * TAG);
  out.set(salt, 0);
  out.set(d.commitment, SALT);
  await Promise.all(
    Array.from({ length: chunks }, async (_, k) => {
      const ct = await subtle.encrypt({ name: 'AES-GCM', iv: chunkNonce(d.base, k) }, d.chunkKey, pt.subarray(k * CHUNK, Math.min(n, (k + 1) * CHUNK)));
      out.set(new Uint8Array(ct), HEADER + k * (CHUNK + TAG));
    }),
  );
  return out;
}

async function wcDecrypt(key, ct) {
  const d = await derive(key, ct.subarray(0, SALT));
  if (!C.equal(d.commitment, ct.subarray(SALT, HEADER))) throw new Error('commitment mismatch');
  const body = ct.length - HEADER;
  const full = Math.floor(body / (CHUNK + TAG)),
    rest = body % (CHUNK + TAG);
  if (rest < TAG) throw new Error('truncated');
  const out = new Uint8Array(full * CHUNK + rest - TAG);
  await Promise.all(
    Array.from({ length: full + 1 }, async (_, k) => {
      const at = HEADER + k * (CHUNK + TAG);
      const pt = await subtle.decrypt({ name: 'AES-GCM', iv: chunkNonce(d.base, k) }, d.chunkKey, ct.subarray(at, Math.min(ct.length, at + CHUNK + TAG)));
      out.set(new Uint8Array(pt), k * CHUNK);
    }),
  );
  return out;
}

async function chunked(settings, { sync = true } = {}) {
  const key = C.rand(32),
    pt = C.rand(C.CHUNKED_SIZE);
  try {
    const { cases, ct } = await C.chunkedCases({ T, key, pt, sync });
    // Interop both ways (also a check that the WebCrypto loop is the real Cobblestone-256).
    for (const n of [0, 100, CHUNK, 3 * CHUNK + 777]) {
      const small = C.rand(n);
      if (!C.equal(T.decryptChunked(key, await wcEncrypt(key, small), { context: C.CONTEXT }), small))
        throw new Error(`self-check failed: tessera opens WebCrypto Cobblestone (${n} B)`);
    }
    if (!C.equal(await wcDecrypt(key, ct), pt)) throw new Error('self-check failed: WebCrypto Cobblestone opens tessera');
    const wct = await wcEncrypt(key, pt);
    const base = { alg: C.SUITE, size: pt.length, impl: 'WebCrypto', role: 'webcrypto', async: true };
    cases.push(
      {
        ...base,
        op: 'encrypt',
        api: 'crypto.subtle Cobblestone: HKDF-Expand (HMAC) + Promise.all(encrypt per 16 KiB chunk)',
        fn: async () => C.consume(await wcEncrypt(key, pt)),
      },
      {
        ...base,
        op: 'decrypt',
        api: 'crypto.subtle Cobblestone: HKDF-Expand (HMAC) + Promise.all(decrypt per 16 KiB chunk)',
        fn: async () => C.consume(await wcDecrypt(key, wct)),
      },
    );
    const before = T.__poolStats();
    const rows = await C.interleave(cases, { ...settings, between: () => sleep(5) });
    for (const r of rows) r.role ??= 'tessera';
    const after = T.__poolStats();
    return { rows, pool: T.workerPool(), poolTasks: after.tasks - before.tasks, workersStarted: after.workers };
  } finally {
    key.fill(0);
  }
}

window.tsrBench = { init, plan: () => C.aeadPlan(), aead, chunked };
