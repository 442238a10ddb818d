/**
 * Key-encryption-key providers (contract; docs/API.md "Key manager"): one
 * interface for every place a KEK can live, so the keyring and file
 * envelope never see KEK bytes.
 *
 *   { id: string, wrap(dataKey): Promise<Uint8Array>, unwrap(wrapped): Promise<Uint8Array> }
 *
 * Providers:
 * - `kek.fromKey(bytes)`: a raw 32-byte master key, AES-KWP (RFC 5649), so
 *   its wrap output equals `keywrap.wrapPad(masterKey, dataKey)`.
 * - `kek.fromKeyFile(path)` / `kek.fromEnv(name)`: the same master key read
 *   from a file (raw 32 bytes, or 64 hex digits / base64 with surrounding
 *   whitespace, as the CLI's --key-file) or an environment variable (hex or
 *   base64). Same id and same wrap output as `fromKey` of those bytes.
 * - `kek.fromPassphrase(passphrase, { kdf?, salt?, ...cost })`: scrypt
 *   (default; N >= 2^17, default N = 2^17, r = 8, p = 1), PBKDF2-HMAC-SHA256
 *   or Argon2id (lib/keys/kdf.ts), async on the libuv thread pool, with a
 *   16-byte random salt unless given, to a 32-byte master key, then AES-KWP.
 *   The provider exposes `params` (kdf, salt, cost): `kek.fromPassphrase(
 *   passphrase, saved)` derives the same KEK again. A provider made without
 *   a salt also opens a store that records other parameters: Keyring.open
 *   derives the passphrase again under them (REBIND; the passphrase stays
 *   in secure memory for that). String passphrases are used as their UTF-8
 *   bytes (not normalized).
 * - `kek.rsa({ publicKey, privateKey? })`: RSA-OAEP, SHA-256 and MGF1-SHA-256
 *   (lib/keys/kek-rsa.ts). A public-only provider wraps but cannot unwrap.
 * - `kek.multi([a, b, ...])`: a data key wrapped under each member; unwrap
 *   succeeds if any one answers, tried in the order given
 *   (lib/keys/kek-multi.ts).
 *
 * Ids never reveal key bytes: AES-KWP ids are a domain-separated SHA-256 of
 * the master key, truncated ('aes-kwp:' for a raw key from any source,
 * 'scrypt-kwp:', 'pbkdf2-kwp:' or 'argon2id-kwp:' for a passphrase-derived
 * one, stable for the same passphrase, salt and parameters); RSA ids are the
 * SHA-256 of the public key's SPKI DER ('rsa-oaep:'); a multi-KEK's id
 * hashes its members' ids. Key bytes live in a SecureBuffer inside the
 * provider and are never exposed; wrap/unwrap return plain Uint8Arrays the caller wipes.
 *
 * Error codes of unwrap (what a caller can act on):
 * - ERR_KEK: this KEK cannot unwrap, and the fix is another KEK: a
 *   passphrase provider whose AES-KWP integrity check fails (the usual cause
 *   is a wrong passphrase, which derives a different KEK; AES-KWP alone
 *   cannot tell that from altered bytes, and the message says both), or an
 *   RSA provider that has no private key (public-only).
 * - ERR_AUTH: a KEK given as key bytes (fromKey / fromKeyFile / fromEnv) or
 *   an RSA private key whose integrity check fails: wrong key or tampered
 *   data, exactly as `keywrap.unwrapPad`.
 * - ERR_FORMAT: a wrapped input of a length this KEK can never produce.
 * A store that records the provider's `id` next to what it wrapped can tell
 * a wrong passphrase (the ids differ: ERR_KEK before any unwrap) from a
 * tampered entry (same id, failed unwrap).
 * Errors never contain key bytes, passphrases or file / variable contents.
 * Node only.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

import { TesseraError } from '../errors';
import { describe } from '../format';
import { SecureBuffer } from '../secure';
import { type KdfOptions, type KdfParams, deriveKey, kdfFromRecord, kdfParams, kdfRecord } from './kdf';
import { awsKms } from './kek-aws';
import { azureKeyVault } from './kek-azure';
import { gcpKms } from './kek-gcp';
import { multi } from './kek-multi';
import { resilient } from './kek-resilient';
import { vaultTransit } from './kek-vault';
import { fromUri } from './kek-uri';
import { rsa } from './kek-rsa';
import { keywrap } from './keywrap';
import type { KekProvider } from './kek-provider';

export type { Argon2idParams, KdfName, KdfOptions, KdfParams, Pbkdf2Params, ScryptParams } from './kdf';
export type { KekProvider } from './kek-provider';

export type { AwsKmsOptions } from './kek-aws';
export type { AzureKeyVaultOptions } from './kek-azure';
export type { GcpKmsOptions } from './kek-gcp';
export type { MultiKekProvider } from './kek-multi';
export type { FailureKind, ResilienceOptions } from './kek-resilient';
export type { VaultTransitOptions } from './kek-vault';
export type { FromUriOptions } from './kek-uri';
export type { RsaKekOptions, RsaKekProvider, RsaKeyInput } from './kek-rsa';

/** Whether kek is the KEK a store recorded as `id` (its id, or one it had before). */
export function answersTo(kek: KekProvider, id: string): boolean {
  return kek.id === id || (Array.isArray(kek.formerIds) && kek.formerIds.includes(id));
}

