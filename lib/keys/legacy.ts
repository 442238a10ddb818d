/**
 * Legacy interop (docs/API.md "Migrating legacy ciphertexts"): decrypt
 * AES-256-CBC / PKCS#7 data and Fernet tokens to move them into the keyring.
 *
 * - `legacy.decryptAesCbc(key, data, { iv?, format? })`: AES-256-CBC with
 *   PKCS#7 padding, the usual home-grown "encryption at rest" layout.
 *   `key` is 32 bytes. Layouts: 'iv-ciphertext' (the default without `iv`:
 *   data = IV (16) || ciphertext) or 'ciphertext' (the default with `iv`:
 *   data is the ciphertext alone and the IV is given). The ciphertext must be
 *   a non-zero multiple of 16 bytes (ERR_FORMAT otherwise). A bad padding is
 *   ERR_AUTH with one generic message, whatever byte was wrong.
 *
 *   Unauthenticated CBC CANNOT detect tampering or a wrong key: the padding
 *   check rejects about 255 in 256 wrong keys or altered final blocks, the
 *   rest decrypt to garbage without an error, and a changed IV or earlier
 *   block changes the plaintext silently. That is the reason to move such
 *   data into the keyring (authenticated AEAD messages): verify the migrated
 *   plaintext where you can (a checksum, a parse), then drop the CBC copy.
 *
 * - `migrateLegacy(ring, purpose, legacyCiphertext, opts)` (also
 *   `legacy.migrate`): decrypts a legacy ciphertext and seals its plaintext
 *   under `purpose`'s primary key, returning the keyring message (message
 *   format v1, or the `tsr1.` text form with `output: 'string'`). The legacy
 *   kind follows from the key: a Fernet key (url-safe base64 string) with a
 *   token string, or a 32-byte AES-256-CBC key (Uint8Array) with the data
 *   bytes. The plaintext is wiped once sealed. Node only.
 */
import * as crypto from 'node:crypto';

import type { AadOptions } from '../aead';
import { TesseraError } from '../errors';
import { describe, toText } from '../format';
import { fernet } from './fernet';
import type { Keyring } from './keyring';

const BLOCK = 16;

/** Where a CBC ciphertext's IV is: before it ('iv-ciphertext') or given apart ('ciphertext'). */
export type CbcLayout = 'iv-ciphertext' | 'ciphertext';

/** Options of legacy.decryptAesCbc. */
export interface CbcOptions {
  /** The 16-byte IV when it is kept apart from the ciphertext (then the layout defaults to 'ciphertext'). */
  iv?: Uint8Array;
  /** 'iv-ciphertext' (IV || ciphertext; the default without iv) or 'ciphertext' (needs iv). */
  format?: CbcLayout;
}

function bytesArg(v: unknown, name: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TesseraError('ERR_ARGUMENT', `${name} must be a Uint8Array (got ${describe(v)})`);
  return v;
}

/** 0 if the last block ends in a valid PKCS#7 padding, else non-zero; no branch on the padding bytes. */
function paddingLength(pt: Buffer): number {
  const n = pt[pt.length - 1]!;
  let bad = ((n - 1) >>> 8) | ((BLOCK - n) >>> 31); // n == 0 or n > 16
  for (let i = 1; i <= BLOCK; i++) {
    const inPad = ((i - n - 1) >>> 31) & 1; // i <= n
    bad |= inPad * (pt[pt.length - i]! ^ n);
  }
  return bad === 0 ? n : -1;
}

function decryptAesCbc(key: Uint8Array, data: Uint8Array, opts: CbcOptions = {}): Uint8Array {
  bytesArg(key, 'key');
  bytesArg(data, 'data');
  if (opts === null || typeof opts !== 'object') throw new TesseraError('ERR_ARGUMENT', `options must be an object (got ${describe(opts)})`);
  if (key.length !== 32) throw new TesseraError('ERR_KEY_LENGTH', `an AES-256-CBC key is 32 bytes (got ${key.length})`);
  const format = opts.format ?? (opts.iv !== undefined ? 'ciphertext' : 'iv-ciphertext');
  let iv: Uint8Array;
  let ct: Uint8Array;
  if (format === 'ciphertext') {
    if (opts.iv === undefined) throw new TesseraError('ERR_ARGUMENT', "format 'ciphertext' needs the iv option");
    iv = bytesArg(opts.iv, 'iv');
    ct = data;
  } else if (format === 'iv-ciphertext') {
    if (opts.iv !== undefined) throw new TesseraError('ERR_ARGUMENT', "format 'iv-ciphertext' carries the IV in the data; do not pass iv as well");
    if (data.length < BLOCK) throw new TesseraError('ERR_FORMAT', `AES-CBC data (IV || ciphertext) is at least 32 bytes (got ${data.length})`);
    iv = data.subarray(0, BLOCK);
    ct = data.subarray(BLOCK);
  } else {
    throw new TesseraError('ERR_ARGUMENT', `format must be 'iv-ciphertext' or 'ciphertext' (got ${describe(format)})`);
  }
  if (iv.length !== BLOCK) throw new TesseraError('ERR_ARGUMENT', `the IV is 16 bytes (got ${iv.length})`);
  if (ct.length === 0 || ct.length % BLOCK !== 0)
    throw new TesseraError('ERR_FORMAT', `AES-CBC ciphertext is a non-zero multiple of 16 bytes (got ${ct.length})`);
  const d = crypto.createDecipheriv('aes-256-cbc', key, iv);
  d.setAutoPadding(false);
  const pt = Buffer.concat([d.update(ct), d.final()]);
  const n = paddingLength(pt);
  if (n < 0) {
    pt.fill(0);
    // One message for every padding failure (wrong key, altered data, not PKCS#7).
    throw new TesseraError('ERR_AUTH', 'AES-CBC decryption failed (wrong key, corrupted data or not PKCS#7 padded)');
  }
  const out = new Uint8Array(pt.length - n);
  out.set(pt.subarray(0, pt.length - n));
  pt.fill(0);
  return out;
}

