/**
 * Differential test of the raw AEAD API (lib/aead.ts `aead.seal/open/
 * sealInto/openInto`) against independent implementations, for the four
 * algorithms of message format v1 (@noble/ciphers is the independent
 * reference).
 *
 * Proves, for each algorithm, over >= 10 000 random cases:
 *  - aead.seal output is byte-identical to an independent implementation:
 *      aes-256-gcm         node:crypto createCipheriv (authTagLength 16), every case
 *      chacha20-poly1305   node:crypto createCipheriv (authTagLength 16), every case
 *      xchacha20-poly1305  sodium-native (libsodium), every case
 *      xaes-256-gcm        c2sp.org/XAES-256-GCM built here from node:crypto
 *                          AES-256-ECB (the spec's KDF steps 1-6) + aes-256-gcm, every case
 *    and against @noble/ciphers (pure JS; for XAES: noble cmac as the
 *    SP 800-108 KDF + noble gcm) on a few thousand of them (mostly the small
 *    ones, a share of 64 KiB ones and a few 1 MiB ones: noble is slow);
 *  - open(seal(x)) === x;
 *  - in place: sealInto/openInto with out starting at the plaintext, at odd
 *    offsets of a larger buffer, give the same ct || tag and plaintext back.
 * Shapes: lengths 0..1 MiB skewed (90% <= 2 KiB, 9% <= 64 KiB, 1% <= 1 MiB,
 * plus edge lengths), aad 0..256 bytes (or absent), key/nonce/pt/aad as
 * unaligned views half of the time. A seeded PRNG picks the shapes (seed in
 * the test name; rerun with TESSERA_SEED=<seed>); contents are random bytes.
 */
import * as crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { gcm, cmac } from '@noble/ciphers/aes.js';
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { describe, expect, test } from 'vitest';
import { prng, T } from './tessera';
import { nodeAead, xaesNode } from './references';

const sodium = createRequire(import.meta.url)('sodium-native') as {
  crypto_aead_xchacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): number;
};

type Alg = 'aes-256-gcm' | 'chacha20-poly1305' | 'xchacha20-poly1305' | 'xaes-256-gcm';
const ALGS: Alg[] = ['aes-256-gcm', 'chacha20-poly1305', 'xchacha20-poly1305', 'xaes-256-gcm'];
const NONCE: Record<Alg, number> = { 'aes-256-gcm': 12, 'chacha20-poly1305': 12, 'xchacha20-poly1305': 24, 'xaes-256-gcm': 24 };
const CASES = 10_000;
const SEED = process.env.TESSERA_SEED !== undefined ? Number(process.env.TESSERA_SEED) >>> 0 : crypto.randomBytes(4).readUInt32LE(0);
const EDGE_LENGTHS = [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 257, 4095, 4096, 4097, 16384, 65535, 65536, 1 << 20];

const b = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** XAES-256-GCM on @noble/ciphers: SP 800-108r1 counter KDF with real CMAC-AES256, then noble GCM. */
function xaesNoble(key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad?: Uint8Array): Uint8Array {
  const msg = (i: number) => Uint8Array.from([0x00, i, 0x58, 0x00, ...nonce.subarray(0, 12)]);
  const Kx = new Uint8Array(32);
  Kx.set(cmac(msg(1), key), 0);
  Kx.set(cmac(msg(2), key), 16);
  return gcm(Kx, nonce.slice(12, 24), aad).encrypt(pt);
}

function reference(alg: Alg, key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad?: Uint8Array): Buffer {
  switch (alg) {
    case 'aes-256-gcm':
    case 'chacha20-poly1305':
      return nodeAead(alg, key, nonce, pt, aad);
    case 'xchacha20-poly1305': {
      const out = Buffer.alloc(pt.length + 16);
      const n = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out, b(pt), aad && aad.length ? b(aad) : null, null, b(nonce), b(key));
      expect(n).toBe(pt.length + 16);
      return out;
    }
    case 'xaes-256-gcm':
      return xaesNode(key, nonce, pt, aad);
  }
}

function noble(alg: Alg, key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad?: Uint8Array): Uint8Array {
  // Copies: noble gets plain, aligned arrays of its own.
  const k = Uint8Array.from(key),
    n = Uint8Array.from(nonce),
    p = Uint8Array.from(pt),
    a = aad ? Uint8Array.from(aad) : undefined;
  switch (alg) {
    case 'aes-256-gcm':
      return gcm(k, n, a).encrypt(p);
    case 'chacha20-poly1305':
      return chacha20poly1305(k, n, a).encrypt(p);
    case 'xchacha20-poly1305':
      return xchacha20poly1305(k, n, a).encrypt(p);
    case 'xaes-256-gcm':
      return xaesNoble(k, n, p, a);
  }
}

/** n random bytes, as a view at `offset` inside a larger random buffer when offset > 0. */
function bytes(n: number, offset: number): Uint8Array {
  if (offset === 0) return crypto.randomBytes(n);
  const big = crypto.randomBytes(n + offset + 7);
  return big.subarray(offset, offset + n);
}

