/**
 * Every Cobblestone encryption and decryption path makes and reads the same
 * bytes (c2sp.org/chunked-encryption; docs/API.md "Chunked encryption"), and the
 * caller-owned output forms keep their contract.
 *
 * Proves, on the active backend:
 *  - paths: encryptChunked, encryptChunkedAsync, encryptChunkedInto,
 *    encryptChunkedIntoAsync, createEncryptStream (random write pieces, 1-byte
 *    pieces among them) and EncryptTransformStream, each with threads 1 and 2,
 *    and the same six decrypt paths; sizes 0, 1, 16383, 16384, 16385, 64
 *    chunks (one stream batch), 64 chunks + 1, 3 batches + 1 and random sizes
 *    around chunk and batch boundaries;
 *  - with the salt fixed (getRandomValues answering the 24-byte salt request
 *    with chosen bytes) every encrypt path gives byte-identical output, equal
 *    to the node:crypto reference (test/chunked.reference.ts) for that salt;
 *    with random salts every path's ciphertext decrypts through every decrypt
 *    path to the plaintext;
 *  - a whole message written one byte at a time through both stream kinds;
 *  - Into: returns the bytes written, leaves out past them untouched, ERR_ARGUMENT
 *    naming the needed size for a short out, ERR_ARGUMENT for out overlapping
 *    the input; a failed decryption leaves out all zero (sync, async, both
 *    thread counts), and so does the backend's own open (sync and async runs,
 *    pool-sized ones included) before the public wrapper wipes again;
 *  - chunkedSealedLength(n) is encryptChunked's output length; chunkedOpenedLength
 *    agrees with decryptChunked (the plaintext length, or ERR_TRUNCATED exactly
 *    where decryptChunked reports it).
 * Seeded (TESSERA_SEED=<seed> reruns a failure; the seed is in the test names).
 */
import * as crypto from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, test } from 'vitest';
import { refEncrypt } from './chunked.reference';
import { codeOf, getBackend, prng, rejects, T } from './tessera';

const SEED = process.env.TESSERA_SEED !== undefined ? Number(process.env.TESSERA_SEED) >>> 0 : crypto.randomBytes(4).readUInt32LE(0);
const CHUNK = 16384;
const CHUNK_CT = CHUNK + 16;
const BATCH = 64 * CHUNK;
const CTX = 'paths';
type Rng = ReturnType<typeof prng>;

const hex = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('hex');
const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

function sizes(r: Rng): number[] {
  const fixed = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, BATCH, BATCH + 1, 3 * BATCH + 1];
  const around = [CHUNK, 2 * CHUNK, BATCH, 2 * BATCH];
  const random = Array.from({ length: 4 }, () => Math.max(0, around[r.int(around.length)]! + r.int(33) - 16));
  return [...fixed, ...random];
}

/** Random write pieces: single bytes, tiny ones, whole chunks and up to 300 KiB. */
function pieces(r: Rng, data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length;) {
    const u = r.float();
    const n = Math.min(data.length - at, u < 0.15 ? 1 : u < 0.3 ? 1 + r.int(40) : u < 0.4 ? CHUNK * (1 + r.int(3)) : 1 + r.int(300 * 1024));
    out.push(data.subarray(at, at + n));
    at += n;
  }
  return out;
}

