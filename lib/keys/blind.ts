/**
 * Blind index (`ring.prf(purpose).blindIndex(value)`: HMAC-SHA-256 under a
 * separate key, truncatable) for equality lookups on encrypted columns.
 *
 * Key: one 32-byte random key per purpose, separate from the purpose's
 * data keys, stored wrapped by the KEK in the purpose record of the
 * keyring document (`PurposeRecord.indexKey`, covered by the document MAC)
 * and created on the first blindIndex call. It is never rotated: rotate()
 * only changes data keys, so an index computed today matches one computed
 * after any number of rotations or reopenings (rotating it would need
 * re-indexing every row, which the keyring cannot do for you).
 *
 * Index = first `bytes` bytes of
 *   HMAC-SHA-256(indexKey, "tessera blind index v1" || 0x00 || input)
 * where input is the UTF-8 of a string value or a Uint8Array's bytes as
 * given (a string and its UTF-8 bytes give the same index). No
 * normalization by default: exact bytes. `normalize: true` (strings only)
 * first applies NFKC, trims, collapses runs of whitespace to one space and
 * lower-cases (toLowerCase, locale independent), for case- and
 * space-insensitive lookups (e.g. emails).
 *
 * Truncation: `bytes` 8..32 (default 16). Shorter indexes leak less
 * (more rows share a value) but collide more: with 2^(4*bytes) rows
 * expect collisions; always confirm a lookup hit by decrypting.
 * Output: base64url without padding (a 16-byte index is 22 characters),
 * or the raw bytes with `output: 'bytes'`.
 */
import { createHmac } from 'node:crypto';

import { TesseraError } from '../errors';
import { describe } from '../format';

/** Options of KeyringPrf.blindIndex. */
export interface BlindIndexOptions {
  /** Index length in bytes, 8..32 (default 16). */
  bytes?: number;
  /** Strings only: NFKC, trim, collapse whitespace, lower-case before hashing (default false: exact bytes). */
  normalize?: boolean;
  /** 'base64url' (default) or 'bytes'. */
  output?: 'base64url' | 'bytes';
}

export interface BlindIndexArgs {
  input: Uint8Array;
  bytes: number;
  raw: boolean;
}

const LABEL = Buffer.from('tessera blind index v1\0', 'latin1');

/** Normalization used by normalize: true. */
export function normalizeIndexValue(s: string): string {
  return s.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

/** Validates blindIndex arguments (ERR_ARGUMENT) and encodes the value. */
export function blindIndexArgs(value: unknown, opts: BlindIndexOptions | undefined): BlindIndexArgs {
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) throw new TesseraError('ERR_ARGUMENT', 'blindIndex options must be an object');
  const bytes = opts?.bytes ?? 16;
  if (!Number.isInteger(bytes) || bytes < 8 || bytes > 32)
    throw new TesseraError('ERR_ARGUMENT', `bytes must be an integer from 8 to 32 (got ${describe(bytes)})`);
  const output = opts?.output ?? 'base64url';
  if (output !== 'base64url' && output !== 'bytes') throw new TesseraError('ERR_ARGUMENT', `output must be 'base64url' or 'bytes' (got ${describe(output)})`);
  const normalize = opts?.normalize ?? false;
  if (typeof normalize !== 'boolean') throw new TesseraError('ERR_ARGUMENT', 'normalize must be a boolean');
  let input: Uint8Array;
  if (typeof value === 'string') {
    input = Buffer.from(normalize ? normalizeIndexValue(value) : value, 'utf8');
  } else if (value instanceof Uint8Array) {
    if (normalize) throw new TesseraError('ERR_ARGUMENT', 'normalize applies to strings only');
    input = value;
  } else {
    throw new TesseraError('ERR_ARGUMENT', `blindIndex value must be a string or a Uint8Array (got ${describe(value)})`);
  }
  return { input, bytes, raw: output === 'bytes' };
}

export function computeBlindIndex(key: Uint8Array, a: BlindIndexArgs): string | Uint8Array {
  const mac = createHmac('sha256', key).update(LABEL).update(a.input).digest().subarray(0, a.bytes);
  return a.raw ? new Uint8Array(mac) : mac.toString('base64url');
}
