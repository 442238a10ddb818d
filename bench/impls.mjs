// Benchmark cases: every implementation, written the way its users write it.
// Each case is { alg, size, op, impl, api, fn, perCall, pair? }; fn is the
// measured function (inputs preallocated outside it, results kept in `sink`).
import crypto from 'node:crypto';
import { createRequire } from 'node:module';

import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { managedNonce } from '@noble/ciphers/utils.js';
import sodium from 'sodium-native';

const require = createRequire(import.meta.url);
export const tessera = require('../dist/cjs/index.js');
const { AeadKey, aead } = tessera;

export const BATCH = 10_000;

// Results land here so no call is dead code.
export let sink;
export const consume = (v) => {
  sink = v;
};

const NODE_ALG = { 'aes-256-gcm': 'aes-256-gcm', 'chacha20-poly1305': 'chacha20-poly1305' };
// managedNonce(cipher)(key, aad).encrypt(pt): random nonce, prepended (noble README).
const NOBLE = { 'aes-256-gcm': managedNonce(gcm), 'chacha20-poly1305': managedNonce(chacha20poly1305), 'xchacha20-poly1305': managedNonce(xchacha20poly1305) };
const NOBLE_RAW = { 'aes-256-gcm': gcm, 'chacha20-poly1305': chacha20poly1305, 'xchacha20-poly1305': xchacha20poly1305 };
// sodium-native's IETF AEADs: [encrypt, decrypt, nonce bytes].
const SODIUM = {
  'chacha20-poly1305': ['crypto_aead_chacha20poly1305_ietf_encrypt', 'crypto_aead_chacha20poly1305_ietf_decrypt', 12],
  'xchacha20-poly1305': ['crypto_aead_xchacha20poly1305_ietf_encrypt', 'crypto_aead_xchacha20poly1305_ietf_decrypt', 24],
};

const rand = (n) => {
  const b = Buffer.allocUnsafeSlow(n);
  crypto.randomFillSync(b);
  return b;
};

// node:crypto as users write it: fresh random IV, createCipheriv, iv||ct||tag.
// (The casts: alg is 'aes-256-gcm' or 'chacha20-poly1305', which have the same
// AEAD API; an untyped alg would pick @types/node's CCM overload.)
export function nodeSeal(alg, key, pt, aad) {
  const iv = crypto.randomBytes(12);
  const c = /** @type {crypto.CipherGCM} */ (crypto.createCipheriv(alg, key, iv, { authTagLength: 16 }));
  c.setAAD(aad);
  const ct = c.update(pt);
  const fin = c.final();
  return Buffer.concat([iv, ct, fin, c.getAuthTag()]);
}

export function nodeOpen(alg, key, sealed, aad) {
  const d = /** @type {crypto.DecipherGCM} */ (crypto.createDecipheriv(alg, key, sealed.subarray(0, 12), { authTagLength: 16 }));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  d.setAAD(aad);
  const pt = d.update(sealed.subarray(12, sealed.length - 16));
  const fin = d.final();
  return fin.length === 0 ? pt : Buffer.concat([pt, fin]);
}

function eq(a, b, what) {
  if (Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) !== 0) {
    throw new Error(`self-check failed: ${what}`);
  }
}

/** The native kernel tiers this CPU runs (lib/kernels.ts), best first. */
export function nativeTiers() {
  if (tessera.backend() !== 'native') return [];
  const out = [];
  for (const t of ['vaes512', 'vaes256', 'aesni', 'openssl']) {
    try {
      tessera.useNativeKernel(t);
      out.push(t);
    } catch {
      /* this CPU lacks it */
    }
  }
  tessera.useNativeKernel('auto');
  return out;
}

/** Shared inputs for one algorithm and size. */
export function makeInputs(alg, size) {
  const key = AeadKey.generate(alg, { nonceLimit: 2n ** 62n });
  const pt = rand(size);
  const aad = rand(16);
  return { alg, size, key, pt, aad, keyBytes: rand(32), nonce: rand(alg.startsWith('x') ? 24 : 12) };
}

/**
 * Cases for one (alg, size). opts: { raw: bool (64 B API shapes), batch: bool,
 * noble: bool, sodium: bool, async: bool, only: Set<string> of impl/api keys }.
 */