async function viaNode(t: Transform, parts: Uint8Array[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(parts), t, async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
  return Buffer.concat(out);
}

async function viaWeb(ts: TransformStream<Uint8Array, Uint8Array>, parts: Uint8Array[]): Promise<Buffer> {
  let i = 0;
  const rs = new ReadableStream<Uint8Array>({ pull: (c) => (i < parts.length ? c.enqueue(parts[i++]!) : c.close()) });
  const out: Uint8Array[] = [];
  for await (const c of rs.pipeThrough(ts) as unknown as AsyncIterable<Uint8Array>) out.push(c);
  return Buffer.concat(out);
}

type Opts = { context: string; threads: number };
type Path = (key: Uint8Array, input: Uint8Array, o: Opts, r: Rng) => Promise<Uint8Array>;

const ENCRYPT: Record<string, Path> = {
  encryptChunked: async (k, p, o) => T.encryptChunked(k, p, o),
  encryptChunkedAsync: (k, p, o) => T.encryptChunkedAsync(k, p, o),
  encryptChunkedInto: async (k, p, o) => {
    const out = new Uint8Array(T.chunkedSealedLength(p.length));
    expect(T.encryptChunkedInto(out, k, p, o)).toBe(out.length);
    return out;
  },
  encryptChunkedIntoAsync: async (k, p, o) => {
    const out = new Uint8Array(T.chunkedSealedLength(p.length));
    expect(await T.encryptChunkedIntoAsync(out, k, p, o)).toBe(out.length);
    return out;
  },
  createEncryptStream: (k, p, o, r) => viaNode(T.createEncryptStream(k, o), pieces(r, p)),
  EncryptTransformStream: (k, p, o, r) => viaWeb(new T.EncryptTransformStream(k, o), pieces(r, p)),
};

const DECRYPT: Record<string, Path> = {
  decryptChunked: async (k, c, o) => T.decryptChunked(k, c, o),
  decryptChunkedAsync: (k, c, o) => T.decryptChunkedAsync(k, c, o),
  decryptChunkedInto: async (k, c, o) => {
    const out = new Uint8Array(T.chunkedOpenedLength(c.length));
    expect(T.decryptChunkedInto(out, k, c, o)).toBe(out.length);
    return out;
  },
  decryptChunkedIntoAsync: async (k, c, o) => {
    const out = new Uint8Array(T.chunkedOpenedLength(c.length));
    expect(await T.decryptChunkedIntoAsync(out, k, c, o)).toBe(out.length);
    return out;
  },
  createDecryptStream: (k, c, o, r) => viaNode(T.createDecryptStream(k, o), pieces(r, c)),
  DecryptTransformStream: (k, c, o, r) => viaWeb(new T.DecryptTransformStream(k, o), pieces(r, c)),
};

/** Runs fn with crypto.getRandomValues answering 24-byte requests (the Cobblestone salt) with `salt`. */
async function withSalt<R>(salt: Uint8Array, fn: () => Promise<R>): Promise<R> {
  const c = globalThis.crypto;
  const orig = c.getRandomValues;
  let used = 0;
  c.getRandomValues = (<A extends ArrayBufferView | null>(a: A): A => {
    if (a instanceof Uint8Array && a.length === 24) {
      a.set(salt);
      used++;
      return a;
    }
    return orig.call(c, a as never) as A;
  }) as typeof orig;
  try {
    const r = await fn();
    expect(used, 'the salt request was answered').toBeGreaterThan(0);
    return r;
  } finally {
    c.getRandomValues = orig;
  }
}

describe('every path, the same bytes', () => {
  test(`fixed salt: every encrypt path x threads 1, 2 is byte-identical to the reference (seed ${SEED})`, async () => {
    const r = prng(SEED);
    const failures: string[] = [];
    for (const n of sizes(r)) {
      const key = crypto.randomBytes(32),
        pt = crypto.randomBytes(n),
        salt = crypto.randomBytes(24);
      const want = refEncrypt(key, pt, CTX, 'cobblestone-256', salt);
      for (const [name, enc] of Object.entries(ENCRYPT))
        for (const threads of [1, 2]) {
          const got = await withSalt(salt, () => enc(key, pt, { context: CTX, threads }, r));
          if (!same(got, want)) failures.push(`size ${n} ${name} threads ${threads}: ${got.length} bytes, differs from the reference (${want.length})`);
        }
    }
    expect(failures, `seed ${SEED}`).toEqual([]);
  });

  test(`random salts: every encrypt path's output decrypts through every decrypt path, threads 1 and 2 (seed ${SEED})`, async () => {
    const r = prng(SEED ^ 0x5eed);
    const failures: string[] = [];
    for (const n of sizes(r)) {
      const key = crypto.randomBytes(32),
        pt = crypto.randomBytes(n);
      let i = 0;
      for (const [ename, enc] of Object.entries(ENCRYPT))
        for (const et of [1, 2]) {
          const ct = await enc(key, pt, { context: CTX, threads: et }, r);
          if (ct.length !== T.chunkedSealedLength(n))
            failures.push(`size ${n} ${ename}: ${ct.length} bytes, chunkedSealedLength says ${T.chunkedSealedLength(n)}`);
          for (const [dname, dec] of Object.entries(DECRYPT)) {
            const threads = 1 + (i++ % 2);
            const got = await dec(key, ct, { context: CTX, threads }, r).catch((e: Error) => e);
            if (got instanceof Error) failures.push(`size ${n} ${ename}/${et} -> ${dname}/${threads}: ${got.message}`);
            else if (!same(got, pt)) failures.push(`size ${n} ${ename}/${et} -> ${dname}/${threads}: wrong plaintext (${got.length} bytes)`);
          }
        }
    }
    expect(failures, `seed ${SEED}`).toEqual([]);
  });

  test('a message written one byte at a time through Node and Web streams, both directions', async () => {
    const key = crypto.randomBytes(32),
      pt = crypto.randomBytes(CHUNK + 1),
      salt = crypto.randomBytes(24);
    const bytes = (u: Uint8Array) => Array.from({ length: u.length }, (_, i) => u.subarray(i, i + 1));
    const want = refEncrypt(key, pt, CTX, 'cobblestone-256', salt);
    const o = { context: CTX };
    expect(hex(await withSalt(salt, () => viaNode(T.createEncryptStream(key, o), bytes(pt))))).toBe(hex(want));
    expect(hex(await withSalt(salt, () => viaWeb(new T.EncryptTransformStream(key, o), bytes(pt))))).toBe(hex(want));
    expect(same(await viaNode(T.createDecryptStream(key, o), bytes(want)), pt)).toBe(true);
    expect(same(await viaWeb(new T.DecryptTransformStream(key, o), bytes(want)), pt)).toBe(true);
  });
});

describe('caller-owned output (Into)', () => {
  const key = crypto.randomBytes(32);
  const o = { context: CTX };

  test('returns the bytes written and leaves out past them untouched', async () => {
    for (const n of [0, 5, CHUNK, BATCH + 3]) {
      const pt = crypto.randomBytes(n);
      const need = T.chunkedSealedLength(n);
      const out = new Uint8Array(need + 40).fill(0xee);
      expect(T.encryptChunkedInto(out, key, pt, o)).toBe(need);
      expect(out.subarray(need).every((b) => b === 0xee)).toBe(true);
      expect(same(T.decryptChunked(key, out.subarray(0, need), o), pt)).toBe(true);
      const outA = new Uint8Array(need + 3).fill(0xee);
      expect(await T.encryptChunkedIntoAsync(outA, key, pt, o)).toBe(need);
      expect(outA.subarray(need).every((b) => b === 0xee)).toBe(true);
      const ptOut = new Uint8Array(n + 9).fill(0xdd);
      expect(T.decryptChunkedInto(ptOut, key, outA.subarray(0, need), o)).toBe(n);
      expect(same(ptOut.subarray(0, n), pt) && ptOut.subarray(n).every((b) => b === 0xdd)).toBe(true);
      ptOut.fill(0xdd);
      expect(await T.decryptChunkedIntoAsync(ptOut, key, out.subarray(0, need), o)).toBe(n);
      expect(same(ptOut.subarray(0, n), pt)).toBe(true);
    }
  });

  test('out too small: ERR_ARGUMENT naming the size needed; out overlapping the input: ERR_ARGUMENT', async () => {
    const pt = crypto.randomBytes(3 * CHUNK + 1);
    const ct = T.encryptChunked(key, pt, o);
    const small = new Uint8Array(ct.length - 1);
    for (const f of [() => T.encryptChunkedInto(small, key, pt, o), () => T.decryptChunkedInto(new Uint8Array(pt.length - 1), key, ct, o)]) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(T.TesseraError);
      expect((err as InstanceType<typeof T.TesseraError>).code).toBe('ERR_ARGUMENT');
      expect((err as Error).message).toMatch(new RegExp(`need (${ct.length}|${pt.length}) bytes`));
    }
    expect((await rejects(T.encryptChunkedIntoAsync(small, key, pt, o))).message).toContain(`need ${ct.length} bytes`);
    expect((await rejects(T.decryptChunkedIntoAsync(new Uint8Array(10), key, ct, o))).message).toContain(`need ${pt.length} bytes`);
    // Overlap: one ArrayBuffer holding both, in every arrangement.
    const big = new Uint8Array(ct.length * 3);
    big.set(pt, 100);
    const ptIn = big.subarray(100, 100 + pt.length);
    for (const at of [0, 100, 101, 100 + pt.length - 1])
      expect(
        codeOf(() => T.encryptChunkedInto(big.subarray(at), key, ptIn, o)),
        `encrypt out at ${at}`,
      ).toBe('ERR_ARGUMENT');
    expect(codeOf(() => T.encryptChunkedInto(big.subarray(100 + pt.length), key, ptIn, o))).toBe('no error'); // adjacent is fine
    big.set(ct, 0);
    const ctIn = big.subarray(0, ct.length);
    for (const at of [0, 56, ct.length - 1])
      expect(
        codeOf(() => T.decryptChunkedInto(big.subarray(at), key, ctIn, o)),
        `decrypt out at ${at}`,
      ).toBe('ERR_ARGUMENT');
    expect((await rejects(T.decryptChunkedIntoAsync(big.subarray(1), key, ctIn, o))).code).toBe('ERR_ARGUMENT');
    expect(codeOf(() => T.decryptChunkedInto(big.subarray(ct.length), key, ctIn, o))).toBe('no error');
    // Wrong types.
    expect(codeOf(() => T.encryptChunkedInto([] as never, key, pt, o))).toBe('ERR_ARGUMENT');
    expect(codeOf(() => T.decryptChunkedInto(new Uint8Array(10), key, 'x' as never, o))).toBe('ERR_ARGUMENT');
  });

  test('a failed decryption leaves out all zero (sync, async, threads 1 and 2); a wrong key leaves it untouched', async () => {
    for (const n of [CHUNK + 1, 3 * BATCH + 5]) {
      const pt = crypto.randomBytes(n);
      const ct = Buffer.from(T.encryptChunked(key, pt, o));
      ct[ct.length - 20]! ^= 1; // the last chunk: every earlier one would verify
      for (const threads of [1, 2]) {
        const out = new Uint8Array(n).fill(0xaa);
        expect(codeOf(() => T.decryptChunkedInto(out, key, ct, { ...o, threads }))).toBe('ERR_AUTH');
        expect(
          out.every((b) => b === 0),
          `sync size ${n} threads ${threads}`,
        ).toBe(true);
        out.fill(0xaa);
        expect((await rejects(T.decryptChunkedIntoAsync(out, key, ct, { ...o, threads }))).code).toBe('ERR_AUTH');
        expect(
          out.every((b) => b === 0),
          `async size ${n} threads ${threads}`,
        ).toBe(true);
      }
      const out = new Uint8Array(n).fill(0xaa);
      expect(codeOf(() => T.decryptChunkedInto(out, crypto.randomBytes(32), ct, o))).toBe('ERR_COMMITMENT');
      expect(out.every((b) => b === 0xaa)).toBe(true); // nothing was decrypted
    }
  });

  test("the backend's own open wipes its output on failure (sync and async runs, one piece and pool-sized)", async () => {
    const b = getBackend();
    const salt = crypto.randomBytes(24),
      ctx = new TextEncoder().encode(CTX);
    for (const n of [CHUNK + 1, 40 * CHUNK + 5, 300 * CHUNK + 5]) {
      const pt = crypto.randomBytes(n);
      const c = b.createChunked(1, key, salt, ctx);
      const body = new Uint8Array(T.chunkedSealedLength(n) - 56);
      c.seal(0, pt, body, true, 2);
      body[body.length - 3]! ^= 0x80;
      const out = new Uint8Array(n).fill(0xaa);
      expect(codeOf(() => c.open(0, body, out, true, 2))).toBe('ERR_AUTH');
      expect(
        out.every((x) => x === 0),
        `${b.name} sync size ${n}`,
      ).toBe(true);
      out.fill(0xaa);
      expect((await rejects(c.openAsync(0, body, out, true, 2))).code).toBe('ERR_AUTH');
      expect(
        out.every((x) => x === 0),
        `${b.name} async size ${n}`,
      ).toBe(true);
      c.dispose();
    }
  });
});

