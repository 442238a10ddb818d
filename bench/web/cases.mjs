// Cases for the wasm section of the benchmark (bench/wasm.mjs), shared by
// Node (bench/wasm.mjs --child) and Chromium (bench/web/page.mjs) so that
// both run the same comparisons. Platform-neutral: no Node API, the library
// objects are passed in ({ T: tessera, sodium: libsodium-wrappers after
// `await sodium.ready`, noble: { gcm, chacha20poly1305, xchacha20poly1305 } }).
//
// Every case is { alg, size, op, impl, api, role, fn, async? }; role says
// what the ratios compare: 'raw' (tessera aead.seal/open: key bytes + nonce
// per call), 'key' (tessera AeadKey: random nonce, message header), 'sodium',
// 'noble', 'webcrypto'. fn's result goes to `sink` so no call is dead code.
// Only lengths and equality are ever checked, never printed.

export const KiB = 1024,
  MiB = 1024 * KiB;
export const AES = 'aes-256-gcm',
  CHACHA = 'chacha20-poly1305',
  XCHACHA = 'xchacha20-poly1305',
  XAES = 'xaes-256-gcm';
export const SUITE = 'cobblestone-256';
export const CONTEXT = 'tessera bench wasm';
export const CHUNKED_SIZE = 16 * MiB;

let sink;
export const consume = (v) => {
  sink = v;
  return sink;
};

/** Random bytes (getRandomValues takes at most 64 KiB per call). */
export function rand(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) globalThis.crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

export function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

function check(ok, what) {
  if (!ok) throw new Error(`wasm bench self-check failed: ${what}`);
}

/**
 * The (alg, size) groups. The browser page runs the short list; Node
 * (matrix = true) every AEAD at 64 B, 1 KiB, 16 KiB and 1 MiB.
 * @returns {Array<[alg: string, size: number]>}
 */
export function aeadPlan(matrix = false) {
  if (matrix) return [64, KiB, 16 * KiB, MiB].flatMap((size) => [AES, CHACHA, XCHACHA, XAES].map((alg) => /** @type {[string, number]} */ ([alg, size])));
  return [
    [CHACHA, 16 * KiB],
    [CHACHA, MiB],
    [AES, 16 * KiB],
    [AES, MiB],
    [XCHACHA, 16 * KiB],
    [XAES, 16 * KiB],
  ];
}

const SODIUM_FN = {
  [CHACHA]: ['crypto_aead_chacha20poly1305_ietf_encrypt', 'crypto_aead_chacha20poly1305_ietf_decrypt'],
  [XCHACHA]: ['crypto_aead_xchacha20poly1305_ietf_encrypt', 'crypto_aead_xchacha20poly1305_ietf_decrypt'],
  // libsodium-wrappers 0.8 (the wasm/asm.js build) has no crypto_aead_aes256gcm_*: checked below.
  [AES]: ['crypto_aead_aes256gcm_encrypt', 'crypto_aead_aes256gcm_decrypt'],
};
const NOBLE_FN = { [CHACHA]: 'chacha20poly1305', [XCHACHA]: 'xchacha20poly1305', [AES]: 'gcm' };
const NONCE = { [AES]: 12, [CHACHA]: 12, [XCHACHA]: 24, [XAES]: 24 };

/**
 * Cases for one (alg, size). Also returns the notes (what is not available).
 * `label` names the tessera module ('wasm simd' / 'wasm scalar').
 * nodeSeal (Node only): [seal, open] of bench/impls.mjs (nodeSeal, nodeOpen).
 *
 * @param {{ T: any, sodium: any, noble: any, nodeSeal?: [seal: Function, open: Function], alg: string, size: number, label: string }} libs
 */