export interface PassphraseKekProvider extends KekProvider {
  /** A copy of the salt (16 bytes or more). */
  readonly salt: Uint8Array;
  /** A copy of the KDF and its parameters (salt included); pass it back to fromPassphrase to derive the same KEK. */
  readonly params: KdfParams;
}

/** An AES-KWP KEK over master key bytes kept in a SecureBuffer. `label` prefixes the id. */
function aesKwp(master: Uint8Array, label: string): KekProvider {
  if (!(master instanceof Uint8Array)) throw new TesseraError('ERR_ARGUMENT', `the master key must be a Uint8Array (got ${describe(master)})`);
  if (master.length !== 32) throw new TesseraError('ERR_KEY_LENGTH', `the master key must be 32 bytes (got ${master.length})`);
  const held = SecureBuffer.from(master);
  // The id names the key without revealing it: a domain-separated hash, truncated.
  const id = `${label}:${createHash('sha256').update('tessera kek id v1\0').update(held.bytes).digest('hex').slice(0, 16)}`;
  return {
    id,
    wrap: async (dataKey) => keywrap.wrapPad(held.bytes, dataKey),
    unwrap: async (wrapped) => keywrap.unwrapPad(held.bytes, wrapped),
  };
}

// ---- key text (the formats of the CLI's --key-file / --key-env, lib/cli/keys.ts) ----

const KEY_LENGTH = 32;
/** Larger than any key text with generous whitespace: anything bigger is not a key file. */
const MAX_KEY_FILE = 4096;

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Standard and url-safe base64 alphabets alike (as Buffer's decoder). */
function base64Value(c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x47;
  if (c >= 0x30 && c <= 0x39) return c + 4;
  if (c === 0x2b || c === 0x2d) return 62;
  if (c === 0x2f || c === 0x5f) return 63;
  return -1;
}

/**
 * Key text of exactly `len` bytes: hex (2 * len digits) or base64 / base64url
 * (optionally '='-padded), with surrounding whitespace. The same formats as
 * the CLI (lib/cli/keys.ts decodeKeyText, whose parser is private to the CLI
 * and throws CLI errors), decoded byte by byte so that no immutable string
 * copy of the key is made. A new buffer (wipe it), or undefined.
 */
export function decodeKeyText(text: Uint8Array, len = KEY_LENGTH): Uint8Array | undefined {
  let a = 0;
  let b = text.length;
  while (a < b && isSpace(text[a]!)) a++;
  while (b > a && isSpace(text[b - 1]!)) b--;
  const out = new Uint8Array(len);
  if (b - a === 2 * len) {
    let ok = true;
    for (let i = 0; i < len && ok; i++) {
      const hi = hexValue(text[a + 2 * i]!);
      const lo = hexValue(text[a + 2 * i + 1]!);
      ok = hi >= 0 && lo >= 0;
      out[i] = (hi << 4) | lo;
    }
    if (ok) return out;
  }
  let e = b;
  for (let pad = 0; pad < 2 && e > a && text[e - 1] === 0x3d; pad++) e--;
  if (e > a && Math.floor(((e - a) * 6) / 8) === len) {
    let acc = 0;
    let bits = 0;
    let j = 0;
    let ok = true;
    for (let i = a; i < e && ok; i++) {
      const v = base64Value(text[i]!);
      ok = v >= 0;
      acc = ((acc << 6) | (v & 63)) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out[j++] = (acc >> bits) & 0xff;
      }
    }
    // eslint-disable-next-line no-useless-assignment -- wipes the last key bits held in the accumulator
    acc = 0;
    if (ok) return out;
  }
  out.fill(0);
  return undefined;
}

/** The KEK of master key bytes that the caller wipes right after. */
function fromTempKey(bytes: Uint8Array): KekProvider {
  try {
    return aesKwp(bytes, 'aes-kwp');
  } finally {
    bytes.fill(0);
  }
}

function errnoOf(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? 'error';
}

