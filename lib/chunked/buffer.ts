/**
 * One-shot Cobblestone over buffers (c2sp.org/chunked-encryption): the whole
 * message in memory, chunks fanned out over the worker pool.
 *
 *   salt (24) || commitment (32) || chunk 0 || ... || short final chunk
 */
import { TesseraError } from '../errors';
import type { ChunkedHandle } from '../backend/types';
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

function bytesArg(v: unknown, name: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TesseraError('ERR_ARGUMENT', `${name} must be a Uint8Array (got ${describe(v)})`);
  return v;
}

interface Prepared {
  r: Resolved;
  c: ChunkedHandle;
  out: Uint8Array;
  body: Uint8Array; // the chunk stream part of the input
}

function prepareEncrypt(key: ChunkedKey, plaintext: Uint8Array, opts: ChunkedOptions): Prepared {
  bytesArg(plaintext, 'plaintext');
  const r = resolve(key, opts);
  const salt = randomSalt();
  const c = cipher(r, salt);
  const out = r.backend.allocOutput(encryptedLength(plaintext.length));
  out.set(salt, 0);
  out.set(c.commitment(), SALT_SIZE);
  return { r, c, out, body: plaintext };
}

/** Parses the header and checks the commitment before any chunk is touched. */
function prepareDecrypt(key: ChunkedKey, ciphertext: Uint8Array, opts: ChunkedOptions): Prepared {
  bytesArg(ciphertext, 'ciphertext');
  const r = resolve(key, opts);
  const n = decryptedLength(ciphertext.length, r.backend);
  const c = cipher(r, ciphertext.subarray(0, SALT_SIZE));
  try {
    c.check(ciphertext.subarray(SALT_SIZE, HEADER_SIZE));
  } catch (e) {
    c.dispose();
    throw e;
  }
  return { r, c, out: r.backend.allocOutput(n), body: ciphertext.subarray(HEADER_SIZE) };
}

/** Encrypts plaintext into one Cobblestone ciphertext (fresh random salt). */
export function encryptChunked(key: ChunkedKey, plaintext: Uint8Array, opts: ChunkedOptions): Uint8Array {
  const p = prepareEncrypt(key, plaintext, opts);
  try {
    p.c.seal(0, p.body, p.out.subarray(HEADER_SIZE), true, p.r.threads);
    return p.out;
  } finally {
    p.c.dispose();
  }
}

/**
 * Decrypts a Cobblestone ciphertext. Throws ERR_COMMITMENT (wrong key or
 * context), ERR_TRUNCATED (impossible length), ERR_AUTH (a chunk failed) and
 * never returns partial plaintext.
 */
export function decryptChunked(key: ChunkedKey, ciphertext: Uint8Array, opts: ChunkedOptions): Uint8Array {
  const p = prepareDecrypt(key, ciphertext, opts);
  try {
    p.c.open(0, p.body, p.out, true, p.r.threads);
    return p.out;
  } finally {
    p.c.dispose();
  }
}

/**
 * encryptChunked on the worker pool. The event loop checks the arguments,
 * derives the key, submits one job and takes one completion: the workers
 * allocate the output (native: resident blocks, README "Output memory") and
 * write every chunk. Do not mutate the input until the promise settles.
 */
export async function encryptChunkedAsync(key: ChunkedKey, plaintext: Uint8Array, opts: ChunkedOptions): Promise<Uint8Array> {
  bytesArg(plaintext, 'plaintext');
  const r = resolve(key, opts);
  const salt = randomSalt();
  const c = cipher(r, salt);
  try {
    const out = await c.sealAlloc(0, plaintext, true, r.threads, HEADER_SIZE);
    out.set(salt, 0);
    out.set(c.commitment(), SALT_SIZE);
    return out;
  } finally {
    c.dispose();
  }
}

/** decryptChunked on the worker pool, with the output made by the workers as for encryptChunkedAsync. */
export async function decryptChunkedAsync(key: ChunkedKey, ciphertext: Uint8Array, opts: ChunkedOptions): Promise<Uint8Array> {
  bytesArg(ciphertext, 'ciphertext');
  const r = resolve(key, opts);
  decryptedLength(ciphertext.length, r.backend);
  const c = cipher(r, ciphertext.subarray(0, SALT_SIZE));
  try {
    c.check(ciphertext.subarray(SALT_SIZE, HEADER_SIZE));
    return await c.openAlloc(0, ciphertext.subarray(HEADER_SIZE), true, r.threads);
  } finally {
    c.dispose();
  }
}
