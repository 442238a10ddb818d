/**
 * The RSA-OAEP KEK provider (`kek.rsa`, lib/keys/kek.ts): RSA-OAEP with
 * SHA-256 and MGF1-SHA-256 (RFC 8017 section 7.1, empty label) on Node's
 * OpenSSL. Services that hold only the public key can wrap data keys but not
 * unwrap them.
 *
 * - Keys: PEM strings or node:crypto KeyObjects; RSA (not RSA-PSS) of 2048
 *   to 16384 bits (ERR_KEY_LENGTH otherwise). publicKey may be left out when
 *   privateKey is given (it is derived); when both are given they must be a
 *   pair. A private key given as publicKey contributes only its public half.
 * - id: 'rsa-oaep:' + the first 32 hex digits of SHA-256(SPKI DER of the
 *   public key), the usual public-key fingerprint
 *   (`openssl pkey -pubout -outform DER | sha256sum`).
 * - wrap: a data key of 1 to k - 66 bytes (k = modulus bytes; 190 for 2048
 *   bits); the output is k bytes and differs every time (OAEP is randomized).
 * - unwrap: ERR_KEK on a public-only provider (no private key: the KEK in
 *   hand cannot unwrap, whatever the input); ERR_FORMAT if the input is not
 *   k bytes; ERR_AUTH if OAEP decoding fails (wrong key pair or altered
 *   bytes; one undifferentiated error). The private-key operation is
 *   synchronous inside the returned promise (a few milliseconds; Node 20 has
 *   no thread-pool RSA decryption for KeyObjects).
 */
import { constants, createHash, createPrivateKey, createPublicKey, KeyObject, privateDecrypt, publicEncrypt } from 'node:crypto';

import { TesseraError } from '../errors';
import { describe } from '../format';
import type { KekProvider } from './kek-provider';

/** An RSA key: PEM text or a node:crypto KeyObject. */
export type RsaKeyInput = string | KeyObject;

/** Options of kek.rsa: a public key wraps, a private key also unwraps. */
export interface RsaKekOptions {
  /** PEM (SPKI or PKCS#1 public key, or a private key, of which only the public half is used) or a KeyObject. */
  publicKey?: RsaKeyInput;
  /** PEM (unencrypted PKCS#8 or PKCS#1; decrypt an encrypted PEM with crypto.createPrivateKey first) or a private KeyObject. */
  privateKey?: RsaKeyInput;
}

export interface RsaKekProvider extends KekProvider {
  /** True if there is no private key: wrap works, unwrap is ERR_KEK. */
  readonly publicOnly: boolean;
  readonly modulusLength: number;
  /** The public key as SPKI PEM (safe to share). */
  readonly publicKeyPem: string;
}

const MIN_BITS = 2048;
const MAX_BITS = 16384;
const OAEP = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' } as const;

function checkRsa(key: KeyObject, name: string): number {
  if (key.asymmetricKeyType !== 'rsa')
    throw new TesseraError('ERR_ARGUMENT', `${name} must be an RSA key for RSA-OAEP (got ${key.asymmetricKeyType ?? 'a non-RSA key'})`);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_BITS || bits > MAX_BITS)
    throw new TesseraError('ERR_KEY_LENGTH', `${name} must be an RSA key of ${MIN_BITS} to ${MAX_BITS} bits (got ${bits})`);
  return bits;
}

function publicKeyOf(v: unknown, name: string): KeyObject {
  if (!(v instanceof KeyObject) && typeof v !== 'string')
    throw new TesseraError('ERR_ARGUMENT', `${name} must be a PEM string or a KeyObject (got ${describe(v)})`);
  if (v instanceof KeyObject && v.type === 'secret') throw new TesseraError('ERR_ARGUMENT', `${name} must be an asymmetric key (got a secret KeyObject)`);
  try {
    return v instanceof KeyObject && v.type === 'public' ? v : createPublicKey(v);
  } catch {
    // No cause: the crypto library's message is not shown next to key input.
    throw new TesseraError('ERR_ARGUMENT', `${name} is not a readable RSA public key (PEM or KeyObject)`);
  }
}