describe('raw AEAD differential', () => {
  test('the references agree with the spec vectors (sanity of the test itself)', () => {
    const key = Buffer.alloc(32, 0x03),
      nonce = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWX'),
      pt = Buffer.from('XAES-256-GCM'),
      aad = Buffer.from('c2sp.org/XAES-256-GCM');
    const want = '986ec1832593df5443a179437fd083bf3fdb41abd740a21f71eb769d';
    expect(xaesNode(key, nonce, pt, aad).toString('hex')).toBe(want);
    expect(Buffer.from(xaesNoble(key, nonce, pt, aad)).toString('hex')).toBe(want);
    const k1 = Buffer.alloc(32, 0x01);
    expect(xaesNode(k1, nonce, pt).toString('hex')).toBe('ce546ef63c9cc60765923609b33a9a1974e96e52daf2fcf7075e2271');
  });

  for (const alg of ALGS) {
    test(`${alg}: ${CASES} random cases vs independent implementations (seed ${SEED})`, () => {
      const r = prng(SEED ^ (ALGS.indexOf(alg) * 0x9e3779b1));
      const nl = NONCE[alg];
      const failures: string[] = [];
      const stats = { cases: 0, reference: 0, noble: 0, inPlace: 0, over2k: 0, over64k: 0, unaligned: 0, noAad: 0, bytes: 0 };
      let bigNoble = 0;
      for (let i = 0; i < CASES; i++) {
        const u = r.float();
        const len = i < EDGE_LENGTHS.length ? EDGE_LENGTHS[i]! : u < 0.9 ? r.int(2049) : u < 0.99 ? r.int(65537) : r.int((1 << 20) + 1);
        const aadLen = r.int(257);
        const noAad = aadLen === 0 || r.float() < 0.05;
        const unaligned = r.float() < 0.5;
        const off = () => (unaligned ? 1 + 2 * r.int(8) : 0); // odd offsets 1..15
        const key = bytes(32, off());
        const nonce = bytes(nl, off());
        const pt = bytes(len, off());
        const aad = noAad ? undefined : bytes(aadLen, off());
        const where = () => `seed ${SEED} case ${i}: ${alg} len ${len} aad ${noAad ? 'none' : aadLen} unaligned ${unaligned}`;

        stats.cases++;
        stats.bytes += len;
        if (len > 2048) stats.over2k++;
        if (len > 65536) stats.over64k++;
        if (unaligned) stats.unaligned++;
        if (noAad) stats.noAad++;

        const sealed = b(T.aead.seal(alg, key, nonce, pt, aad));
        const ref = reference(alg, key, nonce, pt, aad);
        stats.reference++;
        if (!sealed.equals(ref)) failures.push(`${where()}: differs from reference`);

        const useNoble = len <= 2048 ? i % 2 === 0 : len <= 65536 ? i % 25 === 0 : bigNoble++ < 3;
        if (useNoble) {
          stats.noble++;
          if (!sealed.equals(b(noble(alg, key, nonce, pt, aad)))) failures.push(`${where()}: differs from @noble/ciphers`);
        }

        const opened = b(T.aead.open(alg, key, nonce, sealed, aad));
        if (!opened.equals(b(pt))) failures.push(`${where()}: open(seal(x)) !== x`);

        // In place at an odd offset of a larger buffer.
        const o = 1 + 2 * r.int(8);
        const buf = Buffer.alloc(o + len + 16 + 5, 0x5c);
        buf.set(pt, o);
        const view = buf.subarray(o, o + len + 16);
        const n = T.aead.sealInto(view, alg, key, nonce, view.subarray(0, len), aad);
        if (n !== len + 16 || !view.equals(ref)) failures.push(`${where()}: sealInto in place at offset ${o} differs (n=${n})`);
        const m = T.aead.openInto(view, alg, key, nonce, view, aad);
        if (m !== len || !view.subarray(0, len).equals(b(pt))) failures.push(`${where()}: openInto in place at offset ${o} differs (n=${m})`);
        // Bytes around the view are untouched.
        if (buf.subarray(0, o).some((x) => x !== 0x5c) || buf.subarray(o + len + 16).some((x) => x !== 0x5c))
          failures.push(`${where()}: in-place write outside out`);
        stats.inPlace++;

        if (failures.length >= 10) break;
      }
      console.log(`${alg} seed ${SEED}: ${JSON.stringify(stats)}`);
      expect(failures, `seed ${SEED}`).toEqual([]);
      expect(stats.cases).toBe(CASES);
      expect(stats.reference).toBe(CASES);
      expect(stats.inPlace).toBe(CASES);
      expect(stats.noble).toBeGreaterThanOrEqual(3000);
      expect(stats.over64k).toBeGreaterThanOrEqual(50);
      expect(stats.unaligned).toBeGreaterThan(CASES / 3);
    });
  }
});
