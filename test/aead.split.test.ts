// Large AES-256-GCM and XAES-256-GCM messages run on two cores
// (native/openssl/tsr_gcm_split.c: CTR + GMAC per half, combined in
// GF(2^128), SP 800-38D section 7.1). Proves, through the public API, that
// every size around the 256 KiB threshold gives exactly the one-thread
// result (node:crypto and the XAES reference), in place too, and that a
// flipped bit in either half, the tag, the header or the aad is ERR_AUTH
// with no plaintext released.
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { codeOf, T } from './tessera';
import { nodeAead, xaesNode } from './references';

const MIN = 256 * 1024;
const SIZES = [MIN - 1, MIN, MIN + 1, MIN + 4095, 700_001, 1 << 20, (1 << 20) + 15, 5 * (1 << 20) + 3];

describe.each([
  ['aes-256-gcm', 12, (k: Uint8Array, n: Uint8Array, p: Uint8Array, a: Uint8Array) => nodeAead('aes-256-gcm', k, n, p, a)],
  ['xaes-256-gcm', 24, xaesNode],
] as const)('%s across the two-core threshold', (alg, nonceLen, reference) => {
  test('raw seal/open equal the reference, with and without aad', () => {
    for (const n of SIZES) {
      for (const aadLen of [0, 5, 40]) {
        const key = randomBytes(32),
          nonce = randomBytes(nonceLen),
          pt = randomBytes(n),
          aad = randomBytes(aadLen);
        const ref = reference(key, nonce, pt, aad);
        const got = T.aead.seal(alg, key, nonce, pt, aad);
        expect(Buffer.from(got).equals(ref), `seal n=${n} aad=${aadLen}`).toBe(true);
        expect(Buffer.from(T.aead.open(alg, key, nonce, ref, aad)).equals(pt), `open n=${n}`).toBe(true);
      }
    }
  });

  test('in place, and AeadKey messages (header as associated data)', () => {
    const key = randomBytes(32),
      nonce = randomBytes(nonceLen),
      pt = randomBytes(3 * MIN + 7);
    const buf = new Uint8Array(pt.length + 16);
    buf.set(pt);
    T.aead.sealInto(buf, alg, key, nonce, buf.subarray(0, pt.length));
    expect(Buffer.from(buf).equals(reference(key, nonce, pt, new Uint8Array(0)))).toBe(true);
    expect(T.aead.openInto(buf, alg, key, nonce, buf)).toBe(pt.length);
    expect(Buffer.from(buf.subarray(0, pt.length)).equals(pt)).toBe(true);

    using k = T.AeadKey.import(alg, key);
    const aad = randomBytes(9);
    const msg = k.seal(pt, { aad });
    const hl = T.headerLength(alg);
    const ref = reference(key, msg.subarray(6, hl), pt, Buffer.concat([msg.subarray(0, hl), aad]));
    expect(Buffer.from(msg.subarray(hl)).equals(ref)).toBe(true);
    expect(Buffer.from(k.open(msg, { aad })).equals(pt)).toBe(true);
  });

  test('a flipped bit anywhere (both halves, tag, header, aad) is ERR_AUTH and releases nothing', async () => {
    using k = T.AeadKey.generate(alg);
    const pt = Buffer.alloc(MIN * 2 + 123, 0x42);
    const aad = randomBytes(3);
    const msg = new Uint8Array(k.seal(pt, { aad }));
    const hl = T.headerLength(alg);
    for (const pos of [hl + 1, hl + MIN - 1, hl + MIN + 17, msg.length - 17, msg.length - 1, 8]) {
      msg[pos]! ^= 0x04;
      const out = new Uint8Array(pt.length).fill(0x99);
      expect(
        codeOf(() => k.openInto(out, msg, { aad })),
        `pos ${pos}`,
      ).toBe('ERR_AUTH');
      expect(
        out.every((x) => x === 0),
        `wiped, pos ${pos}`,
      ).toBe(true);
      await expect(k.openAsync(msg, { aad })).rejects.toMatchObject({ code: 'ERR_AUTH' });
      msg[pos]! ^= 0x04;
    }
    const wrongAad = Buffer.from(aad);
    wrongAad[0]! ^= 1;
    expect(codeOf(() => k.open(msg, { aad: wrongAad }))).toBe('ERR_AUTH');
    expect(Buffer.from(k.open(msg, { aad })).equals(pt)).toBe(true);
  });

  test('concurrent large async jobs and a sync call share the helper thread correctly', async () => {
    using k = T.AeadKey.generate(alg);
    const inputs = Array.from({ length: 8 }, (_, i) => randomBytes(MIN + i * 65_537));
    const sealed = await Promise.all(inputs.map((p) => k.sealAsync(p)));
    const syncMsg = k.seal(inputs[3]!);
    const opened = await Promise.all(sealed.map((m) => k.openAsync(m)));
    opened.forEach((o, i) => expect(Buffer.from(o).equals(inputs[i]!)).toBe(true));
    expect(Buffer.from(k.open(syncMsg)).equals(inputs[3]!)).toBe(true);
  });
});
