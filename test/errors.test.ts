/**
 * Error paths of the raw API and AeadKey (lib/errors.ts: "every failure has
 * a stable code; messages say expected vs got and never contain key material
 * or plaintext"; lib/aead.ts contract; docs/API.md "AEAD": errors, nonce limit
 * and dispose()).
 *
 * Proves: every bad argument (strings, numbers, null, undefined, arrays,
 * DataView, Uint16Array and other typed arrays, ArrayBuffer, detached and
 * SharedArrayBuffer-backed bytes) in every position of aead.seal/open/
 * sealInto/openInto and of AeadKey's methods gives a TesseraError with the
 * right code and an expected-vs-got message, in-process (no crash);
 * out too small / partially overlapping; unknown algorithms; ERR_DISPOSED
 * after dispose() and after a `using` scope (async: rejected promise);
 * nonceLimit counting (ERR_NONCE_LIMIT, all-or-nothing sealBatch) and its
 * defaults (2^32 for 96-bit nonces, 2^64 - 1 for 192-bit); and that no error
 * message carries key bytes (hex/base64/base64url/latin1) or plaintext.
 */
import { describe, expect, test } from 'vitest';
import { T } from './tessera';

type Alg = 'aes-256-gcm' | 'chacha20-poly1305' | 'xchacha20-poly1305' | 'xaes-256-gcm';
const ALGS: Alg[] = ['aes-256-gcm', 'chacha20-poly1305', 'xchacha20-poly1305', 'xaes-256-gcm'];
const NONCE: Record<Alg, number> = { 'aes-256-gcm': 12, 'chacha20-poly1305': 12, 'xchacha20-poly1305': 24, 'xaes-256-gcm': 24 };

/** A function called with deliberately wrong arguments (argument checks). */
type Untyped = (...args: unknown[]) => unknown;

function caught(fn: () => unknown): InstanceType<typeof T.TesseraError> {
  try {
    fn();
  } catch (e) {
    if (e instanceof T.TesseraError) return e;
    throw new Error(`expected a TesseraError, got ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`, { cause: e });
  }
  throw new Error('expected a TesseraError, nothing was thrown');
}

function expectErr(fn: () => unknown, code: string, ...patterns: RegExp[]) {
  const e = caught(fn);
  expect(e).toBeInstanceOf(Error);
  expect(e.name).toBe('TesseraError');
  expect(e.code).toBe(code);
  for (const p of patterns) expect(e.message).toMatch(p);
  return e;
}

async function expectRejects(p: () => Promise<unknown>, code: string) {
  let settled: unknown = 'resolved';
  const promise = p(); // must not throw synchronously
  expect(promise).toBeInstanceOf(Promise);
  await promise.then(
    () => undefined,
    (e) => (settled = e),
  );
  expect(settled).toBeInstanceOf(T.TesseraError);
  expect((settled as { code: string }).code).toBe(code);
}

function detached(n: number): Uint8Array {
  const u = new Uint8Array(n); // not a pooled Buffer: detaching must not affect others
  structuredClone(u.buffer, { transfer: [u.buffer] });
  expect(u.byteLength).toBe(0);
  return u;
}

/** Values that are not acceptable byte arrays, and what the message says they are. */
const BAD_BYTES: [string, () => unknown, RegExp][] = [
  ['string', () => 'a'.repeat(32), /string/],
  ['number', () => 32, /number/],
  ['null', () => null, /null/],
  ['undefined', () => undefined, /undefined/],
  ['plain array', () => new Array(32).fill(1), /object/],
  ['object with length', () => ({ length: 32, 0: 1 }), /object/],
  ['DataView', () => new DataView(new ArrayBuffer(32)), /DataView/],
  ['Uint16Array', () => new Uint16Array(16), /typed array/],
  ['Int8Array', () => new Int8Array(32), /typed array/],
  ['Uint8ClampedArray', () => new Uint8ClampedArray(32), /typed array/],
  ['Float64Array', () => new Float64Array(4), /typed array/],
  ['ArrayBuffer', () => new ArrayBuffer(32), /ArrayBuffer/],
  ['detached Uint8Array', () => detached(32), /detached/],
  ['SharedArrayBuffer-backed Uint8Array', () => new Uint8Array(new SharedArrayBuffer(32)), /SharedArrayBuffer/],
  ['bigint', () => 32n, /bigint/],
  ['symbol', () => Symbol('k'), /symbol/],
  ['function', () => () => 0, /function/],
];

