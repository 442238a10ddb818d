/**
 * Fernet (github.com/fernet/spec, "Token Format"), for interop with Python
 * services and for migrating their data into the keyring. Contract:
 * `fernet.encrypt(key, plaintext)` -> token string,
 * `fernet.decrypt(key, token, { ttlSeconds })` -> plaintext bytes, where key
 * is the url-safe base64 Fernet key (32 bytes: signing key || encryption key).
 *
 *   token = base64url(0x80 || timestamp (uint64 BE, seconds) || IV (16) ||
 *                     AES-128-CBC(PKCS7) ciphertext || HMAC-SHA256 (32))
 *
 * The HMAC is checked first, in constant time, before anything else about
 * the token is believed; a bad HMAC and a bad padding are the same error
 * (ERR_AUTH), so there is no padding oracle. A token outside its TTL (or
 * more than 60 s in the future, as the Python library allows for clock skew)
 * is ERR_EXPIRED, reported only for authentic tokens. Node only.
 */
import * as crypto from 'node:crypto';

import { TesseraError } from '../errors';
import { describe } from '../format';

const VERSION = 0x80;
const MAX_CLOCK_SKEW = 60;
const HEADER = 1 + 8 + 16;
const MAC = 32;

function b64urlDecode(s: string): Buffer | undefined {
  const body = s.replace(/=+$/, '');
  if (!/^[A-Za-z0-9_-]*$/.test(body) || body.length % 4 === 1) return undefined;
  const b = Buffer.from(body, 'base64url');
  return b.toString('base64url') === body ? b : undefined; // canonical only
}

function keyOf(key: unknown): { sign: Buffer; enc: Buffer } {
  if (typeof key !== 'string') throw new TesseraError('ERR_ARGUMENT', `a Fernet key is a url-safe base64 string (got ${describe(key)})`);
  const k = b64urlDecode(key.trim());
  if (!k) throw new TesseraError('ERR_ARGUMENT', 'the Fernet key is not valid url-safe base64');
  if (k.length !== 32) throw new TesseraError('ERR_KEY_LENGTH', `a Fernet key is 32 bytes (got ${k.length})`);
  return { sign: k.subarray(0, 16), enc: k.subarray(16) };
}

/** @internal encrypt with a given time (seconds) and IV: known-answer tests only. */
export function encryptAt(key: string, plaintext: Uint8Array, seconds: number, iv: Uint8Array): string {
  const k = keyOf(key);
  if (!(plaintext instanceof Uint8Array)) throw new TesseraError('ERR_ARGUMENT', `plaintext must be a Uint8Array (got ${describe(plaintext)})`);
  const c = crypto.createCipheriv('aes-128-cbc', k.enc, iv);
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  const head = Buffer.alloc(HEADER);
  head[0] = VERSION;
  head.writeBigUInt64BE(BigInt(seconds), 1);
  head.set(iv, 9);
  const mac = crypto.createHmac('sha256', k.sign).update(head).update(ct).digest();
  const raw = Buffer.concat([head, ct, mac]);
  // Padded, as the Python library writes tokens (urlsafe_b64encode).
  return raw.toString('base64url') + '='.repeat((3 - (raw.length % 3)) % 3);
}

/** Options of fernet.decrypt. */
export interface FernetDecryptOptions {
  /** Refuse tokens older than this many seconds (ERR_EXPIRED). Default: no limit. */
  ttlSeconds?: number;
  /** The current time in seconds (tests); default Date.now(). */
  now?: number;
}

/**
 * Fernet tokens (github.com/fernet/spec: AES-128-CBC and HMAC-SHA256 under a url-safe base64
 * 32-byte key), interoperable with Python's cryptography.fernet (docs/API.md "Key wrapping and Fernet").
 */
export const fernet = {
  /** A new token for plaintext under key (random IV, the current time). */
  encrypt(key: string, plaintext: Uint8Array): string {
    return encryptAt(key, plaintext, Math.floor(Date.now() / 1000), crypto.randomBytes(16));
  },

  /** The plaintext of an authentic token. ERR_FORMAT for a malformed token, ERR_AUTH for a forged or corrupted one. */
  decrypt(key: string, token: string, opts: FernetDecryptOptions = {}): Uint8Array {
    const k = keyOf(key);
    if (typeof token !== 'string') throw new TesseraError('ERR_ARGUMENT', `a Fernet token is a string (got ${describe(token)})`);
    const { ttlSeconds, now = Date.now() / 1000 } = opts;
    if (ttlSeconds !== undefined && !(Number.isFinite(ttlSeconds) && ttlSeconds >= 0))
      throw new TesseraError('ERR_ARGUMENT', 'ttlSeconds must be a non-negative number');
    const t = b64urlDecode(token.trim());
    if (!t) throw new TesseraError('ERR_FORMAT', 'a Fernet token is url-safe base64');
    if (t.length < HEADER + 16 + MAC || (t.length - HEADER - MAC) % 16 !== 0)
      throw new TesseraError('ERR_FORMAT', `a Fernet token decodes to 73 bytes or more, 57 plus a multiple of 16 (got ${t.length})`);
    if (t[0] !== VERSION) throw new TesseraError('ERR_FORMAT', `unknown Fernet version 0x${t[0]!.toString(16)} (expected 0x80)`);
    const body = t.subarray(0, t.length - MAC);
    const want = crypto.createHmac('sha256', k.sign).update(body).digest();
    if (!crypto.timingSafeEqual(want, t.subarray(t.length - MAC)))
      throw new TesseraError('ERR_AUTH', 'Fernet token failed authentication (wrong key or tampered token)');
    const issued = Number(t.readBigUInt64BE(1));
    if (ttlSeconds !== undefined) {
      if (issued + ttlSeconds < now)
        throw new TesseraError('ERR_EXPIRED', `Fernet token expired: issued ${Math.floor(now - issued)} s ago, ttl ${ttlSeconds} s`);
      if (issued > now + MAX_CLOCK_SKEW) throw new TesseraError('ERR_EXPIRED', `Fernet token issued ${Math.floor(issued - now)} s in the future`);
    }
    const d = crypto.createDecipheriv('aes-128-cbc', k.enc, t.subarray(9, 25));
    let pt: Buffer;
    try {
      pt = Buffer.concat([d.update(t.subarray(HEADER, t.length - MAC)), d.final()]);
    } catch {
      // Authentic but badly padded: made with the right key by a broken
      // encoder. Same code as a bad MAC (no padding oracle either way).
      throw new TesseraError('ERR_AUTH', 'Fernet token failed authentication (bad padding)');
    }
    return new Uint8Array(pt.buffer, pt.byteOffset, pt.byteLength);
  },
};
