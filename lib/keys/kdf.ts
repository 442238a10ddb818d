/**
 * Passphrase key derivation: what a passphrase KEK (lib/keys/kek.ts) and the
 * CLI's passphrase files (lib/cli/keys.ts) stretch a passphrase with.
 *
 * - scrypt (RFC 7914), the default: N = 2^17, r = 8, p = 1 (128 MiB).
 * - PBKDF2-HMAC-SHA256 (RFC 8018 section 5.2), for keys shared with services
 *   that derive with PBKDF2 (e.g. Python's `PBKDF2HMAC`): 600 000
 *   iterations unless given, at least 100 000.
 * - Argon2id (RFC 9106), where the runtime has `crypto.argon2` (Node 24.7
 *   and later): m = 64 MiB, t = 3, p = 4 (RFC 9106 section 4, the second
 *   recommended option). Elsewhere it is refused with ERR_UNSUPPORTED.
 *
 * One set of bounds applies to parameters a caller picks and to parameters
 * read back from a key store or a file header, so that a hostile document
 * cannot ask for unbounded memory or time: scrypt needs
 * `scryptMemory(N, r, p)` bytes (at most 1 GiB), N * r * p <= 2^24 and
 * N < 2^(16 r) (RFC 7914 section 2);
 * Argon2id at most 1 GiB and 16 passes; PBKDF2 at most 10^7 iterations.
 * New material also has floors (scrypt N >= 2^17, PBKDF2 >= 100 000
 * iterations, Argon2id >= 19 MiB); stored parameters below them still open.
 * Derivation runs on the libuv thread pool, never on the event loop.
 */
import * as nodeCrypto from 'node:crypto';

import { TesseraError } from '../errors';
import { describe } from '../format';

export type KdfName = 'scrypt' | 'pbkdf2-sha256' | 'argon2id';

/** scrypt (RFC 7914): cost N, block size r, parallelism p. */
export interface ScryptParams {
  kdf?: 'scrypt';
  /** At least 16 bytes (16 random bytes when the options give none). */
  salt: Uint8Array;
  /** CPU/memory cost, a power of 2 (default 2^17). */
  N: number;
  /** Block size (default 8). */
  r: number;
  /** Parallelization (default 1). */
  p: number;
}
/** PBKDF2-HMAC-SHA256 (RFC 8018), at least 100 000 iterations. */
export interface Pbkdf2Params {
  kdf: 'pbkdf2-sha256';
  /** At least 16 bytes (16 random bytes when the options give none). */
  salt: Uint8Array;
  /** At least 100 000 (default 600 000). */
  iterations: number;
}
/** Argon2id (RFC 9106): memory m in KiB, passes t, parallelism p (Node 24.7 and later). */
export interface Argon2idParams {
  kdf: 'argon2id';
  /** At least 16 bytes (16 random bytes when the options give none). */
  salt: Uint8Array;
  /** KiB, as RFC 9106's m (default 64 MiB). */
  memory: number;
  /** RFC 9106's t (default 3). */
  passes: number;
  /** RFC 9106's p (default 4). */
  parallelism: number;
}
/** The parameters of a passphrase KEK's key derivation (PassphraseKekProvider.params). */
export type KdfParams = ScryptParams | Pbkdf2Params | Argon2idParams;

/** What a caller may give: any subset, the kdf name selecting the rest's meaning. */
export type KdfOptions = Partial<ScryptParams> | Partial<Pbkdf2Params> | Partial<Argon2idParams>;

export const SCRYPT_DEFAULTS = { N: 1 << 17, r: 8, p: 1 } as const;
export const PBKDF2_DEFAULT_ITERATIONS = 600_000;
export const ARGON2ID_DEFAULTS = { memory: 64 * 1024, passes: 3, parallelism: 4 } as const;

const MAX_MEMORY = 2 ** 30; // 1 GiB, scrypt and Argon2id alike
const SALT_LENGTH = 16;
const MAX_SALT = 1024;