function fromKeyFile(path: string): KekProvider {
  if (typeof path !== 'string' || path.length === 0)
    throw new TesseraError('ERR_ARGUMENT', `fromKeyFile: path must be a non-empty string (got ${describe(path)})`);
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO at the path must not hang the open (no effect on regular files).
    fd = fs.openSync(path, process.platform === 'win32' ? 'r' : fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw new TesseraError('ERR_IO', `cannot open key file ${path}: ${errnoOf(e)}`);
  }
  const data = Buffer.alloc(MAX_KEY_FILE + 1); // not pooled: wiped below
  try {
    let st: fs.Stats;
    try {
      st = fs.fstatSync(fd);
    } catch (e) {
      throw new TesseraError('ERR_IO', `cannot stat key file ${path}: ${errnoOf(e)}`);
    }
    if (!st.isFile()) throw new TesseraError('ERR_ARGUMENT', `key file ${path} is not a regular file`);
    // The mode of the file opened (fstat), not of whatever the path names later.
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
      throw new TesseraError(
        'ERR_ARGUMENT',
        `key file ${path} is accessible by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); ` +
          `restrict it to its owner: chmod 600 ${path}`,
      );
    let n = 0;
    try {
      for (let got = 1; got > 0 && n < data.length; n += got) got = fs.readSync(fd, data, n, data.length - n, null);
    } catch (e) {
      throw new TesseraError('ERR_IO', `cannot read key file ${path}: ${errnoOf(e)}`);
    }
    if (n > MAX_KEY_FILE) throw new TesseraError('ERR_ARGUMENT', `key file ${path} is too large to hold a ${KEY_LENGTH}-byte key`);
    const content = data.subarray(0, n);
    const key = n === KEY_LENGTH ? Uint8Array.from(content) : decodeKeyText(content);
    if (key === undefined)
      throw new TesseraError('ERR_ARGUMENT', `key file ${path}: expected a ${KEY_LENGTH}-byte key as raw bytes, ${2 * KEY_LENGTH} hex digits or base64`);
    return fromTempKey(key);
  } finally {
    data.fill(0);
    fs.closeSync(fd);
  }
}

function fromEnv(name: string): KekProvider {
  if (typeof name !== 'string' || name.length === 0) throw new TesseraError('ERR_ARGUMENT', `fromEnv: name must be a non-empty string (got ${describe(name)})`);
  const value = process.env[name];
  if (value === undefined || value === '') throw new TesseraError('ERR_ARGUMENT', `environment variable ${name} is not set`);
  const text = Buffer.from(value, 'utf8');
  try {
    const key = decodeKeyText(text);
    if (key === undefined)
      throw new TesseraError('ERR_ARGUMENT', `environment variable ${name}: expected a ${KEY_LENGTH}-byte key as ${2 * KEY_LENGTH} hex digits or base64`);
    return fromTempKey(key);
  } finally {
    text.fill(0);
  }
}

// ---- passphrases ----

export { SCRYPT_DEFAULTS } from './kdf';

/**
 * The keyring's hook on a passphrase KEK made without a salt: the KEK of
 * the same passphrase under the parameters a store recorded (Keyring.open).
 */
export const REBIND: unique symbol = Symbol('tessera passphrase rebind');

type Rebindable = { [REBIND]?: (params: KdfParams) => Promise<PassphraseKekProvider> };

/** The passphrase KEK to use on a store that records `params` (ERR_FORMAT if they are unusable), or kek itself. */
export async function kekForStored(kek: KekProvider, rec: unknown, where: string): Promise<KekProvider> {
  const rebind = (kek as Rebindable)[REBIND];
  if (rebind === undefined || rec === undefined) return kek;
  return rebind(kdfFromRecord(rec, where));
}

function passBytes(passphrase: unknown): [Uint8Array, Buffer | undefined] {
  if (typeof passphrase === 'string') {
    const b = Buffer.from(passphrase, 'utf8');
    return [b, b];
  }
  if (passphrase instanceof SecureBuffer) return [passphrase.bytes, undefined];
  if (passphrase instanceof Uint8Array) return [passphrase, undefined];
  throw new TesseraError('ERR_ARGUMENT', `passphrase must be a string, Uint8Array or SecureBuffer (got ${describe(passphrase)})`);
}

const ID_LABEL: Record<KdfParams['kdf'] & string, string> = { scrypt: 'scrypt-kwp', 'pbkdf2-sha256': 'pbkdf2-kwp', argon2id: 'argon2id-kwp' };

