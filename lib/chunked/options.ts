/**
 * Cobblestone parameters and option checking shared by every chunked API
 * (c2sp.org/chunked-encryption). The chunk math itself is in
 * native/chunked/tsr_chunked.c; the constants here size buffers and offsets.
 */
import { AeadKey } from '../aead';
import { getBackend } from '../backend/select';
import type { Backend, ChunkedHandle, KeyHandle, SuiteId } from '../backend/types';
import { TesseraError } from '../errors';
import { describe } from '../format';
import { SecureBuffer } from '../secure';

/** Plaintext bytes per full chunk (spec "Message chunking"). */
export const CHUNK_SIZE = 16384;
export const TAG_SIZE = 16;
/** Ciphertext bytes per full chunk. */
export const CHUNK_CT = CHUNK_SIZE + TAG_SIZE;
export const SALT_SIZE = 24;
export const COMMITMENT_SIZE = 32;
/** salt || commitment, before the first chunk. */
export const HEADER_SIZE = SALT_SIZE + COMMITMENT_SIZE;

/** The Cobblestone suites (c2sp.org/chunked-encryption): Cobblestone-256 (AES-256-GCM, the default) and Cobblestone-128 (AES-128-GCM). */
export const SUITES = ['cobblestone-256', 'cobblestone-128'] as const;
/** A Cobblestone suite name (SUITES). */
export type Suite = (typeof SUITES)[number];
const SUITE_IDS: ReadonlyMap<unknown, SuiteId> = new Map<unknown, SuiteId>([
  ['cobblestone-256', 1],
  ['cobblestone-128', 2],
]);

/** The input key: raw bytes (32, or 16 for cobblestone-128), a SecureBuffer, or an AeadKey whose bytes stay in secure memory. */
export type ChunkedKey = Uint8Array | SecureBuffer | AeadKey;

/** Options of every Cobblestone call: the context (required), the suite and the threads. */
export interface ChunkedOptions {
  /**
   * Application context bound into the key derivation (a string is UTF-8).
   * Required so that two uses of one key cannot read each other's data;
   * pass '' to bind nothing.
   */
  context: string | Uint8Array;
  /** Default 'cobblestone-256' (AES-256-GCM). Decryption must name the same suite. */
  suite?: Suite;
  /** Worker threads for this call (1 .. 64); default: the pool size (the CPU count unless configured). */
  threads?: number;
}

export interface Resolved {
  backend: Backend;
  suite: SuiteId;
  context: Uint8Array;
  threads: number;
  key: Uint8Array | KeyHandle;
}

const utf8 = new TextEncoder();

export function resolve(key: ChunkedKey, opts: ChunkedOptions | undefined): Resolved {
  if (opts === undefined || opts === null || typeof opts !== 'object')
    throw new TesseraError('ERR_ARGUMENT', "options must be an object with a context (use { context: '' } for none)");
  const { context, suite = 'cobblestone-256', threads } = opts;
  let ctx: Uint8Array;
  if (typeof context === 'string') ctx = utf8.encode(context);
  else if (context instanceof Uint8Array) ctx = context;
  else throw new TesseraError('ERR_ARGUMENT', `options.context must be a string or Uint8Array (got ${describe(context)}); use '' for none`);
  const id = SUITE_IDS.get(suite);
  if (id === undefined) throw new TesseraError('ERR_ALGORITHM', `unknown suite ${describe(suite)} (expected ${SUITES.join(' or ')})`);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64))
    throw new TesseraError('ERR_ARGUMENT', `options.threads must be an integer from 1 to 64 (got ${describe(threads)})`);
  const backend = getBackend();
  // 0 tells the backend "the pool size".
  return { backend, suite: id, context: ctx, threads: threads ?? 0, key: keyArgument(key, suite) };
}

/** The spec's input key is exactly the AEAD key size: checked when the key is given, before any input is read. */
function keyArgument(key: ChunkedKey, suite: Suite): Uint8Array | KeyHandle {
  const want = suite === 'cobblestone-128' ? 16 : 32;
  let len: number;
  let arg: Uint8Array | KeyHandle;
  if (key instanceof AeadKey) [arg, len] = [AeadKey.handleOf(key), 32];
  else if (key instanceof SecureBuffer) [arg, len] = [key.bytes, key.bytes.length];
  else if (key instanceof Uint8Array) [arg, len] = [key, key.length];
  else throw new TesseraError('ERR_ARGUMENT', `key must be a Uint8Array, SecureBuffer or AeadKey (got ${describe(key)})`);
  if (len !== want) throw new TesseraError('ERR_KEY_LENGTH', `${suite} takes a ${want}-byte key (got ${len})`);
  return arg;
}

/** A handle for one message: salt given (decrypt) or fresh (encrypt). */
export function cipher(r: Resolved, salt: Uint8Array): ChunkedHandle {
  return r.backend.createChunked(r.suite, r.key, salt, r.context);
}

export function randomSalt(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(SALT_SIZE));
}

/** Total Cobblestone ciphertext length for n plaintext bytes. */
export function encryptedLength(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new TesseraError('ERR_ARGUMENT', `length must be a non-negative safe integer (got ${describe(n)})`);
  return HEADER_SIZE + n + (Math.floor(n / CHUNK_SIZE) + 1) * TAG_SIZE;
}

/** Plaintext length of a Cobblestone ciphertext of n bytes; ERR_TRUNCATED if no message has that length. */
export function decryptedLength(n: number, backend: Backend = getBackend()): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new TesseraError('ERR_ARGUMENT', `length must be a non-negative safe integer (got ${describe(n)})`);
  if (n < HEADER_SIZE + TAG_SIZE) throw new TesseraError('ERR_TRUNCATED', `chunked ciphertext too short: ${n} bytes (at least ${HEADER_SIZE + TAG_SIZE})`);
  return backend.chunkedOpenedLength(n - HEADER_SIZE);
}

/** Options of workerPool(). */
export interface PoolOptions {
  /** Worker threads (1 .. 64); 0 restores the default, the CPU count. */
  size?: number;
}

/**
 * Reads or sets the native worker pool that chunked work fans out over.
 * The size is also read from TESSERA_THREADS at load. `queued`: tasks
 * handed to the pool that no thread has started yet (a snapshot).
 */
export function workerPool(opts?: PoolOptions): { size: number; cpus: number; queued: number } {
  const size = opts?.size;
  if (size !== undefined && !(Number.isInteger(size) && size >= 0 && size <= 64))
    throw new TesseraError('ERR_ARGUMENT', `pool size must be an integer from 0 to 64 (got ${describe(size)})`);
  const { size: s, cpus, queued } = getBackend().pool(size);
  return { size: s, cpus, queued };
}
