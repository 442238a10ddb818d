/**
 * Cobblestone over caller-owned output buffers (c2sp.org/chunked-encryption;
 * docs/API.md "Chunked encryption"): the one-shot calls of buffer.ts writing into
 * `out` instead of allocating, and the exact lengths to size it with.
 *
 *   const out = new Uint8Array(chunkedSealedLength(pt.length));
 *   const n = encryptChunkedInto(out, key, pt, { context });   // n === out.length
 */
import { type ChunkedKey, type ChunkedOptions, decryptedLength, encryptedLength, HEADER_SIZE } from './options';
import { prepareDecrypt, prepareEncrypt } from './buffer';

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

/**
 * encryptChunked into out (at least chunkedSealedLength(plaintext.length)
 * bytes, not overlapping plaintext); returns the bytes written.
 */
export function encryptChunkedInto(out: Uint8Array, key: ChunkedKey, plaintext: Uint8Array, opts: ChunkedOptions): number {
  const p = prepareEncrypt(key, plaintext, opts, { into: out });
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
  const p = prepareDecrypt(key, ciphertext, opts, { into: out });
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
  const p = prepareEncrypt(key, plaintext, opts, { into: out });
  try {
    await p.c.sealAsync(0, p.body, p.out.subarray(HEADER_SIZE), true, p.r.threads);
    return p.out.length;
  } finally {
    p.c.dispose();
  }
}

/** decryptChunkedInto on the worker pool. Neither buffer may be touched until the promise settles. */
export async function decryptChunkedIntoAsync(out: Uint8Array, key: ChunkedKey, ciphertext: Uint8Array, opts: ChunkedOptions): Promise<number> {
  const p = prepareDecrypt(key, ciphertext, opts, { into: out });
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