function privateKeyOf(v: unknown): KeyObject {
  if (v instanceof KeyObject) {
    if (v.type !== 'private') throw new TesseraError('ERR_ARGUMENT', `privateKey must be a private key (got a ${v.type} KeyObject)`);
    return v;
  }
  if (typeof v !== 'string') throw new TesseraError('ERR_ARGUMENT', `privateKey must be a PEM string or a KeyObject (got ${describe(v)})`);
  try {
    return createPrivateKey(v);
  } catch {
    throw new TesseraError(
      'ERR_ARGUMENT',
      'privateKey is not a readable private key (unencrypted PEM or KeyObject; decrypt an encrypted PEM with crypto.createPrivateKey({ key, passphrase }))',
    );
  }
}

function view(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function rsa(options: RsaKekOptions): RsaKekProvider {
  if (options === null || typeof options !== 'object') throw new TesseraError('ERR_ARGUMENT', `kek.rsa: options must be an object (got ${describe(options)})`);
  const { publicKey: pubIn, privateKey: privIn } = options;
  if (pubIn === undefined && privIn === undefined)
    throw new TesseraError('ERR_ARGUMENT', 'kek.rsa needs a publicKey (to wrap) and optionally a privateKey (to unwrap)');
  const priv = privIn === undefined ? undefined : privateKeyOf(privIn);
  if (priv) checkRsa(priv, 'privateKey');
  const pub = pubIn === undefined ? createPublicKey(priv!) : publicKeyOf(pubIn, 'publicKey');
  const bits = checkRsa(pub, 'publicKey');
  const spki = pub.export({ type: 'spki', format: 'der' });
  if (priv && !createPublicKey(priv).export({ type: 'spki', format: 'der' }).equals(spki))
    throw new TesseraError('ERR_ARGUMENT', 'kek.rsa: privateKey is not the private half of publicKey');
  const k = Math.ceil(bits / 8);
  const maxKey = k - 2 * 32 - 2;
  const id = `rsa-oaep:${createHash('sha256').update(spki).digest('hex').slice(0, 32)}`;
  const publicKeyPem = pub.export({ type: 'spki', format: 'pem' }).toString();

  return Object.freeze({
    id,
    publicOnly: priv === undefined,
    modulusLength: bits,
    publicKeyPem,
    async wrap(dataKey: Uint8Array): Promise<Uint8Array> {
      if (!(dataKey instanceof Uint8Array)) throw new TesseraError('ERR_ARGUMENT', `dataKey must be a Uint8Array (got ${describe(dataKey)})`);
      if (dataKey.length < 1 || dataKey.length > maxKey)
        throw new TesseraError('ERR_ARGUMENT', `RSA-OAEP-SHA256 with a ${bits}-bit key wraps 1 to ${maxKey} bytes (got ${dataKey.length})`);
      try {
        return view(publicEncrypt({ key: pub, ...OAEP }, dataKey));
      } catch {
        throw new TesseraError('ERR_INTERNAL', 'RSA-OAEP wrap: the crypto library reported an error');
      }
    },
    async unwrap(wrapped: Uint8Array): Promise<Uint8Array> {
      if (priv === undefined) throw new TesseraError('ERR_KEK', `unwrap: the RSA KEK ${id} is public-only (no privateKey): it can wrap but not unwrap`);
      if (!(wrapped instanceof Uint8Array)) throw new TesseraError('ERR_ARGUMENT', `wrapped must be a Uint8Array (got ${describe(wrapped)})`);
      if (wrapped.length !== k) throw new TesseraError('ERR_FORMAT', `an RSA-OAEP wrapped key under a ${bits}-bit key is ${k} bytes (got ${wrapped.length})`);
      try {
        return view(privateDecrypt({ key: priv, ...OAEP }, wrapped));
      } catch {
        throw new TesseraError('ERR_AUTH', 'unwrap: RSA-OAEP decryption failed (wrong key pair or tampered data)');
      }
    },
  });
}