describe('raw API argument errors', () => {
  for (const alg of ALGS) {
    const nl = NONCE[alg];
    const key = new Uint8Array(32).fill(1);
    const nonce = new Uint8Array(nl).fill(2);
    const pt = new Uint8Array(10).fill(3);
    const aad = new Uint8Array(5).fill(4);
    const sealed = T.aead.seal(alg, key, nonce, pt, aad);

    test(`${alg}: bad key / nonce / input / aad / out types -> ERR_ARGUMENT naming the argument`, () => {
      let checks = 0;
      for (const [what, make, re] of BAD_BYTES) {
        for (const [pos, name] of [
          [1, 'key'],
          [2, 'nonce'],
          [3, 'plaintext'],
          [4, 'aad'],
        ] as const) {
          if (pos === 4 && (what === 'null' || what === 'undefined')) continue; // aad is optional
          const sealArgs: unknown[] = [alg, key, nonce, pt, aad];
          sealArgs[pos] = make();
          expectErr(() => (T.aead.seal as Untyped)(...sealArgs), 'ERR_ARGUMENT', new RegExp(name), re);
          const openArgs: unknown[] = [alg, key, nonce, sealed, aad];
          openArgs[pos] = make();
          expectErr(() => (T.aead.open as Untyped)(...openArgs), 'ERR_ARGUMENT', new RegExp(pos === 3 ? 'sealed' : name), re);
          const intoArgs: unknown[] = [new Uint8Array(64), alg, key, nonce, pt, aad];
          intoArgs[pos + 1] = make();
          expectErr(() => (T.aead.sealInto as Untyped)(...intoArgs), 'ERR_ARGUMENT', re);
          intoArgs[5] = aad;
          intoArgs[4] = sealed;
          intoArgs[pos + 1] = make();
          expectErr(() => (T.aead.openInto as Untyped)(...intoArgs), 'ERR_ARGUMENT', re);
          checks += 4;
        }
        expectErr(() => T.aead.sealInto(make() as Uint8Array, alg, key, nonce, pt, aad), 'ERR_ARGUMENT', /out/, re);
        expectErr(() => T.aead.openInto(make() as Uint8Array, alg, key, nonce, sealed, aad), 'ERR_ARGUMENT', /out/, re);
        checks += 2;
      }
      expect(checks).toBe(BAD_BYTES.length * 18 - 2 * 4);
      // null / undefined aad mean "no aad"; the result equals an empty aad.
      const a = Buffer.from(T.aead.seal(alg, key, nonce, pt, undefined));
      expect(a.equals(Buffer.from(T.aead.seal(alg, key, nonce, pt, null as unknown as Uint8Array)))).toBe(true);
      expect(a.equals(Buffer.from(T.aead.seal(alg, key, nonce, pt, new Uint8Array(0))))).toBe(true);
    });

    test(`${alg}: lengths -> ERR_KEY_LENGTH / ERR_NONCE_LENGTH / ERR_FORMAT with expected vs got`, () => {
      for (const n of [0, 1, 16, 24, 31, 33, 64]) {
        expectErr(() => T.aead.seal(alg, new Uint8Array(n), nonce, pt), 'ERR_KEY_LENGTH', /32/, new RegExp(`\\b${n}\\b`));
        expectErr(() => T.aead.open(alg, new Uint8Array(n), nonce, sealed), 'ERR_KEY_LENGTH', /32/, new RegExp(`\\b${n}\\b`));
        expectErr(() => T.aead.sealInto(new Uint8Array(64), alg, new Uint8Array(n), nonce, pt), 'ERR_KEY_LENGTH');
        expectErr(() => T.aead.openInto(new Uint8Array(64), alg, new Uint8Array(n), nonce, sealed), 'ERR_KEY_LENGTH');
      }
      for (const n of [0, 8, 11, 13, 16, 23, 25, 32].concat(nl === 12 ? [24] : [12])) {
        expectErr(() => T.aead.seal(alg, key, new Uint8Array(n), pt), 'ERR_NONCE_LENGTH', new RegExp(`\\b${nl}\\b`), new RegExp(`\\b${n}\\b`));
        expectErr(() => T.aead.open(alg, key, new Uint8Array(n), sealed), 'ERR_NONCE_LENGTH', new RegExp(`\\b${nl}\\b`), new RegExp(`\\b${n}\\b`));
      }
      // Key is checked before nonce.
      expectErr(() => T.aead.seal(alg, new Uint8Array(16), new Uint8Array(5), pt), 'ERR_KEY_LENGTH');
      for (let n = 0; n < 16; n++) {
        expectErr(() => T.aead.open(alg, key, nonce, new Uint8Array(n)), 'ERR_FORMAT', /16/, new RegExp(`\\b${n}\\b`));
        expectErr(() => T.aead.openInto(new Uint8Array(32), alg, key, nonce, new Uint8Array(n)), 'ERR_FORMAT');
      }
    });

    test(`${alg}: out too small, partial overlap, overlap with aad`, () => {
      expectErr(
        () => T.aead.sealInto(new Uint8Array(pt.length + 15), alg, key, nonce, pt),
        'ERR_ARGUMENT',
        new RegExp(`${pt.length + 16}`),
        new RegExp(`${pt.length + 15}`),
      );
      expectErr(() => T.aead.sealInto(new Uint8Array(0), alg, key, nonce, new Uint8Array(0)), 'ERR_ARGUMENT', /16/);
      expectErr(() => T.aead.openInto(new Uint8Array(pt.length - 1), alg, key, nonce, sealed), 'ERR_ARGUMENT', new RegExp(`${pt.length}`));
      const buf = new Uint8Array(100);
      for (const d of [1, 2, 9, -1, -7]) {
        const inStart = 40,
          outStart = 40 + d;
        buf.set(pt, inStart);
        expectErr(
          () => T.aead.sealInto(buf.subarray(outStart, outStart + 26), alg, key, nonce, buf.subarray(inStart, inStart + 10)),
          'ERR_ARGUMENT',
          /overlap/,
        );
        buf.set(sealed, inStart);
        expectErr(
          () => T.aead.openInto(buf.subarray(outStart, outStart + 26), alg, key, nonce, buf.subarray(inStart, inStart + 26)),
          'ERR_ARGUMENT',
          /overlap/,
        );
      }
      const b2 = new Uint8Array(100);
      expectErr(() => T.aead.sealInto(b2.subarray(0, 26), alg, key, nonce, pt, b2.subarray(20, 30)), 'ERR_ARGUMENT', /overlap/);
      b2.set(sealed, 50);
      expectErr(() => T.aead.openInto(b2.subarray(0, 10), alg, key, nonce, b2.subarray(50, 76), b2.subarray(5, 8)), 'ERR_ARGUMENT', /overlap/);
    });
  }

  test('unknown algorithms -> ERR_ALGORITHM listing the known ones', () => {
    const k = new Uint8Array(32),
      n = new Uint8Array(12),
      p = new Uint8Array(1);
    for (const alg of ['AES-256-GCM', 'aes-128-gcm', 'aes256gcm', '', ' aes-256-gcm', '__proto__', 'toString', 'constructor', 'hasOwnProperty']) {
      expectErr(() => T.aead.seal(alg as Alg, k, n, p), 'ERR_ALGORITHM', /aes-256-gcm, chacha20-poly1305/);
      expectErr(() => T.AeadKey.generate(alg as Alg), 'ERR_ALGORITHM');
      expectErr(() => T.AeadKey.import(alg as Alg, k), 'ERR_ALGORITHM');
    }
    for (const alg of [1, 0, null, undefined, {}, ['aes-256-gcm'], Symbol('x'), 1n]) {
      expectErr(() => T.aead.seal(alg as unknown as Alg, k, n, p), 'ERR_ALGORITHM');
      expectErr(() => T.aead.openInto(new Uint8Array(1), alg as unknown as Alg, k, n, p), 'ERR_ALGORITHM');
    }
    expectErr(() => (T.aead.seal as Untyped)(), 'ERR_ALGORITHM');
    expectErr(() => (T.aead.seal as Untyped)('aes-256-gcm'), 'ERR_ARGUMENT', /key/);
  });
});