/** Bytes OpenSSL's scrypt allocates (RFC 7914 section 6: B is p * 128 * r bytes, V is 128 * r * N; plus two blocks of work space). */
export function scryptMemory(N: number, r: number, p: number): number {
  return 128 * r * (N + p + 2);
}

/** Argon2id support in this runtime (`crypto.argon2`, Node 24.7+). */
export function hasArgon2(): boolean {
  return typeof (nodeCrypto as { argon2?: unknown }).argon2 === 'function';
}

type Argon2 = (alg: string, p: Record<string, unknown>, cb: (err: Error | null, key: Buffer) => void) => void;

function bad(message: string): never {
  throw new TesseraError('ERR_ARGUMENT', message);
}

function int(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    bad(`${name} must be an integer from ${min} to ${max} (got ${typeof v === 'number' ? v : describe(v)})`);
  return v;
}

function saltOf(v: unknown): Uint8Array {
  if (v === undefined) return new Uint8Array(nodeCrypto.randomBytes(SALT_LENGTH));
  if (!(v instanceof Uint8Array)) bad(`salt must be a Uint8Array (got ${describe(v)})`);
  if (v.length < SALT_LENGTH || v.length > MAX_SALT) bad(`salt must be ${SALT_LENGTH} to ${MAX_SALT} bytes (got ${v.length})`);
  return Uint8Array.from(v);
}

/**
 * Complete, checked parameters: defaults for what is missing, a fresh
 * 16-byte salt unless one is given. `stored` drops the floors for new
 * material (parameters read back must still open) but keeps every bound.
 * ERR_ARGUMENT names the parameter; ERR_UNSUPPORTED for Argon2id without
 * runtime support.
 */
export function kdfParams(options: unknown, stored = false): KdfParams {
  if (options === null || typeof options !== 'object') bad(`passphrase options must be an object (got ${describe(options)})`);
  const o = options as Record<string, unknown>;
  const kdf = o.kdf ?? 'scrypt';
  if (kdf === 'scrypt') {
    const N = o.N ?? SCRYPT_DEFAULTS.N;
    const minN = stored ? 2 : SCRYPT_DEFAULTS.N;
    if (typeof N !== 'number' || !Number.isInteger(N) || N < minN || N > 2 ** 30 || (N & (N - 1)) !== 0)
      bad(`scrypt N must be a power of two, at least ${stored ? 2 : '2^17'} (got ${typeof N === 'number' ? N : describe(N)})`);
    const r = int(o.r ?? SCRYPT_DEFAULTS.r, 'scrypt r', 1, 1024);
    const p = int(o.p ?? SCRYPT_DEFAULTS.p, 'scrypt p', 1, 1024);
    if (scryptMemory(N, r, p) > MAX_MEMORY) bad(`scrypt N = ${N}, r = ${r}, p = ${p} needs more than 1 GiB of memory`);
    if (N * r * p > 2 ** 24) bad(`scrypt N = ${N}, r = ${r}, p = ${p} costs more than N * r * p = 2^24`);
    // RFC 7914 section 2: N < 2^(128 * r / 8). OpenSSL refuses a larger N (a RangeError, not a TesseraError); below 2^30 only r = 1 reaches it.
    if (N >= 2 ** (16 * r)) bad(`scrypt N = ${N} with r = ${r} must be less than 2^${16 * r} (RFC 7914 section 2)`);
    return { kdf, salt: saltOf(o.salt), N, r, p };
  }
  if (kdf === 'pbkdf2-sha256') {
    const iterations = int(o.iterations ?? PBKDF2_DEFAULT_ITERATIONS, 'PBKDF2 iterations', stored ? 1 : 100_000, 10_000_000);
    return { kdf, salt: saltOf(o.salt), iterations };
  }
  if (kdf === 'argon2id') {
    if (!hasArgon2()) throw new TesseraError('ERR_UNSUPPORTED', `Argon2id needs crypto.argon2 (Node 24.7 or later); this is Node ${process.version}`);
    const parallelism = int(o.parallelism ?? ARGON2ID_DEFAULTS.parallelism, 'Argon2id parallelism', 1, 16);
    // RFC 9106 section 3.1: m >= 8 * p KiB.
    const memory = int(
      o.memory ?? ARGON2ID_DEFAULTS.memory,
      'Argon2id memory (KiB)',
      stored ? 8 * parallelism : Math.max(19 * 1024, 8 * parallelism),
      MAX_MEMORY / 1024,
    );
    const passes = int(o.passes ?? ARGON2ID_DEFAULTS.passes, 'Argon2id passes', stored ? 1 : 2, 16);
    return { kdf, salt: saltOf(o.salt), memory, passes, parallelism };
  }
  return bad(`kdf must be 'scrypt', 'pbkdf2-sha256' or 'argon2id' (got ${describe(kdf)})`);
}

