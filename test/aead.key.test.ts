/**
 * AeadKey behaviour against message format v1 (docs/API.md, contract) and the
 * key rules of docs/API.md "AEAD":
 *   version 0x01 | alg id | key id (uint32 BE) | nonce (12 or 24) | ct || tag,
 *   AEAD associated data = header || caller's aad  (proved by recomputing the
 *   body with the raw aead.seal on the exported key), random nonces, exact
 *   sealInto/openInto sizes incl. in place, the `tsr1.` text form with
 *   canonical base64url only (ERR_FORMAT otherwise), batches that round trip,
 *   message counting against the nonce bound, export/import copying the key,
 *   and `using` disposal.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';

import { T } from './tessera';

const ALGS = ['aes-256-gcm', 'chacha20-poly1305', 'xchacha20-poly1305', 'xaes-256-gcm'] as const;
type Alg = (typeof ALGS)[number];
const ID: Record<Alg, number> = { 'aes-256-gcm': 1, 'chacha20-poly1305': 2, 'xchacha20-poly1305': 3, 'xaes-256-gcm': 4 };
const NONCE: Record<Alg, number> = { 'aes-256-gcm': 12, 'chacha20-poly1305': 12, 'xchacha20-poly1305': 24, 'xaes-256-gcm': 24 };

const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
const code = (c: string) => expect.objectContaining({ name: 'TesseraError', code: c });

describe.each(ALGS)('%s', (alg) => {
  const hl = 6 + NONCE[alg];

  test('seal/open round trip with and without aad, sizes 0..4096', () => {
    using key = T.AeadKey.generate(alg);
    const aad = randomBytes(37);
    for (const n of [0, 1, 15, 16, 17, 63, 64, 255, 1000, 4096]) {
      const pt = randomBytes(n);
      expect(buf(key.open(key.seal(pt))).equals(pt)).toBe(true);
      const withAad = key.seal(pt, { aad });
      expect(buf(key.open(withAad, { aad })).equals(pt)).toBe(true);
      expect(() => key.open(withAad)).toThrow(code('ERR_AUTH'));
      expect(() => key.open(withAad, { aad: aad.subarray(1) })).toThrow(code('ERR_AUTH'));
    }
  });

  test('message layout: version, alg id, key id (0 and 0xdeadbeef BE), nonce length, total = sealedLength(n)', () => {
    using bare = T.AeadKey.generate(alg);
    using ided = T.AeadKey.generate(alg, { keyId: 0xdeadbeef });
    expect(bare.keyId).toBe(0);
    expect(ided.keyId).toBe(0xdeadbeef);
    for (const n of [0, 1, 100]) {
      const m = buf(bare.seal(randomBytes(n)));
      expect(m.length).toBe(hl + n + 16);
      expect(m.length).toBe(bare.sealedLength(n));
      expect(m[0]).toBe(1);
      expect(m[1]).toBe(ID[alg]);
      expect(m.readUInt32BE(2)).toBe(0);
      const h = T.parseHeader(m);
      expect(h).toMatchObject({ version: 1, algorithm: alg, keyId: 0, headerLength: hl });
      expect(h.nonce.length).toBe(NONCE[alg]);

      const m2 = buf(ided.seal(randomBytes(n)));
      expect([...m2.subarray(0, 6)]).toEqual([1, ID[alg], 0xde, 0xad, 0xbe, 0xef]);
      expect(m2.length).toBe(ided.sealedLength(n));
      expect(T.parseHeader(m2).keyId).toBe(0xdeadbeef);
    }
    // A message naming another key id is refused before decryption.
    expect(() => bare.open(ided.seal(new Uint8Array(1)))).toThrow(code('ERR_KEY_MISMATCH'));
  });

  test('1000 seals use 1000 distinct nonces', () => {
    using key = T.AeadKey.generate(alg);
    const pt = new Uint8Array(8);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(buf(key.seal(pt)).subarray(6, hl).toString('hex'));
    expect(seen.size).toBe(1000);
  });

  test('the header is authenticated as the AAD prefix: body == aead.seal(alg, key, nonce, pt, header || aad)', () => {
    using key = T.AeadKey.generate(alg, { keyId: 0x01020304 });
    const k = key.exportKey();
    for (const aad of [undefined, new Uint8Array(0), randomBytes(29)]) {
      const pt = randomBytes(77);
      const m = buf(key.seal(pt, aad ? { aad } : undefined));
      const header = m.subarray(0, hl);
      const nonce = m.subarray(6, hl);
      const expected = T.aead.seal(alg, k, nonce, pt, Buffer.concat([header, aad ?? new Uint8Array(0)]));
      expect(buf(expected).equals(m.subarray(hl))).toBe(true);
      // Without the header prefix the body does not match (so it is not just aad).
      const without = T.aead.seal(alg, k, nonce, pt, aad ?? new Uint8Array(0));
      expect(buf(without).equals(m.subarray(hl))).toBe(false);
    }
    // Tampering with any header byte fails: key id -> mismatch, nonce -> auth.
    const m = buf(key.seal(randomBytes(10)));
    const badNonce = Buffer.from(m);
    badNonce[hl - 1]! ^= 1;
    expect(() => key.open(badNonce)).toThrow(code('ERR_AUTH'));
    const badId = Buffer.from(m);
    badId[5]! ^= 1;
    expect(() => key.open(badId)).toThrow(code('ERR_KEY_MISMATCH'));
    const badTag = Buffer.from(m);
    badTag[badTag.length - 1]! ^= 0x80;
    expect(() => key.open(badTag)).toThrow(code('ERR_AUTH'));
  });

  test('sealInto writes exactly sealedLength bytes and returns it; openInto', () => {
    using key = T.AeadKey.generate(alg);
    const aad = randomBytes(5);
    for (const n of [0, 1, 33, 1000]) {
      const pt = randomBytes(n);
      const out = new Uint8Array(key.sealedLength(n) + 24).fill(0xee);
      const w = key.sealInto(out, pt, { aad });
      expect(w).toBe(key.sealedLength(n));
      expect([...out.subarray(w)].every((b) => b === 0xee)).toBe(true);
      const msg = out.subarray(0, w);
      expect(buf(key.open(msg, { aad })).equals(pt)).toBe(true);

      const back = new Uint8Array(n + 8).fill(0xcc);
      const r = key.openInto(back, msg, { aad });
      expect(r).toBe(n);
      expect(buf(back.subarray(0, n)).equals(pt)).toBe(true);
      expect([...back.subarray(n)].every((b) => b === 0xcc)).toBe(true);
    }
    // Output too small is refused.
    expect(() => key.sealInto(new Uint8Array(key.sealedLength(10) - 1), new Uint8Array(10))).toThrow(code('ERR_ARGUMENT'));
  });

  test('in-place sealInto: plaintext at out.subarray(headerLength)', () => {
    using key = T.AeadKey.generate(alg);
    const pt = randomBytes(500);
    const out = new Uint8Array(key.sealedLength(pt.length));
    out.set(pt, hl);
    const w = key.sealInto(out, out.subarray(hl, hl + pt.length));
    expect(w).toBe(out.length);
    expect(buf(out.subarray(hl, hl + pt.length)).equals(pt)).toBe(false); // encrypted in place
    expect(buf(key.open(out)).equals(pt)).toBe(true);
    // Plaintext overlapping the header region is refused, not silently corrupted.
    const bad = new Uint8Array(key.sealedLength(100));
    expect(() => key.sealInto(bad, bad.subarray(0, 100))).toThrow(code('ERR_ARGUMENT'));
  });

  test('openInto in place (out = message.subarray(headerLength)); a failed openInto leaves no plaintext', () => {
    using key = T.AeadKey.generate(alg);
    const pt = randomBytes(300);
    const m = Buffer.from(key.seal(pt));
    expect(key.openInto(m.subarray(hl), m)).toBe(pt.length);
    expect(m.subarray(hl, hl + pt.length).equals(pt)).toBe(true);
    // A bad tag is an error, never a partial plaintext.
    const bad = Buffer.from(key.seal(pt));
    bad[bad.length - 1]! ^= 1;
    const out = Buffer.alloc(pt.length, 0xcc);
    expect(() => key.openInto(out, bad)).toThrow(code('ERR_AUTH'));
    expect(out.equals(Buffer.alloc(pt.length))).toBe(true); // written bytes wiped
    const badInPlace = Buffer.from(bad);
    expect(() => key.openInto(badInPlace.subarray(hl), badInPlace)).toThrow(code('ERR_AUTH'));
    expect(badInPlace.subarray(hl, hl + pt.length).includes(pt.subarray(0, 16))).toBe(false);
    // Partial overlap of output and ciphertext is refused.
    const big = Buffer.alloc(m.length + 1);
    Buffer.from(key.seal(pt)).copy(big);
    expect(() => key.openInto(big.subarray(hl + 1), big.subarray(0, m.length))).toThrow(code('ERR_ARGUMENT'));
  });

  test('sealToString/openString round trip; non-canonical or garbage text is ERR_FORMAT', () => {
    using key = T.AeadKey.generate(alg);
    const aad = randomBytes(3);
    for (const n of [0, 1, 2, 3, 100]) {
      const pt = randomBytes(n);
      const s = key.sealToString(pt, { aad });
      expect(s.startsWith('tsr1.')).toBe(true);
      expect(s.slice(5)).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(buf(key.openString(s, { aad })).equals(pt)).toBe(true);
    }
    // A message whose byte length is not a multiple of 3 has unused low bits in its last character.
    let n = 0;
    while ((hl + n + 16) % 3 === 0) n++;
    const s = key.sealToString(randomBytes(n));
    const m0 = buf(key.seal(new Uint8Array(0)));
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(s[s.length - 1]!);
    const nonCanonical = s.slice(0, -1) + alphabet[last ^ 1];
    const bad = [
      nonCanonical,
      s + '=',
      s + '==',
      s.replace('tsr1.', 'tsr2.'),
      s.replace('tsr1.', 'TSR1.'),
      s.slice(5),
      'tsr1.' + s.slice(5).replace(/[-_]/g, '+'),
      s.slice(0, 12) + '!' + s.slice(13),
      s.slice(0, 12) + ' ' + s.slice(12),
      s + 'A'.repeat((((1 - (s.length - 5)) % 4) + 4) % 4 || 4), // base64url body length % 4 == 1: no byte count fits
      'tsr1.',
      'tsr1.' + Buffer.from([1, ID[alg]]).toString('base64url'), // canonical, but too short to be a message
      'tsr1.' + Buffer.from([1, ID[alg], 0, 0, 0, 0]).toString('base64url'),
      'tsr1.' + Buffer.concat([m0.subarray(0, hl), Buffer.alloc(15)]).toString('base64url'), // header + 15 < tag
      'garbage',
    ];
    for (const t of bad) {
      if (t === s) continue;
      expect(() => key.openString(t), JSON.stringify(t)).toThrow(code('ERR_FORMAT'));
    }
    expect(() => key.openString(undefined as unknown as string)).toThrow(code('ERR_ARGUMENT'));
  });

  test('sealBatch/openBatch: 1000 messages of random sizes (incl. 0) round trip; equal to individual opens', () => {
    using key = T.AeadKey.generate(alg);
    const aad = randomBytes(11);
    const sizes = Array.from({ length: 1000 }, (_, i) => (i % 50 === 0 ? 0 : randomBytes(2).readUInt16BE() % 600));
    const pts = sizes.map((n) => randomBytes(n));
    const before = key.messagesSealed;
    const sealed = key.sealBatch(pts, { aad });
    expect(key.messagesSealed - before).toBe(1000n);
    expect(sealed.length).toBe(1000);
    const nonces = new Set(sealed.map((m) => buf(m).subarray(6, hl).toString('hex')));
    expect(nonces.size).toBe(1000);
    for (let i = 0; i < 1000; i++) {
      expect(sealed[i]!.length).toBe(key.sealedLength(sizes[i]!));
      expect(buf(key.open(sealed[i]!, { aad })).equals(pts[i]!)).toBe(true);
    }
    const opened = key.openBatch(sealed, { aad });
    expect(opened.length).toBe(1000);
    for (let i = 0; i < 1000; i++) expect(buf(opened[i]!).equals(pts[i]!)).toBe(true);
    // All or nothing: one tampered message fails the whole batch.
    const copy = sealed.map((m) => Uint8Array.from(m));
    copy[777]![copy[777]!.length - 1]! ^= 1;
    expect(() => key.openBatch(copy, { aad })).toThrow(code('ERR_AUTH'));
    expect(key.sealBatch([])).toEqual([]);
  });
});

describe('AeadKey', () => {
  test('messagesSealed counts every sealing path; opens do not count', async () => {
    using key = T.AeadKey.generate('aes-256-gcm');
    expect(key.messagesSealed).toBe(0n);
    const m = key.seal(new Uint8Array(3));
    expect(key.messagesSealed).toBe(1n);
    key.sealInto(new Uint8Array(key.sealedLength(3)), new Uint8Array(3));
    expect(key.messagesSealed).toBe(2n);
    key.sealBatch([new Uint8Array(1), new Uint8Array(2), new Uint8Array(0)]);
    expect(key.messagesSealed).toBe(5n);
    key.sealToString(new Uint8Array(1));
    expect(key.messagesSealed).toBe(6n);
    await key.sealAsync(new Uint8Array(1));
    expect(key.messagesSealed).toBe(7n);
    key.open(m);
    key.openBatch([m]);
    await key.openAsync(m);
    expect(key.messagesSealed).toBe(7n);
  });

  test('nonceLimit: sealing past the bound throws ERR_NONCE_LIMIT; a batch over it seals nothing', () => {
    using key = T.AeadKey.generate('chacha20-poly1305', { nonceLimit: 3 });
    expect(key.nonceLimit).toBe(3n);
    key.seal(new Uint8Array(1));
    expect(() => key.sealBatch([new Uint8Array(1), new Uint8Array(1), new Uint8Array(1)])).toThrow(code('ERR_NONCE_LIMIT'));
    expect(key.messagesSealed).toBe(1n);
    key.sealBatch([new Uint8Array(1), new Uint8Array(1)]);
    expect(() => key.seal(new Uint8Array(1))).toThrow(code('ERR_NONCE_LIMIT'));
    expect(key.messagesSealed).toBe(3n);
    expect(T.AeadKey.generate('aes-256-gcm').nonceLimit).toBe(1n << 32n);
    expect(T.AeadKey.generate('xaes-256-gcm').nonceLimit).toBe((1n << 64n) - 1n);
  });

  test.each(ALGS)('%s: exportKey returns the imported bytes; import copies its input', (alg) => {
    const bytes = new Uint8Array(randomBytes(32));
    const orig = Uint8Array.from(bytes);
    using key = T.AeadKey.import(alg, bytes);
    expect(buf(key.exportKey()).equals(orig)).toBe(true);
    const m1 = key.seal(Buffer.from('before'));
    bytes.fill(0xff); // mutating the source must not affect the key
    expect(buf(key.exportKey()).equals(orig)).toBe(true);
    const m2 = key.seal(Buffer.from('after'));
    using twin = T.AeadKey.import(alg, orig);
    expect(buf(twin.open(m1)).toString()).toBe('before');
    expect(buf(twin.open(m2)).toString()).toBe('after');
    // The exported copy is the caller's: wiping it does not affect the key.
    const e = key.exportKey();
    e.fill(0);
    expect(buf(key.exportKey()).equals(orig)).toBe(true);
    expect(() => T.AeadKey.import(alg, new Uint8Array(31))).toThrow(code('ERR_KEY_LENGTH'));
  });

  test('Symbol.dispose via `using`: the key is disposed at block end and refuses use', () => {
    let ref: ReturnType<typeof T.AeadKey.generate> | undefined;
    let sealed: Uint8Array | undefined;
    {
      using key = T.AeadKey.generate('xchacha20-poly1305');
      ref = key;
      sealed = key.seal(Buffer.from('x'));
      expect(key.disposed).toBe(false);
    }
    expect(ref!.disposed).toBe(true);
    expect(() => ref!.open(sealed!)).toThrow(code('ERR_DISPOSED'));
    expect(() => ref!.seal(new Uint8Array(1))).toThrow(code('ERR_DISPOSED'));
    expect(() => ref!.exportKey()).toThrow(code('ERR_DISPOSED'));
    expect(typeof ref![Symbol.dispose]).toBe('function');
    ref!.dispose(); // idempotent
  });

  test('a message sealed by one algorithm is refused by a key of another', () => {
    using a = T.AeadKey.generate('aes-256-gcm');
    using b = T.AeadKey.generate('chacha20-poly1305');
    expect(() => b.open(a.seal(new Uint8Array(4)))).toThrow(code('ERR_ALGORITHM'));
    expect(() => a.open(new Uint8Array([2, 1, 0, 0, 0, 0]))).toThrow(code('ERR_FORMAT'));
    expect(() => a.open(new Uint8Array(40).fill(1, 0, 1).fill(9, 1, 2))).toThrow(code('ERR_ALGORITHM'));
  });
});