describe('AeadKey argument errors', () => {
  test('import / generate options', () => {
    expectErr(() => T.AeadKey.import('aes-256-gcm', new Uint8Array(16)), 'ERR_KEY_LENGTH', /32/, /16/);
    expectErr(() => T.AeadKey.import('xaes-256-gcm', new Uint8Array(64)), 'ERR_KEY_LENGTH', /32/, /64/);
    for (const [what, make, re] of BAD_BYTES) {
      const e = caught(() => T.AeadKey.import('chacha20-poly1305', make() as Uint8Array));
      expect(e.code, what).toBe('ERR_ARGUMENT');
      if (what !== 'null' && what !== 'undefined') expect(e.message, what).toMatch(re);
    }
    for (const opts of ['x', 5, null, true]) expectErr(() => T.AeadKey.generate('aes-256-gcm', opts as never), 'ERR_ARGUMENT');
    for (const nonceLimit of [-1, -1n, 1.5, NaN, Infinity, 2n ** 64n, '3'])
      expectErr(() => T.AeadKey.generate('aes-256-gcm', { nonceLimit: nonceLimit as never }), 'ERR_ARGUMENT', /nonceLimit/);
    for (const keyId of [-1, 2 ** 32, 1.5, NaN, '1']) expectErr(() => T.AeadKey.generate('aes-256-gcm', { keyId: keyId as never }), 'ERR_ARGUMENT', /keyId/);
  });

  for (const alg of ALGS) {
    test(`${alg}: method arguments`, async () => {
      using key = T.AeadKey.generate(alg);
      const hl = 6 + NONCE[alg];
      const msg = key.seal(new Uint8Array(10));
      const before = key.messagesSealed;
      for (const [what, make, re] of BAD_BYTES) {
        if (what === 'undefined' || what === 'null') {
          expectErr(() => key.seal(make() as Uint8Array), 'ERR_ARGUMENT', /plaintext/);
        } else {
          expectErr(() => key.seal(make() as Uint8Array), 'ERR_ARGUMENT', /plaintext/, re);
          expectErr(() => key.seal(new Uint8Array(1), { aad: make() as Uint8Array }), 'ERR_ARGUMENT', /aad/, re);
          expectErr(() => key.open(msg, { aad: make() as Uint8Array }), 'ERR_ARGUMENT', /aad/, re);
        }
        expectErr(() => key.open(make() as Uint8Array), 'ERR_ARGUMENT', /message/);
        expectErr(() => key.sealInto(make() as Uint8Array, new Uint8Array(1)), 'ERR_ARGUMENT', /out/);
        expectErr(() => key.openInto(make() as Uint8Array, msg), 'ERR_ARGUMENT', /out/);
        expectErr(() => key.sealBatch([new Uint8Array(1), make() as Uint8Array]), 'ERR_ARGUMENT', /messages\[1\]/);
        expectErr(() => key.openBatch([msg, make() as Uint8Array]), 'ERR_ARGUMENT', /messages\[1\]/);
        await expectRejects(() => key.sealAsync(make() as Uint8Array), 'ERR_ARGUMENT');
        await expectRejects(() => key.openAsync(make() as Uint8Array), 'ERR_ARGUMENT');
      }
      for (const opts of ['x', 5, null, true]) {
        expectErr(() => key.seal(new Uint8Array(1), opts as never), 'ERR_ARGUMENT', /options/);
        expectErr(() => key.open(msg, opts as never), 'ERR_ARGUMENT', /options/);
      }
      expectErr(() => key.sealBatch('x' as never), 'ERR_ARGUMENT', /array/);
      expectErr(() => key.openBatch({ length: 1, 0: msg } as never), 'ERR_ARGUMENT', /array/);
      for (const n of [-1, 1.5, NaN, 2 ** 53]) expectErr(() => key.sealedLength(n), 'ERR_ARGUMENT', /length/);
      expect(key.sealedLength(0)).toBe(hl + 16);
      // out: too small, header over the plaintext, partial overlap.
      expectErr(() => key.sealInto(new Uint8Array(hl + 10 + 15), new Uint8Array(10)), 'ERR_ARGUMENT', new RegExp(`${hl + 26}`));
      const buf = new Uint8Array(200);
      expectErr(() => key.sealInto(buf, buf.subarray(0, 10)), 'ERR_ARGUMENT', /overlap/);
      expectErr(() => key.sealInto(buf, buf.subarray(hl + 1, hl + 11)), 'ERR_ARGUMENT', /overlap/);
      expectErr(() => key.sealInto(buf.subarray(0, 100), new Uint8Array(1), { aad: buf.subarray(50, 60) }), 'ERR_ARGUMENT', /overlap/);
      expectErr(() => key.openInto(new Uint8Array(9), msg), 'ERR_ARGUMENT', /10/, /9/);
      const m2 = new Uint8Array(300);
      m2.set(msg, 100);
      expectErr(() => key.openInto(m2.subarray(101 + hl), m2.subarray(100, 100 + msg.length)), 'ERR_ARGUMENT', /overlap/);
      expectErr(() => key.openInto(m2.subarray(100), m2.subarray(100, 100 + msg.length)), 'ERR_ARGUMENT', /overlap/);
      // None of the failures above consumed a nonce.
      expect(key.messagesSealed).toBe(before);
      // Format errors of the message itself and of the text form.
      for (let n = 0; n < hl + 16; n++) expectErr(() => key.open(msg.subarray(0, n)), 'ERR_FORMAT');
      for (const text of ['', 'tsr1', 'tsr2.AAAA', 'tsr1.A', 'tsr1.AA==', 'tsr1.A+/B', 'tsr1. AAAA', 'tsr1.AAB'])
        expectErr(() => key.openString(text), 'ERR_FORMAT');
      for (const text of [5, null, undefined, new Uint8Array(4)]) expectErr(() => key.openString(text as never), 'ERR_ARGUMENT');
    });
  }
});