/** What migrateLegacy needs to read the legacy ciphertext. */
export type LegacyMigrateOptions = AadOptions & {
  /** Return the `tsr1.` text form instead of the message bytes. */
  output?: 'bytes' | 'string';
} & (
    | ({ /** 32-byte AES-256-CBC key. */ key: Uint8Array } & CbcOptions)
    | { /** Fernet key (url-safe base64 string). */ key: string; /** Fernet TTL check. */ ttlSeconds?: number }
  );

function decryptLegacy(legacyCiphertext: Uint8Array | string, opts: LegacyMigrateOptions): Uint8Array {
  if (!opts || typeof opts !== 'object') throw new TesseraError('ERR_ARGUMENT', 'migrateLegacy needs options with a key');
  if (typeof opts.key === 'string') {
    if (typeof legacyCiphertext !== 'string')
      throw new TesseraError('ERR_ARGUMENT', `with a Fernet key the legacy ciphertext is a token string (got ${describe(legacyCiphertext)})`);
    const o = opts as { ttlSeconds?: number };
    return fernet.decrypt(opts.key, legacyCiphertext, o.ttlSeconds === undefined ? {} : { ttlSeconds: o.ttlSeconds });
  }
  if (opts.key instanceof Uint8Array) {
    if (!(legacyCiphertext instanceof Uint8Array))
      throw new TesseraError('ERR_ARGUMENT', `with an AES-256-CBC key the legacy ciphertext is a Uint8Array (got ${describe(legacyCiphertext)})`);
    const o = opts as CbcOptions;
    return decryptAesCbc(opts.key, legacyCiphertext, { iv: o.iv, format: o.format });
  }
  throw new TesseraError('ERR_ARGUMENT', `key must be a Fernet key string or a 32-byte AES-256-CBC key (got ${describe(opts.key)})`);
}

/**
 * Decrypts a legacy ciphertext (Fernet token or AES-256-CBC data) and seals
 * its plaintext under purpose's primary key in ring. Legacy failures keep
 * their codes (ERR_AUTH, ERR_FORMAT, ERR_EXPIRED); nothing is sealed then.
 */
export function migrateLegacy(
  ring: Keyring,
  purpose: string,
  legacyCiphertext: Uint8Array | string,
  opts: LegacyMigrateOptions & { output: 'string' },
): Promise<string>;
export function migrateLegacy(ring: Keyring, purpose: string, legacyCiphertext: Uint8Array | string, opts: LegacyMigrateOptions): Promise<Uint8Array>;
export async function migrateLegacy(
  ring: Keyring,
  purpose: string,
  legacyCiphertext: Uint8Array | string,
  opts: LegacyMigrateOptions,
): Promise<Uint8Array | string> {
  if (!ring || typeof (ring as Keyring).aead !== 'function') throw new TesseraError('ERR_ARGUMENT', 'migrateLegacy needs a Keyring');
  if (opts?.output !== undefined && opts.output !== 'bytes' && opts.output !== 'string')
    throw new TesseraError('ERR_ARGUMENT', "output must be 'bytes' or 'string'");
  const pt = decryptLegacy(legacyCiphertext, opts);
  try {
    const msg = await ring.aead(purpose).encrypt(pt, opts.aad === undefined ? undefined : { aad: opts.aad });
    return opts.output === 'string' ? toText(msg) : msg;
  } finally {
    pt.fill(0);
  }
}

/**
 * Decryption of legacy ciphertexts (AES-256-CBC / PKCS#7, Fernet) and their migration into a keyring
 * (docs/API.md "Migrating legacy ciphertexts").
 */
export const legacy = {
  /** AES-256-CBC / PKCS#7 (unauthenticated: see the module comment). Bad padding: ERR_AUTH. */
  decryptAesCbc,
  /** = migrateLegacy. */
  migrate: migrateLegacy,
};