export function aeadCases({ T, sodium, noble, nodeSeal, alg, size, label }) {
  const key = rand(32),
    nonce = rand(NONCE[alg]),
    aad = rand(16),
    pt = rand(size);
  const cases = [],
    notes = [];
  const add = (role, op, impl, api, fn, extra = {}) => cases.push({ alg, size, op, impl, api, role, fn, ...extra });

  // --- tessera raw: aead.seal(alg, key, nonce, pt, aad) ---
  const sealed = T.aead.seal(alg, key, nonce, pt, aad);
  check(equal(T.aead.open(alg, key, nonce, sealed, aad), pt), `${alg} tessera raw round trip`);
  add('raw', 'seal', `tessera ${label}`, 'aead.seal(alg, key, nonce, pt, aad)', () => consume(T.aead.seal(alg, key, nonce, pt, aad)));
  add('raw', 'open', `tessera ${label}`, 'aead.open(alg, key, nonce, sealed, aad)', () => consume(T.aead.open(alg, key, nonce, sealed, aad)));

  // --- tessera AeadKey: random nonce, message format v1 ---
  const k = T.AeadKey.import(alg, key, { nonceLimit: 2n ** 62n });
  const msg = k.seal(pt, { aad });
  check(equal(k.open(msg, { aad }), pt), `${alg} tessera AeadKey round trip`);
  add('key', 'seal', `tessera ${label}`, 'AeadKey.seal(pt, { aad })', () => consume(k.seal(pt, { aad })));
  add('key', 'open', `tessera ${label}`, 'AeadKey.open(msg, { aad })', () => consume(k.open(msg, { aad })));

  // --- libsodium-wrappers: same shape as the raw API (key + nonce per call) ---
  const sf = SODIUM_FN[alg];
  if (sf && typeof sodium[sf[0]] === 'function') {
    const [enc, dec] = sf.map((n) => sodium[n].bind(sodium));
    const s = enc(pt, aad, null, nonce, key);
    check(equal(s, sealed), `${alg} libsodium-wrappers vs tessera bytes`);
    add('sodium', 'seal', 'libsodium-wrappers', `${sf[0].replace('crypto_aead_', '')}(pt, aad, null, nonce, key)`, () =>
      consume(enc(pt, aad, null, nonce, key)),
    );
    add('sodium', 'open', 'libsodium-wrappers', `${sf[1].replace('crypto_aead_', '')}(null, sealed, aad, nonce, key)`, () =>
      consume(dec(null, s, aad, nonce, key)),
    );
  } else {
    notes.push(`libsodium-wrappers has no ${alg} (${sf ? `${sf[0]} is missing` : 'no such construction in libsodium'})`);
  }

  // --- node:crypto as users write it (Node only): random IV, createCipheriv, iv || ct || tag ---
  if (nodeSeal && (alg === AES || alg === CHACHA)) {
    const [seal, open] = nodeSeal;
    const m = seal(alg, key, pt, aad);
    check(equal(open(alg, key, m, aad), pt), `${alg} node:crypto round trip`);
    add('node', 'seal', 'node:crypto', 'createCipheriv + concat', () => consume(seal(alg, key, pt, aad)));
    add('node', 'open', 'node:crypto', 'createDecipheriv', () => consume(open(alg, key, m, aad)));
  }

  // --- @noble/ciphers: cipher(key, nonce, aad).encrypt(pt) ---
  const nf = NOBLE_FN[alg];
  if (nf && noble[nf]) {
    const C = noble[nf];
    const n = C(key, nonce, aad).encrypt(pt);
    check(equal(n, sealed), `${alg} @noble/ciphers vs tessera bytes`);
    check(equal(C(key, nonce, aad).decrypt(n), pt), `${alg} @noble/ciphers round trip`);
    add('noble', 'seal', '@noble/ciphers', `${nf}(key, nonce, aad).encrypt(pt)`, () => consume(C(key, nonce, aad).encrypt(pt)));
    add('noble', 'open', '@noble/ciphers', `${nf}(key, nonce, aad).decrypt(sealed)`, () => consume(C(key, nonce, aad).decrypt(n)));
  } else {
    notes.push(`@noble/ciphers has no ${alg}`);
  }
  const dispose = () => {
    k.dispose();
    key.fill(0);
  };
  return { cases, notes, inputs: { key, nonce, aad, pt, sealed }, dispose };
}

/**
 * Cobblestone-256 cases on one plaintext: encryptChunkedAsync /
 * decryptChunkedAsync with { threads: 1 } and { threads: 2 } (the wasm
 * backend's worker pool), plus the synchronous calls on the calling thread.
 */