describe('dispose', () => {
  const ops = (k: ReturnType<typeof T.AeadKey.generate>, msg: Uint8Array) => ({
    seal: () => k.seal(new Uint8Array(1)),
    open: () => k.open(msg),
    sealInto: () => k.sealInto(new Uint8Array(64), new Uint8Array(1)),
    openInto: () => k.openInto(new Uint8Array(64), msg),
    sealToString: () => k.sealToString(new Uint8Array(1)),
    openString: () => k.openString('tsr1.' + Buffer.from(msg).toString('base64url')),
    exportKey: () => k.exportKey(),
    sealBatch: () => k.sealBatch([new Uint8Array(1)]),
    openBatch: () => k.openBatch([msg]),
  });

  for (const alg of ALGS) {
    test(`${alg}: ERR_DISPOSED after dispose() and after a using scope`, async () => {
      const k = T.AeadKey.generate(alg);
      const msg = k.seal(new Uint8Array(3));
      expect(k.disposed).toBe(false);
      k.dispose();
      expect(k.disposed).toBe(true);
      for (const [name, op] of Object.entries(ops(k, msg))) expect(caught(op).code, name).toBe('ERR_DISPOSED');
      await expectRejects(() => k.sealAsync(new Uint8Array(1)), 'ERR_DISPOSED');
      await expectRejects(() => k.openAsync(msg), 'ERR_DISPOSED');
      expect(() => k.dispose()).not.toThrow(); // idempotent

      let escaped: ReturnType<typeof T.AeadKey.generate> | undefined;
      let msg2: Uint8Array;
      {
        using scoped = T.AeadKey.generate(alg);
        escaped = scoped;
        msg2 = scoped.seal(new Uint8Array(3));
        expect(scoped.exportKey().length).toBe(32);
      }
      expect(escaped.disposed).toBe(true);
      for (const [name, op] of Object.entries(ops(escaped, msg2))) expect(caught(op).code, name).toBe('ERR_DISPOSED');
      await expectRejects(() => escaped!.sealAsync(new Uint8Array(1)), 'ERR_DISPOSED');
    });
  }

  test('dispose() while sealAsync is in flight: the job completes with a valid message', async () => {
    const bytes = T.AeadKey.generate('aes-256-gcm').exportKey();
    const k = T.AeadKey.import('aes-256-gcm', bytes);
    const pt = Buffer.alloc(1 << 20, 7);
    const p = k.sealAsync(pt);
    k.dispose();
    const msg = await p;
    using again = T.AeadKey.import('aes-256-gcm', bytes);
    expect(Buffer.from(again.open(msg)).equals(pt)).toBe(true);
  });
});

