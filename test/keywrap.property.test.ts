/**
 * Key unwrapping (lib/keys/keywrap.ts) under fast-check, against a reference
 * written here from the RFCs on AES-ECB (node:crypto): RFC 3394 section 2.2
 * (the wrapping function W and its inverse) and RFC 5649 sections 3 and 4
 * (AES-KWP: the alternative initial value A65959A6 || MLI, zero padding, one
 * ECB block for a single 64-bit block of plaintext). Wrapped keys come from
 * key stores, keyring files and KMS answers: untrusted input.
 * Cases per property: test/property-runs.ts.
 *
 * Proves, for KEKs of 16, 24 and 32 bytes:
 *  - wrapPad / wrap equal the reference byte for byte and unwrap back;
 *  - unwrapPad accepts exactly the inputs RFC 5649 section 3 accepts: inputs
 *    forged by the reference with chosen initial values, MLIs (inside,
 *    at and past the bounds 8 * (n - 1) < MLI <= 8 * n) and padding bytes
 *    (zero or not) open when and only when the three checks hold, to the
 *    first MLI bytes; every refusal is ERR_AUTH;
 *  - random input: ERR_FORMAT exactly for lengths no wrapping produces
 *    (KWP: < 16 or not a multiple of 8; KW: < 24 or not a multiple of 8),
 *    else ERR_AUTH (or the reference's answer, should it accept);
 *  - a valid wrapped key after random byte edits, or under another KEK,
 *    never unwraps (ERR_AUTH / ERR_FORMAT);
 *  - anything but Uint8Arrays is ERR_ARGUMENT, other KEK sizes ERR_KEY_LENGTH.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

import { applyByteEdits, byteEdits, equalBytes, outcome } from './property-arbitraries';
import { params, scaleTimeout } from './property-runs';
import { T } from './tessera';

scaleTimeout(2);

const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
const KWP_AIV_HIGH = 0xa65959a6;

function ecb(kek: Uint8Array, block: Uint8Array, decrypt: boolean): Buffer {
  const alg = `aes-${kek.length * 8}-ecb`;
  const c = decrypt ? createDecipheriv(alg, kek, null) : createCipheriv(alg, kek, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

const xorT = (a: Buffer, t: number) => {
  const out = Buffer.from(a);
  out.writeBigUInt64BE(out.readBigUInt64BE(0) ^ BigInt(t), 0);
  return out;
};

/** RFC 3394 section 2.2.1, index-based: A is the initial value, p the n >= 2 plaintext blocks. */
function W(kek: Uint8Array, a0: Buffer, p: Buffer): Buffer {
  const n = p.length / 8;
  let a: Buffer = Buffer.from(a0);
  const r: Buffer[] = Array.from({ length: n }, (_, i) => Buffer.from(p.subarray(8 * i, 8 * i + 8)));
  for (let j = 0; j <= 5; j++) {
    for (let i = 1; i <= n; i++) {
      const b = ecb(kek, Buffer.concat([a, r[i - 1]!]), false);
      a = xorT(b.subarray(0, 8), n * j + i);
      r[i - 1] = b.subarray(8, 16);
    }
  }
  return Buffer.concat([a, ...r]);
}

/** RFC 3394 section 2.2.2, index-based: the initial value and the plaintext blocks of c (n >= 2 blocks). */
function Winv(kek: Uint8Array, c: Buffer): { a: Buffer; p: Buffer } {
  const n = c.length / 8 - 1;
  let a: Buffer = Buffer.from(c.subarray(0, 8));
  const r: Buffer[] = Array.from({ length: n }, (_, i) => Buffer.from(c.subarray(8 * (i + 1), 8 * (i + 2))));
  for (let j = 5; j >= 0; j--) {
    for (let i = n; i >= 1; i--) {
      const b = ecb(kek, Buffer.concat([xorT(a, n * j + i), r[i - 1]!]), true);
      a = b.subarray(0, 8);
      r[i - 1] = b.subarray(8, 16);
    }
  }
  return { a, p: Buffer.concat(r) };
}

/** RFC 5649 section 4.1 with a chosen initial value and padded plaintext (the reference of wrapPad when they are the real ones). */
function kwpRaw(kek: Uint8Array, aiv: Buffer, padded: Buffer): Buffer {
  return padded.length === 8 ? ecb(kek, Buffer.concat([aiv, padded]), false) : W(kek, aiv, padded);
}

