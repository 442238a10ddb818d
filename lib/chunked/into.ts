/**
 * Cobblestone over caller-owned output buffers (c2sp.org/chunked-encryption;
 * README "Chunked encryption"): the one-shot calls of buffer.ts writing into
 * `out` instead of allocating, and the exact lengths to size it with.
 *
 *   const out = new Uint8Array(chunkedSealedLength(pt.length));
 *   const n = encryptChunkedInto(out, key, pt, { context });   // n === out.length
 */
import type { ChunkedHandle } from '../backend/types';
import { TesseraError } from '../errors';
import { describe } from '../format';
import {
  type ChunkedKey,
  type ChunkedOptions,
  cipher,
  decryptedLength,
  encryptedLength,
  HEADER_SIZE,
  randomSalt,
  type Resolved,
  resolve,
  SALT_SIZE,
} from './options';

/** Exactly the length of encryptChunked's output for an n-byte plaintext: 56 + n + 16 per chunk (the final one included). */
export function chunkedSealedLength(n: number): number {
  return encryptedLength(n);
}

/**
 * The plaintext length of an n-byte Cobblestone ciphertext (salt and
 * commitment included); ERR_TRUNCATED when no message has that length, as
 * decryptChunked reports it.
 */
export function chunkedOpenedLength(n: number): number {
  return decryptedLength(n);
}

function bytesArg(v: unknown, name: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TesseraError('ERR_ARGUMENT', `${name} must be a Uint8Array (got ${describe(v)})`);
  return v;
}

/** out[0, need) must exist and share no byte with the input. */
function checkOut(out: Uint8Array, need: number, input: Uint8Array): Uint8Array {
  if (out.length < need) throw new TesseraError('ERR_ARGUMENT', `output buffer too small: need ${need} bytes (got ${out.length})`);
  const o = out.subarray(0, need);
  if (need > 0 && input.length > 0 && o.buffer === input.buffer && o.byteOffset < input.byteOffset + input.length && input.byteOffset < o.byteOffset + need)
    throw new TesseraError('ERR_ARGUMENT', 'output buffer overlaps the input');
  return o;
}

interface Prepared {
  r: Resolved;
  c: ChunkedHandle;
  out: Uint8Array; // exactly the bytes to write
  body: Uint8Array; // the chunk stream part of the input
}

function prepareEncrypt(out: unknown, key: ChunkedKey, plaintext: unknown, opts: ChunkedOptions): Prepared {
  const o = bytesArg(out, 'out');
  const pt = bytesArg(plaintext, 'plaintext');
  const r = resolve(key, opts);
  const dst = checkOut(o, encryptedLength(pt.length), pt);
  const salt = randomSalt();
  const c = cipher(r, salt);
  dst.set(salt, 0);
  dst.set(c.commitment(), SALT_SIZE);
  return { r, c, out: dst, body: pt };
}

/** Checks lengths, then the commitment, before any byte of out is written. */
function prepareDecrypt(out: unknown, key: ChunkedKey, ciphertext: unknown, opts: ChunkedOptions): Prepared {
  const o = bytesArg(out, 'out');
  const ct = bytesArg(ciphertext, 'ciphertext');
  const r = resolve(key, opts);
  const dst = checkOut(o, decryptedLength(ct.length, r.backend), ct);
  const c = cipher(r, ct.subarray(0, SALT_SIZE));
  try {
    c.check(ct.subarray(SALT_SIZE, HEADER_SIZE));
  } catch (e) {
    c.dispose();
    throw e;
  }
  return { r, c, out: dst, body: ct.subarray(HEADER_SIZE) };
}

/**
 * encryptChunked into out (at least chunkedSealedLength(plaintext.length)
 * bytes, not overlapping plaintext); returns the bytes written.
 */
export function encryptChunkedInto(out: Uint8Array, key: ChunkedKey, plaintext: Uint8Array, opts: ChunkedOptions): number {
  const p = prepareEncrypt(out, key, plaintext, opts);
  try {
    p.c.seal(0, p.body, p.out.subarray(HEADER_SIZE), true, p.r.threads);
    return p.out.length;
  } finally {
    p.c.dispose();
  }
}

/**
 * decryptChunked into out (at least chunkedOpenedLength(ciphertext.length)
 * bytes, not overlapping ciphertext); returns the bytes written. On ERR_AUTH
 * those bytes of out are zero: no unverified plaintext stays behind.
 */
export function decryptChunkedInto(out: Uint8Array, key: ChunkedKey, ciphertext: Uint8Array, opts: ChunkedOptions): number {
  const p = prepareDecrypt(out, key, ciphertext, opts);
  try {
    p.c.open(0, p.body, p.out, true, p.r.threads);
    return p.out.length;
  } catch (e) {
    p.out.fill(0); // the backends wipe too; this is the contract whatever they do
    throw e;
  } finally {
    p.c.dispose();
  }
}

/** encryptChunkedInto on the worker pool. Neither buffer may be touched until the promise settles. */
export async function encryptChunkedIntoAsync(out: Uint8Array, key: ChunkedKey, plaintext: Uint8Array, opts: ChunkedOptions): Promise<number> {
  const p = prepareEncrypt(out, key, plaintext, opts);
  try {
    await p.c.sealAsync(0, p.body, p.out.subarray(HEADER_SIZE), true, p.r.threads);
    return p.out.length;
  } finally {
    p.c.dispose();
  }
}

/** decryptChunkedInto on the worker pool. Neither buffer may be touched until the promise settles. */
export async function decryptChunkedIntoAsync(out: Uint8Array, key: ChunkedKey, ciphertext: Uint8Array, opts: ChunkedOptions): Promise<number> {
  const p = prepareDecrypt(out, key, ciphertext, opts);
  try {
    await p.c.openAsync(0, p.body, p.out, true, p.r.threads);
    return p.out.length;
  } catch (e) {
    p.out.fill(0);
    throw e;
  } finally {
    p.c.dispose();
  }
}