describe('nonce limit', () => {
  test('defaults: 2^32 for 96-bit nonces, 2^64 - 1 for 192-bit nonces', () => {
    const want: Record<Alg, bigint> = {
      'aes-256-gcm': 2n ** 32n,
      'chacha20-poly1305': 2n ** 32n,
      'xchacha20-poly1305': 2n ** 64n - 1n,
      'xaes-256-gcm': 2n ** 64n - 1n,
    };
    for (const alg of ALGS) {
      using k = T.AeadKey.generate(alg);
      expect(k.nonceLimit, alg).toBe(want[alg]);
      using i = T.AeadKey.import(alg, new Uint8Array(32));
      expect(i.nonceLimit, alg).toBe(want[alg]);
    }
  });

  test('limit 3: three seals, then ERR_NONCE_LIMIT on every sealing path', async () => {
    using k = T.AeadKey.generate('aes-256-gcm', { nonceLimit: 3 });
    expect(k.nonceLimit).toBe(3n);
    const first = k.seal(new Uint8Array([9]));
    k.sealInto(new Uint8Array(64), new Uint8Array(1));
    await k.sealAsync(new Uint8Array(1));
    expect(k.messagesSealed).toBe(3n);
    expectErr(() => k.seal(new Uint8Array(1)), 'ERR_NONCE_LIMIT', /\b3\b/);
    expectErr(() => k.sealInto(new Uint8Array(64), new Uint8Array(1)), 'ERR_NONCE_LIMIT');
    expectErr(() => k.sealToString(new Uint8Array(1)), 'ERR_NONCE_LIMIT');
    expectErr(() => k.sealBatch([new Uint8Array(1)]), 'ERR_NONCE_LIMIT');
    await expectRejects(() => k.sealAsync(new Uint8Array(1)), 'ERR_NONCE_LIMIT');
    expect(k.messagesSealed).toBe(3n);
    // Opening is not limited.
    expect(Buffer.from(k.open(first)).equals(Buffer.from([9]))).toBe(true);
  });

  test('sealBatch over the limit seals nothing; limit 0 refuses the first seal', () => {
    using k = T.AeadKey.generate('aes-256-gcm', { nonceLimit: 3n });
    expectErr(() => k.sealBatch([1, 2, 3, 4].map((n) => new Uint8Array(n))), 'ERR_NONCE_LIMIT');
    expect(k.messagesSealed).toBe(0n);
    expect(k.sealBatch([1, 2, 3].map((n) => new Uint8Array(n)))).toHaveLength(3);
    expect(k.messagesSealed).toBe(3n);
    expectErr(() => k.sealBatch([new Uint8Array(1)]), 'ERR_NONCE_LIMIT');
    expect(k.sealBatch([])).toEqual([]);
    using z = T.AeadKey.generate('xaes-256-gcm', { nonceLimit: 0 });
    expectErr(() => z.seal(new Uint8Array(0)), 'ERR_NONCE_LIMIT');
    expect(z.messagesSealed).toBe(0n);
  });
});