function kwpWrap(kek: Uint8Array, key: Uint8Array): Buffer {
  const aiv = Buffer.alloc(8);
  aiv.writeUInt32BE(KWP_AIV_HIGH, 0);
  aiv.writeUInt32BE(key.length, 4);
  const padded = Buffer.alloc(Math.ceil(key.length / 8) * 8);
  padded.set(key);
  return kwpRaw(kek, aiv, padded);
}

/** RFC 5649 section 4.2 and the checks of section 3: the key, or undefined when any check fails. */
function kwpUnwrap(kek: Uint8Array, c: Uint8Array): Buffer | undefined {
  if (c.length < 16 || c.length % 8 !== 0) return undefined;
  const n = c.length / 8 - 1;
  const b = n === 1 ? ecb(kek, c, true) : undefined;
  const { a, p } = b ? { a: b.subarray(0, 8), p: b.subarray(8) } : Winv(kek, Buffer.from(c));
  const mli = a.readUInt32BE(4);
  if (a.readUInt32BE(0) !== KWP_AIV_HIGH || mli <= 8 * (n - 1) || mli > 8 * n) return undefined;
  if (!p.subarray(mli).every((x) => x === 0)) return undefined;
  return p.subarray(0, mli);
}

/** RFC 3394 section 2.2.3: the default initial value checked (n >= 2). */
function kwUnwrap(kek: Uint8Array, c: Uint8Array): Buffer | undefined {
  if (c.length < 24 || c.length % 8 !== 0) return undefined;
  const { a, p } = Winv(kek, Buffer.from(c));
  return a.equals(KW_IV) ? p : undefined;
}

const kek = fc.constantFrom(16, 24, 32).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
const keyToWrap = fc.uint8Array({ minLength: 1, maxLength: 72 });
const kwKey = fc.integer({ min: 2, max: 9 }).chain((n) => fc.uint8Array({ minLength: 8 * n, maxLength: 8 * n }));

/** The outcome of unwrap, with the key bytes when it succeeds. */
function unwrapOutcome(fn: () => Uint8Array): string {
  let k: Uint8Array | undefined;
  const o = outcome(() => (k = fn()));
  return o === 'ok' ? `ok:${Buffer.from(k!).toString('hex')}` : o;
}

describe('AES-KWP (RFC 5649)', () => {
  test('wrapPad equals the reference; unwrapPad returns the key', () => {
    fc.assert(
      fc.property(kek, keyToWrap, (k, key) => {
        const w = T.keywrap.wrapPad(k, key);
        expect(Buffer.from(w).toString('hex')).toBe(kwpWrap(k, key).toString('hex'));
        expect(w.length).toBe(Math.ceil(key.length / 8) * 8 + 8);
        expect(equalBytes(T.keywrap.unwrapPad(k, w), key)).toBe(true);
      }),
      params(),
    );
  });

  test('unwrapPad accepts exactly what RFC 5649 section 3 accepts (forged initial values, MLIs and padding)', () => {
    const forged = fc
      .record({
        kek,
        n: fc.integer({ min: 1, max: 6 }),
        aivHigh: fc.oneof(fc.constant(KWP_AIV_HIGH), fc.constant(0xa6a6a6a6), fc.integer({ min: 0, max: 0xffffffff })),
        mli: fc.oneof(fc.nat(60), fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 0x80000000, 0xffffffff)),
        inRange: fc.boolean(),
        zeroPad: fc.boolean(),
        seed: fc.uint8Array({ minLength: 48, maxLength: 48 }),
      })
      .map(({ kek, n, aivHigh, mli, inRange, zeroPad, seed }) => {
        // Half the cases put the MLI inside its range, so the padding check is reached.
        const m = inRange ? 8 * (n - 1) + 1 + (mli % 8) : mli;
        const padded = Buffer.from(seed.subarray(0, 8 * n));
        if (zeroPad && m <= 8 * n) padded.fill(0, m);
        const aiv = Buffer.alloc(8);
        aiv.writeUInt32BE(aivHigh, 0);
        aiv.writeUInt32BE(m, 4);
        return { kek, n, aivHigh, m, padded, c: kwpRaw(kek, aiv, padded) };
      });
    const seen = new Set<string>();
    fc.assert(
      fc.property(forged, ({ kek, n, aivHigh, m, padded, c }) => {
        const ok = aivHigh === KWP_AIV_HIGH && m > 8 * (n - 1) && m <= 8 * n && padded.subarray(m).every((x) => x === 0);
        seen.add(ok ? 'accept' : 'refuse');
        expect(kwpUnwrap(kek, c) !== undefined).toBe(ok);
        expect(unwrapOutcome(() => T.keywrap.unwrapPad(kek, c))).toBe(ok ? `ok:${padded.subarray(0, m).toString('hex')}` : 'ERR_AUTH');
      }),
      params(),
    );
    expect(seen.size).toBe(2);
  });

  test('random input: ERR_FORMAT for lengths no wrapping produces, else what the reference says (ERR_AUTH)', () => {
    fc.assert(
      fc.property(kek, fc.uint8Array({ maxLength: 88 }), (k, c) => {
        const bad = c.length < 16 || c.length % 8 !== 0;
        const ref = bad ? undefined : kwpUnwrap(k, c);
        const want = bad ? 'ERR_FORMAT' : ref ? `ok:${ref.toString('hex')}` : 'ERR_AUTH';
        expect(unwrapOutcome(() => T.keywrap.unwrapPad(k, c))).toBe(want);
      }),
      params(),
    );
  });

  test('an edited wrapped key, or another KEK, never unwraps', () => {
    fc.assert(
      fc.property(kek, kek, keyToWrap, byteEdits, (k, other, key, edits) => {
        const w = T.keywrap.wrapPad(k, key);
        const bad = applyByteEdits(w, edits);
        const o = outcome(() => T.keywrap.unwrapPad(k, bad));
        if (equalBytes(bad, w)) expect(o).toBe('ok');
        else expect(o).toBe(bad.length < 16 || bad.length % 8 !== 0 ? 'ERR_FORMAT' : 'ERR_AUTH');
        if (!equalBytes(other, k)) expect(outcome(() => T.keywrap.unwrapPad(other, w))).toBe('ERR_AUTH');
      }),
      params(),
    );
  });
});

