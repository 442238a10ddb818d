/**
 * Key wrapping (contract: `keywrap.wrap/unwrap`, AES-KW, RFC 3394 /
 * NIST SP 800-38F section 6.2; `keywrap.wrapPad/unwrapPad`, AES-KWP,
 * RFC 5649 / SP 800-38F section 6.3), the envelope-encryption primitive of
 * the key manager. On the OpenSSL that Node ships
 * (id-aesN-wrap[-pad]); Node only.
 *
 * Policy: KEKs are 16, 24 or 32 bytes. KW wraps keys of 16 bytes or more in
 * multiples of 8 (SP 800-38F; the 8-byte single-block wrapping of RFC 3394
 * section 2 is refused), KWP wraps 1 byte or more. A wrapped input of a
 * length no wrapping can produce is ERR_FORMAT; a failed integrity check
 * (wrong KEK, tampering, bad padding) is ERR_AUTH, and nothing is returned.
 * The unwrapped key is an ordinary buffer: wipe it or import it into an
 * AeadKey / SecureBuffer and wipe the copy.
 */
import * as crypto from 'node:crypto';

import { TesseraError } from '../errors';
import { describe } from '../format';

// The initial values of RFC 3394 section 2.2.3.1 and RFC 5649 section 3.
const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
const KWP_IV = Buffer.from('a65959a6', 'hex');

function kekOf(kek: unknown): { cipher: string; kek: Uint8Array } {
  if (!(kek instanceof Uint8Array)) throw new TesseraError('ERR_ARGUMENT', `kek must be a Uint8Array (got ${describe(kek)})`);
  if (kek.length !== 16 && kek.length !== 24 && kek.length !== 32)
    throw new TesseraError('ERR_KEY_LENGTH', `kek must be 16, 24 or 32 bytes (got ${kek.length})`);
  return { cipher: `id-aes${kek.length * 8}-wrap`, kek };
}

function input(v: unknown, name: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TesseraError('ERR_ARGUMENT', `${name} must be a Uint8Array (got ${describe(v)})`);
  return v;
}

function run(decrypt: boolean, cipher: string, kek: Uint8Array, iv: Buffer, data: Uint8Array): Uint8Array {
  const c = decrypt ? crypto.createDecipheriv(cipher, kek, iv) : crypto.createCipheriv(cipher, kek, iv);
  let out: Buffer | undefined;
  try {
    out = Buffer.concat([c.update(data), c.final()]);
  } catch {
    if (!decrypt) throw new TesseraError('ERR_INTERNAL', 'key wrap: the crypto library reported an error');
    // OpenSSL checks the integrity value (and KWP padding) in one step.
    throw new TesseraError('ERR_AUTH', 'unwrap: integrity check failed (wrong KEK or tampered data)');
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

export const keywrap = {
  /** AES-KW (RFC 3394): key is 16 bytes or more, a multiple of 8; output is 8 bytes longer. */
  wrap(kek: Uint8Array, key: Uint8Array): Uint8Array {
    const k = kekOf(kek);
    const data = input(key, 'key');
    if (data.length < 16 || data.length % 8 !== 0)
      throw new TesseraError('ERR_ARGUMENT', `AES-KW wraps keys of 16 bytes or more in multiples of 8 (got ${data.length}); use wrapPad for other sizes`);
    return run(false, k.cipher, k.kek, KW_IV, data);
  },

  /** Inverse of wrap. ERR_AUTH if the integrity check fails. */
  unwrap(kek: Uint8Array, wrapped: Uint8Array): Uint8Array {
    const k = kekOf(kek);
    const data = input(wrapped, 'wrapped');
    if (data.length < 24 || data.length % 8 !== 0)
      throw new TesseraError('ERR_FORMAT', `an AES-KW wrapped key is 24 bytes or more in multiples of 8 (got ${data.length})`);
    return run(true, k.cipher, k.kek, KW_IV, data);
  },

  /** AES-KWP (RFC 5649): any key of 1 byte or more; output is the key padded to 8 bytes, plus 8. */
  wrapPad(kek: Uint8Array, key: Uint8Array): Uint8Array {
    const k = kekOf(kek);
    const data = input(key, 'key');
    if (data.length === 0) throw new TesseraError('ERR_ARGUMENT', 'AES-KWP cannot wrap an empty key');
    return run(false, `${k.cipher}-pad`, k.kek, KWP_IV, data);
  },

  /** Inverse of wrapPad. ERR_AUTH if the integrity check or the padding check fails. */
  unwrapPad(kek: Uint8Array, wrapped: Uint8Array): Uint8Array {
    const k = kekOf(kek);
    const data = input(wrapped, 'wrapped');
    if (data.length < 16 || data.length % 8 !== 0)
      throw new TesseraError('ERR_FORMAT', `an AES-KWP wrapped key is 16 bytes or more in multiples of 8 (got ${data.length})`);
    return run(true, `${k.cipher}-pad`, k.kek, KWP_IV, data);
  },
};