describe('error messages carry no key bytes or plaintext', () => {
  test('across every failure kind', async () => {
    const keyBytes = Buffer.from('K3Y-M4TER1AL-do-not-leak-0123456'); // 32 ASCII bytes
    const PLAINTEXT = 'PLAINTEXT-SECRET-do-not-leak-in-errors';
    const pt = Buffer.from(PLAINTEXT);
    const forbidden = (k: Buffer) => [
      k.toString('hex'),
      k.toString('base64'),
      k.toString('base64url'),
      k.toString('latin1'),
      k.subarray(0, 12).toString('hex'),
      k.subarray(0, 12).toString('latin1'),
      [...k.subarray(0, 12)].join(','),
    ];
    const banned = [
      ...forbidden(keyBytes),
      ...forbidden(keyBytes.subarray(0, 16)),
      PLAINTEXT,
      PLAINTEXT.slice(0, 16),
      pt.toString('hex').slice(0, 24),
      pt.toString('base64').slice(0, 16),
    ];
    const errors: InstanceType<typeof T.TesseraError>[] = [];
    const add = (fn: () => unknown) => errors.push(caught(fn));
    for (const alg of ALGS) {
      const nonce = new Uint8Array(NONCE[alg]);
      const sealed = Buffer.from(T.aead.seal(alg, keyBytes, nonce, pt));
      add(() => T.aead.seal(alg, keyBytes.subarray(0, 16), nonce, pt));
      add(() => T.aead.seal(alg, Buffer.concat([keyBytes, keyBytes]), nonce, pt));
      add(() => T.aead.seal(alg, keyBytes, keyBytes.subarray(0, 5), pt));
      add(() => T.aead.seal(alg, keyBytes, nonce, PLAINTEXT as never));
      add(() => T.aead.seal(alg, keyBytes, nonce, pt, PLAINTEXT as never));
      add(() => T.aead.open(alg, keyBytes, nonce, Buffer.concat([Buffer.alloc(1), sealed])));
      add(() => T.aead.open(alg, keyBytes, nonce, sealed, pt));
      add(() => T.aead.sealInto(Buffer.alloc(5), alg, keyBytes, nonce, pt));
      add(() => T.aead.openInto(Buffer.alloc(5), alg, keyBytes, nonce, sealed));
      // Arguments shifted by one (algorithm forgotten): the key lands in the algorithm slot.
      add(() => T.aead.seal(keyBytes as never, nonce as never, pt as never, pt as never));
      add(() => T.aead.open(new Uint8Array(keyBytes) as never, nonce as never, sealed as never, pt as never));
      add(() => T.AeadKey.import(keyBytes as never, keyBytes));
      using k = T.AeadKey.import(alg, keyBytes, { nonceLimit: 1 });
      const msg = Buffer.from(k.seal(pt, { aad: pt }));
      add(() => k.open(msg));
      add(() => k.open(Buffer.concat([msg.subarray(0, -1), Buffer.from([msg.at(-1)! ^ 1])]), { aad: pt }));
      add(() => k.openBatch([msg, msg], { aad: keyBytes }));
      add(() => k.seal(pt));
      add(() => k.openString(PLAINTEXT));
      add(() => k.openString('tsr1.' + pt.toString('base64url')));
      add(() => T.AeadKey.import(alg, keyBytes.subarray(0, 16)));
      add(() => T.AeadKey.import(alg, PLAINTEXT as never));
      add(() => k.sealedLength(pt as never)); // the buffer instead of its length
      const p = k.openAsync(msg, { aad: keyBytes });
      await p.catch((e) => errors.push(e));
      k.dispose();
      add(() => k.seal(pt));
    }
    expect(errors.length).toBe(ALGS.length * 23);
    const leaks = new Set<string>();
    for (const e of errors) {
      expect(e).toBeInstanceOf(T.TesseraError);
      const text = `${e.message}\n${String(e)}\n${JSON.stringify(e)}\n${e.stack ?? ''}`;
      for (const s of banned) if (text.includes(s)) leaks.add(`${e.code}: "${e.message}" contains ${JSON.stringify(s)}`);
    }
    expect([...leaks]).toEqual([]);
  });
});