/** A short description without the salt, for errors. */
export function kdfLabel(p: KdfParams): string {
  if (p.kdf === 'pbkdf2-sha256') return `PBKDF2-HMAC-SHA256, ${p.iterations} iterations`;
  if (p.kdf === 'argon2id') return `Argon2id, m = ${p.memory} KiB, t = ${p.passes}, p = ${p.parallelism}`;
  return `scrypt N = ${p.N}, r = ${p.r}, p = ${p.p}`;
}

/** `len` bytes derived from pass with checked parameters (kdfParams), off the event loop. */
export function deriveKey(pass: Uint8Array, params: KdfParams, len: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, key: Buffer) => {
      if (err) reject(new TesseraError('ERR_INTERNAL', `${kdfLabel(params)} failed: ${(err as NodeJS.ErrnoException).code ?? 'error'}`));
      else resolve(key);
    };
    if (params.kdf === 'pbkdf2-sha256') nodeCrypto.pbkdf2(pass, params.salt, params.iterations, len, 'sha256', done);
    else if (params.kdf === 'argon2id') {
      const argon2 = (nodeCrypto as unknown as { argon2: Argon2 }).argon2;
      argon2(
        'argon2id',
        { message: pass, nonce: params.salt, parallelism: params.parallelism, tagLength: len, memory: params.memory, passes: params.passes },
        done,
      );
    } else {
      const { N, r, p } = params;
      nodeCrypto.scrypt(pass, params.salt, len, { N, r, p, maxmem: scryptMemory(N, r, p) + (1 << 20) }, done);
    }
  });
}

/**
 * The KDF parameters of a passphrase KEK as a key store records them
 * (KeyringDoc.kekParams; exported as KekParams): salt in base64.
 */
export type KdfRecord =
  | { alg: 'scrypt'; salt: string; N: number; r: number; p: number }
  | { alg: 'pbkdf2-sha256'; salt: string; iterations: number }
  | { alg: 'argon2id'; salt: string; memory: number; passes: number; parallelism: number };

export function kdfRecord(p: KdfParams): KdfRecord {
  const salt = Buffer.from(p.salt).toString('base64');
  if (p.kdf === 'pbkdf2-sha256') return { alg: p.kdf, salt, iterations: p.iterations };
  if (p.kdf === 'argon2id') return { alg: p.kdf, salt, memory: p.memory, passes: p.passes, parallelism: p.parallelism };
  return { alg: 'scrypt', salt, N: p.N, r: p.r, p: p.p };
}

/** Parameters from a stored record, under the same bounds (ERR_FORMAT naming `where` when they are not usable). */
export function kdfFromRecord(rec: unknown, where: string): KdfParams {
  const r = rec as Record<string, unknown>;
  if (r === null || typeof r !== 'object' || typeof r.salt !== 'string') throw new TesseraError('ERR_FORMAT', `${where}: bad key derivation record`);
  const salt = Buffer.from(r.salt, 'base64');
  try {
    const { alg, salt: _s, ...rest } = r;
    return kdfParams({ ...rest, kdf: alg, salt: new Uint8Array(salt.buffer, salt.byteOffset, salt.byteLength) }, true);
  } catch (e) {
    if (e instanceof TesseraError && e.code === 'ERR_UNSUPPORTED') throw e;
    throw new TesseraError('ERR_FORMAT', `${where}: unusable key derivation parameters (${(e as Error).message})`);
  }
}
