/**
 * XAES-256-GCM known answers (c2sp.org/XAES-256-GCM, "Test vectors" and
 * "Accumulated randomized tests"; copy in vectors/c2sp-XAES-256-GCM.md),
 * through the raw API `aead.seal/open` with alg 'xaes-256-gcm'.
 *
 * Proves:
 *  - both known-answer vectors (MSB1(L) = 0 and = 1), seal and open, and
 *    that their ciphertexts equal AES-256-GCM under the spec's intermediate
 *    Kx / Nx (so the KDF matches step by step, not just end to end);
 *  - the 10 000-iteration accumulated test: a SHAKE-128 RNG over empty input
 *    read as a stream (key[32], nonce[24], 1-byte length + plaintext,
 *    1-byte length + aad: RFC 8446 `opaque x<0..255>`), every ciphertext
 *    absorbed into one separate SHAKE-128 instance, 32-byte output
 *    = e6b9edf2...081939; open inverts each seal along the way.
 */
import * as crypto from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { T } from './tessera';

const hex = (s: string) => Buffer.from(s, 'hex');
const ascii = (s: string) => Buffer.from(s, 'ascii');

function gcm(key: Buffer, nonce: Buffer, pt: Buffer, aad: Buffer): Buffer {
  const c = crypto.createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
  c.setAAD(aad);
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}

const KATS = [
  {
    name: 'MSB1(L) = 0',
    key: hex('0101010101010101010101010101010101010101010101010101010101010101'),
    nonce: ascii('ABCDEFGHIJKLMNOPQRSTUVWX'),
    kx: hex('c8612c9ed53fe43e8e005b828a1631a0bbcb6ab2f46514ec4f439fcfd0fa969b'),
    nx: hex('4d4e4f505152535455565758'),
    pt: ascii('XAES-256-GCM'),
    aad: ascii(''),
    ct: hex('ce546ef63c9cc60765923609b33a9a1974e96e52daf2fcf7075e2271'),
  },
  {
    name: 'MSB1(L) = 1',
    key: hex('0303030303030303030303030303030303030303030303030303030303030303'),
    nonce: ascii('ABCDEFGHIJKLMNOPQRSTUVWX'),
    kx: hex('e9c621d4cdd9b11b00a6427ad7e559aeedd66b3857646677748f8ca796cb3fd8'),
    nx: hex('4d4e4f505152535455565758'),
    pt: ascii('XAES-256-GCM'),
    aad: ascii('c2sp.org/XAES-256-GCM'),
    ct: hex('986ec1832593df5443a179437fd083bf3fdb41abd740a21f71eb769d'),
  },
];

describe('XAES-256-GCM known answers', () => {
  for (const v of KATS) {
    test(`c2sp vector, ${v.name}`, () => {
      // The spec's intermediate values are consistent with its ciphertext.
      expect(gcm(v.kx, v.nx, v.pt, v.aad).toString('hex')).toBe(v.ct.toString('hex'));
      const sealed = Buffer.from(T.aead.seal('xaes-256-gcm', v.key, v.nonce, v.pt, v.aad));
      expect(sealed.toString('hex')).toBe(v.ct.toString('hex'));
      expect(Buffer.from(T.aead.open('xaes-256-gcm', v.key, v.nonce, v.ct, v.aad)).toString('ascii')).toBe('XAES-256-GCM');
      // AeadKey with the same key bytes makes a v1 message (docs/API.md)
      // whose body the raw API opens with aad = header || caller's aad.
      const k = T.AeadKey.import('xaes-256-gcm', Buffer.from(v.key));
      try {
        const msg = Buffer.from(k.seal(v.pt, { aad: v.aad }));
        expect(msg.length).toBe(30 + v.pt.length + 16);
        expect([...msg.subarray(0, 6)]).toEqual([1, 4, 0, 0, 0, 0]);
        const raw = T.aead.open('xaes-256-gcm', v.key, msg.subarray(6, 30), msg.subarray(30), Buffer.concat([msg.subarray(0, 30), v.aad]));
        expect(Buffer.from(raw).equals(v.pt)).toBe(true);
        expect(Buffer.from(k.open(msg, { aad: v.aad })).equals(v.pt)).toBe(true);
      } finally {
        k.dispose();
      }
      // Wrong aad, flipped tag: ERR_AUTH.
      const bad = Buffer.from(v.ct);
      bad[bad.length - 1]! ^= 1;
      expect(() => T.aead.open('xaes-256-gcm', v.key, v.nonce, bad, v.aad)).toThrow(expect.objectContaining({ code: 'ERR_AUTH' }));
      expect(() => T.aead.open('xaes-256-gcm', v.key, v.nonce, v.ct, ascii('x'))).toThrow(expect.objectContaining({ code: 'ERR_AUTH' }));
    });
  }
});

describe('XAES-256-GCM accumulated randomized test', () => {
  test('SHAKE-128 stream starts as the spec says', () => {
    const s = crypto.createHash('shake128', { outputLength: 16 }).update(Buffer.alloc(0)).digest('hex');
    expect(s).toBe('7f9c2ba4e88f827d616045507605853e');
  });

  test('10 000 iterations hash to e6b9edf2...081939', () => {
    const ITER = 10_000;
    const maxBytes = ITER * (32 + 24 + 1 + 255 + 1 + 255);
    const stream = crypto.createHash('shake128', { outputLength: maxBytes }).update(Buffer.alloc(0)).digest();
    let pos = 0;
    const read = (n: number) => {
      const b = stream.subarray(pos, pos + n);
      pos += n;
      if (b.length !== n) throw new Error('RNG stream exhausted');
      return b;
    };
    const d = crypto.createHash('shake128', { outputLength: 32 });
    let roundTrips = 0;
    let totalPt = 0;
    for (let i = 0; i < ITER; i++) {
      const key = read(32);
      const nonce = read(24);
      const pt = read(read(1)[0]!);
      const aad = read(read(1)[0]!);
      const ct = T.aead.seal('xaes-256-gcm', key, nonce, pt, aad);
      expect(ct.length).toBe(pt.length + 16);
      d.update(ct);
      const back = T.aead.open('xaes-256-gcm', key, nonce, ct, aad);
      if (!Buffer.from(back).equals(pt)) throw new Error(`iteration ${i}: open did not invert seal`);
      roundTrips++;
      totalPt += pt.length;
    }
    expect(roundTrips).toBe(ITER);
    // The stream was read as a stream: lengths varied (not all 0 or 255).
    expect(totalPt).toBeGreaterThan(ITER * 100);
    expect(totalPt).toBeLessThan(ITER * 155);
    expect(d.digest('hex')).toBe('e6b9edf2df6cec60c8cbd864e2211b597fb69a529160cd040d56c0c210081939');
  });
});