async function derived(pass: Uint8Array, params: KdfParams, held: SecureBuffer | undefined): Promise<PassphraseKekProvider> {
  const key = await deriveKey(pass, params, KEY_LENGTH); // never synchronous: the event loop keeps running
  let inner: KekProvider;
  try {
    inner = aesKwp(key, ID_LABEL[params.kdf ?? 'scrypt']);
  } finally {
    key.fill(0);
  }
  const copy = (): KdfParams => ({ ...params, kdf: params.kdf ?? 'scrypt', salt: params.salt.slice() }) as KdfParams;
  const provider: PassphraseKekProvider & Rebindable = {
    id: inner.id,
    get salt() {
      return params.salt.slice();
    },
    get params() {
      return copy();
    },
    wrap: inner.wrap,
    async unwrap(wrapped: Uint8Array) {
      try {
        return await inner.unwrap(wrapped);
      } catch (e) {
        if (e instanceof TesseraError && e.code === 'ERR_AUTH')
          throw new TesseraError('ERR_KEK', 'unwrap: this passphrase KEK cannot unwrap the key: wrong passphrase (or the wrapped key was altered)');
        throw e;
      }
    },
  };
  // Made without a salt: the same passphrase can be derived again under a
  // store's recorded parameters (it stays in secure memory for that).
  if (held) provider[REBIND] = (p) => (sameParams(p, params) ? Promise.resolve(provider) : derived(held.bytes, p, undefined));
  return Object.freeze(provider);
}

function sameParams(a: KdfParams, b: KdfParams): boolean {
  return JSON.stringify(kdfRecord(a)) === JSON.stringify(kdfRecord(b));
}

async function fromPassphrase(passphrase: string | Uint8Array | SecureBuffer, options: KdfOptions = {}): Promise<PassphraseKekProvider> {
  const params = kdfParams(options);
  const [pass, temp] = passBytes(passphrase);
  try {
    if (pass.length === 0) throw new TesseraError('ERR_ARGUMENT', 'the passphrase is empty');
    const held = (options as { salt?: unknown }).salt === undefined ? SecureBuffer.from(pass) : undefined;
    return await derived(pass, params, held);
  } finally {
    temp?.fill(0);
  }
}

/**
 * The KEK providers a keyring takes (docs/API.md "Key manager", "Key-encryption keys in a cloud KMS or Vault"):
 * a raw key, a key file or variable, a passphrase, RSA, several KEKs as one, and remote KEKs in a KMS or Vault.
 */
export const kek = {
  /** A raw 32-byte master key (copied into secure memory; wipe your copy). AES-KWP. */
  fromKey(bytes: Uint8Array): KekProvider {
    return aesKwp(bytes, 'aes-kwp');
  },
  /**
   * A 32-byte master key from a file only its owner can access (raw bytes,
   * hex or base64). ERR_IO if it cannot be read; ERR_ARGUMENT if group or
   * others have access (chmod 600) or it holds no key. Same KEK as fromKey.
   */
  fromKeyFile,
  /** A 32-byte master key from an environment variable (hex or base64). ERR_ARGUMENT if unset or malformed. */
  fromEnv,
  /**
   * A passphrase stretched by scrypt (default), PBKDF2-HMAC-SHA256 or
   * Argon2id (lib/keys/kdf.ts), then AES-KWP. Without a salt, fresh
   * parameters for a new store, and Keyring.open re-derives under the
   * parameters an existing store recorded; `provider.params` derives the
   * same KEK again.
   */
  fromPassphrase,
  /** RSA-OAEP-SHA256 (>= 2048 bits); with only the public key it wraps but cannot unwrap (ERR_KEK). */
  rsa,
  /**
   * One KEK made of several (1 to 16): wrap under all of them, unwrap with
   * the first that answers, in the order given (lib/keys/kek-multi.ts).
   */
  multi,
  /**
   * A remote KEK with per-call timeouts, retries of transient failures
   * (capped exponential backoff, full jitter) and a circuit breaker;
   * unavailable is ERR_KEK_UNAVAILABLE (lib/keys/kek-resilient.ts).
   */
  resilient,
  /** HashiCorp Vault / OpenBao Transit, over its HTTP API with the caller's token (lib/keys/kek-vault.ts). */
  vaultTransit,
  /** AWS KMS through the caller's KMSClient (@aws-sdk/client-kms, optional peer; lib/keys/kek-aws.ts). */
  awsKms,
  /** Azure Key Vault / Managed HSM keys through the caller's CryptographyClient (@azure/keyvault-keys, optional peer; lib/keys/kek-azure.ts). */
  azureKeyVault,
  /** Google Cloud KMS through the caller's KeyManagementServiceClient (@google-cloud/kms, optional peer; lib/keys/kek-gcp.ts). */
  gcpKms,
  /**
   * The KEK a key URI names (aws-kms://, azure-kv://, gcp-kms://, hcvault://,
   * pkcs11:), with the client, token or HSM in the options
   * (lib/keys/kek-uri.ts). A remote provider's id is its URI.
   */
  fromUri,
};