export async function chunkedCases({ T, key, pt, sync = true }) {
  const opts = (threads) => ({ context: CONTEXT, threads });
  const ct = await T.encryptChunkedAsync(key, pt, opts(2));
  check(equal(await T.decryptChunkedAsync(key, ct, opts(1)), pt), 'Cobblestone async round trip');
  check(equal(T.decryptChunked(key, ct, { context: CONTEXT }), pt), 'Cobblestone sync open of async output');
  const cases = [];
  const add = (op, api, fn, extra) => cases.push({ alg: SUITE, size: pt.length, op, impl: 'tessera', api, fn, async: true, ...extra });
  for (const threads of [1, 2])
    add('encrypt', `encryptChunkedAsync({ threads: ${threads} })`, async () => consume(await T.encryptChunkedAsync(key, pt, opts(threads))), { threads });
  for (const threads of [1, 2])
    add('decrypt', `decryptChunkedAsync({ threads: ${threads} })`, async () => consume(await T.decryptChunkedAsync(key, ct, opts(threads))), { threads });
  if (sync) {
    add('encrypt', 'encryptChunked (sync, calling thread)', () => consume(T.encryptChunked(key, pt, { context: CONTEXT })), { async: false, reference: true });
    add('decrypt', 'decryptChunked (sync, calling thread)', () => consume(T.decryptChunked(key, ct, { context: CONTEXT })), { async: false, reference: true });
  }
  return { cases, ct };
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Interleaved timing: every case runs once per pass, passes alternate the
 * case order, a row is the median pass. calls(c) calls per sample (for small
 * messages); between() runs untimed before each sample (Node: GC).
 *
 * @param {any[]} cases
 * @param {{ reps: number, warmup?: number, calls?: (c: any) => number, between?: () => unknown, now?: () => number }} opts
 */
export async function interleave(cases, { reps, warmup = 0, calls = () => 1, between, now = () => performance.now() }) {
  const times = new Map(cases.map((c) => [c, []]));
  for (let pass = -warmup; pass < reps; pass++) {
    for (const c of pass % 2 === 0 ? cases : [...cases].reverse()) {
      if (between) await between();
      const n = calls(c);
      const t0 = now();
      if (c.async) for (let i = 0; i < n; i++) await c.fn();
      else for (let i = 0; i < n; i++) c.fn();
      const ms = (now() - t0) / n;
      if (pass >= 0) times.get(c).push(ms);
    }
  }
  return cases.map((c) => {
    const ms = times.get(c);
    const med = median(ms);
    return {
      alg: c.alg,
      size: c.size,
      op: c.op,
      impl: c.impl,
      api: c.api,
      role: c.role,
      threads: c.threads,
      reference: c.reference,
      opsPerSec: 1000 / med,
      MBps: c.size / 1e6 / (med / 1000),
      samples: ms.length,
      callsPerSample: calls(c),
      msPerCall: { median: med, min: Math.min(...ms), max: Math.max(...ms) },
      method: `median of ${reps} interleaved samples${warmup ? ` (+${warmup} warm-up)` : ''}`,
    };
  });
}

/** Calls per sample so that one sample takes about sampleMs (measured after a short warm-up). */
export async function calibrate(c, sampleMs, now = () => performance.now()) {
  const once = async () => (c.async ? await c.fn() : c.fn());
  for (let i = 0; i < 3; i++) await once();
  let n = 1,
    ms;
  for (;;) {
    const t0 = now();
    for (let i = 0; i < n; i++) await once();
    ms = now() - t0;
    if (ms >= sampleMs / 4 || n >= 1 << 16) break;
    n *= 4;
  }
  return Math.max(1, Math.min(1 << 16, Math.round((n * sampleMs) / Math.max(ms, 1e-3))));
}

/** Same-run ratios of tessera rows against node:crypto, libsodium-wrappers and @noble/ciphers (same alg, size, op). */
export function addRatios(rows) {
  const find = (r, role) => rows.find((b) => b.role === role && b.alg === r.alg && b.size === r.size && b.op === r.op && b.opsPerSec);
  for (const r of rows) {
    if (r.role !== 'raw' && r.role !== 'key') continue;
    const s = find(r, 'sodium'),
      n = find(r, 'noble'),
      w = find(r, 'webcrypto'),
      o = find(r, 'node');
    if (o) r.vsNode = r.opsPerSec / o.opsPerSec;
    if (s) r.vsSodium = r.opsPerSec / s.opsPerSec;
    if (n) r.vsNoble = r.opsPerSec / n.opsPerSec;
    if (w) r.vsWebCrypto = r.opsPerSec / w.opsPerSec;
  }
  return rows;
}
