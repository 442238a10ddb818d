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

/** @internal shared with into.ts */
export function bytesArg(v: unknown, name: string): Uint8Array {
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

/**
 * Where an output goes: the caller's buffer (the Into calls, checked here),
 * 'here' (allocated on this thread, header written), or 'workers' (the async
 * job allocates it; `out` is then the 56-byte header to copy in front).
 */
export type OutputSpec = { into: unknown } | 'here' | 'workers';

export interface Prepared {
  r: Resolved;
  c: ChunkedHandle;
  out: Uint8Array; // exactly the bytes to write (or the header, for 'workers')
  body: Uint8Array; // the chunk stream part of the input
}

/** @internal shared with into.ts */
export function prepareEncrypt(key: ChunkedKey, plaintext: unknown, opts: ChunkedOptions, spec: OutputSpec): Prepared {
  const pt = bytesArg(plaintext, 'plaintext');
  const into = typeof spec === 'object' ? bytesArg(spec.into, 'out') : undefined;
  const r = resolve(key, opts);
  const n = encryptedLength(pt.length);
  const out = into ? checkOut(into, n, pt) : spec === 'here' ? r.backend.allocOutput(n) : new Uint8Array(HEADER_SIZE);
  const salt = randomSalt();
  const c = cipher(r, salt);
  out.set(salt, 0);
  out.set(c.commitment(), SALT_SIZE);
  return { r, c, out, body: pt };
}

/** Checks the lengths, then the commitment, before any chunk is touched or any byte of out written. */
/** @internal shared with into.ts */
export function prepareDecrypt(key: ChunkedKey, ciphertext: unknown, opts: ChunkedOptions, spec: OutputSpec): Prepared {
  const ct = bytesArg(ciphertext, 'ciphertext');
  const into = typeof spec === 'object' ? bytesArg(spec.into, 'out') : undefined;
  const r = resolve(key, opts);
  const n = decryptedLength(ct.length, r.backend);
  const out = into ? checkOut(into, n, ct) : spec === 'here' ? r.backend.allocOutput(n) : new Uint8Array(0);
  const c = cipher(r, ct.subarray(0, SALT_SIZE));
  try {
    c.check(ct.subarray(SALT_SIZE, HEADER_SIZE));
  } catch (e) {
    c.dispose();
    throw e;
  }
  return { r, c, out, body: ct.subarray(HEADER_SIZE) };
}

/** Encrypts plaintext into one Cobblestone ciphertext (fresh random salt). */
export function encryptChunked(key: ChunkedKey, plaintext: Uint8Array, opts: ChunkedOptions): Uint8Array {
  const p = prepareEncrypt(key, plaintext, opts, 'here');
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
  const p = prepareDecrypt(key, ciphertext, opts, 'here');
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
 * allocate the output (native: resident blocks, docs/API.md "Output memory") and
 * write every chunk. Do not mutate the input until the promise settles.
 */
export async function encryptChunkedAsync(key: ChunkedKey, plaintext: Uint8Array, opts: ChunkedOptions): Promise<Uint8Array> {
  const p = prepareEncrypt(key, plaintext, opts, 'workers');
  try {
    const out = await p.c.sealAlloc(0, p.body, true, p.r.threads, HEADER_SIZE);
    out.set(p.out, 0);
    return out;
  } finally {
    p.c.dispose();
  }
}

/** decryptChunked on the worker pool, with the output made by the workers as for encryptChunkedAsync. */
export async function decryptChunkedAsync(key: ChunkedKey, ciphertext: Uint8Array, opts: ChunkedOptions): Promise<Uint8Array> {
  const p = prepareDecrypt(key, ciphertext, opts, 'workers');
  try {
    return await p.c.openAlloc(0, p.body, true, p.r.threads);
  } finally {
    p.c.dispose();
  }
}