describe('AES-KW (RFC 3394)', () => {
  test('wrap equals the reference (W with the default initial value); unwrap returns the key', () => {
    fc.assert(
      fc.property(kek, kwKey, (k, key) => {
        const w = T.keywrap.wrap(k, key);
        expect(Buffer.from(w).toString('hex')).toBe(W(k, KW_IV, Buffer.from(key)).toString('hex'));
        expect(equalBytes(T.keywrap.unwrap(k, w), key)).toBe(true);
      }),
      params(),
    );
  });

  test('random and edited input: ERR_FORMAT for impossible lengths, else ERR_AUTH; never a key', () => {
    fc.assert(
      fc.property(kek, fc.oneof(fc.uint8Array({ maxLength: 88 }), fc.tuple(kwKey, byteEdits)), (k, input) => {
        const c = input instanceof Uint8Array ? input : applyByteEdits(T.keywrap.wrap(k, input[0]), input[1]);
        const bad = c.length < 24 || c.length % 8 !== 0;
        const ref = bad ? undefined : kwUnwrap(k, c);
        const want = bad ? 'ERR_FORMAT' : ref ? `ok:${ref.toString('hex')}` : 'ERR_AUTH';
        expect(unwrapOutcome(() => T.keywrap.unwrap(k, c))).toBe(want);
        if (!(input instanceof Uint8Array) && ref) expect(ref.equals(Buffer.from(input[0]))).toBe(true);
      }),
      params(),
    );
  });
});

describe('arguments', () => {
  test('anything but Uint8Arrays is ERR_ARGUMENT; KEKs of other sizes ERR_KEY_LENGTH', () => {
    fc.assert(
      fc.property(
        fc.anything().filter((v) => !(v instanceof Uint8Array)),
        fc.integer({ min: 0, max: 64 }).filter((n) => n !== 16 && n !== 24 && n !== 32),
        (v, n) => {
          const good = new Uint8Array(32);
          for (const fn of [T.keywrap.unwrapPad, T.keywrap.unwrap, T.keywrap.wrapPad, T.keywrap.wrap]) {
            expect(outcome(() => fn(v as Uint8Array, good))).toBe('ERR_ARGUMENT');
            expect(outcome(() => fn(good, v as Uint8Array))).toBe('ERR_ARGUMENT');
            expect(outcome(() => fn(new Uint8Array(n), good))).toBe('ERR_KEY_LENGTH');
          }
        },
      ),
      params(),
    );
  });
});