describe('lengths', () => {
  test('chunkedSealedLength(n) is encryptChunked output length; chunkedOpenedLength inverts it', () => {
    const key = crypto.randomBytes(32);
    for (const n of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, BATCH, BATCH + 1]) {
      expect(T.encryptChunked(key, new Uint8Array(n), { context: '' }).length).toBe(T.chunkedSealedLength(n));
      expect(T.chunkedOpenedLength(T.chunkedSealedLength(n))).toBe(n);
    }
    for (const bad of [-1, 1.5, NaN, '3', 2 ** 53]) {
      expect(
        codeOf(() => T.chunkedSealedLength(bad as never)),
        String(bad),
      ).toBe('ERR_ARGUMENT');
      expect(
        codeOf(() => T.chunkedOpenedLength(bad as never)),
        String(bad),
      ).toBe('ERR_ARGUMENT');
    }
  });

  test('chunkedOpenedLength is ERR_TRUNCATED exactly where decryptChunked reports ERR_TRUNCATED', () => {
    const key = crypto.randomBytes(32);
    const ct = Buffer.from(T.encryptChunked(key, crypto.randomBytes(3 * CHUNK), { context: '' }));
    const lengths = new Set<number>([0, 1, 55, 56, 71, 72, 73]);
    for (let k = 1; k <= 4; k++) for (const d of [-17, -16, -15, -1, 0, 1, 15, 16, 17]) lengths.add(56 + k * CHUNK_CT + d);
    for (const len of lengths) {
      const input = len <= ct.length ? ct.subarray(0, len) : Buffer.concat([ct, Buffer.alloc(len - ct.length)]);
      const dec = codeOf(() => T.decryptChunked(key, input, { context: '' }));
      const opened = codeOf(() => T.chunkedOpenedLength(len));
      if (dec === 'ERR_TRUNCATED') expect(opened, `length ${len}`).toBe('ERR_TRUNCATED');
      else expect(opened, `length ${len} (decryptChunked: ${dec})`).toBe('no error');
    }
  });
});