export function buildCases(inp, opts) {
  const { alg, size, key, pt, aad, keyBytes, nonce } = inp;
  const nodeAlg = NODE_ALG[alg];
  const cases = [];
  const add = (op, impl, api, fn, extra = {}) => {
    if (opts.only && !opts.only.has(`${op} ${impl} ${api}`)) return;
    cases.push({ alg, size, op, impl, api, fn, perCall: 1, ...extra });
  };

  // --- tessera AeadKey (random nonce, message format v1) ---
  const sealed = key.seal(pt, { aad });
  const out = new Uint8Array(key.sealedLength(size));
  const ptOut = new Uint8Array(size);
  eq(key.open(sealed, { aad }), pt, `${alg} key.open`);
  add('seal', 'tessera', 'key.sealInto', () => {
    sink = key.sealInto(out, pt, { aad });
  });
  add('seal', 'tessera', 'key.seal', () => {
    sink = key.seal(pt, { aad });
  });
  add('open', 'tessera', 'key.openInto', () => {
    sink = key.openInto(ptOut, sealed, { aad });
  });
  add('open', 'tessera', 'key.open', () => {
    sink = key.open(sealed, { aad });
  });
  if (opts.async) {
    add(
      'seal',
      'tessera',
      'key.sealAsync',
      async () => {
        sink = await key.sealAsync(pt, { aad });
      },
      { async: true },
    );
    add(
      'open',
      'tessera',
      'key.openAsync',
      async () => {
        sink = await key.openAsync(sealed, { aad });
      },
      { async: true },
    );
  }
  // --- tessera per native kernel tier (same API, keys made under each tier) ---
  if (opts.tiers) {
    const chachaSame = new Set(); // aesni runs the same ChaCha20 kernel as vaes256
    for (const tier of nativeTiers()) {
      tessera.useNativeKernel(tier);
      const kind = tessera.nativeKernels()[alg];
      tessera.useNativeKernel('auto');
      if (chachaSame.has(kind)) continue;
      chachaSame.add(kind);
      tessera.useNativeKernel(tier);
      const tk = AeadKey.import(alg, inp.keyBytes, { nonceLimit: 2n ** 62n });
      tessera.useNativeKernel('auto');
      const tSealed = tk.seal(pt, { aad });
      eq(tk.open(tSealed, { aad }), pt, `${alg} ${tier} round trip`);
      const tOut = new Uint8Array(tk.sealedLength(size)),
        tPt = new Uint8Array(size);
      add(
        'seal',
        `tessera ${tier}`,
        'key.sealInto',
        () => {
          sink = tk.sealInto(tOut, pt, { aad });
        },
        { tier, kernel: kind },
      );
      add(
        'open',
        `tessera ${tier}`,
        'key.openInto',
        () => {
          sink = tk.openInto(tPt, tSealed, { aad });
        },
        { tier, kernel: kind },
      );
      inp.tierKeys = [...(inp.tierKeys ?? []), tk];
    }
  }
  if (opts.batch) {
    const msgs = Array.from({ length: BATCH }, () => rand(size));
    const sealedMsgs = key.sealBatch(msgs, { aad });
    eq(key.openBatch(sealedMsgs, { aad })[BATCH - 1], msgs[BATCH - 1], `${alg} openBatch`);
    add(
      'seal',
      'tessera',
      `key.sealBatch (${BATCH} msgs, per msg)`,
      () => {
        sink = key.sealBatch(msgs, { aad });
      },
      { perCall: BATCH },
    );
    add(
      'open',
      'tessera',
      `key.openBatch (${BATCH} msgs, per msg)`,
      () => {
        sink = key.openBatch(sealedMsgs, { aad });
      },
      { perCall: BATCH },
    );
  }

  // --- tessera raw AEAD: key bytes and nonce on every call ---
  if (opts.raw && nodeAlg) {
    const rawOut = new Uint8Array(size + 16);
    const rawSealed = aead.seal(alg, keyBytes, nonce, pt, aad);
    // Same key + nonce must give node:crypto's bytes.
    const c = /** @type {crypto.CipherGCM} */ (crypto.createCipheriv(nodeAlg, keyBytes, nonce, { authTagLength: 16 }));
    c.setAAD(aad);
    eq(rawSealed, Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]), `${alg} aead.seal vs node:crypto`);
    add(
      'seal',
      'tessera',
      'aead.sealInto (key bytes + nonce per call)',
      () => {
        sink = aead.sealInto(rawOut, alg, keyBytes, nonce, pt, aad);
      },
      { pair: 'fixed-nonce' },
    );
    add('seal', 'tessera', 'aead.seal (key bytes + nonce per call)', () => {
      sink = aead.seal(alg, keyBytes, nonce, pt, aad);
    });
    add(
      'open',
      'tessera',
      'aead.openInto (key bytes + nonce per call)',
      () => {
        sink = aead.openInto(ptOut, alg, keyBytes, nonce, rawSealed, aad);
      },
      { pair: 'fixed-nonce' },
    );
    add('open', 'tessera', 'aead.open (key bytes + nonce per call)', () => {
      sink = aead.open(alg, keyBytes, nonce, rawSealed, aad);
    });
  }
  for (const c of cases) if (c.api === 'key.sealInto' || c.api === 'key.openInto') c.pair = 'message';

  // --- node:crypto, as users write it ---
  if (nodeAlg) {
    const nSealed = nodeSeal(nodeAlg, keyBytes, pt, aad);
    eq(nodeOpen(nodeAlg, keyBytes, nSealed, aad), pt, `${alg} node:crypto open`);
    add(
      'seal',
      'node:crypto',
      'createCipheriv + concat',
      () => {
        sink = nodeSeal(nodeAlg, keyBytes, pt, aad);
      },
      { baseline: true },
    );
    add(
      'open',
      'node:crypto',
      'createDecipheriv',
      () => {
        sink = nodeOpen(nodeAlg, keyBytes, nSealed, aad);
      },
      { baseline: true },
    );
  }

  // --- @noble/ciphers (pure JS) ---
  if (opts.noble && NOBLE[alg]) {
    const M = NOBLE[alg];
    const nbSealed = M(keyBytes, aad).encrypt(pt);
    eq(M(keyBytes, aad).decrypt(nbSealed), pt, `${alg} noble`);
    eq(NOBLE_RAW[alg](keyBytes, nonce, aad).encrypt(pt), aead.seal(alg, keyBytes, nonce, pt, aad), `${alg} noble vs tessera`);
    add('seal', '@noble/ciphers', 'managedNonce(cipher)(key, aad).encrypt', () => {
      sink = M(keyBytes, aad).encrypt(pt);
    });
    add('open', '@noble/ciphers', 'managedNonce(cipher)(key, aad).decrypt', () => {
      sink = M(keyBytes, aad).decrypt(nbSealed);
    });
  } else if (opts.nobleNA && NOBLE[alg]) {
    cases.push({ alg, size, op: 'seal', impl: '@noble/ciphers', api: 'managedNonce(cipher)(key, aad).encrypt', na: 'n/a (too slow)' });
    cases.push({ alg, size, op: 'open', impl: '@noble/ciphers', api: 'managedNonce(cipher)(key, aad).decrypt', na: 'n/a (too slow)' });
  }

  // --- sodium-native, crypto_aead_(x)chacha20poly1305_ietf_* ---
  if (opts.sodium && SODIUM[alg]) {
    const [encName, decName, NB] = SODIUM[alg];
    const enc = sodium[encName],
      dec = sodium[decName];
    const sk = rand(32);
    // Message shape (like key.sealInto): fresh random nonce || ct || tag into a preallocated buffer.
    const msg = Buffer.alloc(NB + size + 16);
    const npubView = msg.subarray(0, NB);
    const cView = msg.subarray(NB);
    const m = Buffer.alloc(size);
    sodium.randombytes_buf(npubView);
    enc(cView, pt, aad, null, npubView, sk);
    const msgCopy = Buffer.from(msg);
    dec(m, null, msgCopy.subarray(NB), aad, msgCopy.subarray(0, NB), sk);
    eq(m, pt, 'sodium round trip');
    add(
      'seal',
      'sodium-native',
      'randombytes_buf + ietf_encrypt (prealloc)',
      () => {
        sodium.randombytes_buf(npubView);
        sink = enc(cView, pt, aad, null, npubView, sk);
      },
      { pair: 'message', sodiumBase: true },
    );
    add(
      'open',
      'sodium-native',
      'ietf_decrypt (prealloc)',
      () => {
        sink = dec(m, null, msgCopy.subarray(NB), aad, msgCopy.subarray(0, NB), sk);
      },
      { pair: 'message', sodiumBase: true },
    );
    if (opts.raw) {
      // Raw shape (like aead.sealInto): caller's key + nonce, preallocated output.
      const c = Buffer.alloc(size + 16);
      enc(c, pt, aad, null, nonce, keyBytes);
      eq(c, aead.seal(alg, keyBytes, nonce, pt, aad), 'sodium vs tessera raw');
      const cFixed = Buffer.from(c);
      add(
        'seal',
        'sodium-native',
        'ietf_encrypt, fixed nonce (prealloc)',
        () => {
          sink = enc(c, pt, aad, null, nonce, keyBytes);
        },
        { pair: 'fixed-nonce', sodiumBase: true },
      );
      add(
        'open',
        'sodium-native',
        'ietf_decrypt, fixed nonce (prealloc)',
        () => {
          sink = dec(m, null, cFixed, aad, nonce, keyBytes);
        },
        { pair: 'fixed-nonce', sodiumBase: true },
      );
    }
  }
  return cases;
}
